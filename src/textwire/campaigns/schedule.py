"""Campaign schedules (pure): the instant each recipient's message is due, whether a run was
missed, and how a per-campaign throttle spreads a batch (SPEC F-CAMP-2).

A schedule is one of three records: ``SendNow``, ``SendAt`` (one UTC instant for everyone) or
``SendAtLocal`` (a wall-clock time on a date, read in each recipient's own time zone, so the
campaign runs across the zones). Everything here is a function of its arguments: the caller
passes ``now`` (from ``Clock``) and the recipient's ``ZoneInfo``; nothing reads the clock or
the database, so a journey's wait steps (issue 14) reuse the same functions.

Wall-clock times that do not exist or exist twice (daylight-saving changes) are read as
RFC 5545 and PEP 495's ``fold=0`` read them:
- a time in a gap (02:30 on the night the clocks go from 02:00 to 03:00) is read with the
  offset in force before the gap, so it moves forward by the gap's length (to 03:30);
- a time in a fold (01:30 on the night the clocks go back from 02:00 to 01:00) is the first
  of its two occurrences (01:30 summer time).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal, assert_never
from zoneinfo import ZoneInfo

from textwire.campaigns.caps import CapMode, Decision, FrequencyCap, MessageKind, Send, decide
from textwire.campaigns.quiet_hours import QuietHoursRule, earliest_allowed

# The westernmost offset in use (Etc/GMT+12, Baker Island): a local wall-clock time has not
# yet come anywhere on Earth while it is still ahead of this zone's clock.
WESTERNMOST_OFFSET = timedelta(hours=-12)


def _aware_utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {value!r}")
    return value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class SendNow:
    """Send as soon as the campaign starts."""

    kind: Literal["now"] = "now"


@dataclass(frozen=True, slots=True)
class SendAt:
    """Send to every recipient at one instant (stored in UTC)."""

    at: datetime
    kind: Literal["at"] = "at"

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", _aware_utc(self.at, "at"))


@dataclass(frozen=True, slots=True)
class SendAtLocal:
    """Send at wall-clock time ``at`` on date ``on`` in each recipient's time zone."""

    on: date
    at: time
    kind: Literal["local"] = "local"

    def __post_init__(self) -> None:
        if self.at.tzinfo is not None:
            raise ValueError("a local schedule's time is a wall-clock time, without a zone")


Schedule = SendNow | SendAt | SendAtLocal

Timing = Literal["early", "due", "missed"]


def local_instant(on: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant at which ``zone``'s clocks show ``at`` on ``on``.

    Gaps move forward by the gap's length and folds take the first occurrence (see the
    module docstring): ``fold=0`` makes zoneinfo read a gap with the offset before the
    transition and a fold with the earlier of its two offsets, which are both rules at once.
    """
    wall = datetime.combine(on, at.replace(fold=0), tzinfo=zone)
    return wall.astimezone(UTC)


def send_instant(schedule: Schedule, zone: ZoneInfo, started: datetime) -> datetime:
    """The UTC instant a recipient in ``zone`` is due, for a campaign started at ``started``.

    The instant may be earlier than ``started`` (a local time already past in the zones east
    of the sender): ``timing`` then tells whether it is still ``due`` or was ``missed``.
    """
    if schedule.kind == "now":
        return _aware_utc(started, "started")
    if schedule.kind == "at":
        return schedule.at
    if schedule.kind == "local":
        return local_instant(schedule.on, schedule.at, zone)
    assert_never(schedule.kind)


def first_instant(schedule: Schedule, zones: Iterable[ZoneInfo], started: datetime) -> datetime:
    """The earliest recipient instant over the audience's zones: when the run begins.

    A local schedule begins in the easternmost of ``zones``; the others begin at their one
    instant whatever the zones. Raises ``ValueError`` for a local schedule and no zone.
    """
    return min(_instants(schedule, zones, started))


def last_instant(schedule: Schedule, zones: Iterable[ZoneInfo], started: datetime) -> datetime:
    """The latest recipient instant over the audience's zones: when the last zone is due."""
    return max(_instants(schedule, zones, started))


