"""``parse_phone``'s fast path for ``+`` and digits gives exactly what the general path
(``phonenumbers.parse`` with ``number_type`` and ``region_code_for_number``) gives.

``reference_parse_phone`` below is ``parse_phone`` as it was before the fast path, written
with phonenumbers' public API only; every comparison is against it or against phonenumbers.
"""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from textwire.phone import (
    _ISO_ALPHA2,
    InvalidPhoneNumber,
    PhoneNumber,
    _check_e164_shape,
    _phone_number,
    _region_and_type,
    parse_e164_digits,
    parse_phone,
)

TYPES = [
    phonenumbers.PhoneNumberType.FIXED_LINE,
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.TOLL_FREE,
    phonenumbers.PhoneNumberType.PREMIUM_RATE,
    phonenumbers.PhoneNumberType.SHARED_COST,
    phonenumbers.PhoneNumberType.VOIP,
    phonenumbers.PhoneNumberType.PERSONAL_NUMBER,
    phonenumbers.PhoneNumberType.PAGER,
    phonenumbers.PhoneNumberType.UAN,
    phonenumbers.PhoneNumberType.VOICEMAIL,
]


def reference_parse_phone(value: str) -> PhoneNumber:
    """``parse_phone`` through ``phonenumbers.parse`` and the public API, as it was."""
    text = value.strip()
    _check_e164_shape(text)
    try:
        parsed = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneNumber(f"not a phone number ({exc._msg})", text) from None
    if not phonenumbers.is_possible_number(parsed):
        raise InvalidPhoneNumber("not a possible number for its country code", text)
    number_type = phonenumbers.number_type(parsed)
    if number_type == phonenumbers.PhoneNumberType.UNKNOWN:
        raise InvalidPhoneNumber("not a valid number in its numbering plan", text)
    region = phonenumbers.region_code_for_number(parsed)
    if region is None or not _ISO_ALPHA2.fullmatch(region):
        raise InvalidPhoneNumber("must belong to a country (non-geographic range)", text)
    return _phone_number(parsed, region, number_type)


def outcome(parse: object, value: str) -> object:
    """The parsed number, or the rule and value of the refusal."""
    try:
        return parse(value)  # type: ignore[operator]
    except InvalidPhoneNumber as exc:
        return ("invalid", exc.rule, exc.value)


def assert_same_as_general_path(text: str) -> None:
    fast = parse_e164_digits(text)
    if fast is not None:
        assert fast == phonenumbers.parse(text, None)
        assert _region_and_type(fast) == (
            phonenumbers.region_code_for_number(fast),
            phonenumbers.number_type(fast),
        )
    assert outcome(parse_phone, text) == outcome(reference_parse_phone, text)


def example_numbers() -> list[str]:
    """Every example number phonenumbers has: each region and type, and the non-geographic."""
    found = set()
    for region in phonenumbers.SUPPORTED_REGIONS:
        for kind in TYPES:
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                found.add(phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164))
    for code in (
        phonenumbers.SUPPORTED_SHORT_REGIONS and phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS
    ):
        example = phonenumbers.example_number_for_non_geo_entity(code)
        if example is not None:
            found.add(phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164))
    return sorted(found)


EXAMPLES = example_numbers()


def test_every_example_number_parses_as_the_general_path() -> None:
    assert len(EXAMPLES) > 1000
    for text in EXAMPLES:
        assert_same_as_general_path(text)


@pytest.mark.parametrize(
    "text", ["+12125550100", "+14165550100", "+447123123123", "+390612345678", "+4915123456789"]
)
def test_common_numbers_take_the_fast_path(text: str) -> None:
    """The fast path is used, not just correct when unused (it would be, trivially)."""
    assert parse_e164_digits(text) is not None
    assert_same_as_general_path(text)


@pytest.mark.parametrize(
    "text",
    [
        "+4407123123123",  # GB national prefix 0 after the calling code: parse() strips it
        "+5491123456789",  # Argentina's national-prefix pattern can match anywhere
        "+0123456789",  # no calling code starts with 0
        "+9991234567",  # no such calling code
        "+1 2125550100",  # not + and digits
        "+١٢١٢٥٥٥٠١٠٠",  # Arabic-Indic digits are not ASCII digits
    ],
)
def test_anything_parse_could_transform_goes_the_general_way(text: str) -> None:
    assert parse_e164_digits(text) is None
    assert_same_as_general_path(text)


@st.composite
def near_examples(draw: st.DrawFn) -> str:
    """An example number with digits changed, dropped, added, or a 0/1 after the code."""
    digits = draw(st.sampled_from(EXAMPLES))[1:]
    edit = draw(st.sampled_from(["tail", "insert", "drop", "prefix"]))
    if edit == "tail":
        tail = draw(st.text("0123456789", max_size=5))
        digits = digits[: len(digits) - len(tail)] + tail
    elif edit == "insert":
        at = draw(st.integers(1, len(digits)))
        digits = digits[:at] + draw(st.text("0123456789", min_size=1, max_size=3)) + digits[at:]
    elif edit == "drop":
        at = draw(st.integers(1, len(digits) - 1))
        digits = digits[:at] + digits[at + 1 :]
    else:
        size = draw(st.integers(1, 3))
        digits = (
            digits[:size] + draw(st.sampled_from(["0", "1", "00", "01", "8", "15"])) + digits[size:]
        )
    return "+" + digits


@settings(deadline=None, max_examples=2000)  # timing on a shared machine is not what is tested
@given(near_examples())
def test_numbers_near_real_ones_parse_as_the_general_path(text: str) -> None:
    assert_same_as_general_path(text)


@settings(deadline=None, max_examples=2000)
@given(st.text("0123456789", min_size=6, max_size=17).map(lambda d: "+" + d))
def test_any_plus_and_digits_parses_as_the_general_path(text: str) -> None:
    assert_same_as_general_path(text)


@settings(deadline=None, max_examples=500)
@given(st.text(max_size=20))
def test_any_text_parses_as_the_general_path(text: str) -> None:
    if parse_e164_digits(text) is not None:
        assert text.startswith("+") and text[1:].isascii() and text[1:].isdigit()
    assert_same_as_general_path(text)
