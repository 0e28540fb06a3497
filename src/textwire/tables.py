"""The declared schema (SQLAlchemy Core). Alembic migrations must produce exactly this.

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
    JSON,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
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

integrations = Table(
    "integrations",
    metadata,
    Column("sid", SID, primary_key=True),
    Column("account_sid", SID, ForeignKey("accounts.sid"), nullable=False, index=True),
    Column("friendly_name", String(64), nullable=False),
    Column("type", String(16), nullable=False),
    Column("settings", JSON, nullable=False),
    Column("secrets_enc", Text, nullable=True),
    Column("date_created", UTCDateTime, nullable=False),
    Column("date_updated", UTCDateTime, nullable=False),
)

services = Table(
    "services",
    metadata,
    Column("sid", SID, primary_key=True),
    Column("account_sid", SID, ForeignKey("accounts.sid"), nullable=False, index=True),
    Column("friendly_name", String(64), nullable=False),
    Column("inbound_request_url", Text, nullable=True),
    Column("inbound_method", String(4), nullable=False, server_default="POST"),
    Column("fallback_url", Text, nullable=True),
    Column("fallback_method", String(4), nullable=False, server_default="POST"),
    Column("status_callback", Text, nullable=True),
    Column("sticky_sender", Boolean, nullable=False, server_default=text("true")),
    Column("mms_converter", Boolean, nullable=False, server_default=text("true")),
    Column("smart_encoding", Boolean, nullable=False, server_default=text("true")),
    Column("scan_message_content", String(8), nullable=False, server_default="inherit"),
    Column("fallback_to_long_code", Boolean, nullable=False, server_default=text("true")),
    Column("area_code_geomatch", Boolean, nullable=False, server_default=text("true")),
    Column("validity_period", Integer, nullable=False, server_default="36000"),
    Column("synchronous_validation", Boolean, nullable=False, server_default=text("false")),
    Column("usecase", String(16), nullable=False, server_default="undeclared"),
    Column("use_inbound_webhook_on_number", Boolean, nullable=False, server_default=text("false")),
    # textwire extension: the default for messages naming the service (F-CONSENT-6).
    Column("transactional", Boolean, nullable=False, server_default=text("false")),
    Column("date_created", UTCDateTime, nullable=False),
    Column("date_updated", UTCDateTime, nullable=False),
)

senders = Table(
    "senders",
    metadata,
    Column("sid", SID, primary_key=True),
    Column("account_sid", SID, ForeignKey("accounts.sid"), nullable=False),
    Column(
        "service_sid",
        SID,
        ForeignKey("services.sid", ondelete="SET NULL"),
        nullable=True,
        index=True,
    ),
    Column("kind", String(16), nullable=False),
    Column("value", String(32), nullable=False),
    Column("country", String(2), nullable=True),
    Column("area_code", String(3), nullable=True),
    Column("capabilities", JSON, nullable=False),
    Column("mps", Integer, nullable=False),
    Column("integration_sid", SID, ForeignKey("integrations.sid"), nullable=False),
    Column("friendly_name", String(64), nullable=False),
    Column("date_created", UTCDateTime, nullable=False),
    Column("date_updated", UTCDateTime, nullable=False),
    # One owning account per phone number or short code across the installation (inbound
    # must reach one account); NULL for alphanumeric IDs, which may be shared (senders.md).
    Column("owner_key", String(40), nullable=True),
    UniqueConstraint("account_sid", "value"),
    Index("ux_senders_owner_key", "owner_key", unique=True),
)

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

# The sandbox provider's own record of what it was handed: it plays a remote network,
# so it keeps its own rows and reports receipts from them, like a real provider would.
sandbox_messages = Table(
    "sandbox_messages",
    metadata,
    Column("message_sid", String(40), primary_key=True),  # a hand-over reference
    Column("account_sid", SID, nullable=False),
    Column("from_addr", String(32), nullable=False),
    Column("to_addr", String(32), nullable=False),
    Column("num_segments", Integer, nullable=False),
    Column("sender_sid", SID, nullable=True),
    Column("submitted_at", Float, nullable=False),
    Column("submissions", Integer, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("error_code", Integer, nullable=True),
    Column("report_at", Float, nullable=True),
    Index(
        "ix_sandbox_messages_report_at",
        "report_at",
        sqlite_where=text("report_at IS NOT NULL"),
        postgresql_where=text("report_at IS NOT NULL"),
    ),
)
