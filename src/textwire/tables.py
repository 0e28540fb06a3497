"""The shared schema kit (SQLAlchemy Core): the one ``metadata``, the column types, and the
tables no domain owns (accounts and their API keys). Each domain declares its own tables on
this metadata in its own ``tables.py``; ``schema.py`` gathers them all, and Alembic
migrations must produce exactly that.

User-visible times are timezone-aware UTC datetimes. The dispatch bookkeeping columns
(``next_attempt_at``, ``lease_until``, ``report_at``) are float epoch seconds: they are
compared and rewritten thousands of times a second, and a float is the cheapest thing to
compare in both SQLite and PostgreSQL. A NULL ``next_attempt_at`` means "nothing to do",
so the partial index on it holds only pending work.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC (SQLite has no zones) and always returns aware UTC datetimes."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

SID = String(34)

accounts = Table(
    "accounts",
    metadata,
    Column("sid", SID, primary_key=True),
    Column("friendly_name", String(64), nullable=False),
    Column("status", String(16), nullable=False, server_default="active"),
    Column("auth_token_hash", String(64), nullable=False),
    Column("auth_token_enc", Text, nullable=False),
    Column("date_created", UTCDateTime, nullable=False),
    Column("date_updated", UTCDateTime, nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("sid", SID, primary_key=True),
    Column("account_sid", SID, ForeignKey("accounts.sid"), nullable=False, index=True),
    Column("friendly_name", String(64), nullable=False),
    Column("secret_hash", String(64), nullable=False),
    Column("date_created", UTCDateTime, nullable=False),
    Column("date_updated", UTCDateTime, nullable=False),
)
