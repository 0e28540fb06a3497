"""Contact tables (F-CONTACT-1/2), declared on the shared ``metadata``.

The contacts themselves and their identifiers are in :mod:`textwire.consent.tables`; the
columns ``time_zone``, ``time_zone_source`` and ``language`` there belong to this domain.
Field values are kept in ``contacts.attributes`` (JSON scalars keyed by field key); the
declarations that type them are ``contact_fields``.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, Index, Integer, String, Table, Text

from textwire.tables import SID, UTCDateTime, metadata

contact_fields = Table(
    "contact_fields",
    metadata,
    Column("account_sid", SID, primary_key=True),
    Column("key", String(64), primary_key=True),
    Column("type", String(16), nullable=False),  # text | number | date | boolean
    Column("date_created", UTCDateTime, nullable=False),
)

# Per-account contact settings: the default time zone of contacts without a better one.
contact_settings = Table(
    "contact_settings",
    metadata,
    Column("account_sid", SID, primary_key=True),
    Column("time_zone", String(64), nullable=True),
    Column("date_updated", UTCDateTime, nullable=False),
)

contact_imports = Table(
    "contact_imports",
    metadata,
    Column("sid", SID, primary_key=True),
    Column("account_sid", SID, nullable=False),
    Column("status", String(16), nullable=False),  # running | completed | failed
    Column("source", String(16), nullable=False),  # api | cli
    Column("filename", String(256), nullable=True),
    Column("lines", Integer, nullable=False, server_default="0"),
    Column("created", Integer, nullable=False, server_default="0"),
    Column("updated", Integer, nullable=False, server_default="0"),
    Column("invalid", Integer, nullable=False, server_default="0"),
    Column("blank", Integer, nullable=False, server_default="0"),
    Column("bytes_read", Integer, nullable=False, server_default="0"),
    Column("errors", JSON, nullable=True),
    Column("error", Text, nullable=True),
    Column("date_created", UTCDateTime, nullable=False),
    Column("date_updated", UTCDateTime, nullable=False),
    Column("date_completed", UTCDateTime, nullable=True),
    Index("ix_contact_imports_account_created", "account_sid", "date_created"),
)
