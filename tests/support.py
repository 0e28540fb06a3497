"""Test support: databases (SQLite file or PostgreSQL), a live textwire on 127.0.0.1,
and a real HTTP receiver for webhooks. No textwire code is mocked."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import asyncpg
import uvicorn
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from twilio.rest import Client as TwilioClient

from textwire.accounts import NewAccount, create_account
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


@dataclass
class LiveServer:
    """textwire running on 127.0.0.1 with the given roles."""

    settings: Settings
    role: str = "all"
    thread: LoopThread = field(default_factory=LoopThread)
    running: Running | None = None
    _cm: Any = None

    def start(self) -> LiveServer:
        async def go() -> Running:
            self._cm = started(self.settings, self.role)  # type: ignore[arg-type]
            return await self._cm.__aenter__()

        self.running = self.thread.call(go())
        return self

    def stop(self) -> None:
        if self._cm is not None:
            self.thread.call(self._cm.__aexit__(None, None, None))
            self._cm = None
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
    def redirect_url(self) -> str:
        assert self.running is not None and self.running.redirect_port
        return f"http://127.0.0.1:{self.running.redirect_port}"

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        return self.thread.call(coro, timeout)

    def new_account(self, name: str = "Test") -> NewAccount:
        return self.call(create_account(self.rt.db, self.rt.box, self.rt.clock, name))

    def wait_for(self, predicate: Callable[[], Awaitable[bool]], timeout: float = 30) -> None:
        """Poll ``predicate`` until true; fails the test after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.call(predicate()):
                return
            time.sleep(0.05)
        raise AssertionError(f"condition not met within {timeout} s")


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    url: str

    @property
    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode()))


class Receiver:
    """A real HTTP server on 127.0.0.1 that records what it is sent.

    ``responses`` is a queue of status codes to answer with (then 200).
    """

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.responses: list[int] = []
        self.port = 0
        self._thread = LoopThread()
        self._server: uvicorn.Server | None = None

    async def _handle(self, request: Request) -> PlainTextResponse:
        self.received.append(
            Received(
                request.url.path, dict(request.headers), await request.body(), str(request.url)
            )
        )
        code = self.responses.pop(0) if self.responses else 200
        return PlainTextResponse("ok" if code < 400 else "nope", status_code=code)

    def start(self) -> Receiver:
        app = Starlette(routes=[Route("/{path:path}", self._handle, methods=["POST", "GET"])])

        async def go() -> None:
            self._server = uvicorn.Server(
                uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, lifespan="off")
            )
            self._task = asyncio.create_task(self._server.serve())
            while not self._server.started:
                await asyncio.sleep(0.01)
            self.port = self._server.servers[0].sockets[0].getsockname()[1]

        self._thread.call(go())
        return self

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        async def halt() -> None:
            assert self._server is not None
            self._server.should_exit = True
            await self._task

        with contextlib.suppress(Exception):
            self._thread.call(halt(), timeout=10)
        self._thread.close()


@contextlib.contextmanager
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    try:
        yield r
    finally:
        r.stop()


def twilio_client(
    server: LiveServer, username: str, password: str, account_sid: str | None = None
) -> TwilioClient:
    """Twilio's official client, pointed at ``server`` for the v2010 and messaging APIs;
    ``account_sid`` when the credentials are an API key's."""
    client = TwilioClient(username=username, password=password, account_sid=account_sid)
    client.api.base_url = server.url
    client.messaging.base_url = server.url
    return client
