"""The one factory for HTTP clients that call URLs users gave (issue 11 §4e: no SSRF).

Webhooks (status callbacks, inbound forwards, click events), an integration's hand-overs,
its Test and its OAuth2 token URL are all requests to a URL an account owner chose. Unless
the operator sets ``allow_private_urls`` (``TEXTWIRE_ALLOW_PRIVATE_URLS=true``), a client from
``outgoing_client`` refuses to connect to:

* loopback, link-local, private (RFC 1918, unique-local ``fc00::/7``), multicast,
  unspecified, reserved and any other non-global address — IPv4 and IPv6, including IPv4
  carried in IPv6 (``::ffff:127.0.0.1``, 6to4, Teredo);
* the server's own API (``public_url``'s host and port, and ``host:port`` it listens on).

The check runs where the connection is made: the host is resolved once, every address it
resolves to is checked, and the connection goes to a checked address. A name that resolves
to a public address for the check and to a private one for the connection (DNS rebinding)
therefore cannot slip through, and neither can a redirect: each new connection is checked.
A refusal raises ``DestinationRefused`` — not an ``httpx.HTTPError``, so nothing retries it
as a connection error — whose message names the rule, never the URL or its credentials.

With the setting on (the demo and the test suite, which talk to 127.0.0.1) the client is a
plain ``httpx.AsyncClient``. Environment proxies (``HTTP_PROXY``...) are not used by a
guarded client: through a proxy the address actually reached could not be checked.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any, Final
from urllib.parse import urlsplit

import httpcore
import httpx

from textwire.config import Settings
from textwire.logs import redact_library_urls

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
ClientFactory = Callable[..., httpx.AsyncClient]

SETTING: Final = "TEXTWIRE_ALLOW_PRIVATE_URLS"


class DestinationRefused(Exception):
    """textwire will not connect there; ``rule`` says why (safe to show to the account)."""

    def __init__(self, rule: str):
        super().__init__(f"destination refused: {rule} (the operator can allow it with {SETTING})")
        self.rule = rule


def address_rule(address: IPAddress) -> str | None:
    """Why a connection to ``address`` is refused, or None when it is a public address."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address.teredo is not None:
            embedded = address.teredo[1]
        if embedded is not None:
            return address_rule(embedded)
    checks = (
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (address.is_unspecified, "the unspecified address"),
        (address.is_reserved, "a reserved address"),
        (address.is_private, "a private address"),
        (not address.is_global, "a non-public address"),
    )
    for hit, what in checks:
        if hit:
            return f"the URL's host resolves to {what}"
    return None


class _Guard:
    """The rules of one client: the addresses and the server's own endpoints it refuses."""

    def __init__(self, settings: Settings):
        own = [(settings.host, settings.port)]
        if settings.public_url:
            parts = urlsplit(settings.public_url)
            default = 443 if parts.scheme == "https" else 80
            if parts.hostname:
                own.append((parts.hostname, parts.port or default))
        self._own_names = {(host.lower().strip("[]"), port) for host, port in own}
        self._own_addresses: set[tuple[IPAddress, int]] | None = None
        self._own_hosts = own

    async def addresses(self, host: str, port: int, timeout: float | None) -> list[IPAddress]:
        """``host``'s addresses, once each is allowed; DestinationRefused otherwise."""
        if (host.lower().strip("[]"), port) in self._own_names:
            raise DestinationRefused("the URL points at this server's own API")
        found = await _resolve(host, port, timeout)
        for address in found:
            rule = address_rule(address)
            if rule is not None:
                raise DestinationRefused(rule)
        own = await self._own(timeout)
        if any((address, port) in own for address in found):
            raise DestinationRefused("the URL points at this server's own API")
        return found

    async def _own(self, timeout: float | None) -> set[tuple[IPAddress, int]]:
        if self._own_addresses is None:
            own: set[tuple[IPAddress, int]] = set()
            for host, port in self._own_hosts:
                try:
                    own.update((a, port) for a in await _resolve(host, port, timeout))
                except httpcore.ConnectError:
                    continue  # a public_url that does not resolve here cannot be reached here
            self._own_addresses = own
        return self._own_addresses


async def _resolve(host: str, port: int, timeout: float | None) -> list[IPAddress]:
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    else:
        return [literal]
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout
        )
    except TimeoutError:
        raise httpcore.ConnectTimeout(f"resolving {host} timed out") from None
    except (OSError, UnicodeError) as exc:
        raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from None
    seen: dict[IPAddress, None] = {}
    for _family, _type, _proto, _name, sockaddr in infos:
        # A scope id ("fe80::1%eth0") is not part of the address being judged.
        seen.setdefault(ipaddress.ip_address(str(sockaddr[0]).split("%")[0]), None)
    if not seen:
        raise httpcore.ConnectError(f"cannot resolve {host}")
    return list(seen)


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, connecting only to addresses the guard allowed."""

    def __init__(self, guard: _Guard):
        self._guard = guard
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        # TLS still verifies the certificate for ``host``: httpcore passes the origin's
        # name to start_tls, whatever address the socket went to.
        last: Exception | None = None
        for address in await self._guard.addresses(host, port, timeout):
            try:
                return await self._inner.connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise DestinationRefused("a unix socket is not a public address")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport (its error mapping included) over the guarded backend."""

    def __init__(self, guard: _Guard, limits: httpx.Limits, verify: Any):
        super().__init__(verify=verify, limits=limits, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify, trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_GuardedBackend(guard),
        )


def outgoing_client(
    settings: Settings,
    *,
    timeout: float | httpx.Timeout,
    limits: httpx.Limits = httpx.Limits(max_connections=100, max_keepalive_connections=20),
    verify: Any = True,
    **kw: Any,
) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` for URLs users gave, refusing what ``allow_private_urls``
    does not allow (see the module docstring). ``kw`` goes to ``httpx.AsyncClient``."""
    redact_library_urls()  # httpx logs each request's URL: never its credentials or query
    if settings.allow_private_urls:
        return httpx.AsyncClient(timeout=timeout, limits=limits, verify=verify, **kw)
    transport = _GuardedTransport(_Guard(settings), limits, verify)
    return httpx.AsyncClient(timeout=timeout, transport=transport, **kw)


async def check_destination(
    settings: Settings, host: str, port: int, *, timeout: float = 10.0
) -> None:
    """Refuse ``host:port`` as a guarded client would, for connections that are not HTTP
    (an SMPP bind). The connection itself resolves again, so this one is not proof against
    DNS rebinding. A name that does not resolve is left for the connection to report."""
    if settings.allow_private_urls:
        return
    with contextlib.suppress(httpcore.ConnectError, httpcore.ConnectTimeout):
        await _Guard(settings).addresses(host, port, timeout)


def client_factory(settings: Settings) -> ClientFactory:
    """``outgoing_client`` bound to ``settings``: what a connector calls to make its client."""
    return partial(outgoing_client, settings)
