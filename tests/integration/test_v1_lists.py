"""The ``/v1`` lists built by ``api.common.list_page`` (issue 12 §8): each pages the same way,
with Twilio's absolute ``meta`` URLs, keeps to the caller's account and applies its filter.
Written against the lists before they shared the helper, so the helper changes no byte."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fakes import Api
from tests.inprocess import InProcess


def _meta(app: InProcess, path: str, key: str, page: int, more: bool) -> dict[str, Any]:
    def url(p: int) -> str:
        return f"{app.url}{path}?PageSize=2&Page={p}"

    return {
        "page": page,
        "page_size": 2,
        "first_page_url": url(0),
        "previous_page_url": url(page - 1) if page > 0 else None,
        "next_page_url": url(page + 1) if more else None,
        "url": url(page),
        "key": key,
    }


@pytest.fixture
def accounts(app: InProcess) -> tuple[Api, Api, str]:
    """An account with three of everything, a pool of three numbers, and another account
    with one of everything that must not show."""
    mine, other = Api(app, "Mine"), Api(app, "Other")
    service = ""
    for n, api in enumerate((mine, other)):
        count = 3 if api is mine else 1
        for i in range(count):
            api.integration("sandbox", {}, name=f"box{i}")
            api.post("/v1/Services", FriendlyName=f"svc{i}")
            api.post("/v1/LinkShortening/Domains", DomainName=f"l{i}.a{n}.example.test")
            api.post("/v1/Senders", Sender=f"+1415555{n}{i:03d}")
        api.post("/v1/Senders", Sender="ACME")
    service = mine.post("/v1/Services", FriendlyName="pool")["sid"]
    numbers = mine.request("GET", "/v1/Senders", params={"Kind": "long_code"}).json()["senders"]
    for number in numbers:
        mine.post(f"/v1/Services/{service}/PhoneNumbers", PhoneNumberSid=number["sid"])
    return mine, other, service


def _pages(api: Api, path: str, key: str, **filters: str) -> list[dict[str, Any]]:
    """Every page at PageSize=2, checking each page's meta; the items in order."""
    items: list[dict[str, Any]] = []
    page = 0
    while True:
        r = api.request("GET", path, params={**filters, "PageSize": 2, "Page": page})
        assert r.status_code == 200, r.text
        body = r.json()
        assert list(body) == [key, "meta"]
        more = body["meta"]["next_page_url"] is not None
        if not filters:  # filters are not carried in these lists' page URLs
            assert body["meta"] == _meta(api.server, path, key, page, more)
        items += body[key]
        if not more:
            return items
        assert len(body[key]) == 2
        page += 1


@pytest.mark.parametrize(
    ("path", "key", "count"),
    [
        ("/v1/Senders", "senders", 4),
        ("/v1/Services", "services", 4),
        ("/v1/Integrations", "integrations", 4),  # the account's own Sandbox plus three
        ("/v1/LinkShortening/Domains", "domains", 3),
    ],
)
def test_a_list_pages_oldest_first_within_the_account(
    accounts: tuple[Api, Api, str], path: str, key: str, count: int
) -> None:
    mine, _, _ = accounts
    items = _pages(mine, path, key)
    assert len(items) == count
    everything = mine.request("GET", path).json()[key]
    assert items == everything  # the same rows, in the same order, however paged
    assert all(i.get("account_sid", mine.sid) == mine.sid for i in items)
    created = [i["date_created"] for i in items]
    assert created == sorted(created)


def test_the_pool_list_pages_within_its_service(accounts: tuple[Api, Api, str]) -> None:
    mine, _, service = accounts
    path = f"/v1/Services/{service}/PhoneNumbers"
    items = _pages(mine, path, "phone_numbers")
    assert [i["phone_number"] for i in items] == ["+14155550000", "+14155550001", "+14155550002"]
    assert {i["service_sid"] for i in items} == {service}


def test_the_list_filters_apply(accounts: tuple[Api, Api, str]) -> None:
    mine, _, _ = accounts
    alpha = _pages(mine, "/v1/Senders", "senders", Kind="alphanumeric")
    assert [s["sender"] for s in alpha] == ["ACME"]
    boxes = _pages(mine, "/v1/Integrations", "integrations", Type="sandbox")
    assert len(boxes) == 4
    assert _pages(mine, "/v1/Integrations", "integrations", Type="http") == []


def test_a_page_past_the_end_is_empty_with_no_next(accounts: tuple[Api, Api, str]) -> None:
    mine, _, _ = accounts
    r = mine.request("GET", "/v1/Services", params={"PageSize": 2, "Page": 5})
    assert r.json() == {
        "services": [],
        "meta": _meta(mine.server, "/v1/Services", "services", 5, False),
    }
    bad = mine.request("GET", "/v1/Senders", params={"PageSize": 0})
    assert bad.status_code == 400 and "PageSize" in bad.json()["message"]


def test_another_accounts_pool_is_not_found(accounts: tuple[Api, Api, str]) -> None:
    _, other, service = accounts
    r = other.server.http.get(
        f"{other.server.url}/v1/Services/{service}/PhoneNumbers", auth=other.auth, timeout=30
    )
    assert r.status_code == 404
