"""Link shortening tables (SPEC F-LINK), declared on the shared ``metadata``.

``links`` holds one row per (message, URL); its primary key is the slug, so a slug is
never reused, not even after its link expires (rows are kept, retention only stops the
redirect). ``link_clicks`` is append-only and written in batches by the redirect server; a click
refers to its link by slug (the only index) and has only what the click itself adds.
Domain config lives on the domain row; a service's link settings and its domain sit in
their own tables so the core ``services`` table stays as issue 3 built it.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    text,
)

from textwire.tables import SID, UTCDateTime, metadata

link_domains = Table(
    "link_domains",
    metadata,
    Column("sid", SID, primary_key=True),
    Column("account_sid", SID, ForeignKey("accounts.sid"), nullable=False, index=True),
    Column("domain_name", String(253), nullable=False, unique=True),
    Column("verified", Boolean, nullable=False, server_default=text("false")),
    Column("config_sid", SID, nullable=False),
    Column("fallback_url", Text, nullable=True),
    Column("callback_url", Text, nullable=True),
    Column("continue_on_failure", Boolean, nullable=False, server_default=text("true")),
    Column("disable_https", Boolean, nullable=False, server_default=text("false")),
    Column("date_created", UTCDateTime, nullable=False),
    Column("date_updated", UTCDateTime, nullable=False),
)

link_domain_services = Table(
    "link_domain_services",
    metadata,
    # A service shortens on one domain; a domain serves many services.
    Column("service_sid", SID, ForeignKey("services.sid", ondelete="CASCADE"), primary_key=True),
    Column(
        "domain_sid",
        SID,
        ForeignKey("link_domains.sid", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("account_sid", SID, nullable=False),
    Column("date_created", UTCDateTime, nullable=False),
)

link_certificates = Table(
    "link_certificates",
    metadata,
    Column("domain_sid", SID, ForeignKey("link_domains.sid", ondelete="CASCADE"), primary_key=True),
    Column("certificate_sid", SID, nullable=False),
    Column("cert_pem", Text, nullable=False),
    Column("key_enc", Text, nullable=False),
    Column("subject_names", Text, nullable=False),
    Column("date_expires", UTCDateTime, nullable=False),
    Column("date_created", UTCDateTime, nullable=False),
    Column("date_updated", UTCDateTime, nullable=False),
)

link_service_settings = Table(
    "link_service_settings",
    metadata,
    Column("service_sid", SID, ForeignKey("services.sid", ondelete="CASCADE"), primary_key=True),
    Column("account_sid", SID, nullable=False, index=True),
    Column("link_mode", String(8), nullable=False, server_default="off"),
    Column("link_prefix", String(63), nullable=True),
    Column("drop_scheme", Boolean, nullable=False, server_default=text("false")),
    Column("date_updated", UTCDateTime, nullable=False),
)

links = Table(
    "links",
    metadata,
    Column("slug", String(32), primary_key=True),
    Column("account_sid", SID, nullable=False),
    Column("message_sid", SID, nullable=False, index=True),
    Column("service_sid", SID, nullable=True, index=True),
    Column("campaign_sid", SID, nullable=True),
    Column("domain_sid", SID, nullable=True),
    Column("to_addr", String(32), nullable=False),
    Column("url", Text, nullable=False),
    Column("short_url", Text, nullable=False),
    Column("date_created", UTCDateTime, nullable=False),
    Column("date_expires", UTCDateTime, nullable=False),
    Index("ix_links_account_to", "account_sid", "to_addr"),
)

link_clicks = Table(
    "link_clicks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # A click's account, message, recipient, service and campaign are its link's: analytics
    # find the links in scope through the indexes of ``links`` and join their clicks by
    # slug, the one secondary index here. Every index and every byte of this table is paid
    # on each click the redirect server writes (the click writer was the redirect role's
    # ceiling with four indexes and the link's columns copied into each row).
    Column("slug", String(32), nullable=False, index=True),
    Column("clicked_at", UTCDateTime, nullable=False),
    Column("method", String(4), nullable=False),
    Column("ip", String(45), nullable=True),
    Column("user_agent", Text, nullable=True),
    Column("browser", String(64), nullable=False),
    Column("os", String(64), nullable=False),
    Column("device_type", String(8), nullable=False),
    Column("is_bot", Boolean, nullable=False),
    Column("bot", String(64), nullable=True),
)
