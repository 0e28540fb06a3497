"""The Twilio-compatible Messages API, driven by Twilio's official Python client (F-API-1)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from tests.inprocess import InProcess
from tests.support import Receiver, twilio_client
from textwire.messages import tables as mt


@pytest.fixture
def account(app: InProcess) -> Iterator[tuple[str, str]]:
    new = app.new_account("Acme")
    yield new.account_sid, new.auth_token


@pytest.fixture
def client(app: InProcess, account: tuple[str, str]) -> Client:
    return twilio_client(app, *account)


@pytest.fixture
def sender(app: InProcess, account: tuple[str, str]) -> str:
    r = app.http.post(
        f"{app.url}/v1/Senders", data={"Sender": "+14155550111", "Mps": "100"}, auth=account
    )
    assert r.status_code == 201, r.text
    return "+14155550111"


def count_rows(app: InProcess, table: Any) -> int:
    async def q() -> int:
        async with app.rt.db.read() as conn:
            return int(await conn.scalar(select(func.count()).select_from(table)) or 0)

    return app.call(q())


def test_create_fetch_and_list_with_the_twilio_client(client: Client, sender: str) -> None:
    """F-API-1: create returns 201 and Twilio's fields; fetch and list see the same message."""
    msg = client.messages.create(to="+14155550100", from_=sender, body="Hello from textwire")
    assert msg.sid.startswith("SM") and len(msg.sid) == 34
    assert msg.status == "queued"
    assert msg.num_segments == "1"
    assert msg.num_media == "0"
    assert msg.direction == "outbound-api"
    assert msg.api_version == "2010-04-01"
    assert msg.to == "+14155550100"
    assert msg.from_ == sender
    assert isinstance(msg.date_created, datetime)
    assert msg.uri == f"/2010-04-01/Accounts/{msg.account_sid}/Messages/{msg.sid}.json"

    fetched = client.messages(msg.sid).fetch()
    assert fetched.sid == msg.sid and fetched.body == "Hello from textwire"
    listed = client.messages.list(to="+14155550100")
    assert [m.sid for m in listed] == [msg.sid]


def test_segments_and_encoding_come_from_the_segment_calculator(
    client: Client, sender: str, app: InProcess
) -> None:
    """F-ENC-2: num_segments is recorded; a 161-character GSM text is 2 segments, emoji UCS-2."""
    long = client.messages.create(to="+14155550100", from_=sender, body="a" * 161)
    emoji = client.messages.create(to="+14155550100", from_=sender, body="hi 😀")
    assert long.num_segments == "2"
    assert emoji.num_segments == "1"
    raw = app.http.get(f"{app.url}{emoji.uri}", auth=(client.username, client.password)).json()
    assert raw["textwire"]["encoding"] == "UCS-2"


def test_paging_walks_every_message_once(client: Client, sender: str, app: InProcess) -> None:
    sids = {
        client.messages.create(to="+14155550100", from_=sender, body=f"n{i}").sid for i in range(7)
    }
    page = client.messages.page(page_size=3)
    seen: list[str] = []
    while page is not None:
        seen.extend(m.sid for m in page)
        page = page.next_page()
    assert len(seen) == 7 and set(seen) == sids
    assert len(client.messages.list(limit=5)) == 5
    # Page without a PageToken (hand-made, or previous_page_uri) pages by offset.
    newest_first = [m.sid for m in client.messages.list()]
    raw = app.http.get(
        f"{app.url}/2010-04-01/Accounts/{client.username}/Messages.json?PageSize=3&Page=1",
        auth=(client.username, client.password),
    ).json()
    assert [m["sid"] for m in raw["messages"]] == newest_first[3:6]


def test_filters_by_to_and_from(client: Client, sender: str) -> None:
    client.messages.create(to="+14155550100", from_=sender, body="a")
    client.messages.create(to="+14155550101", from_=sender, body="b")
    assert [m.body for m in client.messages.list(to="+14155550101")] == ["b"]
    assert len(client.messages.list(from_=sender)) == 2
    assert client.messages.list(from_="+19995550000") == []


