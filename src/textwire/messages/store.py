"""Every statement on ``messages``, ``message_events`` and ``provider_refs``.

The worker, ingest, the routes and the CLI decide what happens to a message; this module is
the only one that says it in SQL (a test reads the source to hold that line). Functions take
what they use (a ``Database``, a time, the metrics, a token lookup), never the runtime.

The hot paths keep their shape: statement objects are built once, bulk writes go through
``Database.executemany`` under fixed keys (compiled once per key and row shape).
"""

from __future__ import annotations

import json
import time
from collections import ChainMap, Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Float,
    FromClause,
    RowMapping,
    Select,
    String,
    Text,
    and_,
    bindparam,
    delete,
    distinct,
    func,
    insert,
    literal,
    or_,
    select,
    type_coerce,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from textwire.db import Database
from textwire.messages import lifecycle
from textwire.messages.callbacks import status_callback_params
from textwire.messages.model import Change, ClaimedMessage, Message
from textwire.messages.rows import first_event
from textwire.messages.tables import message_events, messages
from textwire.metrics import Metrics
from textwire.outbox import tables as ot
from textwire.outbox.rows import WebhookRow, form_webhook_row
from textwire.providers.base import SendResult
from textwire.providers.tables import provider_refs
from textwire.senders.tables import sender_leases

Row = dict[str, Any]
Tokens = Callable[[str], Awaitable[str]]
"""An account's auth token by its SID (status callbacks are signed with it)."""

m = messages
refs = provider_refs

# --- new messages ---------------------------------------------------------------------------


async def insert_batch(
    db: Database, conn: AsyncConnection, rows: Sequence[Row], events: Sequence[Row]
) -> None:
    """New messages and their first events, in bulk (the inserter's group commit)."""
    await db.executemany(conn, insert(m), rows, key="messages.insert")
    await db.executemany(conn, insert(message_events), events, key="message_events.insert")


async def insert_one(conn: AsyncConnection, row: Row) -> None:
    """One new message and its first event (an inbound message)."""
    await conn.execute(insert(m).values(**row))
    await conn.execute(insert(message_events).values(**first_event(row)))


# --- status changes -------------------------------------------------------------------------


async def record(
    conn: AsyncConnection,
    db: Database,
    changes: Sequence[Change],
    *,
    now: datetime,
    metrics: Metrics,
    token: Tokens,
) -> None:
    """Apply ``changes`` inside the caller's write transaction: each row's columns, an event
    per status, and a status callback where the message asked for one."""
    if not changes:
        return
    # Several changes may touch one row (queued, then sending): merge them in order so the
    # last one wins, then group rows by the columns they set for executemany.
    merged: dict[str, dict[str, Any]] = {}
    events: list[dict[str, Any]] = []
    hooks: list[WebhookRow] = []
    counts: Counter[str] = Counter()
    tokens: dict[str, str] = {}
    for ch in changes:
        sid = ch.row["sid"]
        values = merged.get(sid)
        if values is None:
            values = merged[sid] = {"date_updated": now}
        values.update(ch.values)
        if ch.status is None:
            continue
        values["status"] = ch.status
        if ch.error_code is not None:
            values["error_code"] = ch.error_code
            values["error_message"] = ch.error_message
        events.append(
            {"message_sid": sid, "status": ch.status, "error_code": ch.error_code, "at": now}
        )
        counts[ch.status] += 1
        url = ch.row.get("status_callback")
        if url and ch.callback:
            account = ch.row["account_sid"]
            secret = tokens.get(account)
            if secret is None:
                secret = tokens[account] = await token(account)
            # The row as this change leaves it: its columns, then what the changes set.
            current = ChainMap(values, cast(dict[str, Any], ch.row))  # read, never written
            params = status_callback_params(current, ch.status, ch.error_code, now)
            hooks.append(
                form_webhook_row(
                    account_sid=account,
                    message_sid=sid,
                    kind="status",
                    url=url,
                    params=params,
                    token=secret,
                    now=now,
                )
            )
    for status, n in counts.items():
        metrics.transitions.labels(status).inc(n)
    # Rows are grouped by the columns they set, in the order set (one batch's rows mostly
    # share it, and the bulk statement is compiled once per key order).
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for sid, values in merged.items():
        values["_sid"] = sid
        cols = tuple(values)
        group = groups.get(cols)
        if group is None:
            group = groups[cols] = []
        group.append(values)
    for cols, params_list in groups.items():
        stmt = (
            update(m)
            .where(m.c.sid == bindparam("_sid"))
            .values({c: bindparam(c) for c in cols if c != "_sid"})
        )
        await db.executemany(conn, stmt, params_list, key="messages.update_by_sid")
    await db.executemany(conn, insert(message_events), events, key="message_events.insert")
    await db.executemany(conn, insert(ot.webhooks), hooks, key="webhooks.insert")


