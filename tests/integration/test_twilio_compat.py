"""Twilio compatibility found with Twilio's own client (issue 11 §5): list filters, the
Accounts resource, the magic test numbers, callback signatures and extension parameters."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from sqlalchemy import func, select, update
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from tests.inprocess import InProcess
from tests.support import Received, Receiver, twilio_client
from textwire.accounts import create_api_key
from textwire.api.app import create_app
from textwire.links import demo as link_demo
from textwire.messages import tables as mt
from textwire.messages.status import FINAL

SENDER = "+14155550111"


@pytest.fixture
def account(app: InProcess) -> Iterator[tuple[str, str]]:
    new = app.new_account("Acme")
    yield new.account_sid, new.auth_token


@pytest.fixture
def client(app: InProcess, account: tuple[str, str]) -> Client:
    return twilio_client(app, *account)


def add_sender(app: InProcess, auth: tuple[str, str], number: str = SENDER) -> str:
    r = app.http.post(f"{app.url}/v1/Senders", data={"Sender": number, "Mps": "100"}, auth=auth)
    assert r.status_code == 201, r.text
    return str(r.json()["sid"])


def settle(app: InProcess, sids: list[str]) -> None:
    """Wait until the worker is done with these messages (it sets date_sent itself)."""

    async def done() -> bool:
        async with app.rt.db.read() as conn:
            rows = (
                await conn.execute(
                    mt.messages.select()
                    .with_only_columns(mt.messages.c.status)
                    .where(mt.messages.c.sid.in_(sids))
                )
            ).all()
        return all(r.status in FINAL for r in rows)

    app.wait_for(done)


def set_date_sent(app: InProcess, sid: str, when: datetime) -> None:
    async def go() -> None:
        async with app.rt.db.write() as conn:
            await conn.execute(
                update(mt.messages).where(mt.messages.c.sid == sid).values(date_sent=when)
            )

    app.call(go())


def test_date_sent_filters_compare_whole_utc_days(
    app: InProcess, client: Client, account: tuple[str, str]
) -> None:
    """issue 11 §5: the client sends DateSent=2026-12-05T00:00:00Z for date(2026, 12, 5);
    Twilio reads it as that whole UTC day, DateSent< as on or before it and DateSent> as on
    or after it."""
    add_sender(app, account)
    sent = {
        "dec4_late": datetime(2026, 12, 4, 23, 59, 59, tzinfo=UTC),
        "dec5_early": datetime(2026, 12, 5, 0, 0, 0, tzinfo=UTC),
        "dec5_noon": datetime(2026, 12, 5, 12, 30, 0, tzinfo=UTC),
        "dec5_late": datetime(2026, 12, 5, 23, 59, 59, 500000, tzinfo=UTC),
        "dec6_early": datetime(2026, 12, 6, 0, 0, 0, tzinfo=UTC),
    }
    sids = {
        name: client.messages.create(to="+14155550100", from_=SENDER, body=name).sid
        for name in sent
    }
    settle(app, list(sids.values()))
    for name, when in sent.items():
        set_date_sent(app, sids[name], when)

    def bodies(**kwargs: object) -> set[str]:
        return {m.body for m in client.messages.list(**kwargs)}

    day = date(2026, 12, 5)
    assert bodies(date_sent=day) == {"dec5_early", "dec5_noon", "dec5_late"}
    assert bodies(date_sent_before=day) == {"dec4_late", "dec5_early", "dec5_noon", "dec5_late"}
    assert bodies(date_sent_after=day) == {"dec5_early", "dec5_noon", "dec5_late", "dec6_early"}
    # A datetime within the day means the same day: Twilio compares dates.
    noon = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    assert bodies(date_sent=noon) == {"dec5_early", "dec5_noon", "dec5_late"}
    assert bodies(date_sent_before=noon) == bodies(date_sent_before=day)
    assert bodies(date_sent_after=noon) == bodies(date_sent_after=day)
    # The bare date form of the reference's examples answers the same.
    raw = app.http.get(
        f"{app.url}/2010-04-01/Accounts/{account[0]}/Messages.json",
        params={"DateSent": "2026-12-05"},
        auth=account,
    ).json()
    assert {m["body"] for m in raw["messages"]} == {"dec5_early", "dec5_noon", "dec5_late"}


def test_date_sent_on_the_last_accepted_day_is_not_an_overflow(
    app: InProcess, account: tuple[str, str]
) -> None:
    """issue 11 §3/§5: the last day parse_datetime accepts (9999-12-30) still has a next
    day to end the range at, so each filter answers 200; the day after it is a 400 (see
    test_bad_input.test_date_filters_out_of_range_are_a_400), never a 500."""
    for key in ("DateSent", "DateSent<", "DateSent>"):
        r = app.http.get(
            f"{app.url}/2010-04-01/Accounts/{account[0]}/Messages.json",
            params={key: "9999-12-30"},
            auth=account,
        )
        assert r.status_code == 200, (key, r.text)
        assert r.json()["messages"] == []


def test_every_status_callback_validates_with_twilios_request_validator(
    app: InProcess, client: Client, account: tuple[str, str], hook_receiver: Receiver
) -> None:
    """issue 11 §5: a message that fails before a sender is chosen (an empty pool, 21704)
    has no From; its callback's X-Twilio-Signature must still pass Twilio's
    RequestValidator, as a normal message's does, over the parameters the body carries."""
    add_sender(app, account)
    empty = client.messaging.v1.services.create(friendly_name="Empty pool")
    url = hook_receiver.url("/status")
    failed = client.messages.create(
        to="+14155550100", messaging_service_sid=empty.sid, body="x", status_callback=url
    )
    normal = client.messages.create(to="+14155550100", from_=SENDER, body="y", status_callback=url)
    settle(app, [failed.sid, normal.sid])

    def arrived(received: list[Received]) -> bool:
        sids = [r.form.get("MessageSid") for r in received]
        return failed.sid in sids and sids.count(normal.sid) >= 2

    hook_receiver.wait_until(arrived)
    validator = RequestValidator(account[1])
    seen = set()
    for hook in hook_receiver.received:
        signature = hook.headers["x-twilio-signature"]
        # What a receiver's form parser gives: parse_qsl drops blank values by default,
        # Flask and Django keep them; both must validate.
        for params in (hook.form, dict(parse_qsl(hook.body.decode(), keep_blank_values=True))):
            assert validator.validate(hook.url, params, signature), hook.body
        seen.add(hook.form["MessageSid"])
        if hook.form["MessageSid"] == failed.sid:
            assert hook.form["ErrorCode"] == "21704" and "From" not in hook.form
    assert seen == {failed.sid, normal.sid}


