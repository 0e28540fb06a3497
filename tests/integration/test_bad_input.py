"""Bad input is a coded 400 naming the field, and writes nothing (issue 11 §3).

Each of these was a 500 (or was stored as given) before: JSON nested 1,000 deep, integers
over 4,300 digits, JSON values of the wrong type, out-of-range dates, a page token holding
1e20, an empty Settings key, NUL in any text parameter (a 500 on PostgreSQL that logged the
SQL parameters, message body included), and form or query text that is not valid
percent-encoding. Run on SQLite and PostgreSQL (``TEXTWIRE_TEST_DATABASE_URL``): the answer
must be the same on both.
"""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.fakes import Api
from tests.inprocess import InProcess
from textwire import tables as t
from textwire.consent import tables as _consent_tables  # noqa: F401 - on the shared metadata
from textwire.providers import tables as _provider_tables  # noqa: F401 - likewise

FORM = {"content-type": "application/x-www-form-urlencoded"}
JSON = {"content-type": "application/json"}
DEEP = "[" * 1000 + "]" * 1000
TEMPLATE = json.dumps({"to": "${to}", "text": "${body}"})
BODY_MARK = "sekrit-body-text"


class Probe:
    """An account with a service, a sandbox sender and an HTTP/JSON integration; asserts
    that a request is a 400 that names the field and leaves every table as it was."""

    def __init__(self, app: InProcess):
        self.server = app
        self.api = Api(app, "Input")
        self.service = self.api.post("/v1/Services", FriendlyName="svc")["sid"]
        self.api.post("/v1/Senders", Sender="+14155550111")
        self.http = self.api.integration(
            "http", {"url": "http://127.0.0.1:9/sms", "payload_template": TEMPLATE}
        )
        self.messages = f"/2010-04-01/Accounts/{self.api.sid}/Messages"

    def counts(self) -> dict[str, int]:
        async def count() -> dict[str, int]:
            async with self.server.rt.db.read() as conn:
                return {
                    table.name: int(await conn.scalar(select(func.count()).select_from(table)))
                    for table in t.metadata.sorted_tables
                }

        return self.server.call(count())

    def refused(
        self, method: str, path: str, says: str, *, code: int = 20001, **kwargs: Any
    ) -> dict[str, Any]:
        before = self.counts()
        r = self.api.request(method, path, **kwargs)
        assert r.status_code == 400, (path, r.status_code, r.text)
        body: dict[str, Any] = r.json()
        assert body["code"] == code and says in body["message"], (path, body)
        assert self.counts() == before, f"{method} {path} wrote rows"
        return body


@pytest.fixture
def probe(app: InProcess) -> Probe:
    return Probe(app)


def test_json_nested_too_deeply_is_a_400_everywhere(probe: Probe) -> None:
    """issue 11 §3: ~1,000 levels were a RecursionError 500 in every JSON reader."""
    deep = '{"FriendlyName": ' + DEEP + "}"
    rule = "nested too deeply (at most 32 levels"
    probe.refused("POST", "/v1/Services", rule, content=deep, headers=JSON)
    probe.refused("POST", "/v2/userdata/channels/sms/opt-in", rule, content=deep, headers=JSON)
    probe.refused("POST", "/v2/userdata/channels/sms/opt-out", rule, content=deep, headers=JSON)
    probe.refused(
        "POST", f"/v1/Services/{probe.service}/Keywords", rule, content=deep, headers=JSON
    )
    for field in ("Settings", "Secrets"):
        probe.refused(
            "POST",
            "/v1/Integrations",
            f"'{field}': {rule}",
            data={"FriendlyName": "x", "Type": "http", field: DEEP},
        )
    token = probe.http["status_callback_url"].split("Token=")[1]
    for route in ("Inbound", "Receipts"):
        r = probe.server.http.post(
            f"{probe.server.url}/v1/{route}/{probe.http['sid']}?Token={token}",
            content=deep,
            headers=JSON,
        )
        assert r.status_code == 400 and rule in r.json()["message"], r.text