async def unless_overtaken(
    conn: AsyncConnection, db: Database, changes: list[Change]
) -> list[Change]:
    """Drop the status of a hand-over result whose message a receipt already moved on.

    A fast provider (or another worker's receipt pump) can report delivery before the
    worker records 'sent'; the result's columns still apply, its status must not.
    """
    sent = lifecycle.sent_sids(changes)
    if not sent:
        return changes
    query = select(m.c.sid, m.c.status).where(m.c.sid.in_(sent))
    if not db.is_sqlite:
        query = query.with_for_update()  # hold them until this transaction records
    now_status = {sid: status for sid, status in await conn.execute(query)}
    return lifecycle.unless_overtaken(changes, sent, now_status)


# --- the dispatch queue ---------------------------------------------------------------------

# What a tick reads of a claimed row: what selection, hand-over, status callbacks and the
# long-code fallback use. Fewer columns is less conversion per row (dates and JSON cost most).
CLAIMED_COLUMNS = (
    "sid",
    "account_sid",
    "service_sid",
    "sender_sid",
    "integration_sid",
    "from_addr",
    "to_addr",
    "body",
    "num_segments",
    "encoding",
    "media_urls",
    "status",
    "status_callback",
    "validity_period",
    "attempts",
    "price",
    "extra",
    "send_at",
    "date_created",
)
# On SQLite the JSON columns are read as text and decoded here: SQLAlchemy would json.loads
# every row's stored 'null' too. (asyncpg decodes JSON itself on PostgreSQL.)
_JSON_COLUMNS = frozenset({"media_urls", "extra"})


def _json(value: str | None) -> Any:
    return None if value is None or value == "null" else json.loads(value)


def _due_condition(*, skip_busy: bool) -> Any:
    """Rows due now; with ``skip_busy``, not those bound for a destination that is full
    (bind parameter ``busy``: integration SIDs)."""
    now = bindparam("now", type_=Float)
    due = and_(
        m.c.next_attempt_at.is_not(None),
        m.c.next_attempt_at <= now,
        or_(m.c.lease_until.is_(None), m.c.lease_until < now),
    )
    if not skip_busy:
        return due
    busy = bindparam("busy", expanding=True, type_=String)
    return and_(due, or_(m.c.integration_sid.is_(None), m.c.integration_sid.not_in(busy)))


# Built once: the expression objects cost more to make each tick than to run (SQLAlchemy
# caches the compiled SQL, not the statement objects). The variants without the busy
# filter serve the common case, no destination full.
_DUE = {
    skip: select(literal(1)).select_from(m).where(_due_condition(skip_busy=skip)).limit(1)
    for skip in (False, True)
}


def _claim_statement(
    batch: int, *, skip_locked: bool, json_as_text: bool, skip_busy: bool
) -> Select[Any]:
    held_elsewhere = select(sender_leases.c.sender_sid).where(
        sender_leases.c.owner != bindparam("owner", type_=String),
        sender_leases.c.lease_until > bindparam("held_after", type_=Float),
    )
    columns = [
        type_coerce(m.c[name], Text) if json_as_text and name in _JSON_COLUMNS else m.c[name]
        for name in CLAIMED_COLUMNS
    ]
    stmt = (
        select(*columns)
        .where(
            _due_condition(skip_busy=skip_busy),
            or_(m.c.sender_sid.is_(None), m.c.sender_sid.not_in(held_elsewhere)),
        )
        .order_by(m.c.next_attempt_at)
        .limit(batch)
    )
    return stmt.with_for_update(skip_locked=True, of=m) if skip_locked else stmt


