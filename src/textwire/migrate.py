"""Apply Alembic migrations programmatically (``textwire db upgrade`` and ``serve``).

The history is linear (issue 12 §5): one head, which every database is upgraded to. A second
head (a migration written against an older head) would leave the target ambiguous, so it is
refused with a message saying how to fix it, and ``tests/integration/test_migrations.py``
catches it before release.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


class SeveralHeads(RuntimeError):
    """The migrations branch: more than one revision has no successor."""


def alembic_config(url: str, script_location: Path = MIGRATIONS_DIR) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def head(cfg: Config) -> str:
    """The one head of the migrations ``cfg`` points at; ``SeveralHeads`` if there are more."""
    heads = ScriptDirectory.from_config(cfg).get_heads()
    if len(heads) != 1:
        raise SeveralHeads(
            f"the migrations have {len(heads)} heads ({', '.join(sorted(heads))}); there must be"
            " one: make the newest migration revise the current head, or add a merge revision"
            " (alembic merge) whose down_revision names them all"
        )
    return heads[0]


async def upgrade(url: str, revision: str | None = None) -> None:
    """Bring the database at ``url`` up to ``revision`` (the head by default)."""
    cfg = alembic_config(url)
    target = revision or head(cfg)
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:

            def _upgrade(sync_conn: Connection) -> None:
                cfg.attributes["connection"] = sync_conn
                command.upgrade(cfg, target)

            await conn.run_sync(_upgrade)
    finally:
        await engine.dispose()
