"""Every statement on ``templates`` and ``prices``, and the contact a preview renders for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from textwire.campaigns import template_tables as tt
from textwire.campaigns.pricing import Price
from textwire.campaigns.templates import Scalar
from textwire.consent import tables as ct
from textwire.contacts.tables import contact_fields
from textwire.ids import new_sid


@dataclass(frozen=True)
class PreviewContact:
    """What a template may read of a contact: its fields and the built-in ``contact``."""

    sid: str | None
    phone: str | None
    language: str | None
    time_zone: str | None
    fields: dict[str, Scalar]

    def builtins(self) -> dict[str, Scalar]:
        return {
            "sid": self.sid,
            "phone": self.phone,
            "language": self.language,
            "time_zone": self.time_zone,
        }


async def get_template(conn: AsyncConnection, account_sid: str, sid: str) -> dict[str, Any] | None:
    t = tt.templates
    row = (
        (await conn.execute(select(t).where(t.c.sid == sid, t.c.account_sid == account_sid)))
        .mappings()
        .first()
    )
    return dict(row) if row is not None else None


async def insert_template(conn: AsyncConnection, row: dict[str, Any]) -> None:
    await conn.execute(tt.templates.insert().values(**row))


async def update_template(
    conn: AsyncConnection, account_sid: str, sid: str, values: dict[str, Any]
) -> None:
    t = tt.templates
    await conn.execute(
        update(t).where(t.c.sid == sid, t.c.account_sid == account_sid).values(**values)
    )


async def delete_template(conn: AsyncConnection, account_sid: str, sid: str) -> bool:
    t = tt.templates
    done = await conn.execute(delete(t).where(t.c.sid == sid, t.c.account_sid == account_sid))
    return bool(done.rowcount)


async def declared_fields(conn: AsyncConnection, account_sid: str) -> frozenset[str]:
    """The account's contact field keys: a body naming any other field is refused."""
    fields = contact_fields
    keys = await conn.scalars(select(fields.c.key).where(fields.c.account_sid == account_sid))
    return frozenset(str(k) for k in keys)


async def load_contact(conn: AsyncConnection, account_sid: str, sid: str) -> PreviewContact | None:
    c, ci = ct.contacts, ct.contact_identifiers
    row = (
        (await conn.execute(select(c).where(c.c.sid == sid, c.c.account_sid == account_sid)))
        .mappings()
        .first()
    )
    if row is None:
        return None
    phone = await conn.scalar(
        select(ci.c.value)
        .where(
            ci.c.account_sid == account_sid,
            ci.c.contact_sid == sid,
            ci.c.type == "phoneNumber",
        )
        .order_by(ci.c.date_created, ci.c.value)
        .limit(1)
    )
    attributes = row["attributes"] if isinstance(row["attributes"], dict) else {}
    fields: dict[str, Scalar] = {
        str(k): v for k, v in attributes.items() if isinstance(v, str | int | float | bool)
    }
    return PreviewContact(
        sid=sid,
        phone=str(phone) if phone is not None else None,
        # language and time_zone are textwire.contacts' columns (absent before it lands).
        language=row.get("language"),
        time_zone=row.get("time_zone"),
        fields=fields,
    )


# --- prices -----------------------------------------------------------------------------------


async def prices(conn: AsyncConnection, account_sid: str) -> list[Price]:
    p = tt.prices
    return [
        Price(r.country, r.sender_kind, Decimal(r.price), r.price_unit)
        for r in await conn.execute(select(p).where(p.c.account_sid == account_sid))
    ]


async def set_price(
    conn: AsyncConnection, account_sid: str, price: Price, now: datetime
) -> dict[str, Any]:
    """Insert or replace the price of (country, sender kind); the row as stored."""
    p = tt.prices
    key = (p.c.account_sid == account_sid, p.c.country == price.country,
           p.c.sender_kind == price.sender_kind)  # fmt: skip
    values = {"price": str(price.price), "price_unit": price.price_unit, "date_updated": now}
    done = await conn.execute(update(p).where(*key).values(**values))
    if not done.rowcount:
        await conn.execute(
            p.insert().values(
                sid=new_sid("PZ"),
                account_sid=account_sid,
                country=price.country,
                sender_kind=price.sender_kind,
                date_created=now,
                **values,
            )
        )
    row = (await conn.execute(select(p).where(*key))).mappings().one()
    return dict(row)


async def get_price(conn: AsyncConnection, account_sid: str, sid: str) -> dict[str, Any] | None:
    p = tt.prices
    row = (
        (await conn.execute(select(p).where(p.c.sid == sid, p.c.account_sid == account_sid)))
        .mappings()
        .first()
    )
    return dict(row) if row is not None else None


async def delete_price(conn: AsyncConnection, account_sid: str, sid: str) -> bool:
    p = tt.prices
    done = await conn.execute(delete(p).where(p.c.sid == sid, p.c.account_sid == account_sid))
    return bool(done.rowcount)
