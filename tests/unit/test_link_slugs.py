"""Tests for textwire.links.slugs: slugs and short links (F-LINK-2, F-LINK-3)."""

from __future__ import annotations

from collections import Counter
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from textwire.links import slugs
from textwire.links.slugs import (
    DEFAULT_SLUG_LENGTH,
    MAX_SLUG_LENGTH,
    MIN_SLUG_LENGTH,
    SLUG_ALPHABET,
    is_valid_slug,
    new_slug,
    short_link,
    slug_from_path,
)

# --- alphabet and generation ---------------------------------------------------------------


def test_alphabet_has_no_look_alikes() -> None:
    """F-LINK-2: no 0/O/o, 1/l/I in slugs; every other digit and ASCII letter is there."""
    assert not set("0Oo1lI") & set(SLUG_ALPHABET)
    assert len(set(SLUG_ALPHABET)) == len(SLUG_ALPHABET) == 56
    assert all(c.isascii() and c.isalnum() for c in SLUG_ALPHABET)


def test_default_slug() -> None:
    """F-LINK-2: a default slug is 7 characters from the alphabet."""
    slug = new_slug()
    assert len(slug) == DEFAULT_SLUG_LENGTH == 7
    assert set(slug) <= set(SLUG_ALPHABET)


@pytest.mark.parametrize("length", [MIN_SLUG_LENGTH, 7, 10, MAX_SLUG_LENGTH])
def test_configurable_length(length: int) -> None:
    """F-LINK-2: the length is configurable within bounds."""
    slug = new_slug(length)
    assert len(slug) == length
    assert is_valid_slug(slug)


@pytest.mark.parametrize("length", [-1, 0, 1, MIN_SLUG_LENGTH - 1, MAX_SLUG_LENGTH + 1, 1000])
def test_length_out_of_bounds(length: int) -> None:
    """A length outside MIN..MAX is refused with the bounds in the message."""
    with pytest.raises(ValueError, match=f"{MIN_SLUG_LENGTH}..{MAX_SLUG_LENGTH}"):
        new_slug(length)


def test_slugs_do_not_repeat() -> None:
    """F-LINK-2: 20,000 default slugs are all different (a collision is ~1e-4 likely)."""
    drawn = [new_slug() for _ in range(20_000)]
    assert len(set(drawn)) == len(drawn)


def test_every_character_is_used_evenly() -> None:
    """Slugs are uniform over the alphabet: each of 56 characters appears about 1/56 of
    the time (expected 500 of 28,000; the bounds are > 8 standard deviations out)."""
    counts = Counter("".join(new_slug() for _ in range(4_000)))
    assert set(counts) == set(SLUG_ALPHABET)
    assert all(320 < n < 700 for n in counts.values())


def test_slugs_come_from_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """F-LINK-2: slugs use the cryptographic generator, not a seeded ``random``."""
    monkeypatch.setattr(slugs.secrets, "choice", lambda alphabet: alphabet[-1])
    assert new_slug() == "z" * 7


# --- validation ----------------------------------------------------------------------------

VALID = ["Ab3dE9x", "22222", "zzzzzzzzzz", "A" * MAX_SLUG_LENGTH]
INVALID = [
    "",
    "Ab3d",  # too short
    "A" * (MAX_SLUG_LENGTH + 1),
    "A" * 100_000,
    "..",
    "../../etc/passwd",
    "Ab3dE9x/",
    "/Ab3dE9x",
    "Ab3dE9x%00",
    "Ab3dE 9x",
    "Ab3dE9x\n",
    "Ab0dE9x",  # look-alike 0
    "AbldE9x",  # look-alike l
    "AbOdE9x",  # look-alike O
    "Ab3dé9x",
    "Ab3dＥ9x",  # fullwidth E
    "Ab3dE9x?q=1",
    "Ab3d-E9x",
    "\ud800\ud800\ud800\ud800\ud800",
]


@pytest.mark.parametrize("value", VALID)
def test_valid_slugs(value: str) -> None:
    """F-LINK-6: the redirect server accepts well-formed slugs."""
    assert is_valid_slug(value)


@pytest.mark.parametrize("value", INVALID)
def test_invalid_slugs(value: str) -> None:
    """Bad input: odd characters, ``..``, very long strings are rejected cheaply."""
    assert not is_valid_slug(value)


