"""The redirect server's response bytes and request paths (links/responses.py, listener.py):
what goes on the wire parses back, with httptools, into what was meant."""

from __future__ import annotations

from dataclasses import dataclass, field

import httptools
from hypothesis import given
from hypothesis import strategies as st

from textwire.links.listener import request_path
from textwire.links.responses import REASONS, Connection, http_response, redirect


@dataclass
class Parsed:
    status: int = 0
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""
    complete: bool = False

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        self.complete = True


def parse(raw: bytes) -> Parsed:
    parsed = Parsed()
    parser = httptools.HttpResponseParser(parsed)
    parser.feed_data(raw)
    parsed.status = parser.get_status_code()
    return parsed


header_names = st.text("abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=20).filter(
    lambda n: n not in ("content-length", "connection", "transfer-encoding")
)
# Visible ASCII and spaces inside, as the redirect server's values are (URLs made ASCII).
header_values = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=80)
connections = st.sampled_from([None, b"close", b"keep-alive"])


@given(
    status=st.sampled_from(sorted(REASONS)),
    headers=st.lists(st.tuples(header_names, header_values), max_size=5),
    body=st.binary(max_size=300),
    connection=connections,
)
def test_a_response_parses_back_to_what_was_meant(
    status: int,
    headers: list[tuple[str, str]],
    body: bytes,
    connection: Connection,
) -> None:
    raw_headers = [(n.encode(), v.encode()) for n, v in headers]
    parsed = parse(http_response(status, raw_headers, body, connection=connection))
    assert parsed.complete and parsed.status == status and parsed.body == body
    expected = [*raw_headers, (b"content-length", str(len(body)).encode())]
    if connection is not None:
        expected.append((b"connection", connection))
    assert parsed.headers == expected


@given(body=st.binary(min_size=1, max_size=300), connection=connections)
def test_a_head_response_has_the_length_and_no_body(body: bytes, connection: Connection) -> None:
    raw = http_response(
        404, [(b"content-type", b"text/html")], body, head=True, connection=connection
    )
    head, _, rest = raw.partition(b"\r\n\r\n")
    assert rest == b""
    assert f"content-length: {len(body)}".encode() in head.split(b"\r\n")


@given(location=header_values.filter(bool))
def test_a_redirect_answers_get_and_head_alike(location: str) -> None:
    parsed = parse(redirect(location.encode()))
    assert parsed.status == 302 and parsed.body == b""
    assert (b"location", location.encode()) in parsed.headers
    assert (b"content-length", b"0") in parsed.headers


paths = st.text("abcXYZ234/._-~", max_size=40).map(lambda p: "/" + p)
queries = st.text("abc=&%+/?", max_size=30)


@given(path=paths, query=queries)
def test_the_path_of_a_request_target_drops_its_query(path: str, query: str) -> None:
    assert request_path(path.encode()) == path.encode()
    assert request_path(f"{path}?{query}".encode()) == path.encode()


@given(path=paths, query=queries, scheme=st.sampled_from(["http", "https"]))
def test_an_absolute_target_has_the_same_path(path: str, query: str, scheme: str) -> None:
    target = f"{scheme}://links.example.test{path}?{query}".encode()
    assert request_path(target) == path.encode()


def test_targets_that_are_not_paths_have_none() -> None:
    assert request_path(b"*") == b""
    assert request_path(b"") == b""
    assert request_path(b"links.example.test:443") == b""
