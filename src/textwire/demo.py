"""``textwire demo``: the main job end to end on the embedded defaults.

Starts textwire on a temporary data directory (SQLite + sandbox), a local receiver for
status callbacks, creates an account, a messaging service with a small sender pool, sends
a batch through the Twilio-compatible API, waits for every outcome and prints a report.
One message in ten goes to one of Twilio's magic test numbers, which the sandbox refuses at
create with Twilio's code (as Twilio's test credentials do); the others are accepted, and
some of them come back undelivered with a carrier code (``sandbox_failure_rate``).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import uvicorn
from rich.console import Console
from rich.table import Table
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from textwire.accounts import create_account
from textwire.config import Settings
from textwire.links import demo as link_demo
from textwire.messages.status import FINAL
from textwire.outbox.signing import twilio_signature
from textwire.server import started

RECIPIENTS = [
    "+14155550100",
    "+12125550143",
    "+13105550187",
    "+447400123456",
    "+447700123456",
    "+4915112345678",
]
# Twilio's magic test numbers: refused at create with 21211, 21612 and 21614.
REFUSED = ["+15005550001", "+15005550002", "+15005550009"]
BODIES = [
    "Your order #1042 has shipped and arrives Thursday.",
    "Reminder: your appointment is tomorrow at 10:30. Reply C to confirm.",
    "Flash sale ends tonight – 20% off everything 🎉",
    "Привет! Ваш код: 4821",
    "Long notice: " + "Our terms have changed; read them on the website. " * 6,
    "Your order #1042 has shipped: track it at https://shop.example.com/track/1042",
    "Weekend offer, 2 for 1: https://shop.example.com/offers?c=demo (ends Sunday).",
]


class CallbackReceiver:
    """A real HTTP endpoint that checks each callback's X-Twilio-Signature."""

    def __init__(self, token: str = ""):
        self.token = token
        self.statuses: Counter[str] = Counter()
        self.bad_signatures = 0
        self.port = 0
        self.clicks = link_demo.ClickEvents()

    async def handle(self, request: Request) -> PlainTextResponse:
        params = dict(parse_qsl((await request.body()).decode()))
        expected = twilio_signature(self.token, str(request.url), params)
        if request.headers.get("x-twilio-signature") != expected:
            self.bad_signatures += 1
        self.statuses[params.get("MessageStatus", "?")] += 1
        return PlainTextResponse("ok")

    @contextlib.asynccontextmanager
    async def running(self) -> Any:
        app = Starlette(
            routes=[
                Route("/status", self.handle, methods=["POST"]),
                Route("/clicks", self.clicks.handle, methods=["POST"]),
            ]
        )
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, lifespan="off")
        )
        task = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.01)
        self.port = server.servers[0].sockets[0].getsockname()[1]
        try:
            yield self
        finally:
            server.should_exit = True
            await task


