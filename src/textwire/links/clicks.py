"""Clicks: buffered on the redirect path, written in batches (F-LINK-7, F-LINK-8).

The redirect handler only appends a ``PendingClick`` (a tuple) to a list: no database, no
parsing. ``ClickRecorder.run`` flushes the list when it reaches ``click_batch_size`` or
every ``click_flush_interval`` seconds: it classifies the user agents (in a thread, since
``ua-parser`` is CPU work), inserts the clicks and, for human clicks on a domain with a
``CallbackUrl``, the click webhooks, all in one transaction. The rows and their parameters
are built in that thread too and go to the database as multi-row INSERTs, so the event
loop serving redirects does no per-click database work. A failed write puts the clicks
back at the front of the buffer. ``close()`` flushes until nothing is left, so a
graceful shutdown loses no click.

Backpressure: when more than ``high_water`` clicks wait (``click_high_water``), the
recorder tells whoever watches it (the redirect listener, which stops reading from its
clients) that it is saturated, and tells it again once a write has brought the buffer
down to half of that. Overload then slows redirects down instead of growing the buffer
without bound or dropping clicks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select

from textwire.accounts import TokenCache
from textwire.db import Database
from textwire.links import tables as lt
from textwire.links.useragent import ClientInfo, UserAgentClassifier
from textwire.messages import store
from textwire.outbox import tables as ot
from textwire.outbox.rows import WebhookRow, json_webhook_row

log = logging.getLogger("textwire.links.clicks")

MAX_STORED_USER_AGENT = 1024

TARGETS_SLACK = 100_000
"""Targets kept for clicks already written before the buffer is pruned (see ``flush``)."""

MAX_BATCH = 50_000
"""Most clicks one transaction writes (its statements take ~150 bytes a click: ~7 MB)."""

ROWS_PER_STATEMENT = 500
"""Clicks per multi-row INSERT (10 parameters each: 5,000, under SQLite's 32,766)."""

# link_clicks columns in the order a row tuple holds them: the link's, the click's, the
# client's (the three parts are built once per distinct link, moment and client).
_LINK_COLUMNS = ("slug",)
_CLICK_COLUMNS = ("clicked_at", "method", "ip")
_CLIENT_COLUMNS = ("user_agent", "browser", "os", "device_type", "is_bot", "bot")
COLUMNS = _LINK_COLUMNS + _CLICK_COLUMNS + _CLIENT_COLUMNS


@dataclass(frozen=True, slots=True)
class LinkTarget:
    """What the redirect server needs to know about one slug (cached)."""

    slug: str
    url: str
    location: bytes
    response: bytes
    """The whole 302 (HTTP/1.1, keep-alive), built once: the redirect fast path writes it."""
    expires_at: float
    account_sid: str
    message_sid: str
    service_sid: str | None
    campaign_sid: str | None
    domain_sid: str | None
    to_addr: str
    short_url: str


PendingClick = tuple[str, float, str, str | None, str | None]
"""A buffered click: (slug, time, method, IP, user agent). A plain tuple of strings and a
float, not an object holding its ``LinkTarget``: the cycle collector stops tracking such a
tuple at its first pass, so a buffer of hundreds of thousands of clicks costs collections
nothing (with a dataclass per click, each young collection walked every click buffered
since the last: ~10 ms pauses of the event loop), and it is built ~4x faster. The targets
are kept once per slug beside the buffer."""


def click_event(target: LinkTarget, click: PendingClick, from_addr: str | None) -> dict[str, Any]:
    """The click webhook body (F-LINK-8), with Twilio's ``shortened_link`` beside it."""
    return {
        "event_type": "click",
        "sms_sid": target.message_sid,
        "to": target.to_addr,
        "from": from_addr,
        "link": target.url,
        "shortened_link": target.short_url,
        "clicked_at": int(click[1] * 1000),
        "messaging_service_sid": target.service_sid,
        "account_sid": target.account_sid,
        "user_agent": click[4],
    }


class ClickRecorder:
    """The click buffer of one redirect server."""

    def __init__(
        self,
        db: Database,
        tokens: TokenCache,
        classifier: UserAgentClassifier,
        *,
        batch_size: int,
        interval: float,
        high_water: int,
        targets_slack: int = TARGETS_SLACK,
    ):
        self._db = db
        self._tokens = tokens
        self._classifier = classifier
        self._batch_size = batch_size
        self._interval = interval
        self._high_water = high_water
        self._low_water = high_water // 2
        # add() looks at one number: the smaller of "a batch is full" and "saturated".
        self._crowded_at = min(batch_size, high_water)
        self._buffer: list[PendingClick] = []
        # The targets of the buffered clicks, by slug (links never change once created).
        # Emptied when the buffer is.
        self._targets: dict[str, LinkTarget] = {}
        self._targets_slack = targets_slack
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._watchers: list[Callable[[bool], None]] = []
        self._sql: _InsertSql | None = None
        self._process: dict[str, Callable[[Any], Any] | None] = {}
        self.saturated = False
        self.received = 0
        self.written = 0

    @property
    def pending(self) -> int:
        return len(self._buffer)

    def watch(self, saturated: Callable[[bool], None]) -> None:
        """Call ``saturated(True)`` when the buffer passes the high-water mark and
        ``saturated(False)`` when a write has brought it back to the low-water mark."""
        self._watchers.append(saturated)

    def add(
        self, target: LinkTarget, at: float, method: str, ip: str | None, user_agent: str | None
    ) -> None:
        """Buffer one click; the hot path, so it only appends (and compares once)."""
        self._targets[target.slug] = target
        buffer = self._buffer
        buffer.append((target.slug, at, method, ip, user_agent))
        self.received += 1
        if len(buffer) >= self._crowded_at:
            self._crowded()

    def _crowded(self) -> None:
        pending = len(self._buffer)
        if pending >= self._batch_size:
            self._wake.set()
        if pending >= self._high_water and not self.saturated:
            self._wake.set()  # the writer may be waiting for its timer: write now
            self._saturate(True)

    def _saturate(self, saturated: bool) -> None:
        self.saturated = saturated
        log.log(
            logging.WARNING if saturated else logging.INFO,
            "click buffer saturated: redirects paused" if saturated else "click buffer drained",
            extra={"clicks": len(self._buffer)},
        )
        for watcher in self._watchers:
            watcher(saturated)

    async def run(self, stop: asyncio.Event) -> None:
        """Flush on size or timer until ``stop``; ``close()`` does the final flush.

        A failed write leaves its clicks buffered (``flush``) and ends this call with the
        error: the loop supervisor (``textwire.loops``) logs it, reports the writer as
        failed on ``/healthz`` and starts it again after a backoff.
        """
        await asyncio.to_thread(self._classifier.warm_up)
        stopping = asyncio.create_task(stop.wait())
        try:
            while not stop.is_set():
                waking = asyncio.create_task(self._wake.wait())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        asyncio.wait({waking, stopping}, return_when=asyncio.FIRST_COMPLETED),
                        self._interval,
                    )
                waking.cancel()
                self._wake.clear()
                await self.flush()
        finally:
            stopping.cancel()

    async def close(self, attempts: int = 20) -> None:
        """Flush every buffered click (graceful shutdown), retrying a failing write."""
        for _ in range(attempts):
            if not self._buffer:
                return
            try:
                await self.flush()
            except Exception:
                log.exception("final click flush failed; retrying")
                await asyncio.sleep(0.1)
        if self._buffer:
            log.error("clicks lost at shutdown", extra={"clicks": len(self._buffer)})

    async def flush(self) -> int:
        """Write what is buffered now (in batches); returns how many clicks were written.

        A batch is everything waiting, up to ``max(batch_size, MAX_BATCH)`` clicks: a
        transaction writes each page it touched once, so a writer that has fallen behind
        catches up faster in fewer, larger transactions; ``MAX_BATCH`` bounds the memory
        and the time one write takes.
        """
        written = 0
        largest = max(self._batch_size, MAX_BATCH)
        async with self._lock:
            while self._buffer:
                batch = self._buffer[:largest]
                del self._buffer[: len(batch)]
                try:
                    await self._write(batch)
                except BaseException:
                    self._buffer[:0] = batch
                    raise
                written += len(batch)
                self.written += len(batch)
                if self.saturated and len(self._buffer) <= self._low_water:
                    self._saturate(False)
                if len(self._targets) > 2 * len(self._buffer) + self._targets_slack:
                    # Still behind after many distinct links: keep only what is buffered.
                    self._targets = {c[0]: self._targets[c[0]] for c in self._buffer}
            self._targets.clear()  # the buffer is empty
        return written

    async def _write(self, batch: Sequence[PendingClick]) -> None:
        # Classifying, building rows and converting their values is CPU work: off the event
        # loop that serves redirects.
        statements, human = await asyncio.to_thread(self._statements, batch, self._insert_sql())
        hooks = await self._webhooks(human) if human else []
        async with self._db.write() as conn:
            for sql, parameters in statements:
                await conn.exec_driver_sql(sql, parameters)
            if hooks:
                await conn.execute(insert(ot.webhooks), hooks)

    def _insert_sql(self) -> Callable[[int], str]:
        """``sql(n)``: an INSERT of ``n`` click rows in one statement, in the writer's dialect.

        Not the driver's executemany: sqlite3 takes the GIL back for every row it binds,
        and with the event loop busy serving redirects each of those waits for the loop to
        let go of it (the interpreter's switch interval): clicks were written at a tenth of
        their idle speed under load. One statement of many rows takes the GIL once.
        """
        if self._sql is None:
            dialect = self._db.writer.dialect
            self._sql = _InsertSql(dialect.paramstyle)
            self._process = {
                name: lt.link_clicks.c[name].type.dialect_impl(dialect).bind_processor(dialect)
                for name in COLUMNS
            }
        return self._sql.sql

    def _statements(
        self, batch: Sequence[PendingClick], sql: Callable[[int], str]
    ) -> tuple[list[tuple[str, tuple[Any, ...]]], list[tuple[LinkTarget, PendingClick]]]:
        """The INSERT statements of ``batch`` with their parameters (the values of
        ``COLUMNS``, converted as SQLAlchemy would bind them), and its human clicks (for
        click events). Runs in a worker thread.

        A batch repeats itself: the same links, the same user agents, many clicks in one
        millisecond. The parts of a row that come from the link, from the client's
        classification and from the time are each built once per distinct value, so a row
        costs little more than appending them. Between statements the thread lets go of
        the GIL: the event loop waiting for it gets it at once rather than after the
        interpreter's switch interval (5 ms), which would show in the redirects' p99.
        """
        process = self._process
        statements: list[tuple[str, tuple[Any, ...]]] = []
        human: list[tuple[LinkTarget, PendingClick]] = []
        targets = self._targets
        links: dict[str, tuple[Any, ...]] = {}
        clients: dict[tuple[str | None, str], tuple[tuple[Any, ...], bool]] = {}
        stamps: dict[int, Any] = {}
        to_stamp = process["clicked_at"]
        for start in range(0, len(batch), ROWS_PER_STATEMENT):
            if start:
                time.sleep(0)
            part = batch[start : start + ROWS_PER_STATEMENT]
            values: list[Any] = []
            for click in part:
                slug, at, method, ip, agent = click
                link = links.get(slug)
                if link is None:
                    link = links[slug] = _converted(
                        _LINK_COLUMNS, _link_values(targets[slug]), process
                    )
                client = clients.get((agent, method))
                if client is None:
                    info = self._classifier.classify(agent, method)
                    client = clients[(agent, method)] = (
                        _converted(_CLIENT_COLUMNS, _client_values(agent, info), process),
                        info.is_bot,
                    )
                millis = int(at * 1000)
                stamp = stamps.get(millis)
                if stamp is None:
                    stamp = datetime.fromtimestamp(millis / 1000, UTC)
                    stamp = stamps[millis] = to_stamp(stamp) if to_stamp else stamp
                values += link
                values += (stamp, method, ip)
                values += client[0]
                if not client[1]:
                    human.append((targets[slug], click))
            statements.append((sql(len(part)), tuple(values)))
        return statements, human

    async def _webhooks(
        self, clicks: Sequence[tuple[LinkTarget, PendingClick]]
    ) -> list[WebhookRow]:
        """Click events for clicks whose domain has a ``CallbackUrl`` (read fresh per batch)."""
        domain_sids = {target.domain_sid for target, _ in clicks if target.domain_sid}
        if not domain_sids:
            return []
        d = lt.link_domains
        async with self._db.read() as conn:
            callbacks = {
                r.sid: r.callback_url
                for r in await conn.execute(
                    select(d.c.sid, d.c.callback_url).where(d.c.sid.in_(domain_sids))
                )
                if r.callback_url
            }
            wanted = [(target, c) for target, c in clicks if target.domain_sid in callbacks]
            message_sids = {target.message_sid for target, _ in wanted}
            senders = await store.from_addrs(conn, message_sids) if message_sids else {}
        now = datetime.now(UTC)
        hooks = []
        for target, click in wanted:
            assert target.domain_sid is not None
            hooks.append(
                json_webhook_row(
                    account_sid=target.account_sid,
                    message_sid=target.message_sid,
                    kind="click",
                    url=callbacks[target.domain_sid],
                    payload=click_event(target, click, senders.get(target.message_sid)),
                    secret=await self._tokens.token(target.account_sid),
                    now=now,
                )
            )
        return hooks


