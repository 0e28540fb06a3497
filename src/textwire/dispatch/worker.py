"""The dispatch worker: the messages table is the queue.

Each tick claims due rows with a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), then:
scheduled/accepted rows get a sender; expired rows fail with 30036; rows over their
sender's rate wait; the rest are marked ``sending`` (committed *before* the hand-over)
and given to their provider. A row found in ``sending`` with an expired lease belonged
to a worker that died mid hand-over: the provider is asked whether it already has it
before anything is re-sent, so an accepted message is never sent twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections import defaultdict
from typing import Any

from sqlalchemy import or_, select, update

from textwire import tables as t
from textwire.dispatch.ratelimit import RateLimiter
from textwire.messages.status import AWAITING_RECEIPT
from textwire.messages.transitions import Change, record
from textwire.phone import InvalidPhoneNumber, parse_phone
from textwire.providers.base import OutboundMessage, SendResult
from textwire.providers.sandbox import Receipt, SandboxProvider
from textwire.runtime import Runtime
from textwire.senders.directory import SenderInfo
from textwire.senders.pool import choose_sender

log = logging.getLogger("textwire.worker")

PRICE_PER_SEGMENT = 0.0079
MAX_BACKOFF = 300.0


def worker_id() -> str:
    return f"{socket.gethostname()[:24]}:{os.getpid()}"


class Worker:
    def __init__(self, rt: Runtime, owner: str | None = None):
        self.rt = rt
        self.owner = owner or worker_id()
        self.limiter = RateLimiter()

    async def run(self, stop: asyncio.Event) -> None:
        self.rt.providers.start()  # SMPP binds stay up for receipts and inbound messages
        while not stop.is_set():
            try:
                done = await self.tick()
                done += await self.pump_receipts()
            except Exception:
                log.exception("dispatch tick failed; retrying")
                done = 0
            if done == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.rt.settings.worker_poll_interval)

    async def _claim(self) -> list[Any]:
        m = t.messages
        now = time.time()
        due = (
            select(m.c.sid)
            .where(
                m.c.next_attempt_at.is_not(None),
                m.c.next_attempt_at <= now,
                or_(m.c.lease_until.is_(None), m.c.lease_until < now),
            )
            .order_by(m.c.next_attempt_at)
            .limit(self.rt.settings.worker_batch_size)
        )
        if self.rt.db.skip_locked:
            due = due.with_for_update(skip_locked=True)
        stmt = (
            update(m)
            .where(m.c.sid.in_(due.scalar_subquery()))
            .values(lease_until=now + self.rt.settings.lease_seconds, lease_owner=self.owner)
            .returning(m)
        )
        async with self.rt.db.write() as conn:
            return list((await conn.execute(stmt)).mappings().all())

    async def tick(self) -> int:
        """Claim one batch and take every row in it one step forward; returns rows claimed."""
        rows = await self._claim()
        if not rows:
            return 0
        pre: list[Change] = []
        handover: list[tuple[dict[str, Any], SenderInfo]] = []
        orphans: list[tuple[dict[str, Any], SenderInfo]] = []
        now = time.time()
        waits: dict[str, int] = defaultdict(int)
        for raw in rows:
            row = dict(raw)
            if row["status"] == "canceled" or row["status"] not in (
                "accepted",
                "scheduled",
                "queued",
                "sending",
            ):
                pre.append(Change(row, values=_idle()))
                continue
            if self._expired(row, now):
                pre.append(_fail(row, 30036, "Validity period expired before hand-over"))
                continue
            sender = await self._sender_for(row, pre)
            if sender is None:
                continue
            wait = self.limiter.reserve(sender.sid, sender.mps, row["num_segments"], now)
            if wait > 0:
                # Stagger the waiting rows so they do not all come due at the same instant.
                k = waits[sender.sid]
                waits[sender.sid] += 1
                slot = wait + k * self.limiter.interval(sender.mps, row["num_segments"])
                pre.append(Change(row, values={"next_attempt_at": now + slot, "lease_until": None}))
                continue
            if row["status"] == "sending":
                orphans.append((row, sender))
                continue
            pre.append(Change(row, "sending", values={"attempts": row["attempts"] + 1}))
            row["attempts"] += 1
            handover.append((row, sender))
        async with self.rt.db.write() as conn:
            await record(conn, self.rt, pre)
        post = await self._reconcile(orphans, handover)
        post += await self._hand_over(handover)
        async with self.rt.db.write() as conn:
            await record(conn, self.rt, post)
        return len(rows)

    def _expired(self, row: dict[str, Any], now: float) -> bool:
        start = row["send_at"] or row["date_created"]
        validity = row["validity_period"]
        return bool(validity) and now > start.timestamp() + validity

    async def _sender_for(self, row: dict[str, Any], pre: list[Change]) -> SenderInfo | None:
        """The row's sender, choosing one from its service's pool when it has none yet."""
        snap = await self.rt.directory.account(row["account_sid"])
        if row["sender_sid"]:
            sender = snap.senders_by_sid.get(row["sender_sid"])
            if sender is None:
                pre.append(_fail(row, 21606, "The sender was removed before hand-over"))
            return sender
        pool = snap.pools.get(row["service_sid"] or "", [])
        try:
            country = parse_phone(row["to_addr"]).country
        except InvalidPhoneNumber:
            pre.append(_fail(row, 21211, "The 'To' number is not valid"))
            return None
        turn = self.rt.turns.get(row["service_sid"], 0)
        picked = choose_sender(pool, country, turn)
        if picked is None:
            code = 21704 if not pool else 21703
            pre.append(_fail(row, code, f"No sender in the service's pool can reach {country}"))
            return None
        self.rt.turns[row["service_sid"]] = turn + 1
        sender, rule = picked
        values = {
            "sender_sid": sender.sid,
            "from_addr": sender.value,
            "integration_sid": sender.integration_sid,
            "extra": {**(row["extra"] or {}), "selection_rule": rule},
        }
        row.update(values)
        if row["status"] in ("accepted", "scheduled"):
            pre.append(Change(row, "queued", values=values))
            row["status"] = "queued"
        return sender

    async def _reconcile(
        self,
        orphans: list[tuple[dict[str, Any], SenderInfo]],
        handover: list[tuple[dict[str, Any], SenderInfo]],
    ) -> list[Change]:
        """Rows a dead worker left in ``sending``: record what the provider has, resend the rest."""
        post: list[Change] = []
        by_integration: dict[str | None, list[tuple[dict[str, Any], SenderInfo]]] = defaultdict(
            list
        )
        for row, sender in orphans:
            by_integration[sender.integration_sid].append((row, sender))
        for integration, items in by_integration.items():
            provider = self.rt.provider_for(integration)
            known = await provider.lookup([row["sid"] for row, _ in items])
            for row, sender in items:
                if row["sid"] in known:
                    post.append(self._accepted(row, known[row["sid"]]))
                else:
                    handover.append((row, sender))
        return post

    async def _hand_over(self, handover: list[tuple[dict[str, Any], SenderInfo]]) -> list[Change]:
        by_integration: dict[str | None, list[tuple[dict[str, Any], SenderInfo]]] = defaultdict(
            list
        )
        for row, sender in handover:
            by_integration[sender.integration_sid].append((row, sender))
        post: list[Change] = []
        for integration, items in by_integration.items():
            provider = self.rt.provider_for(integration)
            batch = [_outbound(row, sender) for row, sender in items]
            # The rate window must count hand-over times, not claim times.
            self.limiter.restamp(time.time(), {sender.sid for _, sender in items})
            try:
                results = await provider.send_batch(batch)
            except Exception as exc:  # a provider fault is a retry, never a lost message
                log.exception("provider send failed", extra={"integration": integration})
                results = [SendResult(m.sid, "retry", error_message=str(exc)) for m in batch]
            for (row, _), result in zip(items, results, strict=True):
                post.append(self._result(row, result))
        return post

    def _result(self, row: dict[str, Any], result: SendResult) -> Change:
        if result.outcome == "accepted":
            return self._accepted(row, result)
        if result.outcome == "failed":
            return _fail(row, result.error_code or 30008, result.error_message)
        if row["attempts"] >= self.rt.settings.max_send_attempts:
            return _fail(row, 30008, f"Gave up after {row['attempts']} attempts")
        backoff = min(MAX_BACKOFF, self.rt.settings.retry_base_seconds * 2 ** (row["attempts"] - 1))
        return Change(
            row,
            "queued",
            values={"next_attempt_at": time.time() + backoff, "lease_until": None},
            callback=False,
        )

    def _accepted(self, row: dict[str, Any], result: SendResult) -> Change:
        start = row["send_at"] or row["date_created"]
        self.rt.metrics.dispatch_latency.observe(max(0.0, time.time() - start.timestamp()))
        return Change(
            row,
            "sent",
            values={
                **_idle(),
                "provider_sid": result.provider_sid,
                "date_sent": self.rt.clock.now(),
                "price": f"{-PRICE_PER_SEGMENT * row['num_segments']:.5f}",
                # The integration that carried it: a backup while the primary was down.
                "integration_sid": result.route or row["integration_sid"],
            },
        )

    async def pump_receipts(self) -> int:
        """Apply the sandbox's due delivery receipts; returns how many."""
        async with self.rt.db.write() as conn:
            receipts = await SandboxProvider.take_due_receipts(conn, time.time())
            await apply_receipts(conn, self.rt, receipts)
        return len(receipts)