def count_rows(app: InProcess, table: Any) -> int:
    async def q() -> int:
        async with app.rt.db.read() as conn:
            return int(await conn.scalar(select(func.count()).select_from(table)) or 0)

    return app.call(q())


TO_MAGIC = [
    ("+15005550001", 21211),
    ("+15005550002", 21612),
    ("+15005550003", 21408),
    ("+15005550004", 21610),
    ("+15005550009", 21614),
]
FROM_MAGIC = [("+15005550001", 21212), ("+15005550007", 21606), ("+15005550008", 21611)]


def refused(create: Callable[[], object]) -> TwilioRestException:
    with pytest.raises(TwilioRestException) as caught:
        create()
    return caught.value


def test_sandbox_refuses_twilios_magic_numbers_at_create(
    app: InProcess, account: tuple[str, str]
) -> None:
    """issue 11 §5: an account routed to the sandbox answers Twilio's test numbers as Twilio's
    test credentials do: HTTP 400 with the code at create, and nothing is written. Both
    front ends (the hot create path and FastAPI's route) refuse."""
    client = twilio_client(app, *account)
    add_sender(app, account)
    for number, _ in FROM_MAGIC:
        add_sender(app, account, number)
    service = client.messaging.v1.services.create(friendly_name="Pool")
    client.messaging.v1.services(service.sid).phone_numbers.create(
        phone_number_sid=add_sender(app, account, "+14155550122")
    )
    messages, events = count_rows(app, mt.messages), count_rows(app, mt.message_events)
    cases: list[tuple[dict[str, str], int]] = []
    for to, code in TO_MAGIC:
        cases.append(({"To": to, "From": SENDER}, code))
        cases.append(({"To": to, "MessagingServiceSid": service.sid}, code))
    cases += [({"To": "+14155550100", "From": sender}, code) for sender, code in FROM_MAGIC]
    for form, code in cases:
        err = refused(
            lambda form=form: client.messages.create(  # type: ignore[misc]
                to=form["To"],
                from_=form.get("From"),
                messaging_service_sid=form.get("MessagingServiceSid"),
                body="x",
            )
        )
        assert (err.status, err.code) == (400, code), (form, err.msg)

    async def through_fastapi() -> list[tuple[int, int]]:
        fastapi_app = create_app(app.rt, hot_paths=False)
        path = f"/2010-04-01/Accounts/{account[0]}/Messages.json"
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=fastapi_app), base_url="http://t", auth=account
        ) as http:
            answers = [await http.post(path, data={**form, "Body": "x"}) for form, _ in cases]
        return [(a.status_code, a.json()["code"]) for a in answers]

    assert app.call(through_fastapi()) == [(400, code) for _, code in cases]
    assert count_rows(app, mt.messages) == messages
    assert count_rows(app, mt.message_events) == events
    # Other numbers are accepted, Twilio's success number +15005550006 too.
    ok = client.messages.create(to="+15005550006", from_=SENDER, body="x")
    assert ok.status == "queued"


