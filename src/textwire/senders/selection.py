"""Sender selection for messaging services: which sender of a pool sends to a recipient.

Pure policy (SPEC F-SVC-2, F-SVC-3, F-SVC-8, F-SVC-9; issue 5 scope 1): plain data in,
a ``Selection`` (sender and the rule that picked it) or a ``NoEligibleSender`` (with why)
out, never an exception. The tiers, first match wins:

1. ``sticky``      the recipient's existing To→From mapping, when sticky sender is on and
                   that sender is still in the pool, enabled and able to send the message;
2. ``short_code``  a short code of the recipient's country, unless the caller says the
                   destination carrier cannot take short codes (reroute to long code);
3. ``alpha``       an alphanumeric ID, when the country allows alpha IDs and the pool has
                   no short code there; a country-specific alpha before a global one;
4. ``area_code``   (US/CA, area-code geomatch on) a long code of the recipient's country
                   with the recipient's area code,
5. ``overlay``     then one whose area code overlays it (``data/nanp_overlays.json``);
6. ``country``     a long code or toll-free number of the recipient's country;
7. ``us_fallback`` a US long code;
8. ``any``         any long code, only when ``SelectionSettings.fallback_to_any`` is on
                   (SPEC F-SVC-2 ends with "any"; issue 5 ends with "none", the default).

Within a tier the scaler picks the sender with the fewest sticky mappings, then the least
recently used, then the smallest sid (so decisions are reproducible). An MMS that no
sender can carry is re-selected as SMS when the MMS converter is on (F-SVC-8).

Speed: a ``Pool`` indexes its senders once into one heap per (tier, key, message kind),
so a decision is a few dictionary look-ups and heap peeks however large the pool is. Load
changes (``record_send``, ``record_use``, ``add_mappings``) cost O(1): a heap entry is
refreshed only when it reaches the top of a heap that is being read.
"""

from __future__ import annotations

import functools
import heapq
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import Final, Literal

from textwire.phone import PhoneNumber, SenderKind

MessageKind = Literal["sms", "mms"]
Rule = Literal[
    "sticky", "short_code", "alpha", "area_code", "overlay", "country", "us_fallback", "any"
]
AlphaPolicy = Literal["forbidden", "registration_required", "registration_recommended", "allowed"]
AlphaWarning = Literal["alpha_registration_required", "alpha_registration_recommended"]

GEOMATCH_COUNTRIES: Final[frozenset[str]] = frozenset({"US", "CA"})
# NANP toll-free numbers reach both countries, so they count as "country" senders for both.
TOLL_FREE_COUNTRIES: Final[tuple[str, ...]] = ("US", "CA")
CODE_NO_SENDER_AVAILABLE: Final = 21703
CODE_POOL_EMPTY: Final = 21704

_MESSAGE_KINDS: Final[tuple[MessageKind, ...]] = ("sms", "mms")
_ANY_COUNTRY: Final = "*"

# (tier, key, message kind), e.g. ("area", "212", "sms"); see Pool._index_keys.
_IndexKey = tuple[str, str, str]
# (sticky mappings, last used, sid, version): heap order is the scaler's order.
_Entry = tuple[int, float, str, int]
_Plan = tuple[tuple[Rule, _IndexKey], ...]
# Plans are cached per (country, area code, settings); bound the cache all the same.
_MAX_PLANS: Final = 65_536


@dataclass(frozen=True, slots=True)
class Sender:
    """One sender of a messaging service's pool, as selection sees it."""

    sid: str
    kind: SenderKind
    value: str
    country: str | None
    """ISO alpha-2; for an alphanumeric ID, the one destination it is for (``None``: any)."""
    area_code: str | None = None
    capabilities: frozenset[str] = frozenset({"sms"})
    """Message kinds it can send: ``"sms"`` and/or ``"mms"``."""
    sticky_count: int = 0
    """How many recipients are mapped to it (sticky sender, F-SVC-3)."""
    last_used: float = 0.0
    """Ordering key of its last use (any monotonic number; smaller is longer ago)."""
    enabled: bool = True
    registered_countries: frozenset[str] = frozenset()
    """Countries where this alphanumeric ID is pre-registered (F-SVC-9)."""


@dataclass(frozen=True, slots=True)
class SelectionSettings:
    """The service settings that steer selection (Twilio's defaults)."""

    sticky_sender: bool = True
    area_code_geomatch: bool = True
    mms_converter: bool = True
    fallback_to_any: bool = False


