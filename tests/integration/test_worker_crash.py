"""A worker killed mid-batch loses nothing and sends nothing twice (issue 3 item 8)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

from sqlalchemy import func, select

from textwire import tables as t
from textwire.accounts import create_account
from textwire.api.params import Params
from textwire.config import Settings
from textwire.messages.pipeline import SendRequest, send
from textwire.runtime import Runtime, open_runtime
from textwire.senders.api import create_sender_row

COUNT = 3000


async def _prepare(settings: Settings) -> None:
    rt = await open_runtime(settings)
    try:
        acct = await create_account(rt.db, rt.box, rt.clock, "crash")
        await create_sender_row(
            rt, acct.account_sid, Params([("Sender", "+14155550111"), ("Mps", "10000")])
        )
        await asyncio.gather(
            *(
                send(
                    rt,
                    SendRequest(
                        account_sid=acct.account_sid,
                        to="+14155550100",
                        from_="+14155550111",
                        body=f"message {i}",
                    ),
                )
                for i in range(COUNT)
            )
        )
    finally:
        await rt.close()


async def _counts(rt: Runtime) -> dict[str, int]:
    m = t.messages
    async with rt.db.read() as conn:
        rows = (await conn.execute(select(m.c.status, func.count()).group_by(m.c.status))).all()
    return {status: n for status, n in rows}


def _worker(settings: Settings) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "TEXTWIRE_DATA_DIR": str(settings.data_dir),
        "TEXTWIRE_DATABASE_URL": settings.resolved_database_url(),
        "TEXTWIRE_SANDBOX_DELIVERY_DELAY": "0.2",
        "TEXTWIRE_WORKER_BATCH_SIZE": "100",
        "TEXTWIRE_LEASE_SECONDS": "1.5",
        "TEXTWIRE_LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "textwire", "serve", "--role", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def test_killed_worker_mid_batch_every_message_final_exactly_once(settings: Settings) -> None:
    asyncio.run(_prepare(settings))

    async def observe() -> tuple[dict[str, int], int, int, int]:
        rt = await open_runtime(settings, migrate=False)
        try:
            counts = await _counts(rt)
            async with rt.db.read() as conn:
                submitted = int(
                    await conn.scalar(select(func.count()).select_from(t.sandbox_messages)) or 0
                )
                twice = int(
                    await conn.scalar(
                        select(func.count())
                        .select_from(t.sandbox_messages)
                        .where(t.sandbox_messages.c.submissions > 1)
                    )
                    or 0
                )
                sent_events = (
                    await conn.execute(
                        select(t.message_events.c.message_sid, func.count())
                        .where(t.message_events.c.status == "sent")
                        .group_by(t.message_events.c.message_sid)
                        .having(func.count() > 1)
                    )
                ).all()
            return counts, submitted, twice, len(sent_events)
        finally:
            await rt.close()

    first = _worker(settings)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        counts, submitted, _, _ = asyncio.run(observe())
        if submitted >= 300:
            break
        time.sleep(0.02)
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    at_kill, submitted_at_kill, _, _ = asyncio.run(observe())
    assert submitted_at_kill < COUNT, "the worker finished before it could be killed"

    second = _worker(settings)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            counts, submitted, twice, dup_sent = asyncio.run(observe())
            if counts.get("delivered", 0) == COUNT:
                break
            time.sleep(0.2)
    finally:
        second.send_signal(signal.SIGTERM)
        _, err = second.communicate(timeout=20)
    assert counts == {"delivered": COUNT}, (counts, at_kill, err.decode()[-2000:])
    assert submitted == COUNT  # the provider has every message...
    assert twice == 0  # ...each handed over exactly once...
    assert dup_sent == 0  # ...and recorded as sent exactly once
    assert second.returncode == 0, err.decode()[-2000:]


def test_graceful_stop_mid_work_leaves_nothing_half_done(settings: Settings) -> None:
    """SIGTERM while dispatching: the process finishes its batch, exits 0, and no message is
    left in 'sending'."""
    asyncio.run(_prepare(settings))

    async def counts() -> dict[str, int]:
        rt = await open_runtime(settings, migrate=False)
        try:
            return await _counts(rt)
        finally:
            await rt.close()

    proc = _worker(settings)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and counts_now(counts) == 0:
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err.decode()[-2000:]
    after = asyncio.run(counts())
    assert "sending" not in after, after
    assert sum(after.values()) == COUNT


def counts_now(counts: object) -> int:
    """How many messages the worker has taken out of the queue so far."""
    got = asyncio.run(counts())  # type: ignore[operator]
    return int(sum(n for status, n in got.items() if status != "queued"))
