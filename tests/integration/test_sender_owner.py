"""One owning account per phone number or short code; alphanumeric IDs may be shared
(issue 11 §6, docs/senders.md "One owner per number")."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from tests.fakes import Api
from tests.schemas import OLD_HEADS
from tests.support import LiveServer
from textwire import tables as t
from textwire.config import Settings
from textwire.db import Database
from textwire.migrate import alembic_config, upgrade
from textwire.providers import tables as pt
from textwire.senders import tables as st


@pytest.fixture
def live(settings: Settings) -> Iterator[LiveServer]:
    server = LiveServer(settings).start()
    try:
        yield server
    finally:
        server.stop()


def _register(api: Api, value: str, **extra: str) -> httpx.Response:
    return api.request("POST", "/v1/Senders", data={"Sender": value, **extra})


def test_a_number_or_short_code_has_one_owning_account(live: LiveServer) -> None:
    """issue 11 §6: two accounts could register the same number."""
    shop, other = Api(live, "Shop"), Api(live, "Other")
    assert _register(shop, "+14155550111").status_code == 201
    taken = _register(other, "+14155550111")
    assert taken.status_code == 409, taken.text
    assert taken.json()["code"] == 20409 and "'Sender'" in taken.json()["message"]
    assert shop.sid not in taken.text  # the owner is not disclosed
    assert _register(shop, "+14155550111").status_code == 409  # the account's own duplicate
    assert _register(shop, "12345").status_code == 201  # a US short code
    assert _register(other, "12345").status_code == 409
    assert _register(other, "12345", Country="GB").status_code == 201  # another country's
    # Alphanumeric IDs cannot receive: they may be shared.
    assert _register(shop, "ACME").status_code == 201
    assert _register(other, "ACME").status_code == 201
    # Deleting the number frees it.
    (mine,) = [
        s
        for s in shop.request("GET", "/v1/Senders").json()["senders"]
        if s["sender"] == "+14155550111"
    ]
    assert shop.request("DELETE", f"/v1/Senders/{mine['sid']}").status_code == 204
    assert _register(other, "+14155550111").status_code == 201


def test_a_concurrent_double_register_leaves_exactly_one_owner(live: LiveServer) -> None:
    """issue 11 §6: registrations racing from many accounts: one wins, the others 409."""
    apis = [Api(live, f"Racer {i}") for i in range(8)]

    async def race() -> list[int]:
        async with httpx.AsyncClient(base_url=live.url, timeout=30) as client:
            answers = await asyncio.gather(
                *(
                    client.post("/v1/Senders", data={"Sender": "+14155550122"}, auth=api.auth)
                    for api in apis
                )
            )
        return [r.status_code for r in answers]

    codes = asyncio.run(race())
    assert sorted(codes) == [201] + [409] * (len(apis) - 1), codes

    async def owners() -> list[str]:
        async with live.rt.db.read() as conn:
            return list(
                await conn.scalars(
                    select(st.senders.c.account_sid).where(st.senders.c.value == "+14155550122")
                )
            )

    assert len(live.call(owners())) == 1


MIGRATION = "0010_sender_owner_unique"


def test_the_migration_keeps_existing_duplicates_and_makes_the_oldest_the_owner(
    fresh_database_url: str,
) -> None:
    """issue 11 §6: a database that already holds one number in two accounts must migrate;
    nothing is deleted, the oldest registration owns the number, new ones are refused."""
    url = fresh_database_url
    script = ScriptDirectory.from_config(alembic_config(url))
    parent = script.get_revision(MIGRATION).down_revision
    assert isinstance(parent, str)
    # Where a database made just before this revision stood: every other old head.
    before = [h for h in OLD_HEADS if h != MIGRATION] + [parent]

    async def run() -> tuple[dict[str, str | None], bool]:
        for head in before:
            await upgrade(url, head)
        db = Database(url)
        now = datetime(2026, 1, 1, tzinfo=UTC)
        try:
            async with db.write() as conn:
                for n, acct in enumerate(("AC" + "1" * 32, "AC" + "2" * 32)):
                    stamp = now + timedelta(minutes=n)
                    await conn.execute(
                        insert(t.accounts).values(
                            sid=acct,
                            friendly_name="a",
                            status="active",
                            auth_token_hash="h",
                            auth_token_enc="e",
                            date_created=stamp,
                            date_updated=stamp,
                        )
                    )
                    integration = "IN" + str(n + 1) * 32
                    await conn.execute(
                        insert(pt.integrations).values(
                            sid=integration,
                            account_sid=acct,
                            friendly_name="s",
                            type="sandbox",
                            settings={},
                            date_created=stamp,
                            date_updated=stamp,
                        )
                    )
                    for kind, value, country in (
                        ("long_code", "+14155550111", "US"),
                        ("alphanumeric", "ACME", None),
                    ):
                        await conn.execute(
                            insert(st.senders).values(
                                sid=("PN" if kind != "alphanumeric" else "AI") + str(n + 1) * 32,
                                account_sid=acct,
                                kind=kind,
                                value=value,
                                country=country,
                                capabilities=["sms"],
                                mps=1,
                                integration_sid=integration,
                                friendly_name=value,
                                date_created=stamp,
                                date_updated=stamp,
                            )
                        )
        finally:
            await db.dispose()
        await upgrade(url)  # must not fail on the duplicates
        db = Database(url)
        try:
            async with db.read() as conn:
                keys = {
                    r.sid: r.owner_key
                    for r in await conn.execute(select(st.senders.c.sid, st.senders.c.owner_key))
                }
            try:
                async with db.write() as conn:
                    await conn.execute(
                        insert(st.senders).values(
                            sid="PN" + "3" * 32,
                            account_sid="AC" + "2" * 32,
                            kind="long_code",
                            value="+14155550199",
                            country="US",
                            capabilities=["sms"],
                            mps=1,
                            integration_sid="IN" + "2" * 32,
                            friendly_name="x",
                            date_created=now,
                            date_updated=now,
                            owner_key="+14155550111",
                        )
                    )
            except IntegrityError:
                refused = True
            else:
                refused = False
        finally:
            await db.dispose()
        return keys, refused

    keys, refused = asyncio.run(run())
    assert keys == {
        "PN" + "1" * 32: "+14155550111",  # the oldest owns it
        "PN" + "2" * 32: None,  # kept, owning nothing
        "AI" + "1" * 32: None,
        "AI" + "2" * 32: None,
    }
    assert refused
