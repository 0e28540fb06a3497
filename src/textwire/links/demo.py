"""The link part of ``textwire demo``: a tracked-link domain, simulated clicks, a report.

The demo registers ``links.demo.test`` with a self-signed certificate, points its
``CallbackUrl`` at the demo's receiver, shortens every link of the demo service, and after
delivery "clicks" some of the short links over real HTTP from an iPhone, an Android phone,
an iPad, a desktop browser and a WhatsApp link preview (a bot: stored, not counted).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import Counter
from typing import Any, Final

import httpx
from rich.console import Console
from rich.table import Table
from starlette.requests import Request
from starlette.responses import PlainTextResponse

from textwire.links.certs import self_signed
from textwire.outbox.signing import textwire_signature

DOMAIN: Final = "links.demo.test"
DEVICES: Final = {
    "iPhone": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
    ),
    "Android": (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.0.0 Mobile Safari/537.36"
    ),
    "iPad": (
        "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
    ),
    "desktop": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.0.0 Safari/537.36"
    ),
}
PREVIEW: Final = "WhatsApp/2.23.20.0"
_SHORT: Final = re.compile(rf"https://{re.escape(DOMAIN)}/(\w+)")


class ClickEvents:
    """The demo's click-event endpoint: checks each ``X-Textwire-Signature``."""

    def __init__(self) -> None:
        self.token = ""
        self.events: list[dict[str, Any]] = []
        self.bad_signatures = 0

    async def handle(self, request: Request) -> PlainTextResponse:
        body = await request.body()
        header = request.headers.get("x-textwire-signature", "")
        stamp = header.split(",")[0].removeprefix("t=")
        if not stamp.isdigit() or header != textwire_signature(self.token, int(stamp), body):
            self.bad_signatures += 1
        self.events.append(json.loads(body))
        return PlainTextResponse("ok")


async def set_up(http: httpx.AsyncClient, service_sid: str, callback_url: str) -> None:
    """Register the demo domain, verify it with its certificate, give it to the service."""
    response = await http.post("/v1/LinkShortening/Domains", data={"DomainName": DOMAIN})
    response.raise_for_status()
    domain = response.json()["domain_sid"]
    cert, key = self_signed(DOMAIN)
    for path, data in (
        (f"/v1/LinkShortening/Domains/{domain}/Certificate", {"TlsCert": cert + key}),
        (f"/v1/LinkShortening/Domains/{domain}/Config", {"CallbackUrl": callback_url}),
        (f"/v1/LinkShortening/Domains/{domain}/MessagingServices/{service_sid}", {}),
        (f"/v1/LinkShortening/MessagingServices/{service_sid}/Settings", {"LinkMode": "all"}),
    ):
        (await http.post(path, data=data)).raise_for_status()


async def simulate_clicks(rows: list[dict[str, Any]], redirect_port: int) -> tuple[int, int]:
    """Click about half the delivered short links; returns ``(human, preview)`` clicks."""
    human = preview = 0
    names = list(DEVICES)
    base = f"http://127.0.0.1:{redirect_port}"
    async with httpx.AsyncClient(base_url=base, headers={"Host": DOMAIN}) as http:
        with_links = [
            slugs
            for r in rows
            if r["status"] == "delivered" and (slugs := _SHORT.findall(r["body"]))
        ]
        for i, slugs in enumerate(with_links):
            if i % 3 == 0:  # a link preview fetches it first
                await http.get(f"/{slugs[0]}", headers={"User-Agent": PREVIEW})
                preview += 1
            if i % 2 == 0:
                agent = DEVICES[names[i // 2 % len(names)]]  # each device in turn
                response = await http.get(f"/{slugs[0]}", headers={"User-Agent": agent})
                assert response.status_code == 302, response.text
                human += 1
    return human, preview


async def wait_for_clicks(
    http: httpx.AsyncClient, service_sid: str, expected: int, timeout: float = 20
) -> dict[str, Any]:
    """The service's click analytics once every click (bots included) is stored."""
    deadline = time.monotonic() + timeout
    path = f"/v1/LinkShortening/Analytics/Services/{service_sid}"
    while True:
        stats: dict[str, Any] = (await http.get(path)).json()
        if stats["total_clicks"] + stats["bot_clicks"] >= expected or time.monotonic() > deadline:
            return stats
        await asyncio.sleep(0.2)


def report(console: Console, stats: dict[str, Any], events: ClickEvents) -> None:
    table = Table(title="textwire demo: link clicks")
    table.add_column("what")
    table.add_column("value", justify="right")
    ctr = stats["click_through_rate"]
    for name, value in (
        ("short links", stats["links"]),
        ("delivered messages with links", stats["messages_delivered_with_links"]),
        ("clicks (humans)", stats["total_clicks"]),
        ("unique clicks (recipients)", stats["unique_clicks"]),
        ("link-preview / bot fetches (not counted)", stats["bot_clicks"]),
        ("click-through rate", "-" if ctr is None else f"{ctr:.0%}"),
    ):
        table.add_row(name, str(value))
    console.print(table)
    for key in ("devices", "os", "browsers"):
        console.print(f"{key}: " + ", ".join(f"{k} {v}" for k, v in sorted(stats[key].items())))
    kinds = Counter(e.get("event_type") for e in events.events)
    console.print(
        f"click events received: {kinds.get('click', 0)} (bad signatures: {events.bad_signatures})"
    )


async def wait_for_events(events: ClickEvents, expected: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while len(events.events) < expected and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
