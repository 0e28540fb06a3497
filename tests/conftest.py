"""Fixtures: a real database per test (SQLite file, or PostgreSQL when
``TEXTWIRE_TEST_DATABASE_URL`` is set) and live servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from tests.inprocess import InProcess
from tests.support import PG_URL, LiveServer, PostgresDatabase, Receiver, make_settings
from textwire.config import Settings
from textwire.migrate import upgrade

# The twilio client rewrites hosts when these are set; tests talk to 127.0.0.1 only.
os.environ.pop("TWILIO_EDGE", None)
os.environ.pop("TWILIO_REGION", None)


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "textwire.db"
    asyncio.run(upgrade(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def _postgres() -> Iterator[PostgresDatabase | None]:
    if not PG_URL:
        yield None
        return
    db = PostgresDatabase(PG_URL)
    asyncio.run(db.create())
    try:
        yield db
    finally:
        asyncio.run(db.drop())


@pytest.fixture
def database_url(tmp_path: Path, _sqlite_template: Path, _postgres: PostgresDatabase | None) -> str:
    """A migrated, empty database for this test."""
    if _postgres is not None:
        asyncio.run(_postgres.truncate())
        return _postgres.url
    path = tmp_path / "data" / "textwire.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(_sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path / "data", database_url)


@pytest.fixture
def server(settings: Settings) -> Iterator[LiveServer]:
    live = LiveServer(settings, migrate=False).start()
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture
def hook_receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    try:
        yield r
    finally:
        r.stop()


@pytest.fixture
def fresh_database_url(tmp_path: Path) -> Iterator[str]:
    """An empty, unmigrated database of its own, for tests that migrate step by step and so
    cannot share the session's."""
    if not PG_URL:
        yield f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
        return
    db = PostgresDatabase(PG_URL)

    async def create() -> None:
        conn = await asyncpg.connect(PG_URL.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            await conn.execute(f'CREATE DATABASE "{db.name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    try:
        yield db.url
    finally:
        asyncio.run(db.drop())


@pytest.fixture
def app(settings: Settings) -> Iterator[InProcess]:
    """textwire's API in process (httpx's ASGI transport), with its worker and deliverer."""
    inproc = InProcess(settings).start()
    try:
        yield inproc
    finally:
        inproc.stop()