def test_magic_numbers_are_sent_through_a_provider_that_is_not_the_sandbox(
    app: InProcess, account: tuple[str, str]
) -> None:
    """issue 11 §5: only the sandbox route answers as Twilio's test credentials; a sender on
    another integration (here an HTTP provider) is not refused at create."""
    r = app.http.post(
        f"{app.url}/v1/Integrations",
        data={
            "FriendlyName": "Upstream",
            "Type": "http",
            "Settings": json.dumps(
                {"url": "http://127.0.0.1:9/send", "payload_template": '{"to": "${to}"}'}
            ),
        },
        auth=account,
    )
    assert r.status_code == 201, r.text
    r = app.http.post(
        f"{app.url}/v1/Senders",
        data={"Sender": "+14155550133", "IntegrationSid": r.json()["sid"]},
        auth=account,
    )
    assert r.status_code == 201, r.text
    client = twilio_client(app, *account)
    msg = client.messages.create(to="+15005550001", from_="+14155550133", body="x")
    assert msg.status == "queued"


def test_accounts_resource_fetch_list_and_update_with_the_twilio_client(
    app: InProcess, client: Client, account: tuple[str, str]
) -> None:
    """issue 11 §5 (F-ACCT-1): client.api.accounts(sid).fetch(), client.api.v2010.account
    .fetch(), client.api.accounts.list() and update(friendly_name=...) work as on Twilio."""
    sid = account[0]
    fetched = client.api.accounts(sid).fetch()
    assert fetched.sid == sid and fetched.friendly_name == "Acme"
    assert fetched.status == "active" and fetched.type == "Full"
    assert fetched.owner_account_sid == sid
    assert fetched.auth_token is None  # never shown again once issued
    assert fetched.uri == f"/2010-04-01/Accounts/{sid}.json"
    assert fetched.subresource_uris["messages"] == f"/2010-04-01/Accounts/{sid}/Messages.json"
    assert isinstance(fetched.date_created, datetime) and fetched.date_created.tzinfo
    assert client.api.v2010.account.fetch().sid == sid
    assert [a.sid for a in client.api.accounts.list()] == [sid]
    assert [a.sid for a in client.api.accounts.list(friendly_name="Acme")] == [sid]
    assert client.api.accounts.list(friendly_name="Other") == []

    updated = client.api.accounts(sid).update(friendly_name="Acme Corp")
    assert updated.friendly_name == "Acme Corp"
    assert client.api.v2010.account.fetch().friendly_name == "Acme Corp"
    assert updated.date_updated >= fetched.date_updated


