"""How secrets are masked and how a masked document posted back merges (issue 11 §4 a, b, d)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from textwire.errors import TextwireError
from textwire.providers.masking import (
    MASK,
    SHOW_TAIL_FROM,
    is_secret_header,
    mask,
    masked,
    masked_settings,
    merge,
)


@given(st.text(min_size=1, max_size=200))
def test_a_mask_reveals_at_most_four_trailing_characters(secret: str) -> None:
    """issue 11 §4 b: nothing of a short secret, at most the last 4 of a long one."""
    shown = mask(secret)
    assert shown is not None and shown.startswith(MASK)
    revealed = shown[len(MASK) :]
    assert len(revealed) <= 4
    assert secret.endswith(revealed)
    if len(secret) < SHOW_TAIL_FROM:
        assert revealed == ""


def test_short_secrets_show_nothing() -> None:
    """issue 11 §4 b: a 4-character secret was shown whole."""
    assert mask("1234") == MASK
    assert mask("key-123456") == MASK
    assert mask("0123456789abcdef0123456789abcdef") == MASK + "cdef"


@pytest.mark.parametrize(
    "name",
    [
        "Authorization",
        "proxy-authorization",
        "X-API-KEY",
        "x-auth-token",
        "Cookie",
        "X-Secret",
        "X-Client-Secret",
        "Api-Key",
        "X-Session-Id",
    ],
)
def test_credential_headers_are_recognised(name: str) -> None:
    """issue 11 §4 d: the rule is case-insensitive and matches words, not substrings."""
    assert is_secret_header(name)


@pytest.mark.parametrize("name", ["Content-Type", "X-Plain", "Accept", "X-Monkey", "X-Tokenless"])
def test_plain_headers_are_shown(name: str) -> None:
    assert not is_secret_header(name)


def test_settings_headers_that_carry_credentials_are_masked() -> None:
    """issue 11 §4 d."""
    shown = masked_settings({"url": "u", "headers": {"X-Plain": "v", "authorization": "Bearer x"}})
    assert shown == {"url": "u", "headers": {"X-Plain": "v", "authorization": MASK}}


def test_masked_document_posted_back_keeps_every_nested_secret() -> None:
    """issue 11 §4 a: the mask was stored in place of Secrets.headers.X-Api-Key."""
    stored = {"password": "p" * 20, "headers": {"X-Api-Key": "key-123456", "X-Other": "o" * 30}}
    posted = masked(stored)
    assert merge("Secrets", stored, posted) == stored
    edited = {**posted, "headers": {**posted["headers"], "X-New": "fresh"}}
    assert merge("Secrets", stored, edited)["headers"] == {**stored["headers"], "X-New": "fresh"}


def test_a_mask_with_nothing_behind_it_is_refused() -> None:
    """issue 11 §4 a: a value that is still a mask is never stored."""
    stored = {"headers": {"X-Api-Key": "key-123456"}}
    with pytest.raises(TextwireError) as raised:
        merge("Secrets", stored, {"headers": {"X-Other-Key": MASK}})
    assert "'Secrets.headers.X-Other-Key'" in raised.value.detail
    with pytest.raises(TextwireError):
        merge("Secrets", {}, {"password": MASK + "1234"})
