"""How an integration's secrets are shown by the API, and how a document read back merges.

A client typically GETs an integration, edits one field and POSTs the whole document back,
masks included. So every masked value the API shows must resolve back to the stored value it
stands for, at any depth, and a mask must never be stored as if it were the secret.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from textwire.errors import invalid

MASK: Final = "••••"
# Below this length even four characters are a real part of the secret (a PIN, a short
# password), so nothing is shown; at or above it the last four help tell two keys apart.
SHOW_TAIL_FROM: Final = 16
TAIL: Final = 4

# Header names whose value is a credential, matched case-insensitively on the whole name
# (Authorization, Cookie) or on a word in it (X-Api-Key, X-Auth-Token, X-Client-Secret).
# Masking a header that merely looks like one costs nothing: the masked value posted back
# resolves to the stored one.
_SECRET_HEADERS: Final = frozenset({"authorization", "proxy-authorization", "cookie"})
_SECRET_WORDS: Final = re.compile(
    r"(^|[-_])(auth|authorization|token|secret|key|apikey|password|passwd|signature|session|"
    r"credential|credentials|cookie)([-_]|$)",
    re.IGNORECASE,
)


def mask(secret: str | None) -> str | None:
    """``••••`` for a short secret, ``••••wxyz`` for a long one; never more than 4 characters."""
    if not secret:
        return None
    if len(secret) >= SHOW_TAIL_FROM:
        return MASK + secret[-TAIL:]
    return MASK


def is_mask(value: object) -> bool:
    return isinstance(value, str) and value.startswith(MASK)


def is_secret_header(name: str) -> bool:
    """Whether a header's value is a credential (Authorization, X-Api-Key, *-Token, ...)."""
    lowered = name.lower()
    return lowered in _SECRET_HEADERS or _SECRET_WORDS.search(lowered) is not None


def masked(values: Mapping[str, Any]) -> dict[str, Any]:
    """Secrets as an API may show them: every string value masked, nesting kept."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, Mapping):
            out[key] = masked(value)
        elif isinstance(value, str):
            out[key] = mask(value)
        else:
            out[key] = value
    return out


def masked_headers(
    headers: Mapping[str, str], secret: frozenset[str] = frozenset()
) -> dict[str, str]:
    """Headers with the value of every credential-like one (and of those in ``secret``) masked."""
    return {
        k: (mask(v) or MASK) if k in secret or is_secret_header(k) else v
        for k, v in headers.items()
    }


def masked_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Plain settings as shown: credential-like ``headers`` masked (issue 11 §4 d)."""
    headers = settings.get("headers")
    if not isinstance(headers, Mapping):
        return dict(settings)
    return {**settings, "headers": masked_headers(headers)}


def merge(where: str, stored: Mapping[str, Any], posted: Mapping[str, Any]) -> dict[str, Any]:
    """``stored`` updated with ``posted``: a top-level key posted replaces (None removes) the
    stored one, except that a masked string anywhere in ``posted`` stands for the stored value
    at the same path. A mask with no stored value behind it is refused (400 naming the path):
    it is never stored."""
    out = dict(stored)
    for key, value in posted.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = _resolve(f"{where}.{key}", stored.get(key), value)
    return out


def _resolve(path: str, stored: Any, posted: Any) -> Any:
    if is_mask(posted):
        if isinstance(stored, str):
            return stored
        raise invalid(path, "is a masked value with no stored secret behind it; send the value")
    if isinstance(posted, Mapping):
        below = stored if isinstance(stored, Mapping) else {}
        return {k: _resolve(f"{path}.{k}", below.get(k), v) for k, v in posted.items()}
    return posted
