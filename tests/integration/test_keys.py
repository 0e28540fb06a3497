"""API keys: Twilio's v2010 Keys resource driven by the official client, and ``textwire keys``."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from tests.inprocess import InProcess
from tests.integration.test_cli import textwire
from tests.support import twilio_client
from textwire import tables as t
from textwire.accounts import Authenticator
from textwire.config import Settings

SENDER = "+14155550111"


@pytest.fixture
def account(app: InProcess) -> tuple[str, str]:
    new = app.new_account("Acme")
    r = app.http.post(
        f"{app.url}/v1/Senders",
        data={"Sender": SENDER},
        auth=(new.account_sid, new.auth_token),
    )
    assert r.status_code == 201, r.text
    return new.account_sid, new.auth_token


@pytest.fixture
def client(app: InProcess, account: tuple[str, str]) -> Client:
    return twilio_client(app, account[0], account[1], account[0])


def key_rows(app: InProcess) -> list[tuple[str, str, str]]:
    async def q() -> list[tuple[str, str, str]]:
        k = t.api_keys
        async with app.rt.db.read() as conn:
            rows = await conn.execute(select(k.c.sid, k.c.account_sid, k.c.friendly_name))
            return [tuple(r) for r in rows]

    return app.call(q())


def refused(exc: pytest.ExceptionInfo[TwilioRestException], status: int, code: int) -> bool:
    return exc.value.status == status and exc.value.code == code


def test_create_use_list_fetch_update_and_delete_a_key(
    app: InProcess, account: tuple[str, str], client: Client
) -> None:
    new = client.new_keys.create(friendly_name="ci")
    assert new.sid is not None and new.sid.startswith("SK") and len(new.sid) == 34
    assert new.secret and new.friendly_name == "ci"
    assert isinstance(new.date_created, datetime) and new.date_updated == new.date_created

    as_key = twilio_client(app, new.sid, new.secret, account[0])
    msg = as_key.messages.create(to="+14155550100", from_=SENDER, body="sent with a key")
    assert msg.account_sid == account[0]

    assert [k.sid for k in client.keys.list()] == [new.sid]
    raw = app.http.get(f"{app.url}/2010-04-01/Accounts/{account[0]}/Keys.json", auth=account)
    assert "secret" not in raw.json()["keys"][0]  # shown on create only
    fetched = client.keys(new.sid).fetch()
    assert (fetched.sid, fetched.friendly_name) == (new.sid, "ci")
    assert (
        "secret"
        not in app.http.get(
            f"{app.url}/2010-04-01/Accounts/{account[0]}/Keys/{new.sid}.json", auth=account
        ).json()
    )

    renamed = client.keys(new.sid).update(friendly_name="deploy bot")
    assert renamed.friendly_name == "deploy bot"
    assert client.keys(new.sid).fetch().friendly_name == "deploy bot"
    assert renamed.date_updated is not None and renamed.date_updated >= new.date_created

    assert client.keys(new.sid).delete() is True
    # The key authenticated a moment ago, so its credential is cached: the delete must
    # evict it for the very next request to be refused.
    with pytest.raises(TwilioRestException) as gone:
        as_key.messages.create(to="+14155550100", from_=SENDER, body="after revocation")
    assert refused(gone, 401, 20003)
    with pytest.raises(TwilioRestException) as missing:
        client.keys(new.sid).fetch()
    assert refused(missing, 404, 20404)
    assert client.keys.list() == []
    assert key_rows(app) == []


def test_a_key_without_a_name_and_paging(
    app: InProcess, account: tuple[str, str], client: Client
) -> None:
    unnamed = client.new_keys.create()
    assert unnamed.friendly_name is None
    sids = [unnamed.sid] + [client.new_keys.create(friendly_name=f"k{i}").sid for i in range(4)]
    # The client follows next_page_uri across three pages of two.
    assert [k.sid for k in client.keys.list(page_size=2)] == sids
    base = f"{app.url}/2010-04-01/Accounts/{account[0]}/Keys.json"
    first = app.http.get(base, params={"PageSize": 2}, auth=account).json()
    assert (first["page"], first["page_size"], first["start"], first["end"]) == (0, 2, 0, 1)
    assert first["previous_page_uri"] is None
    assert first["uri"] == f"/2010-04-01/Accounts/{account[0]}/Keys.json?PageSize=2&Page=0"
    last = app.http.get(app.url + first["next_page_uri"], auth=account).json()
    last = app.http.get(app.url + last["next_page_uri"], auth=account).json()
    assert [k["sid"] for k in last["keys"]] == sids[4:]
    assert (last["page"], last["start"], last["end"], last["next_page_uri"]) == (2, 4, 4, None)
    assert last["previous_page_uri"].endswith("PageSize=2&Page=1")


def test_a_key_cannot_manage_keys(app: InProcess, account: tuple[str, str], client: Client) -> None:
    new = client.new_keys.create(friendly_name="ci")
    as_key = twilio_client(app, new.sid, new.secret, account[0])
    attempts: list[Any] = [
        lambda: as_key.new_keys.create(friendly_name="minted"),
        lambda: as_key.keys(new.sid).fetch(),
        lambda: as_key.keys(new.sid).update(friendly_name="hijacked"),
        lambda: as_key.keys(new.sid).delete(),
    ]
    for attempt in attempts:
        with pytest.raises(TwilioRestException) as denied:
            attempt()
        assert refused(denied, 403, 20003)
        assert "API key cannot manage API keys" in denied.value.msg
    # The client raises a bare TwilioException for a refused list page; seen over HTTP:
    listed = app.http.get(
        f"{app.url}/2010-04-01/Accounts/{account[0]}/Keys.json", auth=(new.sid, new.secret)
    )
    assert listed.status_code == 403 and listed.json()["code"] == 20003
    assert key_rows(app) == [(new.sid, account[0], "ci")]
    assert as_key.messages.list() == []  # the key itself still works


def test_another_accounts_key_is_not_found(
    app: InProcess, account: tuple[str, str], client: Client
) -> None:
    other = app.new_account("Other")
    theirs = twilio_client(app, other.account_sid, other.auth_token, other.account_sid)
    key = theirs.new_keys.create(friendly_name="theirs")
    for attempt in (
        lambda: client.keys(key.sid).fetch(),
        lambda: client.keys(key.sid).update(friendly_name="mine now"),
        lambda: client.keys(key.sid).delete(),
    ):
        with pytest.raises(TwilioRestException) as hidden:
            attempt()
        assert refused(hidden, 404, 20404)
    assert client.keys.list() == []
    # Naming the other account in the path is not found either.
    r = app.http.get(f"{app.url}/2010-04-01/Accounts/{other.account_sid}/Keys.json", auth=account)
    assert r.status_code == 404 and r.json()["code"] == 20404
    assert key_rows(app) == [(key.sid, other.account_sid, "theirs")]


def test_bad_input_is_refused_and_writes_nothing(
    app: InProcess, account: tuple[str, str], client: Client
) -> None:
    with pytest.raises(TwilioRestException) as long_name:
        client.new_keys.create(friendly_name="x" * 65)
    assert refused(long_name, 400, 20001)
    assert "FriendlyName" in long_name.value.msg and "64 characters" in long_name.value.msg
    assert key_rows(app) == []

    key = client.new_keys.create(friendly_name="y" * 64)  # the limit itself is fine
    with pytest.raises(TwilioRestException) as long_rename:
        client.keys(key.sid).update(friendly_name="z" * 65)
    assert refused(long_rename, 400, 20001) and "FriendlyName" in long_rename.value.msg
    assert key_rows(app) == [(key.sid, account[0], "y" * 64)]

    base = f"{app.url}/2010-04-01/Accounts/{account[0]}/Keys.json"
    r = app.http.post(base, data={"FriendlyName": "k"}, auth=(account[0], "wrong"))
    assert r.status_code == 401 and r.json()["code"] == 20003
    r = app.http.post(base, json={"FriendlyName": "k"}, auth=account)
    assert r.status_code == 415 and r.json()["code"] == 20415
    r = app.http.get(base, params={"PageSize": 0}, auth=account)
    assert r.status_code == 400 and "PageSize" in r.json()["message"]
    assert len(key_rows(app)) == 1


def test_keys_on_the_command_line(app: InProcess, settings: Settings) -> None:
    acct = json.loads(textwire(settings, "accounts", "create", "--name", "Shop").stdout)
    sid = acct["account_sid"]
    out = textwire(settings, "keys", "create", "--name", "ci", "--json")
    assert out.returncode == 0, out.stderr
    created = json.loads(out.stdout)
    assert created["sid"].startswith("SK") and created["friendly_name"] == "ci"
    assert created["account_sid"] == sid

    as_key = twilio_client(app, created["sid"], created["secret"], sid)
    assert as_key.messages.list() == []  # the printed secret works against the API

    plain = textwire(settings, "keys", "create", "--name", "other", "--account", sid)
    assert plain.returncode == 0 and "secret" in plain.stdout and "SK" in plain.stdout
    listed = json.loads(textwire(settings, "keys", "list", "--json").stdout)
    assert [k["friendly_name"] for k in listed] == ["ci", "other"]
    assert all("secret" not in k for k in listed)
    assert created["sid"] in textwire(settings, "keys", "list", "--account", sid).stdout

    deleted = textwire(settings, "keys", "delete", created["sid"], "--account", sid)
    assert deleted.returncode == 0, deleted.stderr
    assert [
        k["friendly_name"] for k in json.loads(textwire(settings, "keys", "list", "--json").stdout)
    ] == ["other"]
    # Another process deleted it: the server refuses it once its cache entry expires; a
    # process that has not cached it refuses it now.
    fresh = Authenticator(app.rt.db)
    assert app.call(fresh.authenticate(created["sid"], created["secret"])) is None


def test_keys_command_errors_name_the_option(settings: Settings) -> None:
    textwire(settings, "accounts", "create", "--name", "One")
    too_long = textwire(settings, "keys", "create", "--name", "x" * 65)
    assert too_long.returncode == 2 and "--name" in too_long.stderr and "64" in too_long.stderr
    not_a_key = textwire(settings, "keys", "delete", "AC123")
    assert not_a_key.returncode == 2 and "SK" in not_a_key.stderr
    unknown = textwire(settings, "keys", "delete", "SK" + "0" * 32)
    assert unknown.returncode == 2 and "20404" in unknown.stderr
    nobody = textwire(settings, "keys", "create", "--account", "AC" + "0" * 32)
    assert nobody.returncode == 2 and "20404" in nobody.stderr
    textwire(settings, "accounts", "create", "--name", "Two")
    ambiguous = textwire(settings, "keys", "list")
    assert ambiguous.returncode == 2 and "--account" in ambiguous.stderr
    assert json.loads(textwire(settings, "db", "status").stdout)["api_keys"] == 0


def test_a_credential_read_in_flight_at_revocation_is_not_cached(
    app: InProcess, account: tuple[str, str]
) -> None:
    """``forget()`` while a read of that key is under way: the read may have seen the key
    before it was revoked, so what it found must not be cached."""
    from textwire.accounts import create_api_key, delete_api_key

    async def scenario() -> tuple[str | None, str | None]:
        db = app.rt.db
        key = await create_api_key(db, app.rt.clock, account[0], "race")
        auth = Authenticator(db)
        in_flight = asyncio.create_task(auth.authenticate(key.sid, key.secret))
        # One turn of the loop starts authenticate(), which starts the read as a task of
        # its own; the second turn runs that read up to its wait for the database.
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert not in_flight.done()
        auth.forget(key.sid)
        during = await in_flight
        # Deleted without forget(), as another process would: only a cached read could
        # still accept it.
        await delete_api_key(db, account[0], key.sid)
        return during, await auth.authenticate(key.sid, key.secret)

    during, after = app.call(scenario())
    assert during == account[0]
    assert after is None
