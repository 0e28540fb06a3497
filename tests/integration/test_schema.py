"""Storage: the migrated schema is exactly the declared one (issue 3 item 2)."""

from __future__ import annotations

from tests.schemas import schema_differences


def test_migrations_build_the_declared_schema(database_url: str) -> None:
    assert schema_differences(database_url) == []


def test_a_missing_table_would_be_reported(database_url: str) -> None:
    """The comparison can fail: a dropped table must show up as a difference."""
    diffs = schema_differences(database_url, drop="message_events")
    assert any("message_events" in str(d) for d in diffs)
    assert schema_differences(database_url) == []  # and the drop did not outlive the check
