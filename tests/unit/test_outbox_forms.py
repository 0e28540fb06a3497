"""Webhook form bodies are exactly what urllib.parse.urlencode makes (F-API-4 callbacks)."""

from __future__ import annotations

from urllib.parse import urlencode

from hypothesis import given
from hypothesis import strategies as st

from textwire.outbox.forms import form_encode

TYPICAL = {
    "MessageSid": "SM0123456789abcdef0123456789abcdef",
    "From": "+14155550111",
    "To": "+44 7700 900123",
    "MessageStatus": "delivered",
    "Body": "Caf\u00e9 & co: 50% off! \U0001f389",
    "Empty": "",
    "Safe_.-~": "a/b?c=d#e",
}


def test_typical_callback_fields() -> None:
    assert form_encode(TYPICAL) == urlencode(TYPICAL)


@given(st.dictionaries(st.text(), st.text()))
def test_any_text_encodes_as_urlencode_does(params: dict[str, str]) -> None:
    assert form_encode(params) == urlencode(params)


@given(st.dictionaries(st.from_regex(r"[A-Za-z0-9_.~+ -]*", fullmatch=True), st.text()))
def test_mostly_safe_names(params: dict[str, str]) -> None:
    assert form_encode(params) == urlencode(params)
