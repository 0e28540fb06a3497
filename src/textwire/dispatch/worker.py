"""The dispatch worker: the messages table is the queue.

Each tick claims due rows with a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), then:
scheduled/accepted rows get a sender; expired rows fail with 30036; rows over their
sender's rate wait; the rest are marked ``sending`` (committed *before* the hand-over)
and given to their provider. A row found in ``sending`` with an expired lease belonged
to a worker that died mid hand-over: the provider is asked whether it already has it
before anything is re-sent, so an accepted message is never sent twice.

Sandbox rows are handed over inside the claiming transaction. Rows for a remote
integration (a *destination*) leave it as one group per destination, handed over by a task
of its own while the worker goes on claiming (issue 11 §2): a destination that hangs holds
only its own messages. Each destination has at most ``handover_per_destination_concurrency``
messages out (fewer if the integration allows fewer requests in flight); while it is full
its rows are not claimed. A group keeps its rows' leases and its senders' leases renewed
until its results are recorded, so no other claim takes a message still in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, cast

from sqlalchemy.ext.asyncio import AsyncConnection

from textwire import segments
from textwire.config import Settings
from textwire.dispatch.leases import RENEW_WHEN_LEFT, TAKEOVER_GAP, SenderLeases
from textwire.links.shortener import Shortener, store_links
from textwire.loops import LoopRegistry
from textwire.messages import lifecycle, store
from textwire.messages.model import Change, ClaimedMessage
from textwire.messages.receipts import (
    ReceiptDeps,
    apply_receipts,
    fallback_to_long_code,
    record_changes,
)
from textwire.phone import InvalidPhoneNumber, parse_phone
from textwire.providers.base import OutboundMessage, Provider, SendResult, handover_ref
from textwire.providers.registry import ProviderRegistry, Route
from textwire.providers.sandbox import SandboxProvider
from textwire.ratelimit import RateLimiter
from textwire.senders import sticky
from textwire.senders.directory import SenderInfo
from textwire.senders.pool import choose
from textwire.senders.selection import NoEligibleSender

log = logging.getLogger("textwire.worker")
# The name server.py supervises this loop under, which /healthz reports.
LOOP_NAME = "worker"

Item = tuple[ClaimedMessage, SenderInfo]


@dataclass
class _Group:
    """One tick's rows for one remote destination, handed over by a task of its own."""

    destination: str | None
    handover: list[Item] = field(default_factory=list)
    orphans: list[Item] = field(default_factory=list)
    # Rate reservations held for these rows (segments per sender) until their hand-over.
    held: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    lease_until: float = 0.0

    @property
    def size(self) -> int:
        return len(self.handover) + len(self.orphans)

    def sids(self) -> list[str]:
        return [row["sid"] for row, _ in (*self.handover, *self.orphans)]


@dataclass
class _SideRows:
    """Rows a tick writes beside the messages: sticky mappings and MMS-converter links."""

    mappings: dict[tuple[str, str], str]
    new_mappings: list[dict[str, Any]] = field(default_factory=list)
    links: list[dict[str, Any]] = field(default_factory=list)


def worker_id() -> str:
    return f"{socket.gethostname()[:24]}:{os.getpid()}"


class WorkerDeps(ReceiptDeps, Protocol):
    """What the worker needs of the process (the runtime record has it all): settings, the
    providers, the link shortener (per-recipient links at hand-over) and the loop registry
    it reports its health to, besides what receipts need."""

    settings: Settings
    links: Shortener
    loops: LoopRegistry
    providers: ProviderRegistry

    def provider_for(self, integration_sid: str | None) -> Provider: ...


