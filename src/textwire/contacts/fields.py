"""Typed custom contact fields (F-CONTACT-1): declaration keys and value coercion.

An account declares each field once (key and type); the values live in the contact's
``attributes`` JSON column as JSON scalars, so a segment filter can compare them in SQL
without knowing Python types:

- ``text``: a string of at most :data:`MAX_TEXT_LENGTH` characters;
- ``number``: a JSON number (an ``int`` when written without fraction or exponent, else a
  finite ``float``);
- ``date``: the ISO calendar date ``YYYY-MM-DD`` as a string (sorts as text in date order);
- ``boolean``: ``true`` / ``false``.

Values arrive as JSON (any scalar) or as text (form parameters, CSV cells);
:func:`coerce` accepts both and always returns the stored form, so coercing a stored value
again gives it back unchanged. ``None`` (JSON null, or an empty string) means "no value".
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import date
from typing import Final, Literal, get_args

FieldType = Literal["text", "number", "date", "boolean"]
FIELD_TYPES: Final[tuple[FieldType, ...]] = get_args(FieldType)
FieldValue = str | int | float | bool

KEY_RULE: Final = "must match [a-z][a-z0-9_]{0,63}"
MAX_KEY_LENGTH: Final = 64
MAX_TEXT_LENGTH: Final = 1_024
MAX_FIELDS: Final = 200
# Names the CSV import and export use for a contact's own columns: a field may not shadow one.
RESERVED_KEYS: Final = frozenset(
    {
        "sid",
        "phone",
        "email",
        "custom_id",
        "friendly_name",
        "time_zone",
        "time_zone_source",
        "language",
    }
)

_KEY: Final = re.compile(r"[a-z][a-z0-9_]{0,63}")
_INTEGER: Final = re.compile(r"[-+]?[0-9]{1,18}")
_DECIMAL: Final = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_DATE: Final = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_TRUE: Final = frozenset({"true", "1", "yes"})
_FALSE: Final = frozenset({"false", "0", "no"})


class FieldError(ValueError):
    """A field key or value broke a rule; ``field`` names the input, ``rule`` says how."""

    def __init__(self, field: str, rule: str) -> None:
        self.field = field
        self.rule = rule
        super().__init__(f"{field}: {rule}")


def check_key(key: object, *, field: str = "Key") -> str:
    """``key`` if it is a valid, unreserved field key; :class:`FieldError` otherwise."""
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise FieldError(field, KEY_RULE)
    if key in RESERVED_KEYS:
        raise FieldError(field, f"{key!r} is reserved (one of {', '.join(sorted(RESERVED_KEYS))})")
    return key


def check_type(type_: object, *, field: str = "Type") -> FieldType:
    for known in FIELD_TYPES:
        if type_ == known:
            return known
    raise FieldError(field, f"must be one of {', '.join(FIELD_TYPES)}")


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an object or array" if isinstance(value, dict | list) else type(value).__name__


def _text(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise FieldError(field, f"a text field takes a string, not {_kind(value)}")
    if len(value) > MAX_TEXT_LENGTH:
        raise FieldError(field, f"at most {MAX_TEXT_LENGTH} characters")
    if "\x00" in value:
        raise FieldError(field, "must not contain NUL characters")
    return value


def _number(value: object, field: str) -> int | float:
    if isinstance(value, bool):
        raise FieldError(field, "a number field takes a number, not a boolean")
    if isinstance(value, int):
        if abs(value) >= 10**18:
            raise FieldError(field, "a number must be below 10^18 in magnitude")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise FieldError(field, "a number must be finite")
        return value
    if not isinstance(value, str):
        raise FieldError(field, f"a number field takes a number, not {_kind(value)}")
    text = value.strip()
    if _INTEGER.fullmatch(text):
        return int(text)
    if _DECIMAL.fullmatch(text):
        number = float(text)
        if math.isfinite(number):
            return number
        raise FieldError(field, "a number must be finite")
    raise FieldError(field, f"{_excerpt(value)!r} is not a number (e.g. 42 or -3.5)")


def _date(value: object, field: str) -> str:
    if isinstance(value, date):
        return value.isoformat()
    if not isinstance(value, str):
        raise FieldError(field, f"a date field takes 'YYYY-MM-DD', not {_kind(value)}")
    text = value.strip()
    match = _DATE.fullmatch(text)
    if match is None:
        raise FieldError(field, f"{_excerpt(value)!r} is not a date as YYYY-MM-DD")
    try:
        return date(int(match[1]), int(match[2]), int(match[3])).isoformat()
    except ValueError as exc:
        raise FieldError(field, f"{text!r} is not a calendar date ({exc})") from None


def _boolean(value: object, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
    raise FieldError(field, f"{_excerpt(str(value))!r} is not a boolean (true or false)")


def _excerpt(text: str) -> str:
    return text if len(text) <= 40 else text[:40] + "…"


def coerce(type_: FieldType, value: object, *, field: str = "value") -> FieldValue | None:
    """The stored JSON scalar for ``value`` under ``type_``; None for no value (null, '')."""
    if value is None or (isinstance(value, str) and value == ""):
        return None
    if type_ == "text":
        return _text(value, field)
    if type_ == "number":
        return _number(value, field)
    if type_ == "date":
        return _date(value, field)
    return _boolean(value, field)


def apply_changes(
    declared: Mapping[str, FieldType],
    current: Mapping[str, object] | None,
    changes: Mapping[str, object],
    *,
    prefix: str = "Fields",
) -> dict[str, object]:
    """``current`` attributes with ``changes`` validated and applied (a None value removes
    the field). Every change is checked before anything is applied: the first unknown key or
    bad value raises :class:`FieldError` naming ``<prefix>.<key>``."""
    coerced: dict[str, FieldValue | None] = {}
    for key, value in changes.items():
        name = f"{prefix}.{key}"
        type_ = declared.get(key)
        if type_ is None:
            known = ", ".join(sorted(declared)) or "none are declared"
            raise FieldError(
                name, f"unknown field (declare it with POST /v1/ContactFields; known: {known})"
            )
        coerced[key] = coerce(type_, value, field=name)
    merged = dict(current or {})
    for key, stored in coerced.items():
        if stored is None:
            merged.pop(key, None)
        else:
            merged[key] = stored
    return merged


def as_text(value: object) -> str:
    """A stored value as a CSV cell or template text (booleans as true/false)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
