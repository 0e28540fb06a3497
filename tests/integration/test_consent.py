"""Contacts, the opt-in/opt-out API, keywords on inbound messages and the send pipeline's
consent check, through real HTTP (F-CONSENT 1, 2, 3, 5, 6)."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
import pytest

from tests.inprocess import InProcess
from textwire.accounts import create_api_key
from textwire.consent.inbound import handle_inbound
from textwire.consent.keywords import DEFAULT_HELP_REPLY, DEFAULT_OPT_OUT_REPLY

SENDER = "+14155550111"
OTHER_SENDER = "+14155550122"
ALICE = "+12025550123"
BOB = "+12025550124"


class Api:
    def __init__(self, app: InProcess):
        self.server = app
        acct = app.new_account("Consent")
        self.sid = acct.account_sid
        self.auth = (acct.account_sid, acct.auth_token)
        self.sender = self.ok("POST", "/v1/Senders", data={"Sender": SENDER})
        self.service = self.ok("POST", "/v1/Services", data={"FriendlyName": "svc"})
        self.ok(
            "POST",
            f"/v1/Services/{self.service['sid']}/PhoneNumbers",
            data={"PhoneNumberSid": self.sender["sid"]},
        )
        self.other = self.ok("POST", "/v1/Senders", data={"Sender": OTHER_SENDER})

    def call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        kw.setdefault("auth", self.auth)
        return self.server.http.request(method, self.server.url + path, timeout=30, **kw)

    def ok(self, method: str, path: str, **kw: Any) -> Any:
        r = self.call(method, path, **kw)
        assert r.status_code in (200, 201, 204), r.text
        return r.json() if r.status_code != 204 else None

    def send(self, to: str, **data: str) -> httpx.Response:
        data.setdefault("From", OTHER_SENDER)
        return self.call(
            "POST",
            f"/2010-04-01/Accounts/{self.sid}/Messages.json",
            data={"To": to, "Body": "Sale today!", **data},
        )

    def consent(self, which: str, ident: dict[str, Any], **headers: str) -> httpx.Response:
        kw: dict[str, Any] = {"json": {"identifier": ident}}
        if headers:
            kw["headers"] = headers
            kw["auth"] = None
        return self.call("POST", f"/v2/userdata/channels/sms/{which}", **kw)

    def inbound(self, body: str, from_: str = ALICE, to: str = SENDER) -> Any:
        return self.server.call(handle_inbound(self.server.rt, self.sid, to, from_, body))

    def messages_to(self, to: str) -> list[dict[str, Any]]:
        out = self.ok("GET", f"/2010-04-01/Accounts/{self.sid}/Messages.json", params={"To": to})
        return list(out["messages"])


@pytest.fixture
def api(app: InProcess) -> Api:
    return Api(app)


def test_contacts_crud_and_search_by_any_identifier(api: Api) -> None:
    created = api.ok(
        "POST",
        "/v1/Contacts",
        data={"PhoneNumber": ALICE, "Email": " Alice@Example.com ", "FriendlyName": "Alice"},
    )
    assert created["sid"].startswith("CT")
    digest = hashlib.sha256(b"alice@example.com").hexdigest()
    assert {"type": "email", "value": digest} in created["identifiers"]
    for params in ({"PhoneNumber": ALICE}, {"Email": "alice@example.com"}, {"Email": digest}):
        found = api.ok("GET", "/v1/Contacts", params=params)["contacts"]
        assert [c["sid"] for c in found] == [created["sid"]]
    assert api.ok("GET", "/v1/Contacts", params={"PhoneNumber": BOB})["contacts"] == []
    updated = api.ok("POST", f"/v1/Contacts/{created['sid']}", data={"CustomId": "u-1"})
    assert {"type": "custom", "value": "u-1"} in updated["identifiers"]
    assert (
        api.ok("GET", "/v1/Contacts", params={"CustomId": "u-1"})["contacts"][0]["sid"]
        == (created["sid"])
    )
    clash = api.call("POST", "/v1/Contacts", data={"PhoneNumber": ALICE})
    assert clash.status_code == 409 and "'PhoneNumber'" in clash.json()["message"]
    bad = api.call("POST", "/v1/Contacts", data={"PhoneNumber": "2025550123"})
    assert bad.status_code == 400 and "'PhoneNumber'" in bad.json()["message"]
    api.ok("DELETE", f"/v1/Contacts/{created['sid']}")
    assert api.call("GET", f"/v1/Contacts/{created['sid']}").status_code == 404


def test_identify_events_link_and_merge_contacts(api: Api) -> None:
    a = api.ok("POST", "/v1/Contacts", data={"PhoneNumber": ALICE})
    b = api.ok("POST", "/v1/Contacts", data={"Email": "alice@example.com"})
    merged = api.ok(
        "POST",
        "/v1/Contacts/Events",
        data={
            "Event": "login",
            "PhoneNumber": ALICE,
            "Email": "alice@example.com",
            "CustomId": "7",
        },
    )
    assert merged["sid"] == a["sid"] and merged["merged_contact_sids"] == [b["sid"]]
    assert len(merged["identifiers"]) == 3
    assert api.call("GET", f"/v1/Contacts/{b['sid']}").status_code == 404
    bad = api.call("POST", "/v1/Contacts/Events", data={"Event": "purchase", "PhoneNumber": ALICE})
    assert bad.status_code == 400 and "'Event'" in bad.json()["message"]


def test_opt_out_by_api_key_refuses_the_next_send_with_21610(api: Api) -> None:
    key = api.server.call(create_api_key(api.server.rt.db, api.server.rt.clock, api.sid, "k"))
    assert api.send(ALICE).status_code == 201  # no consent data yet: existing behaviour
    out = api.consent(
        "opt-out",
        {"type": "phoneNumber", "value": ALICE},
        **{"dy-api-key": f"{key.sid}:{key.secret}"},
    )
    assert out.status_code == 200, out.text
    assert out.json()["status"] == "unsubscribed"
    refused = api.send(ALICE)
    assert refused.status_code == 400 and refused.json()["code"] == 21610
    # An explicit opt-out is never bypassed, not even for transactional messages.
    assert api.send(ALICE, Transactional="true").json()["code"] == 21610
    refusals = api.ok("GET", "/v1/Consent/Refusals", params={"To": ALICE})["refusals"]
    assert [(r["reason"], r["transactional"]) for r in refusals] == [
        ("unsubscribed", True),
        ("unsubscribed", False),
    ]
    assert api.messages_to(ALICE)[0]["status"] != "failed"  # the refused ones were never created
    assert len(api.messages_to(ALICE)) == 1
    back = api.consent("opt-in", {"type": "phoneNumber", "value": ALICE})  # Basic auth
    assert back.status_code == 200 and back.json()["status"] == "subscribed"
    assert api.send(ALICE).status_code == 201
    wrong = api.consent("opt-in", {"type": "phoneNumber", "value": ALICE}, **{"dy-api-key": "x"})
    assert wrong.status_code == 401


def test_opt_in_by_email_reaches_the_contacts_numbers(api: Api) -> None:
    api.ok(
        "POST",
        "/v1/Contacts/Events",
        data={"Event": "signup", "PhoneNumber": BOB, "Email": "b@x.io"},
    )
    digest = hashlib.sha256(b"b@x.io").hexdigest()
    r = api.consent("opt-out", {"type": "email", "value": digest})
    assert r.status_code == 200 and r.json()["phone_numbers"] == [BOB]
    assert api.send(BOB).json()["code"] == 21610
    unknown = api.consent("opt-out", {"type": "custom", "value": "nobody"})
    assert unknown.status_code == 404 and "identifier.value" in unknown.json()["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", "body"),
        (b"[]", "body"),
        (b"{}", "identifier"),
        (b'{"identifier": {"type": "fax", "value": "1"}}', "identifier.type"),
        (b'{"identifier": {"type": "email", "value": "  "}}', "identifier.value"),
        (b'{"identifier": {"type": "phoneNumber", "value": "2025550123"}}', "identifier.value"),
        (
            b'{"identifier": {"type": "phoneNumber", "value": "+12025550123"},'
            b' "messagingServiceSid": "MG00000000000000000000000000000000"}',
            "messagingServiceSid",
        ),
    ],
)
def test_opt_in_bad_input_names_the_field(api: Api, body: bytes, field: str) -> None:
    r = api.call(
        "POST",
        "/v2/userdata/channels/sms/opt-in",
        content=body,
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 400, r.text
    assert f"'{field}'" in r.json()["message"]


def test_unknown_contacts_are_refused_once_opt_in_is_required(api: Api) -> None:
    assert api.send(BOB).status_code == 201
    api.ok("POST", "/v1/Consent/Settings", data={"RequireOptIn": "true"})
    refused = api.send(BOB)
    assert refused.json()["code"] == 21610 and "no opt-in" in refused.json()["message"]
    assert api.send(BOB, Transactional="true").status_code == 201
    api.consent("opt-in", {"type": "phoneNumber", "value": BOB})
    assert api.send(BOB).status_code == 201
    reasons = [r["reason"] for r in api.ok("GET", "/v1/Consent/Refusals")["refusals"]]
    assert reasons == ["unknown"]
    bad = api.call("POST", "/v1/Consent/Settings", data={"RequireOptIn": "maybe"})
    assert bad.status_code == 400 and "'RequireOptIn'" in bad.json()["message"]


def test_stop_sends_the_reply_and_the_next_send_is_refused(api: Api) -> None:
    assert api.inbound("  Stop! ") == "STOP"
    replies = api.messages_to(ALICE)
    assert [m["body"] for m in replies] == [DEFAULT_OPT_OUT_REPLY]
    assert replies[0]["from"] == SENDER
    svc = api.service["sid"]
    # A STOP to a number of a service unsubscribes from the whole service ...
    refused = api.send(ALICE, From="", MessagingServiceSid=svc)
    assert refused.status_code == 400 and refused.json()["code"] == 21610
    assert api.send(ALICE, From=SENDER).json()["code"] == 21610
    # ... but not from the account's numbers outside that service.
    assert api.send(ALICE, From=OTHER_SENDER).status_code == 201
    assert api.inbound("HELP") == "HELP"
    assert api.messages_to(ALICE)[0]["body"] == DEFAULT_HELP_REPLY
    assert api.send(ALICE, From=SENDER).json()["code"] == 21610  # HELP changes nothing
    assert api.inbound("start") == "START"
    assert api.send(ALICE, From=SENDER).status_code == 201
    assert api.inbound("Stop please") is None
    assert api.send(ALICE, From=SENDER).status_code == 201


def test_service_keywords_custom_and_language_overrides(api: Api) -> None:
    svc = api.service["sid"]
    default = api.ok("GET", f"/v1/Services/{svc}/Keywords")
    assert default["customized"] is False and "STOP" in default["keywords"]["opt_out"]["keywords"]
    config = {
        "custom": [{"keyword": "CONTACT", "reply": "Call us at 555-0100"}],
        "languages": {"es": {"help": {"keywords": ["AYUDA"], "reply": "Responda STOP"}}},
    }
    saved = api.ok("POST", f"/v1/Services/{svc}/Keywords", json=config)
    assert saved["customized"] is True
    assert api.inbound("contact") is None
    assert api.messages_to(ALICE)[0]["body"] == "Call us at 555-0100"
    assert api.inbound("Ayuda") == "HELP"
    assert api.messages_to(ALICE)[0]["body"] == "Responda STOP"
    no_stop = {"opt_out": {"keywords": ["QUIT"], "reply": "bye"}}
    bad = api.call("POST", f"/v1/Services/{svc}/Keywords", json=no_stop)
    assert bad.status_code == 400 and "opt_out" in bad.json()["message"]
    api.ok("DELETE", f"/v1/Services/{svc}/Keywords")
    assert api.inbound("contact") is None
    assert api.messages_to(ALICE)[0]["body"] == "Responda STOP"  # no reply: no longer a keyword


def test_contact_shows_consent_per_scope(api: Api) -> None:
    api.inbound("STOP")
    found = api.ok("GET", "/v1/Contacts", params={"PhoneNumber": ALICE})["contacts"]
    assert len(found) == 1
    sms = found[0]["consent"]["sms"]
    by_scope = {c["scope"]: (c["status"], c["source"]) for c in sms}
    assert by_scope[api.service["sid"]] == ("unsubscribed", "keyword")
    assert by_scope[None] == ("unknown", None)
