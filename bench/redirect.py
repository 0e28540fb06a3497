"""Benchmark: short-link redirects per second and p99 latency, textwire vs nginx (issue 4).

Goal: textwire's redirect server, with click recording on, at >= 0.35 of nginx's rate for a
fixed 302 on the same machine in the same run, p99 under 10 ms, and zero clicks lost.

textwire runs as ``textwire serve --role redirect`` (its own HTTP/1.1 listener,
links/listener.py, on uvloop) in its own process over a fresh SQLite
database (or ``--database-url``) holding 1,000 short links made by the send pipeline. nginx
runs in the foreground from a temporary config (one worker process, access log off) and
answers every path with a fixed ``302``. ``wrk`` (one thread) requests the same 1,000 slug
paths, round robin, with an iPhone User-Agent, against both, alternating round by round.
After the last round textwire is stopped gracefully (SIGTERM flushes the click buffer) and
the stored clicks are counted against the 302s wrk counted: a click for every redirect wrk
saw (a few more may be stored: requests answered as wrk's clock ran out).

Two more servers, also measured every round, show where the gap to nginx lies: the smallest
ASGI app answering the same fixed 302 under uvicorn (textwire's API settings, uvloop, no
Server/Date headers), which is what textwire's redirect role ran on before its own
listener; and the smallest ``asyncio.Protocol`` over ``httptools`` on uvloop answering the
same 302, which is the floor of textwire's own listener (links/listener.py): parse, write.

Needs ``wrk`` and ``nginx``:

    apt-get install -y wrk nginx        # Debian / Ubuntu

Run:

    .venv/bin/python bench/redirect.py [--seconds 8 --rounds 3 --connections 64]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import func, select

from textwire.accounts import create_account
from textwire.api.params import Params
from textwire.compose import open_runtime
from textwire.config import Settings
from textwire.links import tables as lt
from textwire.messages.pipeline import SendRequest, send
from textwire.senders.api import create_sender_row

GOAL_RATIO = 0.35
GOAL_P99_MS = 10.0
LINKS = 1_000
SENDER = "+14155550100"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
WRK_SCRIPT = """
local paths = {%(paths)s}
local n = 0
wrk.headers["User-Agent"] = "%(agent)s"
request = function()
  n = n + 1
  return wrk.format("GET", paths[n %% #paths + 1])
end
"""
NGINX_CONF = """
worker_processes 1;
daemon off;
pid %(dir)s/nginx.pid;
error_log %(dir)s/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path %(dir)s/body;
  proxy_temp_path %(dir)s/proxy;
  fastcgi_temp_path %(dir)s/fastcgi;
  uwsgi_temp_path %(dir)s/uwsgi;
  scgi_temp_path %(dir)s/scgi;
  server {
    listen 127.0.0.1:%(port)d;
    location / { return 302 https://shop.example.com/offers; }
  }
}
"""


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    non_3xx: int
    socket_errors: int
    p50_ms: float
    p99_ms: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


async def trivial_asgi(scope: dict[str, object], receive: object, send: object) -> None:
    """The reference: a fixed 302 and nothing else (no look-up, no click)."""
    await send(  # type: ignore[operator]
        {
            "type": "http.response.start",
            "status": 302,
            "headers": [
                (b"location", b"https://shop.example.com/offers"),
                (b"content-length", b"0"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": b""})  # type: ignore[operator]


class TrivialProtocol(asyncio.Protocol):
    """The raw reference: httptools parses, every complete request gets the fixed 302."""

    RESPONSE = (
        b"HTTP/1.1 302 Found\r\nlocation: https://shop.example.com/offers\r\n"
        b"content-length: 0\r\n\r\n"
    )

    def __init__(self) -> None:
        import httptools

        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_message_complete(self) -> None:
        assert self.transport is not None
        self.transport.write(self.RESPONSE)


def serve_trivial_protocol(port: int) -> None:
    from textwire.server import run

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(TrivialProtocol, "127.0.0.1", port, backlog=2048)
        await server.serve_forever()

    run(serve())


def serve_trivial(port: int) -> None:
    import uvicorn

    from textwire.server import run, uvicorn_config

    config = uvicorn_config(trivial_asgi, "127.0.0.1", port)  # type: ignore[arg-type]
    config.server_header = config.date_header = False
    run(uvicorn.Server(config).serve())


def require(tool: str) -> str:
    path = shutil.which(tool) or (
        f"/usr/sbin/{tool}" if Path(f"/usr/sbin/{tool}").exists() else None
    )
    if path is None:
        raise SystemExit(
            f"bench/redirect.py needs {tool} and it is not installed.\n"
            "Install both with:  apt-get install -y wrk nginx   (Debian/Ubuntu)"
        )
    return path


def spawn(cmd: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _millis(raw: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", raw)
    assert match is not None, raw
    return (
        float(match.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[match.group(2)]
    )


def parse_wrk(out: str) -> WrkResult:
    done = re.search(r"(\d+) requests in ([\d.]+)(\w+),", out)
    if done is None:
        raise RuntimeError(f"could not read wrk's output:\n{out}")
    # wrk counts 3xx as success; anything else is "Non-2xx or 3xx".
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    p50 = re.search(r"\s50%\s+([\d.]+\w+)", out)
    p99 = re.search(r"\s99%\s+([\d.]+\w+)", out)
    return WrkResult(
        requests=int(done.group(1)),
        seconds=_millis(done.group(2) + done.group(3)) / 1000,
        non_3xx=int(bad.group(1)) if bad else 0,
        socket_errors=sum(int(x) for x in errors.groups()) if errors else 0,
        p50_ms=_millis(p50.group(1)) if p50 else float("nan"),
        p99_ms=_millis(p99.group(1)) if p99 else float("nan"),
    )


async def make_links(settings: Settings) -> list[str]:
    """``LINKS`` messages, each with one short link, through the send pipeline."""
    rt = await open_runtime(settings)
    try:
        account = await create_account(rt.db, rt.box, rt.clock, "Bench")
        await create_sender_row(rt, account.account_sid, Params([("Sender", SENDER)]))
        paths = []
        for i in range(LINKS):
            row = await send(
                rt,
                SendRequest(
                    account_sid=account.account_sid,
                    to=f"+1415{2000000 + i:07d}",
                    from_=SENDER,
                    body=f"Your offer: https://shop.example.com/offers/{i}?c=bench",
                    link_mode="all",
                ),
            )
            paths.append("/" + row["body"].rsplit("/", 1)[1])
        return paths
    finally:
        await rt.close()


async def count_clicks(settings: Settings) -> int:
    rt = await open_runtime(settings, migrate=False)
    try:
        async with rt.db.read() as conn:
            return int(await conn.scalar(select(func.count()).select_from(lt.link_clicks)) or 0)
    finally:
        await rt.close()


async def wait_ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(300):
            if proc.poll() is not None:
                err = proc.stderr.read().decode() if proc.stderr else ""
                raise RuntimeError(f"server exited with {proc.returncode}:\n{err}")
            try:
                await client.get(url)
                return
            except httpx.TransportError:
                await asyncio.sleep(0.05)
    raise RuntimeError(f"server at {url} did not come up")


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, wait: float = 30) -> int:
    proc.send_signal(sig)
    try:
        return proc.wait(wait)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def line(name: str, r: WrkResult) -> str:
    return (
        f"{name:<30} {r.rate:>9,.0f} /s   p50 {r.p50_ms:6.2f} ms   p99 {r.p99_ms:6.2f} ms"
        f"   ({r.requests:,} requests, {r.non_3xx} not 302, {r.socket_errors} socket errors)"
    )


async def bench(args: argparse.Namespace) -> int:
    wrk, nginx = require("wrk"), require("nginx")
    work = Path(tempfile.mkdtemp(prefix="textwire-bench-redirect-"))
    env = {**os.environ, "TEXTWIRE_LOG_LEVEL": "WARNING", "TEXTWIRE_DATA_DIR": str(work / "data")}
    if args.database_url:
        env["TEXTWIRE_DATABASE_URL"] = args.database_url
    settings = Settings(data_dir=work / "data", database_url=args.database_url)
    paths = await make_links(settings)
    script = work / "paths.lua"
    script.write_text(WRK_SCRIPT % {"paths": ", ".join(f'"{p}"' for p in paths), "agent": IPHONE})
    tw_port, nginx_port, asgi_port, raw_port = free_port(), free_port(), free_port(), free_port()
    (work / "nginx.conf").write_text(NGINX_CONF % {"dir": work, "port": nginx_port})
    textwire = spawn(
        [
            sys.executable,
            "-m",
            "textwire",
            "serve",
            "--role",
            "redirect",
            "--redirect-port",
            str(tw_port),
        ],
        env,
    )
    web = spawn([nginx, "-p", str(work), "-c", str(work / "nginx.conf")])
    asgi = spawn([sys.executable, __file__, "--trivial-asgi", str(asgi_port)])
    raw = spawn([sys.executable, __file__, "--trivial-protocol", str(raw_port)])
    rounds: list[tuple[WrkResult, WrkResult]] = []
    references: list[WrkResult] = []
    raw_references: list[WrkResult] = []
    try:
        await wait_ready(f"http://127.0.0.1:{tw_port}/", textwire)
        await wait_ready(f"http://127.0.0.1:{nginx_port}/", web)
        await wait_ready(f"http://127.0.0.1:{asgi_port}/", asgi)
        await wait_ready(f"http://127.0.0.1:{raw_port}/", raw)

        def measure(port: int, seconds: int) -> WrkResult:
            cmd = [wrk, "-t1", f"-c{args.connections}", f"-d{seconds}s", "--latency",
                   "-s", str(script), f"http://127.0.0.1:{port}"]  # fmt: skip
            return parse_wrk(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)

        warm = [measure(nginx_port, args.warmup), measure(tw_port, args.warmup)]
        measure(asgi_port, args.warmup)
        measure(raw_port, args.warmup)
        for _ in range(args.rounds):
            rounds.append((measure(nginx_port, args.seconds), measure(tw_port, args.seconds)))
            references.append(measure(asgi_port, args.seconds))
            raw_references.append(measure(raw_port, args.seconds))
    finally:
        stop(web, signal.SIGQUIT)
        stop(asgi)
        stop(raw)
        stopping = time.monotonic()
        exit_code = stop(textwire, wait=600)  # graceful: flushes every buffered click
        drain = time.monotonic() - stopping
    redirects = sum(r.requests - r.non_3xx for r in [warm[1], *(tw for _, tw in rounds)])
    stored = await count_clicks(settings)
    shutil.rmtree(work, ignore_errors=True)

    print(
        f"redirect benchmark: {'PostgreSQL' if args.database_url else 'SQLite'}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, wrk -t1 "
        f"-c{args.connections}, {args.rounds} x {args.seconds} s per server, {LINKS} slugs"
    )
    for i, ((base, tw), ref, bare) in enumerate(
        zip(rounds, references, raw_references, strict=True), 1
    ):
        print(line(f"round {i}: nginx fixed 302", base))
        print(line(f"round {i}: textwire redirect", tw))
        print(line(f"round {i}: trivial ASGI 302", ref))
        print(line(f"round {i}: trivial protocol 302", bare))
    best_base = max((b for b, _ in rounds), key=lambda r: r.rate)
    best_tw = max((t for _, t in rounds), key=lambda r: r.rate)
    ratios = sorted(t.rate / b.rate for b, t in rounds)
    ratio = best_tw.rate / best_base.rate
    print(
        f"nginx (best round):    {best_base.rate:>9,.0f} redirects/s, p99 {best_base.p99_ms:.2f} ms"
    )
    print(f"textwire (best round): {best_tw.rate:>9,.0f} redirects/s, p99 {best_tw.p99_ms:.2f} ms")
    print(
        f"ratio textwire / nginx: {ratio:.2f} (best rounds); "
        f"{ratios[len(ratios) // 2]:.2f} (median of the rounds' ratios)"
    )
    best_ref = max(references, key=lambda r: r.rate)
    print(
        f"trivial ASGI 302 under uvicorn (best round): {best_ref.rate:,.0f}/s = "
        f"{best_ref.rate / best_base.rate:.2f} of nginx; textwire = "
        f"{best_tw.rate / best_ref.rate:.2f} of it"
    )
    best_raw = max(raw_references, key=lambda r: r.rate)
    print(
        f"trivial httptools protocol 302 (best round): {best_raw.rate:,.0f}/s = "
        f"{best_raw.rate / best_base.rate:.2f} of nginx; textwire = "
        f"{best_tw.rate / best_raw.rate:.2f} of it"
    )
    lost = max(0, redirects - stored)
    print(
        f"clicks: {redirects:,} redirects counted by wrk, {stored:,} clicks stored after the "
        f"graceful stop (exit {exit_code}, {drain:.1f} s); lost: {lost}"
    )
    p99 = max(t.p99_ms for _, t in rounds)
    print(
        f"goals: ratio >= {GOAL_RATIO}: {'met' if ratio >= GOAL_RATIO else 'NOT met'}; "
        f"p99 < {GOAL_P99_MS:.0f} ms (worst round {p99:.2f} ms): "
        f"{'met' if p99 < GOAL_P99_MS else 'NOT met'}; zero clicks lost: "
        f"{'met' if lost == 0 else 'NOT met'}"
    )
    failed = lost > 0 or any(t.non_3xx or t.socket_errors for _, t in rounds)
    return 1 if failed else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--database-url", help="an existing database (default: fresh SQLite)")
    parser.add_argument("--connections", type=int, default=64, help="concurrent HTTP clients")
    parser.add_argument("--seconds", type=int, default=8, help="length of one measurement")
    parser.add_argument("--rounds", type=int, default=3, help="measurements per server")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up time per server")
    parser.add_argument("--trivial-asgi", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--trivial-protocol", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.trivial_asgi:
        serve_trivial(args.trivial_asgi)
        return
    if args.trivial_protocol:
        serve_trivial_protocol(args.trivial_protocol)
        return
    sys.exit(asyncio.run(bench(args)))


if __name__ == "__main__":
    main()
