"""The senders domain's tables: messaging services and their senders (numbers, short
codes, alphanumeric IDs), sticky To→From mappings and per-sender dispatch leases.

A sender lease gives one worker process the right to hand over a sender's messages for a
few seconds. Its in-process rate window is then the whole truth about that sender, so an
MPS limit holds across any number of workers; a lease changes hands only after it has
expired for longer than the one-second window, so the new holder cannot overlap the old
holder's last second.
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
    UniqueConstraint,
    text,
)

from textwire.tables import SID, UTCDateTime, metadata

sticky_mappings = Table(
    "sticky_mappings",
    metadata,
    Column("service_sid", SID, primary_key=True),
    Column("to_addr", String(32), primary_key=True),
    Column("to_country", String(2), nullable=False),
    Column("sender_sid", SID, nullable=False),
    Column("date_created", UTCDateTime, nullable=False),
    Index("ix_sticky_mappings_sender", "sender_sid"),
)

sender_leases = Table(
    "sender_leases",
    metadata,
    Column("sender_sid", SID, primary_key=True),
    Column("owner", String(40), nullable=False),
    Column("lease_until", Float, nullable=False),
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
