"""Benchmark: messages accepted per second by the Twilio-compatible create endpoint (issue 3).

Goal on the 2-core reference machine: >= 2,000 messages/s accepted on SQLite.

``POST /2010-04-01/Accounts/{AC}/Messages.json``, form-encoded, HTTP Basic auth, ``From``
a sender of the account, against ``textwire serve --role api`` running in its own process
on a fresh database (no worker: the messages stay queued). The baseline, measured in the
same run with the same load, connections and request bodies, is a trivial FastAPI app (one
POST route returning a constant JSON) served by uvicorn with textwire's own uvicorn
settings, also in its own process. Printed: both rates and textwire's share of the trivial
endpoint's rate. Every accepted message is counted in the database afterwards.

The load generator is ``wrk`` (C, one thread), so the client costs a fraction of a core
and the server gets the rest of this 2-core machine. Install it first:

    apt-get install -y wrk        # Debian / Ubuntu (brew install wrk on macOS)

Run:

    .venv/bin/python bench/send_api.py
    .venv/bin/python bench/send_api.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test

With ``--database-url`` a throwaway database is created beside the one named and dropped
at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import dataclasses
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import httpx
from sqlalchemy import func, select

from textwire.accounts import create_account
from textwire.api.params import Params
from textwire.compose import open_runtime
from textwire.config import Settings
from textwire.messages import tables as mt
from textwire.runtime import Runtime
from textwire.senders.api import create_sender_row
from throwaway_db import BenchDatabase, throwaway_database

GOAL = 2_000
SENDER = "+14155550100"
BODIES = [
    "Your order #1042 has shipped and arrives Thursday.",
    "Reminder: your appointment is tomorrow at 10:30. Reply C to confirm.",
    "Your verification code is 482113. It expires in 10 minutes.",
    "Flash sale ends tonight: 20% off everything with code SPRING.",
]

# Every request gets its own recipient (+1415 200-0000 upwards, all valid numbers), so no
# cache of parsed numbers or anything else keyed by the recipient can flatter the figure.
WRK_SCRIPT = """
local bodies = {%(bodies)s}
local n = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "%(auth)s"
request = function()
  n = n + 1
  local body = string.format(bodies[n %% #bodies + 1], 2000000 + n %% 8000000)
  return wrk.format(nil, nil, nil, body)
end
"""


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    non_2xx: int
    socket_errors: int
    p50_ms: float
    p99_ms: float
    server_cpu: float | None = None  # seconds of CPU the server process used meanwhile
    loop_cpu: float | None = None  # of which its main thread (the event loop)

    @property
    def ok_per_second(self) -> float:
        return (self.requests - self.non_2xx) / self.seconds

    @property
    def cpu_us_per_request(self) -> float | None:
        """Server CPU per request: unlike the rate, barely moved by other load on the machine."""
        if self.server_cpu is None or not self.requests:
            return None
        return self.server_cpu / self.requests * 1e6

    @property
    def loop_us_per_request(self) -> float | None:
        """The event loop's share: what bounds one process, as the rest runs on other
        threads (SQLite's driver thread, mostly outside the GIL)."""
        if self.loop_cpu is None or not self.requests:
            return None
        return self.loop_cpu / self.requests * 1e6


def process_cpu(pid: int) -> float | None:
    """User + system CPU seconds of process ``pid`` and its threads (Linux), else None."""
    return _cpu_seconds(Path(f"/proc/{pid}/stat"))


def main_thread_cpu(pid: int) -> float | None:
    """User + system CPU seconds of process ``pid``'s main thread (Linux), else None."""
    return _cpu_seconds(Path(f"/proc/{pid}/task/{pid}/stat"))


def _cpu_seconds(stat: Path) -> float | None:
    try:
        fields = stat.read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def trivial_server(port: int) -> None:
    """The baseline: the smallest FastAPI POST route, served exactly as textwire serves."""
    import uvicorn
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse

    from textwire.server import run, settle_gc, uvicorn_config

    app = FastAPI()
    constant = {"sid": "SM" + "0" * 32, "status": "queued"}

    @app.post("/trivial", status_code=201)
    async def trivial() -> JSONResponse:
        return JSONResponse(constant, status_code=201)

    settle_gc()  # as ``textwire serve`` does
    run(uvicorn.Server(uvicorn_config(app, "127.0.0.1", port)).serve())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit(
            "bench/send_api.py needs wrk as its load generator and it is not installed.\n"
            "Install it with:  apt-get install -y wrk   (Debian/Ubuntu; brew install wrk on macOS)"
        )
    return path


def _millis(raw: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", raw).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def parse_wrk(out: str) -> WrkResult:
    done = re.search(r"(\d+) requests in ([\d.]+)(\w+),", out)
    if done is None:
        raise RuntimeError(f"could not read wrk's output:\n{out}")
    seconds = _millis(done.group(2) + done.group(3)) / 1000
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    p50 = re.search(r"\s50%\s+([\d.]+\w+)", out)
    p99 = re.search(r"\s99%\s+([\d.]+\w+)", out)
    return WrkResult(
        requests=int(done.group(1)),
        seconds=seconds,
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(x) for x in errors.groups()) if errors else 0,
        p50_ms=_millis(p50.group(1)) if p50 else float("nan"),
        p99_ms=_millis(p99.group(1)) if p99 else float("nan"),
    )


def run_wrk(
    wrk: str, url: str, script: Path, connections: int, seconds: int, cpu: int | None
) -> WrkResult:
    cmd = [wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url]
    if cpu is not None:
        cmd = ["taskset", "-c", str(cpu), *cmd]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return parse_wrk(out)


def write_script(directory: Path, account_sid: str, token: str) -> Path:
    bodies = [
        # A Lua format string: every % doubled, then the recipient's digits as %07d.
        urlencode({"To": "+1415@", "From": SENDER, "Body": body})
        .replace("%", "%%")
        .replace("%%40", "%07d")
        for body in BODIES
    ]
    auth = "Basic " + base64.b64encode(f"{account_sid}:{token}".encode()).decode()
    lua = WRK_SCRIPT % {"bodies": ", ".join(f'"{b}"' for b in bodies), "auth": auth}
    path = directory / "send.lua"
    path.write_text(lua)
    return path


async def prepare(settings: Settings) -> tuple[Runtime, str, str]:
    """A migrated database with one account and one sender; returns the runtime, SID, token."""
    rt = await open_runtime(settings)
    account = await create_account(rt.db, rt.box, rt.clock, "Bench")
    await create_sender_row(rt, account.account_sid, Params([("Sender", SENDER)]))
    return rt, account.account_sid, account.auth_token


async def count_messages(rt: Runtime) -> int:
    async with rt.db.read() as conn:
        return int(await conn.scalar(select(func.count()).select_from(mt.messages)) or 0)


def spawn(
    cmd: list[str], env: dict[str, str], cpu: int | None, log: Path
) -> subprocess.Popen[bytes]:
    """Start a server; its output goes to ``log`` (a pipe nobody reads would fill and stall it)."""
    if cpu is not None:
        cmd = ["taskset", "-c", str(cpu), *cmd]
    with log.open("wb") as out:
        return subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)


async def wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(300):
            if proc.poll() is not None:
                output = await asyncio.to_thread(log.read_text)
                raise RuntimeError(f"server exited with {proc.returncode}:\n{output}")
            try:
                await client.get(url)
                return
            except httpx.TransportError:
                await asyncio.sleep(0.05)
    raise RuntimeError(f"server at {url} did not come up")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def report_line(name: str, r: WrkResult) -> str:
    cpu, loop = r.cpu_us_per_request, r.loop_us_per_request
    return (
        f"{name:<34} {r.ok_per_second:>7,.0f} /s  p50 {r.p50_ms:5.1f} ms  p99 {r.p99_ms:6.1f} ms"
        f"  server CPU {f'{cpu:4.0f} us' if cpu is not None else 'n/a'}/request"
        f" ({f'{loop:3.0f} us' if loop is not None else 'n/a'} event loop)"
        f"  ({r.requests:,} requests, {r.non_2xx} non-2xx, {r.socket_errors} socket errors)"
    )


async def bench(args: argparse.Namespace, db: BenchDatabase) -> int:
    wrk = require_wrk()
    settings = Settings(data_dir=db.data_dir, database_url=db.url)
    rt, account_sid, token = await prepare(settings)
    env = {**os.environ, "TEXTWIRE_LOG_LEVEL": "WARNING"}
    if db.url is not None:
        env["TEXTWIRE_DATABASE_URL"] = db.url
    tw_port, trivial_port = free_port(), free_port()
    textwire_cmd = [
        sys.executable,
        "-m",
        "textwire",
        "serve",
        "--role",
        "api",
        "--data-dir",
        str(db.data_dir),
        "--port",
        str(tw_port),
    ]
    trivial_cmd = [sys.executable, __file__, "--trivial-server", str(trivial_port)]
    work = Path(tempfile.mkdtemp(prefix="textwire-bench-wrk-"))
    server_log, trivial_log = work / "textwire.log", work / "trivial.log"
    server = spawn(textwire_cmd, env, args.server_cpu, server_log)
    trivial = spawn(trivial_cmd, env, args.server_cpu, trivial_log)
    try:
        await wait_ready(f"http://127.0.0.1:{tw_port}/healthz", server, server_log)
        await wait_ready(f"http://127.0.0.1:{trivial_port}/docs", trivial, trivial_log)
        script = write_script(work, account_sid, token)
        send_url = f"http://127.0.0.1:{tw_port}/2010-04-01/Accounts/{account_sid}/Messages.json"
        trivial_url = f"http://127.0.0.1:{trivial_port}/trivial"

        def measure(url: str, seconds: int, pid: int) -> WrkResult:
            before, loop_before = process_cpu(pid), main_thread_cpu(pid)
            result = run_wrk(wrk, url, script, args.connections, seconds, args.client_cpu)
            after, loop_after = process_cpu(pid), main_thread_cpu(pid)
            if before is None or after is None or loop_before is None or loop_after is None:
                return result
            return dataclasses.replace(
                result, server_cpu=after - before, loop_cpu=loop_after - loop_before
            )

        measure(trivial_url, args.warmup, trivial.pid)
        measure(send_url, args.warmup, server.pid)
        # Alternate the two endpoints round by round, so a burst of load from elsewhere on
        # the machine hits both alike; the best round of each is the figure.
        rounds: list[tuple[WrkResult, WrkResult]] = []
        stored = counted = 0
        for _ in range(args.rounds):
            base = measure(trivial_url, args.seconds, trivial.pid)
            before = await count_messages(rt)
            send = measure(send_url, args.seconds, server.pid)
            await asyncio.sleep(0.5)  # let the last in-flight commits land
            stored += await count_messages(rt) - before
            counted += send.requests - send.non_2xx
            rounds.append((base, send))
    finally:
        stop(server)
        stop(trivial)
        await rt.close()
        shutil.rmtree(work, ignore_errors=True)

    print(
        f"send API benchmark: {db.label}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, wrk -t1 -c{args.connections}, "
        f"{args.rounds} x {args.seconds} s per endpoint"
    )
    for i, (base, send) in enumerate(rounds, 1):
        print(report_line(f"round {i}: trivial FastAPI POST", base))
        print(report_line(f"round {i}: textwire create message", send))
    best_base = max(rounds, key=lambda r: r[0].ok_per_second)[0]
    best_send = max(rounds, key=lambda r: r[1].ok_per_second)[1]
    ratios = sorted(send.ok_per_second / base.ok_per_second for base, send in rounds)
    print(f"messages stored: {stored:,}; 2xx responses counted by wrk: {counted:,}")
    print(f"baseline (trivial endpoint, best round): {best_base.ok_per_second:>9,.0f} requests/s")
    print(f"textwire (best round):                   {best_send.ok_per_second:>9,.0f} messages/s")
    print(
        f"ratio textwire / trivial: {best_send.ok_per_second / best_base.ok_per_second:.2f} "
        f"(best rounds); {ratios[len(ratios) // 2]:.2f} (median of the rounds' ratios)"
    )
    cpus = [(b.cpu_us_per_request, s.cpu_us_per_request) for b, s in rounds]
    loops = [s.loop_us_per_request for _, s in rounds]
    if all(b is not None and s is not None for b, s in cpus):
        base_cpu = statistics.median(b for b, _ in cpus if b is not None)
        send_cpu = statistics.median(s for _, s in cpus if s is not None)
        print(
            f"server CPU per request (median): trivial {base_cpu:.0f} us, textwire "
            f"{send_cpu:.0f} us ({send_cpu / base_cpu:.1f}x)"
        )
    if all(loop is not None for loop in loops):
        loop_cpu = statistics.median(loop for loop in loops if loop is not None)
        print(
            f"textwire's event-loop thread: {loop_cpu:.0f} us per message (median); at that "
            f"cost its one core serves {1e6 / loop_cpu:,.0f} messages/s"
        )
    goal = best_send.ok_per_second >= GOAL
    print(f"goal >= {GOAL:,} messages/s accepted: {'met' if goal else 'NOT met'}")
    failed = any(send.non_2xx for _, send in rounds) or stored < counted
    if failed:
        print("ERROR: some requests were refused or some accepted messages were not stored")
    return 1 if failed else 0


async def main_async(args: argparse.Namespace) -> int:
    async with throwaway_database(args.database_url) as db:
        return await bench(args, db)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="postgresql+asyncpg://user@host:port/db")
    parser.add_argument("--connections", type=int, default=64, help="concurrent HTTP clients")
    parser.add_argument("--seconds", type=int, default=8, help="length of one measurement")
    parser.add_argument("--rounds", type=int, default=3, help="measurements per endpoint")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up time per endpoint")
    parser.add_argument("--server-cpu", type=int, default=None, help="pin the servers (taskset)")
    parser.add_argument("--client-cpu", type=int, default=None, help="pin wrk (taskset)")
    parser.add_argument("--trivial-server", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.trivial_server:
        trivial_server(args.trivial_server)
        return
    sys.exit(asyncio.run(main_async(args)))


if __name__ == "__main__":
    main()