async def apply_receipts(conn: Any, rt: Runtime, receipts: list[Receipt]) -> None:
    """Move messages awaiting a receipt to delivered/undelivered; ignore late or repeated ones."""
    if not receipts:
        return
    m = t.messages
    current = {
        r["sid"]: dict(r)
        for r in (
            await conn.execute(select(m).where(m.c.sid.in_([x.message_sid for x in receipts])))
        ).mappings()
    }
    changes: list[Change] = []
    for rc in receipts:
        row = current.get(rc.message_sid)
        if row is None or row["status"] not in AWAITING_RECEIPT:
            continue
        changes.append(Change(row, rc.status, error_code=rc.error_code, values=_idle()))
    await record(conn, rt, changes)


def _idle() -> dict[str, Any]:
    return {"next_attempt_at": None, "lease_until": None, "lease_owner": None}


def _fail(row: dict[str, Any], code: int, message: str | None) -> Change:
    return Change(row, "failed", error_code=code, error_message=message, values=_idle())


def _outbound(row: dict[str, Any], sender: SenderInfo) -> OutboundMessage:
    return OutboundMessage(
        sid=row["sid"],
        account_sid=row["account_sid"],
        from_addr=sender.value,
        to_addr=row["to_addr"],
        body=row["body"],
        num_segments=row["num_segments"],
        encoding=row["encoding"],
        media_urls=tuple(row["media_urls"] or ()),
        sender_sid=sender.sid,
        integration_sid=sender.integration_sid,
    )
