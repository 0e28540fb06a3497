"""Form bodies: ``form_pairs`` decodes exactly as ``urllib.parse.parse_qsl`` does."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from textwire.api.params import body_params, form_pairs
from textwire.errors import TextwireError


def reference(text: str) -> object:
    try:
        return parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        return "not UTF-8"


def fast(text: str) -> object:
    try:
        return form_pairs(text)
    except UnicodeDecodeError:
        return "not UTF-8"


# Escapes of every byte (valid or not as UTF-8, upper and lower case), broken escapes,
# and the characters with a meaning in a form body.
TOKENS = st.one_of(
    st.integers(0, 255).map(lambda b: f"%{b:02X}"),
    st.integers(0, 255).map(lambda b: f"%{b:02x}"),
    st.sampled_from(["%", "%2", "%zz", "%%", "&", "=", "+", "&&", "==", " "]),
    st.text(st.characters(min_codepoint=0, max_codepoint=127), max_size=4),
)


@settings(max_examples=3000)
@given(st.lists(TOKENS, max_size=30).map("".join))
def test_form_pairs_is_parse_qsl(text: str) -> None:
    assert fast(text) == reference(text)


@given(st.lists(st.tuples(st.text(max_size=10), st.text(max_size=30)), max_size=6))
def test_whatever_a_client_encodes_comes_back(pairs: list[tuple[str, str]]) -> None:
    assert form_pairs(urlencode(pairs)) == pairs


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"To=%2B14155550100&Body=hi+there", [("To", "+14155550100"), ("Body", "hi there")]),
        (b"A=1&A=2&&B", [("A", "1"), ("A", "2"), ("B", "")]),
        (b"Body=%E2%80%9Cx%E2%80%9D", [("Body", "\u201cx\u201d")]),
        (b"Body=100%", [("Body", "100%")]),
    ],
)
def test_form_bodies(body: bytes, expected: list[tuple[str, str]]) -> None:
    assert form_pairs(body.decode("ascii")) == expected


def test_bad_form_bodies_name_the_rule() -> None:
    with pytest.raises(TextwireError, match="not valid UTF-8"):
        body_params(b"Body=%FF", "application/x-www-form-urlencoded")
    with pytest.raises(TextwireError, match="percent-encoded ASCII"):
        body_params("Body=é".encode(), "application/x-www-form-urlencoded")