@pytest.mark.parametrize("name", ["", "   ", "x" * 65])
def test_account_friendly_name_is_validated_naming_the_field(
    client: Client, account: tuple[str, str], name: str
) -> None:
    """issue 11 §5: FriendlyName is 1 to 64 characters; a bad one is a 400 naming it and
    changes nothing."""
    err = refused(lambda: client.api.accounts(account[0]).update(friendly_name=name))
    assert (err.status, err.code) == (400, 20001) and "FriendlyName" in err.msg
    assert client.api.v2010.account.fetch().friendly_name == "Acme"


def test_an_account_sees_only_itself(
    app: InProcess, client: Client, account: tuple[str, str]
) -> None:
    """issue 11 §5, F-SEC-1: another account's SID is 404 exactly like a missing one, for
    fetch and update; the list holds only the caller."""
    other = app.new_account("Other")
    missing = "AC" + "0" * 32
    for sid in (other.account_sid, missing):
        err = refused(lambda sid=sid: client.api.accounts(sid).fetch())  # type: ignore[misc]
        assert (err.status, err.code) == (404, 20404)
        err = refused(
            lambda sid=sid: client.api.accounts(sid).update(friendly_name="x")  # type: ignore[misc]
        )
        assert (err.status, err.code) == (404, 20404)
    assert [a.sid for a in client.api.accounts.list()] == [account[0]]
    assert (
        twilio_client(app, other.account_sid, other.auth_token)
        .api.v2010.account.fetch()
        .friendly_name
        == "Other"
    )


def test_an_api_key_may_fetch_the_account_but_not_change_it(
    app: InProcess, account: tuple[str, str]
) -> None:
    """issue 11 §5: an application authenticating with an API key can check its credentials
    (fetch, list); changing the account takes the auth token (403, 20003), as the Keys
    resource does."""
    key = app.call(create_api_key(app.rt.db, app.rt.clock, account[0], "app"))
    client = twilio_client(app, key.sid, key.secret, account[0])
    assert client.api.v2010.account.fetch().sid == account[0]
    assert [a.sid for a in client.api.accounts.list()] == [account[0]]
    err = refused(lambda: client.api.v2010.account.update(friendly_name="Taken over"))
    assert (err.status, err.code) == (403, 20003)
    err = refused(lambda: client.api.v2010.account.update(status="suspended"))
    assert (err.status, err.code) == (403, 20003)


def test_an_account_cannot_suspend_or_close_itself(
    client: Client, account: tuple[str, str]
) -> None:
    """issue 11 §5: Status names no change textwire makes through this API (an account that
    closed itself could not reopen); 400 naming the field, and the account stays active."""
    assert client.api.v2010.account.update(status="active").status == "active"
    for status in ("suspended", "closed", "bogus"):
        err = refused(lambda status=status: client.api.v2010.account.update(status=status))  # type: ignore[misc]
        assert (err.status, err.code) == (400, 20001) and "Status" in err.msg
    assert client.api.v2010.account.fetch().status == "active"


