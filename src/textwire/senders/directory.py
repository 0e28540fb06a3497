"""A per-account, in-memory snapshot of senders and services.

Every send looks up its ``From`` or its service's pool; reading those from the database
per message would double the cost of the hot path. A snapshot is loaded in one go, kept
for ``ttl`` seconds (so other processes' changes arrive within that), and dropped at once
when this process changes the account's senders or services.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from sqlalchemy import select

from textwire.db import Database
from textwire.senders import tables as st
from textwire.snapshots import SnapshotCache


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
    transactional: bool = False


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
        self._cache: SnapshotCache[AccountSnapshot] = SnapshotCache(self._load, ttl)

    def invalidate(self, account_sid: str) -> None:
        self._cache.invalidate(account_sid)

    async def account(self, account_sid: str) -> AccountSnapshot:
        return await self._cache.get(account_sid)

    async def _load(self, account_sid: str) -> AccountSnapshot:
        snap = AccountSnapshot(loaded_at=time.monotonic())
        async with self._db.read() as conn:
            for r in await conn.execute(
                select(st.services).where(st.services.c.account_sid == account_sid)
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
                    transactional=bool(r.transactional),
                )
                snap.pools[r.sid] = []
            for r in await conn.execute(
                select(st.senders)
                .where(st.senders.c.account_sid == account_sid)
                .order_by(st.senders.c.date_created, st.senders.c.sid)
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
