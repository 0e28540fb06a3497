"""Test support: databases (SQLite file or PostgreSQL), a live textwire on 127.0.0.1,
and a real HTTP receiver for webhooks. No textwire code is mocked."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import asyncpg
import httpx
import uvicorn
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import create_async_engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.types import ASGIApp
from twilio.http import HttpClient
from twilio.rest import Client as TwilioClient

from textwire.accounts import NewAccount, create_account
from textwire.compose import open_runtime
from textwire.config import Settings
from textwire.migrate import upgrade
from textwire.runtime import Runtime
from textwire.schema import metadata
from textwire.server import Running, started

T = TypeVar("T")
PG_URL = os.environ.get("TEXTWIRE_TEST_DATABASE_URL")


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


class PostgresDatabase:
    """A throwaway database for this test session, emptied between tests."""

    def __init__(self, admin_url: str):
        self.admin_url = admin_url
        self.name = f"textwire_test_{secrets.token_hex(4)}"
        base, _, _ = admin_url.rpartition("/")
        self.url = f"{base}/{self.name}"

    async def create(self) -> None:
        conn = await asyncpg.connect(_asyncpg_dsn(self.admin_url))
        try:
            await conn.execute(f'CREATE DATABASE "{self.name}"')
        finally:
            await conn.close()
        await upgrade(self.url)

    async def truncate(self) -> None:
        engine = create_async_engine(self.url)
        names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
        async with engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        await engine.dispose()

    async def drop(self) -> None:
        conn = await asyncpg.connect(_asyncpg_dsn(self.admin_url))
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        finally:
            await conn.close()


def make_settings(data_dir: Path, database_url: str | None, **overrides: Any) -> Settings:
    """Settings tuned for fast tests: short sandbox delay, quick polling and retries."""
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "database_url": database_url,
        "port": 0,
        "redirect_port": 0,
        "sandbox_delivery_delay": 0.05,
        "worker_poll_interval": 0.02,
        "retry_base_seconds": 0.05,
        "lease_seconds": 30.0,
        "secret_key": None,
        "allow_private_urls": True,  # receivers and fake providers listen on 127.0.0.1
    }
    values.update(overrides)
    return Settings(**values)


class LoopThread:
    """An asyncio loop in a thread, so synchronous clients (the twilio package) can be used
    against a server running in the same process."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)


class Commits:
    """Signals each transaction a runtime's writer commits: what a test waiting for the
    worker, the deliverer or ingest to change a row waits on, instead of a timer."""

    def __init__(self, rt: Runtime):
        self._changed = threading.Condition()
        self.count = 0
        event.listen(rt.db.writer.sync_engine, "commit", self._committed)

    def _committed(self, _conn: Any) -> None:
        with self._changed:
            self.count += 1
            self._changed.notify_all()

    def wait_past(self, seen: int, timeout: float) -> None:
        """Return once a commit after the ``seen``-th one happened, or after ``timeout``."""
        with self._changed:
            self._changed.wait_for(lambda: self.count != seen, timeout)


class AppUnderTest:
    """What the tests reach textwire's runtime by, on a socket (``LiveServer``) or in
    process (``tests.inprocess.InProcess``)."""

    thread: LoopThread
    _commits: Commits | None = None

    @property
    def rt(self) -> Runtime:
        raise NotImplementedError

    @property
    def url(self) -> str:
        """The API's base URL."""
        raise NotImplementedError

    @property
    def http(self) -> httpx.Client:
        """An HTTP client on the API (relative URLs are the API's)."""
        raise NotImplementedError

    def twilio_http(self) -> HttpClient | None:
        """The HTTP layer Twilio's client reaches this API by (None: its own, on a socket)."""
        return None

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        return self.thread.call(coro, timeout)

    def new_account(self, name: str = "Test") -> NewAccount:
        return self.call(create_account(self.rt.db, self.rt.box, self.rt.clock, name))

    def wait_for(self, predicate: Callable[[], Awaitable[bool]], timeout: float = 30) -> None:
        """``wait_until`` for a check that runs on the server's loop (a query)."""
        self.wait_until(lambda: self.call(predicate()), timeout)

    def wait_until(self, check: Callable[[], bool], timeout: float = 30) -> None:
        """Until ``check()`` is true, checked again after every commit of this server's
        runtime; fails the test after ``timeout`` seconds. A change committed elsewhere
        (another runtime) or not at all is still seen, by a re-check every quarter second."""
        if self._commits is None:
            self._commits = Commits(self.rt)
        deadline = time.monotonic() + timeout
        while True:
            seen = self._commits.count
            if check():
                return
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"condition not met within {timeout} s")
            self._commits.wait_past(seen, min(left, 0.25))


