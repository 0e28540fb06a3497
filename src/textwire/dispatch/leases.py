"""Sender leases: one worker process hands over a given sender's messages at a time.

With the lease, the holder's in-process rate window sees every hand-over of that sender,
so its MPS holds across any number of workers and machines. A lease is renewed while in
use and taken over only once it has been expired for longer than the rate window, so the
new holder's window cannot overlap the old holder's last second.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Executable, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from textwire.senders.tables import sender_leases as sl

DURATION = 5.0
RENEW_WHEN_LEFT = 2.5
# A lease expired this long ago has no hand-over left in anyone's one-second window.
TAKEOVER_GAP = 1.05


class SenderLeases:
    def __init__(self, owner: str, is_sqlite: bool):
        self.owner = owner
        self._is_sqlite = is_sqlite
        self._held: dict[str, float] = {}

    def _upsert(self, now: float) -> Executable:
        dialect = sqlite if self._is_sqlite else postgresql
        stmt = dialect.insert(sl)
        upsert = stmt.on_conflict_do_update(
            index_elements=["sender_sid"],
            set_={"owner": stmt.excluded.owner, "lease_until": stmt.excluded.lease_until},
            where=(sl.c.owner == stmt.excluded.owner) | (sl.c.lease_until < now - TAKEOVER_GAP),
        )
        return upsert  # type: ignore[no-any-return]

    async def acquire(self, conn: AsyncConnection, senders: Iterable[str], now: float) -> set[str]:
        """The senders among ``senders`` this worker holds now (taking or renewing leases)."""
        wanted = set(senders)
        due = [s for s in wanted if self._held.get(s, 0.0) - now < RENEW_WHEN_LEFT]
        if due:
            until = now + DURATION
            await conn.execute(
                self._upsert(now),
                [{"sender_sid": s, "owner": self.owner, "lease_until": until} for s in due],
            )
            rows = await conn.execute(
                select(sl.c.sender_sid, sl.c.owner, sl.c.lease_until).where(
                    sl.c.sender_sid.in_(due)
                )
            )
            for sid, owner, lease_until in rows:
                if owner == self.owner:
                    self._held[sid] = lease_until
                else:
                    self._held.pop(sid, None)
        return {s for s in wanted if self._held.get(s, 0.0) > now}
