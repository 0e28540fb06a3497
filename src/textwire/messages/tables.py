"""The tables a message lives in: ``messages`` (the row, which is also the dispatch queue)
and ``message_events`` (one row per status it passed through).

Only ``messages/store.py`` states queries on them. ``next_attempt_at`` and ``lease_until``
are float epoch seconds, compared thousands of times a second (see ``textwire.tables``); a
NULL ``next_attempt_at`` means "nothing to do", so the partial index holds pending work only.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    text,
)

from textwire.tables import SID, UTCDateTime, metadata

messages = Table(
    "messages",
    metadata,
    Column("sid", SID, primary_key=True),
    Column("account_sid", SID, ForeignKey("accounts.sid"), nullable=False),
    Column("service_sid", SID, nullable=True),
    Column("sender_sid", SID, nullable=True),
    Column("integration_sid", SID, nullable=True),
    Column("direction", String(16), nullable=False),
    Column("from_addr", String(32), nullable=True),
    Column("to_addr", String(32), nullable=False),
    Column("body", Text, nullable=False),
    Column("num_segments", Integer, nullable=False),
    Column("encoding", String(8), nullable=False),
    Column("num_media", Integer, nullable=False, server_default="0"),
    Column("media_urls", JSON, nullable=True),
    Column("status", String(16), nullable=False),
    Column("error_code", Integer, nullable=True),
    Column("error_message", Text, nullable=True),
    Column("status_callback", Text, nullable=True),
    Column("validity_period", Integer, nullable=True),
    Column("smart_encoded", Boolean, nullable=False, server_default=text("false")),
    Column("price", String(16), nullable=True),
    Column("price_unit", String(3), nullable=False, server_default="USD"),
    Column("provider_sid", String(64), nullable=True),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", Float, nullable=True),
    Column("lease_until", Float, nullable=True),
    Column("lease_owner", String(40), nullable=True),
    Column("extra", JSON, nullable=True),
    Column("send_at", UTCDateTime, nullable=True),
    Column("date_created", UTCDateTime, nullable=False),
    Column("date_updated", UTCDateTime, nullable=False),
    Column("date_sent", UTCDateTime, nullable=True),
    Index("ix_messages_account_created", "account_sid", "date_created"),
    Index(
        "ix_messages_due",
        "next_attempt_at",
        sqlite_where=text("next_attempt_at IS NOT NULL"),
        postgresql_where=text("next_attempt_at IS NOT NULL"),
    ),
)

message_events = Table(
    "message_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_sid", SID, nullable=False, index=True),
    Column("status", String(16), nullable=False),
    Column("error_code", Integer, nullable=True),
    Column("at", UTCDateTime, nullable=False),
)
