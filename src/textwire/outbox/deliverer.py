"""The webhook deliverer: sends the rows ``outbox.rows`` wrote, with retries.

It claims due rows with a lease, POSTs them, and retries timeouts, connection errors, 429
and 5xx with exponential backoff; any other 4xx is final, and so is any other error (a URL
httpx cannot use, a destination refused): such a row fails with its reason and holds up
nothing else.

Deliveries run side by side with two bounds: ``webhook_concurrency`` in the process and
``webhook_per_host_concurrency`` per destination (scheme, host and port), so a receiver
that hangs ties up only its own slots and its own rows. Each outcome is written as soon as
its request ends (outcomes that end together share a transaction), so a crash repeats at
most the requests that were in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import bindparam, or_, select, update

from textwire.backoff import backoff
from textwire.clock import Clock
from textwire.config import Settings
from textwire.db import Database
from textwire.egress import outgoing_client
from textwire.metrics import Metrics
from textwire.outbox import tables as ot

log = logging.getLogger("textwire.webhooks")

MAX_BACKOFF = 600.0
MAX_ERROR = 500
# Errors after which the same request may go through another time: the network, the
# peer's connection, a timeout. Any other error (a URL httpx cannot build a request for,
# an unsupported scheme, a header h11 refuses, a destination the egress guard refuses, a
# bug) would fail the same way again, so it is final.
RETRYABLE_ERRORS: tuple[type[Exception], ...] = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
    httpx.ProxyError,
)
SLOT_WAIT = 1.0
"""Longest a claimed row waits for a free slot at its destination; then it is given back
(with the rest of its message's rows) for ``GIVE_BACK`` seconds, so a destination that
does not keep up holds no more of the process's claimed rows than it can use."""
GIVE_BACK = 1.0
LEASE_RENEWALS = 3
"""Held rows' leases are renewed this many times per ``lease_seconds``."""


def _retryable(status_code: int | None) -> bool:
    return status_code is None or status_code == 429 or status_code >= 500


def destination(url: str) -> str:
    """``scheme://host:port`` of ``url``: what the per-destination bound counts, and what a
    log line may show of a URL (no credentials, path or query). ``invalid`` when it has none."""
    try:
        parts = urlsplit(url)
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower(), 0)
    except ValueError:
        return "invalid"
    if not parts.hostname:
        return "invalid"
    return f"{parts.scheme.lower()}://{parts.hostname}:{port}"