def test_json_integers_beyond_64_bits_are_a_400(probe: Probe) -> None:
    """issue 11 §3: an integer over 4,300 digits was a ValueError 500."""
    huge = "9" * 4301
    probe.refused(
        "POST",
        "/v1/Services",
        "out of range",
        content='{"FriendlyName": "x", "ValidityPeriod": ' + huge + "}",
        headers=JSON,
    )
    probe.refused(
        "POST",
        "/v1/Integrations",
        "'Settings': the number 99999",
        data={"FriendlyName": "x", "Type": "http", "Settings": '{"timeout": ' + huge + "}"},
    )


@pytest.mark.parametrize(
    ("value", "kind"),
    [({"a": 1}, "an object"), (True, "a boolean"), (["a", "b"], "an array")],
)
def test_json_values_of_the_wrong_type_are_refused(probe: Probe, value: Any, kind: str) -> None:
    """issue 11 §3: ``{"FriendlyName":{"a":1}}`` made a service named ``{"a": 1}``, ``true``
    one named ``true``, ``["a","b"]`` one named ``b``."""
    says = f"Invalid parameter 'FriendlyName': must be a string, not {kind}"
    probe.refused("POST", "/v1/Services", says, json={"FriendlyName": value})
    probe.refused("POST", f"/v1/Services/{probe.service}", says, json={"FriendlyName": value})
    probe.refused("POST", "/v1/Integrations", says, json={"FriendlyName": value, "Type": "sandbox"})


@pytest.mark.parametrize(
    "when", ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00"], ids=["late", "early"]
)
def test_send_at_out_of_range_is_35114(probe: Probe, when: str) -> None:
    """issue 11 §3: SendAt near datetime's limits was an OverflowError 500."""
    probe.refused(
        "POST",
        probe.messages + ".json",
        "'SendAt': must be between 0001-01-02 and 9999-12-30",
        code=35114,
        data={
            "To": "+14155550100",
            "MessagingServiceSid": probe.service,
            "Body": "hi",
            "SendAt": when,
            "ScheduleType": "fixed",
        },
    )


@pytest.mark.parametrize("key", ["DateSent", "DateSent<", "DateSent>"])
@pytest.mark.parametrize(
    "when", ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00", "9999-12-31"]
)
def test_date_filters_out_of_range_are_a_400(probe: Probe, key: str, when: str) -> None:
    """issue 11 §3: DateSent filters near datetime's limits were an OverflowError 500."""
    probe.refused("GET", probe.messages + ".json", f"'{key}': must be between", params={key: when})


def test_a_page_token_holding_a_huge_number_is_a_400(probe: Probe) -> None:
    """issue 11 §3: ``PA`` + base64(``1e20|SMx``) was an OverflowError 500."""
    for payload in (b"1e20|SMx", b"1e20|SM" + b"0" * 32, b"nan|x", b"-1|SM" + b"0" * 32):
        token = "PA" + base64.urlsafe_b64encode(payload).decode().rstrip("=")
        probe.refused(
            "GET",
            probe.messages + ".json",
            "'PageToken': is not a token this server issued",
            params={"PageToken": token},
        )


def test_an_empty_settings_key_is_a_400(probe: Probe) -> None:
    """issue 11 §3: ``Type=sandbox&Settings={"":1}`` was a StopIteration 500."""
    probe.refused(
        "POST",
        "/v1/Integrations",
        "'Settings': an object key must be a non-empty string",
        data={"FriendlyName": "x", "Type": "sandbox", "Settings": '{"": 1}'},
    )


