"""Sticky sender mappings (SPEC F-SVC-3): queries and their life cycle.

- created on a recipient's first message through a service with sticky sender on;
- ignored but kept while sticky sender is off (the worker simply does not read them);
- deleted when their number leaves the pool or the account;
- remapped when a number of the recipient's country joins the pool: mappings of that
  country held by numbers of another country are dropped, so the next message picks the
  new, local number and maps to it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, func, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from textwire.senders import tables as st
from textwire.senders.tables import sticky_mappings as sm


async def forget_sender(conn: AsyncConnection, sender_sid: str) -> None:
    await conn.execute(delete(sm).where(sm.c.sender_sid == sender_sid))


async def forget_service(conn: AsyncConnection, service_sid: str) -> None:
    await conn.execute(delete(sm).where(sm.c.service_sid == service_sid))


async def remap_country(conn: AsyncConnection, service_sid: str, country: str | None) -> None:
    """A number of ``country`` joined the pool: drop that country's mappings to foreign numbers."""
    if not country:
        return
    local = select(st.senders.c.sid).where(
        st.senders.c.service_sid == service_sid, st.senders.c.country == country
    )
    await conn.execute(
        delete(sm).where(
            sm.c.service_sid == service_sid,
            sm.c.to_country == country,
            sm.c.sender_sid.not_in(local.scalar_subquery()),
        )
    )


async def lookup(
    conn: AsyncConnection, pairs: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """Existing mappings for these (service, recipient) pairs."""
    wanted = list(set(pairs))
    if not wanted:
        return {}
    rows = await conn.execute(
        select(sm.c.service_sid, sm.c.to_addr, sm.c.sender_sid).where(
            tuple_(sm.c.service_sid, sm.c.to_addr).in_(wanted)
        )
    )
    return {(r.service_sid, r.to_addr): r.sender_sid for r in rows}


async def save(
    conn: AsyncConnection, is_sqlite: bool, rows: list[dict[str, object]], now: datetime
) -> None:
    """Insert new mappings; a mapping another worker made first is kept (first send wins)."""
    if not rows:
        return
    dialect = sqlite if is_sqlite else postgresql
    stmt = dialect.insert(sm).on_conflict_do_nothing(index_elements=["service_sid", "to_addr"])
    await conn.execute(stmt, [{**r, "date_created": now} for r in rows])


async def count_by_sender(conn: AsyncConnection, sender_sids: list[str]) -> dict[str, int]:
    if not sender_sids:
        return {}
    rows = await conn.execute(
        select(sm.c.sender_sid, func.count())
        .where(sm.c.sender_sid.in_(sender_sids))
        .group_by(sm.c.sender_sid)
    )
    return {sid: n for sid, n in rows}
