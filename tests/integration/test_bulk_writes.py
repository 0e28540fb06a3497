"""``Database.executemany`` stores exactly what ``conn.execute(stmt, rows)`` stores.

The hot write paths (message creation, status changes, the sandbox) hand many rows to the
driver directly; these tests write the same rows both ways, on whichever backend the
suite runs on, and compare what reads back.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from textwire.accounts import create_account
from textwire.clock import Clock
from textwire.crypto import SecretBox, load_or_create_key
from textwire.db import Database
from textwire.ids import new_sid
from textwire.messages import tables as mt
from textwire.outbox import tables as ot
from textwire.providers import tables as pt

NOW = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)


def _message(account_sid: str, i: int) -> dict[str, Any]:
    """A message row that exercises every column type, with per-row differences."""
    return {
        "sid": new_sid("SM"),
        "account_sid": account_sid,
        "service_sid": None if i % 2 else new_sid("MG"),
        "sender_sid": new_sid("PN"),
        "integration_sid": None,
        "direction": "outbound-api",
        "from_addr": "+14155550100",
        "to_addr": f"+1415200{i:04d}",
        "body": f"héllo {i} 🎉 'quoted' \"double\"",
        "num_segments": 1 + i % 3,
        "encoding": "UCS-2",
        "num_media": i % 2,
        "media_urls": ["https://example.com/a.png"] if i % 2 else None,
        "status": "queued",
        "error_code": None,
        "error_message": None,
        "status_callback": "https://example.com/cb" if i % 3 else None,
        "validity_period": 36000,
        "smart_encoded": bool(i % 2),
        "price": None,
        "price_unit": "USD",
        "provider_sid": None,
        "attempts": 0,
        "next_attempt_at": 1_700_000_000.25 + i,
        "lease_until": None,
        "lease_owner": None,
        "extra": {"k": i, "nested": [1, "two"]} if i % 2 else None,
        # The same instant in another zone, and a shared timestamp, as batches have.
        "send_at": NOW.astimezone(timezone(timedelta(hours=-5))) if i % 4 == 0 else None,
        "date_created": NOW,
        "date_updated": NOW + timedelta(microseconds=i),
        "date_sent": None,
    }


def _without_sid(row: Any) -> dict[str, Any]:
    return {k: v for k, v in dict(row).items() if k != "sid"}


async def _both_ways(database_url: str, data_dir: Path) -> None:
    db = Database(database_url)
    try:
        box = SecretBox(load_or_create_key(None, data_dir))
        account = await create_account(db, box, Clock(), "Bulk")
        plain = [_message(account.account_sid, i) for i in range(12)]
        bulk = [{**row, "sid": new_sid("SM")} for row in plain]
        async with db.write() as conn:
            await conn.execute(insert(mt.messages), plain)
            await db.executemany(conn, insert(mt.messages), bulk, key="test.messages.insert")
        m = mt.messages
        async with db.read() as conn:
            stored = {r["sid"]: r for r in (await conn.execute(select(m))).mappings()}
        for a, b in zip(plain, bulk, strict=True):
            assert _without_sid(stored[a["sid"]]) == _without_sid(stored[b["sid"]])

        stmt = (
            update(m)
            .where(m.c.sid == bindparam("_sid"))
            .values(
                status=bindparam("status"),
                extra=bindparam("extra"),
                date_sent=bindparam("date_sent"),
                error_code=bindparam("error_code"),
            )
        )

        def change(sid: str, i: int) -> dict[str, Any]:
            extra = {"rule": "country", "n": i} if i % 2 else None
            sent = NOW + timedelta(seconds=i)
            code = 30003 if i % 3 else None
            return {
                "status": "sent",
                "extra": extra,
                "date_sent": sent,
                "error_code": code,
                "_sid": sid,
            }

        async with db.write() as conn:
            await conn.execute(stmt, [change(r["sid"], i) for i, r in enumerate(plain)])
            rows = [change(r["sid"], i) for i, r in enumerate(bulk)]
            await db.executemany(conn, stmt, rows, key="test.messages.update")
        async with db.read() as conn:
            stored = {r["sid"]: r for r in (await conn.execute(select(m))).mappings()}
        for a, b in zip(plain, bulk, strict=True):
            assert stored[a["sid"]]["status"] == "sent"
            assert _without_sid(stored[a["sid"]]) == _without_sid(stored[b["sid"]])
    finally:
        await db.dispose()


def test_executemany_stores_what_sqlalchemy_stores(database_url: str, tmp_path: Path) -> None:
    asyncio.run(_both_ways(database_url, tmp_path))


async def _falls_back(database_url: str) -> list[str]:
    db = Database(database_url)
    try:
        ev = mt.message_events
        rows = [
            {"message_sid": new_sid("SM"), "status": "queued", "error_code": None, "at": NOW}
            for _ in range(3)
        ]
        # RETURNING is not something a driver executemany gives back: SQLAlchemy runs it.
        stmt = insert(ev).returning(ev.c.id)
        async with db.write() as conn:
            await db.executemany(conn, stmt, rows, key="test.events.returning")
        async with db.read() as conn:
            return list(await conn.scalars(select(ev.c.message_sid)))
    finally:
        await db.dispose()


def test_statements_it_cannot_run_go_through_sqlalchemy(database_url: str) -> None:
    assert len(asyncio.run(_falls_back(database_url))) == 3


async def _upsert_twice(database_url: str) -> list[tuple[str, int]]:
    db = Database(database_url)
    try:
        sm = pt.sandbox_messages
        dialect = sqlite if db.is_sqlite else postgresql
        stmt = dialect.insert(sm)
        upsert = stmt.on_conflict_do_update(
            index_elements=["message_sid"], set_={"submissions": sm.c.submissions + 1}
        )
        rows = [
            {
                "message_sid": new_sid("SM"),
                "account_sid": new_sid("AC"),
                "from_addr": "+14155550100",
                "to_addr": "+14152000000",
                "num_segments": 1,
                "sender_sid": None,
                "submitted_at": 1_700_000_000.5,
                "submissions": 1,
                "outcome": "delivered",
                "error_code": None,
                "report_at": None,
            }
            for _ in range(3)
        ]
        for _ in range(2):  # the second time every row conflicts: submissions + 1
            async with db.write() as conn:
                await db.executemany(conn, upsert, rows, key="test.sandbox.upsert")
        async with db.read() as conn:
            return [
                tuple(r) for r in await conn.execute(select(sm.c.message_sid, sm.c.submissions))
            ]
    finally:
        await db.dispose()


def test_statement_bound_values_are_sent_too(database_url: str) -> None:
    assert [n for _, n in asyncio.run(_upsert_twice(database_url))] == [2, 2, 2]


async def _duplicate(database_url: str) -> None:
    db = Database(database_url)
    try:
        ev = ot.webhooks
        row = {
            "id": 7,
            "account_sid": new_sid("AC"),
            "message_sid": None,
            "kind": "status",
            "url": "https://example.com/cb",
            "method": "POST",
            "content_type": "application/x-www-form-urlencoded",
            "body": "a=b",
            "headers": {"X-Twilio-Signature": "sig"},
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": None,
            "lease_until": None,
            "last_status_code": None,
            "last_error": None,
            "date_created": NOW,
            "date_updated": NOW,
        }
        async with db.write() as conn:
            await db.executemany(conn, insert(ev), [row, row], key="test.webhooks.insert")
    finally:
        await db.dispose()


def test_driver_errors_surface_as_sqlalchemy_errors(database_url: str) -> None:
    with pytest.raises(IntegrityError):
        asyncio.run(_duplicate(database_url))
