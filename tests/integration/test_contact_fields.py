"""Contacts with fields through the API and the CLI: typed field declarations and values,
time zone and language per contact, CSV import and export (F-CONTACT-1, F-CONTACT-2)."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.inprocess import InProcess

NY = "+12125550123"
PARIS = "+33612345678"
NONGEO = "+882345678901"


class Api:
    def __init__(self, app: InProcess):
        self.server = app
        acct = app.new_account("Contacts")
        self.sid = acct.account_sid
        self.auth = (acct.account_sid, acct.auth_token)

    def call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        kw.setdefault("auth", self.auth)
        return self.server.http.request(method, self.server.url + path, timeout=60, **kw)

    def ok(self, method: str, path: str, **kw: Any) -> Any:
        r = self.call(method, path, **kw)
        assert r.status_code in (200, 201, 204), r.text
        return r.json() if r.status_code != 204 else None

    def declare(self, **fields: str) -> None:
        for key, type_ in fields.items():
            self.ok("POST", "/v1/ContactFields", data={"Key": key, "Type": type_})

    def contacts(self) -> list[dict[str, Any]]:
        return list(self.ok("GET", "/v1/Contacts", params={"PageSize": 1000})["contacts"])

    def upload(self, content: str | bytes, **params: str) -> httpx.Response:
        return self.call(
            "POST",
            "/v1/Contacts/Imports",
            content=content.encode() if isinstance(content, str) else content,
            params=params,
            headers={"content-type": "text/csv"},
        )

    def bad(self, r: httpx.Response, field: str, rule: str = "") -> None:
        assert r.status_code == 400, r.text
        assert f"'{field}'" in r.json()["message"] and rule in r.json()["message"], r.text


@pytest.fixture
def api(app: InProcess) -> Api:
    return Api(app)


# -- declarations ----------------------------------------------------------------------------


def test_field_declarations_crud(api: Api) -> None:
    """F-CONTACT-1: typed fields declared per account; keys unique and well-formed."""
    created = api.ok("POST", "/v1/ContactFields", json={"Key": "first_name", "Type": "text"})
    assert created["key"] == "first_name" and created["type"] == "text"
    assert created["url"].endswith("/v1/ContactFields/first_name")
    api.declare(birthday="date", score="number", vip="boolean")
    listed = api.ok("GET", "/v1/ContactFields")["contact_fields"]
    assert [(f["key"], f["type"]) for f in listed] == [
        ("birthday", "date"),
        ("first_name", "text"),
        ("score", "number"),
        ("vip", "boolean"),
    ]
    assert api.ok("GET", "/v1/ContactFields/score")["type"] == "number"
    again = api.call("POST", "/v1/ContactFields", data={"Key": "score", "Type": "text"})
    assert again.status_code == 409 and "'Key'" in again.json()["message"]
    api.bad(api.call("POST", "/v1/ContactFields", data={"Key": "1st", "Type": "text"}), "Key")
    api.bad(api.call("POST", "/v1/ContactFields", data={"Key": "phone", "Type": "text"}), "Key")
    api.bad(api.call("POST", "/v1/ContactFields", data={"Key": "x", "Type": "money"}), "Type")
    assert api.ok("DELETE", "/v1/ContactFields/vip") is None
    assert api.call("GET", "/v1/ContactFields/vip").status_code == 404
    assert api.call("DELETE", "/v1/ContactFields/vip").status_code == 404
    other = Api(api.server)
    assert other.ok("GET", "/v1/ContactFields")["contact_fields"] == []
    assert other.call("GET", "/v1/ContactFields/score").status_code == 404


def test_deleting_a_field_removes_its_values(api: Api) -> None:
    api.declare(score="number", city="text")
    c = api.ok(
        "POST", "/v1/Contacts", json={"PhoneNumber": [NY], "Fields": {"score": 5, "city": "NYC"}}
    )
    api.ok("DELETE", "/v1/ContactFields/score")
    assert api.ok("GET", f"/v1/Contacts/{c['sid']}")["attributes"] == {"city": "NYC"}
    api.declare(score="text")  # declared again with another type: no stale number
    assert api.ok("GET", f"/v1/Contacts/{c['sid']}")["attributes"] == {"city": "NYC"}


# -- values on contacts ------------------------------------------------------------------------


def test_field_values_on_create_and_update_json_and_form(api: Api) -> None:
    """F-CONTACT-1: values are checked against the declarations and stored as JSON scalars."""
    api.declare(first_name="text", score="number", birthday="date", vip="boolean")
    c = api.ok(
        "POST",
        "/v1/Contacts",
        json={
            "PhoneNumber": [NY],
            "Fields": {"first_name": "Ada", "score": "42", "birthday": "1815-12-10", "vip": True},
        },
    )
    assert c["attributes"] == {
        "first_name": "Ada",
        "score": 42,
        "birthday": "1815-12-10",
        "vip": True,
    }
    updated = api.ok(
        "POST",
        f"/v1/Contacts/{c['sid']}",
        data={"Fields.score": "4.5", "Fields.vip": "no", "Fields.first_name": ""},
    )
    assert updated["attributes"] == {"score": 4.5, "birthday": "1815-12-10", "vip": False}
    form_json = api.ok("POST", "/v1/Contacts", data={"Fields": '{"score": 7}'})
    assert form_json["attributes"] == {"score": 7}


def test_unknown_field_or_bad_value_is_a_400_and_nothing_is_written(api: Api) -> None:
    api.declare(score="number", birthday="date")
    before = api.contacts()
    r = api.call("POST", "/v1/Contacts", json={"PhoneNumber": [NY], "Fields": {"nickname": "x"}})
    api.bad(r, "Fields.nickname", "unknown field")
    r = api.call("POST", "/v1/Contacts", json={"PhoneNumber": [NY], "Fields": {"score": "lots"}})
    api.bad(r, "Fields.score", "not a number")
    r = api.call("POST", "/v1/Contacts", data={"PhoneNumber": NY, "Fields.birthday": "2023-02-29"})
    api.bad(r, "Fields.birthday", "not a calendar date")
    r = api.call("POST", "/v1/Contacts", json={"Fields": {"score": [1]}})
    api.bad(r, "Fields.score")
    assert api.contacts() == before
    c = api.ok("POST", "/v1/Contacts", json={"FriendlyName": "Bo", "Fields": {"score": 1}})
    r = api.call(
        "POST",
        f"/v1/Contacts/{c['sid']}",
        json={"FriendlyName": "Bob", "PhoneNumber": [PARIS], "Fields": {"score": "x"}},
    )
    api.bad(r, "Fields.score")
    assert api.ok("GET", f"/v1/Contacts/{c['sid']}") == c  # name, number, fields untouched


# -- time zone and language --------------------------------------------------------------------


def test_time_zone_explicit_else_number_else_account(api: Api) -> None:
    """F-CONTACT-1: the zone and where it came from."""
    by_number = api.ok("POST", "/v1/Contacts", data={"PhoneNumber": NY})
    assert (by_number["time_zone"], by_number["time_zone_source"]) == ("America/New_York", "number")
    explicit = api.ok("POST", "/v1/Contacts", data={"PhoneNumber": PARIS, "TimeZone": "Asia/Tokyo"})
    assert (explicit["time_zone"], explicit["time_zone_source"]) == ("Asia/Tokyo", "explicit")
    default = api.ok("POST", "/v1/Contacts", data={"PhoneNumber": NONGEO})
    assert (default["time_zone"], default["time_zone_source"]) == ("UTC", "account")

    settings = api.ok("POST", "/v1/Contacts/Settings", data={"TimeZone": "Europe/Berlin"})
    assert settings["time_zone"] == "Europe/Berlin" and settings["contacts_moved"] == 1
    assert api.ok("GET", "/v1/Contacts/Settings")["time_zone_setting"] == "Europe/Berlin"
    assert api.ok("GET", f"/v1/Contacts/{default['sid']}")["time_zone"] == "Europe/Berlin"
    assert api.ok("GET", f"/v1/Contacts/{explicit['sid']}")["time_zone"] == "Asia/Tokyo"
    assert api.ok("GET", f"/v1/Contacts/{by_number['sid']}")["time_zone"] == "America/New_York"

    cleared = api.ok("POST", f"/v1/Contacts/{explicit['sid']}", data={"TimeZone": ""})
    assert (cleared["time_zone"], cleared["time_zone_source"]) == ("Europe/Paris", "number")
    # An identify event giving the default-zoned contact a Paris number moves it.
    api.ok(
        "POST",
        "/v1/Contacts/Events",
        data={"Event": "identify", "PhoneNumber": [NONGEO, "+33611111111"]},
    )
    moved = api.ok("GET", f"/v1/Contacts/{default['sid']}")
    assert (moved["time_zone"], moved["time_zone_source"]) == ("Europe/Paris", "number")

    api.bad(api.call("POST", "/v1/Contacts", data={"TimeZone": "Mars/Base"}), "TimeZone")
    api.bad(api.call("POST", "/v1/Contacts/Settings", data={"TimeZone": "CET1"}), "TimeZone")
    back = api.ok("POST", "/v1/Contacts/Settings", data={"TimeZone": ""})
    assert back["time_zone"] == "UTC" and back["time_zone_setting"] is None


def test_language(api: Api) -> None:
    c = api.ok("POST", "/v1/Contacts", data={"Language": "pt_br"})
    assert c["language"] == "pt-BR"
    assert api.ok("POST", f"/v1/Contacts/{c['sid']}", data={"Language": ""})["language"] is None
    api.bad(api.call("POST", "/v1/Contacts", data={"Language": "Portuguese!"}), "Language")


# -- import and export -------------------------------------------------------------------------


def test_csv_import_upserts_by_identifier_and_lists_bad_rows_by_line(api: Api) -> None:
    """F-CONTACT-2: streamed upsert by phone / email / custom id; errors by line number."""
    api.declare(first_name="text", score="number", vip="boolean")
    existing = api.ok(
        "POST",
        "/v1/Contacts",
        json={"PhoneNumber": [NY], "Fields": {"first_name": "Old", "vip": True}},
    )
    body = (
        "\ufeffPhone,email,custom_id,first_name,score,vip,time_zone,language\r\n"
        f"{NY},,,Ada,7,,,en\r\n"  # 2: updates the existing contact; empty vip stays
        f"{PARIS},ada@example.com,,Bo,1.5,yes,,fr\r\n"  # 3: new
        ",,crm-1,Cy,,false,Asia/Tokyo,\r\n"  # 4: new, custom id only, explicit zone
        "\r\n"  # 5: blank
        ",,crm-2,Di,seven,,,\r\n"  # 6: bad number
        "12125550199,,,Ed,,,,\r\n"  # 7: no '+'
        ",,,Fi,1,,,\r\n"  # 8: no identifier
        f"{PARIS},,crm-1,Gus,,,,\r\n"  # 9: two different contacts
        ',,crm-3,"Hal, Jr",3,no,,de-at\r\n'  # 10: new, quoted comma
    )
    r = api.upload(body, FileName="people.csv")
    assert r.status_code == 201, r.text
    imp = r.json()
    assert imp["status"] == "completed" and imp["filename"] == "people.csv"
    assert imp["counts"] == {"lines": 9, "created": 3, "updated": 1, "invalid": 4, "blank": 1}
    lines = {e["line"]: e["reason"] for e in imp["invalid_rows"]}
    assert sorted(lines) == [6, 7, 8, 9]
    assert "score" in lines[6] and "not a number" in lines[6]
    assert lines[7].startswith("phone: missing '+'")
    assert "no identifier" in lines[8]
    assert "different contacts" in lines[9]
    assert api.ok("GET", f"/v1/Contacts/Imports/{imp['sid']}") == imp
    assert [i["sid"] for i in api.ok("GET", "/v1/Contacts/Imports")["imports"]] == [imp["sid"]]

    updated = api.ok("GET", f"/v1/Contacts/{existing['sid']}")
    assert updated["attributes"] == {"first_name": "Ada", "score": 7, "vip": True}
    assert updated["language"] == "en"
    people = {c["friendly_name"] or c["attributes"].get("first_name"): c for c in api.contacts()}
    assert people["Bo"]["attributes"] == {"first_name": "Bo", "score": 1.5, "vip": True}
    assert people["Bo"]["time_zone"] == "Europe/Paris"
    assert {i["type"] for i in people["Bo"]["identifiers"]} == {"phoneNumber", "email"}
    assert (people["Cy"]["time_zone"], people["Cy"]["time_zone_source"]) == (
        "Asia/Tokyo",
        "explicit",
    )
    assert people["Hal, Jr"]["language"] == "de-AT"

    again = api.upload(body).json()  # idempotent: same contacts, all updated
    assert again["counts"]["created"] == 0 and again["counts"]["updated"] == 4
    assert len(api.contacts()) == 4


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("phone,nickname\r\n+12125550123,x\r\n", "unknown column 'nickname'"),
        ("first_name\r\nAda\r\n", "no identifier column"),
        ("phone,phone\r\n", "appears twice"),
        ("", "empty"),
    ],
)
def test_a_refused_file_changes_nothing(api: Api, content: str, reason: str) -> None:
    api.declare(first_name="text")
    r = api.upload(content)
    assert r.status_code == 422, r.text
    assert r.json()["status"] == "failed" and reason in r.json()["error"]
    assert api.contacts() == []


def test_export_streams_every_contact_and_imports_back(api: Api) -> None:
    """F-CONTACT-2: CSV export with fields; the file imports back unchanged."""
    api.declare(score="number", vip="boolean", since="date")
    for n in range(1, 2_500 + 1, 500):
        rows = "".join(
            f"+1212555{i:04d},{i},{'true' if i % 2 else ''},\r\n" for i in range(n, n + 500)
        )
        assert api.upload("phone,score,vip,since\r\n" + rows).status_code == 201
    api.ok(
        "POST",
        "/v1/Contacts",
        json={
            "Email": "x@example.com",
            "FriendlyName": 'Eve, "E"',
            "Fields": {"since": "2024-02-29"},
        },
    )
    r = api.call("GET", "/v1/Contacts.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 2_501
    assert list(rows[0]) == [
        "sid",
        "phone",
        "email",
        "custom_id",
        "friendly_name",
        "time_zone",
        "time_zone_source",
        "language",
        "score",
        "since",
        "vip",
    ]
    by_phone = {row["phone"]: row for row in rows}
    assert by_phone["+12125550003"]["score"] == "3" and by_phone["+12125550003"]["vip"] == "true"
    assert by_phone["+12125550004"]["vip"] == ""
    assert by_phone["+12125550004"]["time_zone"] == "America/New_York"
    eve = by_phone[""]
    assert (
        eve["friendly_name"] == 'Eve, "E"'
        and eve["since"] == "2024-02-29"
        and len(eve["email"]) == 64
    )
    back = api.upload(r.content).json()
    assert back["status"] == "completed"
    assert back["counts"]["created"] == 0 and back["counts"]["updated"] == 2_501
    changed = [
        (a, b)
        for a, b in zip(
            r.text.splitlines(), api.call("GET", "/v1/Contacts.csv").text.splitlines(), strict=True
        )
        if a != b
    ]
    assert changed == []


def test_cli_import_with_progress_and_export(api: Api, tmp_path: Path) -> None:
    """F-CONTACT-2: `textwire contacts import` shows a progress bar; `export` writes the CSV."""
    api.declare(score="number")
    src = tmp_path / "in.csv"
    src.write_text("phone,score\n+12125550101,1\n+12125550102,x\n")
    env = {
        **os.environ,
        "TEXTWIRE_DATA_DIR": str(api.server.settings.data_dir),
        "TEXTWIRE_DATABASE_URL": api.server.settings.resolved_database_url(),
    }

    def textwire(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "textwire", *args, "--account", api.sid],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    out = textwire("contacts", "import", str(src), "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["source"] == "cli" and result["counts"]["created"] == 1
    assert result["invalid_rows"][0]["line"] == 3
    assert "importing" in out.stderr  # the progress bar
    dest = tmp_path / "out.csv"
    out = textwire("contacts", "export", "-o", str(dest))
    assert out.returncode == 0, out.stderr
    assert "+12125550101" in dest.read_text() and "exported 1 contacts" in out.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text("phone,nickname\n+12125550101,x\n")
    out = textwire("contacts", "import", str(bad))
    assert out.returncode == 1 and "unknown column" in out.stdout