DEFAULT_SETTINGS: Final = SelectionSettings()


@dataclass(frozen=True, slots=True)
class Selection:
    """The chosen sender and the rule that chose it (recorded on the message)."""

    sender_sid: str
    rule: Rule
    mms_converted: bool = False
    """True when an MMS must go as SMS with a link to the media (F-SVC-8)."""
    warning: AlphaWarning | None = None
    """Set when an alpha ID goes unregistered to a country that wants registration."""


@dataclass(frozen=True, slots=True)
class NoEligibleSender:
    """No sender of the pool may send this message; ``reason`` says why, ``code`` is the
    error-catalogue code the message fails with."""

    reason: str
    code: int = CODE_NO_SENDER_AVAILABLE


@dataclass(frozen=True, slots=True)
class OverlayTable:
    """NANP area codes that share a region: ``overlays_of("212")`` → 646, 332, 917."""

    neighbours: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def from_groups(cls, groups: Iterable[Iterable[str]]) -> OverlayTable:
        """Build from groups of codes serving one region; a code may be in several."""
        neighbours: dict[str, set[str]] = {}
        for group in groups:
            codes = set(group)
            for code in codes:
                neighbours.setdefault(code, set()).update(codes - {code})
        return cls({code: frozenset(others) for code, others in neighbours.items()})

    def overlays_of(self, area_code: str) -> frozenset[str]:
        """The other codes of ``area_code``'s region; empty when the table lacks it."""
        return self.neighbours.get(area_code, frozenset())


@dataclass(frozen=True, slots=True)
class AlphaCountryRules:
    """Which destination countries forbid alpha sender IDs or want them registered."""

    forbidden: frozenset[str] = frozenset()
    registration_required: frozenset[str] = frozenset()
    registration_recommended: frozenset[str] = frozenset()

    def policy(self, country: str) -> AlphaPolicy:
        """The alpha sender ID rule of ``country`` (unlisted countries allow alpha IDs)."""
        if country in self.forbidden:
            return "forbidden"
        if country in self.registration_required:
            return "registration_required"
        if country in self.registration_recommended:
            return "registration_recommended"
        return "allowed"


def _read_data(name: str) -> dict[str, object]:
    text = resources.files("textwire").joinpath("data", name).read_text(encoding="utf-8")
    data: dict[str, object] = json.loads(text)
    return data


def _strings(value: object) -> list[str]:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


# Cached because the tables are immutable package data, read once per process.
@functools.cache
def default_overlays() -> OverlayTable:
    """The shipped NANP overlay table (``textwire/data/nanp_overlays.json``)."""
    groups = _read_data("nanp_overlays.json").get("groups", [])
    return OverlayTable.from_groups(_strings(group) for group in _list(groups))


@functools.cache
def default_alpha_rules() -> AlphaCountryRules:
    """The shipped alpha sender ID rules (``textwire/data/alpha_sender_countries.json``)."""
    data = _read_data("alpha_sender_countries.json")
    return AlphaCountryRules(
        forbidden=frozenset(_strings(data.get("forbidden"))),
        registration_required=frozenset(_strings(data.get("registration_required"))),
        registration_recommended=frozenset(_strings(data.get("registration_recommended"))),
    )


def _list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


