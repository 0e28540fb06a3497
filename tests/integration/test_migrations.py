"""One linear migration history (issue 12 §5): one head, and a database at the old heads
upgrades to it with the declared schema."""

from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from tests.schemas import OLD_HEADS, current_revisions, schema_differences
from textwire.migrate import MIGRATIONS_DIR, SeveralHeads, alembic_config, head, upgrade

MERGE = "0011_one_history"


def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config("sqlite://"))


def test_the_history_has_exactly_one_head() -> None:
    """issue 12 §5: ``alembic heads`` shows one head."""
    heads = _script().get_heads()
    assert len(heads) == 1, heads
    assert head(alembic_config("sqlite://")) == heads[0]


def test_the_merge_revision_joins_every_old_head() -> None:
    """issue 12 §5: every head a database could stand at before is a parent of the merge."""
    merge = _script().get_revision(MERGE)
    assert merge is not None and merge.is_merge_point
    assert isinstance(merge.down_revision, tuple)
    assert set(merge.down_revision) == set(OLD_HEADS)


def test_a_second_head_is_refused_naming_the_heads(tmp_path: Path) -> None:
    """issue 12 §5: a migration written against an old head makes two heads; migrating is
    refused with a message naming both and how to fix it, instead of alembic's own error."""
    copy = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, copy)
    (copy / "versions" / "0012_stray.py").write_text(
        'revision = "0012_stray"\ndown_revision = "0001"\nbranch_labels = None\n'
        "depends_on = None\n\n\ndef upgrade() -> None:\n    pass\n\n\n"
        "def downgrade() -> None:\n    pass\n"
    )
    with pytest.raises(SeveralHeads) as refused:
        head(alembic_config("sqlite://", script_location=copy))
    message = str(refused.value)
    assert "0012_stray" in message and _script().get_current_head() in message
    assert "merge" in message


def test_no_two_migration_files_share_a_number() -> None:
    """issue 12 §5: two files were both named ``0008_*``."""
    numbers = [p.name.split("_", 1)[0] for p in (MIGRATIONS_DIR / "versions").glob("[0-9]*.py")]
    assert all(re.fullmatch(r"\d{4}[a-z]?", n) for n in numbers), numbers
    assert len(numbers) == len(set(numbers)), sorted(numbers)


def _downgrade(url: str, revision: str) -> None:
    cfg = alembic_config(url)

    async def run() -> None:
        engine = create_async_engine(url)
        try:
            async with engine.begin() as conn:

                def down(sync: Connection) -> None:
                    cfg.attributes["connection"] = sync
                    command.downgrade(cfg, revision)

                await conn.run_sync(down)
        finally:
            await engine.dispose()

    asyncio.run(run())


@pytest.mark.parametrize(
    "stands_at",
    [
        pytest.param(OLD_HEADS, id="every-old-head"),
        # An installation made before the later branch revisions existed.
        pytest.param(("0002_links", "0003_consent", "0004_senders"), id="some-branches"),
        pytest.param(("0001",), id="core-only"),
    ],
)
def test_a_database_at_the_old_heads_upgrades_to_the_one_head(
    fresh_database_url: str, stands_at: tuple[str, ...]
) -> None:
    """issue 12 §5: an existing database, upgraded branch by branch as ``textwire db
    upgrade`` did, upgrades to the one head and then has exactly the declared schema."""
    url = fresh_database_url
    for revision in stands_at:
        asyncio.run(upgrade(url, revision))
    assert asyncio.run(current_revisions(url)) == set(stands_at)

    asyncio.run(upgrade(url))
    assert asyncio.run(current_revisions(url)) == {_script().get_current_head()}
    assert schema_differences(url) == []
    asyncio.run(upgrade(url))  # idempotent
    assert asyncio.run(current_revisions(url)) == {_script().get_current_head()}


def test_the_merge_revision_downgrades_to_the_old_heads(fresh_database_url: str) -> None:
    """issue 12 §5: downgrading the merge puts the database back at the old heads, with the
    same schema, and it upgrades again."""
    url = fresh_database_url
    asyncio.run(upgrade(url, MERGE))
    # The schema at the merge: what later migrations add is missing from it, and only that.
    at_merge = [str(d) for d in schema_differences(url)]
    # Relative steps back from a merge are ambiguous to alembic; naming one parent unapplies
    # the merge alone (the other parents are not its descendants).
    _downgrade(url, OLD_HEADS[0])
    assert asyncio.run(current_revisions(url)) == set(OLD_HEADS)
    assert [str(d) for d in schema_differences(url)] == at_merge
    asyncio.run(upgrade(url, MERGE))
    assert asyncio.run(current_revisions(url)) == {MERGE}
