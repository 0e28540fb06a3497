"""Injectable time: everything asks ``Clock.now()`` so tests can move time forward."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Clock:
    """Wall-clock UTC time plus an offset that tests can advance."""

    offset: timedelta = field(default_factory=timedelta)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def rfc2822(value: datetime | None) -> str | None:
    """Twilio's v2010 date format: ``Thu, 24 Aug 2023 05:01:45 +0000``.

    Built by hand rather than with ``strftime("%a, %d %b …")``: the same text as strftime
    in the C locale, English names whatever the locale, and a third cheaper (every message
    resource carries two or three of these).
    """
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    v = value.astimezone(UTC)
    return (
        f"{_DAYS[v.weekday()]}, {v.day:02d} {_MONTHS[v.month - 1]} {v.year} "
        f"{v.hour:02d}:{v.minute:02d}:{v.second:02d} +0000"
    )


def iso8601(value: datetime | None) -> str | None:
    """Twilio's v1 date format: ``2015-07-30T20:12:31Z``."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
