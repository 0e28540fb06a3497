"""Link shortening end to end over real HTTP: send through the API, follow the short link on
the redirect server, see the click in analytics and at a real callback receiver (issue 4)."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
from sqlalchemy import func, select

from tests.links_support import ANDROID, DESKTOP, IPHONE, WHATSAPP, LinkCtx
from tests.support import LiveServer, Receiver
from textwire.links import tables as lt
from textwire.messages import tables as mt
from textwire.outbox import tables as ot
from textwire.outbox.signing import textwire_signature
from textwire.segments import analyze

SHORT = re.compile(r"(?:https?://)?[\w.:-]+/[2-9A-HJ-NP-Za-km-z]{7}\b")


def short_links(body: str) -> list[str]:
    return SHORT.findall(body)


def wait_delivered(ctx: LinkCtx, sid: str, timeout: float = 20) -> None:
    """Until the message is delivered: checked again as each of the worker's writes commits."""
    path = f"/2010-04-01/Accounts/{ctx.sid}/Messages/{sid}.json"
    ctx.server.wait_until(lambda: ctx.get(path)["status"] == "delivered", timeout)


def webhooks_pending(server: LiveServer) -> int:
    async def run() -> int:
        async with server.rt.db.read() as conn:
            return int(
                await conn.scalar(
                    select(func.count())
                    .select_from(ot.webhooks)
                    .where(ot.webhooks.c.status == "pending")
                )
                or 0
            )

    return server.call(run())


def count(server: LiveServer, table: Any) -> int:
    async def run() -> int:
        async with server.rt.db.read() as conn:
            return int(await conn.scalar(select(func.count()).select_from(table)) or 0)

    return server.call(run())


def test_F_LINK_send_click_analytics_and_signed_click_event(
    server: LiveServer, hook_receiver: Receiver
) -> None:
    """F-LINK-1/2/5/7/8/9: the whole path, with a custom domain and its CallbackUrl."""
    ctx = LinkCtx(server, hook_receiver)
    ctx.custom_domain(CallbackUrl=hook_receiver.url("/clicks"))
    ctx.service_mode("all")
    body = "Deal: https://acme.com/offers?x=1. Again https://acme.com/offers?x=1 and www.acme.com"
    msg = ctx.send(To="+14155550100", MessagingServiceSid=ctx.service["sid"], Body=body)
    links = short_links(msg["body"])
    assert len(links) == 2 and links[0] == links[1]  # one URL twice shares one slug
    assert links[0].startswith("https://links.example.test/")
    assert msg["body"] == f"Deal: {links[0]}. Again {links[0]} and www.acme.com"
    assert int(msg["num_segments"]) == analyze(msg["body"]).num_segments
    assert msg["textwire"]["link_shortening"]["status"] == "shortened"
    wait_delivered(ctx, msg["sid"])

    response = ctx.click(links[0], IPHONE)
    assert response.status_code == 302
    assert response.headers["location"] == "https://acme.com/offers?x=1"
    ctx.click(links[0], WHATSAPP)  # a link preview: stored, marked, not counted
    ctx.wait_clicks(2)

    stats = ctx.get(f"/v1/LinkShortening/Analytics/Messages/{msg['sid']}")
    assert stats["total_clicks"] == 1 and stats["unique_clicks"] == 1
    assert stats["bot_clicks"] == 1
    assert stats["devices"] == {"mobile": 1} and stats["os"] == {"iOS": 1}
    assert stats["click_through_rate"] == 1.0
    with_bots = ctx.get(f"/v1/LinkShortening/Analytics/Messages/{msg['sid']}", IncludeBots="true")
    assert with_bots["total_clicks"] == 2

    hook_receiver.wait_for(1, 15)
    # Both clicks are stored, so any event they fired is in the outbox: once none is
    # pending, every one of them has reached the receiver.
    server.wait_until(lambda: webhooks_pending(server) == 0, 15)
    assert len(hook_receiver.received) == 1  # the preview fired no event
    hook = hook_receiver.received[0]
    event = json.loads(hook.body)
    assert event["event_type"] == "click"
    assert event["sms_sid"] == msg["sid"] and event["to"] == "+14155550100"
    assert event["from"] == "+14155550111" and event["link"] == "https://acme.com/offers?x=1"
    assert event["messaging_service_sid"] == ctx.service["sid"]
    assert event["account_sid"] == ctx.sid and event["user_agent"] == IPHONE
    assert isinstance(event["clicked_at"], int) and event["clicked_at"] > 1_600_000_000_000
    stamp = hook.headers["x-textwire-signature"].split(",")[0].removeprefix("t=")
    assert hook.headers["x-textwire-signature"] == textwire_signature(
        ctx.token, int(stamp), hook.body
    )
    assert hook.headers["content-type"] == "application/json"


