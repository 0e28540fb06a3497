"""Per-sender MPS limits (issue 3 item 8, SPEC F-ORIG-2), as pure properties."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from textwire.dispatch.ratelimit import RateLimiter


def _run(rate: int, requests: list[tuple[float, int]]) -> list[tuple[float, int]]:
    """Feed requests (arrival gap, cost), retrying each at the time it is told; return sends."""
    limiter = RateLimiter()
    now = 0.0
    sent: list[tuple[float, int]] = []
    for gap, cost in requests:
        now += gap
        while (wait := limiter.reserve("s", rate, cost, now)) > 0:
            now += wait
        sent.append((now, cost))
    return sent


def _max_window(sent: list[tuple[float, int]]) -> int:
    best = 0
    for i, (start, _) in enumerate(sent):
        best = max(best, sum(c for t, c in sent[i:] if t < start + 1.0 - 1e-9))
    return best


@given(
    rate=st.integers(1, 50),
    requests=st.lists(st.tuples(st.floats(0, 0.3), st.integers(1, 4)), min_size=1, max_size=150),
)
def test_no_one_second_window_exceeds_the_rate(
    rate: int, requests: list[tuple[float, int]]
) -> None:
    requests = [(gap, min(cost, rate)) for gap, cost in requests]
    assert _max_window(_run(rate, requests)) <= rate


@given(rate=st.integers(1, 200), seconds=st.integers(2, 10))
def test_a_backlogged_sender_runs_at_its_full_rate(rate: int, seconds: int) -> None:
    """Under backlog every second carries exactly ``rate`` segments: nothing is wasted."""
    sent = _run(rate, [(0.0, 1)] * (rate * seconds))
    assert sent[-1][0] < seconds
    assert _max_window(sent) == rate


def test_a_batch_worker_sends_a_seconds_worth_at_once_then_waits() -> None:
    limiter = RateLimiter()
    assert [limiter.reserve("a", 3, 1, 10.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.reserve("a", 3, 1, 10.0) == 1.0
    assert limiter.reserve("b", 3, 1, 10.0) == 0.0  # senders are independent
    assert limiter.reserve("a", 3, 1, 11.0) == 0.0


def test_a_message_larger_than_the_rate_goes_alone() -> None:
    limiter = RateLimiter()
    assert limiter.reserve("a", 1, 3, 0.0) == 0.0
    assert limiter.reserve("a", 1, 1, 0.5) == 0.5
    assert limiter.reserve("a", 1, 1, 1.0) == 0.0