def _reason(exc: BaseException) -> str:
    """An exception as ``last_error``: its type and message, printable, bounded."""
    text = f"{type(exc).__name__}: {exc}"
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)[:MAX_ERROR]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a delivery attempt (or giving a row back unsent) writes to its row."""

    id: int
    status: str
    attempts: int
    next_attempt_at: float | None
    last_status_code: int | None
    last_error: str | None
    date_updated: datetime


_RECORD = (
    update(ot.webhooks)
    .where(ot.webhooks.c.id == bindparam("_id"))
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


def _params(o: Outcome) -> dict[str, Any]:
    return {
        "_id": o.id,
        "status": o.status,
        "attempts": o.attempts,
        "next_attempt_at": o.next_attempt_at,
        "last_status_code": o.last_status_code,
        "last_error": o.last_error,
        "date_updated": o.date_updated,
    }


class _OutcomeWriter:
    """Group commit for outcomes: ``record`` returns once its outcomes are written; those
    recorded while a write runs go together in the next one, never behind a request."""

    def __init__(self, db: Database):
        self._db = db
        self._queue: list[tuple[list[Outcome], asyncio.Future[None]]] = []
        self._wake = asyncio.Event()
        self._closing = False
        self.failed: Exception | None = None

    async def record(self, outcomes: list[Outcome]) -> None:
        if self.failed is not None:  # nobody would write them
            raise self.failed
        done = asyncio.get_running_loop().create_future()
        self._queue.append((outcomes, done))
        self._wake.set()
        await done

    def close(self) -> None:
        """Write what is queued, then end ``run``."""
        self._closing = True
        self._wake.set()

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                batch, self._queue = self._queue, []
                try:
                    async with self._db.write() as conn:
                        await conn.execute(
                            _RECORD, [_params(o) for outcomes, _ in batch for o in outcomes]
                        )
                except Exception as exc:
                    self.failed = exc
                    for _, done in batch:
                        if not done.done():
                            done.set_exception(exc)
                    raise
                except asyncio.CancelledError:
                    for _, done in batch:
                        done.cancel()
                    raise
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)
            if self._closing:
                return


@dataclass
class _Destination:
    """One receiver (scheme, host, port): its slots and its requests in flight."""

    slots: asyncio.Semaphore
    in_flight: dict[int, float]
    """Row id → when its request started (monotonic)."""
    users: int = 0
    """Chains waiting for or holding one of its slots; at 0 it is forgotten."""

    def congested(self, bound: int, now: float) -> bool:
        """Every slot taken, the oldest for longer than a row would wait for one."""
        return len(self.in_flight) >= bound and now - min(self.in_flight.values()) >= SLOT_WAIT


class WebhookDeliverer:
    """Claims due webhooks and delivers them; many run side by side on PostgreSQL.

    ``run`` claims rows while it holds fewer than ``webhook_concurrency × 4``; each message's
    rows form a chain that goes out in order, one request at a time, each waiting for a
    slot at its destination and one in the process. A chain records each outcome before it
    sends its next row. The leases of held rows are renewed while they wait or are in
    flight.
    """

    def __init__(
        self, *, db: Database, settings: Settings, clock: Clock, metrics: Metrics, owner: str
    ):
        # Only what delivering needs, not the runtime: the outbox sits below the domains
        # the runtime composes.
        self.db = db
        self.settings = settings
        self.clock = clock
        self.metrics = metrics
        self.owner = owner
        self._client: httpx.AsyncClient | None = None
        self._max_held = settings.webhook_concurrency * 4
        self._per_host = settings.webhook_per_host_concurrency
        self._slots = asyncio.Semaphore(settings.webhook_concurrency)
        self._destinations: dict[str, _Destination] = {}
        self._held: dict[int, Any] = {}
        self._chains: dict[object, deque[Any]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # Messages whose rows were given back, until when: their later rows wait as long,
        # so one message's callbacks still go out in order.
        self._given_back: dict[str, float] = {}
        self._outcomes = _OutcomeWriter(db)
        self._wake = asyncio.Event()
        self._failure: BaseException | None = None

    async def run(self, stop: asyncio.Event) -> None:
        # A run the supervisor starts again after a failure begins afresh.
        self._failure = None
        self._outcomes = _OutcomeWriter(self.db)
        self._client = outgoing_client(self.settings, timeout=self.settings.webhook_timeout)
        writer = asyncio.create_task(self._outcomes.run())
        helpers = [
            asyncio.create_task(self._renew_leases(stop)),
            asyncio.create_task(self._wake_on(stop)),
        ]
        try:
            while not stop.is_set():
                for task in (writer, *helpers):
                    if task.done():
                        task.result()  # a helper that ended has failed: raise its error
                if self._failure is not None:
                    raise self._failure
                room = self._max_held - len(self._held)
                claimed = await self._claim(room) if room > 0 else []
                await self._start(claimed, stop)
                if room > 0 and len(claimed) == room:
                    continue  # more may be due now
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.settings.worker_poll_interval)
                self._wake.clear()
            await self._finish()
        finally:
            for task in (*self._tasks, *helpers):
                task.cancel()
            await asyncio.gather(*self._tasks, *helpers, return_exceptions=True)
            self._outcomes.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer, 5)
            self._held.clear()
            self._chains.clear()
            self._destinations.clear()
            await self._client.aclose()

    async def _finish(self) -> None:
        """On stop: requests in flight end (within their timeout) and are recorded; rows
        still waiting are given back."""
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=self.settings.webhook_timeout + 1)

    async def _wake_on(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self._wake.set()

    async def _renew_leases(self, stop: asyncio.Event) -> None:
        """Keep the leases of held rows (waiting or in flight) from running out: a row is
        taken over only from a deliverer that stopped renewing, i.e. died."""
        w = ot.webhooks
        every = self.settings.lease_seconds / LEASE_RENEWALS
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)
            ids = list(self._held)
            now = time.time()
            for start in range(0, len(ids), 1000):
                async with self.db.write() as conn:
                    # Only leases still running: a row whose lease ran out may be another's.
                    await conn.execute(
                        update(w)
                        .where(w.c.id.in_(ids[start : start + 1000]), w.c.lease_until > now)
                        .values(lease_until=now + self.settings.lease_seconds)
                    )

    async def _claim(self, limit: int) -> list[Any]:
        w = ot.webhooks
        now = time.time()
        due = (
            select(w.c.id)
            .where(
                w.c.next_attempt_at.is_not(None),
                w.c.next_attempt_at <= now,
                or_(w.c.lease_until.is_(None), w.c.lease_until < now),
            )
            .order_by(w.c.next_attempt_at, w.c.id)
            .limit(limit)
        )
        async with self.db.read() as conn:
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
        if self.db.skip_locked:
            due = due.with_for_update(skip_locked=True)
        stmt = (
            update(w)
            .where(w.c.id.in_(due.scalar_subquery()))
            .values(lease_until=now + self.settings.lease_seconds)
            .returning(w)
        )
        async with self.db.write() as conn:
            return list((await conn.execute(stmt)).all())

    def _destination(self, key: str) -> _Destination:
        found = self._destinations.get(key)
        if found is None:
            found = self._destinations[key] = _Destination(asyncio.Semaphore(self._per_host), {})
        return found

    async def _start(self, rows: Iterable[Any], stop: asyncio.Event) -> None:
        """Queue claimed rows on their message's chain (starting chains as needed); rows
        for a destination that is not keeping up are given back at once."""
        now, clock = time.time(), time.monotonic()
        self._given_back = {m: until for m, until in self._given_back.items() if until > now}
        give_back: list[Any] = []
        # One message's callbacks go out one after another, in the order they were written;
        # different messages' go out side by side. (A retried callback can still arrive after
        # a later one, as with Twilio.)
        for row in sorted(rows, key=lambda r: r.id):
            key = row.message_sid or ("id", row.id)
            chain = self._chains.get(key)
            if chain is None and (
                row.message_sid in self._given_back
                or self._destination(destination(row.url)).congested(self._per_host, clock)
            ):
                give_back.append(row)
                continue
            self._held[row.id] = row
            if chain is not None:
                chain.append(row)
                continue
            chain = self._chains[key] = deque([row])
            task = asyncio.create_task(self._run_chain(key, chain, stop))
            self._tasks.add(task)
            task.add_done_callback(self._chain_ended)
        if give_back:
            await self._outcomes.record(self._give_back(give_back))

    def _chain_ended(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self._failure = task.exception()
            self._wake.set()

    def _give_back(self, rows: list[Any]) -> list[Outcome]:
        """Rows returned unsent, due again in ``GIVE_BACK`` seconds, attempts unchanged."""
        until = time.time() + GIVE_BACK
        for row in rows:
            if row.message_sid:
                self._given_back[row.message_sid] = until
        return [
            Outcome(
                row.id,
                "pending",
                row.attempts,
                until,
                row.last_status_code,
                row.last_error,
                row.date_updated,
            )
            for row in rows
        ]

    async def _run_chain(self, key: object, chain: deque[Any], stop: asyncio.Event) -> None:
        try:
            while chain:
                row = chain[0]
                dest_key = destination(row.url)
                dest = self._destination(dest_key)
                dest.users += 1
                try:
                    try:
                        if stop.is_set():
                            raise TimeoutError
                        await asyncio.wait_for(dest.slots.acquire(), SLOT_WAIT)
                    except TimeoutError:
                        rest = list(chain)
                        chain.clear()
                        await self._outcomes.record(self._give_back(rest))
                        self._release(rest)
                        return
                    try:
                        async with self._slots:
                            dest.in_flight[row.id] = time.monotonic()
                            try:
                                outcome = await self._deliver(row)
                            finally:
                                del dest.in_flight[row.id]
                    finally:
                        dest.slots.release()
                finally:
                    dest.users -= 1
                    if dest.users == 0:  # no slot taken: nothing to bound until it is used again
                        self._destinations.pop(dest_key, None)
                await self._outcomes.record([outcome])
                chain.popleft()
                self._release([row])
        finally:
            self._chains.pop(key, None)

    def _release(self, rows: list[Any]) -> None:
        for row in rows:
            self._held.pop(row.id, None)
        if len(self._held) <= self._max_held // 2:
            self._wake.set()

    async def _deliver(self, row: Any) -> Outcome:
        """One attempt at ``row``. Whatever goes wrong becomes its outcome, not an error."""
        assert self._client is not None
        code: int | None = None
        error: str | None = None
        retryable = True
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
                retryable = _retryable(code)
        except RETRYABLE_ERRORS as exc:
            error = _reason(exc)
        except Exception as exc:  # anything else would fail again: give up on this row only
            error = _reason(exc)
            retryable = False
        attempts = row.attempts + 1
        now = self.clock.now()
        if error is None:
            self.metrics.callbacks_sent.labels(row.kind).inc()
            return Outcome(row.id, "delivered", attempts, None, code, None, now)
        final = not retryable or attempts >= self.settings.webhook_max_attempts
        self.metrics.callback_failures.labels(row.kind, str(final).lower()).inc()
        log.warning(
            "webhook delivery failed",
            extra={
                "webhook_id": row.id,
                "destination": destination(row.url),
                "error": error,
                "final": final,
            },
        )
        if final:
            return Outcome(row.id, "failed", attempts, None, code, error, now)
        wait = backoff(attempts, self.settings.retry_base_seconds, MAX_BACKOFF)
        return Outcome(row.id, "pending", attempts, time.time() + wait, code, error, now)
