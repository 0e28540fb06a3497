"""Dispatch through the sandbox: statuses, signed callbacks, test numbers, rate limits,
validity, retries and restarts (issue 3 items 8-10, F-PROV-1, F-API-4)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from twilio.request_validator import RequestValidator

from tests.inprocess import InProcess
from tests.support import AppUnderTest, LiveServer, Receiver, make_settings
from textwire.config import Settings
from textwire.dispatch.worker import Worker
from textwire.messages import tables as mt
from textwire.messages.status import FINAL
from textwire.outbox import tables as ot
from textwire.outbox.deliverer import WebhookDeliverer
from textwire.providers import tables as pt
from textwire.providers.base import OutboundMessage
from textwire.providers.sandbox import fate


class Ctx:
    """An account with a sender and a service whose callbacks go to a real receiver."""

    def __init__(self, server: AppUnderTest, hooks: Receiver, mps: int = 100):
        self.server = server
        self.hooks = hooks
        acct = server.new_account("Dispatch")
        self.sid, self.token = acct.account_sid, acct.auth_token
        self.auth = (self.sid, self.token)
        self.sender = self.post("/v1/Senders", Sender="+14155550111", Mps=str(mps))
        self.service = self.post(
            "/v1/Services", FriendlyName="svc", StatusCallback=hooks.url("/status")
        )
        self.post(
            f"/v1/Services/{self.service['sid']}/PhoneNumbers", PhoneNumberSid=self.sender["sid"]
        )

    def post(self, path: str, **data: str) -> dict[str, Any]:
        r = self.server.http.post(path, data=data, auth=self.auth)
        assert r.status_code in (200, 201), r.text
        body: dict[str, Any] = r.json()
        return body

    def send(self, **data: str) -> dict[str, Any]:
        return self.post(f"/2010-04-01/Accounts/{self.sid}/Messages.json", **data)

    def message(self, sid: str) -> dict[str, Any]:
        r = self.server.http.get(
            f"/2010-04-01/Accounts/{self.sid}/Messages/{sid}.json", auth=self.auth
        )
        body: dict[str, Any] = r.json()
        return body

    def wait_final(self, sids: list[str], timeout: float = 30) -> list[dict[str, Any]]:
        """The messages once each is final (read again after every commit)."""
        rows: list[dict[str, Any]] = []

        def final() -> bool:
            nonlocal rows
            rows = [self.message(s) for s in sids]
            return all(r["status"] in FINAL for r in rows)

        try:
            self.server.wait_until(final, timeout)
        except AssertionError:
            raise AssertionError(f"not final: {[r['status'] for r in rows]}") from None
        return rows

    def wait_callbacks(self, n: int, timeout: float = 15) -> None:
        self.hooks.wait_for(n, timeout)


def event_statuses(server: AppUnderTest, sid: str) -> list[str]:
    """The statuses a message's event rows record, oldest first."""
    e = mt.message_events
    rows = query(server, select(e.c.status).where(e.c.message_sid == sid).order_by(e.c.id))
    return [r.status for r in rows]


def query(server: AppUnderTest, stmt: Any) -> list[Any]:
    async def run() -> list[Any]:
        async with server.rt.db.read() as conn:
            return list((await conn.execute(stmt)).all())

    return server.call(run())


@pytest.fixture
def ctx(app: InProcess, hook_receiver: Receiver) -> Ctx:
    return Ctx(app, hook_receiver)


