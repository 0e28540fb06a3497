"""The HTTP/JSON connector against a local JSON SMS API and OAuth2 token endpoint (issue 7
item 3): payload templates, secret headers, each auth mode, token caching and refresh,
JSON-path extraction, retries, the Test call, receipts and inbound."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes import Api, FakeJsonApi, fake_json_api, public_server, wait_until
from tests.support import LiveServer

TEMPLATE = json.dumps(
    {
        "to": "${to}",
        "from": "${from}",
        "text": "${body}",
        "ref": "${message_sid}",
        "callback": "${status_callback_url}",
        "user": {"id": "${user_identifier}", "name": "${contact.first_name}"},
    }
)
FINAL = {"delivered", "undelivered", "failed"}


@pytest.fixture
def live(tmp_path: Path, database_url: str) -> Iterator[LiveServer]:
    server = public_server(tmp_path, database_url, max_send_attempts=4)
    try:
        yield server
    finally:
        server.stop()


def settings_for(fake: FakeJsonApi, **extra: Any) -> dict[str, Any]:
    return {
        "url": f"{fake.url}/sms",
        "payload_template": TEMPLATE,
        "message_id_path": "$.data.id",
        "error_path": "$.error.message",
        "headers": {"X-Plain": "visible"},
        **extra,
    }


class Setup:
    def __init__(
        self,
        live: LiveServer,
        fake: FakeJsonApi,
        secrets: dict[str, Any],
        number: str = "+14155550111",
        **extra: Any,
    ):
        self.api = Api(live)
        self.fake = fake
        self.number = number  # one account per number (senders.md)
        self.integration = self.api.integration("http", settings_for(fake, **extra), secrets)
        self.sender = self.api.sender(number, self.integration["sid"])

    def send(self, body: str = "hi") -> dict[str, Any]:
        return self.api.send(To="+14155550100", From=self.number, Body=body)


def test_template_headers_and_message_id(live: LiveServer) -> None:
    with fake_json_api() as fake:
        setup = Setup(live, fake, {"headers": {"X-Api-Key": "key-123456"}})
        body = 'Say "hi"\nand {braces} \\ back'
        msg = setup.send(body)
        final = setup.api.wait_status(msg["sid"], {"sent", *FINAL})
        assert final["status"] == "sent"
        ((headers, document),) = fake.received
        assert headers["x-api-key"] == "key-123456" and headers["x-plain"] == "visible"
        assert headers["content-type"] == "application/json"
        assert document["text"] == body and document["to"] == "+14155550100"
        assert document["from"] == "+14155550111" and document["ref"] == msg["sid"]
        assert document["user"] == {"id": "+14155550100", "name": ""}
        integration = setup.integration["sid"]
        token = setup.integration["status_callback_url"].split("Token=")[1]
        assert document["callback"] == (
            f"{live.url}/v1/Receipts/{integration}?Token={token}&MessageSid={msg['sid']}"
        )
        # The provider reports delivery at the callback URL it was given.
        assert httpx.post(document["callback"], json={"status": "delivered"}).status_code == 200
        assert setup.api.wait_status(msg["sid"], FINAL)["status"] == "delivered"


def test_receipts_by_provider_id_and_unauthenticated_ones(live: LiveServer) -> None:
    with fake_json_api() as fake:
        setup = Setup(live, fake, {})
        msg = setup.send()
        setup.api.wait_status(msg["sid"], {"sent"})
        url = setup.integration["status_callback_url"]
        base = url.split("?")[0]
        report = {"id": "unknown", "status": "UNDELIV", "error": "7"}
        assert httpx.post(base, json=report).status_code == 403
        assert httpx.post(base + "?Token=wrong", json=report).status_code == 403
        ((_, document),) = fake.received
        sent_id = _provider_id(live, msg["sid"])
        assert httpx.post(url, json={**report, "id": sent_id}).status_code == 200
        final = setup.api.wait_status(msg["sid"], FINAL)
        assert (final["status"], final["error_code"]) == ("undelivered", 7)
        assert document["ref"] == msg["sid"]


def _provider_id(live: LiveServer, sid: str) -> str:
    from sqlalchemy import select

    from textwire.messages import tables as mt

    async def read() -> str:
        async with live.rt.db.read() as conn:
            value = await conn.scalar(
                select(mt.messages.c.provider_sid).where(mt.messages.c.sid == sid)
            )
            return str(value)

    return live.call(read())


def test_basic_auth(live: LiveServer) -> None:
    with fake_json_api(auth="basic") as fake:
        good = Setup(live, fake, {"password": fake.password}, auth="basic", username=fake.username)
        msg = good.send()
        assert good.api.wait_status(msg["sid"], {"sent", *FINAL})["status"] == "sent"
        bad = Setup(
            live,
            fake,
            {"password": "nope"},
            number="+14155550112",
            auth="basic",
            username=fake.username,
        )
        bad_msg = bad.send("x")
        final = bad.api.wait_status(bad_msg["sid"], FINAL)
        assert (final["status"], final["error_code"]) == ("failed", 30008)
        assert "HTTP 401" in final["error_message"] and "unauthorized" in final["error_message"]


def _oauth(fake: FakeJsonApi, secret: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    settings = {
        "auth": "oauth2",
        "token_url": f"{fake.url}/oauth/token",
        "client_id": fake.client_id,
    }
    return settings, {"client_secret": secret or fake.client_secret}


def test_oauth2_credentials_are_checked_when_saved(live: LiveServer) -> None:
    with fake_json_api(auth="bearer") as fake:
        api = Api(live)
        settings, secrets = _oauth(fake, secret="wrong-secret")
        r = api.request(
            "POST",
            "/v1/Integrations",
            json={
                "FriendlyName": "oauth",
                "Type": "http",
                "Settings": settings_for(fake, **settings),
                "Secrets": secrets,
            },
        )
        assert r.status_code == 400
        assert "Secrets.client_secret" in r.json()["message"]
        assert "HTTP 401" in r.json()["message"]
        assert api.request("GET", "/v1/Integrations?Type=http").json()["integrations"] == []


def test_oauth2_token_is_cached_and_refreshed(live: LiveServer) -> None:
    with fake_json_api(auth="bearer") as fake:
        settings, secrets = _oauth(fake)
        setup = Setup(live, fake, secrets, **settings)
        assert len(fake.token_requests) == 1  # the check when saved
        assert fake.token_requests[0]["grant_type"] == "client_credentials"
        for i in range(3):
            setup.api.wait_status(setup.send(f"m{i}")["sid"], {"sent"})
        assert len(fake.token_requests) == 2  # one more for the connector, then cached
        fake.revoke_tokens()  # revoked before its expiry: a 401, a new token, the same send
        setup.api.wait_status(setup.send("after revoke")["sid"], {"sent"})
        assert len(fake.token_requests) == 3
        assert sum(1 for _, d in fake.received if d["text"] == "after revoke") == 2


def test_oauth2_token_is_fetched_again_once_expired(live: LiveServer) -> None:
    # A 30 s token is refreshed 30 s early: every send needs a new one.
    with fake_json_api(auth="bearer", token_lifetime=30) as fake:
        settings, secrets = _oauth(fake)
        setup = Setup(live, fake, secrets, **settings)
        for i in range(3):
            setup.api.wait_status(setup.send(f"m{i}")["sid"], {"sent"})
        assert len(fake.token_requests) == 4


def test_oauth2_renamed_keys(live: LiveServer) -> None:
    with fake_json_api(auth="bearer") as fake:
        settings, secrets = _oauth(fake)
        settings["oauth_keys"] = {"client_id": "appId"}
        r = Api(live).request(
            "POST",
            "/v1/Integrations",
            json={
                "FriendlyName": "o",
                "Type": "http",
                "Settings": settings_for(fake, **settings),
                "Secrets": secrets,
            },
        )
        assert r.status_code == 400  # the fake only knows client_id
        assert fake.token_requests[-1]["appId"] == fake.client_id


@pytest.mark.parametrize(
    ("fault", "status", "code", "words"),
    [
        (503, "sent", None, None),
        ("rejected", "failed", 30008, "number blocked"),
        ("html", "failed", 30008, "not JSON"),
        ("deep", "failed", 30008, "not JSON"),  # issue 11 §3: past the JSON depth limit
        ("nul", "failed", 30008, "not JSON"),  # issue 11 §3: a NUL id was a 500 on PostgreSQL
        (400, "failed", 30008, "HTTP 400"),
    ],
)
def test_provider_answers(
    live: LiveServer, fault: Any, status: str, code: int | None, words: str | None
) -> None:
    with fake_json_api(faults=[fault]) as fake:
        setup = Setup(live, fake, {})
        msg = setup.send()
        final = setup.api.wait_status(msg["sid"], {"sent", *FINAL})
        assert (final["status"], final["error_code"]) == (status, code)
        if words:
            assert words in final["error_message"]
        assert len(fake.received) == (2 if status == "sent" else 1)


def test_retry_statuses_are_configurable(live: LiveServer) -> None:
    with fake_json_api(faults=[400]) as fake:
        setup = Setup(live, fake, {}, retry_statuses=[400])
        msg = setup.send()
        assert setup.api.wait_status(msg["sid"], {"sent", *FINAL})["status"] == "sent"
        assert len(fake.received) == 2


@pytest.mark.parametrize(
    ("template", "words"),
    [
        ('{"to": "${to}", }', "not valid JSON"),
        ('{"to": ${to}}', "not valid JSON"),
        ('{"to": "${phone}"}', "unknown variable ${phone}"),
        ('["${to}"]', "JSON object"),
    ],
)
def test_bad_templates_are_refused_when_saved(live: LiveServer, template: str, words: str) -> None:
    api = Api(live)
    r = api.request(
        "POST",
        "/v1/Integrations",
        json={
            "FriendlyName": "t",
            "Type": "http",
            "Settings": {"url": "http://127.0.0.1:9/sms", "payload_template": template},
        },
    )
    assert r.status_code == 400
    assert "Settings.payload_template" in r.json()["message"] and words in r.json()["message"]


def test_test_call_shows_masked_request_and_the_response(live: LiveServer) -> None:
    with fake_json_api(auth="basic") as fake:
        setup = Setup(
            live,
            fake,
            {"password": fake.password, "headers": {"X-Api-Key": "key-123456"}},
            auth="basic",
            username=fake.username,
        )
        result = setup.api.post(
            f"/v1/Integrations/{setup.integration['sid']}/Test", To="+14155550177", Body="test"
        )
        assert result["ok"] is True
        headers = result["request"]["headers"]
        assert headers["X-Api-Key"] == "••••" and headers["X-Plain"] == "visible"
        assert headers["Authorization"].startswith("••••")
        assert "key-123456" not in json.dumps(result)
        assert result["request"]["payload"]["to"] == "+14155550177"
        assert result["response"]["status_code"] == 202
        assert result["response"]["body"]["data"]["id"] == result["result"]["provider_message_id"]
        ((sent_headers, _),) = fake.received
        assert sent_headers["x-api-key"] == "key-123456"


def test_inbound_json_mapping(live: LiveServer) -> None:
    with fake_json_api() as fake:
        setup = Setup(
            live,
            fake,
            {},
            inbound={"from": "$.msg.sender", "to": "$.msg.recipient", "body": "$.msg.text"},
        )
        url = setup.integration["inbound_url"]
        payload = {"id": "in-1", "msg": {"sender": "+14155550100", "recipient": "+14155550111"}}
        payload["msg"]["text"] = "reply from a phone"  # type: ignore[index]
        assert httpx.post(url.split("?")[0], json=payload).status_code == 403
        r = httpx.post(url, json=payload)
        assert r.status_code == 200 and r.json()["sid"].startswith("SM")
        bad = httpx.post(url, json={"msg": {"sender": "+1"}})
        assert bad.status_code == 400 and "inbound.to" in bad.json()["message"]
        wait_until(lambda: len(setup.api.inbound_messages()) == 1)
        (stored,) = setup.api.inbound_messages()
        assert stored["body"] == "reply from a phone" and stored["from"] == "+14155550100"


def test_masked_document_posted_back_keeps_nested_and_header_secrets(live: LiveServer) -> None:
    """issue 11 §4 a, d: GET, POST the masked document back, Test: the provider still gets
    the original secrets (the mask was stored, and the Test was a 500)."""
    with fake_json_api() as fake:
        setup = Setup(
            live,
            fake,
            {"headers": {"X-Api-Key": "key-123456"}},
            headers={"X-Plain": "visible", "Authorization": "Bearer plain-settings-token"},
        )
        sid = setup.integration["sid"]
        shown = setup.api.request("GET", f"/v1/Integrations/{sid}").json()
        assert shown["secrets"] == {"headers": {"X-Api-Key": "••••"}}
        assert shown["settings"]["headers"] == {"X-Plain": "visible", "Authorization": "••••oken"}
        assert "plain-settings-token" not in json.dumps(shown)
        updated = setup.api.post(
            f"/v1/Integrations/{sid}",
            FriendlyName="renamed",
            Settings=shown["settings"],
            Secrets=shown["secrets"],
        )
        assert updated["secrets"] == shown["secrets"]
        result = setup.api.post(f"/v1/Integrations/{sid}/Test", To="+14155550177", Body="t")
        assert result["ok"] is True, result
        assert result["request"]["headers"]["Authorization"] == "••••oken"
        ((sent_headers, _),) = fake.received
        assert sent_headers["x-api-key"] == "key-123456"
        assert sent_headers["authorization"] == "Bearer plain-settings-token"
        assert sent_headers["x-plain"] == "visible"
        r = setup.api.request(
            "POST", f"/v1/Integrations/{sid}", json={"Secrets": {"headers": {"X-New": "••••"}}}
        )
        assert r.status_code == 400 and "'Secrets.headers.X-New'" in r.json()["message"]


@pytest.mark.parametrize(
    ("where", "headers", "field"),
    [
        ("Secrets", {"X-Api-Key": "clé-123"}, "Secrets.headers.X-Api-Key"),
        ("Secrets", {"X-Api-Key": "a\nb"}, "Secrets.headers.X-Api-Key"),
        ("Settings", {"X-Plain": "••••"}, "Settings.headers.X-Plain"),
        ("Settings", {"Bad Name": "v"}, "Settings.headers"),
    ],
)
def test_headers_that_cannot_be_sent_are_refused_when_saved(
    live: LiveServer, where: str, headers: dict[str, str], field: str
) -> None:
    """issue 11 §4 a: a non-ASCII header value (a stored mask was one) was accepted and the
    integration's Test, like every hand-over, then failed with a 500 (UnicodeEncodeError)."""
    api = Api(live)
    settings = {"url": "http://127.0.0.1:9/sms", "payload_template": TEMPLATE}
    body: dict[str, Any] = {"FriendlyName": "h", "Type": "http", "Settings": settings}
    if where == "Settings":
        body["Settings"] = {**settings, "headers": headers}
    else:
        body["Secrets"] = {"headers": headers}
    r = api.request("POST", "/v1/Integrations", json=body)
    assert r.status_code == 400, r.text
    assert f"'{field}'" in r.json()["message"]
