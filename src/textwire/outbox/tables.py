"""The outbox's table: outgoing webhooks (status callbacks, inbound forwards, click
events) as rows the deliverer claims, sends and retries."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    Float,
    Index,
    Integer,
    String,
    Table,
    Text,
    text,
)

from textwire.tables import SID, UTCDateTime, metadata

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_sid", SID, nullable=False, index=True),
    Column("message_sid", SID, nullable=True, index=True),
    Column("kind", String(16), nullable=False),
    Column("url", Text, nullable=False),
    Column("method", String(6), nullable=False),
    Column("content_type", String(64), nullable=False),
    Column("body", Text, nullable=False),
    Column("headers", JSON, nullable=False),
    Column("status", String(12), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", Float, nullable=True),
    Column("lease_until", Float, nullable=True),
    Column("last_status_code", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("date_created", UTCDateTime, nullable=False),
    Column("date_updated", UTCDateTime, nullable=False),
    Index(
        "ix_webhooks_due",
        "next_attempt_at",
        sqlite_where=text("next_attempt_at IS NOT NULL"),
        postgresql_where=text("next_attempt_at IS NOT NULL"),
    ),
)