def test_F_LINK_default_domain_ShortenUrls_and_per_message_modes(server: LiveServer) -> None:
    ctx = LinkCtx(server)
    r = ctx.send_raw(
        To="+14155550100", From="+14155550111", Body="https://a.com", ShortenUrls="true"
    )
    assert r.status_code == 400 and "MessagingServiceSid" in r.json()["message"]

    msg = ctx.send(
        To="+14155550100",
        MessagingServiceSid=ctx.service["sid"],
        Body="Go https://acme.com/a then https://acme.com/b",
        ShortenUrls="true",
    )
    links = short_links(msg["body"])
    assert len(links) == 2 and all(x.startswith(server.redirect_url + "/") for x in links)
    assert ctx.click(links[1], DESKTOP).headers["location"] == "https://acme.com/b"

    marked = ctx.send(
        To="+14155550100",
        MessagingServiceSid=ctx.service["sid"],
        Body="Yours: @https://acme.com/me , more at http://acme.com/all",
        LinkMode="marked",
    )
    assert re.fullmatch(
        r"Yours: http://127\.0\.0\.1:\d+/\w{7} , more at http://acme\.com/all", marked["body"]
    )
    last = ctx.send(
        To="+14155550100",
        MessagingServiceSid=ctx.service["sid"],
        Body="https://acme.com/1 https://acme.com/2",
        LinkMode="last",
    )
    assert last["body"].startswith("https://acme.com/1 http://127.0.0.1:")
    off = ctx.send(
        To="+14155550100", MessagingServiceSid=ctx.service["sid"], Body="https://acme.com/x"
    )
    assert off["body"] == "https://acme.com/x"  # the service's mode is off by default
    bad = ctx.send_raw(To="+14155550100", From="+14155550111", Body="x", LinkMode="some")
    assert bad.status_code == 400 and "LinkMode" in bad.json()["message"]


def test_F_LINK_3_drop_scheme_and_prefix_on_custom_domain(server: LiveServer) -> None:
    ctx = LinkCtx(server)
    ctx.custom_domain("tw.example.com", DisableHttps="true")
    ctx.service_mode("all", LinkPrefix="promo")
    msg = ctx.send(To="+14155550100", MessagingServiceSid=ctx.service["sid"], Body="https://a.com")
    assert re.fullmatch(r"promo\.tw\.example\.com/\w{7}", msg["body"])
    ctx.service_mode("all", LinkPrefix="", DropScheme="false")
    ctx.post(
        f"/v1/LinkShortening/Domains/{ctx.get('/v1/LinkShortening/Domains')['domains'][0]['domain_sid']}/Config",
        DisableHttps="false",
    )
    msg = ctx.send(To="+14155550100", MessagingServiceSid=ctx.service["sid"], Body="https://a.com")
    assert re.fullmatch(r"https://tw\.example\.com/\w{7}", msg["body"])
    assert len(msg["body"]) == len("https://tw.example.com/") + 7


