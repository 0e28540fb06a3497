"""The redirect server's own HTTP/1.1 listener over real sockets on 127.0.0.1 (issue 4 item 4):
pipelining in order, keep-alive and close, bad and oversize requests, backpressure from the
click buffer, and the graceful stop. The server runs on uvloop, as ``textwire serve`` does."""

from __future__ import annotations

import asyncio
import contextlib
import select
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvloop

from tests.links_support import IPHONE, LinkCtx
from tests.support import PG_URL, LiveServer, LoopThread, make_settings
from textwire.config import Settings
from textwire.links.redirect import NOT_FOUND_PAGE


class UvloopThread(LoopThread):
    """``LoopThread`` on uvloop: the loop the redirect server runs on in production."""

    def __init__(self) -> None:
        self.loop = uvloop.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


def read_reply(sock: socket.socket, buffer: bytearray, *, head: bool = False) -> Reply:
    """One response from ``sock`` (``buffer`` carries bytes read past the previous one)."""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before a complete response: {bytes(buffer)!r}")
        buffer += chunk
    end = buffer.index(b"\r\n\r\n")
    lines = bytes(buffer[:end]).decode("latin-1").split("\r\n")
    del buffer[: end + 4]
    pairs = [line.split(": ", 1) for line in lines[1:]]
    headers = {name.lower(): value for name, value in pairs}
    length = 0 if head else int(headers["content-length"])
    while len(buffer) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed inside a body")
        buffer += chunk
    body = bytes(buffer[:length])
    del buffer[:length]
    return Reply(int(lines[0].split(" ")[1]), headers, body)


def closed_by_server(sock: socket.socket) -> bool:
    """True once the server has closed ``sock`` (EOF or reset), reading out what is left."""
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        pass
    return True


def connect(server: LiveServer) -> socket.socket:
    assert server.running is not None and server.running.redirect_port
    sock = socket.create_connection(("127.0.0.1", server.running.redirect_port), timeout=30)
    return sock


def get(path: str, *extra: str, method: str = "GET", version: str = "1.1") -> bytes:
    lines = [f"{method} {path} HTTP/{version}", "Host: 127.0.0.1", f"User-Agent: {IPHONE}"]
    return ("\r\n".join([*lines, *extra]) + "\r\n\r\n").encode()


def make_server(tmp_path: Path, database_url: str, **overrides: object) -> LiveServer:
    settings = make_settings(tmp_path / "data", database_url, **overrides)
    return LiveServer(settings, thread=UvloopThread()).start()


@pytest.fixture
def uv_server(tmp_path: Path, database_url: str) -> Iterator[LiveServer]:
    live = make_server(tmp_path, database_url)
    try:
        yield live
    finally:
        live.stop()


def new_links(ctx: LinkCtx, n: int) -> list[str]:
    """``n`` slugs, each of its own message to https://a.com/<i>."""
    slugs = []
    for i in range(n):
        msg = ctx.send(
            To=f"+1415555{1000 + i}",
            MessagingServiceSid=ctx.service["sid"],
            Body=f"https://a.com/{i}",
        )
        slugs.append(msg["body"].rsplit("/", 1)[1])
    return slugs


def stored_after_flush(ctx: LinkCtx) -> int:
    running = ctx.server.running
    assert running is not None and running.clicks is not None
    ctx.server.call(running.clicks.flush())
    return ctx.clicks_stored()


def test_pipelined_requests_are_answered_in_order(uv_server: LiveServer) -> None:
    ctx = LinkCtx(uv_server)
    ctx.service_mode("all")
    cached, missed = new_links(ctx, 2)
    ctx.click(f"{uv_server.redirect_url}/{cached}")  # now in the slug cache; `missed` is not
    with connect(uv_server) as sock:
        # The miss is first: it waits for the database while the hits behind it are decided.
        sock.sendall(
            get(f"/{missed}")
            + get(f"/{cached}?utm=x")
            + get("/Zzzzzzz", method="HEAD")
            + get(f"/{cached}", method="POST")
            + get(f"/{missed}/")
        )
        buffer = bytearray()
        replies = [read_reply(sock, buffer, head=i == 2) for i in range(5)]
    assert [(r.status, r.headers.get("location")) for r in replies] == [
        (302, "https://a.com/1"),
        (302, "https://a.com/0"),
        (404, None),
        (405, None),
        (302, "https://a.com/1"),
    ]
    # HEAD: the 404 page's length, and no body (the next reply parsed cleanly behind it).
    assert int(replies[2].headers["content-length"]) == len(NOT_FOUND_PAGE)
    assert replies[3].headers["allow"] == "GET, HEAD"
    assert stored_after_flush(ctx) == 1 + 3  # the warm-up click and three redirects


