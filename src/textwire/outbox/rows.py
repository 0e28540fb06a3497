"""Outgoing webhook rows, signed and ready to insert.

A webhook is written in the same transaction as the change it reports (a status change, an
inbound message, a click), so the change and its callback are never one without the other;
the deliverer (``outbox.deliverer``) sends the row later. Every row starts the same way,
pending and due now; only its body and signature differ: a Twilio-style signed form, or
JSON signed with ``X-Textwire-Signature``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final, Literal, TypedDict

from textwire.outbox.forms import form_encode
from textwire.outbox.signing import textwire_signature, twilio_signature

FORM: Final = "application/x-www-form-urlencoded"
JSON: Final = "application/json"

WebhookKind = Literal["status", "inbound", "click"]


class WebhookRow(TypedDict):
    """A new ``webhooks`` row: every column but the id."""

    account_sid: str
    message_sid: str | None
    kind: WebhookKind
    url: str
    method: str
    content_type: str
    body: str
    headers: dict[str, str]
    status: str
    attempts: int
    next_attempt_at: float
    lease_until: float | None
    last_status_code: int | None
    last_error: str | None
    date_created: datetime
    date_updated: datetime


def _pending(
    account_sid: str,
    message_sid: str | None,
    kind: WebhookKind,
    url: str,
    content_type: str,
    body: str,
    headers: dict[str, str],
    now: datetime,
) -> WebhookRow:
    """The row every webhook starts as: a POST, pending, due now, never tried."""
    return {
        "account_sid": account_sid,
        "message_sid": message_sid,
        "kind": kind,
        "url": url,
        "method": "POST",
        "content_type": content_type,
        "body": body,
        "headers": headers,
        "status": "pending",
        "attempts": 0,
        # The wall clock, not ``now``: the deliverer compares it with time.time(), and
        # ``now`` may come from a test's clock.
        "next_attempt_at": time.time(),
        "lease_until": None,
        "last_status_code": None,
        "last_error": None,
        "date_created": now,
        "date_updated": now,
    }


def form_webhook_row(
    *,
    account_sid: str,
    message_sid: str | None,
    kind: WebhookKind,
    url: str,
    params: dict[str, str],
    token: str,
    now: datetime,
) -> WebhookRow:
    """A signed, form-encoded webhook ready to insert.

    The signature is computed over exactly the parameters the body carries, and a parameter
    with an empty value is carried by neither: form parsers disagree on blank values
    (``parse_qsl`` drops them unless told otherwise; Flask and Django keep them), and a
    receiver's ``RequestValidator`` signs what its parser gave it. Without blanks, every
    parser sees the same parameters and every callback validates.
    """
    sent = {name: value for name, value in params.items() if value != ""}
    signature = twilio_signature(token, url, sent)
    return _pending(
        account_sid,
        message_sid,
        kind,
        url,
        FORM,
        form_encode(sent),
        {"X-Twilio-Signature": signature},
        now,
    )


def json_webhook_row(
    *,
    account_sid: str,
    message_sid: str | None,
    kind: WebhookKind,
    url: str,
    payload: Mapping[str, Any],
    secret: str,
    now: datetime,
) -> WebhookRow:
    """A JSON webhook signed with ``X-Textwire-Signature`` (HMAC-SHA256), ready to insert."""
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    signature = textwire_signature(secret, int(now.timestamp()), body.encode())
    return _pending(
        account_sid, message_sid, kind, url, JSON, body, {"X-Textwire-Signature": signature}, now
    )
