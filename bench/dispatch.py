"""Benchmark: messages taken from queued to delivered per second through the sandbox (issue 3).

Goal on the 2-core reference machine: >= 10,000 messages/s dispatched.

N messages (default 50,000) are created through the send pipeline (``messages.send``, as
the API does) from 20 senders at 10,000 MPS each, so no rate limit binds; the sandbox
reports delivery at once (delay 0). Then the dispatch worker runs, ``Worker.tick`` and
``Worker.pump_receipts`` in a loop as ``Worker.run`` does without its idle sleeps, until
every message is delivered: each one is claimed, marked sending, handed to the sandbox,
marked sent, and marked delivered from its receipt, each change with its event row.

The baseline, measured in the same run on the same database, is the raw cost of touching
each of those rows once: one executemany ``UPDATE messages SET status = ? WHERE sid = ?``
over the same N rows. Printed: both rates and dispatch's share of the baseline's rate.

Run:

    .venv/bin/python bench/dispatch.py
    .venv/bin/python bench/dispatch.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test

With ``--database-url`` a throwaway database is created beside the one named and dropped
at the end. ``--callbacks`` gives every message a StatusCallback, so each change also
writes its signed callback row (nothing delivers them during the run).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import time
from collections import Counter

from sqlalchemy import bindparam, func, select, update

from textwire.accounts import create_account
from textwire.api.params import Params
from textwire.compose import open_runtime
from textwire.config import Settings
from textwire.dispatch.worker import Worker
from textwire.messages import tables as mt
from textwire.messages.pipeline import SendRequest, send
from textwire.outbox import tables as ot
from textwire.runtime import Runtime
from textwire.senders.api import create_sender_row
from textwire.server import run, settle_gc
from throwaway_db import BenchDatabase, throwaway_database

GOAL = 10_000
SENDERS = [f"+1415555{n:04d}" for n in range(100, 120)]
MPS = "10000"
BODIES = [
    "Your order #1042 has shipped and arrives Thursday.",
    "Reminder: your appointment is tomorrow at 10:30. Reply C to confirm.",
    "Your verification code is 482113. It expires in 10 minutes.",
]
CREATE_CONCURRENCY = 500


async def preload(rt: Runtime, account_sid: str, count: int, callback: str | None) -> None:
    """``count`` queued messages, created through the send pipeline as the API creates them."""
    created = 0

    async def one(i: int) -> None:
        await send(
            rt,
            SendRequest(
                account_sid=account_sid,
                to=f"+1415{2_000_000 + i:07d}",
                from_=SENDERS[i % len(SENDERS)],
                body=BODIES[i % len(BODIES)],
                status_callback=callback,
            ),
        )

    while created < count:
        chunk = range(created, min(count, created + CREATE_CONCURRENCY))
        await asyncio.gather(*(one(i) for i in chunk))
        created += len(chunk)
        print(f"\rcreating messages: {created:,}/{count:,}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)


async def dispatch_all(rt: Runtime, count: int) -> tuple[float, float, float, int]:
    """Run the worker (``Worker.run``, as ``textwire serve`` does) until ``count`` messages
    were delivered, watching the process's own transition counter: seconds, CPU seconds,
    loops; CPU is the whole process's and the event loop thread's (the rest is the database
    driver's threads)."""
    worker = Worker(rt)
    delivered = rt.metrics.transitions.labels("delivered")
    before = delivered._value.get()
    stop = asyncio.Event()
    start, cpu_start, loop_start = time.perf_counter(), time.process_time(), time.thread_time()
    running = asyncio.create_task(worker.run(stop))
    while delivered._value.get() - before < count:
        if running.done():
            running.result()  # surface why the worker stopped
            raise SystemExit("the worker stopped before every message was delivered")
        await asyncio.sleep(0.005)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    loop_cpu = time.thread_time() - loop_start
    stop.set()
    await running
    return seconds, cpu, loop_cpu, worker.loops


async def baseline(rt: Runtime) -> tuple[float, int]:
    """One executemany UPDATE of every message's status (to the value it has): seconds, rows."""
    m = mt.messages
    async with rt.db.read() as conn:
        sids = list(await conn.scalars(select(m.c.sid)))
    stmt = update(m).where(m.c.sid == bindparam("_sid")).values(status=bindparam("status"))
    start = time.perf_counter()
    async with rt.db.write() as conn:
        await conn.execute(stmt, [{"_sid": sid, "status": "delivered"} for sid in sids])
    return time.perf_counter() - start, len(sids)


async def outcome(rt: Runtime) -> tuple[Counter[str], int, int]:
    m, ev = mt.messages, mt.message_events
    async with rt.db.read() as conn:
        by_status = await conn.execute(select(m.c.status, func.count()).group_by(m.c.status))
        statuses = Counter({status: n for status, n in by_status})
        events = await conn.scalar(select(func.count()).select_from(ev)) or 0
        hooks = await conn.scalar(select(func.count()).select_from(ot.webhooks)) or 0
    return statuses, int(events), int(hooks)


async def bench(args: argparse.Namespace, db: BenchDatabase) -> int:
    settings = Settings(
        data_dir=db.data_dir,
        database_url=db.url,
        sandbox_delivery_delay=0.0,
        log_level="WARNING",
    )
    rt = await open_runtime(settings)
    try:
        account = await create_account(rt.db, rt.box, rt.clock, "Bench")
        for value in SENDERS:
            params = Params([("Sender", value), ("Mps", MPS)])
            await create_sender_row(rt, account.account_sid, params)
        callback = "http://127.0.0.1:9/status" if args.callbacks else None
        await preload(rt, account.account_sid, args.messages, callback)
        settle_gc()  # as ``textwire serve`` does once started
        if args.profile:  # the dispatch phase only, for finding what to make cheaper
            import cProfile

            with cProfile.Profile() as profile:
                seconds, cpu, loop_cpu, ticks = await dispatch_all(rt, args.messages)
            profile.dump_stats(args.profile)
        else:
            seconds, cpu, loop_cpu, ticks = await dispatch_all(rt, args.messages)
        statuses, events, hooks = await outcome(rt)
        base_seconds, base_rows = await baseline(rt)
    finally:
        await rt.close()

    rate = args.messages / seconds
    base_rate = base_rows / base_seconds
    print(
        f"dispatch benchmark: {db.label}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {args.messages:,} messages, {len(SENDERS)} senders at "
        f"{MPS} MPS, sandbox delay 0{', status callbacks on' if args.callbacks else ''}"
    )
    print(
        f"dispatch queued -> delivered:   {rate:>9,.0f} messages/s  "
        f"({seconds:.2f} s, {ticks} worker loops; CPU {cpu / args.messages * 1e6:.0f} us/message, "
        f"{loop_cpu / args.messages * 1e6:.0f} of it in the event loop's thread)"
    )
    print(
        f"baseline executemany UPDATE:     {base_rate:>9,.0f} rows/s      "
        f"({base_seconds:.2f} s for {base_rows:,} rows)"
    )
    print(f"ratio dispatch / baseline: {rate / base_rate:.3f}")
    print(
        f"final statuses: {dict(statuses)}; events: {events:,} "
        f"({events / args.messages:.1f} per message); callback rows: {hooks:,}"
    )
    print(f"goal >= {GOAL:,} messages/s dispatched: {'met' if rate >= GOAL else 'NOT met'}")
    expected_events = 4 * args.messages  # queued, sending, sent, delivered
    ok = statuses.get("delivered") == args.messages and events == expected_events
    if not ok:
        print(f"ERROR: expected {args.messages:,} delivered and {expected_events:,} events")
    return 0 if ok else 1


async def main_async(args: argparse.Namespace) -> int:
    async with throwaway_database(args.database_url) as db:
        return await bench(args, db)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="postgresql+asyncpg://user@host:port/db")
    parser.add_argument("--messages", type=int, default=50_000, help="messages to dispatch")
    parser.add_argument("--callbacks", action="store_true", help="give messages a StatusCallback")
    parser.add_argument("--profile", metavar="FILE", help="write a cProfile of the dispatch")
    args = parser.parse_args()
    sys.exit(run(main_async(args)))


if __name__ == "__main__":
    main()