def test_F_LINK_11_rate_limit_refuses_and_writes_nothing(server: LiveServer) -> None:
    server.rt.settings.link_rate_limit = 3
    ctx = LinkCtx(server)
    ctx.service_mode("all")
    ok = ctx.send(
        To="+14155550100",
        MessagingServiceSid=ctx.service["sid"],
        Body="https://a.com/1 https://a.com/2 https://a.com/3",
    )
    assert len(short_links(ok["body"])) == 3
    before = (count(server, mt.messages), count(server, lt.links))
    r = ctx.send_raw(
        To="+14155550100", MessagingServiceSid=ctx.service["sid"], Body="https://b.com"
    )
    assert r.status_code == 429 and r.json()["code"] == 20429
    assert (count(server, mt.messages), count(server, lt.links)) == before
    plain = ctx.send(To="+14155550100", MessagingServiceSid=ctx.service["sid"], Body="no links")
    assert plain["body"] == "no links"  # a message without links is not limited


def test_F_LINK_11_shortener_failure_sends_original_links(server: LiveServer) -> None:
    ctx = LinkCtx(server)
    ctx.service_mode("all")
    server.rt.links.default_base = "not a link domain"
    msg = ctx.send(
        To="+14155550100", MessagingServiceSid=ctx.service["sid"], Body="See https://acme.com/x"
    )
    assert msg["body"] == "See https://acme.com/x"
    assert msg["textwire"]["link_shortening"]["status"] == "failed"
    assert count(server, lt.links) == 0
    wait_delivered(ctx, msg["sid"])


def test_F_LINK_2_slug_collision_draws_a_new_slug(server: LiveServer) -> None:
    ctx = LinkCtx(server)
    ctx.service_mode("all")
    first = ctx.send(
        To="+14155550100", MessagingServiceSid=ctx.service["sid"], Body="https://a.com"
    )
    taken = short_links(first["body"])[0].rsplit("/", 1)[1]
    draws = iter([taken, "Zz9Zz9Z"])
    original = server.rt.links.new_slug
    server.rt.links.new_slug = lambda n: next(draws)
    try:
        second = ctx.send(
            To="+14155550101", MessagingServiceSid=ctx.service["sid"], Body="https://b.com"
        )
    finally:
        server.rt.links.new_slug = original
    assert second["body"].endswith("/Zz9Zz9Z")
    assert ctx.click(short_links(first["body"])[0]).headers["location"] == "https://a.com"
    assert ctx.click(second["body"]).headers["location"] == "https://b.com"


def test_F_LINK_6_expired_unknown_and_odd_paths_fall_back(server: LiveServer) -> None:
    ctx = LinkCtx(server)
    domain = ctx.custom_domain(FallbackUrl="https://acme.com/gone")
    ctx.service_mode("all")
    msg = ctx.send(To="+14155550100", MessagingServiceSid=ctx.service["sid"], Body="https://a.com")
    link = short_links(msg["body"])[0]
    host = "links.example.test"
    for path in ["Zzzzzzz", "..", "%2e%2e", "a" * 5000, "Ab3dE9x/../x", "favicon.ico", "0OoIl1x"]:
        r = ctx.click(f"https://{host}/{path}")
        assert r.status_code == 302 and r.headers["location"] == "https://acme.com/gone", path
    # The default domain has no fallback: a small 404 page.
    r = ctx.click(f"{server.redirect_url}/Zzzzzzz")
    assert r.status_code == 404 and "Link not found" in r.text
    assert ctx.click(link).headers["location"] == "https://a.com"
    server.rt.clock.advance(91 * 86400)
    try:
        expired = ctx.click(link)
    finally:
        server.rt.clock.advance(-91 * 86400)
    assert expired.headers["location"] == "https://acme.com/gone"
    ctx.wait_clicks(1)
    server.call(server.running.clicks.flush())  # type: ignore[union-attr]
    assert ctx.clicks_stored() == 1  # only the live link's click
    assert domain["domain_sid"].startswith("DN")


def test_F_LINK_7_head_requests_and_methods(server: LiveServer) -> None:
    ctx = LinkCtx(server)
    ctx.service_mode("all")
    msg = ctx.send(To="+14155550100", MessagingServiceSid=ctx.service["sid"], Body="https://a.com")
    link = short_links(msg["body"])[0]
    head = ctx.click(link, ANDROID, method="HEAD")
    assert head.status_code == 302 and head.headers["location"] == "https://a.com"
    no_agent = ctx.click(link, None)
    assert no_agent.status_code == 302
    post = ctx.click(link, ANDROID, method="POST")
    assert post.status_code == 405
    ctx.wait_clicks(2)
    clicks = ctx.get("/v1/LinkShortening/Clicks", IncludeBots="true")["clicks"]
    assert [(c["method"], c["is_bot"], c["bot"]) for c in clicks] == [
        ("HEAD", True, "HEAD request"),
        ("GET", True, "no user agent"),
    ]
    assert ctx.get("/v1/LinkShortening/Clicks")["clicks"] == []


