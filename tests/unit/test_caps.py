"""Frequency caps (SPEC F-CAMP-2, issue 13 §4): at most N marketing messages per contact per
X hours; a capped recipient is skipped with the reason ``frequency_cap`` (campaigns) or waits
for the cap (``defer``, for journeys); transactional messages are exempt."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from textwire.campaigns.caps import (
    FrequencyCap,
    Send,
    Skip,
    allows,
    decide,
    earliest_under_cap,
)

BASE = datetime(2024, 6, 1, tzinfo=UTC)


def minutes(n: int) -> datetime:
    return BASE + timedelta(minutes=n)


# Quarter hours, so that sends, periods and candidates often meet exactly at the edges, with a
# stray minute now and then.
quarters = st.integers(min_value=0, max_value=48).map(lambda q: 15 * q)
caps = st.builds(
    FrequencyCap,
    limit=st.integers(min_value=1, max_value=4),
    period=st.integers(min_value=1, max_value=16).map(lambda q: timedelta(minutes=15 * q)),
)
# Over half a day, with repeats: several sends at one instant are allowed in the input.
sends = st.lists(st.one_of(quarters, st.integers(min_value=0, max_value=720)), max_size=12).map(
    lambda ms: [minutes(m) for m in sorted(ms)]
)
candidates = st.one_of(quarters, st.integers(min_value=-60, max_value=800)).map(minutes)


def reference_allows(cap: FrequencyCap, sends: Sequence[datetime], c: datetime) -> bool:
    """The cap read literally: no window [x, x + period) holding ``c`` holds ``limit`` sends
    besides. The fullest such window starts at ``c`` or at a send within a period before it."""
    starts = [c, *(s for s in sends if c - cap.period < s <= c)]
    return all(sum(1 for s in sends if x <= s < x + cap.period) < cap.limit for x in starts)


@settings(max_examples=400, deadline=None)
@given(caps, sends, candidates)
def test_allows_matches_the_literal_reading(
    cap: FrequencyCap, sent: list[datetime], c: datetime
) -> None:
    assert allows(cap, sent, c) == reference_allows(cap, sent, c)


@settings(deadline=None)  # a shared CI machine has no fixed speed
@given(caps, sends, candidates)
def test_the_deferred_instant_is_the_earliest_allowed(
    cap: FrequencyCap, sent: list[datetime], c: datetime
) -> None:
    result = earliest_under_cap(cap, sent, c)
    assert result >= c
    assert reference_allows(cap, sent, result)
    # The allowed set changes only at the candidate and at a period after each send, so no
    # earlier one of those points may be allowed.
    for point in [c, *(s + cap.period for s in sent)]:
        if c <= point < result:
            assert not reference_allows(cap, sent, point), point


@settings(deadline=None)  # a shared CI machine has no fixed speed
@given(caps, sends, candidates)
def test_idempotent(cap: FrequencyCap, sent: list[datetime], c: datetime) -> None:
    once = earliest_under_cap(cap, sent, c)
    assert earliest_under_cap(cap, sent, once) == once


@settings(deadline=None)  # a shared CI machine has no fixed speed
@given(caps, sends, candidates)
def test_skip_mode_skips_exactly_the_capped(
    cap: FrequencyCap, sent: list[datetime], c: datetime
) -> None:
    decision = decide(cap, sent, c)
    if reference_allows(cap, sent, c):
        assert decision == Send(c)
    else:
        assert decision == Skip("frequency_cap")


@settings(deadline=None)  # a shared CI machine has no fixed speed
@given(caps, sends, candidates)
def test_defer_mode_sends_at_the_earliest_allowed(
    cap: FrequencyCap, sent: list[datetime], c: datetime
) -> None:
    assert decide(cap, sent, c, mode="defer") == Send(earliest_under_cap(cap, sent, c))


@settings(deadline=None)  # a shared CI machine has no fixed speed
@given(caps, sends, candidates, st.sampled_from(["skip", "defer"]))
def test_transactional_messages_are_exempt(
    cap: FrequencyCap, sent: list[datetime], c: datetime, mode: str
) -> None:
    assert decide(cap, sent, c, kind="transactional", mode=mode) == Send(c)  # type: ignore[arg-type]


@settings(deadline=None)  # a shared CI machine has no fixed speed
@given(sends, candidates)
def test_no_cap_allows_everything(sent: list[datetime], c: datetime) -> None:
    assert decide(None, sent, c) == Send(c)


@settings(deadline=None)  # a shared CI machine has no fixed speed
@given(caps, st.lists(st.integers(min_value=0, max_value=2880), max_size=30))
def test_sending_whenever_allowed_never_breaks_the_cap(
    cap: FrequencyCap, wanted: list[int]
) -> None:
    """A contact who receives every deferred message still never gets more than ``limit`` in
    any period (issue 13 §4), whatever order the candidates come in."""
    history: list[datetime] = []
    for m in wanted:
        decision = decide(cap, history, minutes(m), mode="defer")
        assert isinstance(decision, Send)
        history = sorted([*history, decision.at])
    for i, first in enumerate(history):
        within = [s for s in history[i:] if s < first + cap.period]
        assert len(within) <= cap.limit


# Examples ----------------------------------------------------------------------------------


def test_one_a_day_allows_the_same_time_next_day() -> None:
    cap = FrequencyCap(1, timedelta(hours=24))
    monday = datetime(2024, 6, 3, 10, 0, tzinfo=UTC)
    assert decide(cap, [monday], monday + timedelta(hours=24)) == Send(monday + timedelta(hours=24))
    assert decide(cap, [monday], monday + timedelta(hours=23, minutes=59)) == Skip("frequency_cap")


def test_a_period_before_a_scheduled_send_is_allowed() -> None:
    cap = FrequencyCap(1, timedelta(hours=24))
    tuesday = datetime(2024, 6, 4, 10, 0, tzinfo=UTC)
    assert decide(cap, [tuesday], tuesday - timedelta(hours=24)) == Send(
        tuesday - timedelta(hours=24)
    )
    assert decide(cap, [tuesday], tuesday - timedelta(hours=23)) == Skip("frequency_cap")


def test_a_run_spanning_exactly_the_period_leaves_room_inside_it() -> None:
    """Two a day, sent at 00:00 and 24:00: one more at 12:00 makes two in any 24 hours."""
    cap = FrequencyCap(2, timedelta(hours=24))
    assert decide(cap, [minutes(0), minutes(24 * 60)], minutes(12 * 60)) == Send(minutes(12 * 60))
    assert decide(cap, [minutes(0), minutes(24 * 60 - 1)], minutes(12 * 60)) == Skip(
        "frequency_cap"
    )


def test_two_a_day_skips_the_third_and_defers_it_to_when_the_first_ages_out() -> None:
    cap = FrequencyCap(2, timedelta(hours=24))
    sent = [minutes(0), minutes(120)]
    assert decide(cap, sent, minutes(600)) == Skip("frequency_cap")
    assert decide(cap, sent, minutes(600), mode="defer") == Send(minutes(24 * 60))


def test_a_message_already_scheduled_later_counts() -> None:
    """A send queued for tomorrow morning (a local-time campaign) caps one tonight."""
    cap = FrequencyCap(1, timedelta(hours=12))
    tomorrow = minutes(24 * 60 + 9 * 60)
    assert decide(cap, [tomorrow], minutes(24 * 60)) == Skip("frequency_cap")
    assert decide(cap, [tomorrow], minutes(12 * 60)) == Send(minutes(12 * 60))
    # Deferred past the queued send, to a full period after it.
    assert earliest_under_cap(cap, [tomorrow], minutes(24 * 60)) == tomorrow + timedelta(hours=12)


def test_old_sends_do_not_count() -> None:
    cap = FrequencyCap(1, timedelta(hours=1))
    assert decide(cap, [minutes(0)], minutes(61)) == Send(minutes(61))


@pytest.mark.parametrize(
    ("limit", "period"), [(0, timedelta(hours=1)), (1, timedelta(0)), (2, timedelta(hours=-1))]
)
def test_a_bad_cap_is_refused(limit: int, period: timedelta) -> None:
    with pytest.raises(ValueError, match="frequency cap"):
        FrequencyCap(limit, period)
