"""Per-sender rate limiting (pure): a GCRA token bucket counted in segments.

A sender with ``mps`` messages per second may spend up to one second's worth at once
and then one segment every ``1/mps`` seconds, so no one-second window carries more than
``mps`` segments plus the one in flight.
"""

from __future__ import annotations


class RateLimiter:
    def __init__(self) -> None:
        self._tat: dict[str, float] = {}  # theoretical arrival time per key

    def reserve(self, key: str, rate: float, cost: int, now: float) -> float:
        """0.0 and the cost is taken when allowed now; else the seconds to wait (nothing taken)."""
        interval = cost / rate
        tat = max(self._tat.get(key, now), now)
        new_tat = tat + interval
        wait = new_tat - now - 1.0
        if wait > 1e-9:
            return wait
        self._tat[key] = new_tat
        return 0.0

    def interval(self, rate: float, cost: int) -> float:
        return cost / rate
