"""Retry backoff (pure), the one formula for every retry that waits longer each time.

The dispatch worker's hand-over retries and the webhook deliverer's retries both wait
``base × 2^(attempt-1)`` seconds, up to their own cap.
"""

from __future__ import annotations

import math


def backoff(attempt: int, base: float, cap: float) -> float:
    """Seconds to wait before the retry that follows failed attempt ``attempt`` (from 1):
    ``base`` after the first, doubling with each one, never more than ``cap``."""
    try:
        # ldexp is base × 2^(attempt-1) exactly; it overflows only far past any cap.
        delay = math.ldexp(base, attempt - 1)
    except OverflowError:
        return cap
    return min(cap, delay)
