"""textwire.campaigns.pricing: the most specific price wins; segments times price (F-CAMP-4)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from textwire.campaigns.pricing import (
    SENDER_KINDS,
    Price,
    PriceError,
    estimate,
    find_price,
    money,
    parse_country,
    parse_price,
    parse_sender_kind,
)
from textwire.senders.declared import KINDS

TABLE = [
    Price("*", "*", Decimal("0.01"), "USD"),
    Price("*", "short_code", Decimal("0.02"), "USD"),
    Price("US", "*", Decimal("0.0079"), "USD"),
    Price("US", "toll_free", Decimal("0.0083"), "USD"),
]


def test_sender_kinds_are_the_senders_api_kinds() -> None:
    assert SENDER_KINDS == KINDS


@pytest.mark.parametrize(
    ("country", "kind", "price"),
    [
        ("US", "toll_free", "0.0083"),
        ("US", "long_code", "0.0079"),
        ("US", "short_code", "0.0079"),
        ("FR", "short_code", "0.02"),
        ("FR", "long_code", "0.01"),
        (None, "long_code", "0.01"),
    ],
)
def test_the_most_specific_row_wins(country: str | None, kind: str, price: str) -> None:
    found = find_price(TABLE, country, kind)
    assert found is not None and found.price == Decimal(price)


def test_no_row_no_cost() -> None:
    assert estimate(3, "US", "long_code", []).cost is None
    assert estimate(3, "US", "long_code", TABLE).cost == Decimal("0.0237")
    assert money(Decimal("0.0237")) == "0.023700"


@given(st.integers(0, 10), st.decimals(min_value=0, max_value=1000, places=6))
def test_cost_is_segments_times_price(segments: int, price: Decimal) -> None:
    table = [Price("GB", "alphanumeric", price, "GBP")]
    assert estimate(segments, "GB", "alphanumeric", table).cost == price * segments


@pytest.mark.parametrize(
    ("parse", "text", "field"),
    [
        (parse_country, "USA", "Country"),
        (parse_country, "1", "Country"),
        (parse_sender_kind, "pigeon", "SenderKind"),
        (parse_price, "-1", "Price"),
        (parse_price, "0.1234567", "Price"),
        (parse_price, "1e3", "Price"),
        (parse_price, "5000", "Price"),
        (parse_price, "NaN", "Price"),
    ],
)
def test_bad_rows_name_the_field(parse: object, text: str, field: str) -> None:
    with pytest.raises(PriceError) as caught:
        parse(text)  # type: ignore[operator]
    assert caught.value.field == field


def test_good_rows_are_normalised() -> None:
    assert parse_country(" us ") == "US"
    assert parse_sender_kind("Short_Code") == "short_code"
    assert parse_price("0.0079") == Decimal("0.0079")