def test_keep_alive_connection_close_and_http_1_0(uv_server: LiveServer) -> None:
    ctx = LinkCtx(uv_server)
    ctx.service_mode("all")
    (slug,) = new_links(ctx, 1)
    with connect(uv_server) as sock:
        buffer = bytearray()
        sock.sendall(get(f"/{slug}"))
        first = read_reply(sock, buffer)
        sock.sendall(get(f"/{slug}", "Connection: close"))
        second = read_reply(sock, buffer)
        assert "connection" not in first.headers and second.headers["connection"] == "close"
        assert closed_by_server(sock)
    with connect(uv_server) as sock:
        buffer = bytearray()
        sock.sendall(get(f"/{slug}", "Connection: keep-alive", version="1.0"))
        kept = read_reply(sock, buffer)
        sock.sendall(get(f"/{slug}", version="1.0"))
        last = read_reply(sock, buffer)
        assert kept.headers["connection"] == "keep-alive" and last.headers["connection"] == "close"
        assert kept.status == last.status == 302
        assert closed_by_server(sock)
    assert stored_after_flush(ctx) == 4


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"NOT HTTP AT ALL\r\n\r\n", 400),
        (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        (b"GET /Zzzzzzz HTTP/1.1\r\nX-Big: " + b"b" * 20000 + b"\r\n\r\n", 431),
        (b"GET /Zzzzzzz HTTP/1.1\r\n" + b"X-Many: c\r\n" * 3000 + b"\r\n", 431),
        # Stops just past the limit, so nothing is left unread when the server closes.
        (b"POST /Zzzzzzz HTTP/1.1\r\nContent-Length: 100000\r\n\r\n" + b"d" * 66000, 413),
    ],
    ids=["garbage", "long-url", "big-header", "many-headers", "big-body"],
)
def test_bad_and_oversize_requests_are_refused_and_closed(
    uv_server: LiveServer, request_bytes: bytes, status: int
) -> None:
    with connect(uv_server) as sock:
        # The server may refuse and close before reading everything.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(request_bytes)
        reply = read_reply(sock, bytearray())
        assert reply.status == status and reply.headers["connection"] == "close"
        assert closed_by_server(sock)
    # And the server still serves.
    assert httpx.get(f"{uv_server.redirect_url}/Zzzzzzz").status_code == 404


def test_a_head_sent_in_pieces_is_bounded_too(uv_server: LiveServer) -> None:
    """httptools buffers a header value until its end: the listener counts what arrives."""
    with connect(uv_server) as sock:
        sock.sendall(b"GET /Zzzzzzz HTTP/1.1\r\nX-Slow: ")
        for _ in range(64):  # up to 64 KiB of one header value, in pieces, never finished
            sock.sendall(b"e" * 1024)
            if select.select([sock], [], [], 0.01)[0]:
                break  # answered: sending more would only make the server reset
        reply = read_reply(sock, bytearray())
        assert reply.status == 431 and reply.headers["connection"] == "close"
        assert closed_by_server(sock)


def test_small_bodies_are_ignored_and_disconnects_do_no_harm(uv_server: LiveServer) -> None:
    ctx = LinkCtx(uv_server)
    ctx.service_mode("all")
    (slug,) = new_links(ctx, 1)
    with connect(uv_server) as sock:
        buffer = bytearray()
        sock.sendall(get(f"/{slug}", "Content-Length: 5") + b"hello" + get(f"/{slug}"))
        assert [read_reply(sock, buffer).status for _ in range(2)] == [302, 302]
    # Clients that leave mid-request, or without reading their answers.
    with connect(uv_server) as sock:
        sock.sendall(b"GET /" + slug.encode() + b" HTTP/1.1\r\nHo")
    with connect(uv_server) as sock:
        sock.sendall(get("/Qqqqqqq") * 50)
    assert httpx.get(f"{uv_server.redirect_url}/{slug}").status_code == 302


