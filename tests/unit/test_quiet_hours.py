"""Quiet hours (SPEC F-CAMP-2, issue 13 §4): a message that would land in quiet hours, in the
recipient's local time, waits for the next allowed window to open."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from textwire.campaigns.quiet_hours import (
    RULES,
    QuietHoursRule,
    Window,
    daily,
    earliest_allowed,
    is_allowed,
    rule_named,
)

# Zones whose clocks do odd things: 30-minute DST (Lord Howe), a skipped day (Apia, 2011),
# changes at midnight (Santiago, Havana), negative DST (Dublin), Ramadan DST (Casablanca),
# quarter-hour offsets (Kathmandu, Chatham) and none at all (UTC).
TRICKY = [
    "America/New_York",
    "Europe/Paris",
    "Australia/Lord_Howe",
    "Pacific/Apia",
    "America/Santiago",
    "America/Havana",
    "Europe/Dublin",
    "Africa/Casablanca",
    "Asia/Kathmandu",
    "Pacific/Chatham",
    "America/St_Johns",
    "UTC",
]
zones = st.one_of(st.sampled_from(TRICKY), st.sampled_from(sorted(available_timezones()))).map(
    ZoneInfo
)
# Offset changes in 2024 (and Samoa's skipped day), in UTC: the instants just before them
# are where a search that ignored offset changes would go wrong.
CHANGES = [
    datetime(2024, 3, 10, 7, 0),  # New York, spring forward
    datetime(2024, 11, 3, 6, 0),  # New York, fall back
    datetime(2024, 3, 31, 1, 0),  # Paris and Dublin
    datetime(2024, 10, 27, 1, 0),
    datetime(2024, 10, 5, 15, 0),  # Lord Howe, 30 minutes
    datetime(2024, 9, 8, 4, 0),  # Santiago, at midnight
    datetime(2011, 12, 30, 10, 0),  # Apia skips a day
]
instants = st.one_of(
    st.datetimes(
        min_value=datetime(1990, 1, 1), max_value=datetime(2037, 12, 31), timezones=st.just(UTC)
    ),
    st.sampled_from(CHANGES).flatmap(
        lambda c: st.datetimes(
            min_value=c - timedelta(days=3),
            max_value=c + timedelta(hours=2),
            timezones=st.just(UTC),
        )
    ),
)


@st.composite
def windows(draw: st.DrawFn) -> Window:
    start = draw(st.integers(min_value=0, max_value=1439))
    end = draw(st.integers(min_value=start + 1, max_value=1440))
    return Window(draw(st.integers(min_value=0, max_value=6)), start, end)


rules = st.one_of(
    st.sampled_from(list(RULES.values())),
    st.lists(windows(), min_size=1, max_size=6).map(lambda ws: QuietHoursRule("drawn", tuple(ws))),
)

NEW_YORK = ZoneInfo("America/New_York")
PARIS = ZoneInfo("Europe/Paris")


def at(
    zone: ZoneInfo, year: int, month: int, day: int, hour: int, minute: int, fold: int = 0
) -> datetime:
    """A local wall-clock time in ``zone``, as the UTC instant it names."""
    local = datetime(year, month, day, hour, minute, tzinfo=zone, fold=fold)
    return local.astimezone(UTC)


# Properties -------------------------------------------------------------------------------


@settings(deadline=None)  # a shared CI machine has no fixed speed
@given(instants, zones, rules)
def test_the_answer_is_allowed_and_never_earlier(
    t: datetime, zone: ZoneInfo, rule: QuietHoursRule
) -> None:
    result = earliest_allowed(t, zone, rule)
    assert result >= t
    assert is_allowed(result, zone, rule)


@settings(deadline=None)  # a shared CI machine has no fixed speed
@given(instants, zones, rules)
def test_idempotent(t: datetime, zone: ZoneInfo, rule: QuietHoursRule) -> None:
    once = earliest_allowed(t, zone, rule)
    assert earliest_allowed(once, zone, rule) == once


@settings(deadline=None)  # a shared CI machine has no fixed speed
@given(instants, zones, rules)
def test_an_allowed_instant_is_kept(t: datetime, zone: ZoneInfo, rule: QuietHoursRule) -> None:
    assert (earliest_allowed(t, zone, rule) == t) == is_allowed(t, zone, rule)


@settings(max_examples=60, deadline=None)
@given(instants, zones, rules)
def test_nothing_earlier_is_allowed(t: datetime, zone: ZoneInfo, rule: QuietHoursRule) -> None:
    """A brute-force reference: every whole minute between ``t`` and the answer is quiet.

    Windows are whole minutes of wall clock and offsets since 1990 are whole minutes, so an
    allowed stretch starts either at ``t`` or at a whole minute: checking those is complete.
    """
    result = earliest_allowed(t, zone, rule)
    if result == t:
        return
    assert not is_allowed(t, zone, rule)
    minute = t.replace(second=0, microsecond=0) + timedelta(minutes=1)
    while minute < result:
        assert not is_allowed(minute, zone, rule), minute
        minute += timedelta(minutes=1)


@settings(deadline=None)  # a shared CI machine has no fixed speed
@given(instants, zones)
def test_no_quiet_hours_keeps_every_instant(t: datetime, zone: ZoneInfo) -> None:
    assert earliest_allowed(t, zone, RULES["none"]) == t


@settings(deadline=None)  # a shared CI machine has no fixed speed
@given(instants, zones, rules)
def test_the_answer_is_in_utc_and_less_than_a_week_and_a_day_away(
    t: datetime, zone: ZoneInfo, rule: QuietHoursRule
) -> None:
    result = earliest_allowed(t, zone, rule)
    assert result.tzinfo is UTC
    # A week of windows, plus a skipped day (Apia) or an hour of DST at most.
    assert result - t <= timedelta(days=9)


@settings(deadline=None)  # a shared CI machine has no fixed speed
@given(instants, zones, rules)
def test_the_input_zone_does_not_matter(t: datetime, zone: ZoneInfo, rule: QuietHoursRule) -> None:
    """``t`` may be given in any zone: only the instant counts."""
    elsewhere = t.astimezone(ZoneInfo("Asia/Tokyo"))
    assert earliest_allowed(elsewhere, zone, rule) == earliest_allowed(t, zone, rule)


# The named rules --------------------------------------------------------------------------


def test_the_default_is_eight_to_nine_every_day() -> None:
    rule = rule_named("default")
    assert earliest_allowed(at(NEW_YORK, 2024, 6, 1, 7, 59), NEW_YORK, rule) == at(
        NEW_YORK, 2024, 6, 1, 8, 0
    )
    noon = at(NEW_YORK, 2024, 6, 1, 12, 0)
    assert earliest_allowed(noon, NEW_YORK, rule) == noon
    assert is_allowed(at(NEW_YORK, 2024, 6, 1, 20, 59), NEW_YORK, rule)
    # 21:00 is quiet: the window is [08:00, 21:00).
    assert earliest_allowed(at(NEW_YORK, 2024, 6, 1, 21, 0), NEW_YORK, rule) == at(
        NEW_YORK, 2024, 6, 2, 8, 0
    )


def test_us_strict_ends_at_eight() -> None:
    rule = rule_named("us-strict")
    assert not is_allowed(at(NEW_YORK, 2024, 6, 1, 20, 0), NEW_YORK, rule)
    assert earliest_allowed(at(NEW_YORK, 2024, 6, 1, 20, 30), NEW_YORK, rule) == at(
        NEW_YORK, 2024, 6, 2, 8, 0
    )


def test_france_waits_over_sunday_and_allows_until_ten() -> None:
    rule = rule_named("fr")
    saturday_night = at(PARIS, 2024, 6, 8, 21, 59)
    assert earliest_allowed(saturday_night, PARIS, rule) == saturday_night
    monday = at(PARIS, 2024, 6, 10, 8, 0)
    assert earliest_allowed(at(PARIS, 2024, 6, 8, 22, 0), PARIS, rule) == monday
    assert earliest_allowed(at(PARIS, 2024, 6, 9, 12, 0), PARIS, rule) == monday


def test_the_local_time_is_the_recipients() -> None:
    """One instant, 13:00 UTC: 09:00 in New York (allowed), 22:00 in Tokyo (quiet)."""
    t = datetime(2024, 6, 1, 13, 0, tzinfo=UTC)
    rule = rule_named("default")
    assert earliest_allowed(t, NEW_YORK, rule) == t
    tokyo = ZoneInfo("Asia/Tokyo")
    assert earliest_allowed(t, tokyo, rule) == at(tokyo, 2024, 6, 2, 8, 0)


def test_an_unknown_rule_is_named() -> None:
    with pytest.raises(KeyError, match="quiet-hours rule 'mars'"):
        rule_named("mars")


# Daylight saving --------------------------------------------------------------------------


def test_a_window_opening_in_a_gap_opens_when_the_clocks_jump() -> None:
    """New York, 10 March 2024: 02:00 jumps to 03:00. A window from 02:30 opens at the jump."""
    rule = QuietHoursRule("night", (Window(6, 150, 540),))  # Sunday 02:30–09:00
    result = earliest_allowed(at(NEW_YORK, 2024, 3, 10, 1, 0), NEW_YORK, rule)
    assert result == datetime(2024, 3, 10, 7, 0, tzinfo=UTC)
    assert result.astimezone(NEW_YORK).hour == 3


def test_a_window_lying_wholly_in_a_gap_waits_a_week() -> None:
    rule = QuietHoursRule("gap", (Window(6, 130, 150),))  # Sunday 02:10–02:30
    result = earliest_allowed(at(NEW_YORK, 2024, 3, 10, 1, 0), NEW_YORK, rule)
    assert result == at(NEW_YORK, 2024, 3, 17, 2, 10)


def test_the_hour_lived_twice_is_quiet_or_allowed_in_both_passes() -> None:
    """New York, 3 November 2024: 01:00–02:00 happens twice. A window 01:30–01:45 is open in
    both passes; from the end of the first pass the next opening is in the second."""
    rule = QuietHoursRule("fold", (Window(6, 90, 105),))
    first = at(NEW_YORK, 2024, 11, 3, 1, 30, fold=0)
    second = at(NEW_YORK, 2024, 11, 3, 1, 30, fold=1)
    assert second - first == timedelta(hours=1)
    assert is_allowed(first, NEW_YORK, rule) and is_allowed(second, NEW_YORK, rule)
    assert earliest_allowed(at(NEW_YORK, 2024, 11, 3, 1, 50, fold=0), NEW_YORK, rule) == second
    # The default rule over the night of the change: 08:00 standard time, not an hour off.
    night = at(NEW_YORK, 2024, 11, 3, 0, 30)
    assert earliest_allowed(night, NEW_YORK, rule_named("default")) == datetime(
        2024, 11, 3, 13, 0, tzinfo=UTC
    )


def test_a_skipped_day_is_skipped() -> None:
    """Samoa skipped Friday 30 December 2011: a Friday-only rule waits for 6 January."""
    apia = ZoneInfo("Pacific/Apia")
    rule = daily("fridays", 8 * 60, 21 * 60, days=(4,))
    result = earliest_allowed(at(apia, 2011, 12, 29, 22, 0), apia, rule)
    assert result.astimezone(apia).replace(tzinfo=None) == datetime(2012, 1, 6, 8, 0)


def test_half_hour_daylight_saving() -> None:
    """Lord Howe moves its clocks by 30 minutes, at 02:00 (to 02:30) on 6 October 2024."""
    lord_howe = ZoneInfo("Australia/Lord_Howe")
    rule = QuietHoursRule("x", (Window(6, 2 * 60 + 10, 3 * 60),))  # Sunday 02:10–03:00
    result = earliest_allowed(at(lord_howe, 2024, 10, 6, 1, 0), lord_howe, rule)
    assert result.astimezone(lord_howe).replace(tzinfo=None) == datetime(2024, 10, 6, 2, 30)


# Records ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("weekday", "start", "end"), [(7, 0, 60), (-1, 0, 60), (0, 60, 60), (0, 0, 1441), (0, -1, 10)]
)
def test_a_bad_window_is_refused(weekday: int, start: int, end: int) -> None:
    with pytest.raises(ValueError, match=r"window|weekday"):
        Window(weekday, start, end)


def test_a_rule_without_windows_is_refused() -> None:
    with pytest.raises(ValueError, match="allows no time"):
        QuietHoursRule("never", ())


def test_a_naive_instant_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        earliest_allowed(datetime(2024, 1, 1, 12), NEW_YORK, rule_named("default"))


def test_the_named_rules() -> None:
    assert set(RULES) == {"default", "us-strict", "fr", "none"}
    assert {w.weekday for w in RULES["fr"].windows} == {0, 1, 2, 3, 4, 5}
    assert {(w.start, w.end) for w in RULES["fr"].windows} == {(480, 1320)}
    with pytest.raises(TypeError):
        RULES["mine"] = daily("mine", 0, 60)  # type: ignore[index]