class Claims:
    """One worker's reads of the queue; its claim statements are built once."""

    def __init__(self, db: Database, batch: int, owner: str):
        self._db = db
        self._batch = batch
        self._owner = owner
        self._stmts: dict[bool, Select[Any]] = {}

    async def any_due(self, now: float, busy: list[str]) -> bool:
        """Whether any row is due, not counting rows for the ``busy`` destinations: a cheap
        indexed read, so an idle worker takes no write lock (on SQLite the API's writes
        would otherwise queue behind every poll)."""
        params: dict[str, Any] = {"now": now}
        if busy:
            params["busy"] = busy
        async with self._db.read() as conn:
            found = await conn.scalar(_DUE[bool(busy)], params)
        return found is not None

    async def claim(
        self, conn: AsyncConnection, now: float, busy: list[str], held_after: float
    ) -> list[ClaimedMessage]:
        """Due rows, held for the caller's transaction: by SQLite's write lock, or by row
        locks that other workers skip on PostgreSQL; not rows of a sender another owner has
        held since ``held_after``. Nothing is written here."""
        stmt = self._stmts.get(bool(busy))
        if stmt is None:
            stmt = self._stmts[bool(busy)] = _claim_statement(
                self._batch,
                skip_locked=self._db.skip_locked,
                json_as_text=self._db.is_sqlite,
                skip_busy=bool(busy),
            )
        params: dict[str, Any] = {"now": now, "owner": self._owner, "held_after": held_after}
        if busy:
            params["busy"] = busy
        claimed = (await conn.execute(stmt, params)).all()
        rows = []
        as_text = self._db.is_sqlite
        for found in claimed:
            row = dict(zip(CLAIMED_COLUMNS, found, strict=True))
            if as_text:
                row["media_urls"] = _json(row["media_urls"])
                row["extra"] = _json(row["extra"])
            rows.append(row)
        return cast(list[ClaimedMessage], rows)

    async def renew(self, conn: AsyncConnection, sids: list[str], until: float) -> None:
        """Extend the lease this worker holds on ``sids`` (a hand-over still in flight)."""
        await conn.execute(
            update(m)
            .where(m.c.sid.in_(sids), m.c.lease_owner == self._owner)
            .values(lease_until=until)
        )


# --- reads ----------------------------------------------------------------------------------


async def rows_by_sid(conn: AsyncConnection, sids: Iterable[str]) -> dict[str, Message]:
    """The full rows of ``sids`` that exist, by SID."""
    result = await conn.execute(select(m).where(m.c.sid.in_(list(sids))))
    return {r["sid"]: cast(Message, dict(r)) for r in result.mappings()}


async def lock(conn: AsyncConnection, sids: Iterable[str]) -> None:
    """Take the row locks of ``sids`` (in SID order, so two takers cannot deadlock)."""
    await conn.execute(
        select(m.c.sid).where(m.c.sid.in_(sorted(sids))).order_by(m.c.sid).with_for_update()
    )


async def fetch(db: Database, account_sid: str, sid: str) -> Row | None:
    """Message ``sid`` if it belongs to ``account_sid``."""
    async with db.read() as conn:
        return await fetch_in(conn, account_sid, sid)


async def fetch_in(conn: AsyncConnection, account_sid: str, sid: str) -> Row | None:
    """``fetch`` inside the caller's transaction (to change the row it read)."""
    query = select(m).where(m.c.sid == sid, m.c.account_sid == account_sid)
    found = (await conn.execute(query)).mappings().first()
    return dict(found) if found is not None else None


@dataclass(frozen=True)
class ListQuery:
    """Which of an account's messages to list, newest first."""

    account_sid: str
    limit: int
    to: str | None = None
    from_: str | None = None
    status: str | None = None
    sent_from: tuple[datetime, ...] = ()
    """``date_sent`` on or after each of these."""
    sent_before: tuple[datetime, ...] = ()
    """``date_sent`` before each of these."""
    after: tuple[datetime, str] | None = None
    """Only messages older than this (date created, SID): a page token's position."""
    offset: int = 0


