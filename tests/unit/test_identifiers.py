"""Tests for textwire.consent.identifiers: email, phoneNumber, custom (F-CONSENT-1, -3)."""

from __future__ import annotations

import hashlib
import re

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from textwire.consent.identifiers import (
    IDENTIFIER_TYPES,
    MAX_CUSTOM_ID_LENGTH,
    POSSIBLE_LENGTHS,
    Identifier,
    IdentifierError,
    hash_email,
    is_e164,
    normalize_custom_id,
    normalize_email,
    normalize_phone_number,
    parse_identifier,
    phone_number_problem,
    split_country_code,
)

ALICE_HASH = hashlib.sha256(b"alice@example.com").hexdigest()


# --- email ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "alice@example.com",
        "Alice@Example.COM",
        "  alice@example.com\t",
        ALICE_HASH,
        ALICE_HASH.upper(),
        f"  {ALICE_HASH} ",
    ],
)
def test_email_and_its_hash_name_the_same_contact(value: str) -> None:
    """F-CONSENT-1: an email sent plain or already hashed normalises to one digest."""
    assert normalize_email(value) == ALICE_HASH


def test_hash_email_trims_and_lowercases_before_hashing() -> None:
    assert hash_email(" BOB@example.org ") == hashlib.sha256(b"bob@example.org").hexdigest()


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("", "must not be empty"),
        ("   ", "must not be empty"),
        ("alice", "must be an email address"),
        ("a@b@c", "must be an email address"),
        ("al ice@example.com", "must be an email address"),
        ("a" * 250 + "@example.com", "longer than 254"),
        ("abc123", "must be an email address"),  # hex, but not 64 digits: not a digest
        (None, "must be a string, got NoneType"),
        (42, "must be a string, got int"),
    ],
)
def test_bad_emails_name_the_field_and_rule(value: object, rule: str) -> None:
    with pytest.raises(IdentifierError) as caught:
        normalize_email(value)
    assert caught.value.field == "identifier.value"
    assert rule in caught.value.rule
    assert isinstance(caught.value, ValueError)


@given(st.emails())
def test_any_email_hashes_to_64_hex_and_is_stable_under_case_and_space(email: str) -> None:
    digest = normalize_email(email)
    assert len(digest) == 64 and all(c in "0123456789abcdef" for c in digest)
    assert normalize_email(f"  {email.upper()}  ") == normalize_email(email.lower())
    assert normalize_email(digest) == digest


# --- phone numbers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "number",
    ["+12025550123", "+447700900123", "+33612345678", "+8613800138000", "+2901234", "+80012345678"],
)
def test_strict_e164_numbers_are_kept(number: str) -> None:
    assert normalize_phone_number(f" {number} ") == number
    assert is_e164(number)


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("12025550123", "missing '+'"),
        ("12025550123", "did you mean +12025550123?"),
        ("+1 202 555 0123", "digits only"),
        ("+1 202 555 0123", "did you mean +12025550123?"),
        ("+1-202-555-0123", "digits only"),
        ("+1202555012a", "digits only"),
        ("+١٢٠٢٥٥٥٠١٢٣", "digits only"),  # Arabic-Indic digits are not E.164
        ("+0123456789", "never start with 0"),
        ("+1234567890123456", "at most 15 digits"),
        ("+999123456789", "unknown country calling code"),
        ("+120255501", "wrong length for +1 (US): 8 digits"),
        ("+4407700900123", "expected 7, 9 or 10"),
        ("+4407700900123", "did you mean +447700900123?"),
        ("+1", "0 digits after the country code"),
        ("phone", "not an E.164 phone number"),
        ("", "must not be empty"),
        (12025550123, "must be a string"),
    ],
)
def test_bad_phone_numbers_say_why(value: object, rule: str) -> None:
    """F-CONSENT-1: phone identifiers are strict E.164; the error names field and rule."""
    with pytest.raises(IdentifierError) as caught:
        normalize_phone_number(value, field="to")
    assert caught.value.field == "to"
    assert rule in str(caught.value)


def test_problem_without_hint_does_not_suggest() -> None:
    reason = phone_number_problem("12025550123", hint=False)
    assert reason is not None and "did you mean" not in reason


