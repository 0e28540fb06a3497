"""Outgoing webhooks: stored as rows, delivered with retries, signed.

A webhook is written in the same transaction as the change it reports, so a status
change and its callback are never one without the other. The deliverer claims due rows
with a lease, POSTs them, and retries timeouts, connection errors, 429 and 5xx with
exponential backoff; any other 4xx is final.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import bindparam, or_, select, update

from textwire import tables as t
from textwire.dispatch.forms import form_encode
from textwire.dispatch.signing import textwire_signature, twilio_signature
from textwire.egress import outgoing_client
from textwire.messages.serialize import API_VERSION
from textwire.runtime import Runtime

log = logging.getLogger("textwire.webhooks")

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
MAX_BACKOFF = 600.0


def status_callback_params(
    row: Mapping[str, Any], status: str, error_code: int | None, now: datetime
) -> dict[str, str]:
    """Twilio's status callback fields for ``row`` entering ``status``."""
    params = {
        "MessageSid": row["sid"],
        "SmsSid": row["sid"],
        "AccountSid": row["account_sid"],
        "From": row.get("from_addr") or "",
        "To": row["to_addr"],
        "MessageStatus": status,
        "SmsStatus": status,
        "ApiVersion": API_VERSION,
    }
    if row.get("service_sid"):
        params["MessagingServiceSid"] = row["service_sid"]
    if status in ("failed", "undelivered") and error_code is not None:
        params["ErrorCode"] = str(error_code)
    if status in ("delivered", "undelivered"):
        params["RawDlrDoneDate"] = now.strftime("%y%m%d%H%M")
    return params


def form_webhook_row(
    *,
    account_sid: str,
    message_sid: str | None,
    kind: str,
    url: str,
    params: dict[str, str],
    token: str,
    now: datetime,
) -> dict[str, Any]:
    """A signed, form-encoded webhook ready to insert."""
    return {
        "account_sid": account_sid,
        "message_sid": message_sid,
        "kind": kind,
        "url": url,
        "method": "POST",
        "content_type": FORM,
        "body": form_encode(params),
        "headers": {"X-Twilio-Signature": twilio_signature(token, url, params)},
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": time.time(),
        "lease_until": None,
        "last_status_code": None,
        "last_error": None,
        "date_created": now,
        "date_updated": now,
    }


def json_webhook_row(
    *,
    account_sid: str,
    message_sid: str | None,
    kind: str,
    url: str,
    payload: Mapping[str, Any],
    secret: str,
    now: datetime,
) -> dict[str, Any]:
    """A JSON webhook signed with ``X-Textwire-Signature`` (HMAC-SHA256), ready to insert."""
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    signature = textwire_signature(secret, int(now.timestamp()), body.encode())
    return {
        "account_sid": account_sid,
        "message_sid": message_sid,
        "kind": kind,
        "url": url,
        "method": "POST",
        "content_type": JSON,
        "body": body,
        "headers": {"X-Textwire-Signature": signature},
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": time.time(),
        "lease_until": None,
        "last_status_code": None,
        "last_error": None,
        "date_created": now,
        "date_updated": now,
    }


def _retryable(status_code: int | None) -> bool:
    return status_code is None or status_code == 429 or status_code >= 500


