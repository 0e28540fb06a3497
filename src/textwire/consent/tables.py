"""Consent tables (F-CONSENT), declared on the shared ``metadata``.

SMS consent is keyed by phone number (the channel's address), not by contact: a STOP arrives
from a number, a subscriber CSV lists numbers, and the send pipeline checks a number. Contacts
and their identifiers are the identity graph that lets an email or a custom id reach those
numbers.

``scope`` is ``""`` for the whole account or a messaging service SID (``MG…``).

A subscriber sync writes its numbers under its own ``run_sid`` in ``subscribers``; the run
becomes the scope's active set in one short transaction (status ``applied``), so readers see
the old set or the new one. A sync streams the file into a TEMP staging table first (see
``textwire.consent.sync``), so a killed sync leaves nothing behind but an unapplied run.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from textwire.tables import SID, UTCDateTime, metadata

PHONE = String(16)
SCOPE = String(34)

contacts = Table(
    "contacts",
    metadata,
    Column("sid", SID, primary_key=True),
    Column("account_sid", SID, nullable=False),
    Column("friendly_name", String(64), nullable=True),
    Column("attributes", JSON, nullable=True),
    # Owned by textwire.contacts (F-CONTACT-1): the zone, where it came from
    # (explicit | number | account), and a BCP 47 language tag.
    Column("time_zone", String(64), nullable=True),
    Column("time_zone_source", String(16), nullable=True),
    Column("language", String(35), nullable=True),
    Column("date_created", UTCDateTime, nullable=False),
    Column("date_updated", UTCDateTime, nullable=False),
    Index("ix_contacts_account_created", "account_sid", "date_created"),
)

# Identifier types: email (SHA-256 hex), phoneNumber (E.164), custom; one contact each.
contact_identifiers = Table(
    "contact_identifiers",
    metadata,
    Column("account_sid", SID, primary_key=True),
    Column("type", String(16), primary_key=True),
    Column("value", String(256), primary_key=True),
    Column("contact_sid", SID, nullable=False, index=True),
    Column("date_created", UTCDateTime, nullable=False),
)

# The latest consent event per (account, number, scope): api, keyword, identify, sync removal.
consent_states = Table(
    "consent_states",
    metadata,
    Column("account_sid", SID, primary_key=True),
    Column("phone", PHONE, primary_key=True),
    Column("scope", SCOPE, primary_key=True),
    Column("status", String(16), nullable=False),
    Column("source", String(16), nullable=False),
    Column("at", UTCDateTime, nullable=False),
)

consent_history = Table(
    "consent_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_sid", SID, nullable=False),
    Column("phone", PHONE, nullable=False),
    Column("scope", SCOPE, nullable=False),
    Column("status", String(16), nullable=False),
    Column("source", String(16), nullable=False),
    Column("detail", Text, nullable=True),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_consent_history_account_phone", "account_sid", "phone"),
)

# Per (account, scope) settings: keyword config (services) and whether unknown contacts are
# refused (None: refused once the scope has an applied subscriber sync).
consent_settings = Table(
    "consent_settings",
    metadata,
    Column("account_sid", SID, primary_key=True),
    Column("scope", SCOPE, primary_key=True),
    Column("require_opt_in", Boolean, nullable=True),
    Column("keywords", JSON, nullable=True),
    Column("date_updated", UTCDateTime, nullable=False),
)

sync_runs = Table(
    "sync_runs",
    metadata,
    Column("sid", SID, primary_key=True),
    Column("account_sid", SID, nullable=False),
    Column("scope", SCOPE, nullable=False),
    # running | applied | superseded | failed | interrupted
    Column("status", String(16), nullable=False),
    Column("source", String(16), nullable=False),
    Column("filename", String(256), nullable=True),
    Column("total", Integer, nullable=False, server_default="0"),
    Column("added", Integer, nullable=False, server_default="0"),
    Column("removed", Integer, nullable=False, server_default="0"),
    Column("unchanged", Integer, nullable=False, server_default="0"),
    Column("invalid", Integer, nullable=False, server_default="0"),
    Column("duplicates", Integer, nullable=False, server_default="0"),
    Column("blank", Integer, nullable=False, server_default="0"),
    Column("lines", Integer, nullable=False, server_default="0"),
    Column("bytes_read", Integer, nullable=False, server_default="0"),
    Column("errors", JSON, nullable=True),
    Column("error", Text, nullable=True),
    Column("date_created", UTCDateTime, nullable=False),
    Column("date_updated", UTCDateTime, nullable=False),
    Column("applied_at", UTCDateTime, nullable=True),
    Index("ix_sync_runs_account_scope_status", "account_sid", "scope", "status"),
)

subscribers = Table(
    "subscribers",
    metadata,
    Column("run_sid", SID, primary_key=True),
    Column("phone", PHONE, primary_key=True),
    sqlite_with_rowid=False,
)

# Sends the consent check refused (the message itself is never created).
consent_refusals = Table(
    "consent_refusals",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_sid", SID, nullable=False),
    Column("service_sid", SID, nullable=True),
    Column("to_addr", String(32), nullable=False),
    Column("reason", String(16), nullable=False),
    Column("transactional", Boolean, nullable=False),
    Column("date_created", UTCDateTime, nullable=False),
    Index("ix_consent_refusals_account_created", "account_sid", "date_created"),
)
