"""``textwire serve`` start-up errors and the API port's connection deadlines (issue 11 §6)."""

from __future__ import annotations

import base64
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.test_cli import textwire
from tests.support import LiveServer, make_settings
from textwire.config import Settings


@pytest.fixture
def busy_port() -> Iterator[int]:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    try:
        yield holder.getsockname()[1]
    finally:
        holder.close()


@pytest.mark.parametrize(
    ("flag", "what"),
    [("--port", "API"), ("--redirect-port", "redirect"), ("TEXTWIRE_METRICS_PORT", "metrics")],
)
def test_a_busy_port_is_one_clear_line_and_exit_3(
    settings: Settings, busy_port: int, flag: str, what: str
) -> None:
    """issue 11 §6: a busy redirect port printed a 100-line traceback and exited 1 while a
    busy API port logged one line and exited 3. Every port now says the same, exit 3."""
    ports = {"--port": "0", "--redirect-port": "0"}
    env = {}
    if flag.startswith("--"):
        ports[flag] = str(busy_port)
    else:
        env[flag] = str(busy_port)
    args = [a for kv in ports.items() for a in kv]
    out = textwire(settings, "serve", *args, env=env)
    assert out.returncode == 3, (out.stdout, out.stderr)
    assert "Traceback" not in out.stderr + out.stdout
    (line,) = [line for line in out.stderr.splitlines() if "cannot listen" in line]
    assert f"127.0.0.1:{busy_port}" in line and what in line and "in use" in line


def _closed_by_server(sock: socket.socket) -> bool:
    """Read until the server closes (True) or a generous safety bound passes (False)."""
    sock.settimeout(30)
    try:
        while sock.recv(4096):
            pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True
    return True


@pytest.fixture
def short_deadlines(tmp_path: Path, database_url: str) -> Iterator[LiveServer]:
    settings = make_settings(
        tmp_path / "data", database_url, http_idle_timeout=0.5, http_request_timeout=0.5
    )
    live = LiveServer(settings).start()
    try:
        yield live
    finally:
        live.stop()


@pytest.mark.parametrize("case", ["idle", "half-sent-head", "half-sent-body"])
def test_the_api_port_closes_idle_and_slow_connections(
    short_deadlines: LiveServer, case: str
) -> None:
    """issue 11 §6: the API port kept idle and slow connections open forever."""
    assert short_deadlines.running is not None and short_deadlines.running.port
    account = short_deadlines.new_account("Slow")
    auth = base64.b64encode(f"{account.account_sid}:{account.auth_token}".encode()).decode()
    sent = {
        "idle": b"",  # connected, never a byte
        "half-sent-head": b"GET /healthz HTTP/1.1\r\nHost: x\r\n",  # slowloris
        # Authenticated, so the app waits for the body that never comes.
        "half-sent-body": (
            b"POST /v1/Services HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Authorization: Basic " + auth.encode() + b"\r\n\r\nFriendly"
        ),
    }[case]
    with socket.create_connection(("127.0.0.1", short_deadlines.running.port)) as sock:
        sock.sendall(sent)
        assert _closed_by_server(sock)


def test_a_complete_request_is_answered_then_the_idle_connection_closed(
    short_deadlines: LiveServer,
) -> None:
    """issue 11 §6: the deadline never cuts a request that arrived whole."""
    assert short_deadlines.running is not None and short_deadlines.running.port
    with socket.create_connection(("127.0.0.1", short_deadlines.running.port)) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.settimeout(30)
        received = b""
        while b"\r\n\r\n" not in received:
            received += sock.recv(4096)
        assert received.startswith(b"HTTP/1.1 ")
        assert _closed_by_server(sock)