@pytest.mark.parametrize(
    ("kwargs", "code", "field"),
    [
        ({"to": "bad", "body": "x"}, 21211, "To"),
        ({"to": "+1415", "body": "x"}, 21211, "To"),
        ({"to": "+14155550100", "body": ""}, 21602, "Body"),
        ({"to": "+14155550100", "body": "x" * 1601}, 21617, "Body"),
        ({"to": "+14155550100", "body": "x", "validity_period": 0}, 21624, "ValidityPeriod"),
        ({"to": "+14155550100", "body": "x", "validity_period": 36001}, 21624, "ValidityPeriod"),
        (
            {"to": "+14155550100", "body": "x", "status_callback": "ftp://x"},
            21609,  # Twilio's "Invalid StatusCallback" (issue 11 §1a)
            "StatusCallback",
        ),
    ],
)
def test_bad_input_is_a_coded_400_and_writes_nothing(
    client: Client, sender: str, app: InProcess, kwargs: dict[str, Any], code: int, field: str
) -> None:
    """F-SEC-4: a clear 4xx naming the field, nothing stored."""
    before = count_rows(app, mt.messages)
    with pytest.raises(TwilioRestException) as err:
        client.messages.create(from_=sender, **kwargs)
    assert err.value.status == 400
    assert err.value.code == code
    assert field in err.value.msg
    assert count_rows(app, mt.messages) == before


def test_from_must_be_a_sender_of_the_account(client: Client, sender: str) -> None:
    with pytest.raises(TwilioRestException) as err:
        client.messages.create(to="+14155550100", from_="+14155559999", body="x")
    assert err.value.code == 21606 and "From" in err.value.msg


def test_from_or_service_is_required(client: Client) -> None:
    with pytest.raises(TwilioRestException) as err:
        client.messages.create(to="+14155550100", body="x")
    assert err.value.code == 21603


def test_unknown_service_is_rejected(client: Client) -> None:
    with pytest.raises(TwilioRestException) as err:
        client.messages.create(to="+14155550100", messaging_service_sid="MG" + "0" * 32, body="x")
    assert err.value.code == 21701 and "MessagingServiceSid" in err.value.msg


def test_wrong_credentials_get_20003(app: InProcess, account: tuple[str, str]) -> None:
    bad = twilio_client(app, account[0], "0" * 32)
    with pytest.raises(TwilioRestException) as err:
        bad.messages("SM" + "0" * 32).fetch()
    assert err.value.status == 401 and err.value.code == 20003
    r = app.http.get(f"{app.url}/v1/Services")
    assert r.status_code == 401 and r.json()["code"] == 20003


def test_accounts_cannot_see_each_other(app: InProcess, client: Client, sender: str) -> None:
    """F-SEC-1: another account's message is not found, and its path is not usable."""
    msg = client.messages.create(to="+14155550100", from_=sender, body="private")
    other = app.new_account("Other")
    intruder = twilio_client(app, other.account_sid, other.auth_token)
    with pytest.raises(TwilioRestException) as err:
        intruder.messages(msg.sid).fetch()
    assert err.value.status == 404 and err.value.code == 20404
    r = app.http.get(
        f"{app.url}/2010-04-01/Accounts/{msg.account_sid}/Messages.json",
        auth=(other.account_sid, other.auth_token),
    )
    assert r.status_code == 404 and r.json()["code"] == 20404


def test_api_keys_authenticate(app: InProcess, account: tuple[str, str], sender: str) -> None:
    from textwire.accounts import create_api_key

    key = app.call(create_api_key(app.rt.db, app.rt.clock, account[0], "ci"))
    client = twilio_client(app, key.sid, key.secret, account_sid=account[0])
    msg = client.messages.create(to="+14155550100", from_=sender, body="via key")
    assert msg.account_sid == account[0]


def raw_post(app: InProcess, account: tuple[str, str], **kw: Any) -> httpx.Response:
    return app.http.post(
        f"{app.url}/2010-04-01/Accounts/{account[0]}/Messages.json", auth=account, **kw
    )


def test_malformed_bodies_get_4xx_and_write_nothing(
    app: InProcess, account: tuple[str, str], sender: str
) -> None:
    before = count_rows(app, mt.messages)
    ok_form = f"To=%2B14155550100&From={sender.replace('+', '%2B')}&Body="
    cases = [
        raw_post(
            app,
            account,
            content=ok_form + "%FF%FE",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ),
        raw_post(app, account, json={"To": "+14155550100", "From": sender, "Body": "x"}),
        raw_post(
            app,
            account,
            content=b"\xff\xfe",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ),
        raw_post(
            app,
            account,
            content=b"Body=" + b"x" * 300_000,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ),
    ]
    assert [c.status_code for c in cases] == [400, 415, 400, 413]
    for c in cases:
        body = c.json()
        assert set(body) == {"code", "message", "more_info", "status"}
    assert "UTF-8" in cases[0].json()["message"]
    assert count_rows(app, mt.messages) == before


