"""issue 11 §4e (no SSRF) and §4c (no URL credentials or query strings in logs).

With ``allow_private_urls`` off — the default — nothing textwire calls on a user's behalf
reaches 127.0.0.1: not a status callback, not an integration's Test, hand-over or OAuth2
token URL. The peers below listen on 127.0.0.1 and must receive nothing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.fakes import Api, fake_json_api, fake_twilio, public_server, wait_until
from tests.support import LiveServer, Receiver
from textwire.outbox import tables as ot

TEMPLATE = '{"to": "${to}", "body": "${body}"}'


@pytest.fixture
def guarded(tmp_path: Path, database_url: str) -> Iterator[LiveServer]:
    """textwire as shipped: private URLs not allowed."""
    server = public_server(tmp_path, database_url, allow_private_urls=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def open_server(tmp_path: Path, database_url: str) -> Iterator[LiveServer]:
    server = public_server(tmp_path, database_url)
    try:
        yield server
    finally:
        server.stop()


def _webhooks(server: LiveServer) -> list[dict[str, Any]]:
    async def q() -> list[dict[str, Any]]:
        async with server.rt.db.read() as conn:
            rows = await conn.execute(select(ot.webhooks).order_by(ot.webhooks.c.id))
            return [dict(r) for r in rows.mappings()]

    return server.call(q())


def test_a_status_callback_to_loopback_fails_once_with_the_reason(
    guarded: LiveServer, hook_receiver: Receiver
) -> None:
    """issue 11 §4e: the callback row ends failed, after one attempt, naming the rule."""
    api = Api(guarded)
    api.post("/v1/Senders", Sender="+14155550111")
    api.send(
        To="+14155550100",
        From="+14155550111",
        Body="hi",
        StatusCallback=hook_receiver.url("/status"),
    )

    def settled() -> bool:
        rows = _webhooks(guarded)
        return bool(rows) and all(r["status"] == "failed" for r in rows)

    wait_until(settled)
    for row in _webhooks(guarded):
        assert row["attempts"] == 1, row
        assert "loopback" in row["last_error"], row
    assert hook_receiver.received == []


def test_integration_test_refuses_a_private_url(guarded: LiveServer) -> None:
    """issue 11 §4e: an HTTP integration's Test does not call 127.0.0.1; 400 names the field."""
    with fake_json_api() as fake:
        api = Api(guarded)
        made = api.integration("http", {"url": f"{fake.url}/sms", "payload_template": TEMPLATE})
        r = api.request("POST", f"/v1/Integrations/{made['sid']}/Test", data={"To": "+14155550177"})
        assert r.status_code == 400, r.text
        assert r.json()["code"] == 20001
        assert "Settings.url" in r.json()["message"] and "loopback" in r.json()["message"]
        assert fake.received == []


def test_twilio_integration_test_refuses_a_private_base_url(guarded: LiveServer) -> None:
    """issue 11 §4e: the same for a Twilio integration's base_url."""
    with fake_twilio() as fake:
        api = Api(guarded)
        made = api.integration(
            "twilio",
            {"account_sid": fake.account_sid, "base_url": fake.url},
            {"auth_token": fake.auth_token},
        )
        r = api.request("POST", f"/v1/Integrations/{made['sid']}/Test")
        assert r.status_code == 400, r.text
        assert "Settings.base_url" in r.json()["message"]
        assert fake.requests == []


def test_oauth2_token_url_check_refuses_a_private_url(guarded: LiveServer) -> None:
    """issue 11 §4e: saving an OAuth2 integration does not call a token URL on 127.0.0.1."""
    with fake_json_api(auth="bearer") as fake:
        api = Api(guarded)
        settings = {
            "url": f"{fake.url}/sms",
            "payload_template": TEMPLATE,
            "auth": "oauth2",
            "token_url": f"{fake.url}/oauth/token",
            "client_id": fake.client_id,
        }
        r = api.request(
            "POST",
            "/v1/Integrations",
            json={
                "FriendlyName": "oauth",
                "Type": "http",
                "Settings": settings,
                "Secrets": {"client_secret": fake.client_secret},
            },
        )
        assert r.status_code == 400, r.text
        assert "Settings.token_url" in r.json()["message"]
        assert "loopback" in r.json()["message"]
        assert fake.token_requests == []


def test_a_hand_over_to_a_private_url_fails_without_a_request(guarded: LiveServer) -> None:
    """issue 11 §4e: sending through the integration cannot reach what its Test may not."""
    with fake_json_api() as fake:
        api = Api(guarded)
        made = api.integration("http", {"url": f"{fake.url}/sms", "payload_template": TEMPLATE})
        api.sender("+14155550111", made["sid"])
        msg = api.send(To="+14155550100", From="+14155550111", Body="hi")
        row = api.wait_status(msg["sid"], {"failed", "undelivered", "sent", "delivered"})
        assert row["status"] == "failed", row
        assert "loopback" in row["error_message"], row
        assert fake.received == []


def test_oauth2_error_does_not_echo_the_token_urls_answer(open_server: LiveServer) -> None:
    """issue 11 §4e: "never echo an internal error body into an API error" — the 400 says
    the token URL refused (and its HTTP status), not what it answered."""
    with fake_json_api(auth="bearer") as fake:
        api = Api(open_server)
        r = api.request(
            "POST",
            "/v1/Integrations",
            json={
                "FriendlyName": "oauth",
                "Type": "http",
                "Settings": {
                    "url": f"{fake.url}/sms",
                    "payload_template": TEMPLATE,
                    "auth": "oauth2",
                    "token_url": f"{fake.url}/oauth/token",
                    "client_id": fake.client_id,
                },
                "Secrets": {"client_secret": "wrong"},
            },
        )
        assert r.status_code == 400, r.text
        message = r.json()["message"]
        assert "Secrets.client_secret" in message and "HTTP 401" in message
        assert "invalid_client" not in json.dumps(r.json())  # the fake's answer body


def test_delivery_logs_carry_no_url_credentials_or_query(
    open_server: LiveServer, hook_receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    """issue 11 §4c: httpx logs each request's URL; the user name, password and query
    string of a callback URL must not reach any log line."""
    caplog.set_level(logging.INFO)  # textwire's default level; httpx logs requests at INFO
    api = Api(open_server)
    api.post("/v1/Senders", Sender="+14155550111")
    url = f"http://user:pa55word@127.0.0.1:{hook_receiver.port}/path?sig=secret"
    api.send(To="+14155550100", From="+14155550111", Body="hi", StatusCallback=url)
    wait_until(lambda: len(hook_receiver.received) >= 2)
    assert hook_receiver.received[0].path == "/path"
    assert hook_receiver.received[0].headers["authorization"].startswith("Basic ")
    lines = [
        json.dumps({"m": r.getMessage(), **{k: str(v) for k, v in r.__dict__.items()}})
        for r in caplog.records
    ]
    assert any("127.0.0.1" in line and "/path" in line for line in lines), "no request logged"
    for line in lines:
        assert "pa55word" not in line and "sig=secret" not in line, line
