"""Tables the upstream providers own: ``integrations`` (a connector's settings and its
encrypted secrets) and the sandbox's ``sandbox_messages`` (it plays a remote network, so it
keeps its own rows), besides the three below (issue 7).

``provider_refs`` maps what a provider calls a message (Twilio's ``SM…``, an HTTP API's id,
each SMPP part's ``message_id``) to textwire's message, per integration: receipts arrive
under the provider's name, and crash recovery asks "did the provider already accept this
SID?" without asking the provider. ``inbound_parts`` holds the parts of a multi-part
mobile-originated message until the last one arrives. ``number_webhooks`` is a number's own
inbound URL, used when its service says ``use_inbound_webhook_on_number`` (or it has none).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    text,
)

from textwire.tables import SID, UTCDateTime, metadata

provider_refs = Table(
    "provider_refs",
    metadata,
    Column("integration_sid", SID, nullable=False),
    Column("provider_ref", String(80), nullable=False),
    Column("message_sid", SID, nullable=False),
    Column("part", Integer, nullable=False),
    Column("parts", Integer, nullable=False),
    Column("status", String(16), nullable=True),
    Column("error_code", Integer, nullable=True),
    Column("created_at", Float, nullable=False),
    PrimaryKeyConstraint("integration_sid", "provider_ref"),
    Index("ix_provider_refs_message_sid", "message_sid"),
)

inbound_parts = Table(
    "inbound_parts",
    metadata,
    Column("integration_sid", SID, nullable=False),
    Column("source", String(32), nullable=False),
    Column("reference", Integer, nullable=False),
    Column("total", Integer, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("destination", String(32), nullable=False),
    Column("text", Text, nullable=False),
    Column("received_at", Float, nullable=False),
    PrimaryKeyConstraint("integration_sid", "source", "reference", "seq"),
)

number_webhooks = Table(
    "number_webhooks",
    metadata,
    Column("sender_sid", SID, primary_key=True),
    Column("account_sid", SID, nullable=False),
    Column("inbound_url", Text, nullable=False),
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
