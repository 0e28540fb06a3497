"""The Twilio connector against a local server that behaves like Twilio's API (issue 7 item 2):
sends, status callbacks (signed and checked), error codes, retries, inbound webhooks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from tests.fakes import Api, FakeTwilio, fake_twilio, free_port, public_server, wait_until
from tests.support import LiveServer, Receiver
from textwire.messages import tables as mt


@pytest.fixture
def live(tmp_path: Path, database_url: str) -> Iterator[LiveServer]:
    server = public_server(tmp_path, database_url, max_send_attempts=4)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def twilio_fake() -> Iterator[FakeTwilio]:
    with fake_twilio() as fake:
        yield fake


class Setup:
    def __init__(self, live: LiveServer, fake: FakeTwilio, token: str | None = None):
        self.api = Api(live)
        self.fake = fake
        self.integration = self.api.integration(
            "twilio",
            {"account_sid": fake.account_sid, "base_url": fake.url},
            {"auth_token": token or fake.auth_token},
            name="Twilio main",
        )
        self.sender = self.api.sender("+14155550111", self.integration["sid"])

    def send(self, to: str = "+14155550100", body: str = "hello") -> dict[str, Any]:
        return self.api.send(To=to, From="+14155550111", Body=body)


@pytest.fixture
def setup(live: LiveServer, twilio_fake: FakeTwilio) -> Setup:
    return Setup(live, twilio_fake)


def test_send_is_delivered_through_twilio_with_textwires_status_callback(
    setup: Setup, live: LiveServer
) -> None:
    msg = setup.send()
    final = setup.api.wait_status(msg["sid"], {"delivered", "undelivered", "failed"})
    assert final["status"] == "delivered"
    (sent,) = setup.fake.messages
    assert sent.form["To"] == ["+14155550100"] and sent.form["From"] == ["+14155550111"]
    assert sent.form["Body"] == ["hello"]
    assert sent.form["StatusCallback"] == [f"{live.url}/v1/Receipts/{setup.integration['sid']}"]
    # The fake records an answer after textwire has replied, so the message can read delivered
    # an instant before the second 200 is recorded.
    wait_until(lambda: len(setup.fake.callback_answers) >= 2)
    assert setup.fake.callback_answers == [200, 200]

    async def provider_sid() -> Any:
        async with live.rt.db.read() as conn:
            return (
                await conn.execute(
                    select(mt.messages.c.provider_sid, mt.messages.c.integration_sid).where(
                        mt.messages.c.sid == msg["sid"]
                    )
                )
            ).one()

    row = live.call(provider_sid())
    assert row.provider_sid == sent.sid
    assert row.integration_sid == setup.integration["sid"]


def test_undelivered_callback_carries_twilios_error_code(setup: Setup) -> None:
    setup.fake.undelivered.add("+14155550199")
    msg = setup.send(to="+14155550199")
    final = setup.api.wait_status(msg["sid"], {"delivered", "undelivered", "failed"})
    assert (final["status"], final["error_code"]) == ("undelivered", 30003)


@pytest.mark.parametrize("fault", [500, 503, 429, "html"])
def test_retryable_answers_are_retried_until_twilio_accepts(setup: Setup, fault: Any) -> None:
    setup.fake.faults = [fault, fault]
    msg = setup.send()
    final = setup.api.wait_status(msg["sid"], {"delivered", "undelivered", "failed"})
    assert final["status"] == "delivered"
    assert len(setup.fake.requests) == 3 and len(setup.fake.messages) == 1


def test_a_twilio_error_is_final_and_keeps_twilios_code(setup: Setup) -> None:
    setup.fake.faults = [400]
    msg = setup.send()
    final = setup.api.wait_status(msg["sid"], {"failed", "delivered"})
    assert (final["status"], final["error_code"]) == ("failed", 21211)
    assert "fault 400" in final["error_message"]
    assert len(setup.fake.requests) == 1


def test_an_answer_that_is_not_json_fails_clearly_and_is_not_resent(setup: Setup) -> None:
    setup.fake.faults = ["garbage"]
    msg = setup.send()
    final = setup.api.wait_status(msg["sid"], {"failed", "delivered"})
    assert (final["status"], final["error_code"]) == ("failed", 30008)
    assert "not JSON" in final["error_message"]
    assert len(setup.fake.requests) == 1


def test_wrong_credentials_fail_with_20003(live: LiveServer, twilio_fake: FakeTwilio) -> None:
    setup = Setup(live, twilio_fake, token="0" * 32)
    msg = setup.send()
    final = setup.api.wait_status(msg["sid"], {"failed", "delivered"})
    assert (final["status"], final["error_code"]) == ("failed", 20003)
    assert not twilio_fake.messages


def test_unreachable_twilio_is_retried_then_gives_up(live: LiveServer) -> None:
    api = Api(live)
    integration = api.integration(
        "twilio",
        {"account_sid": "AC" + "1" * 32, "base_url": f"http://127.0.0.1:{free_port()}"},
        {"auth_token": "x" * 32},
    )
    api.sender("+14155550111", integration["sid"])
    msg = api.send(To="+14155550100", From="+14155550111", Body="x")
    final = api.wait_status(msg["sid"], {"failed", "delivered"})
    assert final["status"] == "failed" and final["error_code"] == 30008
    assert final["textwire"]["attempts"] == 4


def test_callbacks_without_a_valid_signature_are_refused(setup: Setup, live: LiveServer) -> None:
    setup.fake.callbacks = False
    msg = setup.send()
    setup.api.wait_status(msg["sid"], {"sent"})
    twilio_sid = setup.fake.messages[0].sid
    url = f"{live.url}/v1/Receipts/{setup.integration['sid']}"
    params = {"MessageSid": twilio_sid, "MessageStatus": "delivered", "AccountSid": "AC"}
    import httpx

    assert httpx.post(url, data=params).status_code == 403
    assert setup.fake.signed_post(url, params, token="f" * 32) == 403
    assert setup.api.message(msg["sid"])["status"] == "sent"
    assert setup.fake.signed_post(url, params) == 200
    assert setup.api.message(msg["sid"])["status"] == "delivered"
    # A repeated or late callback changes nothing.
    late = {**params, "MessageStatus": "undelivered", "ErrorCode": "30005"}
    assert setup.fake.signed_post(url, late) == 200
    assert setup.api.message(msg["sid"])["status"] == "delivered"


def test_inbound_webhook_is_verified_stored_and_forwarded_signed(
    setup: Setup, live: LiveServer, hook_receiver: Receiver
) -> None:
    service = setup.api.post(
        "/v1/Services", FriendlyName="svc", InboundRequestUrl=hook_receiver.url("/in")
    )
    setup.api.post(
        f"/v1/Services/{service['sid']}/PhoneNumbers", PhoneNumberSid=setup.sender["sid"]
    )
    url = setup.integration["inbound_url"]
    assert url == f"{live.url}/v1/Inbound/{setup.integration['sid']}"
    fields = {
        "MessageSid": "SM" + "a" * 32,
        "SmsSid": "SM" + "a" * 32,
        "AccountSid": setup.fake.account_sid,
        "From": "+14155550100",
        "To": "+14155550111",
        "Body": "Hi there",
        "NumMedia": "0",
        "NumSegments": "1",
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
    }
    import httpx

    assert httpx.post(url, data=fields).status_code == 403
    assert setup.fake.signed_post(url, fields) == 200
    assert setup.fake.signed_post(url, fields) == 200  # Twilio retried: stored once
    (stored,) = setup.api.inbound_messages()
    assert (stored["status"], stored["from"], stored["to"], stored["body"]) == (
        "received",
        "+14155550100",
        "+14155550111",
        "Hi there",
    )
    assert stored["messaging_service_sid"] == service["sid"]
    wait_until(lambda: len(hook_receiver.received) >= 1)
    forwarded = hook_receiver.received[0]
    form = forwarded.form
    assert form["MessageSid"] == stored["sid"] and form["Body"] == "Hi there"
    assert form["From"] == "+14155550100" and form["To"] == "+14155550111"
    assert form["SmsStatus"] == "received" and form["MessagingServiceSid"] == service["sid"]
    assert RequestValidator(setup.api.token).validate(
        forwarded.url, form, forwarded.headers["x-twilio-signature"]
    )


def test_inbound_without_an_inbound_url_is_stored_and_not_forwarded(
    setup: Setup, hook_receiver: Receiver
) -> None:
    fields = {"MessageSid": "SM" + "b" * 32, "From": "+14155550100", "To": "+14155550111"}
    fields["Body"] = "nobody listens"
    assert setup.fake.signed_post(setup.integration["inbound_url"], fields) == 200
    (stored,) = setup.api.inbound_messages()
    assert stored["textwire"]["forwarded"] is False
    assert not hook_receiver.received


def test_test_call_checks_the_credentials(setup: Setup, live: LiveServer) -> None:
    ok = setup.api.post(f"/v1/Integrations/{setup.integration['sid']}/Test")
    assert ok["ok"] is True and ok["response"]["status_code"] == 200
    setup.api.post(f"/v1/Integrations/{setup.integration['sid']}", Secrets={"auth_token": "9" * 32})
    bad = setup.api.post(f"/v1/Integrations/{setup.integration['sid']}/Test")
    assert bad["ok"] is False and bad["response"]["status_code"] == 401


def test_inbound_stop_runs_keyword_handling(
    setup: Setup, live: LiveServer, hook_receiver: Receiver
) -> None:
    """The keyword hook: STOP opts the texter out, replies through the number's route, and
    the forwarded webhook says OptOutType=STOP."""
    setup.api.post(
        f"/v1/Senders/{setup.sender['sid']}/InboundWebhook", InboundRequestUrl=hook_receiver.url()
    )
    fields = {"MessageSid": "SM" + "c" * 32, "From": "+14155550100", "To": "+14155550111"}
    fields["Body"] = "STOP"
    assert setup.fake.signed_post(setup.integration["inbound_url"], fields) == 200
    wait_until(lambda: len(hook_receiver.received) == 1)
    assert hook_receiver.received[0].form["OptOutType"] == "STOP"
    wait_until(lambda: len(setup.fake.messages) == 1)
    reply = setup.fake.messages[0].form
    assert reply["To"] == ["+14155550100"] and reply["From"] == ["+14155550111"]
    (stored,) = setup.api.inbound_messages()
    assert stored["textwire"]["opt_out_type"] == "STOP"
