"""ContinueOnFailure on a link domain (F-LINK-11, Twilio's Domain Config): when shortening
fails, the message goes out with its original links, or (false) does not go out at all."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from tests.links_support import LinkCtx
from tests.support import LiveServer
from textwire.links import tables as lt
from textwire.messages import tables as mt
from textwire.providers import tables as pt


def _rows(server: LiveServer, stmt: object) -> list[object]:
    async def run() -> list[object]:
        async with server.rt.db.read() as conn:
            return list((await conn.execute(stmt)).all())  # type: ignore[call-overload]

    return server.call(run())


def _broken_slugs(length: int) -> str:
    raise RuntimeError("slug source unavailable")


@pytest.mark.parametrize("continue_on_failure", ["true", "false"])
def test_shortening_failure_follows_the_domains_continue_on_failure(
    server: LiveServer, continue_on_failure: str
) -> None:
    ctx = LinkCtx(server)
    ctx.service_mode("all")
    ctx.custom_domain(ContinueOnFailure=continue_on_failure)
    server.rt.links.invalidate(ctx.sid)
    server.rt.links.new_slug = _broken_slugs  # the internal failure F-LINK-11 is about
    msg = ctx.send(
        To="+14155550100", MessagingServiceSid=ctx.service["sid"], Body="See https://acme.com/x"
    )
    assert msg["body"] == "See https://acme.com/x"
    assert _rows(server, select(func.count()).select_from(lt.links)) == [(0,)]
    sid = msg["sid"]
    if continue_on_failure == "true":
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            got = ctx.get(f"/2010-04-01/Accounts/{ctx.sid}/Messages/{sid}.json")
            if got["status"] == "delivered":
                break
            time.sleep(0.05)
        assert got["status"] == "delivered"
        assert got["textwire"]["link_shortening"]["status"] == "failed"
        return
    assert (msg["status"], msg["error_code"]) == ("failed", 30008)
    assert "ContinueOnFailure" in msg["error_message"]
    time.sleep(0.3)  # several worker polls: it must not be picked up
    got = ctx.get(f"/2010-04-01/Accounts/{ctx.sid}/Messages/{sid}.json")
    assert (got["status"], got["date_sent"]) == ("failed", None)
    assert _rows(server, select(func.count()).select_from(pt.sandbox_messages)) == [(0,)]
    events = _rows(
        server, select(mt.message_events.c.status).where(mt.message_events.c.message_sid == sid)
    )
    assert [e[0] for e in events] == ["failed"]  # type: ignore[index]
