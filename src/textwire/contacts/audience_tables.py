"""Audience tables (F-CONTACT-3): static lists, their members, and saved segments.

A list's members are contacts; a contact deleted later drops out of every list at the next
read (the member rows of a gone contact match no ``contacts`` row). ``contact_list_members``
is keyed (list, contact) so adding twice is a no-op, and indexed by contact so "lists of this
contact" and an exclusion by list are index lookups. A segment stores its filter as the
canonical text ``filter_language.format_filter`` gives, parsed again on each use.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, String, Table, Text, UniqueConstraint

from textwire.tables import SID, UTCDateTime, metadata

contact_lists = Table(
    "contact_lists",
    metadata,
    Column("sid", SID, primary_key=True),
    Column("account_sid", SID, nullable=False),
    Column("friendly_name", String(64), nullable=False),
    Column("date_created", UTCDateTime, nullable=False),
    Column("date_updated", UTCDateTime, nullable=False),
    # A filter names a list by its name (in_list "VIP"): a name means one list.
    UniqueConstraint("account_sid", "friendly_name"),
)

contact_list_members = Table(
    "contact_list_members",
    metadata,
    Column("list_sid", SID, primary_key=True),
    Column("contact_sid", SID, primary_key=True),
    Column("date_created", UTCDateTime, nullable=False),
    Index("ix_contact_list_members_contact_sid", "contact_sid"),
    sqlite_with_rowid=False,
)

contact_segments = Table(
    "contact_segments",
    metadata,
    Column("sid", SID, primary_key=True),
    Column("account_sid", SID, nullable=False),
    Column("friendly_name", String(64), nullable=False),
    Column("filter", Text, nullable=False),
    Column("date_created", UTCDateTime, nullable=False),
    Column("date_updated", UTCDateTime, nullable=False),
    Index("ix_contact_segments_account_created", "account_sid", "date_created"),
)
