"""Campaign templates and the price table (F-CAMP-1, F-CAMP-4), on the shared ``metadata``.

A template's ``body`` is its default text; ``languages`` maps a language tag to the body for
contacts speaking it; ``variants`` is null or a list of 2-5 A/B bodies
``{"name", "weight", "body", "languages"}``. Bodies are stored as written and compiled
(checked) when saved. A price is decimal text, exact on SQLite as on PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, Index, String, Table, Text, UniqueConstraint

from textwire.tables import SID, UTCDateTime, metadata

templates = Table(
    "templates",
    metadata,
    Column("sid", SID, primary_key=True),
    Column("account_sid", SID, nullable=False),
    Column("friendly_name", String(64), nullable=True),
    Column("body", Text, nullable=False),
    Column("languages", JSON, nullable=False),
    Column("variants", JSON, nullable=True),
    Column("date_created", UTCDateTime, nullable=False),
    Column("date_updated", UTCDateTime, nullable=False),
    Index("ix_templates_account_created", "account_sid", "date_created"),
)

prices = Table(
    "prices",
    metadata,
    Column("sid", SID, primary_key=True),
    Column("account_sid", SID, nullable=False),
    Column("country", String(2), nullable=False),  # ISO alpha-2, or "*"
    Column("sender_kind", String(16), nullable=False),  # a sender kind, or "*"
    Column("price", String(24), nullable=False),
    Column("price_unit", String(3), nullable=False),
    Column("date_created", UTCDateTime, nullable=False),
    Column("date_updated", UTCDateTime, nullable=False),
    UniqueConstraint("account_sid", "country", "sender_kind"),
)
