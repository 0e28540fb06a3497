"""Phone numbers and originators (senders): strict E.164 parsing and sender kinds.

Pure: takes and returns plain data, no I/O. Implements SPEC F-ORIG-1 (sender kinds and
their validation rules) and the F-ORIG-2 default MPS per kind.

Decisions worth knowing:

* ``parse_phone`` is strict E.164 (F-ORIG-1): ``+`` then 8–15 ASCII digits, nothing
  stripped but surrounding whitespace, and the number must be possible *and* valid per
  ``phonenumbers``. A handful of real 7-digit numbers (Niue, Tokelau) are therefore
  rejected, a deliberate trade for one simple, documented rule. Non-geographic ranges
  (``+800``, ``+882`` …) are rejected too: a recipient or sender must have a country.
* Alphanumeric sender IDs accept the union of SPEC F-ORIG-1 and Twilio's ``AlphaSender``
  rule (twilio-facts §3): 2–11 characters from ``0-9 a-z A-Z``, space, ``- _ .`` (SPEC)
  and ``+ &`` (Twilio), with at least one ASCII letter. The union keeps existing Twilio
  client code working; "at least one letter" (SPEC) is stricter than Twilio's "not digits
  only" and is kept because a letter-less ID such as ``"+-"`` is rejected by carriers and
  could be mistaken for a number.
* ``toll_free`` as an originator kind means NANP toll-free (800/833/844/855/866/877/888),
  the only toll-free SMS senders there are; ``PhoneNumber.is_toll_free`` reports the
  ``phonenumbers`` number type for any country.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

import phonenumbers

# region and type in one pass (see _region_and_type); private, so any change in
# phonenumbers shows in tests/unit/test_phone_fast.py, which compares with number_type().
from phonenumbers.phonenumberutil import _number_type_helper

SenderKind = Literal["long_code", "short_code", "toll_free", "alphanumeric"]

DEFAULT_MPS: Final[dict[SenderKind, int]] = {
    "long_code": 1,
    "toll_free": 3,
    "short_code": 100,
    "alphanumeric": 10,
}
"""Default messages-per-second limit of each sender kind (SPEC F-ORIG-2)."""

NANP_COUNTRY_CODE: Final = 1
NANP_TOLL_FREE_CODES: Final[frozenset[str]] = frozenset(
    {"800", "833", "844", "855", "866", "877", "888"}
)
DEFAULT_SHORT_CODE_COUNTRY: Final = "US"

# ASCII-only classes: str.isdigit() and \d would accept Arabic-Indic or fullwidth digits,
# which phonenumbers silently normalises and a carrier would not.
_E164_SHAPE: Final = re.compile(r"\+[0-9]{8,15}")
_PLUS_DIGITS: Final = re.compile(r"\+[0-9]*")
_DIGITS: Final = re.compile(r"[0-9]+")
_SHORT_CODE: Final = re.compile(r"[0-9]{3,8}")
_ALPHA_SENDER: Final = re.compile(r"[0-9A-Za-z\-_. +&]{2,11}")
_ASCII_LETTER: Final = re.compile(r"[A-Za-z]")
_ISO_ALPHA2: Final = re.compile(r"[A-Z]{2}")


class InvalidPhoneNumber(ValueError):
    """A value is not a valid E.164 phone number; ``rule`` names the rule it broke."""

    def __init__(self, rule: str, value: str = "") -> None:
        self.rule = rule
        self.value = value
        super().__init__(f"invalid phone number {value!r}: {rule}")


class InvalidOriginator(ValueError):
    """A value is not a valid sender (F-ORIG-1); ``rule`` names the rule it broke."""

    def __init__(self, rule: str, value: str = "") -> None:
        self.rule = rule
        self.value = value
        super().__init__(f"invalid sender {value!r}: {rule}")


@dataclass(frozen=True)
class PhoneNumber:
    """A valid E.164 number and what the rest of textwire needs to know about it."""

    e164: str
    country: str
    """ISO 3166 alpha-2 region, e.g. ``"US"``, ``"CA"``, ``"GB"``."""
    country_code: int
    national_number: str
    """National significant number, leading zeros kept (Italy: ``"0612345678"``)."""
    area_code: str | None
    """NANP three-digit area code (``"212"``); ``None`` outside country code 1."""
    is_toll_free: bool


@dataclass(frozen=True)
class Originator:
    """A validated sender value and its kind (F-ORIG-1)."""

    kind: SenderKind
    value: str
    country: str | None
    """ISO alpha-2; from the number for long codes and toll-free, from the caller for
    short codes (default ``"US"``) and alphanumeric IDs (``None`` when not given)."""
    area_code: str | None


def parse_phone(value: str) -> PhoneNumber:
    """Parse a strict E.164 number (F-ORIG-1) or raise ``InvalidPhoneNumber``.

    Only surrounding whitespace is stripped; ``"+1 212 555 0100"`` or ``"2125550100"``
    are rejected, not repaired, so that what is stored is exactly what was sent.
    """
    if not isinstance(value, str):
        raise InvalidPhoneNumber("must be a string", repr(value))
    text = value.strip()
    _check_e164_shape(text)
    parsed = parse_e164_digits(text)
    if parsed is None:
        try:
            parsed = phonenumbers.parse(text, None)
        except phonenumbers.NumberParseException as exc:
            raise InvalidPhoneNumber(f"not a phone number ({exc._msg})", text) from None
    if not phonenumbers.is_possible_number(parsed):
        raise InvalidPhoneNumber("not a possible number for its country code", text)
    region, number_type = _region_and_type(parsed)
    if number_type == phonenumbers.PhoneNumberType.UNKNOWN:
        raise InvalidPhoneNumber("not a valid number in its numbering plan", text)
    if region is None or not _ISO_ALPHA2.fullmatch(region):
        raise InvalidPhoneNumber("must belong to a country (non-geographic range)", text)
    return _phone_number(parsed, region, number_type)


def parse_e164_digits(text: str) -> phonenumbers.PhoneNumber | None:
    """``phonenumbers.parse(text, None)`` for ``+`` and 8–15 digits, in a fraction of its time;
    None when ``text`` is not that, or when parse() could transform it (then call parse()).

    parse() is general (punctuation, extensions, national and IDD prefixes, ``tel:`` URIs)
    and that generality is most of its cost. For ``+`` and digits all it does is: take the
    shortest known country calling code, strip a national prefix if the region's pattern for
    one matches, and record leading zeros. Every step that could differ is left to parse();
    ``tests/unit/test_phone_fast.py`` checks the two agree on generated and real numbers.
    """
    if not _E164_SHAPE.fullmatch(text) or text[1] == "0":  # no calling code starts with 0
        return None
    for size in (1, 2, 3):
        country_code = int(text[1 : 1 + size])
        if country_code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            break
    else:
        return None  # parse() raises INVALID_COUNTRY_CODE
    # 8-15 digits less a 1-3 digit calling code: always within parse()'s 2-17 digit NSN bounds.
    national = text[1 + size :]
    metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(
        country_code, phonenumbers.region_code_for_country_code(country_code)
    )
    if metadata is None:
        return None
    prefix = metadata.national_prefix_for_parsing
    if prefix and re.match(prefix, national):
        return None  # parse() may strip a national prefix (or carrier code) here
    parsed = phonenumbers.PhoneNumber(country_code=country_code, national_number=int(national))
    if len(national) > 1 and national[0] == "0":  # Italian-style leading zeros, as parse()
        parsed.italian_leading_zero = True
        zeros = len(national) - len(national.lstrip("0"))
        zeros = min(zeros, len(national) - 1)  # an all-zero number keeps its last 0
        if zeros != 1:
            parsed.number_of_leading_zeros = zeros
    return parsed


def _region_and_type(parsed: phonenumbers.PhoneNumber) -> tuple[str | None, int]:
    """``(region_code_for_number(parsed), number_type(parsed))`` in one pass.

    number_type() starts by calling region_code_for_number(), and for a calling code shared
    by several regions (+1, +7, +44 …) that finds the region by typing the number against
    each region's patterns in turn; the type found there is the answer, so it is kept
    rather than worked out twice more. Same steps and order as phonenumbers' own code.
    """
    unknown = phonenumbers.PhoneNumberType.UNKNOWN
    country_code = parsed.country_code or 0
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(country_code)
    if not regions:
        return None, unknown
    national = phonenumbers.national_significant_number(parsed)
    if len(regions) == 1:
        region: str = regions[0]
        metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(
            country_code, region
        )
        return region, unknown if metadata is None else _number_type_helper(national, metadata)
    for region in regions:
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region.upper(), None)
        if metadata is None:
            continue
        if metadata.leading_digits is not None:
            if re.match(metadata.leading_digits, national):
                return region, _number_type_helper(national, metadata)
        elif (number_type := _number_type_helper(national, metadata)) != unknown:
            return region, number_type
    return None, unknown


def _check_e164_shape(text: str) -> None:
    """Raise the most specific shape rule ``text`` breaks, if any."""
    if _E164_SHAPE.fullmatch(text):
        return
    if not text.startswith("+"):
        raise InvalidPhoneNumber("E.164 numbers start with '+'", text)
    if not _PLUS_DIGITS.fullmatch(text):
        raise InvalidPhoneNumber("only digits may follow the '+' (no spaces or punctuation)", text)
    raise InvalidPhoneNumber("E.164 numbers have 8 to 15 digits after the '+'", text)


def _phone_number(parsed: phonenumbers.PhoneNumber, region: str, number_type: int) -> PhoneNumber:
    national = phonenumbers.national_significant_number(parsed)
    # Same as parsed.country_code, but typed int rather than int | None.
    country_code = phonenumbers.country_code_for_region(region)
    is_nanp = country_code == NANP_COUNTRY_CODE
    toll_free = number_type == phonenumbers.PhoneNumberType.TOLL_FREE
    return PhoneNumber(
        e164=phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164),
        country=region,
        country_code=country_code,
        national_number=national,
        area_code=national[:3] if is_nanp else None,
        is_toll_free=toll_free or (is_nanp and national[:3] in NANP_TOLL_FREE_CODES),
    )


def classify_originator(value: str, *, country: str | None = None) -> Originator:
    """Validate a sender value and tell its kind (F-ORIG-1), or raise ``InvalidOriginator``.

    * ``+`` and digits: a long code, or ``toll_free`` for NANP 800/833/844/855/866/877/888;
      country and area code come from the number (``country`` is ignored).
    * 3–8 digits: a short code in ``country`` (default ``"US"``).
    * 2–11 of ``0-9 a-z A-Z - _ . + &`` and space with at least one letter: an
      alphanumeric sender ID, in ``country`` if given.

    Surrounding whitespace is stripped. Never raises anything but ``InvalidOriginator``.
    """
    if not isinstance(value, str):
        raise InvalidOriginator("must be a string", repr(value))
    text = value.strip()
    if not text:
        raise InvalidOriginator("must not be empty", text)
    if _ASCII_LETTER.search(text):
        return _alphanumeric(text, country)
    if text.startswith("+"):
        return _long_code(text)
    if _DIGITS.fullmatch(text):
        return _short_code(text, country)
    raise InvalidOriginator(
        "not a long code ('+' and digits), short code (3–8 digits) "
        "or alphanumeric ID (2–11 characters with a letter)",
        text,
    )


def _alphanumeric(text: str, country: str | None) -> Originator:
    if not _ALPHA_SENDER.fullmatch(text):
        if not 2 <= len(text) <= 11:
            raise InvalidOriginator("alphanumeric sender IDs have 2 to 11 characters", text)
        raise InvalidOriginator(
            "alphanumeric sender IDs use only 0-9 a-z A-Z, space and - _ . + &", text
        )
    return Originator("alphanumeric", text, _optional_country(country, text), None)


def _long_code(text: str) -> Originator:
    try:
        number = parse_phone(text)
    except InvalidPhoneNumber as exc:
        raise InvalidOriginator(f"long codes are valid E.164 numbers: {exc.rule}", text) from None
    kind: SenderKind = "toll_free" if _is_nanp_toll_free(number) else "long_code"
    return Originator(kind, number.e164, number.country, number.area_code)


def _is_nanp_toll_free(number: PhoneNumber) -> bool:
    return number.country_code == NANP_COUNTRY_CODE and number.area_code in NANP_TOLL_FREE_CODES


def _short_code(text: str, country: str | None) -> Originator:
    if not _SHORT_CODE.fullmatch(text):
        raise InvalidOriginator(
            "short codes have 3 to 8 digits; longer numbers need E.164 form ('+', country code)",
            text,
        )
    region = _optional_country(country, text) or DEFAULT_SHORT_CODE_COUNTRY
    return Originator("short_code", text, region, None)


def _optional_country(country: str | None, text: str) -> str | None:
    """Normalise a caller-given ISO alpha-2 country, or raise ``InvalidOriginator``."""
    if country is None:
        return None
    region = country.strip().upper() if isinstance(country, str) else ""
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidOriginator(f"country must be ISO 3166 alpha-2, got {country!r}", text)
    return region


def country_of(value: str) -> str | None:
    """ISO alpha-2 country of an E.164 number, or ``None`` when ``value`` is not one.

    Short codes and alphanumeric IDs carry no country of their own, so they give ``None``
    too. Never raises.
    """
    try:
        return parse_phone(value).country
    except InvalidPhoneNumber:
        return None
