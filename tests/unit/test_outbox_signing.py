"""Callback signatures verify with Twilio's own RequestValidator (F-API-4)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from textwire.outbox.signing import textwire_signature, twilio_signature

names = st.text(st.characters(min_codepoint=65, max_codepoint=122), min_size=1, max_size=12)
values = st.text(max_size=40)


@given(
    token=st.text(st.characters(min_codepoint=48, max_codepoint=102), min_size=32, max_size=32),
    params=st.dictionaries(names, values, max_size=8),
    path=st.sampled_from(["/status", "/hook?x=1", "/a/b"]),
)
def test_twilio_request_validator_accepts_our_signature(
    token: str, params: dict[str, str], path: str
) -> None:
    url = "https://example.com" + path
    sig = twilio_signature(token, url, params)
    assert RequestValidator(token).validate(url, params, sig)
    assert not RequestValidator(token[::-1] + "x").validate(url, params, sig)


def test_textwire_signature_depends_on_body_and_time() -> None:
    a = textwire_signature("k", 1, b"{}")
    assert a.startswith("t=1,v1=") and len(a.split("v1=")[1]) == 64
    assert a != textwire_signature("k", 2, b"{}")
    assert a != textwire_signature("k", 1, b"{ }")
