"""``/v1/Integrations``: create, fetch, list, update, delete; secrets encrypted and masked;
validation that names the field; failover to a backup integration (issue 7 items 1, 6)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.fakes import Api, fake_twilio, free_port, public_server, wait_until
from tests.support import LiveServer
from textwire.messages import tables as mt
from textwire.providers import tables as pt

TWILIO = {"account_sid": "AC" + "a" * 32, "base_url": "http://127.0.0.1:9"}


@pytest.fixture
def live(tmp_path: Path, database_url: str) -> Iterator[LiveServer]:
    server = public_server(tmp_path, database_url)
    try:
        yield server
    finally:
        server.stop()


def _create(api: Api, **body: Any) -> httpx.Response:
    return api.request("POST", "/v1/Integrations", json=body)


def test_secrets_are_encrypted_at_rest_and_only_shown_masked(live: LiveServer) -> None:
    api = Api(live)
    token = "0123456789abcdef0123456789abcdef"
    created = api.integration("twilio", TWILIO, {"auth_token": token}, name="Twilio US")
    assert created["secrets"] == {"auth_token": "••••cdef"}
    assert created["settings"]["account_sid"] == TWILIO["account_sid"]
    assert created["friendly_name"] == "Twilio US" and created["sid"].startswith("IN")
    fetched = api.request("GET", f"/v1/Integrations/{created['sid']}").json()
    listed = api.request("GET", "/v1/Integrations").json()["integrations"]
    assert token not in str(fetched) and token not in str(listed)
    assert {i["type"] for i in listed} == {"sandbox", "twilio"}

    async def stored() -> Any:
        async with live.rt.db.read() as conn:
            return (
                await conn.execute(
                    select(pt.integrations).where(pt.integrations.c.sid == created["sid"])
                )
            ).one()

    row = live.call(stored())
    assert token not in row.secrets_enc and token not in str(row.settings)
    assert token in live.rt.box.decrypt(row.secrets_enc)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"Type": "twilio", "Settings": TWILIO}, "FriendlyName"),
        ({"FriendlyName": "x", "Type": "carrier-pigeon"}, "Type"),
        ({"FriendlyName": "x", "Type": "twilio", "Settings": {}}, "Settings.account_sid"),
        (
            {"FriendlyName": "x", "Type": "twilio", "Settings": {**TWILIO, "account_sid": "x"}},
            "Settings.account_sid",
        ),
        ({"FriendlyName": "x", "Type": "twilio", "Settings": TWILIO}, "Secrets.auth_token"),
        (
            {"FriendlyName": "x", "Type": "twilio", "Settings": {**TWILIO, "region": "us"}},
            "Settings.region",
        ),
        (
            {"FriendlyName": "x", "Type": "twilio", "Settings": {**TWILIO, "base_url": "ftp://x"}},
            "Settings.base_url",
        ),
        ({"FriendlyName": "x", "Type": "smpp", "Settings": {"host": "h"}}, "Settings.system_id"),
        (
            {
                "FriendlyName": "x",
                "Type": "smpp",
                "Settings": {"host": "h", "system_id": "s", "port": 70000},
            },
            "Settings.port",
        ),
        (
            {"FriendlyName": "x", "Type": "http", "Settings": {"payload_template": "{}"}},
            "Settings.url",
        ),
        (
            {
                "FriendlyName": "x",
                "Type": "http",
                "Settings": {"url": "http://h/", "payload_template": "{}", "auth": "digest"},
            },
            "Settings.auth",
        ),
        (
            {
                "FriendlyName": "x",
                "Type": "http",
                "Settings": {"url": "http://h/", "payload_template": "{}", "auth": "basic"},
            },
            "Settings.username",
        ),
        (
            {
                "FriendlyName": "x",
                "Type": "http",
                "Settings": {"url": "http://h/", "payload_template": "{}", "message_id_path": "id"},
            },
            "Settings.message_id_path",
        ),
        ({"FriendlyName": "x", "Type": "sandbox", "Settings": {"delay": 1}}, "Settings.delay"),
        ({"FriendlyName": "x", "Type": "twilio", "Settings": "[1]"}, "Settings"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(
    live: LiveServer, body: dict[str, Any], field: str
) -> None:
    api = Api(live)
    before = api.request("GET", "/v1/Integrations").json()["integrations"]
    r = _create(api, **body)
    assert r.status_code == 400, r.text
    assert f"'{field}'" in r.json()["message"], r.json()
    assert api.request("GET", "/v1/Integrations").json()["integrations"] == before


def test_update_keeps_secrets_read_back_masked_and_type(live: LiveServer) -> None:
    api = Api(live)
    created = api.integration("twilio", TWILIO, {"auth_token": "t" * 28 + "1234"})
    sid = created["sid"]
    updated = api.post(
        f"/v1/Integrations/{sid}",
        FriendlyName="renamed",
        Settings={"timeout": 3},
        Secrets=created["secrets"],  # the masked value sent back changes nothing
    )
    assert updated["friendly_name"] == "renamed" and updated["settings"]["timeout"] == 3.0
    assert updated["secrets"] == {"auth_token": "••••1234"}
    r = api.request("POST", f"/v1/Integrations/{sid}", json={"Type": "http"})
    assert r.status_code == 400 and "'Type'" in r.json()["message"]
    changed = api.post(f"/v1/Integrations/{sid}", Secrets={"auth_token": "n" * 28 + "9876"})
    assert changed["secrets"] == {"auth_token": "••••9876"}


def test_delete_refuses_while_in_use_and_accounts_are_separate(live: LiveServer) -> None:
    api, other = Api(live), Api(live, "Other")
    created = api.integration("twilio", TWILIO, {"auth_token": "x" * 32})
    sid = created["sid"]
    assert other.request("GET", f"/v1/Integrations/{sid}").status_code == 404
    assert other.request("DELETE", f"/v1/Integrations/{sid}").status_code == 404
    sender = api.sender("+14155550111", sid)
    r = api.request("DELETE", f"/v1/Integrations/{sid}")
    assert r.status_code == 409 and "+14155550111" in r.json()["message"]
    assert api.request("DELETE", f"/v1/Senders/{sender['sid']}").status_code == 204
    assert api.request("DELETE", f"/v1/Integrations/{sid}").status_code == 204
    assert api.request("GET", f"/v1/Integrations/{sid}").status_code == 404


def _sandbox_sid(api: Api) -> str:
    listed = api.request("GET", "/v1/Integrations?Type=sandbox").json()["integrations"]
    sid: str = listed[0]["sid"]
    return sid


def test_backup_must_be_an_integration_of_the_account(live: LiveServer) -> None:
    api, other = Api(live), Api(live, "Other")
    settings = {**TWILIO, "backup_integration_sid": _sandbox_sid(other)}
    r = _create(
        api, FriendlyName="x", Type="twilio", Settings=settings, Secrets={"auth_token": "x"}
    )
    assert r.status_code == 400 and "Settings.backup_integration_sid" in r.json()["message"]
    primary = api.integration("twilio", TWILIO, {"auth_token": "x"})
    r = api.request(
        "POST",
        f"/v1/Integrations/{primary['sid']}",
        json={"Settings": {"backup_integration_sid": primary["sid"]}},
    )
    assert r.status_code == 400 and "itself" in r.json()["message"]


def _route(live: LiveServer, sid: str) -> str:
    async def read() -> str:
        async with live.rt.db.read() as conn:
            value = await conn.scalar(
                select(mt.messages.c.integration_sid).where(mt.messages.c.sid == sid)
            )
            return str(value)

    return live.call(read())


def test_failover_to_the_backup_when_the_primary_is_unreachable(live: LiveServer) -> None:
    api = Api(live)
    backup = _sandbox_sid(api)
    primary = api.integration(
        "twilio",
        {
            "account_sid": "AC" + "b" * 32,
            "base_url": f"http://127.0.0.1:{free_port()}",
            "backup_integration_sid": backup,
            "failover_after": 0,
        },
        {"auth_token": "x" * 32},
    )
    api.sender("+14155550111", primary["sid"])
    msg = api.send(To="+14155550100", From="+14155550111", Body="via the backup")
    final = api.wait_status(msg["sid"], {"delivered", "undelivered", "failed"})
    assert final["status"] == "delivered"
    assert _route(live, msg["sid"]) == backup
    health = api.request("GET", f"/v1/Integrations/{primary['sid']}").json()["health"]
    assert health["up"] is False and "ConnectError" in health["error"]
    # A sandbox-only message never left through the primary.
    assert final["textwire"]["attempts"] == 1


def test_failover_on_5xx_and_the_primary_carries_when_it_is_up(live: LiveServer) -> None:
    api = Api(live)
    with fake_twilio() as fake:
        primary = api.integration(
            "twilio",
            {
                "account_sid": fake.account_sid,
                "base_url": fake.url,
                "backup_integration_sid": _sandbox_sid(api),
                "failover_after": 0,
            },
            {"auth_token": fake.auth_token},
        )
        api.sender("+14155550111", primary["sid"])
        first = api.send(To="+14155550100", From="+14155550111", Body="primary")
        assert api.wait_status(first["sid"], {"delivered", "failed"})["status"] == "delivered"
        assert _route(live, first["sid"]) == primary["sid"]
        fake.faults = [503]
        second = api.send(To="+14155550100", From="+14155550111", Body="backup")
        assert api.wait_status(second["sid"], {"delivered", "failed"})["status"] == "delivered"
        assert _route(live, second["sid"]) == _sandbox_sid(api)
        assert len(fake.messages) == 1


def test_sandbox_inbound_goes_to_the_numbers_url_when_the_service_says_so(
    live: LiveServer,
) -> None:
    from tests.support import receiver

    api = Api(live)
    sandbox = _sandbox_sid(api)
    sender = api.sender("+14155550111", sandbox)
    with receiver() as hooks:
        service = api.post(
            "/v1/Services",
            FriendlyName="svc",
            InboundRequestUrl=hooks.url("/service"),
            UseInboundWebhookOnNumber="true",
        )
        api.post(f"/v1/Services/{service['sid']}/PhoneNumbers", PhoneNumberSid=sender["sid"])
        api.post(f"/v1/Senders/{sender['sid']}/InboundWebhook", InboundRequestUrl=hooks.url("/num"))
        url = f"{live.url}/v1/Inbound/{sandbox}"
        fields = {"From": "+14155550100", "To": "+14155550111", "Body": "to the number"}
        assert httpx.post(url, data=fields).status_code == 403
        assert (
            Api(live, "Other").request("POST", url.removeprefix(live.url), data=fields).status_code
            == 403
        )
        r = api.request("POST", url.removeprefix(live.url), data=fields)
        assert r.status_code == 200, r.text
        (stored,) = api.inbound_messages()
        assert stored["sid"] == r.json()["sid"] and stored["body"] == "to the number"
        wait_until(lambda: len(hooks.received) == 1)
        assert [h.path for h in hooks.received] == ["/num"]
        assert hooks.received[0].form["MessagingServiceSid"] == service["sid"]


def test_provider_endpoints_answer_alike_for_known_and_unknown_sids(live: LiveServer) -> None:
    """issue 11 §4 f: an unauthenticated POST to /v1/Inbound/{sid} (or /v1/Receipts/{sid})
    answered 404 for an unknown SID and 401, 403 or 400 for a known one: a SID oracle."""
    api = Api(live)
    http_settings = {"url": "http://127.0.0.1:9/sms", "payload_template": '{"t": "${to}"}'}
    known = [
        api.integration("twilio", TWILIO, {"auth_token": "x" * 32})["sid"],
        api.integration("http", http_settings)["sid"],
        api.request("GET", "/v1/Integrations").json()["integrations"][0]["sid"],  # the sandbox
        api.integration(
            "smpp", {"host": "127.0.0.1", "port": 9, "system_id": "sys"}, {"password": "pw"}
        )["sid"],
    ]
    unknown = ["IN" + "0" * 32, "nope"]
    form = {"From": "+14155550100", "To": "+14155550111", "Body": "hi"}
    for route in ("Inbound", "Receipts"):
        answers = set()
        for sid in known + unknown:
            for extra in ({}, {"headers": {"X-Twilio-Signature": "bad"}}):
                r = httpx.post(f"{live.url}/v1/{route}/{sid}", data=form, **extra)  # type: ignore[arg-type]
                answers.add((r.status_code, r.text))
            r = httpx.post(f"{live.url}/v1/{route}/{sid}", content=b"\xff\xfe")
            answers.add((r.status_code, r.text))
        assert len(answers) == 1, (route, answers)
        ((status, _text),) = answers
        assert status == 403
