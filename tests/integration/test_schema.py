"""Storage: the migrated schema is exactly the declared one (issue 3 item 2)."""

from __future__ import annotations

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection

from textwire.db import Database
from textwire.schema import metadata


def _diff(database_url: str, drop: str | None = None) -> list[object]:
    """Differences between the migrated database and the declared schema; with ``drop``,
    after dropping that table inside a transaction that is rolled back (PostgreSQL's test
    database is shared by the session, so nothing may stay dropped)."""

    async def run() -> list[object]:
        # Database's writer emits an explicit BEGIN on SQLite too, so DDL is rolled back.
        engine = Database(database_url).writer
        try:
            async with engine.connect() as conn:
                trans = await conn.begin()
                if drop:
                    await conn.exec_driver_sql(f"DROP TABLE {drop}")

                def compare(sync: Connection) -> list[object]:
                    ctx = MigrationContext.configure(sync, opts={"compare_type": True})
                    return list(compare_metadata(ctx, metadata))

                try:
                    return await conn.run_sync(compare)
                finally:
                    await trans.rollback()
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_migrations_build_the_declared_schema(database_url: str) -> None:
    assert _diff(database_url) == []


def test_a_missing_table_would_be_reported(database_url: str) -> None:
    """The comparison can fail: a dropped table must show up as a difference."""
    diffs = _diff(database_url, drop="message_events")
    assert any("message_events" in str(d) for d in diffs)
    assert _diff(database_url) == []  # and the drop did not outlive the check
