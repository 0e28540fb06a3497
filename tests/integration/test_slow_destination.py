"""One account's hung provider must not delay another account (issue 11 §2).

The hung provider is a real HTTP server on 127.0.0.1 that reads each request and never
answers; account A sends through it as an HTTP/JSON integration with a timeout of a few
seconds, account B through the sandbox. Latency properties are ratios measured in the same
test (B with and without A's hang), never absolute times.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import statistics
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from tests.fakes import Api, public_server, wait_until
from tests.support import LiveServer, LoopThread
from textwire.dispatch.worker import Worker
from textwire.messages import tables as mt

A_FROM, B_FROM = "+14155550111", "+14155550122"


class HangingProvider:
    """Accepts connections, reads each request whole and records its ``ref`` and when it came,
    and never answers; or, with ``delays``, answers each request with a provider id after
    the next delay of the cycle (seconds)."""

    def __init__(self, delays: list[float] | None = None) -> None:
        self.refs: list[str] = []
        self.arrivals: list[float] = []
        self.delays = delays
        self.port = 0
        self._thread = LoopThread()
        self._server: asyncio.Server | None = None
        self._release: asyncio.Event | None = None
        self._handlers: set[asyncio.Task[Any]] = set()

    def start(self) -> HangingProvider:
        async def go() -> None:
            self._release = asyncio.Event()
            self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
            self.port = self._server.sockets[0].getsockname()[1]

        self._thread.call(go())
        return self

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert self._release is not None
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        with contextlib.suppress(Exception):
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.decode("latin-1").split("\r\n"):
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                body = json.loads(await reader.readexactly(length))
                self.arrivals.append(time.monotonic())
                self.refs.append(body["ref"])
                if self.delays is not None:
                    await asyncio.sleep(self.delays[(len(self.refs) - 1) % len(self.delays)])
                    answer = json.dumps({"id": "P-" + body["ref"]}).encode()
                    writer.write(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        + f"Content-Length: {len(answer)}\r\n\r\n".encode()
                        + answer
                    )
                    await writer.drain()
                    continue
                # Never answer; a closed connection (the client's timeout) ends the wait.
                reader_gone = asyncio.ensure_future(reader.read())
                release = asyncio.ensure_future(self._release.wait())
                await asyncio.wait({reader_gone, release}, return_when=asyncio.FIRST_COMPLETED)
                reader_gone.cancel()
                release.cancel()
                break
        writer.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/sms"

    def stop(self) -> None:
        async def halt() -> None:
            assert self._server is not None and self._release is not None
            self._release.set()
            self._server.close()
            for task in self._handlers:
                task.cancel()
            await asyncio.gather(*self._handlers, return_exceptions=True)

        with contextlib.suppress(Exception):
            self._thread.call(halt(), timeout=10)
        self._thread.close()


@contextlib.contextmanager
def hanging_provider(delays: list[float] | None = None) -> Iterator[HangingProvider]:
    p = HangingProvider(delays).start()
    try:
        yield p
    finally:
        p.stop()


def _http_integration(api: Api, url: str, timeout: float, **extra: Any) -> dict[str, Any]:
    return api.integration(
        "http",
        {
            "url": url,
            "payload_template": json.dumps({"to": "${to}", "ref": "${message_sid}"}),
            "message_id_path": "$.id",
            "timeout": timeout,
            **extra,
        },
    )


def _sent_at(live: LiveServer, sids: list[str]) -> dict[str, tuple[datetime, datetime]]:
    """Each message's creation time and the time of its 'sent' event, from the database."""

    async def read() -> dict[str, tuple[datetime, datetime]]:
        m, ev = mt.messages, mt.message_events
        async with live.rt.db.read() as conn:
            created = dict(
                (await conn.execute(select(m.c.sid, m.c.date_created).where(m.c.sid.in_(sids))))
                .tuples()
                .all()
            )
            sent = dict(
                (
                    await conn.execute(
                        select(ev.c.message_sid, func.min(ev.c.at))
                        .where(ev.c.message_sid.in_(sids), ev.c.status == "sent")
                        .group_by(ev.c.message_sid)
                    )
                )
                .tuples()
                .all()
            )
        return {sid: (created[sid], sent[sid]) for sid in sids}

    return live.call(read())


def _send_b(live: LiveServer, b: Api, count: int) -> dict[str, tuple[datetime, datetime]]:
    """B's messages, one after another; when each was created and sent, once all are."""
    sids = [b.send(To="+14155550100", From=B_FROM, Body=f"b{i}")["sid"] for i in range(count)]
    for sid in sids:
        b.wait_status(sid, {"sent", "delivered"}, timeout=60)
    return _sent_at(live, sids)


def _median_latency(times: dict[str, tuple[datetime, datetime]]) -> float:
    return statistics.median((sent - created).total_seconds() for created, sent in times.values())


def _first_attempt_ended(live: LiveServer, sids: list[str]) -> datetime:
    """When the first of these messages' first hand-over ended (its next event after
    'sending')."""

    async def read() -> datetime:
        ev = mt.message_events
        async with live.rt.db.read() as conn:
            rows = (
                await conn.execute(
                    select(ev.c.message_sid, ev.c.status, ev.c.at)
                    .where(ev.c.message_sid.in_(sids))
                    .order_by(ev.c.at, ev.c.id)
                )
            ).all()
        ends: list[datetime] = []
        for sid in sids:
            statuses = [(status, at) for message, status, at in rows if message == sid]
            first = next(i for i, (status, _) in enumerate(statuses) if status == "sending")
            ends.append(statuses[first + 1][1])
        return min(ends)

    return live.call(read())


