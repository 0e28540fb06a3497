"""A worker killed mid-batch loses nothing and sends nothing twice (issue 3 item 8).

With the sandbox the hand-over commits with the worker's own records, so nothing can be
handed over twice; with a remote provider, only the batch whose answers died with the worker
can be (it is asked for by reference before anything is re-sent)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select

from tests.fakes import Api, fake_json_api, public_server
from textwire.accounts import create_account
from textwire.api.params import Params
from textwire.compose import open_runtime
from textwire.config import Settings
from textwire.messages import tables as mt
from textwire.messages.pipeline import SendRequest, send
from textwire.providers import tables as pt
from textwire.runtime import Runtime
from textwire.senders.api import create_sender_row

COUNT = 3000


async def _prepare(settings: Settings) -> None:
    rt = await open_runtime(settings)
    try:
        acct = await create_account(rt.db, rt.box, rt.clock, "crash")
        await create_sender_row(
            rt, acct.account_sid, Params([("Sender", "+14155550111"), ("Mps", "10000")])
        )
        await _send_many(rt, acct.account_sid, COUNT, "message")
    finally:
        await rt.close()


async def _send_many(rt: Runtime, account_sid: str, count: int, body: str) -> None:
    """``count`` messages from the test sender through the send pipeline, as the API would."""
    await asyncio.gather(
        *(
            send(
                rt,
                SendRequest(
                    account_sid=account_sid,
                    to="+14155550100",
                    from_="+14155550111",
                    body=f"{body} {i}",
                ),
            )
            for i in range(count)
        )
    )


async def _counts(rt: Runtime) -> dict[str, int]:
    m = mt.messages
    async with rt.db.read() as conn:
        rows = (await conn.execute(select(m.c.status, func.count()).group_by(m.c.status))).all()
    return {status: n for status, n in rows}


def _worker(settings: Settings, batch: int = 100) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "TEXTWIRE_DATA_DIR": str(settings.data_dir),
        "TEXTWIRE_DATABASE_URL": settings.resolved_database_url(),
        "TEXTWIRE_SANDBOX_DELIVERY_DELAY": "0.2",
        "TEXTWIRE_WORKER_BATCH_SIZE": str(batch),
        "TEXTWIRE_LEASE_SECONDS": "1.5",
        "TEXTWIRE_LOG_LEVEL": "WARNING",
        "TEXTWIRE_ALLOW_PRIVATE_URLS": "true",  # the fake provider listens on 127.0.0.1
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
                    await conn.scalar(select(func.count()).select_from(pt.sandbox_messages)) or 0
                )
                twice = int(
                    await conn.scalar(
                        select(func.count())
                        .select_from(pt.sandbox_messages)
                        .where(pt.sandbox_messages.c.submissions > 1)
                    )
                    or 0
                )
                sent_events = (
                    await conn.execute(
                        select(mt.message_events.c.message_sid, func.count())
                        .where(mt.message_events.c.status == "sent")
                        .group_by(mt.message_events.c.message_sid)
                        .having(func.count() > 1)
                    )
                ).all()
            return counts, submitted, twice, len(sent_events)
        finally:
            await rt.close()

    first = _worker(settings)
    # A poll: the worker is another process; nothing here signals its writes.
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
        # A poll: the worker is another process; nothing here signals its writes.
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
    # A poll: the worker is another process; nothing here signals its writes.
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


def test_killed_worker_mid_remote_hand_over_records_every_message_once(
    tmp_path: Path, database_url: str
) -> None:
    """The same kill with a remote provider (HTTP/JSON on 127.0.0.1): messages the provider
    already has are recorded from textwire's references, never handed over again; the only
    hand-overs that can repeat are the batch in flight at the kill, whose answers died with
    the worker (architecture.md, crash safety). Each message ends 'sent' exactly once."""
    count, batch = 600, 50
    with fake_json_api() as fake:
        api = public_server(tmp_path, database_url)
        try:
            client = Api(api, "crash-remote")
            integration = client.integration(
                "http",
                {
                    "url": f"{fake.url}/sms",
                    "payload_template": json.dumps({"to": "${to}", "ref": "${message_sid}"}),
                    "message_id_path": "$.data.id",
                },
            )
            client.sender("+14155550111", integration["sid"], Mps="10000")

            api.call(_send_many(api.rt, client.sid, count, "remote"))
            settings = api.settings
        finally:
            api.stop()

        def sent_counts() -> tuple[dict[str, int], int]:
            async def run() -> tuple[dict[str, int], int]:
                rt = await open_runtime(settings, migrate=False)
                try:
                    async with rt.db.read() as conn:
                        twice = (
                            await conn.execute(
                                select(mt.message_events.c.message_sid)
                                .where(mt.message_events.c.status == "sent")
                                .group_by(mt.message_events.c.message_sid)
                                .having(func.count() > 1)
                            )
                        ).all()
                    return await _counts(rt), len(twice)
                finally:
                    await rt.close()

            return asyncio.run(run())

        first = _worker(settings, batch=batch)
        # A poll: FakeJsonApi (tests/fakes.py, not this change's) signals no arrival.
        deadline = time.monotonic() + 60
        while len(fake.received) < 4 * batch and time.monotonic() < deadline:
            time.sleep(0.005)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        handed_at_kill = len(fake.received)
        assert handed_at_kill < count, "the worker finished before it could be killed"

        second = _worker(settings, batch=batch)
        try:
            # A poll: the worker is another process; nothing here signals its writes.
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                counts, twice = sent_counts()
                if counts.get("sent", 0) == count:
                    break
                time.sleep(0.2)
        finally:
            second.send_signal(signal.SIGTERM)
            _, err = second.communicate(timeout=20)
        refs = Counter(document["ref"] for _, document in fake.received)
    assert counts == {"sent": count}, (counts, err.decode()[-2000:])
    assert twice == 0  # recorded as sent exactly once
    assert set(refs) == set(_sids(settings))  # the provider has every message
    repeated = [ref for ref, n in refs.items() if n > 1]
    assert len(repeated) <= batch, (len(repeated), handed_at_kill)
    assert second.returncode == 0, err.decode()[-2000:]


def _sids(settings: Settings) -> list[str]:
    async def run() -> list[str]:
        rt = await open_runtime(settings, migrate=False)
        try:
            async with rt.db.read() as conn:
                return list(await conn.scalars(select(mt.messages.c.sid)))
        finally:
            await rt.close()

    return asyncio.run(run())