async def run_demo(*, messages: int, keep: bool, console: Console) -> int:
    data_dir = Path(tempfile.mkdtemp(prefix="textwire-demo-"))
    settings = Settings(
        data_dir=data_dir,
        port=0,
        redirect_port=0,
        click_flush_interval=0.2,
        sandbox_delivery_delay=0.3,
        sandbox_failure_rate=0.1,
        sandbox_seed=7,
        retry_base_seconds=0.2,
        allow_private_urls=True,  # the demo's receiver listens on 127.0.0.1
    )
    try:
        return await _demo(settings, messages, console)
    finally:
        if keep:
            console.print(f"data kept in {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


async def _demo(settings: Settings, count: int, console: Console) -> int:
    receiver = CallbackReceiver()
    async with receiver.running(), started(settings) as running:
        rt = running.rt
        base = f"http://127.0.0.1:{running.port}"
        account = await create_account(rt.db, rt.box, rt.clock, "Demo")
        receiver.token = receiver.clicks.token = account.auth_token
        console.print(f"textwire is up at {base} (data in {settings.data_dir})")
        console.print(f"account {account.account_sid}")
        auth = (account.account_sid, account.auth_token)
        async with httpx.AsyncClient(base_url=base, auth=auth, timeout=30) as http:
            service = await _post(
                http,
                "/v1/Services",
                {
                    "FriendlyName": "Demo notifications",
                    "StatusCallback": f"http://127.0.0.1:{receiver.port}/status",
                },
            )
            for number in ("+14155550111", "+12125550199", "+447911000111"):
                sender = await _post(http, "/v1/Senders", {"Sender": number, "Mps": "200"})
                await _post(
                    http,
                    f"/v1/Services/{service['sid']}/PhoneNumbers",
                    {"PhoneNumberSid": sender["sid"]},
                )
            await _post(
                http,
                f"/v1/Services/{service['sid']}/AlphaSenders",
                {"AlphaSender": "TEXTWIRE", "Mps": "200"},
            )
            console.print(f"service {service['sid']} with 3 numbers and 1 alphanumeric sender")
            clicks_url = f"http://127.0.0.1:{receiver.port}/clicks"
            await link_demo.set_up(http, service["sid"], clicks_url)
            console.print(f"links shortened on {link_demo.DOMAIN}; click events go to {clicks_url}")
            started_at = time.monotonic()
            sids, refused = await _send_batch(http, account.account_sid, service["sid"], count)
            console.print(
                f"sent {count} messages through the Twilio-compatible API: {len(sids)} accepted, "
                f"{refused.total()} refused at create (Twilio's test numbers); waiting…"
            )
            rows = await _wait_final(http, account.account_sid, sids, timeout=60)
            humans, previews = await link_demo.simulate_clicks(rows, running.redirect_port or 0)
            console.print(f"clicked {humans} short links, {previews} link previews fetched")
            link_stats = await link_demo.wait_for_clicks(http, service["sid"], humans + previews)
            await link_demo.wait_for_events(receiver.clicks, humans)
        elapsed = time.monotonic() - started_at
        await asyncio.sleep(0.5)  # let the last callbacks land
    _report(console, rows, receiver, elapsed, refused)
    link_demo.report(console, link_stats, receiver.clicks)
    final = all(r["status"] in FINAL for r in rows)
    clicks_ok = link_stats["total_clicks"] == humans and receiver.clicks.bad_signatures == 0
    refusals_ok = refused.total() == sum(1 for i in range(count) if _is_refused(i))
    ok = final and refusals_ok and receiver.bad_signatures == 0 and clicks_ok
    return 0 if ok else 1


async def _post(http: httpx.AsyncClient, path: str, data: dict[str, str]) -> dict[str, Any]:
    response = await http.post(path, data=data)
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


def _is_refused(i: int) -> bool:
    return i % 10 == 9


async def _send_batch(
    http: httpx.AsyncClient, account: str, service: str, count: int
) -> tuple[list[str], Counter[int]]:
    """The SIDs of the accepted messages, and the refusals by error code."""
    path = f"/2010-04-01/Accounts/{account}/Messages.json"
    sem = asyncio.Semaphore(16)
    refused: Counter[int] = Counter()

    async def one(i: int) -> str | None:
        to = REFUSED[i % len(REFUSED)] if _is_refused(i) else RECIPIENTS[i % len(RECIPIENTS)]
        form = {"To": to, "MessagingServiceSid": service, "Body": BODIES[i % len(BODIES)]}
        async with sem:
            response = await http.post(path, data=form)
        if response.status_code == 400 and to in REFUSED:
            refused[int(response.json()["code"])] += 1
            return None
        response.raise_for_status()
        return str(response.json()["sid"])

    sids = await asyncio.gather(*(one(i) for i in range(count)))
    return [sid for sid in sids if sid is not None], refused


async def _wait_final(
    http: httpx.AsyncClient, account: str, sids: list[str], timeout: float
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        rows: list[dict[str, Any]] = []
        url: str | None = f"/2010-04-01/Accounts/{account}/Messages.json?PageSize=1000"
        while url:
            page = (await http.get(url)).json()
            rows.extend(page["messages"])
            url = page["next_page_uri"]
        wanted = set(sids)
        rows = [r for r in rows if r["sid"] in wanted]
        if all(r["status"] in FINAL for r in rows) or time.monotonic() > deadline:
            return rows
        await asyncio.sleep(0.2)


def _report(
    console: Console,
    rows: list[dict[str, Any]],
    receiver: CallbackReceiver,
    elapsed: float,
    refused: Counter[int],
) -> None:
    statuses = Counter(r["status"] for r in rows)
    table = Table(title="textwire demo: outcomes")
    table.add_column("status")
    table.add_column("messages", justify="right")
    table.add_column("segments", justify="right")
    for status, n in sorted(statuses.items()):
        segs = sum(int(r["num_segments"]) for r in rows if r["status"] == status)
        table.add_row(status, str(n), str(segs))
    table.add_row("total", str(len(rows)), str(sum(int(r["num_segments"]) for r in rows)))
    console.print(table)

    enc = Counter(r["textwire"]["encoding"] for r in rows)
    console.print("encodings: " + ", ".join(f"{k} {v}" for k, v in sorted(enc.items())))
    failures = Counter((r["status"], r["error_code"]) for r in rows if r["error_code"])
    failures.update({("refused at create (400)", code): n for code, n in refused.items()})
    if failures:
        ft = Table(title="failures by error code")
        ft.add_column("status")
        ft.add_column("error code")
        ft.add_column("messages", justify="right")
        for (status, code), n in sorted(failures.items(), key=lambda item: str(item[0])):
            ft.add_row(status, str(code), str(n))
        console.print(ft)
    console.print(
        "status callbacks received: "
        + ", ".join(f"{k} {v}" for k, v in sorted(receiver.statuses.items()))
        + f" (bad signatures: {receiver.bad_signatures})"
    )
    console.print(f"all {len(rows)} messages reached a final state in {elapsed:.1f} s")
