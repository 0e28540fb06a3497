"""A per-account, in-memory snapshot of senders and services.

Every send looks up its ``From`` or its service's pool; reading those from the database
per message would double the cost of the hot path. A snapshot is loaded in one go, kept
for ``ttl`` seconds (so other processes' changes arrive within that), and dropped at once
when this process changes the account's senders or services.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from sqlalchemy import select

from textwire import tables as t
from textwire.db import Database


@dataclass(frozen=True)
class SenderInfo:
    sid: str
    account_sid: str
    service_sid: str | None
    kind: str
    value: str
    country: str | None
    area_code: str | None
    capabilities: frozenset[str]
    mps: int
    integration_sid: str


@dataclass(frozen=True)
class ServiceInfo:
    sid: str
    account_sid: str
    status_callback: str | None
    smart_encoding: bool
    validity_period: int
    sticky_sender: bool
    area_code_geomatch: bool
    mms_converter: bool
    fallback_to_long_code: bool


@dataclass
class AccountSnapshot:
    senders_by_sid: dict[str, SenderInfo] = field(default_factory=dict)
    senders_by_value: dict[str, SenderInfo] = field(default_factory=dict)
    services: dict[str, ServiceInfo] = field(default_factory=dict)
    pools: dict[str, list[SenderInfo]] = field(default_factory=dict)
    loaded_at: float = 0.0


class Directory:
    def __init__(self, db: Database, ttl: float = 2.0):
        self._db = db
        self._ttl = ttl
        self._snapshots: dict[str, AccountSnapshot] = {}
        # One load at a time per account: when a snapshot expires under load, every
        # request in flight needs it at once, and they all share the one read.
        self._loading: dict[str, asyncio.Task[AccountSnapshot]] = {}

    def invalidate(self, account_sid: str) -> None:
        self._snapshots.pop(account_sid, None)
        self._loading.pop(account_sid, None)  # a load already running may predate the change

    async def account(self, account_sid: str) -> AccountSnapshot:
        snap = self._snapshots.get(account_sid)
        if snap is not None and time.monotonic() - snap.loaded_at < self._ttl:
            return snap
        task = self._loading.get(account_sid)
        if task is None:
            task = asyncio.create_task(self._load(account_sid))
            self._loading[account_sid] = task
            task.add_done_callback(lambda done: self._loaded(account_sid, done))
        # Shielded: a caller that goes away must not cancel the load the others wait for.
        return await asyncio.shield(task)

    def _loaded(self, account_sid: str, task: asyncio.Task[AccountSnapshot]) -> None:
        if self._loading.get(account_sid) is not task:
            return  # invalidated while loading: the result may be stale
        del self._loading[account_sid]
        if not task.cancelled() and task.exception() is None:
            self._snapshots[account_sid] = task.result()

    async def _load(self, account_sid: str) -> AccountSnapshot:
        snap = AccountSnapshot(loaded_at=time.monotonic())
        async with self._db.read() as conn:
            for r in await conn.execute(
                select(t.services).where(t.services.c.account_sid == account_sid)
            ):
                snap.services[r.sid] = ServiceInfo(
                    sid=r.sid,
                    account_sid=r.account_sid,
                    status_callback=r.status_callback,
                    smart_encoding=bool(r.smart_encoding),
                    validity_period=int(r.validity_period),
                    sticky_sender=bool(r.sticky_sender),
                    area_code_geomatch=bool(r.area_code_geomatch),
                    mms_converter=bool(r.mms_converter),
                    fallback_to_long_code=bool(r.fallback_to_long_code),
                )
                snap.pools[r.sid] = []
            for r in await conn.execute(
                select(t.senders)
                .where(t.senders.c.account_sid == account_sid)
                .order_by(t.senders.c.date_created, t.senders.c.sid)
            ):
                info = SenderInfo(
                    sid=r.sid,
                    account_sid=r.account_sid,
                    service_sid=r.service_sid,
                    kind=r.kind,
                    value=r.value,
                    country=r.country,
                    area_code=r.area_code,
                    capabilities=frozenset(r.capabilities),
                    mps=int(r.mps),
                    integration_sid=r.integration_sid,
                )
                snap.senders_by_sid[info.sid] = info
                snap.senders_by_value[info.value] = info
                if info.service_sid is not None and info.service_sid in snap.pools:
                    snap.pools[info.service_sid].append(info)
        return snap
