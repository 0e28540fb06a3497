"""Normalising contact identifiers: email, phone number, custom id (F-CONSENT-1, F-CONSENT-3).

Every way consent arrives (opt-in API, identify events, CSV sync, inbound keywords) names a
contact by one identifier. Normalising them here, in one place, is what makes the same person
match across those doors:

- ``email``: trimmed and lower-cased, then stored as its SHA-256 hex digest. A value that is
  already 64 hex digits is taken as such a digest (lower-cased), so a client may send either
  the address or its hash and both name the same contact.
- ``phoneNumber``: strict E.164 (see :func:`phone_number_problem` for the exact rule).
- ``custom``: trimmed, non-empty, at most 256 characters, otherwise kept verbatim
  (case-sensitive: it is the client's own key).

The phone rule is deliberately "E.164 shape + known country calling code + a national number
length that ``phonenumbers`` lists as possible for that code". It is not ``is_valid_number``
(assigned ranges): that costs ~55 µs a number (a 10-million-row sync would spend 9 minutes on
it) and its answer changes with numbering-plan updates. The subscriber CSV parser compiles the
same rule into one regular expression (:data:`E164_PATTERN`), so a number accepted by the
opt-in API is accepted by the sync and vice versa.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Literal, get_args

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata

IdentifierType = Literal["email", "phoneNumber", "custom"]
IDENTIFIER_TYPES: Final[tuple[IdentifierType, ...]] = get_args(IdentifierType)

MAX_CUSTOM_ID_LENGTH: Final = 256
MAX_EMAIL_LENGTH: Final = 254  # RFC 5321 path limit
E164_MAX_DIGITS: Final = 15

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
# Deliberately loose: the address is only ever hashed, never mailed from here.
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
_ASCII_DIGITS = re.compile(r"[0-9]+")


class IdentifierError(ValueError):
    """An identifier broke a rule; ``field`` names the input, ``rule`` says what is wrong."""

    def __init__(self, field: str, rule: str) -> None:
        self.field = field
        self.rule = rule
        super().__init__(f"{field}: {rule}")


@dataclass(frozen=True)
class Identifier:
    """A normalised identifier: ``value`` is the digest, E.164 number or trimmed custom id."""

    type: IdentifierType
    value: str


def _possible_lengths() -> Mapping[int, tuple[int, ...]]:
    """National number lengths per country calling code, from the main region's metadata.

    The main region is what ``phonenumbers.is_possible_number`` consults, so this table gives
    the same answer. Local-only lengths are left out: they cannot be dialled in E.164 form.
    """
    table: dict[int, tuple[int, ...]] = {}
    for code in COUNTRY_CODE_TO_REGION_CODE:
        region = phonenumbers.region_code_for_country_code(code)
        metadata = PhoneMetadata.metadata_for_region_or_calling_code(code, region)
        general = metadata.general_desc if metadata is not None else None
        if general is not None and general.possible_length:
            table[code] = tuple(sorted(general.possible_length))
    return MappingProxyType(table)


POSSIBLE_LENGTHS: Final = _possible_lengths()


def _lengths_regex(lengths: tuple[int, ...]) -> str:
    runs: list[list[int]] = []
    for length in lengths:
        if runs and runs[-1][1] == length - 1:
            runs[-1][1] = length
        else:
            runs.append([length, length])
    parts = [f"[0-9]{{{lo}}}" if lo == hi else f"[0-9]{{{lo},{hi}}}" for lo, hi in runs]
    return parts[0] if len(parts) == 1 else "(?:" + "|".join(parts) + ")"


def _trie_regex(tails: Mapping[str, str]) -> str:
    """One alternation per leading digit, so the regex engine never tries 200 codes in turn."""
    by_first: dict[str, dict[str, str]] = {}
    for digits, tail in tails.items():
        by_first.setdefault(digits[0], {})[digits[1:]] = tail
    branches = []
    for first, rest in sorted(by_first.items()):
        inner = rest[""] if "" in rest else _trie_regex(rest)
        branches.append(f"{first}(?:{inner})")
    return "|".join(branches)


def _e164_pattern() -> str:
    tails = {str(code): _lengths_regex(lengths) for code, lengths in POSSIBLE_LENGTHS.items()}
    return r"\+(?:" + _trie_regex(tails) + ")"


E164_PATTERN: Final = _e164_pattern()
"""Regex source (no anchors) for a strict E.164 number under the rule in the module docstring."""

_E164: Final = re.compile(E164_PATTERN)


def split_country_code(digits: str) -> tuple[int, str] | None:
    """Split ASCII digits into (known country calling code, national number), or None.

    Country calling codes are prefix-free, so the first 1–3 digit prefix that is known wins.
    """
    for size in (1, 2, 3):
        if len(digits) >= size and int(digits[:size]) in POSSIBLE_LENGTHS:
            return int(digits[:size]), digits[size:]
    return None


def is_e164(text: str) -> bool:
    """Whether ``text`` is exactly a strict E.164 number (no trimming)."""
    return _E164.fullmatch(text) is not None


def _country_label(code: int) -> str:
    region = phonenumbers.region_code_for_country_code(code)
    return f"+{code}" if region in ("001", "ZZ") else f"+{code} ({region})"


def _suggestion(text: str) -> str:
    """A corrected E.164 form phonenumbers can read from ``text``, as a hint; else ''."""
    if _ASCII_DIGITS.fullmatch(text) and is_e164("+" + text):
        return f"; did you mean +{text}?"
    try:
        parsed = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return ""
    candidate = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return f"; did you mean {candidate}?" if is_e164(candidate) and candidate != text else ""


def _shape_problem(text: str) -> str | None:
    """Why ``text`` is not '+' and 1–15 ASCII digits, or None if it has that shape."""
    if not text.startswith("+"):
        if _ASCII_DIGITS.fullmatch(text):
            return "missing '+' and country code prefix (E.164 numbers start with '+')"
        return "not an E.164 phone number (expected '+' followed by digits)"
    digits = text[1:]
    if not _ASCII_DIGITS.fullmatch(digits):
        return "must be '+' followed by digits only (no spaces, dashes or brackets)"
    if len(digits) > E164_MAX_DIGITS:
        return f"too long: E.164 allows at most {E164_MAX_DIGITS} digits, got {len(digits)}"
    if digits[0] == "0":
        return "country calling codes never start with 0"
    return None


def _either(lengths: tuple[int, ...]) -> str:
    words = [str(n) for n in lengths]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def phone_number_problem(text: str, *, hint: bool = True) -> str | None:
    """Why ``text`` is not a strict E.164 number, or None when it is one.

    Rule: '+', a country calling code that exists, then a national number whose length
    ``phonenumbers`` lists as possible for that code; ASCII digits only, nothing else. With
    ``hint`` (costs a ``phonenumbers.parse``), a likely correction is appended to the reason.
    """
    if is_e164(text):
        return None
    reason = _shape_problem(text)
    if reason is None:
        digits = text[1:]
        split = split_country_code(digits)
        if split is None:
            tried = ", ".join(f"+{digits[:n]}" for n in range(1, min(3, len(digits)) + 1))
            reason = f"unknown country calling code (none of {tried} exists)"
        else:
            code, national = split
            expected = _either(POSSIBLE_LENGTHS[code])
            reason = (
                f"wrong length for {_country_label(code)}: {len(national)} digits after the "
                f"country code, expected {expected}"
            )
    return reason + (_suggestion(text) if hint else "")


def hash_email(email: str) -> str:
    """SHA-256 hex digest of the trimmed, lower-cased address (the form clients hash)."""
    return hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()


def _text(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise IdentifierError(field, f"must be a string, got {type(value).__name__}")
    trimmed = value.strip()
    if not trimmed:
        raise IdentifierError(field, "must not be empty")
    return trimmed


def normalize_email(value: object, *, field: str = "identifier.value") -> str:
    """The SHA-256 hex digest naming this email; a 64-hex value is taken as the digest."""
    text = _text(value, field).lower()
    if _SHA256_HEX.fullmatch(text):
        return text
    if len(text) > MAX_EMAIL_LENGTH:
        raise IdentifierError(field, f"email longer than {MAX_EMAIL_LENGTH} characters")
    if not _EMAIL.fullmatch(text):
        raise IdentifierError(
            field, "must be an email address (one '@', no spaces) or its SHA-256 hex digest"
        )
    return hash_email(text)


def normalize_phone_number(value: object, *, field: str = "identifier.value") -> str:
    """The trimmed value if it is strict E.164; raises :class:`IdentifierError` otherwise."""
    text = _text(value, field)
    problem = phone_number_problem(text)
    if problem is not None:
        raise IdentifierError(field, problem)
    return text


def normalize_custom_id(value: object, *, field: str = "identifier.value") -> str:
    """The trimmed custom id: non-empty, at most 256 characters, case kept."""
    text = _text(value, field)
    if len(text) > MAX_CUSTOM_ID_LENGTH:
        raise IdentifierError(field, f"longer than {MAX_CUSTOM_ID_LENGTH} characters")
    return text


def parse_identifier(type_: object, value: object, *, field: str = "identifier") -> Identifier:
    """Validate and normalise ``{"type": …, "value": …}`` as the opt-in/opt-out API sends it.

    Errors name ``<field>.type`` or ``<field>.value`` so the API can answer 400 with the field.
    """
    value_field = f"{field}.value"
    if type_ == "email":
        return Identifier("email", normalize_email(value, field=value_field))
    if type_ == "phoneNumber":
        return Identifier("phoneNumber", normalize_phone_number(value, field=value_field))
    if type_ == "custom":
        return Identifier("custom", normalize_custom_id(value, field=value_field))
    allowed = ", ".join(IDENTIFIER_TYPES)
    raise IdentifierError(f"{field}.type", f"must be one of {allowed}; got {type_!r}")
