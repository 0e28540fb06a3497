"""ContinueOnFailure on a link domain (F-LINK-11, Twilio's Domain Config): when shortening
fails, the message goes out with its original links, or (false) does not go out at all.

In process (the ``app`` fixture): no redirect is followed, so no socket is needed."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from tests.inprocess import InProcess
from tests.links_support import LinkCtx
from textwire.links import tables as lt
from textwire.messages import tables as mt
from textwire.providers import tables as pt


def _rows(app: InProcess, stmt: object) -> list[object]:
    async def run() -> list[object]:
        async with app.rt.db.read() as conn:
            return list((await conn.execute(stmt)).all())  # type: ignore[call-overload]

    return app.call(run())


def _broken_slugs(length: int) -> str:
    raise RuntimeError("slug source unavailable")


@pytest.mark.parametrize("continue_on_failure", ["true", "false"])
def test_shortening_failure_follows_the_domains_continue_on_failure(
    app: InProcess, continue_on_failure: str
) -> None:
    ctx = LinkCtx(app)
    ctx.service_mode("all")
    ctx.custom_domain(ContinueOnFailure=continue_on_failure)
    app.rt.links.invalidate(ctx.sid)
    app.rt.links.new_slug = _broken_slugs  # the internal failure F-LINK-11 is about
    msg = ctx.send(
        To="+14155550100", MessagingServiceSid=ctx.service["sid"], Body="See https://acme.com/x"
    )
    assert msg["body"] == "See https://acme.com/x"
    assert _rows(app, select(func.count()).select_from(lt.links)) == [(0,)]
    sid = msg["sid"]
    if continue_on_failure == "true":
        path = f"/2010-04-01/Accounts/{ctx.sid}/Messages/{sid}.json"
        # Checked again as each of the worker's writes commits.
        app.wait_until(lambda: ctx.get(path)["status"] == "delivered", 20)
        got = ctx.get(path)
        assert got["status"] == "delivered"
        assert got["textwire"]["link_shortening"]["status"] == "failed"
        return
    assert (msg["status"], msg["error_code"]) == ("failed", 30008)
    assert "ContinueOnFailure" in msg["error_message"]
    # Several worker polls: it must not be picked up. A timer, as what is awaited is
    # something not happening, and the worker signals none of its polls.
    time.sleep(0.3)
    got = ctx.get(f"/2010-04-01/Accounts/{ctx.sid}/Messages/{sid}.json")
    assert (got["status"], got["date_sent"]) == ("failed", None)
    assert _rows(app, select(func.count()).select_from(pt.sandbox_messages)) == [(0,)]
    events = _rows(
        app, select(mt.message_events.c.status).where(mt.message_events.c.message_sid == sid)
    )
    assert [e[0] for e in events] == ["failed"]  # type: ignore[index]
