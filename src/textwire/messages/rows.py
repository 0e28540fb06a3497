"""A new message's row and its first event, built in one place for every way a message
is born (the send pipeline's outbound message, ingest's inbound one).

Pure: the store writes these rows; nothing here touches the database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any


def message_row(
    *,
    sid: str,
    account_sid: str,
    direction: str,
    to_addr: str,
    body: str,
    num_segments: int,
    encoding: str,
    status: str,
    now: datetime,
    service_sid: str | None = None,
    sender_sid: str | None = None,
    integration_sid: str | None = None,
    from_addr: str | None = None,
    media_urls: Sequence[str] = (),
    error_code: int | None = None,
    error_message: str | None = None,
    status_callback: str | None = None,
    validity_period: int | None = None,
    smart_encoded: bool = False,
    provider_sid: str | None = None,
    next_attempt_at: float | None = None,
    extra: Mapping[str, Any] | None = None,
    send_at: datetime | None = None,
    date_sent: datetime | None = None,
) -> dict[str, Any]:
    """Every column of a new ``messages`` row, in the table's order (the store's bulk
    insert compiles once per key order, so every row must share it)."""
    return {
        "sid": sid,
        "account_sid": account_sid,
        "service_sid": service_sid,
        "sender_sid": sender_sid,
        "integration_sid": integration_sid,
        "direction": direction,
        "from_addr": from_addr,
        "to_addr": to_addr,
        "body": body,
        "num_segments": num_segments,
        "encoding": encoding,
        "num_media": len(media_urls),
        "media_urls": list(media_urls) or None,
        "status": status,
        "error_code": error_code,
        "error_message": error_message,
        "status_callback": status_callback,
        "validity_period": validity_period,
        "smart_encoded": smart_encoded,
        "price": None,
        "price_unit": "USD",
        "provider_sid": provider_sid,
        "attempts": 0,
        "next_attempt_at": next_attempt_at,
        "lease_until": None,
        "lease_owner": None,
        "extra": dict(extra) if extra else None,
        "send_at": send_at,
        "date_created": now,
        "date_updated": now,
        "date_sent": date_sent,
    }


def first_event(row: Mapping[str, Any]) -> dict[str, Any]:
    """The ``message_events`` row of a new message's first status."""
    return {
        "message_sid": row["sid"],
        "status": row["status"],
        "error_code": row["error_code"],
        "at": row["date_created"],
    }