def test_service_message_lifecycle_and_signed_callbacks(ctx: Ctx, app: InProcess) -> None:
    """accepted → queued → sending → sent → delivered; a callback for each after the first,
    each signed so Twilio's RequestValidator accepts it."""
    msg = ctx.send(To="+14155550100", MessagingServiceSid=ctx.service["sid"], Body="hello")
    assert msg["status"] == "accepted" and msg["from"] is None
    (final,) = ctx.wait_final([msg["sid"]])
    assert final["status"] == "delivered"
    assert final["from"] == "+14155550111"
    assert final["date_sent"] is not None and final["price"] == "-0.00790"
    assert final["textwire"]["selection_rule"] == "area_code"  # 415 → 415 (F-SVC-2)

    ctx.wait_callbacks(4)
    statuses = [r.form["MessageStatus"] for r in ctx.hooks.received]
    assert statuses == ["queued", "sending", "sent", "delivered"]
    validator = RequestValidator(ctx.token)
    for r in ctx.hooks.received:
        form = r.form
        assert validator.validate(r.url, form, r.headers["x-twilio-signature"])
        assert form["MessageSid"] == form["SmsSid"] == msg["sid"]
        assert form["AccountSid"] == ctx.sid and form["ApiVersion"] == "2010-04-01"
        assert form["MessagingServiceSid"] == ctx.service["sid"]
        assert form["To"] == "+14155550100"
        assert "ErrorCode" not in form
    assert "RawDlrDoneDate" in ctx.hooks.received[-1].form

    assert event_statuses(app, msg["sid"]) == [
        "accepted",
        "queued",
        "sending",
        "sent",
        "delivered",
    ]


def test_with_no_sandbox_delay_the_receipt_commits_with_the_hand_over(
    tmp_path: Path, database_url: str, hook_receiver: Receiver
) -> None:
    """Sandbox delay 0: the receipt comes back with the hand-over and is recorded in the same
    transaction; every status still has its event and callback, in order, and nothing is
    left for the receipt pump."""
    server = _custom_server(tmp_path, database_url, sandbox_delivery_delay=0.0)
    try:
        ctx = Ctx(server, hook_receiver)
        msg = ctx.send(To="+14155550100", MessagingServiceSid=ctx.service["sid"], Body="now")
        (final,) = ctx.wait_final([msg["sid"]])
        assert final["status"] == "delivered" and final["price"] == "-0.00790"
        assert final["date_sent"] is not None
        ctx.wait_callbacks(4)
        statuses = [r.form["MessageStatus"] for r in ctx.hooks.received]
        assert statuses == ["queued", "sending", "sent", "delivered"]
        assert "RawDlrDoneDate" in ctx.hooks.received[-1].form
        assert event_statuses(server, msg["sid"]) == [
            "accepted",
            "queued",
            "sending",
            "sent",
            "delivered",
        ]
        sm = pt.sandbox_messages
        (row,) = query(server, select(sm.c.submissions, sm.c.report_at, sm.c.outcome))
        assert (row.submissions, row.report_at, row.outcome) == (1, None, "delivered")
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("to", "code"),
    [
        ("+15005550001", 21211),
        ("+15005550002", 21612),
        ("+15005550003", 21408),
        ("+15005550004", 21610),
        ("+15005550009", 21614),
    ],
)
def test_sandbox_to_test_numbers_are_refused_with_twilios_codes(
    ctx: Ctx, to: str, code: int
) -> None:
    """issue 11 §5: refused at create (400 and the code), as Twilio's test credentials do;
    ``tests/integration/test_twilio_compat.py`` covers the rest."""
    r = ctx.server.http.post(
        f"/2010-04-01/Accounts/{ctx.sid}/Messages.json",
        data={"To": to, "From": "+14155550111", "Body": "x"},
        auth=ctx.auth,
    )
    assert (r.status_code, r.json()["code"]) == (400, code)


@pytest.mark.parametrize(
    ("sender", "code"), [("+15005550001", 21212), ("+15005550007", 21606), ("+15005550008", 21611)]
)
def test_sandbox_from_test_numbers_picked_by_a_pool_fail_with_twilios_codes(
    ctx: Ctx, sender: str, code: int
) -> None:
    """A magic From that a service's pool picks only at hand-over fails then, with the code
    (with From at create it is refused there, issue 11 §5)."""
    magic = ctx.post("/v1/Senders", Sender=sender)
    service = ctx.post("/v1/Services", FriendlyName="magic")
    ctx.post(f"/v1/Services/{service['sid']}/PhoneNumbers", PhoneNumberSid=magic["sid"])
    msg = ctx.send(To="+14155550100", MessagingServiceSid=service["sid"], Body="x")
    (final,) = ctx.wait_final([msg["sid"]])
    assert (final["status"], final["error_code"], final["from"]) == ("failed", code, sender)


