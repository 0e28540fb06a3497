"""Per-sender rate limiting (pure), counted in segments, over a sliding one-second window.

A sender with ``mps`` may hand over a message when the segments it handed over in the
last second plus this message's stay within ``mps``. So no half-open one-second window
ever carries more than ``mps`` segments, yet a batch worker can hand over a second's worth
at once (a token bucket with a burst would let some window carry twice the rate; strict
spacing would let a batch worker send only one message per batch).

The worker decides when it claims a batch and hands over later, by a delay that varies
(a provider may do its own I/O first). It calls ``restamp(now)`` once the provider call
has returned, so every real hand-over lies before its stamp; the next hand-over can only
be decided a full window after that stamp, hence after the real one too. ``guard`` adds
a little margin on top.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

# Float sums of waits land a hair before the exact boundary; a nanosecond settles it.
EPSILON = 1e-9


class _Log:
    __slots__ = ("entries", "fresh", "total")

    def __init__(self) -> None:
        self.entries: deque[tuple[float, int]] = deque()
        self.total = 0
        self.fresh = 0  # entries since the last restamp

    def prune(self, now: float, span: float) -> None:
        while self.entries and self.entries[0][0] <= now - span + EPSILON:
            self.total -= self.entries.popleft()[1]
            self.fresh = min(self.fresh, len(self.entries))


class RateLimiter:
    def __init__(self, window: float = 1.0, guard: float = 0.01) -> None:
        self._span = window + guard
        self._logs: dict[str, _Log] = {}

    def reserve(self, key: str, rate: float, cost: int, now: float) -> float:
        """0.0 when allowed now (recorded); else the seconds until it would be allowed.

        A message costing more than the whole rate goes when the window is empty: it can
        never fit, and refusing it forever would lose it.
        """
        wait = self.peek(key, rate, cost, now)
        if wait == 0.0:
            log = self._logs[key]
            log.entries.append((now, cost))
            log.total += cost
            log.fresh += 1
        return wait

    def peek(self, key: str, rate: float, cost: int, now: float) -> float:
        """Like ``reserve`` but takes nothing: 0.0 if it would fit now, else the wait."""
        log = self._logs.get(key)
        if log is None:
            log = self._logs[key] = _Log()
        log.prune(now, self._span)
        if log.total + cost <= rate or not log.entries:
            return 0.0
        # Wait until enough of the oldest entries leave the window.
        excess = log.total + cost - rate
        freed = 0
        for stamp, spent in log.entries:
            freed += spent
            if freed >= excess:
                return max(stamp + self._span - now, EPSILON)
        return max(log.entries[-1][0] + self._span - now, EPSILON)

    def restamp(self, now: float, keys: Iterable[str] | None = None) -> None:
        """Move reservations made since the last restamp (of ``keys``, default all) to ``now``,
        the moment of hand-over."""
        logs = (
            self._logs.values()
            if keys is None
            else [self._logs[k] for k in keys if k in self._logs]
        )
        for log in logs:
            if not log.fresh:
                continue
            kept = [log.entries.pop()[1] for _ in range(log.fresh)]
            log.entries.extend((now, cost) for cost in reversed(kept))
            log.fresh = 0

    def schedule(self, key: str, rate: float, costs: list[int], now: float) -> list[float]:
        """When each of these messages (in order) would fit, if nothing else is sent: the
        times to wake them at, so a window's worth comes due together."""
        log = self._logs.get(key)
        trial = _Log()
        if log is not None:
            trial.entries = deque(log.entries)
            trial.total = log.total
        sim = RateLimiter(guard=self._span - 1.0)
        sim._logs[key] = trial
        times: list[float] = []
        for cost in costs:
            at = times[-1] if times else now  # in order: none overtakes the one before
            while (wait := sim.reserve(key, rate, cost, at)) > 0:
                at += wait
            times.append(at)
        return times

    def interval(self, rate: float, cost: int) -> float:
        """The steady-state spacing of messages of ``cost`` at ``rate``."""
        return cost / rate