def test_nul_is_refused_in_every_text_parameter(
    probe: Probe, caplog: pytest.LogCaptureFixture
) -> None:
    """issue 11 §3: NUL (``%00``) in a text parameter was a 500 on PostgreSQL (and stored on
    SQLite), and the error log line carried the SQL parameters, message body included."""
    caplog.set_level(logging.DEBUG)
    create = probe.messages + ".json"
    to = "To=%2B14155550100&From=%2B14155550111"
    rule = "must not contain a NUL character"
    cases: list[tuple[str, str, str, dict[str, Any]]] = [
        ("POST", create, "'Body'", {"content": f"{to}&Body={BODY_MARK}%00", "headers": FORM}),
        (
            "POST",
            create,
            "'StatusCallback'",
            {
                "content": f"{to}&Body={BODY_MARK}&StatusCallback=https://e.com/%00",
                "headers": FORM,
            },
        ),
        (
            "POST",
            "/v1/Services",
            "'FriendlyName'",
            {"content": "FriendlyName=a%00b", "headers": FORM},
        ),
        ("POST", "/v1/Services", "'FriendlyName'", {"json": {"FriendlyName": "a\x00b"}}),
        ("GET", create + "?To=%2B1415%00", "'To'", {}),
        ("GET", f"{probe.messages}/SM%00.json", "'path'", {}),
        ("GET", f"/v1/Services/{probe.service}%00", "'path'", {}),
        ("POST", "/v1/Contacts", "'CustomId'", {"content": "CustomId=u%001", "headers": FORM}),
        ("GET", "/v1/Contacts?CustomId=u%001", "'CustomId'", {}),
        (
            "POST",
            "/v2/userdata/channels/sms/opt-in",
            "'identifier.value'",
            {"json": {"identifier": {"type": "custom", "value": "u\x001"}}},
        ),
    ]
    for method, path, field, kwargs in cases:
        probe.refused(method, path, f"Invalid parameter {field}: {rule}", **kwargs)
    for record in caplog.records:
        text = record.getMessage() + (record.exc_text or "")
        assert "unhandled error" not in text and BODY_MARK not in text, text


def test_sql_errors_never_carry_their_parameters(probe: Probe) -> None:
    """issue 11 §3: a failed statement's error text (what a log line prints) carried its
    parameters, message body included. Provoked honestly: a duplicate primary key, through
    SQLAlchemy and through the bulk path."""
    db = probe.server.rt.db
    assert db.writer.sync_engine.hide_parameters and db.reader.sync_engine.hide_parameters
    row = {
        "sid": probe.api.sid,  # already taken
        "friendly_name": BODY_MARK,
        "auth_token_hash": BODY_MARK,
        "auth_token_enc": BODY_MARK,
        "date_created": probe.server.rt.clock.now(),
        "date_updated": probe.server.rt.clock.now(),
    }

    async def insert(bulk: bool) -> str:
        try:
            async with db.write() as conn:
                if bulk:
                    await db.executemany(conn, t.accounts.insert(), [row], key="test-accounts")
                else:
                    await conn.execute(t.accounts.insert().values(**row))
        except Exception as exc:  # what the API's error handler would log
            return f"{exc!r} {exc}"
        raise AssertionError("a duplicate primary key was accepted")

    for bulk in (False, True):
        text = probe.server.call(insert(bulk))
        # (PostgreSQL's own DETAIL names the duplicate key, the SID; never the other values.)
        assert "accounts" in text and BODY_MARK not in text, text


def test_text_that_is_not_valid_percent_encoding_is_refused(probe: Probe) -> None:
    """issue 11 §3: ``Body=%zz%`` was stored literally, and ``%FF`` in a query string was a
    200 with U+FFFD while in a form body it was a 400."""
    create = probe.messages + ".json"
    to = "To=%2B14155550100&From=%2B14155550111"
    probe.refused(
        "POST",
        create,
        "'Body': is not valid percent-encoding",
        content=f"{to}&Body=%zz%",
        headers=FORM,
    )
    probe.refused(
        "POST", create, "'Body': is not valid UTF-8", content=f"{to}&Body=%FF", headers=FORM
    )
    probe.refused("GET", create + "?To=%FF", "'To': is not valid UTF-8")
    probe.refused("GET", create + "?To=%zz", "'To': is not valid percent-encoding")
    probe.refused("GET", f"{probe.messages}/SM%FF.json", "'path': is not valid UTF-8")
    # Valid escapes still arrive as sent.
    sent = probe.api.send(To="+14155550100", From="+14155550111", Body="100% “sure” ✓")
    assert sent["body"] == "100% “sure” ✓"