def test_redact_and_delete(client: Client, sender: str, app: InProcess) -> None:
    msg = client.messages.create(to="+14155550100", from_=sender, body="secret code 1234")

    def final() -> Any:
        async def q() -> bool:
            async with app.rt.db.read() as conn:
                s = await conn.scalar(
                    select(mt.messages.c.status).where(mt.messages.c.sid == msg.sid)
                )
            return s == "delivered"

        return q

    app.wait_for(final())
    redacted = client.messages(msg.sid).update(body="")
    assert redacted.body == ""
    assert client.messages(msg.sid).fetch().body == ""
    assert client.messages(msg.sid).delete() is True
    with pytest.raises(TwilioRestException) as err:
        client.messages(msg.sid).fetch()
    assert err.value.code == 20404


def _service(app: InProcess, account: tuple[str, str], sender_value: str) -> str:
    svc = app.http.post(f"{app.url}/v1/Services", data={"FriendlyName": "S"}, auth=account).json()
    snd = app.http.get(f"{app.url}/v1/Senders", auth=account).json()["senders"]
    pn = next(s["sid"] for s in snd if s["sender"] == sender_value)
    r = app.http.post(
        f"{app.url}/v1/Services/{svc['sid']}/PhoneNumbers",
        data={"PhoneNumberSid": pn},
        auth=account,
    )
    assert r.status_code == 201, r.text
    return str(svc["sid"])


def test_scheduling_rules_and_cancel(
    client: Client,
    app: InProcess,
    account: tuple[str, str],
    sender: str,
    hook_receiver: Receiver,
) -> None:
    """SendAt + ScheduleType=fixed needs a service, 5 min..35 days ahead; cancel works once."""
    svc = _service(app, account, sender)
    now = datetime.now(UTC)
    with pytest.raises(TwilioRestException) as err:
        client.messages.create(
            to="+14155550100",
            from_=sender,
            body="x",
            send_at=now + timedelta(hours=1),
            schedule_type="fixed",
        )
    assert err.value.code == 35118
    with pytest.raises(TwilioRestException) as err:
        client.messages.create(
            to="+14155550100",
            messaging_service_sid=svc,
            body="x",
            send_at=now - timedelta(minutes=1),
            schedule_type="fixed",
        )
    assert err.value.code == 35114 and "SendAt" in err.value.msg
    with pytest.raises(TwilioRestException) as err:
        client.messages.create(
            to="+14155550100",
            messaging_service_sid=svc,
            body="x",
            send_at=now + timedelta(days=36),
            schedule_type="fixed",
        )
    assert err.value.code == 35115
    with pytest.raises(TwilioRestException) as err:
        client.messages.create(
            to="+14155550100", messaging_service_sid=svc, body="x", schedule_type="fixed"
        )
    assert err.value.code == 35111

    msg = client.messages.create(
        to="+14155550100",
        messaging_service_sid=svc,
        body="later",
        send_at=now + timedelta(hours=2),
        schedule_type="fixed",
        status_callback=hook_receiver.url("/cancel"),
    )
    assert msg.status == "scheduled" and msg.date_sent is None
    # Redacting a message still waiting would send it empty: refused, body kept.
    with pytest.raises(TwilioRestException) as err:
        client.messages(msg.sid).update(body="")
    assert err.value.code == 20409
    assert client.messages(msg.sid).fetch().body == "later"
    canceled = client.messages(msg.sid).update(status="canceled")
    assert canceled.status == "canceled"
    assert [r.form["MessageStatus"] for r in hook_receiver.wait_for(1, 10)] == ["canceled"]
    with pytest.raises(TwilioRestException) as err:
        client.messages(msg.sid).update(status="canceled")
    assert err.value.code == 35119


def test_unknown_routes_and_methods_get_twilio_codes(app: InProcess) -> None:
    missing = app.http.get(f"{app.url}/2010-04-01/Nope.json")
    assert missing.status_code == 404 and missing.json()["code"] == 20404
    wrong = app.http.put(f"{app.url}/v1/Services")
    assert wrong.status_code == 405 and wrong.json()["code"] == 20004
