"""Twilio-style SIDs: a two-letter prefix and 32 lowercase hex digits."""

from __future__ import annotations

import re
import secrets
from typing import Final

PREFIXES: Final = {
    "account": "AC",
    "api_key": "SK",
    "message": "SM",
    "media_message": "MM",
    "service": "MG",
    "phone_number": "PN",
    "short_code": "SC",
    "alpha_sender": "AI",
    "sender": "PN",
    "integration": "IN",
    "webhook": "WH",
    "domain": "DN",
    "campaign": "CA",
    "contact": "CT",
}

_SID_RE = re.compile(r"^[A-Z]{2}[0-9a-fA-F]{32}$")


def new_sid(prefix: str) -> str:
    """A fresh SID with the given two-letter prefix."""
    if len(prefix) != 2 or not prefix.isalpha() or not prefix.isupper():
        raise ValueError(f"SID prefix must be two capital letters, got {prefix!r}")
    return prefix + secrets.token_hex(16)


def is_sid(value: str, prefix: str | None = None) -> bool:
    """True when ``value`` is a well-formed SID (with ``prefix`` when given)."""
    if not _SID_RE.match(value):
        return False
    return prefix is None or value[:2] == prefix
