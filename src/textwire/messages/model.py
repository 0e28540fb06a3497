"""A message row as a typed record, and ``Change``: what the lifecycle asks the store to write.

``Message`` is a TypedDict, not a dataclass: the dispatch worker reads tens of thousands of
rows a second and updates them in place as a tick decides (sender, status, attempts), so a
record that costs nothing at run time and stays a plain dict is what fits its hot path.
``ClaimedMessage`` is the part of a row the worker claims (``messages.store.CLAIMED_COLUMNS``);
``Message`` is every column of ``messages``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypedDict

from textwire.messages.status import Status


class ClaimedMessage(TypedDict):
    """The columns of a message the dispatch worker claims and the lifecycle rules read."""

    sid: str
    account_sid: str
    service_sid: str | None
    sender_sid: str | None
    integration_sid: str | None
    from_addr: str | None
    to_addr: str
    body: str
    num_segments: int
    encoding: str
    media_urls: list[str] | None
    status: Status
    status_callback: str | None
    validity_period: int | None
    attempts: int
    price: str | None
    extra: dict[str, Any] | None
    send_at: datetime | None
    date_created: datetime


class Message(ClaimedMessage):
    """A row of ``messages``: every column."""

    direction: str
    num_media: int
    error_code: int | None
    error_message: str | None
    smart_encoded: bool
    price_unit: str
    provider_sid: str | None
    next_attempt_at: float | None
    lease_until: float | None
    lease_owner: str | None
    date_updated: datetime
    date_sent: datetime | None


@dataclass
class Change:
    """A change to one message. ``status`` None changes columns only (no event, no callback)."""

    row: Mapping[str, Any]
    status: Status | None = None
    error_code: int | None = None
    error_message: str | None = None
    values: dict[str, Any] = field(default_factory=dict)
    callback: bool = True
