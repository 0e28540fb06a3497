"""Tests for textwire.phone: strict E.164 parsing and originator kinds (F-ORIG-1, F-ORIG-2)."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import assume, given, reject, settings
from hypothesis import strategies as st

from textwire.phone import (
    DEFAULT_MPS,
    InvalidOriginator,
    InvalidPhoneNumber,
    Originator,
    PhoneNumber,
    classify_originator,
    country_of,
    parse_phone,
)

# --- parse_phone -------------------------------------------------------------------------

VALID_NUMBERS = [
    # value, e164, country, country_code, national_number, area_code, is_toll_free
    ("+12125550100", "+12125550100", "US", 1, "2125550100", "212", False),
    ("  +14165550100\n", "+14165550100", "CA", 1, "4165550100", "416", False),
    ("+18005550100", "+18005550100", "US", 1, "8005550100", "800", True),
    ("+18335551234", "+18335551234", "US", 1, "8335551234", "833", True),
    ("+447123123123", "+447123123123", "GB", 44, "7123123123", None, False),
    ("+390612345678", "+390612345678", "IT", 39, "0612345678", None, False),
    ("+4915123456789", "+4915123456789", "DE", 49, "15123456789", None, False),
]


@pytest.mark.parametrize(
    ("value", "e164", "country", "country_code", "national", "area_code", "toll_free"),
    VALID_NUMBERS,
)
def test_parse_phone_valid(
    value: str,
    e164: str,
    country: str,
    country_code: int,
    national: str,
    area_code: str | None,
    toll_free: bool,
) -> None:
    """F-ORIG-1: valid E.164 numbers parse into their parts."""
    assert parse_phone(value) == PhoneNumber(
        e164=e164,
        country=country,
        country_code=country_code,
        national_number=national,
        area_code=area_code,
        is_toll_free=toll_free,
    )


INVALID_NUMBERS = [
    ("12125550100", "start with '+'"),
    ("", "start with '+'"),
    ("+1 212 555 0100", "only digits"),
    ("+1-212-555-0100", "only digits"),
    ("+1(212)5550100", "only digits"),
    ("+１２１２５５５０１００", "only digits"),  # fullwidth digits, which phonenumbers would accept
    ("+1234567", "8 to 15 digits"),
    ("+1234567890123456", "8 to 15 digits"),
    ("+", "8 to 15 digits"),
    ("+15555555555", "not a valid number"),
    ("+99912345678", "not a phone number"),  # 999 is not an assigned country code
    ("+80012345678", "non-geographic"),
    ("+1212555010", "possible"),  # one digit short for NANP
]


@pytest.mark.parametrize(("value", "rule"), INVALID_NUMBERS)
def test_parse_phone_invalid_names_rule(value: str, rule: str) -> None:
    """F-ORIG-1: a bad number is rejected with an error naming the rule broken."""
    with pytest.raises(InvalidPhoneNumber) as info:
        parse_phone(value)
    assert rule in info.value.rule
    assert info.value.rule in str(info.value)


def test_invalid_phone_number_is_value_error() -> None:
    with pytest.raises(ValueError, match="start with"):
        parse_phone("2125550100")


REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)
NUMBER_TYPES = [
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE,
    phonenumbers.PhoneNumberType.TOLL_FREE,
]


@st.composite
def valid_numbers(draw: st.DrawFn) -> tuple[str, str]:
    """A valid E.164 number near a region's example number, with the region it belongs to."""
    region = draw(st.sampled_from(REGIONS))
    example = phonenumbers.example_number_for_type(region, draw(st.sampled_from(NUMBER_TYPES)))
    if example is None:
        reject()
    national = phonenumbers.national_significant_number(example)
    tail = draw(st.text("0123456789", min_size=0, max_size=min(4, len(national) - 1)))
    national = national[: len(national) - len(tail)] + tail
    e164 = f"+{example.country_code}{national}"
    assume(8 <= len(e164) - 1 <= 15)
    candidate = phonenumbers.parse(e164, None)
    assume(phonenumbers.is_valid_number(candidate))
    assume(phonenumbers.region_code_for_number(candidate) == region)
    return e164, region


@settings(deadline=None)  # timing on a shared CI machine is not what is tested
@given(valid_numbers(), st.sampled_from(["", " ", "\t", "\n "]))
def test_every_valid_number_round_trips(number: tuple[str, str], padding: str) -> None:
    """F-ORIG-1: any valid number parses, keeps its E.164 form and knows its country."""
    e164, region = number
    parsed = parse_phone(padding + e164 + padding)
    assert parsed.e164 == e164
    assert parsed.country == region
    assert parse_phone(parsed.e164) == parsed
    assert f"+{parsed.country_code}{parsed.national_number}" == e164
    assert (parsed.area_code is not None) == (parsed.country_code == 1)
    assert country_of(e164) == region


@settings(deadline=None)  # timing on a shared CI machine is not what is tested
@given(st.text(max_size=30))
def test_parse_phone_raises_only_invalid_phone_number(value: str) -> None:
    """Arbitrary input either parses into a well-formed number or names a rule."""
    try:
        parsed = parse_phone(value)
    except InvalidPhoneNumber as exc:
        assert exc.rule
    else:
        assert parsed.e164 == value.strip()
        assert parsed.e164[1:].isascii() and parsed.e164[1:].isdigit()


# --- classify_originator -----------------------------------------------------------------

