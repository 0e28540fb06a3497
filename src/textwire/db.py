"""Engines and transactions.

SQLite gets one writer connection, used under a lock, with ``BEGIN IMMEDIATE`` so a
write transaction takes the lock up front instead of failing on upgrade, and a small pool
of readers beside it (WAL lets them read while the writer writes). PostgreSQL uses one
pool for both.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import ClauseElement, Executable, event
from sqlalchemy.engine.interfaces import DBAPIConnection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

# SQLite's page cache per connection, in KiB (its default is 2 MiB). The writer's inserts
# land all over the indexes (random SIDs, click and event rows); with the default cache
# they kept re-reading pages they had just written: a 64 MiB cache cut the cost of a click
# row from ~34 to ~21 us in bench/redirect.py, and helps dispatch the same way. The cache
# fills only as pages are used.
WRITER_CACHE_KIB = 65_536
READER_CACHE_KIB = 16_384
# Pages the WAL may hold before a commit copies them back into the database file (SQLite's
# default is 1,000, ~4 MiB). Dispatch rewrites the same message, event and index pages
# batch after batch; checkpointing a tenth as often copies each such page once instead of
# many times (bench/dispatch.py: ~15 % more messages per second). The WAL grows to ~40 MiB.
WAL_AUTOCHECKPOINT_PAGES = 10_000
# SQLAlchemy puts a failed statement's parameters in its error text, and so in any log line
# that prints the error: message bodies, phone numbers, secrets. Never.
HIDE_PARAMETERS = True


def _sqlite_engine(
    url: str, *, begin: str, pool_size: int, cache_kib: int, reset: bool = True
) -> AsyncEngine:
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=0,
        pool_pre_ping=False,
        pool_reset_on_return="rollback" if reset else None,
        hide_parameters=HIDE_PARAMETERS,
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        # Let us issue BEGIN ourselves (pysqlite's implicit BEGIN is DEFERRED).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA cache_size=-{int(cache_kib)}")
        cur.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Straight to aiosqlite: one trip to its thread instead of cursor, execute, close.
        conn.connection.dbapi_connection.run_async(lambda driver: driver.execute(begin))

    return engine


@dataclass(frozen=True)
class _Bulk:
    """A statement compiled once for driver-level executemany over rows of one shape.

    ``slots[j]`` is the position of the row's ``keys[j]`` among the statement's
    parameters; ``fixed`` holds the values of parameters the statement binds itself
    (``submissions + 1``, ``lease_until = NULL``), already converted.
    """

    sql: str
    size: int
    keys: tuple[str, ...]
    slots: tuple[int, ...]
    processors: tuple[Callable[[Any], Any] | None, ...]
    fixed: tuple[tuple[int, Any], ...]

    def parameters(self, rows: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
        take = itemgetter(*self.keys)
        single = len(self.keys) == 1
        # (position, processor, what the processor makes of None): NULLs are common.
        convert = [(j, p, p(None)) for j, p in enumerate(self.processors) if p is not None]
        in_order = not self.fixed and self.slots == tuple(range(self.size))
        template: list[Any] = [None] * self.size
        for i, value in self.fixed:
            template[i] = value
        # A batch mostly shares its timestamps: convert each distinct one once.
        memo: dict[tuple[datetime, Any], Any] = {}
        out: list[tuple[Any, ...]] = []
        for row in rows:
            got = [take(row)] if single else list(take(row))
            for j, process, null in convert:
                value = got[j]
                if value is None:
                    got[j] = null
                elif type(value) is datetime:
                    key = (value, value.tzinfo)
                    if key not in memo:
                        memo[key] = process(value)
                    got[j] = memo[key]
                else:
                    got[j] = process(value)
            if in_order:
                out.append(tuple(got))
                continue
            values = template.copy()
            for j, slot in enumerate(self.slots):
                values[slot] = got[j]
            out.append(tuple(values))
        return out


def _compile_bulk(dialect: Dialect, stmt: Executable, keys: tuple[str, ...]) -> _Bulk | None:
    """``stmt`` ready for driver executemany, or None when SQLAlchemy must run it itself."""
    assert isinstance(stmt, ClauseElement)
    compiled: Any = stmt.compile(dialect=dialect, column_keys=list(keys), for_executemany=True)
    if (
        not compiled.positional
        or compiled.literal_execute_params
        or compiled.post_compile_params
        or compiled.insert_prefetch
        or compiled.update_prefetch
        or compiled.effective_returning
    ):
        return None
    names: list[str] = list(compiled.positiontup)
    if len(set(names)) != len(names):
        return None  # a parameter used twice: leave the bookkeeping to SQLAlchemy

    def processor(name: str) -> Callable[[Any], Any] | None:
        bind_type = compiled.binds[name].type
        process: Callable[[Any], Any] | None = bind_type.dialect_impl(dialect).bind_processor(
            dialect
        )
        return process

    taken = [name for name in names if name in keys]
    fixed: list[tuple[int, Any]] = []
    for i, name in enumerate(names):
        if name in keys:
            continue
        bind = compiled.binds[name]
        if bind.required or bind.callable is not None:
            return None
        process = processor(name)
        value = bind.effective_value
        fixed.append((i, process(value) if process is not None else value))
    if not taken:
        return None
    return _Bulk(
        sql=str(compiled),
        size=len(names),
        keys=tuple(taken),
        slots=tuple(names.index(name) for name in taken),
        processors=tuple(processor(name) for name in taken),
        fixed=tuple(fixed),
    )


class Database:
    """The process's access to storage: ``write()`` and ``read()`` transactions."""

    def __init__(self, url: str):
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            # Every use of the writer is a transaction that commits or rolls back (a
            # Connection rolls back what it began when closed), so the pool's extra rollback
            # on return would only cost a trip to the driver's thread per transaction.
            self.writer = _sqlite_engine(
                url, begin="BEGIN IMMEDIATE", pool_size=1, cache_kib=WRITER_CACHE_KIB, reset=False
            )
            self.reader = _sqlite_engine(
                url, begin="BEGIN", pool_size=4, cache_kib=READER_CACHE_KIB
            )
        else:
            self.writer = create_async_engine(
                url, pool_size=10, max_overflow=10, hide_parameters=HIDE_PARAMETERS
            )
            self.reader = self.writer
        # One writer at a time within this process; SQLite's lock covers other processes.
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        self._bulk: dict[tuple[str, tuple[str, ...]], _Bulk | None] = {}

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        if self._write_lock is None:
            async with self.writer.begin() as conn:
                yield conn
            return
        async with self._write_lock, self.writer.begin() as conn:
            yield conn

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self.reader.connect() as conn:
            yield conn

    async def executemany(
        self,
        conn: AsyncConnection,
        stmt: Executable,
        rows: Sequence[Mapping[str, Any]],
        *,
        key: str,
    ) -> None:
        """``await conn.execute(stmt, rows)`` for an INSERT or UPDATE, minus the per-row work.

        Over many rows SQLAlchemy builds a parameter dict for every row and runs every value
        through its type's bind processor; on the dispatch path that was the largest single
        cost. Here ``stmt`` is compiled once per ``key`` and row shape (every row must have
        the same keys), values go through the same bind processors SQLAlchemy would use, and
        the driver's executemany gets the rows: the same SQL and the same values. A statement
        that needs more (Python-side defaults, expanding IN, RETURNING, a driver with named
        parameters) is left to SQLAlchemy.
        """
        if not rows:
            return
        shape = (key, tuple(rows[0]))
        if shape in self._bulk:
            bulk = self._bulk[shape]
        else:
            bulk = self._bulk[shape] = _compile_bulk(conn.dialect, stmt, shape[1])
        if bulk is None:
            await conn.execute(stmt, list(rows))
            return
        params = bulk.parameters(rows)
        if not self.is_sqlite:
            await conn.exec_driver_sql(bulk.sql, params)
            return
        # aiosqlite's own executemany is one trip to its thread; through SQLAlchemy's adapter
        # a statement takes three (cursor, execute, close). Same connection, same transaction.
        driver = (await conn.get_raw_connection()).driver_connection
        assert driver is not None
        try:
            await driver.executemany(bulk.sql, params)
        except sqlite3.Error as err:
            raise DBAPIError.instance(
                bulk.sql, params, err, sqlite3.Error, hide_parameters=HIDE_PARAMETERS
            ) from err

    @property
    def skip_locked(self) -> bool:
        """PostgreSQL lets many workers claim side by side; SQLite's writer lock serialises."""
        return not self.is_sqlite

    async def dispose(self) -> None:
        await self.writer.dispose()
        if self.reader is not self.writer:
            await self.reader.dispose()
