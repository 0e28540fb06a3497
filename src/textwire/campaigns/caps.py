"""Frequency caps (pure): at most ``limit`` marketing messages per contact in any ``period``
(SPEC F-CAMP-2; the journeys of F-AUTO-2 apply the same caps).

The decision is a function of the contact's marketing send instants (sorted, both already sent
and already scheduled: a queued message due tomorrow counts as much as one sent yesterday)
and the candidate instant. The cap is a sliding window: a candidate is refused when it and
``limit`` of the existing sends would fall within less than ``period`` of each other. Two
sends exactly ``period`` apart are fine (a 1-per-24h cap allows 10:00 Monday and 10:00
Tuesday).

Two modes, one rule:
- ``skip``: a capped recipient is skipped with the reason ``frequency_cap`` and counted in
  the report. Campaigns use this mode (issue 13 §4).
- ``defer``: a capped message waits for the earliest instant the cap allows. Journey steps
  may use this mode, where waiting is part of the step.

Transactional messages are exempt: they are always allowed, and the caller leaves them out of
the sends it passes in.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, assert_never

CapReason = Literal["frequency_cap"]
CapMode = Literal["skip", "defer"]
MessageKind = Literal["marketing", "transactional"]


@dataclass(frozen=True, slots=True)
class FrequencyCap:
    """At most ``limit`` marketing messages per contact in any ``period``."""

    limit: int
    period: timedelta

    def __post_init__(self) -> None:
        if self.limit < 1:
            raise ValueError(f"a frequency cap allows at least one message, got {self.limit}")
        if self.period <= timedelta(0):
            raise ValueError(f"a frequency cap's period must be positive, got {self.period}")


@dataclass(frozen=True, slots=True)
class Send:
    """The message may go, at ``at`` (the candidate, or later in ``defer`` mode)."""

    at: datetime


@dataclass(frozen=True, slots=True)
class Skip:
    """The message is not sent; the recipient is counted under ``reason``."""

    reason: CapReason = "frequency_cap"


Decision = Send | Skip


def _blocked(
    cap: FrequencyCap, sends: Sequence[datetime], after: datetime
) -> Iterator[tuple[datetime, datetime]]:
    """The open intervals of instants the cap refuses, in increasing order, skipping those
    that end at or before ``after``.

    Each run of ``limit`` consecutive sends spanning less than ``period`` refuses every
    instant within ``period`` of both its ends: (last - period, first + period). Both ends
    grow with the run's index, so the intervals come sorted by start and by end.
    """
    # An interval ends at first + period; those with first <= after - period end too early.
    i = bisect_right(sends, after - cap.period)
    for first, last in zip(sends[i:], sends[i + cap.limit - 1 :], strict=False):
        if last - first < cap.period:
            yield last - cap.period, first + cap.period


def earliest_under_cap(
    cap: FrequencyCap, sends: Sequence[datetime], candidate: datetime
) -> datetime:
    """The earliest instant at or after ``candidate`` that ``cap`` allows, given the contact's
    sorted marketing ``sends``; ``candidate`` itself when it is allowed."""
    at = candidate
    for start, end in _blocked(cap, sends, candidate):
        if start >= at:
            break  # every later interval starts later still: ``at`` is free
        if at < end:
            at = end  # the interval is open: its end is allowed unless a later one covers it
    return at


def allows(cap: FrequencyCap, sends: Sequence[datetime], candidate: datetime) -> bool:
    """Whether ``cap`` allows a marketing message at ``candidate``."""
    return earliest_under_cap(cap, sends, candidate) == candidate


def decide(
    cap: FrequencyCap | None,
    sends: Sequence[datetime],
    candidate: datetime,
    *,
    kind: MessageKind = "marketing",
    mode: CapMode = "skip",
) -> Decision:
    """Whether a message for a contact with marketing ``sends`` (sorted) goes at
    ``candidate``: ``Send(candidate)`` when allowed, transactional, or no cap is set;
    otherwise ``Skip("frequency_cap")`` in ``skip`` mode, ``Send(earliest)`` in ``defer``."""
    if cap is None or kind == "transactional":
        return Send(candidate)
    at = earliest_under_cap(cap, sends, candidate)
    if at == candidate:
        return Send(candidate)
    if mode == "skip":
        return Skip("frequency_cap")
    if mode == "defer":
        return Send(at)
    assert_never(mode)
