"""HTTP/1.1 responses of the redirect server, as the bytes that go on the wire.

Pure: no I/O. The redirect listener (``links/listener.py``) writes these bytes itself, so
what a response says is decided here, once: the status line, the headers given, an exact
``content-length`` (also for ``HEAD``, which gets no body), and a ``connection`` header
when the connection is not simply kept alive the HTTP/1.1 way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, Literal

Connection = Literal[b"close", b"keep-alive"] | None
"""``None``: HTTP/1.1 keep-alive, no header; ``b"close"``: the server closes after this
response; ``b"keep-alive"``: an HTTP/1.0 client that asked to keep the connection."""

REASONS: Final[dict[int, bytes]] = {
    302: b"Found",
    400: b"Bad Request",
    404: b"Not Found",
    405: b"Method Not Allowed",
    413: b"Content Too Large",
    414: b"URI Too Long",
    431: b"Request Header Fields Too Large",
    503: b"Service Unavailable",
}

Header = tuple[bytes, bytes]


def http_response(
    status: int,
    headers: Sequence[Header] = (),
    body: bytes = b"",
    *,
    head: bool = False,
    connection: Connection = None,
) -> bytes:
    """One complete HTTP/1.1 response.

    ``headers`` must not contain ``content-length`` or ``connection`` (added here) nor CR
    or LF (the caller's values are URLs already made ASCII, or constants). ``head``: the
    response to a ``HEAD`` request, same headers and no body.
    """
    lines = [b"HTTP/1.1 %d %s" % (status, REASONS[status])]
    lines.extend(name + b": " + value for name, value in headers)
    lines.append(b"content-length: %d" % len(body))
    if connection is not None:
        lines.append(b"connection: " + connection)
    lines.append(b"\r\n")
    return b"\r\n".join(lines) + (b"" if head else body)


def redirect(location: bytes, *, connection: Connection = None) -> bytes:
    """A ``302`` to ``location``; the same bytes answer ``GET`` and ``HEAD`` (no body)."""
    return http_response(
        302, [(b"location", location), (b"cache-control", b"no-store")], connection=connection
    )
