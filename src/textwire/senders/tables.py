"""Sender-selection state: sticky To→From mappings and per-sender dispatch leases.

A sender lease gives one worker process the right to hand over a sender's messages for a
few seconds. Its in-process rate window is then the whole truth about that sender, so an
MPS limit holds across any number of workers; a lease changes hands only after it has
expired for longer than the one-second window, so the new holder cannot overlap the old
holder's last second.
"""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, String, Table

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
