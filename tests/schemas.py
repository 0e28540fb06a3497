"""Schema checks shared by the schema and migration tests: how a migrated database differs
from the declared schema, and which revisions it is at."""

from __future__ import annotations

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from textwire.db import Database
from textwire.schema import metadata


def schema_differences(database_url: str, drop: str | None = None) -> list[object]:
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


async def current_revisions(database_url: str) -> set[str]:
    """The revisions recorded in the database's ``alembic_version`` table."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:

            def heads(sync: Connection) -> set[str]:
                return set(MigrationContext.configure(sync).get_current_heads())

            return await conn.run_sync(heads)
    finally:
        await engine.dispose()


# The heads of the history before it was made linear (issue 12 §5): where a database made by
# textwire up to issue 11 stands. ``0011_one_history`` merges them.
OLD_HEADS = (
    "0003_consent",
    "0005_providers",
    "0006_sandbox_refs",
    "0008_api_key_updates",
    "0008_link_clicks_narrow",
    "0009_service_transactional",
    "0010_sender_owner_unique",
)