async def list_messages(db: Database, q: ListQuery) -> list[Row]:
    query = select(m).where(m.c.account_sid == q.account_sid)
    if q.to:
        query = query.where(m.c.to_addr == q.to)
    if q.from_:
        query = query.where(m.c.from_addr == q.from_)
    if q.status:
        query = query.where(m.c.status == q.status)
    for start in q.sent_from:
        query = query.where(m.c.date_sent >= start)
    for end in q.sent_before:
        query = query.where(m.c.date_sent < end)
    if q.after is not None:
        created, sid = q.after
        query = query.where(
            or_(m.c.date_created < created, and_(m.c.date_created == created, m.c.sid < sid))
        )
    query = query.order_by(m.c.date_created.desc(), m.c.sid.desc()).limit(q.limit)
    if q.offset:
        query = query.offset(q.offset)
    async with db.read() as conn:
        return [dict(r) for r in (await conn.execute(query)).mappings()]


async def gauges(db: Database, now: float) -> tuple[list[tuple[str, int]], int]:
    """Messages per status, and how many are due at ``now`` (the queue's depth)."""
    async with db.read() as conn:
        counts = (await conn.execute(select(m.c.status, func.count()).group_by(m.c.status))).all()
        depth = await conn.scalar(
            select(func.count())
            .select_from(m)
            .where(m.c.next_attempt_at.is_not(None), m.c.next_attempt_at <= now)
        )
    return [(status, int(n)) for status, n in counts], int(depth or 0)


async def from_addrs(conn: AsyncConnection, sids: Iterable[str]) -> dict[str, str | None]:
    """Each message's sender address, by SID."""
    result = await conn.execute(select(m.c.sid, m.c.from_addr).where(m.c.sid.in_(list(sids))))
    return {r.sid: r.from_addr for r in result}


def recipients_messaged(
    account_sid: str, *, since: datetime | None = None, until: datetime | None = None
) -> Select[tuple[str]]:
    """The numbers ``account_sid`` sent to (any outbound message not canceled), created at or
    after ``since`` and before ``until``: the "messaged within 7d" of a segment filter, used
    as ``phone IN (this)``. It reads the account's range of ``ix_messages_account_created``
    once for the whole filter, never once per contact."""
    query = select(m.c.to_addr).where(
        m.c.account_sid == account_sid,
        m.c.direction != "inbound",
        m.c.status != "canceled",
    )
    if since is not None:
        query = query.where(m.c.date_created >= since)
    if until is not None:
        query = query.where(m.c.date_created < until)
    return query


async def delivered_among(
    conn: AsyncConnection,
    source: FromClause,
    message_sid: ColumnElement[str],
    conds: Sequence[ColumnElement[bool]],
) -> int:
    """How many distinct delivered messages ``source`` names in its ``message_sid``
    column, over its rows matching ``conds`` (links analytics: messages with a link)."""
    found = await conn.scalar(
        select(func.count(distinct(message_sid)))
        .select_from(source.join(m, and_(m.c.sid == message_sid)))
        .where(*conds, m.c.status == "delivered")
    )
    return int(found or 0)


# --- the routes' changes --------------------------------------------------------------------


async def set_columns(conn: AsyncConnection, sid: str, values: Mapping[str, Any]) -> None:
    """Columns only: no event, no callback (a redacted body)."""
    await conn.execute(update(m).where(m.c.sid == sid).values(**values))


async def status_in(conn: AsyncConnection, account_sid: str, sid: str) -> str | None:
    """Message ``sid``'s status if it belongs to ``account_sid``, inside the caller's
    transaction."""
    found = await conn.scalar(
        select(m.c.status).where(m.c.sid == sid, m.c.account_sid == account_sid)
    )
    return None if found is None else str(found)


async def delete_message(conn: AsyncConnection, sid: str) -> None:
    """The message and its events."""
    await conn.execute(delete(message_events).where(message_events.c.message_sid == sid))
    await conn.execute(delete(m).where(m.c.sid == sid))


# --- provider references --------------------------------------------------------------------


