"""The click writer stores exactly what ``conn.execute(insert(link_clicks), rows)`` stores.

``ClickRecorder`` builds its rows and their driver parameters in a worker thread and sends
them as multi-row INSERTs (links/clicks.py). These tests buffer clicks of every shape
(several statements' worth, the last one short), write them through a real recorder, write
the same clicks as plain SQLAlchemy rows, and compare the raw stored values, on whichever
backend the suite runs on.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text

from textwire.accounts import TokenCache
from textwire.crypto import SecretBox, load_or_create_key
from textwire.db import Database
from textwire.ids import new_sid
from textwire.links import tables as lt
from textwire.links.clicks import (
    COLUMNS,
    MAX_BATCH,
    MAX_STORED_USER_AGENT,
    ROWS_PER_STATEMENT,
    ClickRecorder,
    LinkTarget,
)
from textwire.links.useragent import UserAgentClassifier

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
AGENTS = [
    IPHONE,
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    None,
    "x" * (MAX_STORED_USER_AGENT + 50),
    "curl/8.5.0 'quoted' \"double\" é",
]
AT = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC).timestamp()


def _target(i: int) -> LinkTarget:
    slug = f"Slug{i:06d}"
    return LinkTarget(
        slug=slug,
        url=f"https://shop.example.com/{i}",
        location=b"",
        response=b"",
        expires_at=AT + 86400,
        account_sid=new_sid("AC"),
        message_sid=new_sid("SM"),
        service_sid=new_sid("MG") if i % 2 else None,
        campaign_sid=new_sid("CA") if i % 3 == 0 else None,
        domain_sid=None,
        to_addr=f"+1415200{i:04d}",
        short_url=f"https://tw.to/{slug}",
    )


@dataclass(frozen=True)
class Click:
    target: LinkTarget
    at: float
    method: str
    ip: str | None
    user_agent: str | None


def _clicks(n: int) -> list[Click]:
    targets = [_target(i) for i in range(7)]
    return [
        Click(
            target=targets[i % len(targets)],
            at=AT + (i // 3) * 0.0004,  # several clicks per millisecond, as batches have
            method="HEAD" if i % 11 == 0 else "GET",
            ip=None if i % 13 == 0 else f"203.0.113.{i % 250}",
            user_agent=AGENTS[i % len(AGENTS)],
        )
        for i in range(n)
    ]


def _plain_row(click: Click, classifier: UserAgentClassifier) -> dict[str, Any]:
    """The row as the click's fields say, for SQLAlchemy's own INSERT."""
    target, info = click.target, classifier.classify(click.user_agent, click.method)
    return {
        "slug": target.slug,
        "clicked_at": datetime.fromtimestamp(int(click.at * 1000) / 1000, UTC),
        "method": click.method,
        "ip": click.ip,
        "user_agent": (click.user_agent or "")[:MAX_STORED_USER_AGENT] or None,
        "browser": info.browser[:64],
        "os": info.os[:64],
        "device_type": info.device_type,
        "is_bot": info.is_bot,
        "bot": info.bot[:64] if info.bot else None,
    }


async def _both_ways(database_url: str, data_dir: Path, n: int) -> None:
    db = Database(database_url)
    try:
        box = SecretBox(load_or_create_key(None, data_dir))
        classifier = UserAgentClassifier()
        recorder = ClickRecorder(
            db,
            TokenCache(db, box),
            classifier,
            batch_size=n + 1,
            interval=60,
            high_water=n + 1,
        )
        clicks = _clicks(n)
        for c in clicks:
            recorder.add(c.target, c.at, c.method, c.ip, c.user_agent)
        assert await recorder.flush() == n
        assert recorder.pending == 0 and recorder.written == n
        async with db.write() as conn:
            await conn.execute(insert(lt.link_clicks), [_plain_row(c, classifier) for c in clicks])
        async with db.read() as conn:
            raw = [
                tuple(r)
                for r in await conn.execute(
                    text(f"SELECT {', '.join(COLUMNS)} FROM link_clicks ORDER BY id")
                )
            ]
        assert len(raw) == 2 * n
        for written, plain in zip(raw[:n], raw[n:], strict=True):
            assert written == plain
    finally:
        await db.dispose()


def test_the_click_writer_stores_what_sqlalchemy_stores(database_url: str, tmp_path: Path) -> None:
    # Three statements, the last one short; bots, HEADs, missing IPs and agents, long agents.
    asyncio.run(_both_ways(database_url, tmp_path, 2 * ROWS_PER_STATEMENT + 37))


def test_the_row_columns_are_the_tables_columns() -> None:
    assert set(COLUMNS) == {c.name for c in lt.link_clicks.columns} - {"id"}
    assert len(set(COLUMNS)) == len(COLUMNS)


async def _behind(database_url: str, data_dir: Path) -> None:
    db = Database(database_url)
    try:
        box = SecretBox(load_or_create_key(None, data_dir))
        recorder = ClickRecorder(
            db,
            TokenCache(db, box),
            UserAgentClassifier(),
            batch_size=1,
            interval=60,
            high_water=10**9,
            targets_slack=0,
        )
        # More than one write takes, each click on its own link: after the first write the
        # targets kept for written clicks are pruned, and the rest must still be found.
        n = MAX_BATCH + 25
        targets = [_target(i) for i in range(n)]
        for i, target in enumerate(targets):
            recorder.add(target, AT + i / 1000, "GET", "203.0.113.1", IPHONE)
        assert await recorder.flush() == n
        async with db.read() as conn:
            stored = [
                tuple(r)
                for r in await conn.execute(
                    text("SELECT slug, clicked_at FROM link_clicks ORDER BY id")
                )
            ]
        assert [slug for slug, _ in stored] == [t.slug for t in targets]
    finally:
        await db.dispose()


def test_a_writer_that_stays_behind_keeps_the_links_of_what_it_holds(
    database_url: str, tmp_path: Path
) -> None:
    asyncio.run(_behind(database_url, tmp_path))
