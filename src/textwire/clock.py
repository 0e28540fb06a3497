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


def rfc2822(value: datetime | None) -> str | None:
    """Twilio's v2010 date format: ``Thu, 24 Aug 2023 05:01:45 +0000``."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")


def iso8601(value: datetime | None) -> str | None:
    """Twilio's v1 date format: ``2015-07-30T20:12:31Z``."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