def test_split_country_code_uses_the_prefix_free_codes() -> None:
    assert split_country_code("12025550123") == (1, "2025550123")
    assert split_country_code("447700900123") == (44, "7700900123")
    assert split_country_code("35312345678") == (353, "12345678")
    assert split_country_code("999") is None


def _possible_per_phonenumbers(text: str) -> bool:
    """The rule as phonenumbers states it: canonical E.164 form and IS_POSSIBLE length."""
    try:
        parsed = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return False
    canonical = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    reason = phonenumbers.is_possible_number_with_reason(parsed)
    return canonical == text and reason == phonenumbers.ValidationResult.IS_POSSIBLE


country_codes = st.sampled_from(sorted(POSSIBLE_LENGTHS))


@st.composite
def plausible_numbers(draw: st.DrawFn) -> str:
    code = draw(country_codes)
    lengths = POSSIBLE_LENGTHS[code]
    size = draw(st.integers(min_value=max(1, min(lengths) - 1), max_value=max(lengths) + 1))
    national = draw(st.text(alphabet="0123456789", min_size=size, max_size=size))
    return f"+{code}{national}"


@given(plausible_numbers())
def test_compiled_rule_agrees_with_phonenumbers(number: str) -> None:
    """The one regex the CSV parser uses says what phonenumbers says, for any number."""
    split = split_country_code(number[1:])
    assert split is not None
    # phonenumbers silently strips a national prefix ('+44 0…' → '+44 …'); E.164 has none,
    # so where one could be stripped compare with the length table alone.
    code, national = split
    metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(
        code, phonenumbers.region_code_for_country_code(code)
    )
    assert metadata is not None
    strippable = metadata.national_prefix_for_parsing or metadata.national_prefix
    if strippable and re.match(strippable, national):
        assert is_e164(number) == (len(national) in POSSIBLE_LENGTHS[code])
        return
    assert is_e164(number) == _possible_per_phonenumbers(number)


@given(st.text(max_size=20))
def test_problem_is_none_exactly_for_e164(text: str) -> None:
    assert (phone_number_problem(text, hint=False) is None) == is_e164(text)


# --- custom ids and the API shape ------------------------------------------------------------


def test_custom_ids_are_trimmed_and_keep_case() -> None:
    assert normalize_custom_id("  User-42 ") == "User-42"
    assert normalize_custom_id("x" * MAX_CUSTOM_ID_LENGTH) == "x" * MAX_CUSTOM_ID_LENGTH


@pytest.mark.parametrize(
    ("value", "rule"),
    [("", "must not be empty"), ("x" * 257, "longer than 256"), ([], "must be a string")],
)
def test_bad_custom_ids(value: object, rule: str) -> None:
    with pytest.raises(IdentifierError, match=rule):
        normalize_custom_id(value)


@pytest.mark.parametrize(
    ("type_", "value", "expected"),
    [
        ("email", "Alice@Example.com", Identifier("email", ALICE_HASH)),
        ("phoneNumber", "+12025550123", Identifier("phoneNumber", "+12025550123")),
        ("custom", " cuid-1 ", Identifier("custom", "cuid-1")),
    ],
)
def test_parse_identifier(type_: str, value: str, expected: Identifier) -> None:
    """F-CONSENT-3: the opt-in/opt-out body's identifier, normalised by type."""
    assert parse_identifier(type_, value) == expected


@pytest.mark.parametrize(
    ("type_", "value", "field", "rule"),
    [
        ("sms", "x", "identifier.type", "must be one of email, phoneNumber, custom"),
        ("PhoneNumber", "+12025550123", "identifier.type", "got 'PhoneNumber'"),
        (None, "x", "identifier.type", "got None"),
        ("email", "", "identifier.value", "must not be empty"),
        ("phoneNumber", "2025550123", "identifier.value", "missing '+'"),
        ("custom", 7, "identifier.value", "must be a string"),
    ],
)
def test_parse_identifier_errors_name_the_field(
    type_: object, value: object, field: str, rule: str
) -> None:
    """Bad input (issue 6): unknown types and empty values name the field for the 400."""
    with pytest.raises(IdentifierError) as caught:
        parse_identifier(type_, value)
    assert caught.value.field == field
    assert rule in caught.value.rule
    assert str(caught.value).startswith(f"{field}: ")


def test_identifier_types_are_the_api_names() -> None:
    assert IDENTIFIER_TYPES == ("email", "phoneNumber", "custom")