class Worker:
    def __init__(self, rt: WorkerDeps, owner: str | None = None):
        self.rt = rt
        self.owner = owner or worker_id()
        self.limiter = RateLimiter()
        self.leases = SenderLeases(self.owner, rt.db.is_sqlite)
        # When the earliest row held back by a rate limit comes due: the loop wakes then
        # rather than a poll later, so a busy sender loses no time between its windows.
        self._next_due: float | None = None
        self.loops = 0  # turns of ``run``'s loop, for benchmarks and debugging
        self.claims = store.Claims(rt.db, rt.settings.worker_batch_size, self.owner)
        # Hand-overs in flight to remote destinations: messages out per destination, the
        # most each may have out, their SIDs, and the tasks carrying them.
        self._out: dict[str | None, int] = defaultdict(int)
        self._limits: dict[str | None, int] = {}
        self._out_sids: set[str] = set()
        self._groups: set[asyncio.Task[None]] = set()
        # Set when a group ends (its destination has room again) or the worker should stop.
        self._wake = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        self.rt.providers.start()  # SMPP binds stay up for receipts and inbound messages
        stopping = asyncio.ensure_future(stop.wait())
        stopping.add_done_callback(lambda _: self._wake.set())
        try:
            while not stop.is_set():
                self.loops += 1
                self._wake.clear()
                try:
                    done = await self.tick()
                    done += await self.pump_receipts()
                except Exception as exc:
                    log.exception("dispatch tick failed; retrying")
                    self.rt.loops.failing(LOOP_NAME, exc)
                    done = 0
                else:
                    self.rt.loops.recovered(LOOP_NAME)
                if done == 0:
                    pause = self.rt.settings.worker_poll_interval
                    if self._next_due is not None:
                        pause = min(pause, max(0.0, self._next_due - time.time()))
                        self._next_due = None
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), pause)
        except asyncio.CancelledError:
            for task in list(self._groups):
                task.cancel()  # their rows keep 'sending' and a lease: reconciled later
            raise
        finally:
            stopping.cancel()
        # A graceful stop lets the hand-overs in flight end (each within its provider's
        # timeout) and records them, so nothing is left in 'sending'.
        await self.drain()

    async def drain(self) -> None:
        """Wait for every hand-over in flight to end and be recorded."""
        while self._groups:
            await asyncio.gather(*list(self._groups), return_exceptions=True)

    def _busy(self) -> list[str]:
        """Destinations with no room for another message now."""
        return [
            d for d, n in self._out.items() if d is not None and n >= self._limits.get(d, n + 1)
        ]

    def _limit(self, route: Route) -> int:
        limit = self.rt.settings.handover_per_destination_concurrency
        return min(limit, route.concurrency) if route.concurrency else limit

    async def tick(self) -> int:
        """Claim one batch and take every row in it one step forward; returns rows taken.

        One write transaction claims the rows, chooses senders, applies rate limits, marks
        them sending and hands sandbox rows over (recording their outcome). Rows for remote
        destinations leave it with a lease, one group per destination, each handed over and
        recorded by its own task (``_deliver``) while later ticks go on. Rows bound for a
        destination without room stay as they are, for a tick after one of its groups ends.
        """
        now = time.time()
        busy = self._busy()
        if not await self.claims.any_due(now, busy):
            return 0
        groups: dict[str | None, _Group] = {}
        local: list[Item] = []
        local_held: dict[str, int] = defaultdict(int)
        left = 0
        try:
            async with self.rt.db.write() as conn:
                # Not rows of a sender another worker holds (or held until a moment ago).
                rows = await self.claims.claim(conn, now, busy, held_after=now - TAKEOVER_GAP)
                if not rows:
                    return 0
                side = _SideRows(mappings=await self._sticky_for(rows))
                pre: list[Change] = []
                planned: list[Item] = []
                for row in rows:
                    if row["sid"] in self._out_sids:  # out with one of this worker's groups
                        left += 1
                        continue
                    ended = lifecycle.on_claim(row, now)
                    if ended is not None:
                        pre.append(ended)
                        continue
                    sender = await self._sender_for(row, pre, side, now)
                    if sender is not None:
                        planned.append((row, sender))
                held = await self.leases.acquire(conn, {s.sid for _, s in planned}, now)
                routes: dict[str | None, Route] = {}
                waiting: list[Item] = []
                for row, sender in planned:
                    if sender.sid not in held:  # another worker dispatches this sender now
                        pre.append(lifecycle.later(row, now + 0.2))
                        continue
                    dest = sender.integration_sid
                    route = routes.get(dest)
                    if route is None:
                        route = routes[dest] = await self.rt.providers.route(dest)
                        if not route.local:
                            self._limits[dest] = self._limit(route)
                    group = groups.get(dest)
                    if not route.local and (
                        self._out[dest] + (group.size if group else 0) >= self._limits[dest]
                    ):
                        # No room: left due, and left out of claims until a group of this
                        # destination ends (the claim filters on the row's integration).
                        left += 1
                        if row["integration_sid"] != dest:
                            pre.append(Change(row, values={"integration_sid": dest}))
                        continue
                    cost = row["num_segments"]
                    if self.limiter.reserve(sender.sid, sender.mps, cost, now, hold=True) > 0:
                        waiting.append((row, sender))
                        continue
                    begun = lifecycle.sending(row)
                    sending = begun is None
                    if begun is not None:
                        pre.append(begun)
                        row["attempts"] += 1
                    if route.local and not sending:
                        local.append((row, sender))
                        local_held[sender.sid] += cost
                        continue
                    if group is None:
                        group = groups[dest] = _Group(dest)
                    (group.orphans if sending else group.handover).append((row, sender))
                    group.held[sender.sid] += cost
                await sticky.save(
                    conn, self.rt.db.is_sqlite, side.new_mappings, self.rt.clock.now()
                )
                if side.links:
                    await store_links(conn, side.links)
                # Sandbox hand-overs are rows in this same database: made in this transaction,
                # 'sending', the hand-over and its outcome commit together (one write per
                # message for all three, and no crash window between them).
                pre += await self._hand_over(local, local_held, conn)
                pre += self._reschedule(waiting)
                # The rest leave this transaction: a lease keeps other claims off them while
                # they are out, and tells the next worker to reconcile them if this one dies.
                lease_until = now + self.rt.settings.lease_seconds
                lease = {"lease_until": lease_until, "lease_owner": self.owner}
                for group in groups.values():
                    group.lease_until = lease_until
                    pre += [
                        Change(row, values=lease) for row, _ in (*group.handover, *group.orphans)
                    ]
                await record_changes(conn, self.rt, pre)
        except BaseException:
            # Nothing of this tick happened: what it held of the rate windows is free again.
            self.limiter.release(time.time(), local_held)
            for group in groups.values():
                self.limiter.release(time.time(), group.held)
            raise
        for group in groups.values():
            self._launch(group)
        return len(rows) - left

    def _launch(self, group: _Group) -> None:
        self._out[group.destination] += group.size
        self._out_sids.update(group.sids())
        task = asyncio.get_running_loop().create_task(self._deliver(group))
        self._groups.add(task)
        task.add_done_callback(self._groups.discard)

    async def _deliver(self, group: _Group) -> None:
        """Hand one group over and record its results, keeping its leases meanwhile."""
        settings = self.rt.settings
        # Often enough that neither a message lease nor a sender lease (renewed when less
        # than RENEW_WHEN_LEFT is left) runs out while the hand-over is in flight.
        every = min(settings.lease_seconds / 3, RENEW_WHEN_LEFT / 2)
        work = asyncio.ensure_future(self._send_group(group))
        try:
            while True:
                done, _ = await asyncio.wait({work}, timeout=every)
                if done:
                    break
                try:
                    await self._renew(group)
                except Exception:
                    log.exception("could not renew the leases of a hand-over in flight")
            post = work.result()
            async with self.rt.db.write() as conn:
                await record_changes(
                    conn, self.rt, await store.unless_overtaken(conn, self.rt.db, post)
                )
        except Exception:
            # Its rows keep 'sending' and their lease; when it ends they are reconciled.
            log.exception(
                "hand-over failed; its messages are reconciled when their lease ends",
                extra={"integration": group.destination},
            )
        finally:
            work.cancel()
            self.limiter.release(time.time(), group.held)  # what is left: all, on a failure
            self._out[group.destination] -= group.size
            self._out_sids.difference_update(group.sids())
            self._wake.set()

    async def _send_group(self, group: _Group) -> list[Change]:
        post = await self._reconcile(group.orphans, group.handover)
        return post + await self._hand_over(group.handover, group.held)

    async def _renew(self, group: _Group) -> None:
        now = time.time()
        lease = self.rt.settings.lease_seconds
        async with self.rt.db.write() as conn:
            if group.lease_until - now < lease / 2:
                group.lease_until = now + lease
                await self.claims.renew(conn, group.sids(), group.lease_until)
            senders = {s.sid for _, s in (*group.handover, *group.orphans)}
            await self.leases.acquire(conn, senders, now)

    def _reschedule(self, waiting: list[Item]) -> list[Change]:
        """Due times for rows held back by a rate limit, from the window as this tick's
        hand-overs left it, so a window's worth comes due together."""
        now = time.time()
        by_sender: dict[str, list[ClaimedMessage]] = defaultdict(list)
        senders: dict[str, SenderInfo] = {}
        for row, sender in waiting:
            by_sender[sender.sid].append(row)
            senders[sender.sid] = sender
        changes = []
        for sid, rows in by_sender.items():
            costs = [row["num_segments"] for row in rows]
            dues = self.limiter.schedule(sid, senders[sid].mps, costs, now)
            for row, due in zip(rows, dues, strict=True):
                changes.append(lifecycle.later(row, due))
            first = min(dues)
            self._next_due = first if self._next_due is None else min(self._next_due, first)
        return changes

    async def _sticky_for(self, rows: list[ClaimedMessage]) -> dict[tuple[str, str], str]:
        pairs = [
            (r["service_sid"], r["to_addr"])
            for r in rows
            if r["service_sid"] and not r["sender_sid"]
        ]
        if not pairs:
            return {}
        async with self.rt.db.read() as conn:
            return await sticky.lookup(conn, pairs)

    async def _sender_for(
        self, row: ClaimedMessage, pre: list[Change], side: _SideRows, now: float
    ) -> SenderInfo | None:
        """The row's sender, choosing one from its service's pool when it has none yet."""
        snap = await self.rt.directory.account(row["account_sid"])
        if row["sender_sid"]:
            sender = snap.senders_by_sid.get(row["sender_sid"])
            if sender is None:
                pre.append(lifecycle.fail(row, 21606, "The sender was removed before hand-over"))
            return sender
        service = snap.services.get(row["service_sid"] or "")
        if service is None:
            pre.append(
                lifecycle.fail(row, 21701, "The messaging service was deleted before hand-over")
            )
            return None
        try:
            recipient = parse_phone(row["to_addr"])
        except InvalidPhoneNumber:
            pre.append(lifecycle.fail(row, 21211, "The 'To' number is not valid"))
            return None
        pool = await self.rt.pools.pool(service.sid, snap.pools.get(service.sid, []))
        key = (service.sid, row["to_addr"])
        mapped = side.mappings.get(key)
        picked = choose(
            pool,
            service,
            recipient,
            message="mms" if row["media_urls"] else "sms",
            sticky_sid=mapped,
        )
        if isinstance(picked, NoEligibleSender):
            pre.append(lifecycle.fail(row, picked.code, picked.reason))
            return None
        sender = snap.senders_by_sid[picked.sender_sid]
        new_mapping = service.sticky_sender and mapped is None
        pool.record_send(sender.sid, now, new_mapping=new_mapping)
        if new_mapping:
            side.mappings[key] = sender.sid
            side.new_mappings.append(
                {
                    "service_sid": service.sid,
                    "to_addr": row["to_addr"],
                    "to_country": recipient.country,
                    "sender_sid": sender.sid,
                }
            )
        extra = {**(row["extra"] or {}), "selection_rule": picked.rule}
        if picked.warning:
            extra["warnings"] = [*extra.get("warnings", []), picked.warning]
            self.rt.metrics.alpha_warnings.labels(picked.warning, recipient.country).inc()
        values: dict[str, Any] = {
            "sender_sid": sender.sid,
            "from_addr": sender.value,
            "integration_sid": sender.integration_sid,
            "extra": extra,
        }
        if picked.mms_converted:
            values.update(await self._mms_as_sms(row, service.sid, side))
            extra["mms_converted"] = True
        chosen = lifecycle.sender_chosen(row, values)
        cast(dict[str, Any], row).update(values)
        if chosen is not None:
            pre.append(chosen)
            if chosen.status is not None:
                row["status"] = chosen.status
        return sender

    async def _mms_as_sms(
        self, row: ClaimedMessage, service_sid: str, side: _SideRows
    ) -> dict[str, Any]:
        """F-SVC-8: the media goes as short links at the end of the text, segments recounted."""
        urls = list(row["media_urls"] or [])
        text = "\n".join(x for x in [row["body"], *urls] if x)
        links = await self.rt.links.service_links(row["account_sid"], service_sid)
        short = self.rt.links.shorten(
            text=text,
            mode="all",
            links=links,
            account_sid=row["account_sid"],
            service_sid=service_sid,
            to=row["to_addr"],
            now=self.rt.clock.now(),
        )
        side.links.extend({**r, "message_sid": row["sid"]} for r in short.rows)
        info = segments.analyze(short.text)
        return {
            "body": short.text,
            "media_urls": None,
            "num_media": 0,
            "num_segments": info.num_segments,
            "encoding": info.encoding,
        }

    async def _reconcile(self, orphans: list[Item], handover: list[Item]) -> list[Change]:
        """Rows a dead worker left in ``sending``: record what the provider has, resend the rest."""
        post: list[Change] = []
        by_integration: dict[str | None, list[Item]] = defaultdict(list)
        for row, sender in orphans:
            by_integration[sender.integration_sid].append((row, sender))
        for integration, items in by_integration.items():
            provider = self.rt.provider_for(integration)
            known = await provider.lookup([_ref(row) for row, _ in items])
            for row, sender in items:
                if _ref(row) in known:
                    post += await self._accepted(row, known[_ref(row)])
                else:
                    handover.append((row, sender))
        return post

    async def _hand_over(
        self,
        handover: list[Item],
        held: dict[str, int],
        conn: AsyncConnection | None = None,
    ) -> list[Change]:
        """Give each row to its integration's provider, then release the rate reservations
        ``held`` for them; with ``conn``, rows for the sandbox, handed over inside that
        transaction."""
        by_integration: dict[str | None, list[Item]] = defaultdict(list)
        for row, sender in handover:
            by_integration[sender.integration_sid].append((row, sender))
        post: list[Change] = []
        for integration, items in by_integration.items():
            batch = [_outbound(row, sender) for row, sender in items]
            if conn is not None:
                # No catching here: a failure rolls the whole transaction back, and the rows
                # come round again, neither sending nor handed over.
                results = await self.rt.providers.sandbox.accept(conn, batch, route=integration)
            else:
                try:
                    results = await self.rt.provider_for(integration).send_batch(batch)
                except Exception as exc:  # a provider fault is a retry, never a lost message
                    log.exception("provider send failed", extra={"integration": integration})
                    results = [SendResult(m.sid, "retry", error_message=str(exc)) for m in batch]
            # Stamp the rate window with the latest hand-over of the batch: the provider's own
            # time when it reports one, else now (every hand-over happened before now), so
            # the next batch cannot start within a window of any of them.
            stamps = [r.handed_over_at for r in results if r.outcome == "accepted"]
            known = [s for s in stamps if s is not None]
            stamp = max(known) if known and len(known) == len(stamps) else time.time()
            spent: dict[str, int] = defaultdict(int)
            for row, sender in items:
                spent[sender.sid] += row["num_segments"]
            for sid, cost in spent.items():
                spent[sid] = min(cost, held.get(sid, 0))
                held[sid] -= spent[sid]
            self.limiter.release(stamp, spent)
            sent_at = self.rt.clock.now()
            for (row, _), result in zip(items, results, strict=True):
                if result.outcome == "accepted":
                    post += await self._accepted(row, result, sent_at)
                else:
                    post.append(self._not_accepted(row, result))
        return post

    def _not_accepted(self, row: ClaimedMessage, result: SendResult) -> Change:
        assert result.outcome != "accepted"
        settings = self.rt.settings
        return lifecycle.not_accepted(
            row,
            result.outcome,
            result.error_code,
            result.error_message,
            max_attempts=settings.max_send_attempts,
            retry_base=settings.retry_base_seconds,
            now=time.time(),
        )

    async def _accepted(
        self, row: ClaimedMessage, result: SendResult, sent_at: datetime | None = None
    ) -> list[Change]:
        """'sent', the receipt that came with the answer, and the long-code fallback."""
        start = row["send_at"] or row["date_created"]
        self.rt.metrics.dispatch_latency.observe(max(0.0, time.time() - start.timestamp()))
        rc = result.receipt
        changes = lifecycle.accepted(
            row,
            provider_sid=result.provider_sid,
            route=result.route,
            sent_at=sent_at or self.rt.clock.now(),
            receipt=None if rc is None else rc.status,
            receipt_error_code=None if rc is None else rc.error_code,
        )
        if rc is not None and rc.status == "undelivered":
            # The long-code fallback reads the sent attempt's sender and price.
            as_sent = cast(ClaimedMessage, {**row, **changes[0].values})
            retry = await fallback_to_long_code(self.rt, as_sent, rc.error_code)
            if retry is not None:
                changes.append(retry)
        return changes

    async def pump_receipts(self) -> int:
        """Apply the sandbox's due delivery receipts; returns how many."""
        now = time.time()
        async with self.rt.db.read() as conn:
            if not await SandboxProvider.receipts_due(conn, now):
                return 0
        async with self.rt.db.write() as conn:
            receipts = await SandboxProvider.take_due_receipts(conn, now)
            await apply_receipts(conn, self.rt, receipts)
        return len(receipts)


def _outbound(row: ClaimedMessage, sender: SenderInfo) -> OutboundMessage:
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
        attempt=lifecycle.attempt(row),
    )


def _ref(row: ClaimedMessage) -> str:
    return handover_ref(row["sid"], lifecycle.attempt(row))
