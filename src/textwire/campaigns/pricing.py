"""Estimated cost of a message: its segments times a price per segment (F-CAMP-4).

Pure. An account keeps an editable price table (``/v1/Prices``): one price per segment for a
destination country (ISO alpha-2, or ``*`` for any) and a sender kind (``long_code``,
``toll_free``, ``short_code``, ``alphanumeric``, or ``*``). The most specific row wins:
(country, kind), then (country, ``*``), then (``*``, kind), then (``*``, ``*``). Prices are
``Decimal``: money is never a float.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Final

ANY: Final = "*"
# The sender kinds of /v1/Senders (textwire.senders.declared.KINDS), which a pure module
# cannot import: tests/unit/test_pricing.py checks the two agree.
SENDER_KINDS: Final = ("long_code", "toll_free", "short_code", "alphanumeric")
MAX_PRICE: Final = Decimal("1000")
PLACES: Final = 6
_COUNTRY: Final = re.compile(r"[A-Z]{2}")
_CURRENCY: Final = re.compile(r"[A-Z]{3}")
_PRICE: Final = re.compile(r"[0-9]{1,4}(\.[0-9]{1,6})?")


class PriceError(ValueError):
    """A price row's ``field`` breaks ``rule``."""

    def __init__(self, field: str, rule: str) -> None:
        self.field = field
        self.rule = rule
        super().__init__(f"{field}: {rule}")


@dataclass(frozen=True)
class Price:
    country: str
    sender_kind: str
    price: Decimal
    price_unit: str


@dataclass(frozen=True)
class Estimate:
    """``segments`` at ``price`` (None: no row applies, so no cost is known)."""

    segments: int
    price: Price | None

    @property
    def cost(self) -> Decimal | None:
        return None if self.price is None else self.price.price * self.segments


def parse_country(text: str) -> str:
    value = text.strip().upper()
    if value != ANY and not _COUNTRY.fullmatch(value):
        raise PriceError("Country", "must be an ISO 3166 alpha-2 code such as US, or *")
    return value


def parse_sender_kind(text: str) -> str:
    value = text.strip().lower()
    if value != ANY and value not in SENDER_KINDS:
        raise PriceError("SenderKind", f"must be one of {', '.join(SENDER_KINDS)} or *")
    return value


def parse_price(text: str) -> Decimal:
    value = text.strip()
    if not _PRICE.fullmatch(value):
        raise PriceError("Price", "must be a decimal number such as 0.0079 (at most 6 places)")
    try:
        price = Decimal(value)
    except InvalidOperation:  # not reached: the pattern admits only decimals
        raise PriceError("Price", "must be a decimal number") from None
    if price > MAX_PRICE:
        raise PriceError("Price", f"must be at most {MAX_PRICE}")
    return price


def parse_currency(text: str) -> str:
    value = text.strip().upper()
    if not _CURRENCY.fullmatch(value):
        raise PriceError("PriceUnit", "must be an ISO 4217 code such as USD")
    return value


def find_price(prices: Iterable[Price], country: str | None, sender_kind: str) -> Price | None:
    """The most specific price for ``country`` (None: unknown, so only ``*`` rows apply)
    and ``sender_kind``."""
    by_key = {(p.country, p.sender_kind): p for p in prices}
    for key in ((country, sender_kind), (country, ANY), (ANY, sender_kind), (ANY, ANY)):
        if key[0] is not None and key in by_key:
            return by_key[key]
    return None


def estimate(
    segments: int, country: str | None, sender_kind: str, prices: Iterable[Price]
) -> Estimate:
    return Estimate(segments, find_price(prices, country, sender_kind))


def money(value: Decimal) -> str:
    """``value`` as the API shows an amount: fixed-point, ``PLACES`` decimals."""
    return f"{value.quantize(Decimal(1).scaleb(-PLACES)):f}"