@pytest.mark.skipif(PG_URL is not None, reason="holds the SQLite file's write lock")
def test_a_stalled_click_writer_pauses_redirects_and_loses_no_click(
    tmp_path: Path, database_url: str
) -> None:
    """Backpressure: past ``click_high_water`` clicks the server stops reading requests.

    The writer is stalled for real: another connection holds the SQLite file's write lock.
    """
    high_water = 4
    server = make_server(
        tmp_path, database_url, click_high_water=high_water, click_flush_interval=0.02
    )
    try:
        ctx = LinkCtx(server)
        ctx.service_mode("all")
        (slug,) = new_links(ctx, 1)
        assert server.running is not None and server.running.clicks is not None
        clicks = server.running.clicks
        ctx.click(f"{server.redirect_url}/{slug}")  # cached, so redirects need no database
        ctx.wait_clicks(1)
        lock = sqlite3.connect(database_url.removeprefix("sqlite+aiosqlite:///"))
        lock.execute("BEGIN EXCLUSIVE")
        try:
            answered: list[int] = []
            clients = 30

            def click() -> None:
                with httpx.Client(timeout=120) as client:
                    answered.append(client.get(f"{server.redirect_url}/{slug}").status_code)

            saturated = threading.Event()
            clicks.watch(lambda now: saturated.set() if now else None)
            threads = [threading.Thread(target=click) for _ in range(clients)]
            for thread in threads:
                thread.start()
            saturated.wait(30)
            assert clicks.saturated
            # Room for requests that would get through without backpressure: a timer, as
            # what is awaited is something not happening.
            time.sleep(0.5)
            # The requests read before the buffer filled are answered; the rest wait in
            # the kernel, unread, so they add no click.
            assert len(answered) < clients
            assert clicks.received - 1 < clients
        finally:
            lock.rollback()
            lock.close()
        for thread in threads:
            thread.join(60)
        assert answered == [302] * clients
        ctx.wait_clicks(1 + clients)
        assert not clicks.saturated and ctx.clicks_stored() == 1 + clients
    finally:
        server.stop()


def test_graceful_stop_finishes_the_request_in_flight_and_closes_idle_connections(
    tmp_path: Path, database_url: str
) -> None:
    server = make_server(tmp_path, database_url, click_flush_interval=3600)
    stopper: threading.Thread | None = None
    try:
        ctx = LinkCtx(server)
        ctx.service_mode("all")
        (slug,) = new_links(ctx, 1)
        assert server.running is not None and server.running.redirect_listener is not None
        listener = server.running.redirect_listener
        idle, busy = connect(server), connect(server)
        buffer = bytearray()
        idle.sendall(get(f"/{slug}"))
        assert read_reply(idle, buffer).status == 302
        request = get(f"/{slug}")
        busy.sendall(request[:20])  # the request is in flight when the stop begins
        # Short polls: the listener signals neither a connection accepted nor its stop.
        while len(listener.connections) < 2:
            time.sleep(0.01)
        stopper = threading.Thread(target=server.stop)
        stopper.start()
        while not listener.stopping:
            time.sleep(0.01)
        assert closed_by_server(idle)
        busy.sendall(request[20:])
        last = read_reply(busy, bytearray())
        assert last.status == 302 and last.headers["connection"] == "close"
        assert closed_by_server(busy)
        stopper.join(60)
        idle.close()
        busy.close()
    finally:
        if stopper is None:
            server.stop()
    # Both redirects' clicks were written by the shutdown flush (the timer never fired).
    assert _count_clicks(server.settings) == 2


def _count_clicks(settings: Settings) -> int:
    from sqlalchemy import func, select

    from textwire.compose import open_runtime
    from textwire.links import tables as lt

    async def run() -> int:
        rt = await open_runtime(settings, migrate=False)
        try:
            async with rt.db.read() as conn:
                return int(await conn.scalar(select(func.count()).select_from(lt.link_clicks)))
        finally:
            await rt.close()

    return asyncio.run(run())