def _events(live: LiveServer, sids: list[str], status: str) -> Counter[str]:
    async def read() -> Counter[str]:
        ev = mt.message_events
        async with live.rt.db.read() as conn:
            rows = await conn.scalars(
                select(ev.c.message_sid).where(ev.c.message_sid.in_(sids), ev.c.status == status)
            )
            return Counter(rows)

    return live.call(read())


def test_a_hung_provider_does_not_delay_another_accounts_messages(
    tmp_path: Path, database_url: str
) -> None:
    """Issue 11 §2: while account A's HTTP/JSON provider hangs (timeout 6 s), account B's
    sandbox messages reach 'sent' about as fast as without the hang; A's messages time out,
    are retried and fail as the timeout rules say, each hand-over made once."""
    live = public_server(tmp_path, database_url, max_send_attempts=2)
    try:
        with hanging_provider() as provider:
            a, b = Api(live, "A"), Api(live, "B")
            a.sender(A_FROM, _http_integration(a, provider.url, timeout=6)["sid"], Mps="100")
            b.post("/v1/Senders", Sender=B_FROM, Mps="100")

            calm = _send_b(live, b, 15)

            a_sids = [
                a.send(To="+14155550100", From=A_FROM, Body=f"a{i}")["sid"] for i in range(10)
            ]
            wait_until(lambda: len(provider.refs) >= len(a_sids), timeout=30)
            hung = _send_b(live, b, 15)

            calm_median, hung_median = _median_latency(calm), _median_latency(hung)
            assert hung_median <= max(5 * calm_median, 0.5), (calm_median, hung_median)

            finals = {sid: a.wait_status(sid, {"failed", "sent"}, timeout=60) for sid in a_sids}
            # B's messages were all created and sent while A's first hand-overs hung.
            assert max(sent for _, sent in hung.values()) < _first_attempt_ended(live, a_sids)
            assert {(m["status"], m["error_code"]) for m in finals.values()} == {("failed", 30008)}
            # Each of A's two attempts was one hand-over: the provider saw each message twice,
            # once per 'sending', never more.
            assert Counter(provider.refs) == {sid: 2 for sid in a_sids}
            assert _events(live, a_sids, "sending") == {sid: 2 for sid in a_sids}
    finally:
        live.stop()


def test_a_hung_hand_over_is_never_handed_over_twice(tmp_path: Path, database_url: str) -> None:
    """Issue 11 §2: a hand-over that outlasts the message lease (1 s) and the sender lease
    (5 s) keeps both while it is in flight, so a second worker on the same database does not
    take the message over and hand it over again; it fails once, after the timeout (8 s)."""
    live = public_server(tmp_path, database_url, lease_seconds=1.0)
    try:
        with hanging_provider() as provider:
            a = Api(live, "A")
            integration = _http_integration(a, provider.url, timeout=8, retry_on_timeout=False)
            a.sender(A_FROM, integration["sid"], Mps="100")

            loop = live.thread.loop
            second = Worker(live.rt, owner="second-worker")

            async def make_stop() -> asyncio.Event:
                return asyncio.Event()

            stop = live.call(make_stop())
            running = asyncio.run_coroutine_threadsafe(second.run(stop), loop)
            try:
                sids = [
                    a.send(To="+14155550100", From=A_FROM, Body=f"a{i}")["sid"] for i in range(5)
                ]
                finals = [a.wait_status(sid, {"failed", "sent"}, timeout=60) for sid in sids]
            finally:
                loop.call_soon_threadsafe(stop.set)
                running.result(timeout=30)
            assert {(m["status"], m["error_code"]) for m in finals} == {("failed", 30008)}
            assert Counter(provider.refs) == dict.fromkeys(sids, 1)
            assert _events(live, sids, "sending") == dict.fromkeys(sids, 1)
    finally:
        live.stop()


def test_overlapping_hand_overs_of_one_sender_keep_its_mps(
    tmp_path: Path, database_url: str
) -> None:
    """Issue 11 §2 with SPEC F-ORIG-2: hand-overs of one sender now overlap (a group per
    tick, each out until its provider answers, after 0-1.5 s here); the times the provider
    received them still never put more than the sender's MPS in any one-second window."""
    mps, count = 3, 15
    live = public_server(tmp_path, database_url)
    try:
        with hanging_provider(delays=[1.5, 0.0, 0.7, 0.2, 1.1]) as provider:
            a = Api(live, "A")
            a.sender(A_FROM, _http_integration(a, provider.url, timeout=10)["sid"], Mps=str(mps))
            sids = []
            for i in range(count):  # one at a time, so ticks take few and groups overlap
                sids.append(a.send(To="+14155550100", From=A_FROM, Body=f"a{i}")["sid"])
                time.sleep(0.05)
            finals = [a.wait_status(sid, {"sent", "failed"}, timeout=60) for sid in sids]
            arrivals = sorted(provider.arrivals)
            assert {m["status"] for m in finals} == {"sent"}
            assert Counter(provider.refs) == dict.fromkeys(sids, 1)
            busiest = max(
                sum(1 for x in arrivals[i:] if x < start + 1.0) for i, start in enumerate(arrivals)
            )
            assert busiest <= mps, (busiest, arrivals)
    finally:
        live.stop()
