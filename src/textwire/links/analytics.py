"""Click analytics (F-LINK-9, issue 4 item 7): per link, message, recipient, service, campaign.

Counts leave bots out unless asked (``include_bots``); ``bot_clicks`` always says how many
were left out. Unique clicks are distinct recipients. The click-through rate is the share
of delivered messages carrying a short link (in scope) that got at least one human click:
for one recipient's one message that is 0 or 1, for a service the campaign-style CTR.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, distinct, false, func, select

from textwire.clock import iso8601
from textwire.db import Database
from textwire.links import tables as lt
from textwire.messages import store


@dataclass(frozen=True)
class Scope:
    """Which clicks to count: an account and any of link, message, recipient, service,
    campaign."""

    account_sid: str
    slug: str | None = None
    message_sid: str | None = None
    to: str | None = None
    service_sid: str | None = None
    campaign_sid: str | None = None

    def on(self, table: Any) -> list[ColumnElement[bool]]:
        """Conditions on ``links`` (clicks are selected through their links)."""
        conds: list[ColumnElement[bool]] = [table.c.account_sid == self.account_sid]
        for column, value in (
            ("slug", self.slug),
            ("message_sid", self.message_sid),
            ("to_addr", self.to),
            ("service_sid", self.service_sid),
            ("campaign_sid", self.campaign_sid),
        ):
            if value is not None:
                conds.append(table.c[column] == value)
        return conds


# Clicks are reached through their links: a click has only its link's slug (each index and
# column of ``link_clicks`` is paid on every click written), while ``links`` has an index
# for each scope.
_CLICKS = lt.link_clicks.join(lt.links, lt.link_clicks.c.slug == lt.links.c.slug)


async def stats(db: Database, scope: Scope, *, include_bots: bool = False) -> dict[str, Any]:
    """Totals, unique clicks, first/last click, device/OS/browser breakdown and CTR."""
    c, k = lt.link_clicks, lt.links
    in_scope = scope.on(k)
    counted = [*in_scope] if include_bots else [*in_scope, c.c.is_bot == false()]
    async with db.read() as conn:
        total, unique, first, last = (
            await conn.execute(
                select(
                    func.count(),
                    func.count(distinct(k.c.to_addr)),
                    func.min(c.c.clicked_at),
                    func.max(c.c.clicked_at),
                )
                .select_from(_CLICKS)
                .where(*counted)
            )
        ).one()
        bots = await conn.scalar(
            select(func.count()).select_from(_CLICKS).where(*in_scope, c.c.is_bot.is_(True))
        )
        breakdown = {
            name: {
                str(value): int(n)
                for value, n in await conn.execute(
                    select(column, func.count())
                    .select_from(_CLICKS)
                    .where(*counted)
                    .group_by(column)
                )
            }
            for name, column in (
                ("devices", c.c.device_type),
                ("os", c.c.os),
                ("browsers", c.c.browser),
            )
        }
        links = await conn.scalar(select(func.count()).where(*in_scope))
        delivered = await store.delivered_among(conn, k, k.c.message_sid, in_scope)
        clicked = await store.delivered_among(
            conn, _CLICKS, k.c.message_sid, [*in_scope, c.c.is_bot == false()]
        )
    return {
        "links": int(links or 0),
        "total_clicks": int(total or 0),
        "unique_clicks": int(unique or 0),
        "bot_clicks": int(bots or 0),
        "first_click": iso8601(_aware(first)),
        "last_click": iso8601(_aware(last)),
        "devices": breakdown["devices"],
        "os": breakdown["os"],
        "browsers": breakdown["browsers"],
        "messages_delivered_with_links": delivered,
        "messages_clicked": clicked,
        "click_through_rate": round(clicked / delivered, 4) if delivered else None,
        "include_bots": include_bots,
    }


def _aware(value: Any) -> datetime | None:
    """min()/max() bypass the column type on SQLite, which hands back a string."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


async def clicks(
    db: Database, scope: Scope, *, include_bots: bool, page: int, size: int
) -> tuple[list[dict[str, Any]], bool]:
    """One page of individual clicks, oldest first, and whether there is another page."""
    c = lt.link_clicks
    conds = scope.on(lt.links) if include_bots else [*scope.on(lt.links), c.c.is_bot == false()]
    k = lt.links
    query = (
        select(
            c,
            k.c.account_sid,
            k.c.message_sid,
            k.c.service_sid,
            k.c.campaign_sid,
            k.c.to_addr,
        )
        .select_from(_CLICKS)
        .where(*conds)
        .order_by(c.c.id)
        .offset(page * size)
        .limit(size + 1)
    )
    async with db.read() as conn:
        rows = list((await conn.execute(query)).mappings())
    return [click_resource(r) for r in rows[:size]], len(rows) > size


def click_resource(row: Any) -> dict[str, Any]:
    return {
        "slug": row["slug"],
        "account_sid": row["account_sid"],
        "message_sid": row["message_sid"],
        "messaging_service_sid": row["service_sid"],
        "campaign_sid": row["campaign_sid"],
        "to": row["to_addr"],
        "clicked_at": iso8601(row["clicked_at"]),
        "method": row["method"],
        "ip": row["ip"],
        "user_agent": row["user_agent"],
        "browser": row["browser"],
        "os": row["os"],
        "device_type": row["device_type"],
        "is_bot": bool(row["is_bot"]),
        "bot": row["bot"],
    }