def _instants(schedule: Schedule, zones: Iterable[ZoneInfo], started: datetime) -> list[datetime]:
    if schedule.kind != "local":
        return [send_instant(schedule, ZoneInfo("UTC"), started)]
    # ZoneInfo objects are cached per key, so a set removes the repeats of a large audience.
    instants = [send_instant(schedule, zone, started) for zone in set(zones)]
    if not instants:
        raise ValueError("a local-time schedule needs at least one time zone")
    return instants


def in_the_past(schedule: Schedule, now: datetime) -> bool:
    """Whether ``schedule`` can no longer happen for anyone: a bad schedule to accept.

    ``SendAt`` is in the past when its instant is before ``now``; ``SendAtLocal`` when its
    wall-clock time has already passed in the westernmost zone, hence everywhere.
    ``SendNow`` never is.
    """
    now = _aware_utc(now, "now")
    if schedule.kind == "now":
        return False
    if schedule.kind == "at":
        return schedule.at < now
    if schedule.kind == "local":
        westernmost = datetime.combine(schedule.on, schedule.at, tzinfo=UTC) - WESTERNMOST_OFFSET
        return westernmost < now
    assert_never(schedule.kind)


def timing(scheduled: datetime, now: datetime, window: timedelta) -> Timing:
    """Where ``now`` stands against an instant that was ``scheduled``.

    ``early`` before it; ``due`` from it until ``window`` after it (inclusive); ``missed``
    later than that. A campaign whose ``first_instant`` is ``missed`` when the scheduler first
    sees it (the server was down) ends as ``missed`` rather than firing late.
    """
    if window < timedelta(0):
        raise ValueError("the missed-schedule window cannot be negative")
    late = _aware_utc(now, "now") - _aware_utc(scheduled, "scheduled")
    if late < timedelta(0):
        return "early"
    return "due" if late <= window else "missed"


def is_missed(scheduled: datetime, now: datetime, window: timedelta) -> bool:
    """``timing(...) == "missed"``: ``now`` is more than ``window`` after ``scheduled``."""
    return timing(scheduled, now, window) == "missed"


_MINUTE_US = 60_000_000


def throttled_instant(start: datetime, per_minute: int | None, k: int) -> datetime:
    """The instant of the ``k``-th message (from 0) of a campaign throttled to ``per_minute``.

    Messages are spread evenly, ``60 / per_minute`` seconds apart, from ``start``; ``None``
    means no throttle (all at ``start``). Integer microseconds keep it exact: message
    ``k + per_minute`` is exactly one minute after message ``k``, so no minute-long window
    ever holds more than ``per_minute`` of them, however long the campaign.
    """
    if k < 0:
        raise ValueError("the message index starts at 0")
    if per_minute is None:
        return start
    if per_minute < 1:
        raise ValueError("a throttle allows at least one message per minute")
    return start + timedelta(microseconds=k * _MINUTE_US // per_minute)


def when_to_send(
    due: datetime,
    zone: ZoneInfo,
    quiet: QuietHoursRule | None,
    cap: FrequencyCap | None,
    sends: Sequence[datetime],
    *,
    kind: MessageKind = "marketing",
    mode: CapMode = "skip",
) -> Decision:
    """One recipient's message, due at ``due`` (from ``send_instant``, or a throttled slot):
    first it waits for ``quiet`` hours to end in ``zone``, then the frequency ``cap`` is
    applied at that instant, against the contact's sorted marketing ``sends``.

    In ``skip`` mode (campaigns) a capped message is ``Skip("frequency_cap")``. In ``defer``
    mode (journey steps) it waits for the cap, and then again for quiet hours if the cap let
    it out at night, until an instant satisfies both. ``None`` turns either check off.
    """
    at = due
    # A pass that does not return leaves one of the cap's refused intervals behind for good,
    # and there are fewer of those than sends: the loop ends within len(sends) + 1 passes.
    for _ in range(len(sends) + 2):
        if quiet is not None:
            at = earliest_allowed(at, zone, quiet)
        decision = decide(cap, sends, at, kind=kind, mode=mode)
        if not isinstance(decision, Send) or decision.at == at:
            return decision
        at = decision.at
    raise AssertionError(f"no instant satisfies both quiet hours and the cap after {due}")
