"""The one reader of untrusted JSON (issue 11 §3): it reads what ``json.loads`` reads within
the documented limits, and refuses everything else with ``JSONInputError``, never with
another exception (a RecursionError, a ValueError, an OverflowError were 500s)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from textwire import jsonsafe
from textwire.jsonsafe import MAX_DEPTH, MAX_INT, MIN_INT, JSONInputError, loads

STORABLE = st.text(st.characters(exclude_characters="\x00", exclude_categories=["Cs"]))
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(MIN_INT, MAX_INT)
    | st.floats(allow_nan=False, allow_infinity=False)
    | STORABLE
)
DOCUMENTS = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(STORABLE, inner, max_size=4),
    max_leaves=40,
)


def nesting(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((nesting(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((nesting(v) for v in value.values()), default=0)
    return 0


@settings(max_examples=1000)
@given(DOCUMENTS)
def test_reads_what_json_reads_within_the_limits(document: Any) -> None:
    text = json.dumps(document)
    assert nesting(document) <= MAX_DEPTH
    assert loads(text) == json.loads(text)
    assert loads(text.encode()) == json.loads(text)


# Text that is mostly JSON's own punctuation, so the fuzz reaches deep nesting, broken
# strings and escapes, and numbers of every shape.
FRAGMENTS = st.sampled_from(
    [
        *("[", "]", "{", "}", '"', ":", ",", "\\", "\\u0000", "\\ud800", "\\udc00"),
        *("1", "-", "e", ".", "9" * 30, "1e400", "NaN", "Infinity", "true", "null", " ", "a"),
    ]
)


@settings(max_examples=3000)
@given(st.lists(FRAGMENTS, max_size=80).map("".join) | st.text(max_size=50))
def test_any_text_is_a_document_or_a_refusal(text: str) -> None:
    try:
        value = loads(text)
    except JSONInputError as exc:
        assert exc.rule
    else:
        assert nesting(value) <= MAX_DEPTH
        assert json.loads(text) == value


@pytest.mark.parametrize("depth", [1, MAX_DEPTH, MAX_DEPTH + 1, 1000, 100_000])
def test_nesting_is_limited_without_recursion(depth: int) -> None:
    for opener, closer in (("[", "]"), ('{"a":', "}")):
        text = opener * depth + "1" + closer * depth
        if depth <= MAX_DEPTH:
            assert nesting(loads(text)) == depth
        else:
            with pytest.raises(JSONInputError, match="nested too deeply"):
                loads(text)
    # Brackets inside strings are text, not nesting.
    assert loads(json.dumps(["[" * 1000])) == ["[" * 1000]


@given(st.integers())
def test_integers_must_fit_64_bits(value: int) -> None:
    if MIN_INT <= value <= MAX_INT:
        assert loads(str(value)) == value
    else:
        with pytest.raises(JSONInputError, match="out of range"):
            loads(str(value))


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("9" * 5000, "out of range"),
        ("1e400", "out of range"),
        ("-1e400", "out of range"),
        ("NaN", "NaN is not a JSON number"),
        ("[Infinity]", "Infinity is not a JSON number"),
        ('"\\u0000"', "NUL"),
        ('{"a\\u0000": 1}', "a key must not contain a NUL"),
        ('["\\udc00"]', "lone UTF-16 surrogate"),
        (b"\xff", "not UTF-8"),
        ("{", "not valid JSON"),
    ],
)
def test_refusals_name_the_rule(text: str | bytes, rule: str) -> None:
    with pytest.raises(JSONInputError, match=rule):
        loads(text)


def test_refusals_name_the_path() -> None:
    with pytest.raises(JSONInputError) as err:
        loads('{"headers": {"X-Key": ["ok", "\\u0000"]}}')
    assert err.value.field("Settings") == "Settings.headers.X-Key[1]"
    assert err.value.path == ("headers", "X-Key", 1)
    assert jsonsafe.unstorable("fine ✓ 😀") is None