def _custom_server(tmp_path: Path, database_url: str, **overrides: Any) -> LiveServer:
    settings: Settings = make_settings(tmp_path / "data", database_url, **overrides)
    return LiveServer(settings).start()


def test_sandbox_failures_are_deterministic_by_seed(
    tmp_path: Path, database_url: str, hook_receiver: Receiver
) -> None:
    """F-PROV-1: outcomes follow the seed and failure rate, message by message."""
    server = _custom_server(tmp_path, database_url, sandbox_failure_rate=0.5, sandbox_seed=42)
    try:
        ctx = Ctx(server, hook_receiver)
        sids = [
            ctx.send(To="+14155550100", From="+14155550111", Body=f"m{i}")["sid"] for i in range(30)
        ]
        rows = ctx.wait_final(sids)
    finally:
        server.stop()
    outcomes = {r["sid"]: (r["status"], r["error_code"]) for r in rows}
    assert outcomes == {sid: fate(42, sid, 0.5) for sid in sids}
    assert {s for s, _ in outcomes.values()} == {"delivered", "undelivered"}


def test_sender_mps_is_respected(ctx: Ctx, app: InProcess) -> None:
    """Issue 3 item 8: a 2-MPS sender never hands over more than 2 segments in any second."""
    ctx.post("/v1/Senders", Sender="+14155550122", Mps="2")
    sids = [ctx.send(To="+14155550100", From="+14155550122", Body=f"m{i}")["sid"] for i in range(7)]
    ctx.wait_final(sids, timeout=30)
    times = sorted(
        r.submitted_at
        for r in query(
            app,
            select(pt.sandbox_messages.c.submitted_at).where(
                pt.sandbox_messages.c.from_addr == "+14155550122"
            ),
        )
    )
    assert len(times) == 7
    for i, start in enumerate(times):
        assert sum(1 for x in times[i:] if x < start + 1.0) <= 2
    assert times[-1] - times[0] >= 2.9  # 7 messages at 2/s need at least 3 s


def test_validity_period_expiry_fails_with_30036(
    tmp_path: Path, database_url: str, hook_receiver: Receiver
) -> None:
    """F-SVC-5: a message not handed over within its validity period fails with a callback."""
    settings = make_settings(tmp_path / "data", database_url)
    api = LiveServer(settings, role="api").start()
    try:
        ctx = Ctx(api, hook_receiver)
        msg = ctx.send(
            To="+14155550100",
            From="+14155550111",
            Body="late",
            ValidityPeriod="1",
            StatusCallback=hook_receiver.url("/v"),
        )
        time.sleep(1.3)
        api.call(Worker(api.rt).tick())
        final = ctx.message(msg["sid"])
        assert (final["status"], final["error_code"]) == ("failed", 30036)
        with delivering(api):
            ctx.wait_callbacks(1)
        assert hook_receiver.received[-1].form["ErrorCode"] == "30036"
    finally:
        api.stop()


@contextlib.contextmanager
def delivering(server: LiveServer) -> Iterator[None]:
    """A webhook deliverer runs on ``server``'s loop (an ``api``-role server has none)."""
    rt = server.rt
    stop = asyncio.Event()
    deliverer = WebhookDeliverer(
        db=rt.db, settings=rt.settings, clock=rt.clock, metrics=rt.metrics, owner="test"
    )

    async def start() -> asyncio.Task[None]:
        return asyncio.create_task(deliverer.run(stop))

    task = server.call(start())
    try:
        yield
    finally:

        async def halt() -> None:
            stop.set()
            await task

        server.call(halt())


