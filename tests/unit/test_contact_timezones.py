"""textwire.contacts.timezones and .language: a contact's zone and language (F-CONTACT-1)."""

from __future__ import annotations

import zoneinfo

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from textwire.contacts.language import LanguageError, normalize_language
from textwire.contacts.timezones import (
    DEFAULT_TIME_ZONE,
    PREFERRED,
    TimeZoneError,
    ZoneChoice,
    check_time_zone,
    pick,
    resolve,
    zone_for_number,
)


@pytest.mark.parametrize(
    ("number", "zone"),
    [
        ("+12125550123", "America/New_York"),  # NANP: by area code
        ("+14155550111", "America/Los_Angeles"),
        ("+16045550123", "America/Vancouver"),
        ("+18085550123", "Pacific/Honolulu"),
        ("+19075550123", "America/Anchorage"),  # two zones: the preferred one
        ("+18005550123", "America/New_York"),  # toll-free: all NANP zones
        ("+33612345678", "Europe/Paris"),  # else by country
        ("+79161234567", "Europe/Moscow"),
        ("+61412345678", "Australia/Sydney"),
        ("+447700900123", "Europe/London"),
    ],
)
def test_zone_from_the_number(number: str, zone: str) -> None:
    assert zone_for_number(number) == zone


@pytest.mark.parametrize("number", ["+882345678901", "not a number", "+"])
def test_numbers_without_a_zone_give_none(number: str) -> None:
    assert zone_for_number(number) is None


def test_preferred_zones_exist() -> None:
    known = zoneinfo.available_timezones()
    assert all(z in known for zones in PREFERRED.values() for z in zones)


@given(st.lists(st.sampled_from(sorted(zoneinfo.available_timezones())), min_size=1))
def test_pick_is_deterministic_and_one_of_the_candidates(zones: list[str]) -> None:
    chosen = pick("US", zones)
    assert chosen in zones
    assert pick("US", list(reversed(zones))) == chosen


@given(st.integers(min_value=200, max_value=999), st.integers(min_value=0, max_value=9_999_999))
def test_every_nanp_number_gets_a_real_zone_or_none(area: int, rest: int) -> None:
    zone = zone_for_number(f"+1{area}{rest:07d}")
    assert zone is None or zone in zoneinfo.available_timezones()


def test_resolve_prefers_explicit_then_number_then_account() -> None:
    """F-CONTACT-1: explicit, else from the number, else the account's; the source says which."""
    phones = ["+33612345678"]
    assert resolve("Asia/Tokyo", phones, "Europe/Berlin") == ZoneChoice("Asia/Tokyo", "explicit")
    assert resolve(None, phones, "Europe/Berlin") == ZoneChoice("Europe/Paris", "number")
    assert resolve(None, ["+882345678901"], "Europe/Berlin") == ZoneChoice(
        "Europe/Berlin", "account"
    )
    assert resolve(None, [], None) == ZoneChoice(DEFAULT_TIME_ZONE, "account")


def test_resolve_takes_the_first_number_in_sorted_order() -> None:
    choice = resolve(None, ["+33612345678", "+12125550123"], None)
    assert choice == ZoneChoice("America/New_York", "number")


def test_time_zone_names_are_checked() -> None:
    assert check_time_zone(" Europe/Paris ") == "Europe/Paris"
    for bad in ("Mars/Olympus", "", "europe/paris", 5):
        with pytest.raises(TimeZoneError) as err:
            check_time_zone(bad)
        assert err.value.field == "TimeZone"


@pytest.mark.parametrize(
    ("tag", "normal"),
    [("en", "en"), ("PT-br", "pt-BR"), ("zh_hant_tw", "zh-Hant-TW"), (" fr ", "fr")],
)
def test_language_tags_are_normalised(tag: str, normal: str) -> None:
    assert normalize_language(tag) == normal


@pytest.mark.parametrize("tag", ["", "e", "english!", "en--US", 3, "x" * 40])
def test_bad_language_tags_are_refused(tag: object) -> None:
    with pytest.raises(LanguageError):
        normalize_language(tag)


@given(st.from_regex(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,3}", fullmatch=True))
def test_normalising_a_tag_twice_changes_nothing(tag: str) -> None:
    once = normalize_language(tag)
    assert normalize_language(once) == once
    assert once.lower() == tag.lower()


def test_phonenumbers_still_lists_zones() -> None:
    """The inference leans on phonenumbers' tables; fail loudly if they go missing."""
    assert phonenumbers.timezone.time_zones_for_number(phonenumbers.parse("+12125550123"))
