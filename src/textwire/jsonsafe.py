"""The one reader of untrusted JSON, and the rule for text a database can store.

Every JSON document a client or a provider sends goes through ``loads``: API bodies, the
``Settings``/``Secrets`` form fields, keywords, the ``/v2`` consent routes, inbound messages
and receipts. Python's ``json.loads`` fails on hostile input with errors nobody catches
(``RecursionError`` at ~1,000 levels, ``ValueError`` for integers over 4,300 digits) and
accepts what no column can hold (``NaN``, ``1e400`` as infinity, ``\\u0000``, lone
surrogates). ``loads`` turns every one of those into a ``JSONInputError`` naming where in
the document it is and the rule it broke.
"""

from __future__ import annotations

import json
import math
import re
from itertools import accumulate
from typing import Any, Final

# Deepest nesting of arrays and objects; textwire's own documents (settings, keywords,
# consent bodies) need 4. Checked on the text before parsing, so a deep document is never
# handed to the recursive parser at all.
MAX_DEPTH: Final = 32
# Integers must fit a signed 64-bit column (and are refused long before Python's
# 4,300-digit conversion limit).
MAX_INT: Final = 2**63 - 1
MIN_INT: Final = -(2**63)

# A JSON string literal (unrolled, so it matches in linear time) and the brackets outside them.
_STRING: Final = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET: Final = re.compile(r"[^\[\]{}]+")
_STEP: Final = {"[": 1, "{": 1, "]": -1, "}": -1}
# What PostgreSQL text cannot hold: NUL, and UTF-16 surrogates (not encodable as UTF-8; JSON's
# "\ud800" escape can produce a lone one). SQLite would store NUL, so the rule is ours.
_UNSTORABLE: Final = re.compile("[\x00\ud800-\udfff]")

NUL_RULE: Final = "must not contain a NUL character (\\u0000, %00)"

Path = tuple[str | int, ...]


class JSONInputError(ValueError):
    """A JSON document (or a value in it) that textwire refuses, with where and why."""

    def __init__(self, rule: str, path: Path = ()):
        super().__init__(rule)
        self.rule = rule
        self.path = path

    def field(self, prefix: str) -> str:
        """``prefix`` and the path inside the document: ``Settings.headers.X-Key``."""
        parts = [prefix] if prefix else []
        parts += [f"[{p}]" if isinstance(p, int) else p for p in self.path]
        return ".".join(parts).replace(".[", "[") or "body"


def unstorable(text: str) -> str | None:
    """The rule ``text`` breaks if a database text column cannot store it, else None."""
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return NUL_RULE
    return "must not contain a lone UTF-16 surrogate"


def too_deep(text: str) -> bool:
    """True when ``[``/``{`` nest deeper than ``MAX_DEPTH`` in ``text`` outside string
    literals; found without recursion, so it is safe on any input, JSON or not."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return False  # the common case: too few brackets to be too deep
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(_STEP[c] for c in brackets), default=0) > MAX_DEPTH


def _int(text: str) -> int:
    # Length first: int() of a long enough string is itself the slow path being refused.
    value = int(text) if len(text.lstrip("-")) <= 19 else None
    if value is None or not MIN_INT <= value <= MAX_INT:
        raise JSONInputError(
            f"the number {_excerpt(text)} is out of range (an integer must fit in 64 bits)"
        )
    return value


def _excerpt(text: str) -> str:
    return text if len(text) <= 24 else text[:23] + "…"


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JSONInputError(f"the number {_excerpt(text)} is out of range (it must be finite)")
    return value


def _constant(name: str) -> float:
    raise JSONInputError(f"{name} is not a JSON number")


def loads(raw: str | bytes) -> Any:
    """Parse one untrusted JSON document; ``JSONInputError`` with the rule when refused."""
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise JSONInputError("not valid JSON: the body is not UTF-8") from None
    else:
        text = raw
    if too_deep(text):
        raise JSONInputError(
            f"nested too deeply (at most {MAX_DEPTH} levels of arrays and objects)"
        )
    try:
        value = json.loads(text, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        raise JSONInputError(f"not valid JSON ({exc})") from None
    _check_strings(value)
    return value


def _check_strings(document: Any) -> None:
    """Refuse any key or string value a text column cannot store, naming its path."""
    stack: list[tuple[Path, Any]] = [((), document)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            rule = unstorable(value)
            if rule:
                raise JSONInputError(rule, path)
        elif isinstance(value, dict):
            for key, item in value.items():
                rule = unstorable(key)
                if rule:
                    raise JSONInputError(f"a key {rule}", path)
                stack.append(((*path, key), item))
        elif isinstance(value, list):
            stack.extend(((*path, i), item) for i, item in enumerate(value))
