"""Webhook delivery under faults (issue 11 §1b, §1c, §2): a row that cannot be delivered
fails alone, outcomes are recorded as they complete, and a hanging receiver holds only
its own rows. Real servers on 127.0.0.1; the hanging receiver is a real socket that
accepts and never answers."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from sqlalchemy import insert, select
from starlette.requests import Request
from starlette.responses import PlainTextResponse

from tests.support import LiveServer, Receiver, make_settings
from textwire.compose import open_runtime
from textwire.config import Settings
from textwire.outbox import tables as ot
from textwire.outbox.rows import WebhookRow, form_webhook_row


class HangingReceiver:
    """An HTTP server that accepts every connection, lets the request sit in the socket
    buffer and never answers: a receiver that hangs."""

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(256)
        self._sock.settimeout(0.1)
        self.port: int = self._sock.getsockname()[1]
        self.connections: list[socket.socket] = []
        self._accepted = threading.Condition()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._accepted:
                self.connections.append(conn)
                self._accepted.notify_all()

    def wait_connections(self, n: int, timeout: float) -> None:
        """Until ``n`` connections were accepted, woken as each one is."""
        with self._accepted:
            if not self._accepted.wait_for(lambda: len(self.connections) >= n, timeout):
                raise AssertionError(f"{n} connections: not within {timeout} s")

    def url(self, path: str = "/hang") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(5)
        self._sock.close()
        for conn in self.connections:
            conn.close()


@pytest.fixture
def hanging() -> Iterator[HangingReceiver]:
    h = HangingReceiver()
    try:
        yield h
    finally:
        h.stop()


class TimedReceiver(Receiver):
    """A ``Receiver`` that also notes when each status callback arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived: dict[tuple[str, str], float] = {}

    async def _handle(self, request: Request) -> PlainTextResponse:
        # Noted before the base class records the request and wakes its waiters, so a
        # waiter woken by it finds the time here. (Starlette keeps the body it read.)
        form = dict(parse_qsl((await request.body()).decode()))
        self.arrived[(form.get("MessageSid", ""), form.get("MessageStatus", ""))] = time.monotonic()
        return await super()._handle(request)


def _row(account_sid: str, url: str, n: int, message_sid: str | None = None) -> WebhookRow:
    return form_webhook_row(
        account_sid=account_sid,
        message_sid=message_sid,
        kind="status",
        url=url,
        params={"N": str(n)},
        token="token",
        now=datetime.now(UTC),
    )


async def _insert(settings: Settings, rows: list[WebhookRow]) -> None:
    """Rows written straight into the table, as a textwire from before the URL check did."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    rt = await open_runtime(settings, migrate=False)
    try:
        async with rt.db.write() as conn:
            await conn.execute(insert(ot.webhooks), rows)
    finally:
        await rt.close()


async def _webhooks(settings: Settings) -> list[Any]:
    rt = await open_runtime(settings, migrate=False)
    try:
        async with rt.db.read() as conn:
            return list((await conn.execute(select(ot.webhooks).order_by(ot.webhooks.c.id))).all())
    finally:
        await rt.close()


def _eventually(check: Any, timeout: float, what: str) -> None:
    """A poll, for a change another process makes: nothing in this one signals it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {timeout} s")


POISONED = ["http://127.0.0.1:9/a\x19b", "http://[::1"]


def test_a_poisoned_row_fails_alone_and_good_callbacks_arrive_once_across_a_restart(
    tmp_path: Path, database_url: str, hook_receiver: Receiver
) -> None:
    """issue 11 §1b: rows whose URL httpx cannot even build a request for sit between good
    ones (one inside a message's chain of callbacks). Every good callback arrives exactly
    once across a restart, each poisoned row ends ``failed`` with its reason, and the
    deliverer is still running."""
    settings = make_settings(tmp_path / "data", database_url)
    good = hook_receiver.url("/good")
    rows = [
        _row("ACpoison", good, 0),
        _row("ACpoison", POISONED[0], 1),
        _row("ACpoison", good, 2),
        _row("ACpoison", good, 3, message_sid="SMchain"),
        _row("ACpoison", POISONED[1], 4, message_sid="SMchain"),
        _row("ACpoison", good, 5, message_sid="SMchain"),
        _row("ACpoison", good, 6),
    ]
    asyncio.run(_insert(settings, rows))
    expected = {"0", "2", "3", "5", "6"}

    def settled(server: LiveServer) -> bool:
        return all(r.status != "pending" for r in server.call(_webhooks(settings)))

    first = LiveServer(settings).start()
    try:
        # Checked again as each of the deliverer's writes commits.
        first.wait_until(lambda: settled(first), 20)
    finally:
        first.stop()
    second = LiveServer(settings).start()
    try:
        # Rows written after the restart go out too: the deliverer did not die.
        asyncio.run(_insert(settings, [_row("ACpoison", good, 7), _row("ACpoison", good, 8)]))
        expected |= {"7", "8"}
        second.wait_until(lambda: settled(second), 20)
        health = httpx.get(second.url + "/healthz")
        assert health.status_code == 200, health.text
        assert health.json()["loops"]["deliverer"]["state"] == "running"
    finally:
        second.stop()

    arrived = Counter(r.form["N"] for r in hook_receiver.received)
    assert arrived == Counter(expected), arrived  # each good callback exactly once
    by_n = {r.body.split("=")[1]: r for r in asyncio.run(_webhooks(settings))}
    for n in expected:
        assert by_n[n].status == "delivered" and by_n[n].attempts == 1
    for n in ("1", "4"):
        assert by_n[n].status == "failed", by_n[n]
        assert by_n[n].attempts == 1 and by_n[n].next_attempt_at is None
        assert by_n[n].last_error.startswith("InvalidURL"), by_n[n].last_error
    # Order within a message holds across the failure in the middle of its chain.
    chain = [r.form["N"] for r in hook_receiver.received if r.form["N"] in ("3", "5")]
    assert chain == ["3", "5"]


