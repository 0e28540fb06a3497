"""Campaign schedules (SPEC F-CAMP-2, issue 13 §4): send now, at a time, or at a local time in
each recipient's zone; a schedule missed beyond a window ends ``missed``; a per-campaign
throttle spreads the messages."""

from __future__ import annotations

from bisect import bisect_left
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from textwire.campaigns.caps import FrequencyCap, Send, Skip, allows
from textwire.campaigns.quiet_hours import RULES, QuietHoursRule, earliest_allowed, is_allowed
from textwire.campaigns.schedule import (
    SendAt,
    SendAtLocal,
    SendNow,
    first_instant,
    in_the_past,
    is_missed,
    last_instant,
    local_instant,
    send_instant,
    throttled_instant,
    timing,
    when_to_send,
)

TRICKY = [
    "America/New_York",
    "Europe/Paris",
    "Australia/Lord_Howe",
    "Pacific/Apia",
    "America/Santiago",
    "Europe/Dublin",
    "Africa/Casablanca",
    "Asia/Kathmandu",
    "Pacific/Kiritimati",
    "Etc/GMT+12",
    "UTC",
]
zones = st.one_of(st.sampled_from(TRICKY), st.sampled_from(sorted(available_timezones()))).map(
    ZoneInfo
)
instants = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2037, 12, 31), timezones=st.just(UTC)
)
days = st.dates(min_value=date(1990, 1, 2), max_value=date(2037, 12, 30))
# Whole minutes, and the small hours where the clocks change, often.
wall_times = st.one_of(
    st.times(),
    st.builds(time, st.integers(min_value=0, max_value=3), st.sampled_from([0, 15, 30, 45])),
)
NEW_YORK = ZoneInfo("America/New_York")


def read(u: datetime, zone: ZoneInfo) -> datetime:
    """The wall clock of ``zone`` at instant ``u``, naive."""
    return u.astimezone(zone).replace(tzinfo=None)


# Local wall-clock times ---------------------------------------------------------------------


@settings(deadline=None)  # a shared CI machine has no fixed speed
@given(days, wall_times, zones)
def test_a_local_time_lands_when_the_recipients_clock_shows_it(
    on: date, at: time, zone: ZoneInfo
) -> None:
    """When the wall-clock time exists, the zone's clock shows it at the instant; when it does
    not (a gap), the instant is after the gap, by the gap's length at most."""
    wall = datetime.combine(on, at)
    u = local_instant(on, at, zone)
    assert u.tzinfo is UTC
    shown = read(u, zone)
    if shown != wall:
        assert wall < shown <= wall + timedelta(days=1)
        # Inside a gap: neither reading of the wall time survives a round trip.
        for fold in (0, 1):
            back = datetime.combine(on, at, tzinfo=zone).replace(fold=fold).astimezone(UTC)
            assert read(back, zone) != wall


@settings(deadline=None)  # a shared CI machine has no fixed speed
@given(days, wall_times, zones)
def test_a_time_lived_twice_takes_the_first(on: date, at: time, zone: ZoneInfo) -> None:
    u = local_instant(on, at, zone)
    later = datetime.combine(on, at, tzinfo=zone).replace(fold=1).astimezone(UTC)
    if read(later, zone) == datetime.combine(on, at):
        assert u <= later


@settings(deadline=None)  # a shared CI machine has no fixed speed
@given(days, wall_times, zones, st.integers(min_value=0, max_value=1))
def test_the_input_fold_is_ignored(on: date, at: time, zone: ZoneInfo, fold: int) -> None:
    assert local_instant(on, at.replace(fold=fold), zone) == local_instant(on, at, zone)


def test_the_clocks_going_forward_move_the_time_forward_by_the_gap() -> None:
    """New York, 10 March 2024, 02:00 → 03:00: a 02:30 send goes at 03:30 (RFC 5545)."""
    u = local_instant(date(2024, 3, 10), time(2, 30), NEW_YORK)
    assert u == datetime(2024, 3, 10, 7, 30, tzinfo=UTC)
    assert read(u, NEW_YORK) == datetime(2024, 3, 10, 3, 30)


def test_the_clocks_going_back_take_the_first_pass() -> None:
    """New York, 3 November 2024: 01:30 happens at 05:30 and 06:30 UTC; the first is kept."""
    first = datetime(2024, 11, 3, 5, 30, tzinfo=UTC)
    assert local_instant(date(2024, 11, 3), time(1, 30), NEW_YORK) == first
    # A caller's fold=1 (the second pass) does not change the rule.
    assert local_instant(date(2024, 11, 3), time(1, 30, fold=1), NEW_YORK) == first


