"""Tables the upstream providers own (issue 7).

``provider_refs`` maps what a provider calls a message (Twilio's ``SM…``, an HTTP API's id,
each SMPP part's ``message_id``) to textwire's message, per integration: receipts arrive
under the provider's name, and crash recovery asks "did the provider already accept this
SID?" without asking the provider. ``inbound_parts`` holds the parts of a multi-part
mobile-originated message until the last one arrives. ``number_webhooks`` is a number's own
inbound URL, used when its service says ``use_inbound_webhook_on_number`` (or it has none).
"""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, Integer, PrimaryKeyConstraint, String, Table, Text

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
