"""Lists, segments and audiences through the API (SPEC F-CONTACT-3): static lists and their
members, segment filters over fields, consent and engagement, previews, and audiences that
combine lists and segments with exclusions. Runs on SQLite, and on PostgreSQL when
``TEXTWIRE_TEST_DATABASE_URL`` is set."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Column, MetaData, String, Table, insert

from tests.inprocess import InProcess
from textwire.consent import contacts
from textwire.consent.identifiers import Identifier, hash_email
from textwire.consent.state import record
from textwire.contacts import segments
from textwire.links import tables as lt
from textwire.tables import metadata

SENDER = "+14155550111"
ANA, BEN, CAM, DEE = "+12025550101", "+12025550102", "+12025550103", "+12025550104"

# Declared by the contact-fields domain; made here when this branch runs without it.
_FIELDS = metadata.tables.get("contact_fields")
if _FIELDS is None:
    _FIELDS = Table(
        "contact_fields",
        MetaData(),
        Column("account_sid", String(34), primary_key=True),
        Column("key", String(64), primary_key=True),
        Column("type", String(16), nullable=False),
    )


class Api:
    def __init__(self, app: InProcess):
        self.app = app
        acct = app.new_account("Audiences")
        self.sid = acct.account_sid
        self.auth = (acct.account_sid, acct.auth_token)

    def call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        kw.setdefault("auth", self.auth)
        return self.app.http.request(method, self.app.url + path, **kw)

    def ok(self, method: str, path: str, **kw: Any) -> Any:
        r = self.call(method, path, **kw)
        assert r.status_code in (200, 201, 204), r.text
        return r.json() if r.status_code != 204 else None

    def refused(self, method: str, path: str, status: int = 400, **kw: Any) -> str:
        r = self.call(method, path, **kw)
        assert r.status_code == status, r.text
        return str(r.json()["message"])

    def declare(self, **fields: str) -> None:
        async def go() -> None:
            table = _FIELDS
            assert table is not None
            async with self.app.rt.db.write() as conn:
                await conn.run_sync(lambda sync: table.create(sync, checkfirst=True))
                now = self.app.rt.clock.now()
                rows = [{"account_sid": self.sid, "key": k, "type": t} for k, t in fields.items()]
                if "date_created" in table.c:
                    rows = [{**r, "date_created": now} for r in rows]
                if rows:
                    await conn.execute(insert(table), rows)

        self.app.call(go())

    def contact(self, phone: str | None, email: str | None = None, **attributes: Any) -> str:
        async def go() -> str:
            now = self.app.rt.clock.now()
            async with self.app.rt.db.write() as conn:
                sid = await contacts.create_contact(conn, self.sid, now, attributes=attributes)
                idents = [Identifier("phoneNumber", phone)] if phone else []
                if email:
                    idents.append(Identifier("email", hash_email(email)))
                await contacts.attach(conn, self.sid, sid, idents, now)
            return sid

        return self.app.call(go())

    def consent(self, phone: str, status: str, days_ago: int = 0) -> None:
        async def go() -> None:
            at = self.app.rt.clock.now() - timedelta(days=days_ago)
            async with self.app.rt.db.write() as conn:
                await record(conn, self.sid, [phone], "", status, "api", at)  # type: ignore[arg-type]

        self.app.call(go())

    def click(self, phone: str, days_ago: int, *, bot: bool = False) -> None:
        async def go() -> None:
            at = self.app.rt.clock.now() - timedelta(days=days_ago)
            slug = f"s{phone[-4:]}{days_ago}{int(bot)}"
            async with self.app.rt.db.write() as conn:
                await conn.execute(
                    insert(lt.links).values(
                        slug=slug,
                        account_sid=self.sid,
                        message_sid="SM" + "0" * 32,
                        to_addr=phone,
                        url="https://example.com/",
                        short_url=f"https://t.example/{slug}",
                        date_created=at,
                        date_expires=at + timedelta(days=30),
                    )
                )
                await conn.execute(
                    insert(lt.link_clicks).values(
                        slug=slug,
                        clicked_at=at,
                        method="GET",
                        browser="Safari",
                        os="iOS",
                        device_type="mobile",
                        is_bot=bot,
                    )
                )

        self.app.call(go())

    def matches(self, text: str) -> set[str]:
        body = self.ok("POST", "/v1/Segments/Preview", data={"Filter": text, "SampleSize": 100})
        sids = {row["sid"] for row in body["sample"]}
        assert body["count"] == len(sids), body
        return sids


@pytest.fixture
def api(app: InProcess) -> Iterator[Api]:
    made = Api(app)
    made.declare()  # the fields table exists, whichever branch runs this
    yield made
    if "contact_fields" not in metadata.tables:  # made here: leave the database as found

        async def drop() -> None:
            table = _FIELDS
            assert table is not None
            async with app.rt.db.write() as conn:
                await conn.run_sync(lambda sync: table.drop(sync, checkfirst=True))

        app.call(drop())


def test_lists_crud_and_members(api: Api) -> None:
    """F-CONTACT-3: a static list, its members by SID or identifier, idempotent changes."""
    vip = api.ok("POST", "/v1/Lists", data={"FriendlyName": "VIP"})
    assert vip["sid"].startswith("LS") and vip["member_count"] == 0
    assert "already called" in api.refused("POST", "/v1/Lists", 409, data={"FriendlyName": "VIP"})
    assert "FriendlyName" in api.refused("POST", "/v1/Lists", data={"FriendlyName": ""})

    ana = api.contact(ANA)
    path = f"/v1/Lists/{vip['sid']}/Members"
    added = api.ok("POST", path, data={"ContactSid": ana, "PhoneNumber": BEN})
    assert added["changed"] == 2 and added["member_count"] == 2
    ben = added["contact_sids"][1]
    assert ben != ana and ben.startswith("CT")  # a new number made a new contact
    again = api.ok("POST", path, data={"ContactSid": [ana, ben]})
    assert again["changed"] == 0 and again["member_count"] == 2

    assert "ContactSid" in api.refused("POST", path, data={"ContactSid": "CT" + "f" * 32})
    assert "PhoneNumber" in api.refused("POST", path, data={"PhoneNumber": "12"})
    page = api.ok("GET", path)
    assert {m["contact_sid"] for m in page["members"]} == {ana, ben}

    removed = api.ok("DELETE", path, params={"PhoneNumber": BEN})
    assert removed["changed"] == 1 and removed["member_count"] == 1
    api.ok("DELETE", f"{path}/{ana}")
    api.refused("DELETE", f"{path}/{ana}", 404)

    renamed = api.ok("POST", f"/v1/Lists/{vip['sid']}", data={"FriendlyName": "Gold"})
    assert renamed["friendly_name"] == "Gold" and renamed["member_count"] == 0
    assert [x["sid"] for x in api.ok("GET", "/v1/Lists")["lists"]] == [vip["sid"]]
    api.ok("DELETE", f"/v1/Lists/{vip['sid']}")
    api.refused("GET", f"/v1/Lists/{vip['sid']}", 404)

    other = Api(api.app)  # another account sees none of it
    other.refused("GET", path, 404)


def test_segment_filters_over_fields_consent_and_engagement(api: Api) -> None:
    """F-CONTACT-3: fields of each type, identifiers, consent, clicks, lists; two-valued not."""
    api.declare(first_name="text", age="number", birthday="date", vip="boolean", city="text")
    ana = api.contact(
        ANA, "ana@example.com", first_name="Ana", age=31, birthday="1990-05-01", vip=True,
        city="Paris",
    )  # fmt: skip
    ben = api.contact(BEN, first_name="Ben", age=25, birthday="2000-01-01", vip=False, city="Lyon")
    cam = api.contact(CAM, first_name="Cam", age="old", city="Nice")  # age is not a number
    dee = api.contact(None, "dee@example.com")
    everyone = {ana, ben, cam, dee}

    assert api.matches('first_name = "Ana" and age >= 30') == {ana}
    assert api.matches("age >= 20") == {ana, ben}
    assert api.matches("not age >= 30") == {ben, cam, dee}
    assert api.matches('city in ("Paris", "Lyon")') == {ana, ben}
    assert api.matches('city not in ("Paris", "Lyon")') == {cam, dee}
    assert api.matches('city != "Paris"') == {ben, cam}
    assert api.matches("birthday before 2000-01-01") == {ana}
    assert api.matches("birthday <= 2000-01-01") == {ana, ben}
    assert api.matches("birthday after 1999-12-31") == {ben}
    assert api.matches("birthday = 2000-01-01") == {ben}
    assert api.matches("vip = true") == {ana}
    assert api.matches("vip = false or not has vip") == {ben, cam, dee}
    assert api.matches('city contains "YO" or first_name starts_with "c"') == {ben, cam}
    assert api.matches('city contains "%"') == set()
    assert api.matches("has email") == {ana, dee}
    assert api.matches("not has phone") == {dee}
    assert api.matches('email = "ANA@example.com "') == {ana}
    assert api.matches(f'phone = "{BEN}" or phone = "{CAM}"') == {ben, cam}
    assert api.matches(f'phone != "{BEN}"') == everyone - {ben}
    assert api.matches('phone starts_with "+1202"') == {ana, ben, cam}
    assert api.matches("date_created after 2000-01-01") == everyone

    api.consent(ANA, "subscribed", days_ago=40)
    api.consent(BEN, "subscribed", days_ago=2)
    api.consent(CAM, "unsubscribed", days_ago=1)
    assert api.matches("consent = subscribed") == {ana, ben}
    assert api.matches("consent = unsubscribed") == {cam}
    assert api.matches("consent = unknown") == {dee}
    assert api.matches("consent != subscribed") == {cam, dee}
    assert api.matches("opted_in within 7d") == {ben}
    assert api.matches("opted_out within 7d or opted_in within 1w") == {ben, cam}
    today = api.app.rt.clock.now().date()
    assert api.matches(f"opted_in after {today - timedelta(days=10)}") == {ben}
    assert api.matches(f"opted_in before {today - timedelta(days=10)}") == {ana}

    api.click(ANA, days_ago=3)
    api.click(BEN, days_ago=45)
    api.click(CAM, days_ago=1, bot=True)  # a bot's click is no engagement
    assert api.matches("clicked within 30d") == {ana}
    assert api.matches("clicked") == {ana, ben}
    assert api.matches("not clicked within 30d and has phone") == {ben, cam}

    vip = api.ok("POST", "/v1/Lists", data={"FriendlyName": "VIP"})
    api.ok("POST", f"/v1/Lists/{vip['sid']}/Members", data={"ContactSid": [ben, dee]})
    assert api.matches('in_list "VIP"') == {ben, dee}
    assert api.matches(f"list = {vip['sid']} and (has email or age < 30)") == {ben, dee}
    assert api.matches('list != "VIP"') == {ana, cam}


def test_messaged_within_a_window(api: Api) -> None:
    """F-CONTACT-3: "not messaged in 7 days", from the messages the account sent."""
    ana, ben = api.contact(ANA), api.contact(BEN)
    sender = api.ok("POST", "/v1/Senders", data={"Sender": SENDER})
    assert sender["sid"]

    def send(to: str) -> None:
        r = api.call(
            "POST",
            f"/2010-04-01/Accounts/{api.sid}/Messages.json",
            data={"To": to, "From": SENDER, "Body": "hello"},
        )
        assert r.status_code == 201, r.text

    send(ANA)
    api.app.rt.clock.advance(8 * 86400)
    send(BEN)
    assert api.matches("messaged within 7d") == {ben}
    assert api.matches("not messaged within 7d") == {ana}
    assert api.matches("messaged") == {ana, ben}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("age >= ", 'at column 8: expected a value: a "string", a number'),
        ('city = "Paris" and', "at column 19: expected a condition"),
        ("(vip = true", "at column 12: expected ')'"),
        ("clicked within 3y", "at column 16: expected a duration in h, d or w"),
        ("birthday before 2000-02-30", "at column 17: expected a calendar date"),
        ("city = Paris", 'at column 8: expected a value: a "string"'),
        ("shoe_size > 40", "at column 1: unknown field 'shoe_size'"),
        ('age >= "30"', "at column 1: 'age' is a number field: expected a number value"),
        ("vip > true", "'vip' is a boolean field: expected one of =, !="),
        ('in_list "Nope"', "at column 9: unknown list 'Nope'"),
        ('email > "a@b.c"', "email is stored hashed"),
    ],
)
def test_a_bad_filter_is_a_400_naming_where_and_what(api: Api, text: str, expected: str) -> None:
    """F-CONTACT-3 (bad input): the position and what was expected; nothing is saved."""
    api.declare(age="number", vip="boolean", city="text", birthday="date")
    for method, path in (("POST", "/v1/Segments/Preview"), ("POST", "/v1/Segments")):
        message = api.refused(method, path, data={"Filter": text, "FriendlyName": "x"})
        assert "'Filter'" in message and expected in message, message
    assert api.ok("GET", "/v1/Segments")["segments"] == []


def test_segments_crud_and_previews(api: Api) -> None:
    """F-CONTACT-3: a saved segment, its preview (count and sample), lists pinned by SID."""
    api.declare(age="number")
    ana, ben = api.contact(ANA, age=40), api.contact(BEN, age=20)
    vip = api.ok("POST", "/v1/Lists", data={"FriendlyName": "VIP"})
    api.ok("POST", f"/v1/Lists/{vip['sid']}/Members", data={"ContactSid": ben})

    made = api.ok(
        "POST",
        "/v1/Segments",
        json={"FriendlyName": "Adults or VIP", "Filter": "AGE >= 30 OR in_list 'VIP'"},
    )
    assert made["sid"].startswith("SG")
    assert made["filter"] == f'age >= 30 or in_list "{vip["sid"]}"'  # canonical, by SID
    api.ok("POST", f"/v1/Lists/{vip['sid']}", data={"FriendlyName": "Gold"})  # a rename
    shown = api.ok("GET", f"/v1/Segments/{made['sid']}/Preview", params={"SampleSize": 1})
    assert shown["count"] == 2 and [s["sid"] for s in shown["sample"]] == [ana]
    assert shown["sample"][0]["attributes"] == {"age": 40}

    assert "segment" in api.refused("DELETE", f"/v1/Lists/{vip['sid']}", 409)
    updated = api.ok("POST", f"/v1/Segments/{made['sid']}", data={"Filter": "age < 30"})
    assert updated["filter"] == "age < 30" and updated["friendly_name"] == "Adults or VIP"
    assert api.ok("GET", f"/v1/Segments/{made['sid']}/Preview")["count"] == 1
    assert "'Filter'" in api.refused("POST", f"/v1/Segments/{made['sid']}", data={"Filter": "("})
    assert [s["sid"] for s in api.ok("GET", "/v1/Segments")["segments"]] == [made["sid"]]
    api.ok("DELETE", f"/v1/Lists/{vip['sid']}")  # no segment names it now
    api.ok("DELETE", f"/v1/Segments/{made['sid']}")
    api.refused("GET", f"/v1/Segments/{made['sid']}", 404)


def test_an_audience_combines_lists_and_segments_with_exclusions(api: Api) -> None:
    """F-CONTACT-3 / F-CAMP-1: included lists or segments, minus excluded ones, as one
    SELECT of contact SIDs (what campaigns fan out over)."""
    api.declare(age="number")
    ana, ben, cam, dee = (
        api.contact(p, age=a) for p, a in ((ANA, 40), (BEN, 20), (CAM, 50), (DEE, 60))
    )
    newsletter = api.ok("POST", "/v1/Lists", data={"FriendlyName": "Newsletter"})["sid"]
    blocked = api.ok("POST", "/v1/Lists", data={"FriendlyName": "Blocked"})["sid"]
    api.ok("POST", f"/v1/Lists/{newsletter}/Members", data={"ContactSid": [ben]})
    api.ok("POST", f"/v1/Lists/{blocked}/Members", data={"ContactSid": [cam]})
    adults = api.ok("POST", "/v1/Segments", data={"FriendlyName": "a", "Filter": "age >= 30"})
    seniors = api.ok("POST", "/v1/Segments", data={"FriendlyName": "s", "Filter": "age >= 55"})

    body = api.ok(
        "POST",
        "/v1/Audiences/Preview",
        data={
            "IncludeLists": newsletter,
            "IncludeSegments": adults["sid"],
            "ExcludeLists": blocked,
            "ExcludeSegments": seniors["sid"],
            "SampleSize": 10,
        },
    )
    assert body["count"] == 2 and {s["sid"] for s in body["sample"]} == {ana, ben}

    async def resolve() -> set[str]:
        audience = segments.Audience(
            include_lists=(newsletter,),
            include_segments=(adults["sid"],),
            exclude_lists=(blocked,),
        )
        async with api.app.rt.db.read() as conn:
            query = await segments.audience_sids(conn, api.sid, audience, api.app.rt.clock.now())
            return set(await conn.scalars(query))

    assert api.app.call(resolve()) == {ana, ben, dee}

    assert "IncludeLists" in api.refused("POST", "/v1/Audiences/Preview", data={})
    message = api.refused(
        "POST", "/v1/Audiences/Preview", data={"IncludeSegments": "SG" + "0" * 32}
    )
    assert "IncludeSegments" in message and "no segment" in message
    other = Api(api.app)
    assert "no list" in other.refused(
        "POST", "/v1/Audiences/Preview", data={"IncludeLists": newsletter}
    )
