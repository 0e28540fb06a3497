"""Form encoding for webhook bodies (pure).

``urllib.parse.urlencode`` quotes every name and value byte by byte in Python; a status
callback has ten fields and a batch of dispatch writes three callbacks per message, so that
was most of the callback's cost. Almost every value (SIDs, statuses, E.164 numbers but for
their ``+``) is already made of the characters ``quote_plus`` leaves alone, and those are
passed through untouched; anything else goes through ``quote_plus`` itself, so the result is
exactly ``urlencode``'s.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final
from urllib.parse import quote_plus

# The characters quote_plus never changes (urllib.parse._ALWAYS_SAFE).
_UNCHANGED: Final = re.compile(r"[A-Za-z0-9_.\-~]*")


def _quote(text: str) -> str:
    return text if _UNCHANGED.fullmatch(text) else quote_plus(text)


def form_encode(params: Mapping[str, str]) -> str:
    """``urlencode(params)`` for string names and values, in insertion order."""
    return "&".join(f"{_quote(name)}={_quote(value)}" for name, value in params.items())
