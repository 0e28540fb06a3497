"""A graceful stop in the middle of redirect traffic loses no click (issue 4 item 5)."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from tests.links_support import IPHONE, LinkCtx
from tests.support import LiveServer, make_settings
from textwire.links import tables as lt


def stored_clicks(database_url: str) -> int:
    async def run() -> int:
        engine = create_async_engine(database_url)
        try:
            async with engine.connect() as conn:
                return int(await conn.scalar(select(func.count()).select_from(lt.link_clicks)) or 0)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_F_LINK_graceful_stop_mid_traffic_flushes_every_click(
    tmp_path: Path, database_url: str
) -> None:
    # Nothing is flushed by size or timer during the test: only the shutdown flush writes.
    settings = make_settings(
        tmp_path / "data", database_url, click_flush_interval=3600, click_batch_size=10**6
    )
    server = LiveServer(settings).start()
    stopped = False
    try:
        ctx = LinkCtx(server)
        ctx.service_mode("all")
        links = []
        for i in range(4):
            msg = ctx.send(
                To=f"+1415555010{i}",
                MessagingServiceSid=ctx.service["sid"],
                Body=f"https://a.com/{i}",
            )
            links.append(msg["body"].rsplit("/", 1)[1])
        base = server.redirect_url
        redirects = [0] * 8
        errors = [0] * 8
        halt = threading.Event()

        def traffic(n: int) -> None:
            with httpx.Client(headers={"User-Agent": IPHONE}, timeout=5) as client:
                i = 0
                while not halt.is_set() and errors[n] < 3:
                    try:
                        r = client.get(f"{base}/{links[(n + i) % len(links)]}")
                    except httpx.HTTPError:
                        errors[n] += 1
                        continue
                    i += 1
                    if r.status_code == 302:
                        redirects[n] += 1

        threads = [threading.Thread(target=traffic, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        clicks = server.running.clicks if server.running else None
        assert clicks is not None
        deadline = time.monotonic() + 30
        while clicks.received < 400 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert clicks.received >= 400
        assert stored_clicks(database_url) == 0  # all of them are still in the buffer
        server.stop()  # graceful, while the threads keep sending
        stopped = True
        for thread in threads:
            thread.join(30)
        halt.set()
        assert all(e >= 1 for e in errors)  # every client saw the server go away mid-traffic
        assert clicks.pending == 0
        assert stored_clicks(database_url) == sum(redirects) == clicks.received
    finally:
        if not stopped:
            server.stop()