class Pool:
    """A service's sender pool, indexed once for fast selection, with live scaler load.

    The pool owns the load figures (sticky mapping counts, last use) so that the scaler sees
    its own decisions: call ``record_use`` after each send and ``add_mappings`` when a sticky
    mapping is made or removed. A sid given twice keeps the last sender.
    """

    def __init__(
        self,
        senders: Iterable[Sender],
        *,
        overlays: OverlayTable | None = None,
        alpha_rules: AlphaCountryRules | None = None,
    ) -> None:
        self.overlays = default_overlays() if overlays is None else overlays
        self.alpha_rules = default_alpha_rules() if alpha_rules is None else alpha_rules
        self._senders: dict[str, Sender] = {sender.sid: sender for sender in senders}
        self._load: dict[str, tuple[int, float]] = {}
        self._version: dict[str, int] = {}
        self._keys: dict[str, tuple[_IndexKey, ...]] = {}
        self._heaps: dict[_IndexKey, list[_Entry]] = {}
        self._members: dict[_IndexKey, list[str]] = {}
        self._short_code_countries: set[str] = set()
        self._plans: dict[tuple[str, str | None, str, bool, bool, bool], _Plan] = {}
        self._capable: set[str] = set()
        overlay_index = self._reverse_overlays()
        for sender in self._senders.values():
            self._load[sender.sid] = (sender.sticky_count, sender.last_used)
            self._version[sender.sid] = 0
            if sender.enabled:
                self._index(sender, overlay_index)
        for heap in self._heaps.values():
            heapq.heapify(heap)

    def _reverse_overlays(self) -> dict[str, list[str]]:
        """Area code → recipient codes whose overlay tier it belongs to."""
        reverse: dict[str, list[str]] = {}
        for code, others in self.overlays.neighbours.items():
            for other in others:
                reverse.setdefault(other, []).append(code)
        return reverse

    def _index(self, sender: Sender, overlay_index: Mapping[str, list[str]]) -> None:
        kinds = [kind for kind in _MESSAGE_KINDS if kind in sender.capabilities]
        keys = tuple(
            dict.fromkeys(
                (tier, key, kind)
                for tier, key in _index_keys(sender, overlay_index)
                for kind in kinds
            )
        )
        self._keys[sender.sid] = keys
        entry = self._entry(sender.sid)
        for key in keys:
            self._heaps.setdefault(key, []).append(entry)
            self._members.setdefault(key, []).append(sender.sid)
        self._capable.update(kinds)
        if sender.kind == "short_code" and sender.country is not None:
            self._short_code_countries.add(sender.country)

    def _entry(self, sid: str) -> _Entry:
        count, used = self._load[sid]
        return (count, used, sid, self._version[sid])

    def __len__(self) -> int:
        return len(self._senders)

    def __contains__(self, sid: object) -> bool:
        return sid in self._senders

    def __iter__(self) -> Iterator[Sender]:
        """The senders with their current load."""
        return (self._current(sender) for sender in self._senders.values())

    def configured(self, sid: str) -> Sender | None:
        """The sender ``sid`` as given to the pool (load as it was then), or ``None``."""
        return self._senders.get(sid)

    def sender(self, sid: str) -> Sender | None:
        """The sender ``sid`` with its current load, or ``None`` when not in the pool."""
        sender = self._senders.get(sid)
        return None if sender is None else self._current(sender)

    def _current(self, sender: Sender) -> Sender:
        count, used = self._load[sender.sid]
        return replace(sender, sticky_count=count, last_used=used)

    @property
    def has_enabled_sender(self) -> bool:
        return bool(self._keys)

    def can_send(self, message: MessageKind) -> bool:
        """Whether any enabled sender has the capability for ``message``."""
        return message in self._capable

    def has_short_code(self, country: str) -> bool:
        """Whether an enabled short code of ``country`` is in the pool."""
        return country in self._short_code_countries

    def record_use(self, sid: str, at: float) -> None:
        """Note that ``sid`` sent at ordering key ``at`` (unknown sids are ignored)."""
        if sid in self._load:
            self._set_load(sid, self._load[sid][0], at)

    def add_mappings(self, sid: str, delta: int = 1) -> None:
        """Note ``delta`` sticky mappings made (or, negative, removed) for ``sid``."""
        if sid in self._load:
            count, used = self._load[sid]
            self._set_load(sid, count + delta, used)

    def record_send(self, sid: str, at: float, *, new_mapping: bool = False) -> None:
        """``record_use`` and, for a new sticky mapping, ``add_mappings`` in one step."""
        if sid in self._load:
            count, _ = self._load[sid]
            self._set_load(sid, count + 1 if new_mapping else count, at)

    def _set_load(self, sid: str, count: int, used: float) -> None:
        # The heaps are updated lazily (see ``best``): an entry may lag behind its sender's
        # load as long as it is never above it. A load that goes down breaks that, so the
        # heaps the sender is in are rebuilt (rare: mappings removed, a clock set back).
        went_down = (count, used) < self._load[sid]
        self._load[sid] = (count, used)
        self._version[sid] += 1
        if went_down:
            for key in self._keys.get(sid, ()):
                self._heaps[key] = [self._entry(member) for member in self._members[key]]
                heapq.heapify(self._heaps[key])

    def first_match(
        self,
        recipient: PhoneNumber,
        message: MessageKind,
        sticky_sid: str | None = None,
        settings: SelectionSettings = DEFAULT_SETTINGS,
        short_code_ok: bool = True,
    ) -> tuple[str, Rule] | None:
        """The sender and rule of the first tier that has a candidate, or ``None``."""
        if settings.sticky_sender and sticky_sid is not None:
            sticky = self._senders.get(sticky_sid)
            if sticky is not None and is_eligible(
                sticky,
                recipient,
                message,
                alpha_rules=self.alpha_rules,
                settings=settings,
                short_code_ok=short_code_ok,
            ):
                return sticky_sid, "sticky"
        plan_key = (
            recipient.country,
            recipient.area_code,
            message,
            settings.area_code_geomatch,
            settings.fallback_to_any,
            short_code_ok,
        )
        plan = self._plans.get(plan_key)
        if plan is None:
            plan = self._plan(recipient, message, settings, short_code_ok)
            if len(self._plans) >= _MAX_PLANS:
                self._plans.clear()
            self._plans[plan_key] = plan
        if not plan:
            return None
        rule, key = plan[0]
        return self._top(key), rule

    def _plan(
        self,
        recipient: PhoneNumber,
        message: MessageKind,
        settings: SelectionSettings,
        short_code_ok: bool,
    ) -> _Plan:
        """The tiers to try for such a recipient, keeping only those with candidates (the
        indexes never lose members, so the first one left is the one that will match)."""
        keys = (
            (rule, (tier, key, message))
            for rule, tier, key in _tiers(self, recipient, settings, short_code_ok)
        )
        return tuple((rule, key) for rule, key in keys if key in self._heaps)

    def _top(self, key: _IndexKey) -> str:
        """The scaler's pick in one non-empty index: fewest mappings, least recently used,
        smallest sid."""
        heap = self._heaps[key]
        version, load = self._version, self._load
        while True:
            count, used, sid, seen = heap[0]
            current = version[sid]
            if current == seen:
                return sid
            # Each sender has exactly one entry per heap, never above its load, so a fresh
            # top is the true minimum; a stale top is refreshed in place and sinks.
            count, used = load[sid]
            heapq.heapreplace(heap, (count, used, sid, current))

    def eligible(
        self,
        sid: str,
        recipient: PhoneNumber,
        message: MessageKind,
        settings: SelectionSettings = DEFAULT_SETTINGS,
        short_code_ok: bool = True,
    ) -> bool:
        """Whether sender ``sid`` is in the pool and eligible (see ``is_eligible``)."""
        sender = self._senders.get(sid)
        return sender is not None and is_eligible(
            sender,
            recipient,
            message,
            alpha_rules=self.alpha_rules,
            settings=settings,
            short_code_ok=short_code_ok,
        )