def test_F_LINK_9_analytics_per_recipient_service_and_paged_clicks(server: LiveServer) -> None:
    ctx = LinkCtx(server)
    ctx.service_mode("all")
    sent = [
        ctx.send(To=to, MessagingServiceSid=ctx.service["sid"], Body=f"https://acme.com/{i}")
        for i, to in enumerate(["+14155550100", "+14155550101", "+14155550102"])
    ]
    for msg in sent:
        wait_delivered(ctx, msg["sid"])
    first, second = short_links(sent[0]["body"])[0], short_links(sent[1]["body"])[0]
    for agent in (IPHONE, ANDROID, DESKTOP):
        ctx.click(first, agent)
    ctx.click(second, DESKTOP)
    ctx.wait_clicks(4)
    service = ctx.get(f"/v1/LinkShortening/Analytics/Services/{ctx.service['sid']}")
    assert service["total_clicks"] == 4 and service["unique_clicks"] == 2
    assert service["devices"] == {"mobile": 2, "desktop": 2}
    assert service["os"] == {"iOS": 1, "Android": 1, "Windows": 2}
    assert service["messages_delivered_with_links"] == 3
    assert service["click_through_rate"] == round(2 / 3, 4)
    recipient = ctx.get("/v1/LinkShortening/Analytics/Recipients/+14155550100")
    assert recipient["total_clicks"] == 3 and recipient["click_through_rate"] == 1.0
    slug = second.rsplit("/", 1)[1]
    assert ctx.get(f"/v1/LinkShortening/Analytics/Links/{slug}")["total_clicks"] == 1
    nobody = ctx.get("/v1/LinkShortening/Analytics/Recipients/+14155550102")
    assert nobody["total_clicks"] == 0 and nobody["click_through_rate"] == 0.0
    page0 = ctx.get("/v1/LinkShortening/Clicks", PageSize="3")
    page1 = ctx.get("/v1/LinkShortening/Clicks", PageSize="3", Page="1")
    assert len(page0["clicks"]) == 3 and len(page1["clicks"]) == 1
    assert page0["meta"]["next_page_url"] and page1["meta"]["next_page_url"] is None
    only = ctx.get("/v1/LinkShortening/Clicks", To="+14155550101")["clicks"]
    assert [c["browser"] for c in only] == ["Chrome"]
    filtered = ctx.get("/v1/LinkShortening/Clicks", To="+14155550100", PageSize="2")
    assert len(filtered["clicks"]) == 2
    next_page = filtered["meta"]["next_page_url"]
    assert "To=%2B14155550100" in next_page
    rest = httpx.get(next_page, auth=ctx.auth).json()["clicks"]
    assert [c["to"] for c in rest] == ["+14155550100"]
    r = ctx.request("GET", "/v1/LinkShortening/Analytics/Planets/x")
    assert r.status_code == 404
    other = LinkCtx(server, number="+14155550122")  # another account sees none of it
    assert (
        other.get(f"/v1/LinkShortening/Analytics/Services/{ctx.service['sid']}")["total_clicks"]
        == 0
    )


