"""Per-sender MPS across worker processes (issue 5 item 5, SPEC F-ORIG-2).

Two worker processes share one database (PostgreSQL in the PostgreSQL run). The sandbox
records the time of every hand-over, so the test can prove that no sender exceeded its
limit in any one-second window and that each ran at >= 95 % of its MPS under backlog.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections import defaultdict

from sqlalchemy import func, select

from tests.integration.test_worker_crash import _worker
from textwire.accounts import create_account
from textwire.api.params import Params
from textwire.compose import open_runtime
from textwire.config import Settings
from textwire.messages import tables as mt
from textwire.messages.pipeline import SendRequest, send
from textwire.providers import tables as pt
from textwire.senders.api import create_sender_row

SENDERS = {"+14155550101": (5, 40), "+14155550102": (10, 80)}  # value: (MPS, messages)


async def _backlog(settings: Settings, senders: list[tuple[str, int, int]]) -> None:
    """Senders (value, MPS) and their queued messages, queued in the order given."""
    rt = await open_runtime(settings)
    try:
        acct = await create_account(rt.db, rt.box, rt.clock, "rates")
        for value, mps, count in senders:
            await create_sender_row(
                rt, acct.account_sid, Params([("Sender", value), ("Mps", str(mps))])
            )
            await asyncio.gather(
                *(
                    send(
                        rt,
                        SendRequest(
                            account_sid=acct.account_sid,
                            to="+14155550100",
                            from_=value,
                            body=f"n{i}",
                        ),
                    )
                    for i in range(count)
                )
            )
    finally:
        await rt.close()


async def _handovers(settings: Settings) -> dict[str, list[float]]:
    rt = await open_runtime(settings, migrate=False)
    try:
        sm = pt.sandbox_messages
        async with rt.db.read() as conn:
            rows = (await conn.execute(select(sm.c.from_addr, sm.c.submitted_at))).all()
    finally:
        await rt.close()
    times: dict[str, list[float]] = defaultdict(list)
    for sender, at in rows:
        times[sender].append(at)
    return {k: sorted(v) for k, v in times.items()}


async def _delivered(settings: Settings) -> int:
    rt = await open_runtime(settings, migrate=False)
    try:
        async with rt.db.read() as conn:
            return int(
                await conn.scalar(
                    select(func.count())
                    .select_from(mt.messages)
                    .where(mt.messages.c.status == "delivered")
                )
                or 0
            )
    finally:
        await rt.close()


def test_two_workers_never_exceed_a_senders_mps_and_keep_it_busy(settings: Settings) -> None:
    asyncio.run(_backlog(settings, [(v, mps, n) for v, (mps, n) in SENDERS.items()]))
    total = sum(count for _, count in SENDERS.values())
    workers = [_worker(settings), _worker(settings)]
    try:
        # A poll: the worker is another process; nothing here signals its writes.
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and asyncio.run(_delivered(settings)) < total:
            time.sleep(0.3)
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        errors = [w.communicate(timeout=30)[1].decode()[-1500:] for w in workers]
    assert asyncio.run(_delivered(settings)) == total, errors

    handovers = asyncio.run(_handovers(settings))
    for sender, (mps, count) in SENDERS.items():
        times = handovers[sender]
        assert len(times) == count
        # No half-open one-second window carries more than the MPS.
        busiest = max(sum(1 for x in times[i:] if x < start + 1.0) for i, start in enumerate(times))
        assert busiest <= mps, (sender, busiest, mps)
        # Under backlog, every whole second of the run carried (nearly) the full MPS.
        seconds = int(times[-1] - times[0])
        assert seconds >= 2
        sent = sum(1 for x in times if x < times[0] + seconds)
        utilisation = sent / (mps * seconds)
        assert utilisation >= 0.95, (sender, utilisation)


def test_short_codes_are_not_starved_by_a_slow_long_codes_backlog(settings: Settings) -> None:
    """Issue 5 item 5: every short-code message goes before the 1-MPS long code's 5th."""
    asyncio.run(_backlog(settings, [("+14155550101", 1, 600), ("60006", 100, 50)]))
    worker = _worker(settings)
    try:
        # A poll: the worker is another process; nothing here signals its writes.
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            handovers = asyncio.run(_handovers(settings))
            if len(handovers.get("60006", [])) == 50 or len(handovers.get("+14155550101", [])) >= 5:
                break
            time.sleep(0.3)
    finally:
        worker.send_signal(signal.SIGTERM)
        _, err = worker.communicate(timeout=30)
    short, long_ = handovers.get("60006", []), handovers.get("+14155550101", [])
    assert len(short) == 50, (len(short), len(long_), err.decode()[-1500:])
    assert len(long_) < 5 or max(short) < long_[4]
