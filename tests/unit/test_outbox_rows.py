"""Webhook rows are built once (issue 12 §2; F-API-4 callbacks, click webhooks): form and
JSON rows share one pending row, whose keys are the webhooks table's columns, and each is
signed over exactly what it carries."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from urllib.parse import parse_qsl

from twilio.request_validator import RequestValidator

from textwire.outbox import tables as ot
from textwire.outbox.rows import FORM, JSON, WebhookRow, form_webhook_row, json_webhook_row

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
URL = "https://hooks.example.test/status?x=1"
COLUMNS = {c.name for c in ot.webhooks.columns} - {"id"}


def _form() -> WebhookRow:
    return form_webhook_row(
        account_sid="AC1",
        message_sid="SM1",
        kind="status",
        url=URL,
        params={"MessageSid": "SM1", "MessageStatus": "sent", "Blank": "", "To": "+14155550100"},
        token="tok",
        now=NOW,
    )


def _json() -> WebhookRow:
    return json_webhook_row(
        account_sid="AC1",
        message_sid="SM1",
        kind="click",
        url=URL,
        payload={"event_type": "click", "link": "https://example.com/é"},
        secret="sec",
        now=NOW,
    )


def test_the_row_type_is_the_tables_columns() -> None:
    assert set(WebhookRow.__annotations__) == COLUMNS


def test_form_and_json_rows_start_the_same() -> None:
    form, js = _form(), _json()
    assert set(form) == set(js) == COLUMNS
    differ = {"kind", "content_type", "body", "headers", "next_attempt_at"}
    assert {k: v for k, v in form.items() if k not in differ} == {
        k: v for k, v in js.items() if k not in differ
    }
    assert form["status"] == "pending" and form["attempts"] == 0 and form["method"] == "POST"
    assert form["date_created"] == form["date_updated"] == NOW
    assert (form["content_type"], js["content_type"]) == (FORM, JSON)


def test_a_form_row_carries_and_signs_no_blank_parameter() -> None:
    row = _form()
    sent = dict(parse_qsl(row["body"], keep_blank_values=True))
    assert sent == {"MessageSid": "SM1", "MessageStatus": "sent", "To": "+14155550100"}
    validator = RequestValidator("tok")
    assert validator.validate(URL, sent, row["headers"]["X-Twilio-Signature"])


def test_a_json_row_is_signed_over_timestamp_and_body() -> None:
    row = _json()
    stamp = int(NOW.timestamp())
    mac = hmac.new(b"sec", f"{stamp}.{row['body']}".encode(), hashlib.sha256).hexdigest()
    assert row["headers"] == {"X-Textwire-Signature": f"t={stamp},v1={mac}"}
    assert json.loads(row["body"])["link"] == "https://example.com/é"
