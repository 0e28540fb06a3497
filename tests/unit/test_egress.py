"""issue 11 §4e: ``textwire.egress`` — which addresses a guarded client refuses, that the
check is made on the resolved address actually connected to, and what a refusal says.
§4c: ``redact_url`` and the httpx log filter."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from pathlib import Path

import httpx
import pytest

from textwire.config import Settings
from textwire.egress import DestinationRefused, address_rule, check_destination, outgoing_client
from textwire.logs import redact_url


def _settings(tmp_path: Path, **kw: object) -> Settings:
    return Settings(data_dir=tmp_path, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("address", "what"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),
        ("169.254.169.254", "link-local"),  # cloud metadata
        ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "non-public"),  # carrier-grade NAT
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped IPv6
        ("::ffff:10.0.0.1", "private"),
        ("2002:7f00:1::1", "loopback"),  # 6to4 carrying 127.0.0.1
    ],
)
def test_refused_addresses(address: str, what: str) -> None:
    """issue 11 §4e: loopback, link-local, private, unique-local, multicast, unspecified,
    reserved, IPv4 and IPv6, IPv4 inside IPv6 too."""
    rule = address_rule(ipaddress.ip_address(address))
    assert rule is not None and what in rule


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_pass(address: str) -> None:
    assert address_rule(ipaddress.ip_address(address)) is None


async def _listener() -> tuple[asyncio.Server, list[int]]:
    accepted: list[int] = []

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(1)
        await reader.read(65536)
        writer.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    return server, accepted


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_guarded_client_refuses_a_loopback_server_after_resolving(
    tmp_path: Path, host: str
) -> None:
    """issue 11 §4e: the check is on the address the name resolves to ("localhost"), it
    raises DestinationRefused (not an httpx.HTTPError, so nothing retries it), and the
    message names the rule, not the URL's credentials. Nothing connects."""

    async def go() -> tuple[BaseException, list[int]]:
        server, accepted = await _listener()
        port = server.sockets[0].getsockname()[1]
        try:
            async with outgoing_client(_settings(tmp_path), timeout=5) as client:
                with pytest.raises(DestinationRefused) as caught:
                    await client.post(f"http://user:hunter2@{host}:{port}/cb?sig=abc")
            return caught.value, accepted
        finally:
            server.close()

    exc, accepted = asyncio.run(go())
    assert accepted == []
    assert not isinstance(exc, httpx.HTTPError)
    assert "loopback" in str(exc) and "TEXTWIRE_ALLOW_PRIVATE_URLS" in str(exc)
    assert "hunter2" not in str(exc) and "sig=abc" not in str(exc)


def test_allowed_private_urls_connect(tmp_path: Path) -> None:
    """With the setting on (demo, tests) the same request goes through."""

    async def go() -> tuple[int, list[int]]:
        server, accepted = await _listener()
        port = server.sockets[0].getsockname()[1]
        try:
            settings = _settings(tmp_path, allow_private_urls=True)
            async with outgoing_client(settings, timeout=5) as client:
                r = await client.post(f"http://127.0.0.1:{port}/cb")
            return r.status_code, accepted
        finally:
            server.close()

    assert asyncio.run(go()) == (204, [1])


def test_the_servers_own_api_is_refused(tmp_path: Path) -> None:
    """issue 11 §4e: public_url's host:port is refused even when it is a public address.
    The refusal comes before any connection, so no network is needed."""
    settings = _settings(tmp_path, public_url="http://93.184.216.34:8443")

    async def go() -> str:
        async with outgoing_client(settings, timeout=5) as client:
            with pytest.raises(DestinationRefused) as caught:
                await client.get("http://93.184.216.34:8443/2010-04-01/Accounts.json")
        return str(caught.value)

    assert "own API" in asyncio.run(go())


def test_check_destination_for_smpp(tmp_path: Path) -> None:
    """issue 11 §4e: an SMPP host is judged by the same rules."""
    with pytest.raises(DestinationRefused):
        asyncio.run(check_destination(_settings(tmp_path), "127.0.0.1", 2775))
    asyncio.run(check_destination(_settings(tmp_path, allow_private_urls=True), "127.0.0.1", 2775))


def test_settings_urls_use_the_same_rules(tmp_path: Path) -> None:
    """issue 11 §1a: public_url, link_base_url and link_fallback_url are checked at start."""
    for key in ("public_url", "link_base_url", "link_fallback_url"):
        with pytest.raises(ValueError, match="malformed host"):
            _settings(tmp_path, **{key: "http://[::1"})


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://user:pass@example.com:8080/a/b?sig=secret#frag", "http://example.com:8080/a/b"),
        ("https://example.com/?token=x", "https://example.com/"),
        ("http://[::1]:9/p", "http://[::1]:9/p"),
        ("http://[::1", "<invalid URL>"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    """issue 11 §4c: a URL in a log is scheme, host, port and path only."""
    assert redact_url(url) == shown


def test_httpx_request_log_is_redacted(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """issue 11 §4c: httpx's own INFO line, through a client from the factory."""
    caplog.set_level(logging.INFO, logger="httpx")

    async def go() -> None:
        server, _ = await _listener()
        port = server.sockets[0].getsockname()[1]
        try:
            settings = _settings(tmp_path, allow_private_urls=True)
            async with outgoing_client(settings, timeout=5) as client:
                await client.post(f"http://user:pa55word@127.0.0.1:{port}/cb?sig=secret")
        finally:
            server.close()

    asyncio.run(go())
    (line,) = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert "/cb" in line and "pa55word" not in line and "sig=secret" not in line
