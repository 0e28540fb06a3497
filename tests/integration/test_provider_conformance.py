"""One provider contract (issue 12 §4): the same cases, each with one body, run against every
connector kind: the built-in sandbox, Twilio and HTTP/JSON (local fake remotes on 127.0.0.1,
tests/fakes.py) and SMPP (the real SMSC peer, tests/e2e/smsc; it needs node, and when it
cannot start the test fails rather than skips).

Each case drives textwire as an account does: integrations, senders and messages through the
API, hand-over by the server's own worker, receipts posted or delivered by the remote. What a
case checks on the remote is what the remote itself recorded (``accepted``).

The sandbox has no transient fault to simulate (it is textwire's own database), so the
retryable-error case runs against the three remote kinds only; it is left out of the
parametrization, not skipped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any, ClassVar, Protocol

import pytest
from sqlalchemy import func, select, update

from tests.e2e.smsc_peer import PASSWORD, SYSTEM_ID, Smsc
from tests.fakes import Api, FakeJsonApi, FakeTwilio, free_port
from tests.support import LiveServer, make_settings
from textwire.dispatch.worker import Worker
from textwire.messages import tables as mt
from textwire.providers import tables as pt
from textwire.providers.base import OutboundMessage
from textwire.providers.sandbox import fate

NUMBER = "+14155550111"
TO = "+14155550100"
UNDELIVERABLE = "+14155550199"
FINAL = {"delivered", "undelivered", "failed"}
SANDBOX_SEED = 12
SANDBOX_FAILURE_RATE = 0.5
# ESME_RINVDSTADR: the SMSC refuses the destination for good (textwire maps it to 21211).
SMPP_INVALID_DESTINATION = 0x0B


class Remote(Protocol):
    """What a case needs of one connector kind and the network behind it."""

    kind: str
    final_code: int
    """The error code a message the provider refuses for good ends with."""
    server_settings: ClassVar[dict[str, Any]]
    """Server settings the kind needs (the sandbox's failure rate and seed)."""

    def integration(self, api: Api) -> dict[str, Any]:
        """Create this kind's integration through the API."""
        ...

    def fail_next_transiently(self) -> None:
        """The next hand-over meets a retryable fault."""
        ...

    def refuse_next(self, api: Api, integration_sid: str) -> dict[str, str]:
        """Arrange a final refusal of the next hand-over; the sender parameters to send with
        (``From`` or ``MessagingServiceSid``)."""
        ...

    def accepted(self, api: Api, msg: dict[str, Any]) -> int:
        """How many times the remote accepted this message (by its unique body)."""
        ...

    def expected(self, msg: dict[str, Any]) -> tuple[str, int | None]:
        """The receipt the network will give this message: status and error code."""
        ...

    def close(self) -> None: ...


class SandboxRemote:
    kind = "sandbox"
    final_code = 21606  # a magic From (+15005550007) picked by a service's pool
    server_settings: ClassVar[dict[str, Any]] = {
        "sandbox_failure_rate": SANDBOX_FAILURE_RATE,
        "sandbox_seed": SANDBOX_SEED,
    }

    def integration(self, api: Api) -> dict[str, Any]:
        return api.integration("sandbox", {})

    def fail_next_transiently(self) -> None:  # pragma: no cover - not parametrized
        raise AssertionError("the sandbox has no transient fault")

    def refuse_next(self, api: Api, integration_sid: str) -> dict[str, str]:
        magic = api.sender("+15005550007", integration_sid)
        service = api.post("/v1/Services", FriendlyName="magic")
        api.post(f"/v1/Services/{service['sid']}/PhoneNumbers", PhoneNumberSid=magic["sid"])
        return {"MessagingServiceSid": service["sid"]}

    def accepted(self, api: Api, msg: dict[str, Any]) -> int:
        sm = pt.sandbox_messages

        async def read() -> int:
            async with api.server.rt.db.read() as conn:
                found = await conn.scalar(
                    select(func.coalesce(func.sum(sm.c.submissions), 0)).where(
                        sm.c.message_sid == msg["sid"]
                    )
                )
            return int(found or 0)

        return api.server.call(read())

    def expected(self, msg: dict[str, Any]) -> tuple[str, int | None]:
        return fate(SANDBOX_SEED, msg["sid"], SANDBOX_FAILURE_RATE)

    def close(self) -> None:
        pass


class TwilioRemote:
    kind = "twilio"
    final_code = 21211  # the fake answers a 400 with Twilio's 21211
    server_settings: ClassVar[dict[str, Any]] = {}

    def __init__(self) -> None:
        self.fake = FakeTwilio(undelivered={UNDELIVERABLE}).start()

    def integration(self, api: Api) -> dict[str, Any]:
        return api.integration(
            "twilio",
            {"account_sid": self.fake.account_sid, "base_url": self.fake.url},
            {"auth_token": self.fake.auth_token},
        )

    def fail_next_transiently(self) -> None:
        self.fake.faults.append(503)

    def refuse_next(self, api: Api, integration_sid: str) -> dict[str, str]:
        self.fake.faults.append(400)
        return {"From": NUMBER}

    def accepted(self, api: Api, msg: dict[str, Any]) -> int:
        return sum(1 for m in self.fake.messages if m.form.get("Body") == [msg["body"]])

    def expected(self, msg: dict[str, Any]) -> tuple[str, int | None]:
        return ("undelivered", 30003) if msg["to"] == UNDELIVERABLE else ("delivered", None)

    def close(self) -> None:
        self.fake.stop()


class HttpRemote:
    kind = "http"
    final_code = 30008  # a 4xx the integration does not retry
    server_settings: ClassVar[dict[str, Any]] = {}

    def __init__(self) -> None:
        self.fake = FakeJsonApi(receipts=True, undelivered={UNDELIVERABLE}).start()

    def integration(self, api: Api) -> dict[str, Any]:
        template = {
            "to": "${to}",
            "text": "${body}",
            "ref": "${message_sid}",
            "callback": "${status_callback_url}",
        }
        return api.integration(
            "http",
            {
                "url": f"{self.fake.url}/sms",
                "payload_template": json.dumps(template),
                "message_id_path": "$.data.id",
                "error_path": "$.error.message",
            },
        )

    def fail_next_transiently(self) -> None:
        self.fake.faults.append(503)

    def refuse_next(self, api: Api, integration_sid: str) -> dict[str, str]:
        self.fake.faults.append("rejected")
        return {"From": NUMBER}

    def accepted(self, api: Api, msg: dict[str, Any]) -> int:
        return sum(
            1
            for document in self.fake.accepted
            if isinstance(document, dict) and document.get("text") == msg["body"]
        )

    def expected(self, msg: dict[str, Any]) -> tuple[str, int | None]:
        return ("undelivered", 30003) if msg["to"] == UNDELIVERABLE else ("delivered", None)

    def close(self) -> None:
        self.fake.stop()


class SmppRemote:
    kind = "smpp"
    final_code = 21211
    server_settings: ClassVar[dict[str, Any]] = {}

    def __init__(self) -> None:
        self.peer = Smsc()  # raises (the test fails) when node or the peer cannot run
        self.peer.command(cmd="undeliverable", numbers=[UNDELIVERABLE.lstrip("+")])

    def integration(self, api: Api) -> dict[str, Any]:
        return api.integration(
            "smpp",
            {
                "host": "127.0.0.1",
                "port": self.peer.port,
                "system_id": SYSTEM_ID,
                "window_size": 10,
                "reconnect_initial": 0.05,
                "reconnect_max": 0.5,
                "response_timeout": 5,
                "throttle_retries": 0,  # a throttled submit goes back to the worker at once
            },
            {"password": PASSWORD},
        )

    def fail_next_transiently(self) -> None:
        self.peer.command(cmd="throttle", count=1)

    def refuse_next(self, api: Api, integration_sid: str) -> dict[str, str]:
        self.peer.command(cmd="reject", count=1, status=SMPP_INVALID_DESTINATION)
        return {"From": NUMBER}

    def accepted(self, api: Api, msg: dict[str, Any]) -> int:
        return sum(1 for e in self.peer.of("submit_sm") if e["message"] == msg["body"])

    def expected(self, msg: dict[str, Any]) -> tuple[str, int | None]:
        return ("undelivered", 30003) if msg["to"] == UNDELIVERABLE else ("delivered", None)

    def close(self) -> None:
        self.peer.stop()


REMOTES = {"sandbox": SandboxRemote, "twilio": TwilioRemote, "http": HttpRemote, "smpp": SmppRemote}
ALL = list(REMOTES)
REMOTE_ONLY = [k for k in ALL if k != "sandbox"]


class Conformance:
    """One connector kind behind one textwire server, set up through the API."""

    def __init__(self, tmp_path: Path, database_url: str, remote: Remote, role: str):
        port = free_port()
        settings = make_settings(
            tmp_path / "data",
            database_url,
            port=port,
            public_url=f"http://127.0.0.1:{port}",
            max_send_attempts=5,
            **remote.server_settings,
        )
        self.server = LiveServer(settings, role=role).start()
        self.remote = remote
        self.api = Api(self.server, f"conformance-{remote.kind}")
        self.integration = remote.integration(self.api)
        self.sender = self.api.sender(NUMBER, self.integration["sid"])
        self._n = 0

    def send(self, label: str, to: str = TO, **params: str) -> dict[str, Any]:
        self._n += 1
        sender = params or {"From": NUMBER}
        return self.api.send(To=to, Body=f"{self.remote.kind} {label} #{self._n}", **sender)

    def final(self, msg: dict[str, Any]) -> dict[str, Any]:
        return self.api.wait_status(msg["sid"], FINAL)

    def assert_receipt(self, msg: dict[str, Any]) -> dict[str, Any]:
        final = self.final(msg)
        assert (final["status"], final["error_code"]) == self.remote.expected(msg), final
        return final

    def sent_events(self, sid: str) -> int:
        e = mt.message_events

        async def read() -> int:
            async with self.server.rt.db.read() as conn:
                found = await conn.scalar(
                    select(func.count()).where(e.c.message_sid == sid, e.c.status == "sent")
                )
            return int(found or 0)

        return self.server.call(read())


@pytest.fixture
def open_conformance(tmp_path: Path, database_url: str) -> Iterator[Any]:
    with ExitStack() as stack:

        def open_one(kind: str, role: str = "all") -> Conformance:
            remote: Remote = REMOTES[kind]()
            stack.callback(remote.close)
            c = Conformance(tmp_path, database_url, remote, role)
            stack.callback(c.server.stop)
            return c

        yield open_one


@pytest.mark.parametrize("kind", ALL)
def test_send_one(open_conformance: Any, kind: str) -> None:
    c: Conformance = open_conformance(kind)
    msg = c.send("one")
    c.assert_receipt(msg)
    assert c.remote.accepted(c.api, msg) == 1
    assert c.sent_events(msg["sid"]) == 1


@pytest.mark.parametrize("kind", ALL)
def test_send_a_batch(open_conformance: Any, kind: str) -> None:
    c: Conformance = open_conformance(kind)
    msgs = [c.send("batch") for _ in range(8)]
    for msg in msgs:
        c.assert_receipt(msg)
        assert c.remote.accepted(c.api, msg) == 1
        assert c.sent_events(msg["sid"]) == 1


@pytest.mark.parametrize("kind", REMOTE_ONLY)
def test_a_retryable_error_is_retried_and_the_message_sent_once(
    open_conformance: Any, kind: str
) -> None:
    c: Conformance = open_conformance(kind)
    c.remote.fail_next_transiently()
    msg = c.send("retry")
    final = c.assert_receipt(msg)
    assert final["textwire"]["attempts"] >= 2
    assert c.remote.accepted(c.api, msg) == 1
    assert c.sent_events(msg["sid"]) == 1


@pytest.mark.parametrize("kind", ALL)
def test_a_final_error_fails_the_message_without_a_retry(open_conformance: Any, kind: str) -> None:
    c: Conformance = open_conformance(kind)
    params = c.remote.refuse_next(c.api, c.integration["sid"])
    msg = c.send("final", **params)
    final = c.final(msg)
    assert (final["status"], final["error_code"]) == ("failed", c.remote.final_code), final
    assert final["textwire"]["attempts"] == 1
    assert c.remote.accepted(c.api, msg) == 0
    assert c.sent_events(msg["sid"]) == 0


@pytest.mark.parametrize("kind", ALL)
def test_receipts_delivered_and_undelivered(open_conformance: Any, kind: str) -> None:
    c: Conformance = open_conformance(kind)
    sent: list[dict[str, Any]] = []
    # Remotes decide by the number; the sandbox by its seed and the SID, known at create.
    for i in range(40):
        sent.append(c.send("receipt", to=UNDELIVERABLE if i % 2 else TO))
        if {c.remote.expected(m)[0] for m in sent} == {"delivered", "undelivered"}:
            break
    finals = [c.assert_receipt(msg) for msg in sent]
    assert {f["status"] for f in finals} == {"delivered", "undelivered"}
    undelivered = [f for f in finals if f["status"] == "undelivered"]
    assert all(f["error_code"] for f in undelivered)


@pytest.mark.parametrize("kind", ALL)
def test_lookup_after_a_crash_does_not_send_again(open_conformance: Any, kind: str) -> None:
    """A worker handed a message over, the provider accepted it, and the worker died before
    recording it (the row is left ``sending`` with an expired lease). The next worker asks
    the route what it already has and records it; the provider never gets it twice."""
    c: Conformance = open_conformance(kind, role="api")  # no worker of its own
    msg = c.send("crash")
    rt = c.server.rt
    outbound = OutboundMessage(
        sid=msg["sid"],
        account_sid=c.api.sid,
        from_addr=NUMBER,
        to_addr=msg["to"],
        body=msg["body"],
        num_segments=1,
        encoding="GSM-7",
        media_urls=(),
        sender_sid=c.sender["sid"],
        integration_sid=c.integration["sid"],
    )

    async def hand_over_then_die() -> None:
        m = mt.messages
        async with rt.db.write() as conn:
            await conn.execute(
                update(m)
                .where(m.c.sid == msg["sid"])
                .values(status="sending", lease_until=0.0, lease_owner="dead")
            )
        # The dead worker's hand-over, through the integration's route as the worker makes it.
        (result,) = await rt.providers.get(c.integration["sid"]).send_batch([outbound])
        assert result.outcome == "accepted", result

    c.server.call(hand_over_then_die())
    assert c.remote.accepted(c.api, msg) == 1
    worker = Worker(rt)
    c.server.call(worker.tick())
    c.server.call(worker.drain())  # orphans are reconciled by a hand-over group the tick began
    row = c.api.message(msg["sid"])
    assert row["status"] in {"sent", "delivered", "undelivered"}, row
    assert c.remote.accepted(c.api, msg) == 1
    assert c.sent_events(msg["sid"]) == 1
