"""Per-sender rate limiting (pure), counted in segments, over a sliding one-second window.

A sender with ``mps`` may hand over a message when the segments it handed over in the
last second plus this message's stay within ``mps``. So no half-open one-second window
ever carries more than ``mps`` segments, yet a batch worker can hand over a second's worth
at once (a token bucket with a burst would let some window carry twice the rate; strict
spacing would let a batch worker send only one message per batch).
"""

from __future__ import annotations

from collections import deque

WINDOW = 1.0
# Float sums of waits land a hair before the exact boundary; a nanosecond settles it.
EPSILON = 1e-9


class _Log:
    __slots__ = ("entries", "total")

    def __init__(self) -> None:
        self.entries: deque[tuple[float, int]] = deque()
        self.total = 0

    def prune(self, now: float) -> None:
        while self.entries and self.entries[0][0] <= now - WINDOW + EPSILON:
            self.total -= self.entries.popleft()[1]


class RateLimiter:
    def __init__(self) -> None:
        self._logs: dict[str, _Log] = {}

    def reserve(self, key: str, rate: float, cost: int, now: float) -> float:
        """0.0 when allowed now (recorded); else the seconds until it would be allowed.

        A message costing more than the whole rate goes when the window is empty: it can
        never fit, and refusing it forever would lose it.
        """
        log = self._logs.get(key)
        if log is None:
            log = self._logs[key] = _Log()
        log.prune(now)
        if log.total + cost <= rate or not log.entries:
            log.entries.append((now, cost))
            log.total += cost
            return 0.0
        # Wait until enough of the oldest entries leave the window.
        excess = log.total + cost - rate
        freed = 0
        for stamp, spent in log.entries:
            freed += spent
            if freed >= excess:
                return max(stamp + WINDOW - now, EPSILON)
        return max(log.entries[-1][0] + WINDOW - now, EPSILON)

    def interval(self, rate: float, cost: int) -> float:
        """The steady-state spacing of messages of ``cost`` at ``rate``."""
        return cost / rate