def _index_keys(sender: Sender, overlay_index: Mapping[str, list[str]]) -> list[tuple[str, str]]:
    """The (tier, key) indexes a sender is a candidate in."""
    country = sender.country
    if sender.kind == "short_code":
        return [("short_code", country)] if country else []
    if sender.kind == "alphanumeric":
        return [("alpha", country or _ANY_COUNTRY)]
    if sender.kind == "toll_free":
        return [("country", nanp) for nanp in TOLL_FREE_COUNTRIES]
    if sender.kind != "long_code":
        return []
    keys = [("any", _ANY_COUNTRY)]
    if country:
        keys.append(("country", country))
    if country == "US":
        keys.append(("us_fallback", "US"))
    code = sender.area_code
    if code and country in GEOMATCH_COUNTRIES:
        # Keyed by country too: a number across the US/CA border is never "local".
        keys.append(("area_code", f"{country}{code}"))
        keys.extend(("overlay", f"{country}{other}") for other in overlay_index.get(code, []))
    return keys


def select_sender(
    pool: Pool,
    recipient: PhoneNumber,
    *,
    message: MessageKind = "sms",
    sticky_sid: str | None = None,
    settings: SelectionSettings = DEFAULT_SETTINGS,
    short_code_ok: bool = True,
) -> Selection | NoEligibleSender:
    """Choose the sender of ``pool`` for a message to ``recipient`` (SPEC F-SVC-2).

    ``sticky_sid`` is the recipient's existing sticky mapping, if any (F-SVC-3);
    ``short_code_ok=False`` says the destination carrier cannot take short codes, so the
    short-code tier is skipped (reroute to a long code). Never raises.
    """
    if not pool.has_enabled_sender:
        return NoEligibleSender("the messaging service has no enabled sender", CODE_POOL_EMPTY)
    found = pool.first_match(recipient, message, sticky_sid, settings, short_code_ok)
    converted = False
    if found is None and message == "mms" and settings.mms_converter:
        found = pool.first_match(recipient, "sms", sticky_sid, settings, short_code_ok)
        converted = found is not None
    if found is None:
        return NoEligibleSender(_why_none(pool, recipient, message, settings, short_code_ok))
    sid, rule = found
    return Selection(sid, rule, converted, _alpha_warning(pool, recipient, sid, rule))


