"""Sender selection through the real pipeline and worker (issue 5, SPEC F-SVC-2..9)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.inprocess import InProcess
from tests.integration.test_dispatch import Ctx, query
from tests.support import AppUnderTest, Receiver, make_settings
from textwire.senders.tables import sticky_mappings


class Pool(Ctx):
    """A service with a chosen set of senders (no default sender)."""

    def __init__(
        self, server: AppUnderTest, hooks: Receiver, senders: list[dict[str, str]], **service: str
    ):
        self.server, self.hooks = server, hooks
        acct = server.new_account("Selection")
        self.sid, self.token = acct.account_sid, acct.auth_token
        self.auth = (self.sid, self.token)
        self.service = self.post(
            "/v1/Services", FriendlyName="pool", StatusCallback=hooks.url("/status"), **service
        )
        self.senders: dict[str, dict[str, Any]] = {}
        for spec in senders:
            self.add(**spec)

    def add(self, **spec: str) -> dict[str, Any]:
        if not spec["Sender"].lstrip("+").isdigit():  # alpha IDs join through AlphaSenders
            spec = {("AlphaSender" if k == "Sender" else k): v for k, v in spec.items()}
            alpha = self.post(f"/v1/Services/{self.service['sid']}/AlphaSenders", **spec)
            self.senders[alpha["alpha_sender"]] = alpha
            return alpha
        sender = self.post("/v1/Senders", **spec)
        path = {
            "long_code": "PhoneNumbers",
            "toll_free": "PhoneNumbers",
            "short_code": "ShortCodes",
        }.get(sender["kind"])
        if path:
            key = "ShortCodeSid" if path == "ShortCodes" else "PhoneNumberSid"
            self.post(f"/v1/Services/{self.service['sid']}/{path}", **{key: sender["sid"]})
        self.senders[sender["sender"]] = sender
        return sender

    def via_service(self, to: str, body: str = "hi", **more: str) -> dict[str, Any]:
        return self.send(To=to, MessagingServiceSid=self.service["sid"], Body=body, **more)

    def mappings(self) -> dict[str, str]:
        rows = query(self.server, select(sticky_mappings.c.to_addr, sticky_mappings.c.sender_sid))
        return {r.to_addr: r.sender_sid for r in rows}


def test_geomatch_short_code_and_alpha_tiers(app: InProcess, hook_receiver: Receiver) -> None:
    """F-SVC-2: short code of the country first, then area code / overlay, then country;
    abroad an alpha ID; every decision is explained on the message."""
    pool = Pool(
        app,
        hook_receiver,
        [
            {"Sender": "+12125550101", "Mps": "50"},
            {"Sender": "+13105550101", "Mps": "50"},
            {"Sender": "Acme", "Mps": "50"},
        ],
    )
    cases = {
        "+16465550143": ("+12125550101", "overlay"),  # 646 overlays 212
        "+13105550187": ("+13105550101", "area_code"),
        "+14155550100": ("+12125550101", "country"),
        "+61412345678": ("Acme", "alpha"),
    }
    # One at a time: the country tier picks the least recently used number, so the order of
    # the earlier messages' hand-overs decides it.
    rows = {to: pool.wait_final([pool.via_service(to)["sid"]])[0] for to in cases}
    for to, (sender, rule) in cases.items():
        assert (rows[to]["from"], rows[to]["textwire"]["selection_rule"]) == (sender, rule), to

    pool.add(Sender="60006", Mps="100")
    msg = pool.via_service("+13105550999")
    (final,) = pool.wait_final([msg["sid"]])
    assert (final["from"], final["textwire"]["selection_rule"]) == ("60006", "short_code")


def test_sticky_sender_life_cycle(app: InProcess, hook_receiver: Receiver) -> None:
    """F-SVC-3: created on first send, kept while off, deleted with its number, remapped
    when a number of the recipient's country joins."""
    pool = Pool(
        app,
        hook_receiver,
        [
            {"Sender": "+14155550101", "Mps": "50"},
            {"Sender": "+14155550102", "Mps": "50"},
        ],
    )
    first = pool.wait_final([pool.via_service("+14155550100")["sid"]])[0]["from"]
    again = pool.wait_final([pool.via_service("+14155550100")["sid"] for _ in range(4)])
    assert {r["from"] for r in again} == {first}
    assert {r["textwire"]["selection_rule"] for r in again} == {"sticky"}
    mapped_sender = pool.senders[first]["sid"]
    assert pool.mappings() == {"+14155550100": mapped_sender}

    # Off: mappings are ignored but kept; the scaler prefers the number with fewer mappings.
    pool.post(f"/v1/Services/{pool.service['sid']}", StickySender="false")
    other = ({"+14155550101", "+14155550102"} - {first}).pop()
    unstuck = pool.wait_final([pool.via_service("+14155550100")["sid"] for _ in range(4)])
    assert {(r["from"], r["textwire"]["selection_rule"]) for r in unstuck} == {(other, "area_code")}
    assert pool.mappings() == {"+14155550100": mapped_sender}

    # The mapped number leaves the pool: its mappings go with it.
    pool.post(f"/v1/Services/{pool.service['sid']}", StickySender="true")
    r = app.http.delete(
        f"/v1/Services/{pool.service['sid']}/PhoneNumbers/{mapped_sender}",
        auth=pool.auth,
    )
    assert r.status_code == 204
    assert pool.mappings() == {}

    # A UK recipient maps to the US number first, then to a UK number once one joins.
    uk = "+447400123456"
    assert pool.wait_final([pool.via_service(uk)["sid"]])[0]["from"].startswith("+1")
    assert uk in pool.mappings()
    pool.add(Sender="+447400000111", Mps="50")
    assert uk not in pool.mappings()
    (final,) = pool.wait_final([pool.via_service(uk)["sid"]])
    assert final["from"] == "+447400000111"
    assert pool.mappings()[uk] == pool.senders["+447400000111"]["sid"]