ORIGINATORS = [
    # value, country argument, expected
    ("+447123123123", None, Originator("long_code", "+447123123123", "GB", None)),
    ("+12125550100", None, Originator("long_code", "+12125550100", "US", "212")),
    ("+12125550100", "GB", Originator("long_code", "+12125550100", "US", "212")),
    ("+18005550100", None, Originator("toll_free", "+18005550100", "US", "800")),
    ("+18885551212", None, Originator("toll_free", "+18885551212", "US", "888")),
    ("+18775551212", None, Originator("toll_free", "+18775551212", "US", "877")),
    ("60006", None, Originator("short_code", "60006", "US", None)),
    ("60006", "gb", Originator("short_code", "60006", "GB", None)),
    ("123", None, Originator("short_code", "123", "US", None)),
    ("12345678", "FR", Originator("short_code", "12345678", "FR", None)),
    ("Acme", None, Originator("alphanumeric", "Acme", None, None)),
    ("Acme", "DE", Originator("alphanumeric", "Acme", "DE", None)),
    (" Acme Corp ", None, Originator("alphanumeric", "Acme Corp", None, None)),
    ("A1", None, Originator("alphanumeric", "A1", None, None)),
    ("a-b_c.d 123", None, Originator("alphanumeric", "a-b_c.d 123", None, None)),
    ("Tom&Jerry", None, Originator("alphanumeric", "Tom&Jerry", None, None)),  # Twilio's '&'
    ("+Deals", None, Originator("alphanumeric", "+Deals", None, None)),  # Twilio's '+'
]


@pytest.mark.parametrize(("value", "country", "expected"), ORIGINATORS)
def test_classify_originator(value: str, country: str | None, expected: Originator) -> None:
    """F-ORIG-1: each sender type is recognised, with its country and area code."""
    assert classify_originator(value, country=country) == expected


BAD_ORIGINATORS = [
    ("", None, "empty"),
    ("   ", None, "empty"),
    ("A", None, "2 to 11 characters"),
    ("TwelveChars1", None, "2 to 11 characters"),
    ("Acme!", None, "only 0-9 a-z A-Z"),
    ("Café", None, "only 0-9 a-z A-Z"),
    ("12", None, "3 to 8 digits"),
    ("123456789", None, "3 to 8 digits"),
    ("2125550100", None, "3 to 8 digits"),
    ("+1 212 555 0100", None, "E.164"),
    ("+15555555555", None, "not a valid number"),
    ("+123", None, "8 to 15 digits"),
    ("+-", None, "only digits"),
    ("--__..", None, "not a long code"),
    ("٣٣٣", None, "not a long code"),  # Arabic-Indic digits are not short codes
    ("60006", "XX", "ISO 3166"),
    ("60006", "", "ISO 3166"),
    ("Acme", "USA", "ISO 3166"),
]


@pytest.mark.parametrize(("value", "country", "rule"), BAD_ORIGINATORS)
def test_classify_originator_names_rule(value: str, country: str | None, rule: str) -> None:
    """F-ORIG-1: anything else is rejected with a clear error naming the rule broken."""
    with pytest.raises(InvalidOriginator) as info:
        classify_originator(value, country=country)
    assert rule in info.value.rule
    assert info.value.rule in str(info.value)


ORIGINATOR_ALPHABET = st.sampled_from("0123456789azAZ-_.+& !#é٣\t")


@settings(deadline=None)  # timing on a shared CI machine is not what is tested
@given(
    st.one_of(st.text(ORIGINATOR_ALPHABET, max_size=16), st.text(max_size=20)),
    st.one_of(st.none(), st.sampled_from(["US", "gb", "XX", "", "USA"]), st.text(max_size=3)),
)
def test_classify_raises_only_invalid_originator(value: str, country: str | None) -> None:
    """F-ORIG-1: classification never raises anything but InvalidOriginator, and what it
    accepts obeys the rules of its kind."""
    try:
        originator = classify_originator(value, country=country)
    except InvalidOriginator as exc:
        assert exc.rule
        return
    text = originator.value
    if originator.kind == "alphanumeric":
        assert 2 <= len(text) <= 11
        assert any(c.isascii() and c.isalpha() for c in text)
    elif originator.kind == "short_code":
        assert text.isascii() and text.isdigit() and 3 <= len(text) <= 8
        assert originator.country is not None
    else:
        assert parse_phone(text).e164 == text
        assert originator.country == country_of(text)


@settings(deadline=None)  # timing on a shared CI machine is not what is tested
@given(valid_numbers())
def test_every_valid_number_is_a_long_code_or_toll_free(number: tuple[str, str]) -> None:
    """F-ORIG-1: every valid E.164 number is a sender; toll-free only for NANP 8xx codes."""
    e164, region = number
    originator = classify_originator(e164)
    assert originator.value == e164
    assert originator.country == region
    nanp_toll_free = e164[:5] in {"+1800", "+1833", "+1844", "+1855", "+1866", "+1877", "+1888"}
    assert originator.kind == ("toll_free" if nanp_toll_free else "long_code")


# --- country_of and DEFAULT_MPS ----------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "country"),
    [
        ("+12125550100", "US"),
        ("+14165550100", "CA"),
        ("+447123123123", "GB"),
        (" +447123123123 ", "GB"),
        ("60006", None),
        ("Acme", None),
        ("+15555555555", None),
        ("", None),
    ],
)
def test_country_of(value: str, country: str | None) -> None:
    assert country_of(value) == country


def test_default_mps_per_kind() -> None:
    """F-ORIG-2: defaults are long code 1, toll-free 3, short code 100, alpha 10."""
    assert DEFAULT_MPS == {"long_code": 1, "toll_free": 3, "short_code": 100, "alphanumeric": 10}
