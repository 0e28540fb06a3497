"""Consent state: recording events, reading a number's effective state, and the send check.

A number's SMS consent in one scope (``""`` = the account, ``MG…`` = a messaging service) is
decided by two things: its latest event row in ``consent_states`` (api, keyword, identify,
sync removal) and whether it is in the scope's active subscriber set (the last applied sync):

- in the active set: subscribed, unless an event *after* the sync says otherwise, or the
  number texted STOP (a keyword opt-out is never overridden by a file: only START or an
  explicit opt-in lifts it);
- not in the set: its event row's status, else ``unknown``. (A sync writes an
  ``unsubscribed``/``sync`` row for every number it removes, so "not in the file" means
  unsubscribed only for numbers that were subscribed before.)

The send check (:meth:`ConsentCache.refusal`) combines the account scope and the service
scope: an opt-out in either refuses (explicit STOP is never bypassed, not even by
``transactional``); a subscription in either allows; otherwise the number is unknown and
refused unless the send is transactional or the scope does not require opt-in.

It is cheap where it matters: accounts with no consent data at all (the common case for a
pure notifications account, and for the send benchmark) cost one dict lookup, from a
per-account snapshot kept for ``ttl`` seconds like the sender directory; accounts with
consent data cost one indexed read per send.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from textwire.consent import tables as ct
from textwire.consent.keywords import KeywordConfig, KeywordConfigError
from textwire.db import Database
from textwire.snapshots import SnapshotCache

Status = Literal["subscribed", "unsubscribed", "unknown"]
Source = Literal["api", "sync", "keyword", "import", "identify"]
Refusal = Literal["unsubscribed", "unknown"]
ACCOUNT_SCOPE = ""
OptInSource = Literal["service", "account", "subscriber_sync", "default"]


@dataclass(frozen=True)
class Event:
    status: str
    source: str
    at: datetime


@dataclass(frozen=True)
class ActiveSet:
    run_sid: str
    applied_at: datetime


@dataclass
class AccountConsent:
    """What the send check needs of one account, loaded in one go."""

    has_data: bool = False
    active: dict[str, ActiveSet] = field(default_factory=dict)
    require_opt_in: dict[str, bool] = field(default_factory=dict)
    keywords: dict[str, KeywordConfig] = field(default_factory=dict)
    loaded_at: float = 0.0

    def requires_opt_in(self, scopes: list[str]) -> bool:
        return self.opt_in_rule(scopes)[0]

    def opt_in_rule(self, scopes: list[str]) -> tuple[bool, OptInSource]:
        """Whether unknown numbers are refused, and why: the most specific explicit setting
        (``service`` or ``account``), else ``subscriber_sync`` when any scope has a synced
        list, else ``default`` (not required)."""
        for scope in reversed(scopes):
            if scope in self.require_opt_in:
                return self.require_opt_in[
                    scope
                ], "account" if scope == ACCOUNT_SCOPE else "service"
        if any(scope in self.active for scope in scopes):
            return True, "subscriber_sync"
        return False, "default"


def effective(event: Event | None, active: ActiveSet | None, in_set: bool) -> Status:
    """One scope's state from its event row and its active subscriber set (module doc)."""
    if active is not None and in_set:
        if event is not None and (
            event.at > active.applied_at
            or (event.status == "unsubscribed" and event.source == "keyword")
        ):
            return "subscribed" if event.status == "subscribed" else "unsubscribed"
        return "subscribed"
    if event is None:
        return "unknown"
    return "subscribed" if event.status == "subscribed" else "unsubscribed"


def scopes_for(service_sid: str | None) -> list[str]:
    """The scopes a send or an inbound message falls under, least specific first."""
    return [ACCOUNT_SCOPE, service_sid] if service_sid else [ACCOUNT_SCOPE]


async def read_states(
    conn: AsyncConnection, account_sid: str, phone: str, snap: AccountConsent, scopes: list[str]
) -> dict[str, Status]:
    """The effective state of ``phone`` in each scope (two indexed reads)."""
    cs = ct.consent_states
    events = {
        r.scope: Event(r.status, r.source, r.at)
        for r in await conn.execute(
            select(cs.c.scope, cs.c.status, cs.c.source, cs.c.at).where(
                cs.c.account_sid == account_sid, cs.c.phone == phone, cs.c.scope.in_(scopes)
            )
        )
    }
    runs = {snap.active[s].run_sid: s for s in scopes if s in snap.active}
    members: set[str] = set()
    if runs:
        sub = ct.subscribers
        members = {
            runs[r]
            for r in await conn.scalars(
                select(sub.c.run_sid).where(sub.c.run_sid.in_(list(runs)), sub.c.phone == phone)
            )
        }
    return {s: effective(events.get(s), snap.active.get(s), s in members) for s in scopes}