def test_a_skipped_day_moves_a_day_forward() -> None:
    apia = ZoneInfo("Pacific/Apia")
    u = local_instant(date(2011, 12, 30), time(10, 0), apia)
    assert read(u, apia) == datetime(2011, 12, 31, 10, 0)


def test_ten_local_runs_across_the_zones() -> None:
    schedule = SendAtLocal(date(2024, 6, 3), time(10, 0))
    started = datetime(2024, 6, 1, tzinfo=UTC)
    tokyo, paris = ZoneInfo("Asia/Tokyo"), ZoneInfo("Europe/Paris")
    assert send_instant(schedule, tokyo, started) == datetime(2024, 6, 3, 1, 0, tzinfo=UTC)
    assert send_instant(schedule, paris, started) == datetime(2024, 6, 3, 8, 0, tzinfo=UTC)
    assert send_instant(schedule, NEW_YORK, started) == datetime(2024, 6, 3, 14, 0, tzinfo=UTC)
    zs = [NEW_YORK, tokyo, paris, tokyo]
    assert first_instant(schedule, zs, started) == datetime(2024, 6, 3, 1, 0, tzinfo=UTC)
    assert last_instant(schedule, zs, started) == datetime(2024, 6, 3, 14, 0, tzinfo=UTC)


# The three kinds of schedule ----------------------------------------------------------------


@settings(deadline=None)  # a shared CI machine has no fixed speed
@given(instants, zones)
def test_now_is_when_the_campaign_starts(started: datetime, zone: ZoneInfo) -> None:
    assert send_instant(SendNow(), zone, started) == started


@settings(deadline=None)  # a shared CI machine has no fixed speed
@given(instants, zones, instants)
def test_at_is_one_instant_for_everyone(at: datetime, zone: ZoneInfo, started: datetime) -> None:
    schedule = SendAt(at.astimezone(ZoneInfo("Asia/Kolkata")))
    assert schedule.at.tzinfo is UTC
    assert send_instant(schedule, zone, started) == at


@settings(deadline=None)  # a shared CI machine has no fixed speed
@given(days, wall_times, st.lists(zones, min_size=1, max_size=6), instants)
def test_first_and_last_bound_every_recipient(
    on: date, at: time, zs: list[ZoneInfo], started: datetime
) -> None:
    schedule = SendAtLocal(on, at)
    first = first_instant(schedule, zs, started)
    last = last_instant(schedule, zs, started)
    instants_ = [send_instant(schedule, z, started) for z in zs]
    assert first == min(instants_) and last == max(instants_)


def test_a_local_schedule_needs_a_zone() -> None:
    with pytest.raises(ValueError, match="at least one time zone"):
        first_instant(SendAtLocal(date(2024, 6, 3), time(10)), [], datetime.now(UTC))


def test_bad_schedules_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        SendAt(datetime(2024, 6, 3, 10))
    with pytest.raises(ValueError, match="wall-clock"):
        SendAtLocal(date(2024, 6, 3), time(10, tzinfo=UTC))


# A schedule in the past -----------------------------------------------------------------------


@settings(deadline=None)  # a shared CI machine has no fixed speed
@given(days, wall_times, instants, zones)
def test_a_local_schedule_is_past_only_when_past_everywhere(
    on: date, at: time, now: datetime, zone: ZoneInfo
) -> None:
    schedule = SendAtLocal(on, at)
    if in_the_past(schedule, now):
        assert send_instant(schedule, zone, now) < now
    else:
        assert send_instant(schedule, ZoneInfo("Etc/GMT+12"), now) >= now


@settings(deadline=None)  # a shared CI machine has no fixed speed
@given(instants, instants)
def test_a_fixed_schedule_is_past_when_before_now(at: datetime, now: datetime) -> None:
    assert in_the_past(SendAt(at), now) == (at < now)
    assert not in_the_past(SendNow(), now)


# Missed schedules -----------------------------------------------------------------------------

windows = st.integers(min_value=0, max_value=7 * 24 * 3600).map(lambda s: timedelta(seconds=s))


@settings(deadline=None)  # a shared CI machine has no fixed speed
@given(instants, instants, windows)
def test_timing(scheduled: datetime, now: datetime, window: timedelta) -> None:
    result = timing(scheduled, now, window)
    if now < scheduled:
        assert result == "early"
    elif now - scheduled <= window:
        assert result == "due"
    else:
        assert result == "missed"
    assert is_missed(scheduled, now, window) == (result == "missed")


def test_missed_only_beyond_the_window() -> None:
    scheduled = datetime(2024, 6, 3, 10, tzinfo=UTC)
    window = timedelta(minutes=30)
    assert timing(scheduled, scheduled - timedelta(seconds=1), window) == "early"
    assert timing(scheduled, scheduled, window) == "due"
    assert timing(scheduled, scheduled + window, window) == "due"
    assert timing(scheduled, scheduled + window + timedelta(microseconds=1), window) == "missed"
    with pytest.raises(ValueError, match="negative"):
        timing(scheduled, scheduled, timedelta(seconds=-1))


