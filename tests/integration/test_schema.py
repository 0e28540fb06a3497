"""Storage: the migrated schema is exactly the declared one (issue 3 item 2)."""

from __future__ import annotations

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from textwire.schema import metadata


def _diff(database_url: str) -> list[object]:
    async def run() -> list[object]:
        engine = create_async_engine(database_url)
        try:
            async with engine.connect() as conn:

                def compare(sync: Connection) -> list[object]:
                    ctx = MigrationContext.configure(sync, opts={"compare_type": True})
                    return list(compare_metadata(ctx, metadata))

                return await conn.run_sync(compare)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_migrations_build_the_declared_schema(database_url: str) -> None:
    assert _diff(database_url) == []


def test_a_missing_table_would_be_reported(database_url: str) -> None:
    """The comparison can fail: drop a table and it must show up as a difference."""

    async def drop() -> None:
        engine = create_async_engine(database_url)
        async with engine.begin() as conn:
            await conn.exec_driver_sql("DROP TABLE message_events")
        await engine.dispose()

    asyncio.run(drop())
    diffs = _diff(database_url)
    assert any("message_events" in str(d) for d in diffs)