def _account(server: LiveServer, name: str, number: str) -> tuple[str, tuple[str, str]]:
    acct = server.new_account(name)
    auth = (acct.account_sid, acct.auth_token)
    r = httpx.post(server.url + "/v1/Senders", data={"Sender": number, "Mps": "500"}, auth=auth)
    assert r.status_code == 201, r.text
    return acct.account_sid, auth


def _send(server: LiveServer, sid: str, auth: tuple[str, str], **data: str) -> str:
    r = httpx.post(f"{server.url}/2010-04-01/Accounts/{sid}/Messages.json", data=data, auth=auth)
    assert r.status_code == 201, r.text
    message_sid: str = r.json()["sid"]
    return message_sid


def _latencies(
    server: LiveServer, sid: str, auth: tuple[str, str], receiver: TimedReceiver, count: int
) -> list[float]:
    """Create → its ``sent`` callback's arrival, for ``count`` messages one after another."""
    out = []
    for i in range(count):
        start = time.monotonic()
        msid = _send(
            server,
            sid,
            auth,
            To="+14155550100",
            From="+14155550122",
            Body=f"b{i}",
            StatusCallback=receiver.url("/b"),
        )
        receiver.wait_until(lambda _, m=msid: (m, "sent") in receiver.arrived, 60, f"{msid} sent")
        out.append(receiver.arrived[(msid, "sent")] - start)
    return out


def test_a_hanging_receiver_does_not_delay_another_accounts_callbacks(
    tmp_path: Path, database_url: str, hanging: HangingReceiver
) -> None:
    """issue 11 §2: account A's status callbacks go to a receiver that never answers;
    account B's median callback latency stays within a small factor of a run without
    the hang, measured in this test."""
    settings = make_settings(tmp_path / "data", database_url, webhook_timeout=8.0)
    server = LiveServer(settings).start()
    b_hooks = TimedReceiver().start()
    a_hooks = Receiver().start()
    try:
        a_sid, a_auth = _account(server, "A", "+14155550111")
        b_sid, b_auth = _account(server, "B", "+14155550122")

        def a_sends(url: str, count: int) -> None:
            for i in range(count):
                _send(
                    server,
                    a_sid,
                    a_auth,
                    To="+14155550100",
                    From="+14155550111",
                    Body=f"a{i}",
                    StatusCallback=url,
                )

        a_sends(a_hooks.url("/a"), 10)
        baseline = _latencies(server, b_sid, b_auth, b_hooks, 12)
        a_sends(hanging.url(), 10)
        hanging.wait_connections(1, 20)
        hung = _latencies(server, b_sid, b_auth, b_hooks, 12)
        assert hanging.connections  # A's callbacks were hanging during the measurement
    finally:
        hanging.stop()  # in-flight requests end now rather than at their timeout
        server.stop()
        b_hooks.stop()
        a_hooks.stop()
    base, slow = statistics.median(baseline), statistics.median(hung)
    assert slow <= max(5 * base, 1.0), (base, slow, hung)


def _deliverer_process(settings: Settings) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "TEXTWIRE_DATA_DIR": str(settings.data_dir),
        "TEXTWIRE_DATABASE_URL": settings.resolved_database_url(),
        "TEXTWIRE_LEASE_SECONDS": "2",
        "TEXTWIRE_WEBHOOK_TIMEOUT": "30",
        "TEXTWIRE_WORKER_POLL_INTERVAL": "0.02",
        "TEXTWIRE_LOG_LEVEL": "WARNING",
        "TEXTWIRE_ALLOW_PRIVATE_URLS": "true",  # the receivers listen on 127.0.0.1
    }
    return subprocess.Popen(
        [sys.executable, "-m", "textwire", "serve", "--role", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def test_a_killed_deliverer_repeats_only_the_requests_in_flight(
    settings: Settings, hook_receiver: Receiver, hanging: HangingReceiver
) -> None:
    """issue 11 §1c: one claimed batch holds a callback to a hanging receiver and twenty to
    a good one. The good ones are recorded as they are answered, so after the process is
    killed (SIGKILL) and another starts, only the hanging one is sent again."""
    count = 20
    rows = [_row("ACkill", hanging.url(), 0)]
    rows += [_row("ACkill", hook_receiver.url("/good"), n) for n in range(1, count + 1)]
    asyncio.run(_insert(settings, rows))

    def good_delivered() -> int:
        return sum(
            r.status == "delivered" and "/good" in r.url for r in asyncio.run(_webhooks(settings))
        )

    first = _deliverer_process(settings)
    try:
        hook_receiver.wait_for(count, 20)
        # Well inside the hanging request's 30 s timeout: nothing of the batch has ended
        # but the answered requests.
        _eventually(lambda: good_delivered() == count, 10, "the answered ones recorded")
        assert len(hanging.connections) == 1
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    second = _deliverer_process(settings)
    try:
        # The hanging row's lease (2 s) runs out and the new process sends it again.
        hanging.wait_connections(2, 20)
    finally:
        second.send_signal(signal.SIGTERM)
        hanging.stop()
        _, err = second.communicate(timeout=40)
    assert Counter(r.form["N"] for r in hook_receiver.received) == Counter(
        str(n) for n in range(1, count + 1)
    ), err.decode()[-2000:]
    stored = asyncio.run(_webhooks(settings))
    assert [r.attempts for r in stored if "/good" in r.url] == [1] * count
