"""Quiet hours (pure): when a marketing message may land, in the recipient's local time
(SPEC F-CAMP-2, reused by the journeys of F-AUTO-2).

A rule is a set of allowed weekly windows of local wall-clock time; outside them is quiet.
``earliest_allowed(t, zone, rule)`` is the earliest instant at or after ``t`` whose local time
in ``zone`` falls inside a window: a message that would land in quiet hours waits for the
next window to open. Each account picks one rule by name (``RULES``); the default is
08:00–21:00 every day.

A rule only knows the days of the week: public holidays (France's rule forbids them too) are
out of scope and not applied.

Daylight-saving changes are handled exactly: the answer is the earliest *instant* whose wall
clock is allowed, so a window opening at 02:30 on the night 02:00 jumps to 03:00 opens at the
jump, and a fold (the hour lived twice) is allowed or quiet in both of its passes alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from types import MappingProxyType
from zoneinfo import ZoneInfo

MINUTES_PER_DAY = 24 * 60

# A rule has at least one window, so a week always holds one; the search needs at most one
# step per offset change met on the way (a handful a year per zone).
_MAX_STEPS = 64


@dataclass(frozen=True, slots=True)
class Window:
    """Allowed local time on one weekday (0 = Monday): minutes ``start`` (inclusive) to
    ``end`` (exclusive) after local midnight; ``end`` may be 1440, the next midnight.
    A window over midnight is two windows, one on each day."""

    weekday: int
    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), got {self.weekday}")
        if not 0 <= self.start < self.end <= MINUTES_PER_DAY:
            raise ValueError(f"a window needs 0 <= start < end <= 1440, got {self}")


@dataclass(frozen=True, slots=True)
class QuietHoursRule:
    """A named set of allowed weekly windows; every other local time is quiet."""

    name: str
    windows: tuple[Window, ...]

    def __post_init__(self) -> None:
        if not self.windows:
            raise ValueError(f"quiet-hours rule {self.name!r} allows no time at all")
        ordered = tuple(sorted(self.windows, key=lambda w: (w.weekday, w.start, w.end)))
        object.__setattr__(self, "windows", ordered)

    def allows_wall(self, wall: datetime) -> bool:
        """Whether a local wall-clock time (naive, or read as its own wall clock) is inside
        one of the windows."""
        weekday = wall.weekday()
        minute = wall.hour * 60 + wall.minute
        return any(w.weekday == weekday and w.start <= minute < w.end for w in self.windows)

    def next_allowed_wall(self, wall: datetime) -> datetime:
        """The earliest naive wall-clock time at or after ``wall`` inside a window."""
        for days in range(8):
            day = wall.date() + timedelta(days=days)
            midnight = datetime.combine(day, time())
            for window in self.windows:
                if window.weekday != day.weekday():
                    continue
                end = midnight + timedelta(minutes=window.end)
                if end > wall:
                    return max(midnight + timedelta(minutes=window.start), wall)
        raise AssertionError("unreachable: a rule has a window in every week")


EVERY_DAY = (0, 1, 2, 3, 4, 5, 6)


def daily(name: str, start: int, end: int, days: tuple[int, ...] = EVERY_DAY) -> QuietHoursRule:
    """A rule allowing the same minutes ``start`` to ``end`` on each of ``days``."""
    return QuietHoursRule(name, tuple(Window(day, start, end) for day in days))


DEFAULT_RULE = "default"

# Read-only: an account names its rule; a new rule is a line here, not a runtime change.
RULES: Mapping[str, QuietHoursRule] = MappingProxyType(
    {
        # The default: 08:00–21:00 every day.
        "default": daily("default", 8 * 60, 21 * 60),
        # US states with stricter telemarketing hours (e.g. Florida's 8 a.m.–8 p.m.).
        "us-strict": daily("us-strict", 8 * 60, 20 * 60),
        # France: 08:00–22:00, never on Sunday. Public holidays are out of scope (not applied).
        "fr": daily("fr", 8 * 60, 22 * 60, days=(0, 1, 2, 3, 4, 5)),
        # No quiet hours at all, for accounts that send only what recipients asked for.
        "none": daily("none", 0, MINUTES_PER_DAY),
    }
)


def rule_named(name: str) -> QuietHoursRule:
    """The rule called ``name``; ``KeyError`` names the unknown one."""
    try:
        return RULES[name]
    except KeyError:
        raise KeyError(f"unknown quiet-hours rule {name!r}; known: {sorted(RULES)}") from None


def is_allowed(t: datetime, zone: ZoneInfo, rule: QuietHoursRule) -> bool:
    """Whether a message landing at instant ``t`` lands inside ``rule``'s windows in ``zone``."""
    return rule.allows_wall(_aware(t).astimezone(zone).replace(tzinfo=None))


def earliest_allowed(t: datetime, zone: ZoneInfo, rule: QuietHoursRule) -> datetime:
    """The earliest instant at or after ``t`` (an aware datetime) whose local time in ``zone``
    is inside one of ``rule``'s windows; ``t`` itself when it already is. The result is UTC.

    Between two offset changes the wall clock runs with the instant, so the next allowed
    wall-clock time maps straight back to an instant. If an offset change comes first, the
    search restarts from the change with the new offset.
    """
    u = _aware(t).astimezone(UTC)
    for _ in range(_MAX_STEPS):
        offset = _offset(u, zone)
        wall = (u + offset).replace(tzinfo=None)
        target = rule.next_allowed_wall(wall)
        candidate = u + (target - wall)
        change = _first_change(u, candidate, offset, zone)
        if change is None:
            return candidate
        u = change
    raise AssertionError(f"no allowed time found after {_MAX_STEPS} offset changes in {zone}")


def _aware(t: datetime) -> datetime:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"an instant must be timezone-aware, got {t!r}")
    return t


def _offset(u: datetime, zone: ZoneInfo) -> timedelta:
    offset = u.astimezone(zone).utcoffset()
    assert offset is not None  # a ZoneInfo always has one
    return offset


# Offset changes in the tz database are weeks apart, never closer than this step; probing
# at it finds a change that a check of the end point alone could miss (a change and its
# reversal both inside the span).
_PROBE = timedelta(days=1)


def _first_change(
    start: datetime, end: datetime, offset: timedelta, zone: ZoneInfo
) -> datetime | None:
    """The first instant in (``start``, ``end``] where ``zone``'s offset is no longer
    ``offset``, to the microsecond; ``None`` if it holds throughout."""
    lo = start
    while lo < end:
        hi = min(lo + _PROBE, end)
        if _offset(hi, zone) != offset:
            # Invariant: offset(lo) == offset, offset(hi) != offset; halve to the microsecond.
            while hi - lo > timedelta(microseconds=1):
                mid = lo + (hi - lo) / 2
                if _offset(mid, zone) == offset:
                    lo = mid
                else:
                    hi = mid
            return hi
        lo = hi
    return None