class _InsertSql:
    """``INSERT INTO link_clicks (...) VALUES (...), (...), ...`` for ``n`` rows, in the
    driver's parameter style; the full-size statement is built once (and stays in the
    driver's statement cache), the shorter last one of a batch when needed."""

    def __init__(self, paramstyle: str):
        if paramstyle not in ("qmark", "numeric_dollar", "format"):
            raise ValueError(f"unsupported parameter style {paramstyle}")
        self._style = paramstyle
        self._built: dict[int, str] = {}

    def sql(self, n: int) -> str:
        built = self._built.get(n)
        if built is None:
            built = _insert_sql(self._style, n)
            if n == ROWS_PER_STATEMENT:
                self._built[n] = built
        return built


def _insert_sql(paramstyle: str, n: int) -> str:
    width = len(COLUMNS)
    if paramstyle == "qmark":
        row = "(" + ", ".join("?" * width) + ")"
        values = ", ".join([row] * n)
    elif paramstyle == "format":
        row = "(" + ", ".join(["%s"] * width) + ")"
        values = ", ".join([row] * n)
    else:  # numeric_dollar
        values = ", ".join(
            "(" + ", ".join(f"${i * width + j + 1}" for j in range(width)) + ")" for i in range(n)
        )
    return f"INSERT INTO {lt.link_clicks.name} ({', '.join(COLUMNS)}) VALUES {values}"


def _converted(
    names: Sequence[str],
    values: Sequence[Any],
    process: dict[str, Callable[[Any], Any] | None],
) -> tuple[Any, ...]:
    """``values`` of the columns ``names`` through their bind processors."""
    out = []
    for name, value in zip(names, values, strict=True):
        convert = process[name]
        out.append(convert(value) if convert is not None else value)
    return tuple(out)


def _link_values(target: LinkTarget) -> tuple[Any, ...]:
    return (target.slug,)


def _client_values(user_agent: str | None, info: ClientInfo) -> tuple[Any, ...]:
    """The columns a click's client decides (``_CLIENT_COLUMNS``)."""
    return (
        (user_agent or "")[:MAX_STORED_USER_AGENT] or None,
        info.browser[:64],
        info.os[:64],
        info.device_type,
        info.is_bot,
        info.bot[:64] if info.bot else None,
    )
