"""Contacts and their identifiers: creation, lookup, identify events (linking and merging).

Every identifier (``email`` as its SHA-256 digest, ``phoneNumber`` in E.164, ``custom``)
belongs to at most one contact of an account (the primary key of ``contact_identifiers``).
An identify event naming identifiers of several contacts merges them into the oldest one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from textwire.consent import tables as ct
from textwire.consent.identifiers import Identifier
from textwire.consent.state import ActiveSet, Event, effective
from textwire.ids import new_sid

EVENT_TYPES = ("login", "signup", "newsletter", "identify")


async def find_contact(conn: AsyncConnection, account_sid: str, ident: Identifier) -> str | None:
    ci = ct.contact_identifiers
    sid = await conn.scalar(
        select(ci.c.contact_sid).where(
            ci.c.account_sid == account_sid, ci.c.type == ident.type, ci.c.value == ident.value
        )
    )
    return str(sid) if sid is not None else None


async def create_contact(
    conn: AsyncConnection,
    account_sid: str,
    now: datetime,
    *,
    friendly_name: str | None = None,
    attributes: dict[str, Any] | None = None,
) -> str:
    sid = new_sid("CT")
    await conn.execute(
        ct.contacts.insert().values(
            sid=sid,
            account_sid=account_sid,
            friendly_name=friendly_name,
            attributes=attributes,
            date_created=now,
            date_updated=now,
        )
    )
    return sid


async def attach(
    conn: AsyncConnection,
    account_sid: str,
    contact_sid: str,
    idents: list[Identifier],
    now: datetime,
) -> None:
    """Give ``idents`` (not owned by any contact) to ``contact_sid``."""
    if idents:
        await conn.execute(
            ct.contact_identifiers.insert(),
            [
                {
                    "account_sid": account_sid,
                    "type": i.type,
                    "value": i.value,
                    "contact_sid": contact_sid,
                    "date_created": now,
                }
                for i in idents
            ],
        )


async def identify(
    conn: AsyncConnection, account_sid: str, idents: list[Identifier], now: datetime
) -> tuple[str, list[str]]:
    """Link ``idents`` into one contact (created if none, merged if several).

    Returns the contact's SID and the SIDs merged into it (now deleted).
    """
    owners: dict[Identifier, str] = {}
    for ident in idents:
        sid = await find_contact(conn, account_sid, ident)
        if sid is not None:
            owners[ident] = sid
    merged: list[str] = []
    if not owners:
        target = await create_contact(conn, account_sid, now)
    else:
        c = ct.contacts
        rows = (
            await conn.execute(
                select(c.c.sid)
                .where(c.c.sid.in_(set(owners.values())))
                .order_by(c.c.date_created, c.c.sid)
            )
        ).all()
        target = rows[0].sid
        merged = [r.sid for r in rows[1:]]
        if merged:
            ci = ct.contact_identifiers
            await conn.execute(
                update(ci).where(ci.c.contact_sid.in_(merged)).values(contact_sid=target)
            )
            await conn.execute(delete(c).where(c.c.sid.in_(merged)))
        await conn.execute(update(c).where(c.c.sid == target).values(date_updated=now))
    await attach(conn, account_sid, target, [i for i in idents if i not in owners], now)
    return target, merged


async def contact_resource(
    conn: AsyncConnection, account_sid: str, sid: str, base: str = ""
) -> dict[str, Any] | None:
    """The contact as the API shows it, with identifiers and SMS consent per number/scope."""
    c, ci, cs = ct.contacts, ct.contact_identifiers, ct.consent_states
    row = (
        await conn.execute(select(c).where(c.c.sid == sid, c.c.account_sid == account_sid))
    ).first()
    if row is None:
        return None
    idents = (
        await conn.execute(
            select(ci.c.type, ci.c.value)
            .where(ci.c.account_sid == account_sid, ci.c.contact_sid == sid)
            .order_by(ci.c.type, ci.c.value)
        )
    ).all()
    phones = [i.value for i in idents if i.type == "phoneNumber"]
    consent: list[dict[str, Any]] = []
    if phones:
        runs = {
            r.scope: ActiveSet(r.sid, r.applied_at)
            for r in await conn.execute(
                select(ct.sync_runs.c.scope, ct.sync_runs.c.sid, ct.sync_runs.c.applied_at).where(
                    ct.sync_runs.c.account_sid == account_sid,
                    ct.sync_runs.c.status == "applied",
                )
            )
        }
        events = {
            (r.phone, r.scope): Event(r.status, r.source, r.at)
            for r in await conn.execute(
                select(cs).where(cs.c.account_sid == account_sid, cs.c.phone.in_(phones))
            )
        }
        sub = ct.subscribers
        members = set()
        if runs:
            members = {
                (r.phone, r.run_sid)
                for r in await conn.execute(
                    select(sub.c.phone, sub.c.run_sid).where(
                        sub.c.run_sid.in_([a.run_sid for a in runs.values()]),
                        sub.c.phone.in_(phones),
                    )
                )
            }
        for phone in phones:
            scopes = sorted({s for (p, s) in events if p == phone} | set(runs) | {""})
            for scope in scopes:
                active = runs.get(scope)
                event = events.get((phone, scope))
                in_set = active is not None and (phone, active.run_sid) in members
                status = effective(event, active, in_set)
                source, at = (event.source, event.at) if event is not None else (None, None)
                by_sync = active is not None and (event is None or event.at <= active.applied_at)
                if in_set and status == "subscribed" and by_sync and active is not None:
                    source, at = "sync", active.applied_at
                consent.append(
                    {
                        "phone_number": phone,
                        "scope": scope or None,
                        "status": status,
                        "source": source,
                        "date_updated": at.isoformat() if at is not None else None,
                    }
                )
    return {
        "sid": row.sid,
        "account_sid": row.account_sid,
        "friendly_name": row.friendly_name,
        "attributes": row.attributes,
        "time_zone": row.time_zone,
        "time_zone_source": row.time_zone_source,
        "language": row.language,
        "identifiers": [{"type": i.type, "value": i.value} for i in idents],
        "consent": {"sms": consent},
        "date_created": row.date_created.isoformat(),
        "date_updated": row.date_updated.isoformat(),
        "url": f"{base}/v1/Contacts/{row.sid}",
    }
