"""``textwire links stats`` prints what the analytics API reports (F-LINK-9)."""

from __future__ import annotations

import json
import re

from tests.integration.test_cli import textwire
from tests.links_support import ANDROID, DESKTOP, IPHONE, LinkCtx
from tests.support import LiveServer
from textwire.config import Settings


def test_F_LINK_9_links_stats_cli_matches_the_api(settings: Settings) -> None:
    server = LiveServer(settings).start()
    try:
        ctx = LinkCtx(server)
        ctx.service_mode("all")
        msg = ctx.send(
            To="+14155550100", MessagingServiceSid=ctx.service["sid"], Body="https://a.com/x"
        )
        link = re.findall(r"http://\S+", msg["body"])[0]
        for agent in (IPHONE, ANDROID, DESKTOP):
            assert ctx.click(link, agent).status_code == 302
        ctx.wait_clicks(3)
        api = ctx.get(f"/v1/LinkShortening/Analytics/Services/{ctx.service['sid']}")
    finally:
        server.stop()
    out = textwire(settings, "links", "stats", "--service", ctx.service["sid"], "--json")
    assert out.returncode == 0, out.stderr
    cli = json.loads(out.stdout)
    assert cli["total_clicks"] == api["total_clicks"] == 3
    assert cli["devices"] == api["devices"] == {"mobile": 2, "desktop": 1}
    table = textwire(settings, "links", "stats", "--message", msg["sid"])
    assert table.returncode == 0, table.stderr
    assert "click-through rate" in table.stdout and "Mobile Safari" in table.stdout
    none = textwire(settings, "links", "stats", "--to", "+14155550199", "--json")
    assert json.loads(none.stdout)["total_clicks"] == 0