@dataclass(frozen=True)
class Ref:
    """One ``provider_refs`` row: what a provider calls (a part of) a message."""

    integration_sid: str
    provider_ref: str
    message_sid: str
    part: int
    parts: int
    status: str | None
    error_code: int | None


def _ref(r: RowMapping) -> Ref:
    return Ref(
        integration_sid=r["integration_sid"],
        provider_ref=r["provider_ref"],
        message_sid=r["message_sid"],
        part=r["part"],
        parts=r["parts"],
        status=r["status"],
        error_code=r["error_code"],
    )


async def record_refs(db: Database, integration_sid: str, results: Sequence[SendResult]) -> None:
    """The references of every accepted hand-over in ``results``, one row per part."""
    rows = []
    now = time.time()
    for r in results:
        if r.outcome != "accepted":
            continue
        names = r.provider_refs or ((r.provider_sid,) if r.provider_sid else ())
        # A provider that gives no id still gets a row: lookup() must know it has it.
        names = names or (f"textwire:{r.sid}",)
        for part, name in enumerate(names):
            rows.append(
                {
                    "integration_sid": integration_sid,
                    "provider_ref": name,
                    "message_sid": r.sid,
                    "part": part,
                    "parts": len(names),
                    "status": None,
                    "error_code": None,
                    "created_at": now,
                }
            )
    if rows:
        async with db.write() as conn:
            await conn.execute(refs.insert(), rows)


async def first_refs(db: Database, sids: Sequence[str]) -> list[Ref]:
    """The first part's reference of each message in ``sids`` that has one."""
    async with db.read() as conn:
        result = await conn.execute(
            select(refs).where(refs.c.message_sid.in_(list(sids)), refs.c.part == 0)
        )
        return [_ref(r) for r in result.mappings()]


async def refs_named(
    conn: AsyncConnection, integration_sid: str, names: Sequence[str]
) -> list[Ref]:
    """The references ``names`` the integration gave, as stored."""
    result = await conn.execute(
        select(refs).where(
            refs.c.integration_sid == integration_sid, refs.c.provider_ref.in_(list(names))
        )
    )
    return [_ref(r) for r in result.mappings()]


async def set_ref_status(
    conn: AsyncConnection, integration_sid: str, name: str, status: str, error_code: int | None
) -> None:
    """What a receipt said of one reference (one part)."""
    await conn.execute(
        update(refs)
        .where(refs.c.integration_sid == integration_sid, refs.c.provider_ref == name)
        .values(status=status, error_code=error_code)
    )


async def parts_of(conn: AsyncConnection, sids: Iterable[str]) -> dict[str, list[Ref]]:
    """Every part's reference of each message, by message SID."""
    parts: dict[str, list[Ref]] = defaultdict(list)
    result = await conn.execute(select(refs).where(refs.c.message_sid.in_(list(sids))))
    for r in result.mappings():
        parts[r["message_sid"]].append(_ref(r))
    return parts


def _inbound_ref(provider_ref: str) -> str:
    # Inbound references are kept apart from outbound ones the same provider gave.
    return f"in:{provider_ref}"[:80]


async def inbound_seen(db: Database, integration_sid: str, provider_ref: str) -> bool:
    """Whether the integration already delivered the inbound message ``provider_ref``."""
    async with db.read() as conn:
        found = await conn.scalar(
            select(refs.c.message_sid).where(
                refs.c.integration_sid == integration_sid,
                refs.c.provider_ref == _inbound_ref(provider_ref),
            )
        )
    return found is not None


async def claim_inbound_ref(
    conn: AsyncConnection, integration_sid: str, provider_ref: str, message_sid: str
) -> bool:
    """Record that ``provider_ref`` is inbound message ``message_sid``; False when another
    transaction recorded it first (the provider delivered it twice)."""
    try:
        async with conn.begin_nested():
            await conn.execute(
                insert(refs).values(
                    integration_sid=integration_sid,
                    provider_ref=_inbound_ref(provider_ref),
                    message_sid=message_sid,
                    part=0,
                    parts=1,
                    status="received",
                    error_code=None,
                    created_at=time.time(),
                )
            )
    except IntegrityError:
        return False
    return True