def test_F_LINK_5_config_and_service_association_actions(server: LiveServer) -> None:
    ctx = LinkCtx(server)
    s2 = ctx.post("/v1/Services", FriendlyName="second")["sid"]
    s3 = ctx.post("/v1/Services", FriendlyName="third")["sid"]
    s1 = ctx.service["sid"]
    domain = ctx.custom_domain()
    base = f"/v1/LinkShortening/Domains/{domain['domain_sid']}/Config"
    assert ctx.get(base)["messaging_service_sids"] == [s1]
    got = ctx.post(base, MessagingServiceSids=f"{s2},{s3}", MessagingServiceSidsAction="add")
    assert sorted(got["messaging_service_sids"]) == sorted([s1, s2, s3])
    got = ctx.post(base, MessagingServiceSids=s1, MessagingServiceSidsAction="delete")
    assert sorted(got["messaging_service_sids"]) == sorted([s2, s3])
    got = ctx.post(base, MessagingServiceSids=s1, MessagingServiceSidsAction="replace")
    assert got["messaging_service_sids"] == [s1]
    got = ctx.post(base, FallbackUrl="https://acme.com/", CallbackUrl="https://hooks.acme.com/c")
    assert got["fallback_url"] == "https://acme.com/" and got["messaging_service_sids"] == [s1]
    assoc = ctx.get(f"/v1/LinkShortening/MessagingServices/{s1}/Domain")
    assert assoc["domain_sid"] == domain["domain_sid"]
    cfg = ctx.get(f"/v1/LinkShortening/MessagingService/{s1}/DomainConfig")
    assert cfg["callback_url"] == "https://hooks.acme.com/c" and cfg["messaging_service_sid"] == s1
    path = f"/v1/LinkShortening/Domains/{domain['domain_sid']}/MessagingServices/{s1}"
    assert ctx.request("DELETE", path).status_code == 204
    assert ctx.request("DELETE", path).status_code == 404
    assert (
        ctx.request("GET", f"/v1/LinkShortening/MessagingServices/{s1}/Domain").status_code == 404
    )
    assert ctx.post(path)["messaging_service_sid"] == s1


def test_F_LINK_10_certificate_expiry_and_key_stored_encrypted(server: LiveServer) -> None:
    from tests.links_support import make_cert

    ctx = LinkCtx(server)
    domain = ctx.post("/v1/LinkShortening/Domains", DomainName="Links.Example.TEST.")
    assert domain["domain_name"] == "links.example.test" and domain["verified"] is False
    cert, key, _ = make_cert(["*.example.test"], days=10)
    path = f"/v1/LinkShortening/Domains/{domain['domain_sid']}/Certificate"
    r = ctx.request("POST", path, TlsCert=cert, PrivateKey=key)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["expires_soon"] is True and "expires on" in body["warning"]
    assert body["date_expires"][:4].isdigit() and body["subject_names"] == ["*.example.test"]
    assert ctx.get(f"/v1/LinkShortening/Domains/{domain['domain_sid']}")["verified"] is True

    async def stored() -> str:
        async with server.rt.db.read() as conn:
            return str(await conn.scalar(select(lt.link_certificates.c.key_enc)))

    enc = server.call(stored())
    assert "PRIVATE KEY" not in enc and server.rt.box.decrypt(enc) == key
    later, later_key, _ = make_cert(["links.example.test"], days=200)
    r = ctx.request("POST", path, TlsCert=later + later_key)
    assert r.status_code == 200 and r.json()["expires_soon"] is False
    assert ctx.request("DELETE", path).status_code == 204
    assert ctx.request("GET", path).status_code == 404


