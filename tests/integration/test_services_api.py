"""Messaging services and senders (F-SVC-1, F-SVC-10, F-ORIG-1..3), through Twilio's client."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from tests.inprocess import InProcess
from tests.support import twilio_client


@pytest.fixture
def creds(app: InProcess) -> tuple[str, str]:
    new = app.new_account("Acme")
    return new.account_sid, new.auth_token


@pytest.fixture
def client(app: InProcess, creds: tuple[str, str]) -> Client:
    return twilio_client(app, *creds)


def add_sender(app: InProcess, creds: tuple[str, str], **data: str) -> httpx.Response:
    return app.http.post(f"{app.url}/v1/Senders", data=data, auth=creds)


def test_service_crud_with_the_twilio_client(client: Client) -> None:
    svc = client.messaging.v1.services.create(
        friendly_name="Alerts", status_callback="https://example.com/status", sticky_sender=False
    )
    assert svc.sid.startswith("MG")
    assert svc.friendly_name == "Alerts"
    assert svc.sticky_sender is False
    assert svc.validity_period == 36000
    assert svc.status_callback == "https://example.com/status"
    assert svc.links["phone_numbers"].endswith(f"/v1/Services/{svc.sid}/PhoneNumbers")

    updated = client.messaging.v1.services(svc.sid).update(
        friendly_name="Alerts 2", validity_period=600
    )
    assert updated.friendly_name == "Alerts 2" and updated.validity_period == 600
    assert client.messaging.v1.services(svc.sid).fetch().validity_period == 600
    assert [s.sid for s in client.messaging.v1.services.list()] == [svc.sid]
    assert client.messaging.v1.services(svc.sid).delete() is True
    with pytest.raises(TwilioRestException) as err:
        client.messaging.v1.services(svc.sid).fetch()
    assert err.value.code == 20404


def test_service_list_pages_with_absolute_meta_urls(client: Client) -> None:
    for i in range(5):
        client.messaging.v1.services.create(friendly_name=f"s{i}")
    names = [s.friendly_name for s in client.messaging.v1.services.list(page_size=2)]
    assert names == [f"s{i}" for i in range(5)]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"friendly_name": ""}, "FriendlyName"),
        ({"friendly_name": "x" * 65}, "FriendlyName"),
        ({"friendly_name": "ok", "validity_period": 0}, "ValidityPeriod"),
        ({"friendly_name": "ok", "usecase": "spam"}, "Usecase"),
        ({"friendly_name": "ok", "status_callback": "not a url"}, "StatusCallback"),
    ],
)
def test_bad_service_parameters(client: Client, params: dict[str, Any], field: str) -> None:
    with pytest.raises(TwilioRestException) as err:
        client.messaging.v1.services.create(**params)
    assert err.value.status == 400 and field in err.value.msg
    assert client.messaging.v1.services.list() == []


def test_sender_kinds_countries_and_default_mps(app: InProcess, creds: tuple[str, str]) -> None:
    """F-ORIG-1/2: kind and country from the value; MPS defaults per kind."""
    expected = {
        "+447400123456": ("long_code", "GB", 1),
        "+18005550100": ("toll_free", "US", 3),
        "60006": ("short_code", "US", 100),
        "Acme Co": ("alphanumeric", None, 10),
    }
    for value, (kind, country, mps) in expected.items():
        r = add_sender(app, creds, Sender=value)
        assert r.status_code == 201, r.text
        body = r.json()
        assert (body["kind"], body["country"], body["mps"]) == (kind, country, mps)
    listed = app.http.get(f"{app.url}/v1/Senders", auth=creds).json()["senders"]
    assert {s["sender"] for s in listed} == set(expected)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"Sender": "12"}, "Sender"),
        ({"Sender": "123456789"}, "Sender"),
        ({"Sender": "A" * 12}, "Sender"),
        ({"Sender": "4155550100"}, "Sender"),
        ({"Sender": "+1415"}, "Sender"),
        ({"Sender": "Bad*Name"}, "Sender"),
        ({}, "Sender"),
        ({"Sender": "+14155550111", "Mps": "0"}, "Mps"),
        ({"Sender": "+14155550111", "Capabilities": "fax"}, "Capabilities"),
        ({"Sender": "+14155550111", "IntegrationSid": "IN" + "0" * 32}, "IntegrationSid"),
    ],
)
def test_bad_senders_are_rejected_naming_the_rule(
    app: InProcess, creds: tuple[str, str], data: dict[str, str], field: str
) -> None:
    r = add_sender(app, creds, **data)
    assert r.status_code == 400, r.text
    assert field in r.json()["message"]
    assert app.http.get(f"{app.url}/v1/Senders", auth=creds).json()["senders"] == []


def test_duplicate_sender_conflicts(app: InProcess, creds: tuple[str, str]) -> None:
    assert add_sender(app, creds, Sender="+14155550111").status_code == 201
    r = add_sender(app, creds, Sender="+14155550111")
    assert r.status_code == 409 and r.json()["code"] == 20409


def test_pools_phone_numbers_short_codes_alpha_senders(
    app: InProcess, creds: tuple[str, str], client: Client
) -> None:
    svc = client.messaging.v1.services.create(friendly_name="Pool")
    pn = add_sender(app, creds, Sender="+14155550111").json()
    sc = add_sender(app, creds, Sender="60006").json()
    svc_api = client.messaging.v1.services(svc.sid)

    number = svc_api.phone_numbers.create(phone_number_sid=pn["sid"])
    assert number.phone_number == "+14155550111" and number.country_code == "US"
    assert "SMS" in number.capabilities
    short = svc_api.short_codes.create(short_code_sid=sc["sid"])
    assert short.short_code == "60006"
    with pytest.raises(TwilioRestException) as err:
        svc_api.alpha_senders.create(alpha_sender="+14155550199")
    assert err.value.status == 400 and "AlphaSender" in err.value.msg
    senders = app.http.get(f"{app.url}/v1/Senders", auth=creds).json()["senders"]
    assert "+14155550199" not in {s["sender"] for s in senders}  # nothing was written
    alpha = svc_api.alpha_senders.create(alpha_sender="ACME")
    assert alpha.sid.startswith("AI") and alpha.alpha_sender == "ACME"

    assert [n.sid for n in svc_api.phone_numbers.list()] == [pn["sid"]]
    assert [s.sid for s in svc_api.short_codes.list()] == [sc["sid"]]
    assert [a.alpha_sender for a in svc_api.alpha_senders.list()] == ["ACME"]

    # A short code is not a phone number, and a number lives in one service only.
    with pytest.raises(TwilioRestException) as err:
        svc_api.phone_numbers.create(phone_number_sid=sc["sid"])
    assert "PhoneNumberSid" in err.value.msg
    other = client.messaging.v1.services.create(friendly_name="Other")
    with pytest.raises(TwilioRestException) as err:
        client.messaging.v1.services(other.sid).phone_numbers.create(phone_number_sid=pn["sid"])
    assert err.value.code == 21710

    assert svc_api.phone_numbers(pn["sid"]).delete() is True
    assert svc_api.phone_numbers.list() == []
    # Removing from the pool keeps the sender in the account.
    assert app.http.get(f"{app.url}/v1/Senders/{pn['sid']}", auth=creds).status_code == 200
