"""The SMPP connector against a real SMSC peer on 127.0.0.1 (the npm ``smpp`` package in
server mode, ``tests/e2e/smsc/smsc.js``): submit_sm encodings and concatenation, delivery
receipts, throttling, a bind dropped mid-window, enquire_link, reconnects and inbound
(mobile-originated) messages, single and multi-part (issue 7 item 4)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.smsc_peer import PASSWORD, SYSTEM_ID, Smsc, smsc
from tests.fakes import Api, public_server, wait_until
from tests.support import LiveServer, Receiver

FINAL = {"delivered", "undelivered", "failed"}


@pytest.fixture
def peer() -> Iterator[Smsc]:
    with smsc() as p:
        yield p


@pytest.fixture
def live(tmp_path: Path, database_url: str) -> Iterator[LiveServer]:
    server = public_server(tmp_path, database_url, max_send_attempts=8)
    try:
        yield server
    finally:
        server.stop()


def smpp_settings(peer: Smsc, **extra: Any) -> dict[str, Any]:
    return {
        "host": "127.0.0.1",
        "port": peer.port,
        "system_id": SYSTEM_ID,
        "window_size": 10,
        "reconnect_initial": 0.05,
        "reconnect_max": 0.5,
        "response_timeout": 5,
        **extra,
    }


class Setup:
    def __init__(
        self,
        live: LiveServer,
        peer: Smsc,
        password: str = PASSWORD,
        number: str = "+14155550111",
        **extra: Any,
    ):
        self.api = Api(live)
        self.number = number
        self.peer = peer
        self.integration = self.api.integration(
            "smpp", smpp_settings(peer, **extra), {"password": password}, name="SMSC"
        )
        self.sender = self.api.sender(number, self.integration["sid"])

    def send(self, body: str, to: str = "+14155550100") -> dict[str, Any]:
        return self.api.send(To=to, From=self.number, Body=body)


@pytest.fixture
def setup(live: LiveServer, peer: Smsc) -> Setup:
    return Setup(live, peer)


def test_gsm7_message_is_submitted_and_delivered_by_receipt(setup: Setup) -> None:
    msg = setup.send("Hello @ textwire {ok}")
    final = setup.api.wait_status(msg["sid"], FINAL)
    assert final["status"] == "delivered"
    (sub,) = setup.peer.of("submit_sm")
    assert sub["message"] == "Hello @ textwire {ok}"
    assert (sub["data_coding"], sub["esm_class"], sub["udh"]) == (0, 0, [])
    assert (sub["destination_addr"], sub["dest_addr_ton"]) == ("14155550100", 1)
    assert (sub["source_addr"], sub["source_addr_ton"]) == ("14155550111", 1)
    assert sub["registered_delivery"] == 1
    receipt_ack = setup.peer.wait(lambda e: e["event"] == "deliver_sm_resp")
    assert receipt_ack["status"] == 0


def test_ucs2_message_uses_data_coding_8(setup: Setup) -> None:
    text = "Привет, мир 👋"
    msg = setup.send(text)
    assert setup.api.wait_status(msg["sid"], FINAL)["status"] == "delivered"
    (sub,) = setup.peer.of("submit_sm")
    assert sub["data_coding"] == 8 and sub["message"] == text


def test_long_message_is_concatenated_with_an_8_bit_reference_udh(setup: Setup) -> None:
    text = "".join(f"part{i:03d} " for i in range(40))  # 320 GSM-7 characters: 3 segments
    msg = setup.send(text)
    final = setup.api.wait_status(msg["sid"], FINAL)
    assert final["status"] == "delivered" and final["num_segments"] == "3"
    subs = setup.peer.of("submit_sm")
    assert len(subs) == 3
    headers = [bytes.fromhex(s["udh"][0]) for s in subs]
    assert {h[:2] for h in headers} == {b"\x00\x03"}  # IEI 0, length 3
    assert len({h[2] for h in headers}) == 1  # one reference
    assert sorted((h[3], h[4]) for h in headers) == [(3, 1), (3, 2), (3, 3)]
    assert all(s["esm_class"] & 0x40 and s["data_coding"] == 0 for s in subs)
    by_seq = sorted(subs, key=lambda s: bytes.fromhex(s["udh"][0])[4])
    assert "".join(s["message"] for s in by_seq) == text


def test_long_message_can_use_sar_tlvs(live: LiveServer, peer: Smsc) -> None:
    setup = Setup(live, peer, sar=True)
    text = "Ü" * 200  # GSM-7 basic, 2 segments
    msg = setup.send(text)
    assert setup.api.wait_status(msg["sid"], FINAL)["status"] == "delivered"
    subs = peer.of("submit_sm")
    assert sorted(tuple(s["sar"][1:]) for s in subs) == [(2, 1), (2, 2)]
    assert len({s["sar"][0] for s in subs}) == 1
    assert all(s["udh"] == [] and not s["esm_class"] & 0x40 for s in subs)


def test_undelivered_receipt_carries_the_carrier_error(setup: Setup) -> None:
    setup.peer.command(cmd="undeliverable", numbers=["14155550199"])
    msg = setup.send("nobody home", to="+14155550199")
    final = setup.api.wait_status(msg["sid"], FINAL)
    assert (final["status"], final["error_code"]) == ("undelivered", 30003)
    assert final["error_message"] == "SMSC stat:UNDELIV err:005"


def test_throttled_submits_are_retried_and_sent_once(setup: Setup) -> None:
    setup.peer.command(cmd="throttle", count=6)  # more than the in-place retries (3)
    msg = setup.send("slow down")
    final = setup.api.wait_status(msg["sid"], FINAL)
    assert final["status"] == "delivered"
    assert setup.peer.count("throttled") == 6
    assert setup.peer.count("submit_sm") == 1
    assert final["textwire"]["attempts"] >= 2


def test_a_bind_dropped_mid_window_loses_nothing_and_reconnects(setup: Setup) -> None:
    setup.send("warm up")  # bind first, so the burst below shares one window
    setup.peer.wait(lambda e: e["event"] == "submit_sm")
    setup.peer.command(cmd="drop_after", count=4)
    sids = [setup.send(f"burst {i}")["sid"] for i in range(12)]
    finals = [setup.api.wait_status(sid, FINAL) for sid in sids]
    assert [f["status"] for f in finals] == ["delivered"] * 12
    assert setup.peer.count("dropped") == 1 and setup.peer.count("bind") == 2
    bodies = [s["message"] for s in setup.peer.of("submit_sm")]
    assert sorted(set(bodies)) == sorted({"warm up", *(f"burst {i}" for i in range(12))})


def test_enquire_link_keeps_the_bind_and_an_smsc_unbind_is_followed_by_a_rebind(
    live: LiveServer, peer: Smsc
) -> None:
    setup = Setup(live, peer, enquire_link_interval=1)
    setup.send("bind now")
    peer.wait(lambda e: e["event"] == "enquire_link", timeout=10)
    start = len(peer.events)
    peer.command(cmd="unbind")
    peer.wait(lambda e: e["event"] == "bind", timeout=10, start=start)
    msg = setup.send("after rebind")
    assert setup.api.wait_status(msg["sid"], FINAL)["status"] == "delivered"


def test_wrong_password_is_reported_and_messages_wait(live: LiveServer, peer: Smsc) -> None:
    setup = Setup(live, peer, password="wrong")
    result = setup.api.post(f"/v1/Integrations/{setup.integration['sid']}/Test")
    assert result["ok"] is False and "Invalid Password" in result["error"]
    msg = setup.send("held back")

    def waiting() -> bool:
        row = setup.api.message(msg["sid"])
        return row["status"] == "queued" and row["textwire"]["attempts"] >= 1

    wait_until(waiting)
    assert peer.count("submit_sm") == 0
    good = Setup(live, peer, number="+14155550112")  # a number has one owning account
    assert good.api.post(f"/v1/Integrations/{good.integration['sid']}/Test")["ok"] is True


def _forwarding(setup: Setup, hooks: Receiver) -> None:
    setup.api.post(
        f"/v1/Senders/{setup.sender['sid']}/InboundWebhook", InboundRequestUrl=hooks.url("/mo")
    )
    setup.send("bind")  # the bind is up once a message went through it
    setup.peer.wait(lambda e: e["event"] == "bind")


def test_mobile_originated_message_becomes_an_inbound_message(
    setup: Setup, hook_receiver: Receiver
) -> None:
    _forwarding(setup, hook_receiver)
    setup.peer.command(
        cmd="mo", source="14155550100", destination="14155550111", text="Hi from a phone €"
    )
    setup.peer.wait(lambda e: e["event"] == "deliver_sm_resp" and e["kind"] == "mo")
    wait_until(lambda: len(setup.api.inbound_messages()) == 1)
    (stored,) = setup.api.inbound_messages()
    assert (stored["from"], stored["to"], stored["body"], stored["status"]) == (
        "+14155550100",
        "+14155550111",
        "Hi from a phone €",
        "received",
    )
    wait_until(lambda: len(hook_receiver.received) == 1)
    assert hook_receiver.received[0].form["Body"] == "Hi from a phone €"


@pytest.mark.parametrize("style", ["udh", "sar"])
def test_multi_part_mobile_originated_message_is_reassembled(
    setup: Setup, hook_receiver: Receiver, style: str
) -> None:
    _forwarding(setup, hook_receiver)
    parts = ["Это первая часть, ", "а это вторая."]
    for seq in (2, 1):  # out of order, as networks deliver them
        extra: dict[str, Any] = (
            {"udh": f"050003AB02{seq:02X}"} if style == "udh" else {"sar": [0xAB, 2, seq]}
        )
        setup.peer.command(
            cmd="mo",
            source="14155550100",
            destination="14155550111",
            text=parts[seq - 1],
            data_coding=8,
            **extra,
        )
    wait_until(lambda: len(setup.api.inbound_messages()) == 1)
    (stored,) = setup.api.inbound_messages()
    assert stored["body"] == "".join(parts) and stored["num_segments"] == "2"
    wait_until(lambda: len(hook_receiver.received) == 1)