def test_F_LINK_10_bad_domains_certificates_and_services_change_nothing(
    server: LiveServer,
) -> None:
    from tests.links_support import make_cert, traditional_rsa_key

    ctx = LinkCtx(server)
    for name in [
        "",
        "x",
        "http://acme.com",
        "acme.com/x",
        "a..b.com",
        "-a.com",
        "1.2.3.4",
        "exa mple.com",
        "acme.c0m",
        "a" * 64 + ".com",
        "acme.com:443",
    ]:
        r = ctx.request("POST", "/v1/LinkShortening/Domains", DomainName=name)
        assert r.status_code == 400 and "DomainName" in r.json()["message"], name
    domain = ctx.post("/v1/LinkShortening/Domains", DomainName="links.example.test")
    dup = ctx.request("POST", "/v1/LinkShortening/Domains", DomainName="LINKS.example.test")
    assert dup.status_code == 409
    sid = domain["domain_sid"]
    cert_path = f"/v1/LinkShortening/Domains/{sid}/Certificate"
    good_cert, good_key, _ = make_cert(["links.example.test"])
    other_cert, other_key, _ = make_cert(["other.example.org"])
    old_cert, old_key, _ = make_cert(["links.example.test"], days=-1, start_days_ago=30)
    rsa_pem, rsa_key = traditional_rsa_key()
    rsa_cert, _, _ = make_cert(["links.example.test"], key=rsa_key)
    cases = {
        "no cert": "",
        "garbage": "hello",
        "broken pem": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n" + good_key,
        "no key": good_cert,
        "mismatched key": good_cert + other_key,
        "other domain": other_cert + other_key,
        "expired": old_cert + old_key,
        "not pkcs8": rsa_cert + rsa_pem,
        "two keys": good_cert + good_key + other_key,
    }
    for case, pem in cases.items():
        r = ctx.request("POST", cert_path, TlsCert=pem)
        assert r.status_code == 400, (case, r.text)
        assert "TlsCert" in r.json()["message"], case
    assert "PKCS#8" in ctx.request("POST", cert_path, TlsCert=rsa_cert + rsa_pem).json()["message"]
    assert ctx.request("GET", cert_path).status_code == 404
    assert ctx.get(f"/v1/LinkShortening/Domains/{sid}")["verified"] is False
    # An unverified domain cannot be given to a service; unknown services are 404.
    assoc = f"/v1/LinkShortening/Domains/{sid}/MessagingServices/{ctx.service['sid']}"
    r = ctx.request("POST", assoc)
    assert r.status_code == 400 and "not verified" in r.json()["message"]
    missing = "MG" + "0" * 32
    r = ctx.request("POST", f"/v1/LinkShortening/Domains/{sid}/MessagingServices/{missing}")
    assert r.status_code == 404 and r.json()["code"] == 21701
    r = ctx.request(
        "POST", f"/v1/LinkShortening/Domains/{sid}/Config", MessagingServiceSids=missing
    )
    assert r.status_code == 404
    cfg = f"/v1/LinkShortening/Domains/{sid}/Config"
    assert ctx.request("POST", cfg, FallbackUrl="ftp://x").status_code == 400
    assert ctx.request("POST", cfg, MessagingServiceSidsAction="merge").status_code == 400
    assert ctx.get(cfg)["fallback_url"] is None and ctx.get(cfg)["messaging_service_sids"] == []
    settings = f"/v1/LinkShortening/MessagingServices/{ctx.service['sid']}/Settings"
    assert ctx.request("POST", settings, LinkMode="everything").status_code == 400
    assert ctx.request("POST", settings, LinkPrefix="two words").status_code == 400
    assert (
        ctx.request(
            "POST", f"/v1/LinkShortening/MessagingServices/{missing}/Settings", LinkMode="all"
        ).status_code
        == 404
    )
    assert ctx.get(settings)["link_mode"] == "off"
    assert count(server, lt.link_certificates) == 0 and count(server, lt.link_domain_services) == 0
    stranger = LinkCtx(server, number="+14155550122")
    assert stranger.request("GET", f"/v1/LinkShortening/Domains/{sid}").status_code == 404
    assert stranger.request("DELETE", f"/v1/LinkShortening/Domains/{sid}").status_code == 404
    assert ctx.request("DELETE", f"/v1/LinkShortening/Domains/{sid}").status_code == 204
    assert good_cert  # used above only to build cases


def test_F_LINK_4_custom_domain_only_while_associated(server: LiveServer) -> None:
    """A service whose domain association is removed shortens on the default domain."""
    ctx = LinkCtx(server)
    domain = ctx.custom_domain()
    ctx.service_mode("all")
    msg = ctx.send(To="+14155550100", MessagingServiceSid=ctx.service["sid"], Body="https://a.com")
    assert msg["body"].startswith("https://links.example.test/")
    ctx.request(
        "DELETE",
        f"/v1/LinkShortening/Domains/{domain['domain_sid']}/MessagingServices/{ctx.service['sid']}",
    )
    msg = ctx.send(To="+14155550100", MessagingServiceSid=ctx.service["sid"], Body="https://a.com")
    assert msg["body"].startswith(server.redirect_url + "/")
