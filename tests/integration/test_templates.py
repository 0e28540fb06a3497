"""/v1/Templates and /v1/Prices through the in-process app: bodies checked when saved (a bad
one is a 400 naming the field, line and column, and writes nothing), language and A/B
variants, and a per-contact preview with encoding, segments, links and estimated cost
(SPEC F-CAMP-1, F-CAMP-4)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.inprocess import InProcess

ALICE = "+12025550123"
PARIS = "+33612345678"


class Api:
    def __init__(self, app: InProcess, name: str = "Templates"):
        self.server = app
        acct = app.new_account(name)
        self.auth = (acct.account_sid, acct.auth_token)
        # A body may name only declared contact fields (and the built-ins).
        for key in FIELDS:
            self.ok("POST", "/v1/ContactFields", data={"Key": key, "Type": "text"})

    def call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        kw.setdefault("auth", self.auth)
        return self.server.http.request(method, self.server.url + path, timeout=30, **kw)

    def ok(self, method: str, path: str, **kw: Any) -> Any:
        r = self.call(method, path, **kw)
        assert r.status_code in (200, 201, 204), r.text
        return r.json() if r.status_code != 204 else None

    def refused(self, method: str, path: str, **kw: Any) -> str:
        r = self.call(method, path, **kw)
        assert r.status_code == 400, r.text
        body = r.json()
        assert body["code"] in (20001, 21211)
        return str(body["message"])

    def templates(self) -> list[dict[str, Any]]:
        return list(self.ok("GET", "/v1/Templates")["templates"])


FIELDS = ("first_name", "city", "name", "nome", "a", "word", "n")


@pytest.fixture
def api(app: InProcess) -> Api:
    return Api(app)


def test_create_fetch_list_update_delete(api: Api) -> None:
    created = api.ok(
        "POST",
        "/v1/Templates",
        data={"FriendlyName": "Welcome", "Body": 'Hi {{ first_name | default("there") }}'},
    )
    sid = created["sid"]
    assert sid.startswith("HX")
    assert created["variables"] == ["first_name"]
    assert created["languages"] == {} and created["variants"] is None
    assert api.ok("GET", f"/v1/Templates/{sid}") == created
    assert [t["sid"] for t in api.templates()] == [sid]

    updated = api.ok(
        "POST",
        f"/v1/Templates/{sid}",
        json={"Languages": {"ES": "Hola {{ first_name }}", "pt-br": "Oi {{ nome }}"}},
    )
    assert updated["body"] == created["body"]
    assert updated["languages"] == {"es": "Hola {{ first_name }}", "pt-BR": "Oi {{ nome }}"}
    assert updated["variables"] == ["first_name", "nome"]

    assert api.ok("DELETE", f"/v1/Templates/{sid}") is None
    assert api.call("GET", f"/v1/Templates/{sid}").status_code == 404
    assert api.call("DELETE", f"/v1/Templates/{sid}").status_code == 404


def test_another_accounts_template_looks_missing(app: InProcess, api: Api) -> None:
    sid = api.ok("POST", "/v1/Templates", data={"Body": "x"})["sid"]
    other = Api(app, "Other")
    assert other.call("GET", f"/v1/Templates/{sid}").status_code == 404
    assert other.call("POST", f"/v1/Templates/{sid}/Preview").status_code == 404
    assert other.templates() == []


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        ({"Body": "Hi {{ name }"}, "Body", "at line 1, column 4"),
        ({"Body": "ok\n{{ ''.__class__ }}"}, "Body", "'__class__' is not available"),
        ({"Body": "{% for c in name %}{% endfor %}"}, "Body", "only run over range()"),
        ({"Body": ""}, "Body", "must not be empty"),
        ({"Body": "x", "Languages": {"es": "{% if %}"}}, "Languages.es", "line 1"),
        ({"Body": "x", "Languages": {"not a tag": "x"}}, "Languages.not a tag", "language tag"),
        ({"Body": "x", "Languages": ["es"]}, "Languages", "JSON object"),
        ({"Body": "x", "Variants": {"A": {"body": "a"}}}, "Variants", "2 to 5"),
        (
            {"Body": "x", "Variants": {"A": {"body": "a"}, "B": {"body": "{{ b.c( }}"}}},
            "Variants.B.body",
            "line 1",
        ),
        (
            {"Body": "x", "Variants": {"A": {"body": "a", "weight": 0}, "B": {"body": "b"}}},
            "Variants.A.weight",
            "between 1 and",
        ),
        (
            {"Body": "x", "Variants": {"A": {"body": "a", "colour": 1}, "B": {"body": "b"}}},
            "Variants.A.colour",
            "not a variant key",
        ),
    ],
)
def test_a_bad_body_is_a_400_naming_the_field_and_nothing_is_written(
    api: Api, body: dict[str, Any], field: str, rule: str
) -> None:
    message = api.refused("POST", "/v1/Templates", json=body)
    assert f"'{field}'" in message and rule in message
    assert api.templates() == []


def test_a_field_the_account_has_not_declared_is_refused(api: Api) -> None:
    """F-CAMP-1: an unknown field is a 400 naming the parameter and where it is."""
    message = api.refused("POST", "/v1/Templates", data={"Body": "Hi {{ surname }}"})
    assert "'surname' is not a contact field at line 1, column" in message
    assert api.templates() == []


def test_a_bad_update_changes_nothing(api: Api) -> None:
    created = api.ok("POST", "/v1/Templates", data={"Body": "Hi {{ a }}"})
    message = api.refused("POST", f"/v1/Templates/{created['sid']}", data={"Body": "{{ a + }}"})
    assert "line 1, column" in message
    assert api.ok("GET", f"/v1/Templates/{created['sid']}") == created


def test_preview_renders_for_an_inline_contact_with_encoding_segments_links_and_cost(
    api: Api,
) -> None:
    api.ok("POST", "/v1/Prices", data={"Country": "US", "Price": "0.0079"})
    api.ok("POST", "/v1/Prices", data={"Country": "*", "Price": "0.05", "PriceUnit": "eur"})
    sid = api.ok(
        "POST",
        "/v1/Templates",
        json={
            "Body": 'Hi {{ first_name | default("there") }}, see https://acme.example/s?c=1 '
            "{{ contact.phone }}",
            "Languages": {"fr": "Salut {{ first_name }} \u2014 {{ '\u00e9t\u00e9' }} \U0001f600"},
        },
    )["sid"]
    preview = api.ok(
        "POST",
        f"/v1/Templates/{sid}/Preview",
        json={"Fields": {"first_name": "Ann"}, "PhoneNumber": ALICE, "LinkMode": "all"},
    )
    body = f"Hi Ann, see https://acme.example/s?c=1 {ALICE}"
    assert preview["body"] == body
    assert preview["encoding"] == "GSM-7" and preview["num_segments"] == 1
    assert preview["num_characters"] == len(body)
    assert preview["language"] is None and preview["variant"] is None
    assert preview["urls"] == ["https://acme.example/s?c=1"]
    assert preview["country"] == "US" and preview["sender_kind"] == "long_code"
    assert (preview["price"], preview["estimated_cost"]) == ("0.007900", "0.007900")

    french = api.ok(
        "POST",
        f"/v1/Templates/{sid}/Preview",
        json={"PhoneNumber": PARIS, "Language": "fr-CA", "SmartEncoded": True},
    )
    assert french["language"] == "fr"
    assert (french["link_mode"], french["urls"]) == ("off", [])  # no service: none shortened
    assert french["body"] == "Salut  - été \U0001f600"  # the dash smart-encoded, emoji kept
    assert french["encoding"] == "UCS-2"
    assert (french["country"], french["price_unit"], french["price"]) == ("FR", "EUR", "0.050000")


def test_preview_for_a_stored_contact_and_the_default_when_unpriced(api: Api) -> None:
    contact = api.ok("POST", "/v1/Contacts", data={"PhoneNumber": ALICE, "FriendlyName": "Alice"})
    sid = api.ok(
        "POST",
        "/v1/Templates",
        data={"Body": "{{ contact.sid }} {{ contact.phone }} {{ city | default('?') }}"},
    )["sid"]
    preview = api.ok("POST", f"/v1/Templates/{sid}/Preview", data={"ContactSid": contact["sid"]})
    assert preview["contact_sid"] == contact["sid"]
    assert preview["body"] == f"{contact['sid']} {ALICE} ?"
    assert preview["estimated_cost"] is None and preview["price"] is None
    missing = api.call("POST", f"/v1/Templates/{sid}/Preview", data={"ContactSid": "CT" + "0" * 32})
    assert missing.status_code == 404


def test_preview_of_a_long_text_counts_its_segments(api: Api) -> None:
    api.ok("POST", "/v1/Prices", data={"Country": "US", "SenderKind": "toll_free", "Price": "0.01"})
    sid = api.ok(
        "POST", "/v1/Templates", data={"Body": "{% for i in range(20) %}{{ word }} {% endfor %}"}
    )["sid"]
    preview = api.ok(
        "POST",
        f"/v1/Templates/{sid}/Preview",
        json={"Fields": {"word": "abcdefghi"}, "PhoneNumber": ALICE, "SenderKind": "toll_free"},
    )
    assert preview["num_characters"] == 200 and preview["num_segments"] == 2
    assert preview["estimated_cost"] == "0.020000"


def test_ab_variants_by_name_and_by_contact(api: Api) -> None:
    sid = api.ok(
        "POST",
        "/v1/Templates",
        json={
            "Body": "control",
            "Variants": {
                "A": {"weight": 1, "body": "Offer A {{ n }}"},
                "B": {"weight": 1, "body": "Offer B", "languages": {"es": "Oferta B"}},
            },
        },
    )["sid"]
    fetched = api.ok("GET", f"/v1/Templates/{sid}")
    assert [v["name"] for v in fetched["variants"]] == ["A", "B"]
    assert fetched["variables"] == ["n"]
    b = api.ok("POST", f"/v1/Templates/{sid}/Preview", json={"Variant": "B", "Language": "es"})
    assert (b["variant"], b["language"], b["body"]) == ("B", "es", "Oferta B")
    seen = set()
    for i in range(40):
        phone = f"+1202555{i:04d}"
        got = api.ok("POST", f"/v1/Templates/{sid}/Preview", json={"PhoneNumber": phone})
        again = api.ok("POST", f"/v1/Templates/{sid}/Preview", json={"PhoneNumber": phone})
        assert got["variant"] == again["variant"]
        seen.add(got["variant"])
    assert seen == {"A", "B"}
    message = api.refused("POST", f"/v1/Templates/{sid}/Preview", json={"Variant": "C"})
    assert "'Variant'" in message
    cleared = api.ok("POST", f"/v1/Templates/{sid}", json={"Variants": {}})
    assert cleared["variants"] is None


def test_preview_render_errors_and_bad_inputs_are_400s(api: Api) -> None:
    sid = api.ok("POST", "/v1/Templates", data={"Body": "ok\n{{ 10 // n }}"})["sid"]
    message = api.refused("POST", f"/v1/Templates/{sid}/Preview", json={"Fields": {"n": 0}})
    assert "'Body'" in message and "line 2" in message
    for params, field in (
        ({"Fields": {"n": [1]}}, "Fields.n"),
        ({"Fields": {"n": 1}, "PhoneNumber": "12"}, "PhoneNumber"),
        ({"Fields": {"n": 1}, "Language": "???"}, "Language"),
        ({"Fields": {"n": 1}, "SenderKind": "pigeon"}, "SenderKind"),
        ({"Fields": {"n": 1}, "LinkMode": "some"}, "LinkMode"),
    ):
        assert f"'{field}'" in api.refused("POST", f"/v1/Templates/{sid}/Preview", json=params)


def test_prices_set_replace_list_delete(api: Api) -> None:
    first = api.ok("POST", "/v1/Prices", data={"Country": "us", "Price": "0.0079"})
    assert (first["country"], first["sender_kind"], first["price"]) == ("US", "*", "0.0079")
    again = api.ok("POST", "/v1/Prices", data={"Country": "US", "Price": "0.0081"})
    assert again["sid"] == first["sid"] and again["price"] == "0.0081"
    api.ok("POST", "/v1/Prices", data={"Country": "GB", "SenderKind": "alphanumeric", "Price": "1"})
    listed = api.ok("GET", "/v1/Prices")["prices"]
    assert [(p["country"], p["sender_kind"]) for p in listed] == [
        ("GB", "alphanumeric"),
        ("US", "*"),
    ]
    assert api.ok("GET", f"/v1/Prices/{first['sid']}")["price"] == "0.0081"
    for data, field in (
        ({"Country": "USA", "Price": "1"}, "Country"),
        ({"Country": "US", "Price": "-1"}, "Price"),
        ({"Country": "US", "Price": "1", "PriceUnit": "dollars"}, "PriceUnit"),
        ({"Country": "US", "Price": "1", "SenderKind": "pigeon"}, "SenderKind"),
    ):
        assert f"'{field}'" in api.refused("POST", "/v1/Prices", data=data)
    assert len(api.ok("GET", "/v1/Prices")["prices"]) == 2
    assert api.ok("DELETE", f"/v1/Prices/{first['sid']}") is None
    assert api.call("GET", f"/v1/Prices/{first['sid']}").status_code == 404


def test_preview_applies_the_services_smart_encoding(api: Api) -> None:
    service = api.ok("POST", "/v1/Services", data={"FriendlyName": "svc", "SmartEncoding": "true"})
    sid = api.ok("POST", "/v1/Templates", data={"Body": "Sale \u2014 today"})["sid"]
    plain = api.ok("POST", f"/v1/Templates/{sid}/Preview", data={"PhoneNumber": ALICE})
    assert (plain["encoding"], plain["smart_encoded"]) == ("UCS-2", False)
    smart = api.ok(
        "POST",
        f"/v1/Templates/{sid}/Preview",
        data={"PhoneNumber": ALICE, "MessagingServiceSid": service["sid"]},
    )
    assert (smart["encoding"], smart["smart_encoded"], smart["body"]) == (
        "GSM-7",
        True,
        "Sale - today",
    )
    unknown = api.call(
        "POST", f"/v1/Templates/{sid}/Preview", data={"MessagingServiceSid": "MG" + "0" * 32}
    )
    assert unknown.status_code == 400 and unknown.json()["code"] == 21701