PATHS = [
    ("/Ab3dE9x", "Ab3dE9x"),
    ("/Ab3dE9x/", "Ab3dE9x"),
    ("/Ab3dE9x//", None),
    ("Ab3dE9x", None),
    ("//Ab3dE9x", None),
    ("/", None),
    ("", None),
    ("/..", None),
    ("/../Ab3dE9x", None),
    ("/Ab3dE9x/extra", None),
    ("/Ab3dE9x?x=1", None),
    ("/Ab3d%45x", None),
    ("/" + "A" * 10_000, None),
    ("/" + "A" * MAX_SLUG_LENGTH + "/", "A" * MAX_SLUG_LENGTH),
]


@pytest.mark.parametrize(("path", "expected"), PATHS)
def test_slug_from_path(path: str, expected: str | None) -> None:
    """F-LINK-6: the redirect path yields its slug, or None for anything odd."""
    assert slug_from_path(path) == expected


@given(st.text())
def test_validation_never_raises(value: str) -> None:
    """Bad input: any string is answered yes or no, never with an error."""
    assert is_valid_slug(value) in (True, False)
    slug = slug_from_path(value)
    assert slug is None or (is_valid_slug(slug) and value.strip("/") == slug)


@given(st.integers(MIN_SLUG_LENGTH, MAX_SLUG_LENGTH))
def test_every_new_slug_is_valid(length: int) -> None:
    """F-LINK-2: whatever the configured length, generated slugs pass validation."""
    assert is_valid_slug(new_slug(length))


# --- short links -------------------------------------------------------------------------

SHORT_LINKS = [
    # base_url, drop_scheme, expected
    ("https://tw.to", False, "https://tw.to/Ab3dE9x"),
    ("https://tw.to/", False, "https://tw.to/Ab3dE9x"),
    ("https://tw.to", True, "tw.to/Ab3dE9x"),
    ("http://tw.to", False, "http://tw.to/Ab3dE9x"),
    ("http://tw.to", True, "tw.to/Ab3dE9x"),
    ("HTTPS://tw.to", False, "https://tw.to/Ab3dE9x"),
    ("https://promo.tw.to", False, "https://promo.tw.to/Ab3dE9x"),
    ("http://127.0.0.1:8081", False, "http://127.0.0.1:8081/Ab3dE9x"),
    ("http://[::1]:8081", False, "http://[::1]:8081/Ab3dE9x"),
    ("  https://links.acme.com  ", False, "https://links.acme.com/Ab3dE9x"),
]


@pytest.mark.parametrize(("base_url", "drop_scheme", "expected"), SHORT_LINKS)
def test_short_link(base_url: str, drop_scheme: bool, expected: str) -> None:
    """F-LINK-3: http stays http, https stays https, the scheme can be dropped."""
    assert short_link(base_url, "Ab3dE9x", drop_scheme=drop_scheme) == expected


def test_default_short_link_is_at_most_21_characters() -> None:
    """F-LINK-3: with the default domain and slug length the link is 21 characters."""
    link = short_link("https://tw.to", new_slug())
    assert len(link) == 21
    assert len(short_link("https://tw.to", new_slug(), drop_scheme=True)) == 13


BAD_BASES = [
    "tw.to",
    "ftp://tw.to",
    "https://",
    "https:///x",
    "https://tw.to/links",
    "https://tw.to?x=1",
    "https://tw.to#x",
    "https://user@tw.to",
    "https://tw.to:99999",
    "https://tw.to:abc",
    "https://[::1",
    "https://tw .to",
    "",
]


@pytest.mark.parametrize("base_url", BAD_BASES)
def test_short_link_rejects_bad_base(base_url: str) -> None:
    """A misconfigured link domain is a clear ValueError, not a broken link."""
    with pytest.raises(ValueError, match="base URL"):
        short_link(base_url, "Ab3dE9x")


@pytest.mark.parametrize("slug", ["", "..", "Ab0dE9x", "x" * 40])
def test_short_link_rejects_bad_slug(slug: str) -> None:
    """Only valid slugs make links."""
    with pytest.raises(ValueError, match="invalid slug"):
        short_link("https://tw.to", slug)


@given(
    st.sampled_from(["https://tw.to", "http://127.0.0.1:8081", "https://promo.tw.to/"]),
    st.integers(MIN_SLUG_LENGTH, MAX_SLUG_LENGTH),
)
def test_short_link_round_trips_through_redirect_path(base_url: str, length: int) -> None:
    """F-LINK-3/F-LINK-6: the redirect server reads back the slug a short link carries."""
    slug = new_slug(length)
    link = short_link(base_url, slug)
    assert slug_from_path(urlsplit(link).path) == slug
    assert link.startswith(base_url.rstrip("/") + "/")