def test_transactional_is_reachable_through_the_official_client(
    app: InProcess, client: Client, account: tuple[str, str]
) -> None:
    """issue 11 §5, F-CONSENT-6: messages.create() refuses unknown keyword arguments, so
    Transactional is also a per-service default, set on the native /v1/Services API (with
    client.request, form or JSON) and used by every message naming that service; a message's
    own Transactional (client.request) overrides it."""
    base = app.url
    add_sender(app, account)
    r = client.request("POST", f"{base}/v1/Consent/Settings", data={"RequireOptIn": "true"})
    assert r.status_code == 200, r.text
    service = client.messaging.v1.services.create(friendly_name="Receipts")
    client.messaging.v1.services(service.sid).phone_numbers.create(
        phone_number_sid=add_sender(app, account, "+14155550122")
    )
    to = "+14155550100"  # never opted in: refused unless transactional
    err = refused(
        lambda: client.messages.create(to=to, messaging_service_sid=service.sid, body="x")
    )
    assert (err.status, err.code) == (400, 21610)

    r = client.request("POST", service.url, data={"Transactional": "true"})
    assert r.status_code == 200, r.text
    assert json.loads(r.text)["textwire"]["transactional"] is True
    assert client.messaging.v1.services(service.sid).fetch().sid == service.sid  # still parses
    sent = client.messages.create(to=to, messaging_service_sid=service.sid, body="receipt")
    assert sent.status == "accepted"
    # The message's own value wins over the service's default.
    messages_url = f"{base}/2010-04-01/Accounts/{account[0]}/Messages.json"
    form = {"To": to, "MessagingServiceSid": service.sid, "Body": "promo"}
    r = client.request("POST", messages_url, data={**form, "Transactional": "false"})
    assert (r.status_code, json.loads(r.text)["code"]) == (400, 21610)
    # Per message, without a service default: client.request passes any field through.
    r = client.request(
        "POST", messages_url, data={"To": to, "From": SENDER, "Body": "x", "Transactional": "true"}
    )
    assert r.status_code == 201, r.text

    # JSON on the native API too; a bad value names the field and changes nothing.
    created = app.http.post(
        f"{base}/v1/Services", json={"FriendlyName": "OTP", "Transactional": True}, auth=account
    )
    assert created.status_code == 201 and created.json()["textwire"]["transactional"] is True
    bad = client.request("POST", service.url, data={"Transactional": "maybe"})
    assert bad.status_code == 400 and "'Transactional'" in json.loads(bad.text)["message"]
    assert client.request("GET", service.url).status_code == 200
    assert json.loads(client.request("GET", service.url).text)["textwire"]["transactional"]


def test_link_mode_is_reachable_through_the_official_client(
    app: InProcess, client: Client, account: tuple[str, str]
) -> None:
    """issue 11 §5, F-LINK: the service's LinkMode (set with client.request on
    /v1/LinkShortening/MessagingServices/{MG}/Settings) shortens what messages.create() sends
    through that service; a message's own LinkMode goes through client.request."""
    add_sender(app, account)
    service = client.messaging.v1.services.create(friendly_name="Links")
    client.messaging.v1.services(service.sid).phone_numbers.create(
        phone_number_sid=add_sender(app, account, "+14155550122")
    )

    async def set_up() -> None:
        assert app.asgi is not None
        transport = httpx.ASGITransport(app=app.asgi)
        async with httpx.AsyncClient(transport=transport, base_url=app.url, auth=account) as http:
            await link_demo.set_up(http, service.sid, "https://hooks.example.com/clicks")

    app.call(set_up())  # a verified link domain for the service, its LinkMode "all"
    url = "https://shop.example.com/track/1042"
    shortened = client.messages.create(
        to="+14155550100", messaging_service_sid=service.sid, body=f"Track: {url}"
    )
    assert url not in shortened.body and link_demo.DOMAIN in shortened.body
    r = client.request(
        "POST",
        f"{app.url}/2010-04-01/Accounts/{account[0]}/Messages.json",
        data={
            "To": "+14155550100",
            "MessagingServiceSid": service.sid,
            "Body": f"Track: {url}",
            "LinkMode": "off",
        },
    )
    assert r.status_code == 201 and json.loads(r.text)["body"] == f"Track: {url}"