@dataclass
class LiveServer(AppUnderTest):
    """textwire running on 127.0.0.1 with the given roles."""

    settings: Settings
    role: str = "all"
    # False when the database is migrated already (the fixtures'): alembic costs ~0.15 s.
    migrate: bool = True
    thread: LoopThread = field(default_factory=LoopThread)
    running: Running | None = None
    _cm: Any = None
    _http: httpx.Client | None = None

    def start(self) -> LiveServer:
        async def go() -> Running:
            rt = None if self.migrate else await open_runtime(self.settings, migrate=False)
            self._cm = started(self.settings, self.role, rt)  # type: ignore[arg-type]
            return await self._cm.__aenter__()

        self.running = self.thread.call(go())
        return self

    def stop(self) -> None:
        if self._http is not None:
            self._http.close()
        if self._cm is not None:
            self.thread.call(self._cm.__aexit__(None, None, None))
            self._cm = None
            if not self.migrate:  # the runtime is ours, not started()'s
                self.thread.call(self.rt.close())
        self.thread.close()

    @property
    def rt(self) -> Runtime:
        assert self.running is not None
        return self.running.rt

    @property
    def url(self) -> str:
        assert self.running is not None and self.running.port
        return f"http://127.0.0.1:{self.running.port}"

    @property
    def http(self) -> httpx.Client:
        # A connection per request, as httpx.get() and friends open one.
        if self._http is None:
            no_reuse = httpx.Limits(max_keepalive_connections=0)
            self._http = httpx.Client(base_url=self.url, timeout=30, limits=no_reuse)
        return self._http

    @property
    def redirect_url(self) -> str:
        assert self.running is not None and self.running.redirect_port
        return f"http://127.0.0.1:{self.running.redirect_port}"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    url: str

    @property
    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode()))


class LoopbackServer:
    """uvicorn serving ``app`` on 127.0.0.1 from its own loop thread.

    The socket listens before uvicorn starts, so a request sent at once waits in its
    backlog: nobody has to wait for the server to have started."""

    def __init__(self, app: ASGIApp):
        self._thread = LoopThread()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        self.port: int = sock.getsockname()[1]
        self._server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", log_config=None, lifespan="off")
        )

        async def go() -> asyncio.Task[None]:
            return asyncio.create_task(self._server.serve(sockets=[sock]))

        self._task = self._thread.call(go())

    def stop(self) -> None:
        async def halt() -> None:
            self._server.should_exit = True
            await self._task

        with contextlib.suppress(Exception):
            self._thread.call(halt(), timeout=10)
        self._thread.close()


class Receiver:
    """A real HTTP server on 127.0.0.1 that records what it is sent.

    ``responses`` is a queue of status codes to answer with (then 200). ``wait_for(n)``
    returns once ``n`` requests arrived.
    """

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.responses: list[int] = []
        self.port = 0
        self._arrived = threading.Condition()
        self._server: LoopbackServer | None = None

    async def _handle(self, request: Request) -> PlainTextResponse:
        got = Received(
            request.url.path, dict(request.headers), await request.body(), str(request.url)
        )
        code = self.responses.pop(0) if self.responses else 200
        with self._arrived:
            self.received.append(got)
            self._arrived.notify_all()
        return PlainTextResponse("ok" if code < 400 else "nope", status_code=code)

    def wait_for(self, n: int, timeout: float = 15) -> list[Received]:
        """The requests received, once there are at least ``n``."""
        return self.wait_until(lambda got: len(got) >= n, timeout, f"{n} requests")

    def wait_until(
        self, check: Callable[[list[Received]], bool], timeout: float = 15, what: str = "check"
    ) -> list[Received]:
        """The requests received, once ``check`` holds for them (checked as each arrives);
        fails the test after ``timeout`` seconds."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: check(self.received), timeout):
                raise AssertionError(f"{what}: not within {timeout} s ({len(self.received)} in)")
            return list(self.received)

    def start(self) -> Receiver:
        app = Starlette(routes=[Route("/{path:path}", self._handle, methods=["POST", "GET"])])
        self._server = LoopbackServer(app)
        self.port = self._server.port
        return self

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()


@contextlib.contextmanager
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    try:
        yield r
    finally:
        r.stop()


def twilio_client(
    server: AppUnderTest, username: str, password: str, account_sid: str | None = None
) -> TwilioClient:
    """Twilio's official client, pointed at ``server`` for the v2010 and messaging APIs;
    ``account_sid`` when the credentials are an API key's."""
    client = TwilioClient(
        username=username,
        password=password,
        account_sid=account_sid,
        http_client=server.twilio_http(),
    )
    client.api.base_url = server.url
    client.messaging.base_url = server.url
    return client
