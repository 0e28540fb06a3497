"""Per-sender rate limiting (pure), counted in segments, over a sliding one-second window.

A sender with ``mps`` may hand over a message when the segments it handed over in the
last second plus this message's stay within ``mps``. So no half-open one-second window
ever carries more than ``mps`` segments, yet a batch worker can hand over a second's worth
at once (a token bucket with a burst would let some window carry twice the rate; strict
spacing would let a batch worker send only one message per batch).

The worker decides when it claims a batch and hands over later, by a delay that varies
(a provider may do its own I/O first, or hang until its timeout), and several hand-overs of
one sender may be in flight at once. So it ``hold``s its reservations: a held cost counts in
every window, expires from none, until ``release(now, spent)`` once the provider call has
returned stamps it at ``now``. Every real hand-over lies before its stamp, so the next
hand-over can only be decided a full window after the real one, whichever hand-over in
flight ends first. ``guard`` adds a little margin on top.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping

# Float sums of waits land a hair before the exact boundary; a nanosecond settles it.
EPSILON = 1e-9


class _Log:
    __slots__ = ("entries", "held", "total")

    def __init__(self) -> None:
        self.entries: deque[tuple[float, int]] = deque()  # (stamp, cost), stamps in order
        self.held = 0  # reserved, still in flight: in every window until released
        self.total = 0  # entries' costs plus held

    def prune(self, now: float, span: float) -> None:
        while self.entries and self.entries[0][0] <= now - span + EPSILON:
            self.total -= self.entries.popleft()[1]

    def stamp(self, at: float, cost: int) -> None:
        # Kept in order (prune reads from the left): a stamp is never moved earlier than the
        # last one, which only makes its window end later.
        if self.entries and at < self.entries[-1][0]:
            at = self.entries[-1][0]
        self.entries.append((at, cost))
        self.total += cost


class RateLimiter:
    def __init__(self, window: float = 1.0, guard: float = 0.01) -> None:
        self._span = window + guard
        self._logs: dict[str, _Log] = {}

    def reserve(self, key: str, rate: float, cost: int, now: float, *, hold: bool = False) -> float:
        """0.0 when allowed now (recorded at ``now``, or held with ``hold`` until
        ``release``); else the seconds until it would be allowed.

        A message costing more than the whole rate goes when the window is empty: it can
        never fit, and refusing it forever would lose it.
        """
        wait = self.peek(key, rate, cost, now)
        if wait == 0.0:
            log = self._logs[key]
            if hold:
                log.held += cost
                log.total += cost
            else:
                log.stamp(now, cost)
        return wait

    def release(self, now: float, spent: Mapping[str, int]) -> None:
        """Stamp held costs (``spent[key]`` of each key) at ``now``, the moment the hand-over
        they were held for had certainly happened."""
        for key, cost in spent.items():
            log = self._logs.get(key)
            if log is None or cost <= 0:
                continue
            cost = min(cost, log.held)
            log.held -= cost
            log.total -= cost
            log.stamp(now, cost)

    def peek(self, key: str, rate: float, cost: int, now: float) -> float:
        """Like ``reserve`` but takes nothing: 0.0 if it would fit now, else the wait."""
        log = self._logs.get(key)
        if log is None:
            log = self._logs[key] = _Log()
        log.prune(now, self._span)
        if log.total + cost <= rate or not (log.entries or log.held):
            return 0.0
        # Wait until enough of the oldest entries leave the window.
        excess = log.total + cost - rate
        freed = 0
        for stamp, spent in log.entries:
            freed += spent
            if freed >= excess:
                return max(stamp + self._span - now, EPSILON)
        # Held costs fill the window: look again once what is stamped has left it (or a
        # window from now), by when a hand-over in flight may have been released.
        last = log.entries[-1][0] if log.entries else now
        return max(last + self._span - now, EPSILON)

    def schedule(self, key: str, rate: float, costs: list[int], now: float) -> list[float]:
        """When each of these messages (in order) would fit, if nothing else is sent: the
        times to wake them at, so a window's worth comes due together."""
        log = self._logs.get(key)
        trial = _Log()
        if log is not None:
            trial.entries = deque(log.entries)
            trial.total = log.total - log.held
            if log.held:  # as if the hand-overs in flight ended now: an estimate to wake at
                trial.stamp(now, log.held)
        sim = RateLimiter(guard=self._span - 1.0)
        sim._logs[key] = trial
        times: list[float] = []
        for cost in costs:
            at = times[-1] if times else now  # in order: none overtakes the one before
            while (wait := sim.reserve(key, rate, cost, at)) > 0:
                at += wait
            times.append(at)
        return times