def _tiers(
    pool: Pool, recipient: PhoneNumber, settings: SelectionSettings, short_code_ok: bool
) -> Iterator[tuple[Rule, str, str]]:
    """The (rule, tier, key) indexes to try, in the order of SPEC F-SVC-2."""
    country = recipient.country
    if short_code_ok:
        yield "short_code", "short_code", country
    if not pool.has_short_code(country) and pool.alpha_rules.policy(country) != "forbidden":
        yield "alpha", "alpha", country
        yield "alpha", "alpha", _ANY_COUNTRY
    code = recipient.area_code
    if settings.area_code_geomatch and code and country in GEOMATCH_COUNTRIES:
        yield "area_code", "area_code", f"{country}{code}"
        yield "overlay", "overlay", f"{country}{code}"
    yield "country", "country", country
    yield "us_fallback", "us_fallback", "US"
    if settings.fallback_to_any:
        yield "any", "any", _ANY_COUNTRY


def _alpha_warning(pool: Pool, recipient: PhoneNumber, sid: str, rule: Rule) -> AlphaWarning | None:
    """F-SVC-9: warn (never block) when an unregistered alpha ID goes where registration
    is required or recommended."""
    if rule not in ("alpha", "sticky"):
        return None
    sender = pool.configured(sid)
    if sender is None or sender.kind != "alphanumeric":
        return None
    if recipient.country in sender.registered_countries:
        return None
    policy = pool.alpha_rules.policy(recipient.country)
    if policy == "registration_required":
        return "alpha_registration_required"
    if policy == "registration_recommended":
        return "alpha_registration_recommended"
    return None


def _why_none(
    pool: Pool,
    recipient: PhoneNumber,
    message: MessageKind,
    settings: SelectionSettings,
    short_code_ok: bool,
) -> str:
    """A sentence naming what the pool lacks for this recipient."""
    if not pool.can_send(message) and not (message == "mms" and settings.mms_converter):
        return f"no sender in the messaging service can send {message.upper()}"
    country = recipient.country
    lacks = [f"no short code for {country}"]
    if pool.has_short_code(country) and not short_code_ok:
        lacks = [f"the destination carrier cannot take short codes from {country}"]
    if pool.alpha_rules.policy(country) == "forbidden":
        lacks.append(f"alphanumeric sender IDs are not allowed in {country}")
    else:
        lacks.append("no alphanumeric sender ID")
    lacks.append(f"no long code of {country} or the US")
    return f"no eligible sender for {recipient.e164}: " + "; ".join(lacks)


def is_eligible(
    sender: Sender,
    recipient: PhoneNumber,
    message: MessageKind,
    *,
    alpha_rules: AlphaCountryRules,
    settings: SelectionSettings = DEFAULT_SETTINGS,
    short_code_ok: bool = True,
) -> bool:
    """Whether some tier may choose ``sender`` for this message: it is enabled, can send
    ``message`` and can reach the recipient's country under these settings.

    Selection only ever returns eligible senders, and honours a sticky mapping only while
    its sender stays eligible (an alpha ID whose destination starts forbidding alpha IDs,
    say, loses its recipients).
    """
    if not sender.enabled or message not in sender.capabilities:
        return False
    country = recipient.country
    if sender.kind == "short_code":
        return short_code_ok and sender.country == country
    if sender.kind == "alphanumeric":
        return alpha_rules.policy(country) != "forbidden" and sender.country in (None, country)
    if sender.kind == "toll_free":
        return country in TOLL_FREE_COUNTRIES
    if sender.kind == "long_code":
        return settings.fallback_to_any or sender.country in (country, "US")
    return False
