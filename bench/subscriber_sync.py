"""Subscriber sync at 10 million rows against the databases' own bulk loaders (issue 6).

    .venv/bin/python bench/subscriber_sync.py [--rows 10000000] [--postgres URL | --no-postgres]

1. Generates a valid subscriber CSV (header + ``--rows`` distinct +1 numbers) with
   ``textwire.consent.csvsync.synthetic_subscriber_csv``.
2. SQLite baseline: the ``sqlite3`` shell's own ``.import`` of the same file into an
   unindexed one-column table (no validation, no dedupe, no index). The ``sqlite3`` CLI must
   be installed (Debian: ``apt-get install -y sqlite3``); without it the baseline is skipped
   and said so.
3. textwire on SQLite: ``textwire subscribers sync FILE`` as its own process (a fresh data
   directory with one account), which validates every row, deduplicates, builds the primary-
   keyed set and applies it atomically.
4. PostgreSQL (when ``--postgres`` is given or one answers on 127.0.0.1:5432): baseline
   ``COPY … FROM STDIN (FORMAT csv, HEADER)`` into an unindexed table, then the same CLI sync
   against a throwaway database.

Each figure is wall time of the whole step and, for the subprocesses, peak memory (maxrss of
that child, from ``os.wait4``). Goals: 10 M rows in ≤ 60 s on SQLite, peak ≤ 500 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from textwire.consent.csvsync import synthetic_subscriber_csv

PY = sys.executable


def run_child(args: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Run a child to completion: (seconds, peak RSS in MB, stdout)."""
    with tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=errors, text=True)
        assert proc.stdout is not None
        out = proc.stdout.read()
        _pid, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            errors.seek(0)
            tail = errors.read().decode(errors="replace")[-2000:]
            raise SystemExit(f"{args[:4]} failed with exit code {proc.returncode}:\n{tail}")
    return elapsed, usage.ru_maxrss / 1024, out


def generate(path: Path, rows: int) -> float:
    start = time.perf_counter()
    with path.open("wb") as fh:
        for chunk in synthetic_subscriber_csv(rows):
            fh.write(chunk)
    return time.perf_counter() - start


def textwire_sync(csv: Path, data_dir: Path, database_url: str | None) -> tuple[float, float]:
    env = {**os.environ, "TEXTWIRE_DATA_DIR": str(data_dir), "TEXTWIRE_LOG_JSON": "false"}
    if database_url:
        env["TEXTWIRE_DATABASE_URL"] = database_url
    run_child([PY, "-m", "textwire", "accounts", "create", "--name", "bench"], env)
    elapsed, rss, out = run_child(
        [PY, "-m", "textwire", "subscribers", "sync", str(csv), "--json"], env
    )
    run = json.loads(out)
    assert run["status"] == "applied", run
    print(f"    run {run['sid']}: {run['counts']['total']:,} subscribed")
    return elapsed, rss


def sqlite_import(csv: Path, db: Path) -> tuple[float, float] | None:
    shell = shutil.which("sqlite3")
    if shell is None:
        print("  sqlite3 CLI not found: baseline skipped (apt-get install -y sqlite3)")
        return None
    script = db.with_suffix(".sql")
    script.write_text(f"CREATE TABLE t (phone TEXT);\n.mode csv\n.import --skip 1 '{csv}' t\n")
    elapsed, rss, _ = run_child(["sh", "-c", f"'{shell}' '{db}' < '{script}'"])
    return elapsed, rss


def postgres_url(arg: str | None) -> str | None:
    if arg:
        return arg
    with socket.socket() as s:
        s.settimeout(1)
        if s.connect_ex(("127.0.0.1", 5432)) != 0:
            return None
    return "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


async def pg_database(admin_url: str, name: str, create: bool) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        if create:
            await conn.execute(f'CREATE DATABASE "{name}"')
        else:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def pg_copy(url: str, csv: Path) -> float:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute("CREATE TABLE t (phone text)")
        start = time.perf_counter()
        await conn.copy_to_table("t", source=str(csv), format="csv", header=True)
        return time.perf_counter() - start
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--postgres", help="admin URL (postgresql+asyncpg://…/postgres)")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--workdir", type=Path, default=None, help="default: a temp dir")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="tw-sync-bench-", dir=args.workdir))
    try:
        csv = work / "subscribers.csv"
        took = generate(csv, args.rows)
        size = csv.stat().st_size / 1e6
        print(f"file: {args.rows:,} rows, {size:,.0f} MB, generated in {took:.1f} s")
        print(f"load average: {os.getloadavg()[0]:.1f}, cpus: {os.cpu_count()}")

        print("SQLite")
        base = sqlite_import(csv, work / "baseline.db")
        if base is not None:
            print(f"  sqlite3 .import (unindexed) : {base[0]:6.1f} s  peak {base[1]:6.0f} MB")
        tw = textwire_sync(csv, work / "data", None)
        print(f"  textwire subscribers sync   : {tw[0]:6.1f} s  peak {tw[1]:6.0f} MB")
        if base is not None:
            print(f"  ratio textwire / .import    : {tw[0] / base[0]:.2f}×")
        ok = tw[0] <= 60 and tw[1] <= 500
        print(f"  goal (≤ 60 s, ≤ 500 MB)     : {'met' if ok else 'NOT met'}")

        admin = None if args.no_postgres else postgres_url(args.postgres)
        if admin is None:
            print("PostgreSQL: none answering on 127.0.0.1:5432 (or --no-postgres): skipped")
            return
        print("PostgreSQL")
        name = f"tw_sync_bench_{secrets.token_hex(4)}"
        url = admin.rsplit("/", 1)[0] + "/" + name
        asyncio.run(pg_database(admin, name, create=True))
        try:
            copy = asyncio.run(pg_copy(url, csv))
            print(f"  COPY (unindexed)            : {copy:6.1f} s")
            pg = textwire_sync(csv, work / "pgdata", url)
            print(f"  textwire subscribers sync   : {pg[0]:6.1f} s  peak {pg[1]:6.0f} MB")
            print(f"  ratio textwire / COPY       : {pg[0] / copy:.2f}×")
        finally:
            asyncio.run(pg_database(admin, name, create=False))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
