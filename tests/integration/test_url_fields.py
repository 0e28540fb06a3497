"""issue 11 §1a: every URL a user gives goes through the one check.

``http://127.0.0.1:9/a%19b`` (a percent-encoded control character) and ``http://[::1`` (an
unclosed IPv6 host) used to be stored with 201 and then killed the webhook deliverer. Each
field that takes a URL must answer 400 naming the field, and write nothing.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from twilio.base.exceptions import TwilioRestException

from tests.inprocess import InProcess
from tests.support import twilio_client
from textwire.links import tables as lt
from textwire.messages import tables as mt
from textwire.outbox import tables as ot
from textwire.providers import tables as pt
from textwire.senders import tables as st

BAD_URLS = ["http://127.0.0.1:9/a%19b", "http://[::1"]
TEMPLATE = '{"to": "${to}", "body": "${body}"}'


class Api:
    def __init__(self, app: InProcess, auth: tuple[str, str]):
        self.server = app
        self.auth = auth

    def post(self, path: str, **data: str) -> httpx.Response:
        return self.server.http.post(f"{self.server.url}{path}", data=data, auth=self.auth)

    def ok(self, path: str, **data: str) -> dict[str, Any]:
        r = self.post(path, **data)
        assert r.status_code in (200, 201), r.text
        return dict(r.json())

    def count(self, table: Any) -> int:
        async def q() -> int:
            async with self.server.rt.db.read() as conn:
                return int(await conn.scalar(select(func.count()).select_from(table)) or 0)

        return self.server.call(q())

    def row(self, table: Any, sid: str) -> dict[str, Any]:
        async def q() -> dict[str, Any]:
            async with self.server.rt.db.read() as conn:
                found = (await conn.execute(select(table).where(table.c.sid == sid))).mappings()
                return dict(found.one())

        return self.server.call(q())


@pytest.fixture
def api(app: InProcess) -> Api:
    new = app.new_account("Acme")
    return Api(app, (new.account_sid, new.auth_token))


def refused(r: httpx.Response, field: str, code: int = 20001) -> None:
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["code"] == code, body
    assert field in body["message"], body


@pytest.mark.parametrize("bad", BAD_URLS)
def test_message_status_callback_is_refused_with_21609(app: InProcess, api: Api, bad: str) -> None:
    """issue 11 §1a: Twilio's client sending a bad StatusCallback gets 21609; no message."""
    api.ok("/v1/Senders", Sender="+14155550111")
    client = twilio_client(app, *api.auth)
    with pytest.raises(TwilioRestException) as err:
        client.messages.create(
            to="+14155550100", from_="+14155550111", body="hi", status_callback=bad
        )
    assert err.value.status == 400
    assert err.value.code == 21609
    assert "StatusCallback" in err.value.msg
    assert api.count(mt.messages) == 0
    assert api.count(ot.webhooks) == 0


@pytest.mark.parametrize("bad", BAD_URLS)
@pytest.mark.parametrize("field", ["StatusCallback", "InboundRequestUrl", "FallbackUrl"])
def test_service_urls_are_refused(api: Api, field: str, bad: str) -> None:
    """issue 11 §1a: a service's URLs, on create and on update."""
    refused(api.post("/v1/Services", FriendlyName="svc", **{field: bad}), field)
    assert api.count(st.services) == 0
    svc = api.ok("/v1/Services", FriendlyName="svc", **{field: "https://example.com/ok"})
    refused(api.post(f"/v1/Services/{svc['sid']}", **{field: bad}), field)
    stored = api.row(st.services, svc["sid"])
    column = {
        "StatusCallback": "status_callback",
        "InboundRequestUrl": "inbound_request_url",
        "FallbackUrl": "fallback_url",
    }[field]
    assert stored[column] == "https://example.com/ok"


@pytest.mark.parametrize("bad", BAD_URLS)
@pytest.mark.parametrize("field", ["CallbackUrl", "FallbackUrl"])
def test_link_domain_urls_are_refused(api: Api, field: str, bad: str) -> None:
    """issue 11 §1a: a link domain's CallbackUrl and FallbackUrl, on create and in Config."""
    root = "/v1/LinkShortening/Domains"
    refused(api.post(root, DomainName="go.example.com", **{field: bad}), field)
    assert api.count(lt.link_domains) == 0
    domain = api.ok(root, DomainName="go.example.com")
    refused(api.post(f"{root}/{domain['domain_sid']}/Config", **{field: bad}), field)
    stored = api.row(lt.link_domains, domain["domain_sid"])
    assert stored["callback_url"] is None and stored["fallback_url"] is None


def _http_settings(**overrides: str) -> str:
    return json.dumps(
        {"url": "https://sms.example.com/send", "payload_template": TEMPLATE, **overrides}
    )


@pytest.mark.parametrize("bad", BAD_URLS)
@pytest.mark.parametrize(
    ("kind", "make", "field"),
    [
        ("http", lambda bad: _http_settings(url=bad), "Settings.url"),
        (
            "http",
            lambda bad: _http_settings(auth="oauth2", token_url=bad, client_id="c"),
            "Settings.token_url",
        ),
        (
            "twilio",
            lambda bad: json.dumps({"account_sid": "AC" + "0" * 32, "base_url": bad}),
            "Settings.base_url",
        ),
    ],
)
def test_integration_urls_are_refused(api: Api, kind: str, make: Any, field: str, bad: str) -> None:
    """issue 11 §1a: an integration's URL settings, on create and on update."""
    secrets = {"http": {"client_secret": "s"}, "twilio": {"auth_token": "t"}}[kind]
    before = api.count(pt.integrations)  # the account's own sandbox route is one
    r = api.post(
        "/v1/Integrations",
        FriendlyName="up",
        Type=kind,
        Settings=make(bad),
        Secrets=json.dumps(secrets if "token_url" in field or kind == "twilio" else {}),
    )
    refused(r, field)
    assert api.count(pt.integrations) == before


@pytest.mark.parametrize("bad", BAD_URLS)
def test_http_integration_update_refuses_a_bad_url(api: Api, bad: str) -> None:
    """issue 11 §1a: changing a saved integration's url to a bad one changes nothing."""
    made = api.ok("/v1/Integrations", FriendlyName="up", Type="http", Settings=_http_settings())
    refused(
        api.post(f"/v1/Integrations/{made['sid']}", Settings=json.dumps({"url": bad})),
        "Settings.url",
    )
    assert (
        api.row(pt.integrations, made["sid"])["settings"]["url"] == "https://sms.example.com/send"
    )


@pytest.mark.parametrize("bad", BAD_URLS)
def test_number_inbound_url_is_refused(api: Api, bad: str) -> None:
    """issue 11 §1a: a number's own InboundRequestUrl; the URL it had stays."""
    sender = api.ok("/v1/Senders", Sender="+14155550111")
    path = f"/v1/Senders/{sender['sid']}/InboundWebhook"
    api.ok(path, InboundRequestUrl="https://example.com/in")
    refused(api.post(path, InboundRequestUrl=bad), "InboundRequestUrl")

    async def stored() -> list[str]:
        async with api.server.rt.db.read() as conn:
            rows = await conn.execute(select(pt.number_webhooks.c.inbound_url))
            return [r.inbound_url for r in rows]

    assert api.server.call(stored()) == ["https://example.com/in"]
