"""Benchmark: a segment preview's count over 1,000,000 contacts (issue 13, F-CONTACT-3).

Goal on the 2-core reference machine: a preview count in about a second on SQLite.

A fresh migrated SQLite database gets N contacts (default 1,000,000), each with a phone
identifier and two custom fields (``age`` number, ``city`` text); a tenth are in a list, half
have an account-wide consent state, 5 % clicked a link in the last 60 days. Each filter below
is compiled by ``textwire.contacts.segments`` and counted as ``POST /v1/Segments/Preview``
counts it (the same function). The baseline, in the same run, is a plain
``SELECT count(*) FROM contacts WHERE account_sid = ?``. Printed: each filter's best of three
and its ratio to the baseline.

Run:

    .venv/bin/python bench/segment_preview.py            # 1,000,000 contacts
    .venv/bin/python bench/segment_preview.py --contacts 100000
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from textwire.consent import tables as ct
from textwire.contacts import audience_tables as at
from textwire.contacts import segments
from textwire.links import tables as lt
from textwire.migrate import upgrade

ACCOUNT = "AC" + "a" * 32
LIST = "LS" + "b" * 32
CITIES = ["Paris", "Lyon", "Nice", "Lille", "Nantes", "Brest", "Metz", "Pau"]
FILTERS = [
    "age >= 30",
    'city = "Paris" and age >= 30',
    "clicked within 30d",
    "consent = subscribed and not in_list LS" + "b" * 32,
    'has phone and (city in ("Lyon", "Nice") or not messaged within 7d)',
]
CHUNK = 20_000


async def _fill(conn: AsyncConnection, n: int, now: datetime) -> None:
    rnd = random.Random(13)
    await conn.execute(
        insert(at.contact_lists).values(
            sid=LIST, account_sid=ACCOUNT, friendly_name="VIP", date_created=now, date_updated=now
        )
    )
    for start in range(0, n, CHUNK):
        ids = range(start, min(n, start + CHUNK))
        sids = [f"CT{i:032x}" for i in ids]
        phones = [f"+3361{i:07d}" for i in ids]
        await conn.execute(
            insert(ct.contacts),
            [
                {
                    "sid": sid,
                    "account_sid": ACCOUNT,
                    "attributes": {"age": rnd.randint(18, 80), "city": rnd.choice(CITIES)},
                    "date_created": now,
                    "date_updated": now,
                }
                for sid in sids
            ],
        )
        await conn.execute(
            insert(ct.contact_identifiers),
            [
                {
                    "account_sid": ACCOUNT,
                    "type": "phoneNumber",
                    "value": p,
                    "contact_sid": s,
                    "date_created": now,
                }
                for s, p in zip(sids, phones, strict=True)
            ],
        )
        members = [s for s in sids if rnd.random() < 0.1]
        if members:
            await conn.execute(
                insert(at.contact_list_members),
                [{"list_sid": LIST, "contact_sid": s, "date_created": now} for s in members],
            )
        states = [p for p in phones if rnd.random() < 0.5]
        await conn.execute(
            insert(ct.consent_states),
            [
                {
                    "account_sid": ACCOUNT,
                    "phone": p,
                    "scope": "",
                    "status": rnd.choice(["subscribed", "subscribed", "unsubscribed"]),
                    "source": "api",
                    "at": now,
                }
                for p in states
            ],
        )
        clicked = [p for p in phones if rnd.random() < 0.05]
        if clicked:
            links = []
            clicks = []
            for p in clicked:
                slug = f"k{p[1:]}"
                at_ = now - timedelta(days=rnd.randint(0, 60))
                links.append(
                    {
                        "slug": slug,
                        "account_sid": ACCOUNT,
                        "message_sid": "SM" + "0" * 32,
                        "to_addr": p,
                        "url": "https://example.com/",
                        "short_url": f"https://t.example/{slug}",
                        "date_created": at_,
                        "date_expires": at_ + timedelta(days=90),
                    }
                )
                clicks.append(
                    {
                        "slug": slug,
                        "clicked_at": at_,
                        "method": "GET",
                        "browser": "Safari",
                        "os": "iOS",
                        "device_type": "mobile",
                        "is_bot": False,
                    }
                )
            await conn.execute(insert(lt.links), links)
            await conn.execute(insert(lt.link_clicks), clicks)


async def _best(conn: AsyncConnection, query: object, runs: int = 3) -> tuple[float, int]:
    best, count = float("inf"), 0
    for _ in range(runs):
        started = time.perf_counter()
        count = int(await conn.scalar(query) or 0)  # type: ignore[call-overload]
        best = min(best, time.perf_counter() - started)
    return best, count


async def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        await upgrade(url)
        engine = create_async_engine(url)
        now = datetime.now(UTC)
        started = time.perf_counter()
        async with engine.begin() as conn:
            await _fill(conn, n, now)
        print(f"{n:,} contacts written in {time.perf_counter() - started:.1f} s")
        async with engine.connect() as conn:
            await conn.exec_driver_sql("ANALYZE")
            c = ct.contacts
            plain = select(func.count()).select_from(c).where(c.c.account_sid == ACCOUNT)
            base, total = await _best(conn, plain)
            print(f"{'plain COUNT(*) of contacts':60s} {base * 1000:8.1f} ms  {total:>9,}")
            cat = segments.Catalogue(
                ACCOUNT, now, {"age": "number", "city": "text"}, {LIST: LIST, "VIP": LIST}
            )
            for text in FILTERS:
                cond = segments.condition(segments.parse_filter(text), cat)
                query = select(func.count()).select_from(c).where(c.c.account_sid == ACCOUNT, cond)
                took, count = await _best(conn, query)
                shown = text if len(text) <= 58 else text[:57] + "…"
                print(
                    f"{shown:60s} {took * 1000:8.1f} ms  {count:>9,}  x{took / base:.1f} of plain"
                )
        await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    asyncio.run(main(parser.parse_args().contacts))
