"""Per-sender MPS limits (issue 3 item 8, SPEC F-ORIG-2), as pure properties."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from textwire.ratelimit import RateLimiter


def _run(
    rate: int, requests: list[tuple[float, int]], delays: list[float] | None = None
) -> list[tuple[float, int]]:
    """Feed requests (arrival gap, cost), retrying each at the time it is told, and hand
    each over ``delay`` later (held until then and released, as the worker does); return
    hand-overs."""
    limiter = RateLimiter()
    now = 0.0
    sent: list[tuple[float, int]] = []
    for i, (gap, cost) in enumerate(requests):
        now += gap
        while (wait := limiter.reserve("s", rate, cost, now, hold=True)) > 0:
            now += wait
        handover = now + (delays[i % len(delays)] if delays else 0.0)
        limiter.release(handover, {"s": cost})
        sent.append((handover, cost))
        now = handover
    return sent


def _max_window(sent: list[tuple[float, int]]) -> int:
    best = 0
    for i, (start, _) in enumerate(sent):
        best = max(best, sum(c for t, c in sent[i:] if t < start + 1.0 - 1e-9))
    return best


@settings(deadline=None)
@given(
    rate=st.integers(1, 50),
    requests=st.lists(st.tuples(st.floats(0, 0.3), st.integers(1, 4)), min_size=1, max_size=150),
)
def test_no_one_second_window_exceeds_the_rate(
    rate: int, requests: list[tuple[float, int]]
) -> None:
    requests = [(gap, min(cost, rate)) for gap, cost in requests]
    assert _max_window(_run(rate, requests)) <= rate


@settings(deadline=None)
@given(
    rate=st.integers(1, 30),
    requests=st.lists(st.tuples(st.floats(0, 0.3), st.integers(1, 4)), min_size=1, max_size=80),
    delays=st.lists(st.floats(0, 0.5), min_size=1, max_size=5),
)
def test_uneven_hand_over_delays_never_break_the_window(
    rate: int, requests: list[tuple[float, int]], delays: list[float]
) -> None:
    """The worker decides at claim time and hands over later, by varying delays."""
    requests = [(gap, min(cost, rate)) for gap, cost in requests]
    assert _max_window(_run(rate, requests, delays)) <= rate


@settings(deadline=None)
@given(rate=st.integers(1, 200), seconds=st.integers(2, 10))
def test_a_backlogged_sender_runs_at_nearly_its_full_rate(rate: int, seconds: int) -> None:
    """Under backlog each second carries ``rate`` segments; only the 10 ms guard is lost."""
    sent = _run(rate, [(0.0, 1)] * (rate * seconds))
    assert sent[-1][0] < seconds * 1.01
    assert _max_window(sent) == rate


def test_a_batch_worker_sends_a_seconds_worth_at_once_then_waits() -> None:
    limiter = RateLimiter()
    assert [limiter.reserve("a", 3, 1, 10.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.reserve("a", 3, 1, 10.0) == pytest.approx(1.01)
    assert limiter.reserve("b", 3, 1, 10.0) == 0.0  # senders are independent
    assert limiter.reserve("a", 3, 1, 11.01) == 0.0


def test_release_stamps_a_held_reservation_at_the_hand_over() -> None:
    limiter = RateLimiter()
    assert limiter.reserve("a", 1, 1, 0.0, hold=True) == 0.0
    limiter.release(0.4, {"a": 1})
    assert limiter.reserve("a", 1, 1, 1.2) == pytest.approx(0.21)


def test_a_held_reservation_fills_every_window_until_released() -> None:
    """Issue 11 §2: hand-overs of one sender run concurrently; one that hangs keeps its
    place in the window however long it takes, so a later one cannot share its second."""
    limiter = RateLimiter()
    assert limiter.reserve("a", 2, 1, 0.0, hold=True) == 0.0
    assert limiter.reserve("a", 2, 1, 0.0, hold=True) == 0.0
    assert limiter.reserve("a", 2, 1, 5.0) > 0  # still in flight five seconds later
    limiter.release(7.0, {"a": 1})
    assert limiter.reserve("a", 2, 1, 7.5) > 0  # one released at 7.0, one still in flight
    limiter.release(7.6, {"a": 1})
    assert limiter.reserve("a", 2, 1, 8.0) == pytest.approx(0.01)
    assert limiter.reserve("a", 2, 1, 8.01) == 0.0
    assert limiter.reserve("a", 2, 1, 8.01) > 0


@settings(deadline=None)
@given(
    rate=st.integers(1, 10),
    events=st.lists(
        st.tuples(st.floats(0, 0.4), st.integers(1, 3), st.floats(0, 3), st.floats(0, 1)),
        min_size=1,
        max_size=60,
    ),
)
def test_overlapping_hand_overs_never_break_the_window(
    rate: int, events: list[tuple[float, int, float, float]]
) -> None:
    """Reservations held while their hand-overs overlap, each handed over at some moment
    between its reservation and its release: no one-second window of real hand-overs
    carries more than the rate."""
    limiter = RateLimiter()
    now = 0.0
    in_flight: list[tuple[float, float, int]] = []  # (release at, handed over at, cost)
    sent: list[tuple[float, int]] = []
    for gap, cost, duration, moment in events:
        now += gap
        cost = min(cost, rate)
        for item in sorted(x for x in in_flight if x[0] <= now):
            limiter.release(item[0], {"s": item[2]})
            in_flight.remove(item)
        if limiter.reserve("s", rate, cost, now, hold=True) == 0.0:
            in_flight.append((now + duration, now + duration * moment, cost))
            sent.append((now + duration * moment, cost))
    assert _max_window(sorted(sent)) <= rate


def test_a_message_larger_than_the_rate_goes_alone() -> None:
    limiter = RateLimiter()
    assert limiter.reserve("a", 1, 3, 0.0) == 0.0
    assert limiter.reserve("a", 1, 1, 0.5) == pytest.approx(0.51)
    assert limiter.reserve("a", 1, 1, 1.01) == 0.0


@settings(deadline=None)
@given(
    rate=st.integers(1, 20),
    sent=st.lists(st.floats(0, 2), max_size=30),
    costs=st.lists(st.integers(1, 3), min_size=1, max_size=40),
)
def test_schedule_predicts_when_each_waiting_message_fits(
    rate: int, sent: list[float], costs: list[int]
) -> None:
    """Waking each message at its scheduled time, in order, always finds room."""
    costs = [min(c, rate) for c in costs]
    limiter = RateLimiter()
    for at in sorted(sent):
        limiter.reserve("s", rate, 1, at)
    now = max(sent, default=0.0)
    dues = limiter.schedule("s", rate, costs, now)
    assert dues == sorted(dues) and dues[0] >= now
    for due, cost in zip(dues, costs, strict=True):
        assert limiter.reserve("s", rate, cost, due) == 0.0


def test_a_full_window_lets_a_whole_seconds_worth_come_due_together() -> None:
    limiter = RateLimiter()
    for _ in range(3):
        limiter.reserve("s", 3, 1, 0.0)
    assert limiter.schedule("s", 3, [1, 1, 1, 1], 0.5) == pytest.approx([1.01, 1.01, 1.01, 2.02])
