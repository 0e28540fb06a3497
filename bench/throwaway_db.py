"""A database for one benchmark run: SQLite in a temp directory, or a fresh PostgreSQL database.

With ``--database-url postgresql+asyncpg://user@host:port/db`` the benchmark connects to
``db`` only to ``CREATE DATABASE`` a uniquely named one beside it, runs against that, and
drops it at the end, so nothing in ``db`` is touched.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url


@dataclass(frozen=True)
class BenchDatabase:
    data_dir: Path
    url: str | None  # None: textwire's default SQLite file in data_dir

    @property
    def label(self) -> str:
        return "SQLite (WAL)" if self.url is None else "PostgreSQL"


async def _admin(url: str, sql: str) -> None:
    import asyncpg

    u = make_url(url)
    conn = await asyncpg.connect(
        host=u.host or "127.0.0.1",
        port=u.port or 5432,
        user=u.username,
        password=u.password,
        database=u.database or "postgres",
    )
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def throwaway_database(database_url: str | None) -> AsyncIterator[BenchDatabase]:
    """Yield a fresh, empty database; remove it (and the temp directory) afterwards."""
    data_dir = Path(tempfile.mkdtemp(prefix="textwire-bench-"))
    name: str | None = None
    try:
        if database_url is None:
            yield BenchDatabase(data_dir, None)
            return
        if not database_url.startswith("postgresql+asyncpg://"):
            raise SystemExit("--database-url must be postgresql+asyncpg://user@host:port/db")
        name = f"textwire_bench_{secrets.token_hex(4)}"
        await _admin(database_url, f'CREATE DATABASE "{name}"')
        url = make_url(database_url).set(database=name).render_as_string(hide_password=False)
        yield BenchDatabase(data_dir, url)
    finally:
        if name is not None:
            await _admin(database_url or "", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(data_dir, ignore_errors=True)
