"""Field declarations, the account's contact settings and each contact's time zone: every
statement on ``contact_fields`` and ``contact_settings``, and on the contact columns this
domain owns (``time_zone``, ``time_zone_source``, ``language``, field values in
``attributes``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from textwire.consent import tables as ct
from textwire.contacts import tables as kt
from textwire.contacts.fields import FieldType, check_type
from textwire.contacts.timezones import ZoneChoice, resolve


@dataclass(frozen=True)
class FieldDeclaration:
    key: str
    type: FieldType
    date_created: datetime

    def resource(self, account_sid: str, base: str = "") -> dict[str, Any]:
        return {
            "account_sid": account_sid,
            "key": self.key,
            "type": self.type,
            "date_created": self.date_created.isoformat(),
            "url": f"{base}/v1/ContactFields/{self.key}",
        }


def _declaration(row: Any) -> FieldDeclaration:
    return FieldDeclaration(row.key, check_type(row.type), row.date_created)


async def declarations(conn: AsyncConnection, account_sid: str) -> list[FieldDeclaration]:
    f = kt.contact_fields
    rows = await conn.execute(select(f).where(f.c.account_sid == account_sid).order_by(f.c.key))
    return [_declaration(r) for r in rows]


async def declared_types(conn: AsyncConnection, account_sid: str) -> dict[str, FieldType]:
    return {d.key: d.type for d in await declarations(conn, account_sid)}


async def find_field(conn: AsyncConnection, account_sid: str, key: str) -> FieldDeclaration | None:
    f = kt.contact_fields
    row = (
        await conn.execute(select(f).where(f.c.account_sid == account_sid, f.c.key == key))
    ).first()
    return _declaration(row) if row is not None else None


async def count_fields(conn: AsyncConnection, account_sid: str) -> int:
    return len(await declarations(conn, account_sid))


async def add_field(
    conn: AsyncConnection, account_sid: str, key: str, type_: FieldType, now: datetime
) -> FieldDeclaration:
    await conn.execute(
        kt.contact_fields.insert().values(
            account_sid=account_sid, key=key, type=type_, date_created=now
        )
    )
    return FieldDeclaration(key, type_, now)


async def remove_field(conn: AsyncConnection, account_sid: str, key: str) -> None:
    """Drop the declaration and every contact's value for it, so that a field declared again
    under the same key with another type never finds values of the old type."""
    f = kt.contact_fields
    await conn.execute(f.delete().where(f.c.account_sid == account_sid, f.c.key == key))
    # The key matched [a-z][a-z0-9_]* when it was declared, so it is safe in a JSON path;
    # it is still passed as a parameter.
    if conn.dialect.name == "sqlite":
        sql = (
            "UPDATE contacts SET attributes = json_remove(attributes, '$.' || :key) "
            "WHERE account_sid = :account AND json_type(attributes, '$.' || :key) IS NOT NULL"
        )
    else:
        sql = (
            "UPDATE contacts SET attributes = (attributes::jsonb - CAST(:key AS text))::json "
            "WHERE account_sid = :account AND attributes::jsonb ? CAST(:key AS text)"
        )
    await conn.execute(text(sql), {"key": key, "account": account_sid})


# -- the account default time zone ---------------------------------------------------------


async def account_time_zone(conn: AsyncConnection, account_sid: str) -> str | None:
    s = kt.contact_settings
    zone = await conn.scalar(select(s.c.time_zone).where(s.c.account_sid == account_sid))
    return str(zone) if zone is not None else None


async def set_account_time_zone(
    conn: AsyncConnection, account_sid: str, zone: str | None, now: datetime
) -> int:
    """Store the default and move every contact whose zone came from it; returns how many."""
    s = kt.contact_settings
    done = await conn.execute(
        update(s).where(s.c.account_sid == account_sid).values(time_zone=zone, date_updated=now)
    )
    if done.rowcount == 0:
        await conn.execute(
            s.insert().values(account_sid=account_sid, time_zone=zone, date_updated=now)
        )
    c = ct.contacts
    moved = await conn.execute(
        update(c)
        .where(c.c.account_sid == account_sid, c.c.time_zone_source == "account")
        .values(time_zone=resolve(None, (), zone).time_zone)
    )
    return int(moved.rowcount or 0)


# -- one contact ---------------------------------------------------------------------------


async def phone_numbers(conn: AsyncConnection, account_sid: str, contact_sid: str) -> list[str]:
    ci = ct.contact_identifiers
    return list(
        await conn.scalars(
            select(ci.c.value).where(
                ci.c.account_sid == account_sid,
                ci.c.contact_sid == contact_sid,
                ci.c.type == "phoneNumber",
            )
        )
    )


async def settle_time_zone(
    conn: AsyncConnection,
    account_sid: str,
    contact_sid: str,
    *,
    explicit: str | None = None,
    clear_explicit: bool = False,
) -> ZoneChoice:
    """Set the contact's zone: ``explicit`` if given; else keep an explicit one (unless
    ``clear_explicit``); else infer it again from its numbers and the account default.

    Called after anything that may change the answer: create, update, identify, import."""
    c = ct.contacts
    row = (
        await conn.execute(
            select(c.c.time_zone, c.c.time_zone_source).where(c.c.sid == contact_sid)
        )
    ).one()
    if explicit is None and not clear_explicit and row.time_zone_source == "explicit":
        return ZoneChoice(row.time_zone, "explicit")
    phones = [] if explicit else await phone_numbers(conn, account_sid, contact_sid)
    default = None if explicit else await account_time_zone(conn, account_sid)
    choice = resolve(explicit, phones, default)
    if (row.time_zone, row.time_zone_source) != (choice.time_zone, choice.source):
        await conn.execute(
            update(c)
            .where(c.c.sid == contact_sid)
            .values(time_zone=choice.time_zone, time_zone_source=choice.source)
        )
    return choice