def test_callbacks_retry_on_5xx_and_stop_on_4xx(ctx: Ctx, app: InProcess) -> None:
    """F-API-4: 500/503 are retried with backoff; a 404 is final after one attempt."""
    ctx.hooks.responses = [500, 503]
    msg = ctx.send(
        To="+14155550100", From="+14155550111", Body="x", StatusCallback=ctx.hooks.url("/retry")
    )
    ctx.wait_final([msg["sid"]])
    w = ot.webhooks

    def rows() -> list[Any]:
        return query(app, select(w).where(w.c.message_sid == msg["sid"]).order_by(w.c.id))

    app.wait_until(lambda: not any(r.status == "pending" for r in rows()), 15)
    hooks = rows()
    assert [h.status for h in hooks] == ["delivered"] * 3  # sending, sent, delivered
    # Two answers were errors, so two deliveries took a second attempt; each ended in a 200.
    assert sum(h.attempts for h in hooks) == 5
    assert {h.last_status_code for h in hooks} == {200}

    ctx.hooks.responses = [404]
    msg2 = ctx.send(
        To="+14155550100", From="+14155550111", Body="x", StatusCallback=ctx.hooks.url("/gone")
    )
    ctx.wait_final([msg2["sid"]])
    got: list[Any] = []

    def settled() -> bool:
        nonlocal got
        got = query(app, select(w).where(w.c.message_sid == msg2["sid"]).order_by(w.c.id))
        return bool(got) and all(h.status != "pending" for h in got)

    app.wait_until(settled, 10)
    assert got[0].status == "failed" and got[0].attempts == 1 and got[0].last_status_code == 404


def test_pending_callbacks_survive_a_restart(
    tmp_path: Path, database_url: str, hook_receiver: Receiver
) -> None:
    settings = make_settings(tmp_path / "data", database_url, webhook_max_attempts=50)
    first = LiveServer(settings).start()
    ctx = Ctx(first, hook_receiver)
    hook_receiver.responses = [500] * 1000
    msg = ctx.send(
        To="+14155550100", From="+14155550111", Body="x", StatusCallback=hook_receiver.url("/r")
    )
    ctx.wait_final([msg["sid"]])
    first.stop()
    pending = len(hook_receiver.received)
    assert pending >= 1
    hook_receiver.responses = []
    second = LiveServer(settings).start()
    try:
        w = ot.webhooks
        second.call(_reset_backoff(second))
        statuses: list[str] = []

        def delivered() -> bool:
            nonlocal statuses
            rows = query(second, select(w.c.status).where(w.c.message_sid == msg["sid"]))
            statuses = [r.status for r in rows]
            return bool(statuses) and all(s == "delivered" for s in statuses)

        second.wait_until(delivered, 15)
        assert statuses == ["delivered"] * 3
    finally:
        second.stop()


async def _reset_backoff(server: LiveServer) -> None:
    """Make the retries due now instead of waiting out their backoff."""
    async with server.rt.db.write() as conn:
        await conn.execute(
            update(ot.webhooks).where(ot.webhooks.c.status == "pending").values(next_attempt_at=0.0)
        )