class WebhookDeliverer:
    """Claims due webhooks and delivers them; many run side by side on PostgreSQL."""

    def __init__(self, rt: Runtime, owner: str):
        self.rt = rt
        self.owner = owner
        self._client: httpx.AsyncClient | None = None

    async def run(self, stop: asyncio.Event) -> None:
        self._client = outgoing_client(self.rt.settings, timeout=self.rt.settings.webhook_timeout)
        try:
            while not stop.is_set():
                done = await self.tick()
                if done == 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), self.rt.settings.worker_poll_interval)
        finally:
            await self._client.aclose()

    async def _claim(self, limit: int) -> list[Any]:
        w = t.webhooks
        now = time.time()
        due = (
            select(w.c.id)
            .where(
                w.c.next_attempt_at.is_not(None),
                w.c.next_attempt_at <= now,
                or_(w.c.lease_until.is_(None), w.c.lease_until < now),
            )
            .order_by(w.c.next_attempt_at)
            .limit(limit)
        )
        async with self.rt.db.read() as conn:
            idle = (
                await conn.scalar(
                    select(w.c.id)
                    .where(
                        w.c.next_attempt_at.is_not(None),
                        w.c.next_attempt_at <= now,
                        or_(w.c.lease_until.is_(None), w.c.lease_until < now),
                    )
                    .limit(1)
                )
                is None
            )
        if idle:  # no write transaction (no SQLite write lock) when there is nothing to do
            return []
        if self.rt.db.skip_locked:
            due = due.with_for_update(skip_locked=True)
        stmt = (
            update(w)
            .where(w.c.id.in_(due.scalar_subquery()))
            .values(lease_until=now + self.rt.settings.lease_seconds)
            .returning(w)
        )
        async with self.rt.db.write() as conn:
            return list((await conn.execute(stmt)).all())

    async def tick(self) -> int:
        rows = await self._claim(self.rt.settings.webhook_concurrency * 4)
        if not rows:
            return 0
        sem = asyncio.Semaphore(self.rt.settings.webhook_concurrency)
        # One message's callbacks go out one after another, in the order they were written;
        # different messages' go out side by side. (A retried callback can still arrive after
        # a later one, as with Twilio.)
        chains: dict[object, list[Any]] = {}
        for row in sorted(rows, key=lambda r: r.id):
            chains.setdefault(row.message_sid or ("id", row.id), []).append(row)

        async def deliver(chain: list[Any]) -> list[dict[str, Any]]:
            async with sem:
                return [await self._deliver(row) for row in chain]

        delivered = await asyncio.gather(*map(deliver, chains.values()))
        results = [r for chain in delivered for r in chain]
        w = t.webhooks
        stmt = (
            update(w)
            .where(w.c.id == bindparam("_id"))
            .values(
                status=bindparam("status"),
                attempts=bindparam("attempts"),
                next_attempt_at=bindparam("next_attempt_at"),
                lease_until=None,
                last_status_code=bindparam("last_status_code"),
                last_error=bindparam("last_error"),
                date_updated=bindparam("date_updated"),
            )
        )
        async with self.rt.db.write() as conn:
            await conn.execute(stmt, results)
        return len(rows)

    async def _deliver(self, row: Any) -> dict[str, Any]:
        assert self._client is not None
        code: int | None = None
        error: str | None = None
        try:
            response = await self._client.request(
                row.method,
                row.url,
                content=row.body.encode(),
                headers={"Content-Type": row.content_type, **row.headers},
            )
            code = response.status_code
            if not 200 <= code < 300:
                error = f"HTTP {code}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        attempts = row.attempts + 1
        result: dict[str, Any] = {
            "_id": row.id,
            "attempts": attempts,
            "last_status_code": code,
            "last_error": error,
            "date_updated": self.rt.clock.now(),
        }
        if error is None:
            self.rt.metrics.callbacks_sent.labels(row.kind).inc()
            return {**result, "status": "delivered", "next_attempt_at": None}
        final = not _retryable(code) or attempts >= self.rt.settings.webhook_max_attempts
        self.rt.metrics.callback_failures.labels(row.kind, str(final).lower()).inc()
        log.warning(
            "webhook delivery failed",
            extra={"webhook_id": row.id, "url": row.url, "error": error, "final": final},
        )
        if final:
            return {**result, "status": "failed", "next_attempt_at": None}
        backoff = min(MAX_BACKOFF, self.rt.settings.retry_base_seconds * 2 ** (attempts - 1))
        return {**result, "status": "pending", "next_attempt_at": time.time() + backoff}
