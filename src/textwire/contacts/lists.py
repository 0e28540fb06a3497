"""Static contact lists (F-CONTACT-3): a named set of contacts, changed only by API calls.

Membership is a row per (list, contact); adding a member twice is a no-op and removing one
that is not there is too, so a retried request changes nothing more. A member whose contact
is deleted stops counting at once (every read joins ``contacts``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from textwire.consent import tables as ct
from textwire.contacts import audience_tables as at
from textwire.ids import new_sid

PREFIX = "LS"
MAX_NAME = 64

cl = at.contact_lists
members = at.contact_list_members


async def owner_of_name(conn: AsyncConnection, account_sid: str, name: str) -> str | None:
    """The SID of the account's list called ``name``, if any."""
    found = await conn.scalar(
        select(cl.c.sid).where(cl.c.account_sid == account_sid, cl.c.friendly_name == name)
    )
    return None if found is None else str(found)


async def create(conn: AsyncConnection, account_sid: str, name: str, now: datetime) -> str:
    sid = new_sid(PREFIX)
    await conn.execute(
        insert(cl).values(
            sid=sid, account_sid=account_sid, friendly_name=name, date_created=now, date_updated=now
        )
    )
    return sid


async def rename(conn: AsyncConnection, sid: str, name: str, now: datetime) -> None:
    await conn.execute(
        update(cl).where(cl.c.sid == sid).values(friendly_name=name, date_updated=now)
    )


async def delete_list(conn: AsyncConnection, sid: str) -> None:
    await conn.execute(delete(members).where(members.c.list_sid == sid))
    await conn.execute(delete(cl).where(cl.c.sid == sid))


async def fetch(conn: AsyncConnection, account_sid: str, sid: str) -> Any | None:
    return (
        await conn.execute(select(cl).where(cl.c.sid == sid, cl.c.account_sid == account_sid))
    ).first()


async def member_count(conn: AsyncConnection, sid: str) -> int:
    c = ct.contacts
    found = await conn.scalar(
        select(func.count())
        .select_from(members.join(c, c.c.sid == members.c.contact_sid))
        .where(members.c.list_sid == sid)
    )
    return int(found or 0)


async def contacts_of_account(
    conn: AsyncConnection, account_sid: str, sids: Iterable[str]
) -> set[str]:
    """Which of ``sids`` are contacts of the account."""
    c = ct.contacts
    wanted = sorted(set(sids))
    if not wanted:
        return set()
    found = await conn.scalars(
        select(c.c.sid).where(c.c.account_sid == account_sid, c.c.sid.in_(wanted))
    )
    return set(found)


async def add(conn: AsyncConnection, sid: str, contact_sids: Sequence[str], now: datetime) -> int:
    """Add ``contact_sids`` (contacts of the list's account); returns how many were new."""
    wanted = list(dict.fromkeys(contact_sids))
    if not wanted:
        return 0
    present = set(
        await conn.scalars(
            select(members.c.contact_sid).where(
                members.c.list_sid == sid, members.c.contact_sid.in_(wanted)
            )
        )
    )
    new = [s for s in wanted if s not in present]
    if new:
        await conn.execute(
            insert(members),
            [{"list_sid": sid, "contact_sid": s, "date_created": now} for s in new],
        )
        await conn.execute(update(cl).where(cl.c.sid == sid).values(date_updated=now))
    return len(new)


async def remove(
    conn: AsyncConnection, sid: str, contact_sids: Sequence[str], now: datetime
) -> int:
    """Remove ``contact_sids`` from the list; returns how many were members."""
    if not contact_sids:
        return 0
    result = await conn.execute(
        delete(members).where(
            members.c.list_sid == sid, members.c.contact_sid.in_(list(set(contact_sids)))
        )
    )
    if result.rowcount:
        await conn.execute(update(cl).where(cl.c.sid == sid).values(date_updated=now))
    return int(result.rowcount or 0)


async def page_of_members(conn: AsyncConnection, sid: str, page: int, size: int) -> list[Any]:
    """Members that are contacts still, oldest membership first; ``size + 1`` rows read."""
    c = ct.contacts
    return list(
        (
            await conn.execute(
                select(members.c.contact_sid, members.c.date_created)
                .select_from(members.join(c, c.c.sid == members.c.contact_sid))
                .where(members.c.list_sid == sid)
                .order_by(members.c.date_created, members.c.contact_sid)
                .offset(page * size)
                .limit(size + 1)
            )
        ).all()
    )


def resource(row: Any, count: int, base: str) -> dict[str, Any]:
    url = f"{base}/v1/Lists/{row.sid}"
    return {
        "sid": row.sid,
        "account_sid": row.account_sid,
        "friendly_name": row.friendly_name,
        "member_count": count,
        "date_created": row.date_created.isoformat(),
        "date_updated": row.date_updated.isoformat(),
        "url": url,
        "links": {"members": f"{url}/Members"},
    }