@pytest.mark.parametrize(
    ("delay", "final", "events"),
    [
        (0.05, "sent", ["queued", "sent"]),
        # The receipt went back with the lost answer: lookup gives it again, or the message
        # would stay at 'sent' for ever.
        (0.0, "delivered", ["queued", "sent", "delivered"]),
    ],
    ids=["receipt-still-due", "receipt-came-with-the-answer"],
)
def test_a_message_the_provider_already_accepted_is_not_sent_again(
    tmp_path: Path,
    database_url: str,
    hook_receiver: Receiver,
    delay: float,
    final: str,
    events: list[str],
) -> None:
    """A worker died after the provider accepted but before recording it: the next worker
    asks the provider, records what it has, and does not hand the message over again."""
    settings = make_settings(tmp_path / "data", database_url, sandbox_delivery_delay=delay)
    api = LiveServer(settings, role="api").start()
    try:
        ctx = Ctx(api, hook_receiver)
        msg = ctx.send(To="+14155550100", From="+14155550111", Body="once")
        rt = api.rt
        outbound = OutboundMessage(
            msg["sid"],
            ctx.sid,
            "+14155550111",
            "+14155550100",
            "once",
            1,
            "GSM-7",
            (),
            ctx.sender["sid"],
            ctx.sender["integration_sid"],
        )

        async def orphan() -> None:
            await rt.sandbox.send_batch([outbound])  # ...and then the worker died
            async with rt.db.write() as conn:
                await conn.execute(
                    update(mt.messages)
                    .where(mt.messages.c.sid == msg["sid"])
                    .values(status="sending", lease_until=time.time() - 1, lease_owner="dead")
                )

        api.call(orphan())
        worker = Worker(rt)
        api.call(worker.tick())
        # Orphans are reconciled by a hand-over group the tick launches, not inside the tick.
        api.call(worker.drain())
        assert ctx.message(msg["sid"])["status"] == final
        assert event_statuses(api, msg["sid"]) == events
        (sub,) = query(
            api,
            select(pt.sandbox_messages.c.submissions).where(
                pt.sandbox_messages.c.message_sid == msg["sid"]
            ),
        )
        assert sub.submissions == 1
    finally:
        api.stop()


def test_health_and_metrics(ctx: Ctx, app: InProcess) -> None:
    assert app.http.get("/healthz").json()["status"] == "ok"
    msg = ctx.send(To="+14155550100", From="+14155550111", Body="x")
    ctx.wait_final([msg["sid"]])
    text = app.http.get("/metrics").text
    assert 'textwire_messages{status="delivered"} 1.0' in text
    assert "textwire_queue_depth 0.0" in text
    assert "textwire_dispatch_latency_seconds_count 1.0" in text
    assert "textwire_webhook_failures_total" in text


@pytest.fixture
def _unused() -> Iterator[None]:
    yield


def test_a_receipt_that_beats_the_workers_sent_is_not_overwritten(
    tmp_path: Path, database_url: str, hook_receiver: Receiver
) -> None:
    """A fast provider reports delivery before the worker records 'sent': the message ends
    delivered, with one 'sent' before it, never 'sent' after 'delivered'."""
    from textwire.messages import store
    from textwire.messages.model import Change
    from textwire.messages.receipts import apply_receipts
    from textwire.providers.base import Receipt

    settings = make_settings(tmp_path / "data", database_url)
    api = LiveServer(settings, role="api").start()
    try:
        ctx = Ctx(api, hook_receiver)
        msg = ctx.send(To="+14155550100", From="+14155550111", Body="fast")
        rt = api.rt

        async def race() -> None:
            m = mt.messages
            async with rt.db.write() as conn:
                await conn.execute(update(m).where(m.c.sid == msg["sid"]).values(status="sending"))
            async with rt.db.write() as conn:
                receipt = Receipt(status="delivered", message_sid=msg["sid"])
                await apply_receipts(conn, rt, [receipt])
            async with rt.db.write() as conn:
                row = dict(
                    (await conn.execute(select(m).where(m.c.sid == msg["sid"]))).mappings().one()
                )
                late = [Change(row, "sent", values={"provider_sid": "P1", "price": "-0.00790"})]
                kept = await store.unless_overtaken(conn, rt.db, late)
                await store.record(
                    conn,
                    rt.db,
                    kept,
                    now=rt.clock.now(),
                    metrics=rt.metrics,
                    token=rt.tokens.token,
                )

        api.call(race())
        final = ctx.message(msg["sid"])
        assert final["status"] == "delivered" and final["price"] == "-0.00790"
        assert event_statuses(api, msg["sid"]) == ["queued", "sent", "delivered"]
    finally:
        api.stop()