# Throttle ---------------------------------------------------------------------------------------

rates = st.integers(min_value=1, max_value=100_000)


@settings(deadline=None)  # a shared CI machine has no fixed speed
@given(instants, rates, st.integers(min_value=0, max_value=10**7))
def test_the_throttle_spreads_evenly(start: datetime, per_minute: int, k: int) -> None:
    u = throttled_instant(start, per_minute, k)
    assert u >= start
    exact = timedelta(minutes=1) * k / per_minute
    assert abs((u - start) - exact) <= timedelta(microseconds=1)
    assert throttled_instant(start, per_minute, k + 1) >= u
    # The message one rate later is exactly a minute later: no minute holds more than the rate.
    assert throttled_instant(start, per_minute, k + per_minute) - u == timedelta(minutes=1)


@settings(deadline=None)  # a shared CI machine has no fixed speed
@given(instants, st.integers(min_value=1, max_value=120), st.integers(min_value=1, max_value=400))
def test_no_minute_holds_more_than_the_rate(start: datetime, per_minute: int, count: int) -> None:
    sends = [throttled_instant(start, per_minute, k) for k in range(count)]
    assert sends == sorted(sends)
    for i, first in enumerate(sends):
        assert bisect_left(sends, first + timedelta(minutes=1)) - i <= per_minute


def test_throttle_examples() -> None:
    start = datetime(2024, 6, 3, 10, tzinfo=UTC)
    assert throttled_instant(start, 120, 3) == start + timedelta(seconds=1.5)
    assert throttled_instant(start, None, 10**6) == start
    with pytest.raises(ValueError, match="at least one"):
        throttled_instant(start, 0, 1)
    with pytest.raises(ValueError, match="starts at 0"):
        throttled_instant(start, 60, -1)


# Quiet hours and the cap together ---------------------------------------------------------------

DEFAULT = RULES["default"]
caps = st.builds(
    FrequencyCap,
    limit=st.integers(min_value=1, max_value=3),
    period=st.integers(min_value=1, max_value=72).map(lambda h: timedelta(hours=h)),
)
recent = st.lists(st.integers(min_value=-72, max_value=72), max_size=8)


def around(t: datetime, hours: list[int]) -> list[datetime]:
    return sorted(t + timedelta(hours=h) for h in hours)


@settings(deadline=None)  # a shared CI machine has no fixed speed
@given(instants, zones, caps, recent, st.sampled_from(list(RULES.values())))
def test_a_deferred_message_satisfies_quiet_hours_and_the_cap(
    due: datetime, zone: ZoneInfo, cap: FrequencyCap, hours: list[int], rule: QuietHoursRule
) -> None:
    sends = around(due, hours)
    decision = when_to_send(due, zone, rule, cap, sends, mode="defer")
    assert isinstance(decision, Send)
    assert decision.at >= due
    assert is_allowed(decision.at, zone, rule)
    assert allows(cap, sends, decision.at)


@settings(deadline=None)  # a shared CI machine has no fixed speed
@given(instants, zones, caps, recent)
def test_a_campaign_skips_at_the_instant_quiet_hours_give(
    due: datetime, zone: ZoneInfo, cap: FrequencyCap, hours: list[int]
) -> None:
    sends = around(due, hours)
    lands = earliest_allowed(due, zone, DEFAULT)
    expected = Send(lands) if allows(cap, sends, lands) else Skip("frequency_cap")
    assert when_to_send(due, zone, DEFAULT, cap, sends) == expected
    # Transactional messages skip the cap, not the quiet hours; None turns both off.
    assert when_to_send(due, zone, DEFAULT, cap, sends, kind="transactional") == Send(lands)
    assert when_to_send(due, zone, None, None, sends) == Send(due)


def test_a_cap_that_lets_out_at_night_waits_for_the_morning() -> None:
    """One a day, last sent at 22:00 New York time: 10:00 tomorrow is capped until 22:00,
    which is quiet, so the message goes at 08:00 the day after."""
    last = datetime(2024, 6, 3, 22, tzinfo=NEW_YORK)
    cap = FrequencyCap(1, timedelta(hours=24))
    due = datetime(2024, 6, 4, 10, tzinfo=NEW_YORK)
    decision = when_to_send(due, NEW_YORK, DEFAULT, cap, [last], mode="defer")
    assert decision == Send(datetime(2024, 6, 5, 8, tzinfo=NEW_YORK))
    assert when_to_send(due, NEW_YORK, DEFAULT, cap, [last]) == Skip("frequency_cap")
