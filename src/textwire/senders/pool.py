"""How a messaging service picks a sender from its pool: the one seam for the policy.

``PoolCache`` turns a service's senders (from the account snapshot) into the pure
``selection.Pool`` and keeps it while the pool's membership is unchanged, so the scaler's
load figures (sticky mappings, last use) carry over from message to message. Mapping
counts are read from the database when a pool is (re)built.
"""

from __future__ import annotations

from collections.abc import Sequence

from textwire.db import Database
from textwire.phone import PhoneNumber
from textwire.senders import sticky
from textwire.senders.directory import SenderInfo, ServiceInfo
from textwire.senders.selection import (
    MessageKind,
    NoEligibleSender,
    Pool,
    Selection,
    SelectionSettings,
    Sender,
    select_sender,
)

_Signature = tuple[tuple[object, ...], ...]


def _signature(members: Sequence[SenderInfo]) -> _Signature:
    return tuple((s.sid, s.kind, s.value, s.country, s.area_code, s.capabilities) for s in members)


def settings_of(service: ServiceInfo) -> SelectionSettings:
    return SelectionSettings(
        sticky_sender=service.sticky_sender,
        area_code_geomatch=service.area_code_geomatch,
        mms_converter=service.mms_converter,
    )


class PoolCache:
    def __init__(self, db: Database):
        self._db = db
        self._pools: dict[str, tuple[_Signature, Pool]] = {}

    def forget(self, service_sid: str) -> None:
        self._pools.pop(service_sid, None)

    async def pool(self, service_sid: str, members: Sequence[SenderInfo]) -> Pool:
        signature = _signature(members)
        cached = self._pools.get(service_sid)
        if cached is not None and cached[0] == signature:
            return cached[1]
        async with self._db.read() as conn:
            counts = await sticky.count_by_sender(conn, [s.sid for s in members])
        pool = Pool(
            Sender(
                sid=s.sid,
                kind=s.kind,  # type: ignore[arg-type]
                value=s.value,
                country=s.country,
                area_code=s.area_code,
                capabilities=frozenset(c for c in s.capabilities if c in ("sms", "mms")),
                sticky_count=counts.get(s.sid, 0),
            )
            for s in members
        )
        self._pools[service_sid] = (signature, pool)
        return pool


def choose(
    pool: Pool,
    service: ServiceInfo,
    recipient: PhoneNumber,
    *,
    message: MessageKind = "sms",
    sticky_sid: str | None = None,
    short_code_ok: bool = True,
) -> Selection | NoEligibleSender:
    """The sender for one message, with the rule that picked it (or why none can)."""
    return select_sender(
        pool,
        recipient,
        message=message,
        sticky_sid=sticky_sid if service.sticky_sender else None,
        settings=settings_of(service),
        short_code_ok=short_code_ok,
    )