def test_scaler_spreads_evenly_across_equal_senders(
    app: InProcess, hook_receiver: Receiver
) -> None:
    pool = Pool(
        app, hook_receiver, [{"Sender": f"+1415555010{i}", "Mps": "100"} for i in range(1, 4)]
    )
    recipients = [f"+1415555{2000 + i}" for i in range(30)]
    rows = pool.wait_final([pool.via_service(to)["sid"] for to in recipients])
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["from"]] = counts.get(r["from"], 0) + 1
    assert sorted(counts.values()) == [10, 10, 10]


def test_no_eligible_sender_fails_with_a_clear_code(
    app: InProcess, hook_receiver: Receiver
) -> None:
    pool = Pool(app, hook_receiver, [{"Sender": "+447400000111"}])
    msg = pool.via_service("+61412345678")  # no AU number, no alpha ID, no US number
    (final,) = pool.wait_final([msg["sid"]])
    assert final["status"] == "failed" and final["error_code"] == 21703
    assert "AU" in final["error_message"] or "Australia" in final["error_message"]


def test_alpha_registration_warning_never_blocks(app: InProcess, hook_receiver: Receiver) -> None:
    """F-SVC-9: an unregistered alpha ID to a registration country sends, with a warning."""
    pool = Pool(app, hook_receiver, [{"Sender": "Acme", "Mps": "50"}])
    (final,) = pool.wait_final([pool.via_service("+971501234567")["sid"]])
    assert final["status"] == "delivered" and final["from"] == "Acme"
    assert final["textwire"]["warnings"] == ["alpha_registration_required"]
    metrics = app.http.get("/metrics").text
    assert (
        'textwire_alpha_registration_warnings_total{country="AE",'
        'warning="alpha_registration_required"} 1.0'
    ) in metrics


def test_mms_converter_sends_sms_with_a_short_media_link(
    app: InProcess, hook_receiver: Receiver
) -> None:
    """F-SVC-8: the pool cannot send MMS, so the media goes as a short link, segments recounted."""
    pool = Pool(app, hook_receiver, [{"Sender": "+14155550101", "Capabilities": "sms"}])
    media = "https://cdn.example.com/images/" + "x" * 120 + ".jpg"
    msg = pool.via_service("+14155550100", body="Your photo", MediaUrl=media)
    assert msg["num_media"] == "1"
    (final,) = pool.wait_final([msg["sid"]])
    assert final["status"] == "delivered"
    assert final["textwire"]["mms_converted"] is True
    assert final["num_media"] == "0"
    assert final["body"].startswith("Your photo\n") and media not in final["body"]
    assert final["num_segments"] == "1"


def test_mms_without_converter_to_a_pool_without_mms_fails(
    app: InProcess, hook_receiver: Receiver
) -> None:
    pool = Pool(
        app,
        hook_receiver,
        [{"Sender": "+14155550101", "Capabilities": "sms"}],
        MmsConverter="false",
    )
    msg = pool.via_service("+14155550100", body="x", MediaUrl="https://example.com/a.jpg")
    (final,) = pool.wait_final([msg["sid"]])
    assert final["status"] == "failed" and final["error_code"] == 21703


@pytest.mark.parametrize("delay", [0.05, 0.0], ids=["stored-receipt", "receipt-with-answer"])
def test_undelivered_short_code_falls_back_to_a_long_code_once(
    tmp_path: Path, database_url: str, hook_receiver: Receiver, delay: float
) -> None:
    """F-SVC-4: both attempts are visible on the message and in the callbacks, whether the
    receipt is read back later or comes with the sandbox's answer (no delay)."""
    settings = make_settings(
        tmp_path / "data", database_url, sandbox_failure_rate=1.0, sandbox_delivery_delay=delay
    )
    server = InProcess(settings).start()
    try:
        pool = Pool(
            server,
            hook_receiver,
            [
                {"Sender": "60006", "Mps": "50"},
                {"Sender": "+14155550101", "Mps": "50"},
            ],
        )
        msg = pool.via_service("+14155550100")
        final = pool.message(msg["sid"])

        def fell_back() -> bool:
            nonlocal final
            final = pool.message(msg["sid"])
            return final["status"] == "undelivered" and bool(final["textwire"].get("fallback_from"))

        server.wait_until(fell_back, 20)
        pool.wait_callbacks(8)
    finally:
        server.stop()
    assert final["from"] == "+14155550101"
    assert final["textwire"]["fallback_from"] == "60006"
    (first,) = final["textwire"]["previous_attempts"]
    assert final["textwire"]["attempts"] == 2  # hand-overs of this message: still a count
    assert first["from"] == "60006" and first["status"] == "undelivered"
    statuses = [(r.form["MessageStatus"], r.form["From"]) for r in hook_receiver.received]
    assert statuses == [
        ("queued", "60006"),
        ("sending", "60006"),
        ("sent", "60006"),
        ("undelivered", "60006"),
        ("queued", "+14155550101"),
        ("sending", "+14155550101"),
        ("sent", "+14155550101"),
        ("undelivered", "+14155550101"),
    ]
