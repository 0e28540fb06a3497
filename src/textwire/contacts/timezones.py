"""A contact's time zone (F-CONTACT-1): explicit, else from its number, else the account's.

The source is recorded with the zone (``explicit`` | ``number`` | ``account``) so a later
change of the account default or of the contact's numbers can recompute exactly the zones
that were inferred, and never overwrite one a client set.

From a number: ``phonenumbers`` maps a number's prefix to the zones it may be in. A NANP
number is looked up by its area code (``+1 212`` → New York); elsewhere the prefix is
usually the country. When it names several zones, the pick is deterministic: the first of
the country's zones in :data:`PREFERRED` order that is among them (the most populous zone
first), else the alphabetically first. A number with no known zone (non-geographic, or
``Etc/Unknown``) gives none, and the account default applies.
"""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final, Literal, get_args

import phonenumbers
from phonenumbers import timezone as pn_timezone

TimeZoneSource = Literal["explicit", "number", "account"]
TIME_ZONE_SOURCES: Final[tuple[TimeZoneSource, ...]] = get_args(TimeZoneSource)
DEFAULT_TIME_ZONE: Final = "UTC"
"""The account default until the account sets one."""

UNKNOWN: Final = "Etc/Unknown"
# Multi-zone countries: their zones, most populous first, for a number that names several.
PREFERRED: Final[Mapping[str, tuple[str, ...]]] = {
    "US": (
        "America/New_York",
        "America/Chicago",
        "America/Los_Angeles",
        "America/Denver",
        "America/Phoenix",
        "America/Anchorage",
        "Pacific/Honolulu",
    ),
    "CA": ("America/Toronto", "America/Vancouver", "America/Edmonton", "America/Winnipeg"),
    "RU": ("Europe/Moscow", "Asia/Yekaterinburg", "Asia/Novosibirsk"),
    "AU": ("Australia/Sydney", "Australia/Brisbane", "Australia/Perth", "Australia/Adelaide"),
    "BR": ("America/Sao_Paulo", "America/Manaus"),
    "MX": ("America/Mexico_City", "America/Monterrey", "America/Tijuana"),
    "GB": ("Europe/London",),
    "ID": ("Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura"),
    "KZ": ("Asia/Almaty",),
    "AR": ("America/Argentina/Buenos_Aires",),
    "CN": ("Asia/Shanghai",),
    "ES": ("Europe/Madrid",),
    "PT": ("Europe/Lisbon",),
    "CL": ("America/Santiago",),
    "NZ": ("Pacific/Auckland",),
}


class TimeZoneError(ValueError):
    def __init__(self, field: str, rule: str) -> None:
        self.field = field
        self.rule = rule
        super().__init__(f"{field}: {rule}")


@dataclass(frozen=True)
class ZoneChoice:
    time_zone: str
    source: TimeZoneSource


@functools.cache
def _known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def check_time_zone(value: object, *, field: str = "TimeZone") -> str:
    """``value`` if it names an IANA time zone (e.g. ``Europe/Paris``); else TimeZoneError."""
    if not isinstance(value, str) or value.strip() not in _known_zones():
        shown = value if isinstance(value, str) else type(value).__name__
        raise TimeZoneError(field, f"{shown!r} is not an IANA time zone such as Europe/Paris")
    return value.strip()


def pick(region: str | None, candidates: Iterable[str]) -> str | None:
    """The deterministic choice among a number's candidate zones (module doc)."""
    zones = sorted({z for z in candidates if z != UNKNOWN and z in _known_zones()})
    if not zones:
        return None
    for preferred in PREFERRED.get(region or "", ()):
        if preferred in zones:
            return preferred
    return zones[0]


def zone_for_number(e164: str) -> str | None:
    """The time zone a number is in, by its area code (NANP) or country; None if unknown."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return None
    # The number's own region when its range is known, else the code's main region.
    region = phonenumbers.region_code_for_number(number) or (
        phonenumbers.region_code_for_country_code(number.country_code or 0)
    )
    zones = pn_timezone.time_zones_for_number(number)
    if len(zones) != 1 or zones[0] == UNKNOWN:
        # A mobile range is often listed country-wide or not at all; the geographical
        # table narrows many of those to the country's main zone.
        geographical = pn_timezone.time_zones_for_geographical_number(number)
        if len(geographical) < len(zones) or zones == (UNKNOWN,):
            zones = geographical
    return pick(region, zones)


def resolve(
    explicit: str | None, phone_numbers: Iterable[str], account_default: str | None
) -> ZoneChoice:
    """The contact's zone and where it came from: explicit, else the first of its numbers
    (in sorted order) with a known zone, else the account default (else UTC)."""
    if explicit:
        return ZoneChoice(explicit, "explicit")
    for e164 in sorted(phone_numbers):
        zone = zone_for_number(e164)
        if zone is not None:
            return ZoneChoice(zone, "number")
    return ZoneChoice(account_default or DEFAULT_TIME_ZONE, "account")