def upsert_state(conn: AsyncConnection, values: list[dict[str, Any]]) -> Any:
    """An INSERT … ON CONFLICT DO UPDATE of ``consent_states`` rows for this dialect."""
    cs = ct.consent_states
    stmt: Any
    if conn.dialect.name == "postgresql":
        stmt = postgresql.insert(cs).values(values)
    else:
        stmt = sqlite.insert(cs).values(values)
    return stmt.on_conflict_do_update(
        index_elements=[cs.c.account_sid, cs.c.phone, cs.c.scope],
        set_={
            "status": stmt.excluded.status,
            "source": stmt.excluded.source,
            "at": stmt.excluded.at,
        },
    )


async def record(
    conn: AsyncConnection,
    account_sid: str,
    phones: list[str],
    scope: str,
    status: Literal["subscribed", "unsubscribed"],
    source: Source,
    at: datetime,
    detail: str | None = None,
) -> None:
    """Set the state of ``phones`` in ``scope`` and append to their history (caller's txn)."""
    if not phones:
        return
    rows = [
        {
            "account_sid": account_sid,
            "phone": p,
            "scope": scope,
            "status": status,
            "source": source,
            "at": at,
        }
        for p in phones
    ]
    await conn.execute(upsert_state(conn, rows))
    await conn.execute(insert(ct.consent_history), [{**r, "detail": detail} for r in rows])


class ConsentCache:
    """Per-account consent snapshots for the send check and the inbound keyword path."""

    def __init__(self, db: Database, ttl: float = 2.0):
        self._db = db
        self._cache: SnapshotCache[AccountConsent] = SnapshotCache(self._load, ttl)

    def invalidate(self, account_sid: str) -> None:
        self._cache.invalidate(account_sid)

    async def account(self, account_sid: str) -> AccountConsent:
        return await self._cache.get(account_sid)

    async def _load(self, account_sid: str) -> AccountConsent:
        snap = AccountConsent(loaded_at=time.monotonic())
        runs, cs, st = ct.sync_runs, ct.consent_states, ct.consent_settings
        async with self._db.read() as conn:
            for r in await conn.execute(
                select(runs.c.scope, runs.c.sid, runs.c.applied_at).where(
                    runs.c.account_sid == account_sid, runs.c.status == "applied"
                )
            ):
                snap.active[r.scope] = ActiveSet(r.sid, r.applied_at)
            for r in await conn.execute(
                select(st.c.scope, st.c.require_opt_in, st.c.keywords).where(
                    st.c.account_sid == account_sid
                )
            ):
                if r.require_opt_in is not None:
                    snap.require_opt_in[r.scope] = bool(r.require_opt_in)
                if r.keywords is not None:
                    # Validated on save; should a stored one break later, keep the defaults.
                    with contextlib.suppress(KeywordConfigError):
                        snap.keywords[r.scope] = KeywordConfig.from_dict(r.keywords)
            any_event = await conn.scalar(
                select(cs.c.phone).where(cs.c.account_sid == account_sid).limit(1)
            )
        snap.has_data = bool(
            snap.active or any_event is not None or any(snap.require_opt_in.values())
        )
        return snap

    def keywords(self, snap: AccountConsent, service_sid: str | None) -> KeywordConfig:
        """The service's keyword config, else the account's, else the defaults."""
        if service_sid and service_sid in snap.keywords:
            return snap.keywords[service_sid]
        return snap.keywords.get(ACCOUNT_SCOPE) or KeywordConfig()

    async def refusal(
        self, account_sid: str, phone: str, service_sid: str | None, *, transactional: bool
    ) -> Refusal | None:
        """Why a send to ``phone`` must be refused (21610), or None when it may go."""
        snap = await self.account(account_sid)
        if not snap.has_data:
            return None
        scopes = scopes_for(service_sid)
        async with self._db.read() as conn:
            states = await read_states(conn, account_sid, phone, snap, scopes)
        if "unsubscribed" in states.values():
            return "unsubscribed"
        if "subscribed" in states.values() or transactional:
            return None
        return "unknown" if snap.requires_opt_in(scopes) else None

    async def record_refusal(
        self,
        account_sid: str,
        service_sid: str | None,
        to: str,
        reason: Refusal,
        transactional: bool,
        at: datetime,
    ) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                insert(ct.consent_refusals).values(
                    account_sid=account_sid,
                    service_sid=service_sid,
                    to_addr=to,
                    reason=reason,
                    transactional=transactional,
                    date_created=at,
                )
            )
