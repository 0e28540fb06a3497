"""Tests for textwire.senders.selection, the sender selection policy (F-SVC-2, F-SVC-3,
F-SVC-8, F-SVC-9)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from importlib import resources
from typing import cast

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from textwire.phone import PhoneNumber, SenderKind, parse_phone
from textwire.senders.selection import (
    CODE_NO_SENDER_AVAILABLE,
    CODE_POOL_EMPTY,
    AlphaCountryRules,
    MessageKind,
    NoEligibleSender,
    OverlayTable,
    Pool,
    Rule,
    Selection,
    SelectionSettings,
    Sender,
    default_alpha_rules,
    default_overlays,
    is_eligible,
    select_sender,
)

SMS_MMS = frozenset({"sms", "mms"})


def long_code(sid: str, e164: str, **fields: object) -> Sender:
    number = parse_phone(e164)
    sender = Sender(sid, "long_code", e164, number.country, number.area_code)
    return replace(sender, **fields)  # type: ignore[arg-type]


def short_code(sid: str, value: str, country: str, **fields: object) -> Sender:
    return replace(Sender(sid, "short_code", value, country), **fields)  # type: ignore[arg-type]


def alpha(sid: str, value: str, country: str | None = None, **fields: object) -> Sender:
    return replace(Sender(sid, "alphanumeric", value, country), **fields)  # type: ignore[arg-type]


def toll_free(sid: str, e164: str, **fields: object) -> Sender:
    sender = Sender(sid, "toll_free", e164, "US", parse_phone(e164).area_code)
    return replace(sender, **fields)  # type: ignore[arg-type]


US_212 = parse_phone("+12125551234")
US_332 = parse_phone("+13325551234")
US_415 = parse_phone("+14155551234")
US_907 = parse_phone("+19075551234")  # Alaska: in no overlay group
CA_416 = parse_phone("+14165551234")
CA_647 = parse_phone("+16475551234")
GB = parse_phone("+447123123123")
FR = parse_phone("+33612345678")
IN = parse_phone("+919812345678")
DE = parse_phone("+4915123456789")

NYC_212 = long_code("PN212", "+12125550100")
NYC_646 = long_code("PN646", "+16465550100")
SF_415 = long_code("PN415", "+14155550100")
LA_310 = long_code("PN310", "+13105550100")
TORONTO_416 = long_code("PN416", "+14165550100")
TORONTO_647 = long_code("PN647", "+16475550100")
LONDON = long_code("PNGB", "+447123000123")
PARIS = long_code("PNFR", "+33612340000")
US_SHORT = short_code("SCUS", "60006", "US")
GB_SHORT = short_code("SCGB", "80080", "GB")
ACME = alpha("AIANY", "Acme")
ACME_FR = alpha("AIFR", "AcmeFR", "FR", registered_countries=frozenset({"FR"}))
TOLL_FREE = toll_free("PNTF", "+18005550100")


def choose(
    senders: Sequence[Sender],
    recipient: PhoneNumber,
    **options: object,
) -> Selection | NoEligibleSender:
    return select_sender(Pool(senders), recipient, **options)  # type: ignore[arg-type]


# --- the tiers, in order (F-SVC-2) ----------------------------------------------------------

TIER_CASES: list[tuple[str, list[Sender], PhoneNumber, dict[str, object], str, Rule]] = [
    # name, pool, recipient, options, expected sid, expected rule
    (
        "short code of the country first",
        [NYC_212, ACME, US_SHORT],
        US_212,
        {},
        "SCUS",
        "short_code",
    ),
    ("short code beats alpha abroad", [ACME, GB_SHORT, LONDON], GB, {}, "SCGB", "short_code"),
    ("other country's short code is no match", [US_SHORT, LONDON], GB, {}, "PNGB", "country"),
    (
        "carrier without short codes reroutes to long code, not alpha",
        [GB_SHORT, ACME, LONDON],
        GB,
        {"short_code_ok": False},
        "PNGB",
        "country",
    ),
    ("alpha where allowed", [ACME, LONDON], GB, {}, "AIANY", "alpha"),
    ("country-specific alpha first", [ACME, ACME_FR], FR, {}, "AIFR", "alpha"),
    ("alpha for another country is no match", [ACME_FR, LONDON], GB, {}, "PNGB", "country"),
    ("alpha forbidden in the US", [ACME, SF_415], US_212, {}, "PN415", "country"),
    ("alpha forbidden in Canada", [ACME, NYC_212], CA_416, {}, "PN212", "us_fallback"),
    ("same area code", [SF_415, NYC_646, NYC_212], US_212, {}, "PN212", "area_code"),
    ("overlay of the area code", [SF_415, NYC_646], US_212, {}, "PN646", "overlay"),
    ("overlay both ways", [SF_415, NYC_212], US_332, {}, "PN212", "overlay"),
    ("Canadian overlay", [TORONTO_416, NYC_212], CA_647, {}, "PN416", "overlay"),
    ("area code not in overlay table", [SF_415], US_907, {}, "PN415", "country"),
    (
        "area-code geomatch off",
        [SF_415, NYC_212],
        US_212,
        {"settings": SelectionSettings(area_code_geomatch=False)},
        "PN212",  # both are "country" candidates; the scaler's last tie-break is the sid
        "country",
    ),
    (
        "geomatch off still prefers the country",
        [LONDON, SF_415],
        US_212,
        {"settings": SelectionSettings(area_code_geomatch=False)},
        "PN415",
        "country",
    ),
    ("country code geomatch", [NYC_212, LONDON, PARIS], FR, {}, "PNFR", "country"),
    ("toll-free is a US sender", [TOLL_FREE, LONDON], US_212, {}, "PNTF", "country"),
    ("toll-free is a Canadian sender", [TOLL_FREE, NYC_212], CA_416, {}, "PNTF", "country"),
    ("area code beats toll-free", [TOLL_FREE, NYC_212], US_212, {}, "PN212", "area_code"),
    ("US long code as fallback", [NYC_212, PARIS], GB, {}, "PN212", "us_fallback"),
    (
        "toll-free is no international fallback",
        [TOLL_FREE, PARIS],
        DE,
        {"settings": SelectionSettings(fallback_to_any=True)},
        "PNFR",
        "any",
    ),
]


@pytest.mark.parametrize(
    ("pool", "recipient", "options", "sid", "rule"),
    [case[1:] for case in TIER_CASES],
    ids=[case[0] for case in TIER_CASES],
)
def test_tiers(
    pool: list[Sender],
    recipient: PhoneNumber,
    options: dict[str, object],
    sid: str,
    rule: Rule,
) -> None:
    """F-SVC-2: sticky → short code → alpha → area code/overlay → country → US → none."""
    assert choose(pool, recipient, **options) == Selection(sid, rule)


def test_no_eligible_sender_names_what_is_missing() -> None:
    """F-SVC-2: no eligible sender → a coded outcome that says why, never an exception."""
    outcome = choose([PARIS, ACME], US_212)
    assert isinstance(outcome, NoEligibleSender)
    assert outcome.code == CODE_NO_SENDER_AVAILABLE
    assert "not allowed in US" in outcome.reason
    assert "no long code of US" in outcome.reason


def test_any_fallback_is_off_by_default() -> None:
    assert isinstance(choose([PARIS], DE), NoEligibleSender)
    assert choose([PARIS], DE, settings=SelectionSettings(fallback_to_any=True)) == Selection(
        "PNFR", "any"
    )


@pytest.mark.parametrize("pool", [[], [replace(NYC_212, enabled=False)]])
def test_pool_without_enabled_senders(pool: list[Sender]) -> None:
    outcome = choose(pool, US_212)
    assert isinstance(outcome, NoEligibleSender)
    assert outcome.code == CODE_POOL_EMPTY


def test_disabled_sender_is_never_chosen() -> None:
    assert choose([replace(NYC_212, enabled=False), SF_415], US_212) == Selection(
        "PN415", "country"
    )


def test_short_code_unreachable_with_only_short_codes() -> None:
    outcome = choose([GB_SHORT], GB, short_code_ok=False)
    assert isinstance(outcome, NoEligibleSender)
    assert "cannot take short codes" in outcome.reason


# --- sticky sender (F-SVC-3) ----------------------------------------------------------------


def test_sticky_mapping_wins_over_every_tier() -> None:
    assert choose([US_SHORT, NYC_212, SF_415], US_212, sticky_sid="PN415") == Selection(
        "PN415", "sticky"
    )


def test_sticky_mapping_ignored_while_sticky_sender_off() -> None:
    off = SelectionSettings(sticky_sender=False)
    outcome = choose([NYC_212, SF_415], US_212, sticky_sid="PN415", settings=off)
    assert outcome == Selection("PN212", "area_code")


@pytest.mark.parametrize(
    ("pool", "why"),
    [
        ([NYC_212], "number removed from the pool"),
        ([NYC_212, replace(SF_415, enabled=False)], "number disabled"),
        ([NYC_212, replace(ACME, sid="PN415")], "alpha ID to a country forbidding it"),
    ],
)
def test_sticky_mapping_to_ineligible_sender_is_not_used(pool: list[Sender], why: str) -> None:
    assert choose(pool, US_212, sticky_sid="PN415") == Selection("PN212", "area_code"), why


# --- MMS and the MMS converter (F-SVC-8) ----------------------------------------------------


def test_mms_goes_through_an_mms_capable_sender() -> None:
    mms_415 = replace(SF_415, capabilities=SMS_MMS)
    assert choose([NYC_212, mms_415], US_212, message="mms") == Selection("PN415", "country")


def test_mms_sticky_sender_without_mms_is_skipped() -> None:
    mms_415 = replace(SF_415, capabilities=SMS_MMS)
    outcome = choose([NYC_212, mms_415], US_212, message="mms", sticky_sid="PN212")
    assert outcome == Selection("PN415", "country")


def test_mms_converter_sends_as_sms() -> None:
    assert choose([NYC_212], US_212, message="mms") == Selection(
        "PN212", "area_code", mms_converted=True
    )


def test_mms_without_converter_has_no_sender() -> None:
    off = SelectionSettings(mms_converter=False)
    outcome = choose([NYC_212], US_212, message="mms", settings=off)
    assert isinstance(outcome, NoEligibleSender)
    assert "MMS" in outcome.reason


# --- alpha pre-registration alert (F-SVC-9) -------------------------------------------------


@pytest.mark.parametrize(
    ("sender", "recipient", "warning"),
    [
        (ACME, IN, "alpha_registration_required"),
        (replace(ACME, registered_countries=frozenset({"IN"})), IN, None),
        (ACME, FR, "alpha_registration_recommended"),
        (ACME, GB, None),
        (ACME, DE, None),
    ],
)
def test_alpha_registration_warning(
    sender: Sender, recipient: PhoneNumber, warning: str | None
) -> None:
    """F-SVC-9: warn, never block, for an unregistered alpha where registration is wanted."""
    outcome = choose([sender], recipient)
    assert outcome == Selection(sender.sid, "alpha", warning=warning)  # type: ignore[arg-type]


# --- the scaler -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("loads", "expected"),
    [
        ({"A": (2, 1.0), "B": (1, 9.0), "C": (3, 0.0)}, "B"),  # fewest sticky mappings
        ({"A": (1, 5.0), "B": (1, 2.0), "C": (1, 3.0)}, "B"),  # then least recently used
        ({"A": (0, 0.0), "B": (0, 0.0), "C": (0, 0.0)}, "A"),  # then the smallest sid
    ],
)
def test_scaler_order(loads: dict[str, tuple[int, float]], expected: str) -> None:
    senders = [
        replace(SF_415, sid=sid, sticky_count=count, last_used=used)
        for sid, (count, used) in loads.items()
    ]
    assert choose(senders, US_212) == Selection(expected, "country")


def test_scaler_follows_recorded_load() -> None:
    pool = Pool([replace(SF_415, sid=sid) for sid in "ABC"])
    pool.record_use("A", 1.0)
    assert select_sender(pool, US_212) == Selection("B", "country")
    pool.add_mappings("B")
    pool.add_mappings("C")
    assert select_sender(pool, US_212) == Selection("A", "country")
    pool.add_mappings("C", -1)
    assert select_sender(pool, US_212) == Selection("C", "country")
    pool.record_use("unknown", 1.0)  # ignored, never raises
    pool.add_mappings("unknown")
    assert pool.sender("C") == replace(SF_415, sid="C")
    assert pool.sender("unknown") is None


def test_record_send_is_use_plus_new_mapping() -> None:
    pool = Pool([replace(SF_415, sid=sid) for sid in "AB"])
    pool.record_send("A", 3.0, new_mapping=True)
    pool.record_send("B", 4.0)
    pool.record_send("unknown", 5.0, new_mapping=True)  # ignored, never raises
    assert pool.sender("A") == replace(SF_415, sid="A", sticky_count=1, last_used=3.0)
    assert pool.sender("B") == replace(SF_415, sid="B", last_used=4.0)
    assert select_sender(pool, US_212) == Selection("B", "country")


def test_long_run_of_updates_keeps_choosing_the_least_loaded() -> None:
    """Thousands of lazy heap updates, rising and falling: picks stay the least loaded."""
    pool = Pool([replace(SF_415, sid=sid) for sid in "ABC"] + [US_SHORT, ACME])
    for at in range(1, 3000):
        chosen = select_sender(pool, US_212)
        assert isinstance(chosen, Selection)
        expected = min(pool, key=lambda s: (s.sticky_count, s.last_used, s.sid))
        assert chosen.sender_sid in {expected.sid, "SCUS"}
        if chosen.sender_sid == "SCUS":
            assert chosen.rule == "short_code"
        pool.record_use("ABC"[at % 3], float(at))
        if at % 7 == 0:
            pool.add_mappings("ABC"[at % 2], 1 if at % 3 else -1)
    assert select_sender(Pool(list(pool)), US_212) == select_sender(pool, US_212)


# --- data tables ----------------------------------------------------------------------------


def test_overlay_table_from_groups() -> None:
    table = OverlayTable.from_groups([["212", "646", "917"], ["718", "917"], ["415", "628"]])
    assert table.overlays_of("917") == {"212", "646", "718"}
    assert table.overlays_of("212") == {"646", "917"}
    assert table.overlays_of("907") == frozenset()


def test_shipped_overlay_table() -> None:
    table = default_overlays()
    assert {"646", "332", "917"} <= table.overlays_of("212")
    assert "323" in table.overlays_of("213")
    assert "424" in table.overlays_of("310")
    assert "628" in table.overlays_of("415")
    assert "647" in table.overlays_of("416")
    for code, others in table.neighbours.items():
        assert len(code) == 3 and code.isdigit() and code[0] in "23456789", code
        assert code not in others and others
        assert all(code in table.overlays_of(other) for other in others), code


def test_shipped_alpha_rules() -> None:
    rules = default_alpha_rules()
    assert {"US", "CA"} <= rules.forbidden
    assert rules.policy("US") == "forbidden"
    assert rules.policy("IN") == "registration_required"
    assert rules.policy("GB") == "allowed"
    lists = [rules.forbidden, rules.registration_required, rules.registration_recommended]
    for i, first in enumerate(lists):
        assert first <= phonenumbers.SUPPORTED_REGIONS
        for second in lists[i + 1 :]:
            assert not first & second


def test_shipped_data_is_valid_json_with_descriptions() -> None:
    for name in ("nanp_overlays.json", "alpha_sender_countries.json"):
        text = resources.files("textwire").joinpath("data", name).read_text(encoding="utf-8")
        assert json.loads(text)["description"]


# --- properties -----------------------------------------------------------------------------

RECIPIENTS = [US_212, US_332, US_415, US_907, CA_416, CA_647, GB, FR, IN, DE]
COUNTRIES = ["US", "CA", "GB", "FR", "IN", "DE"]
AREA_CODES = ["212", "646", "917", "332", "718", "415", "628", "416", "647", "907"]
RULES = AlphaCountryRules(
    forbidden=frozenset({"US", "CA"}),
    registration_required=frozenset({"IN"}),
    registration_recommended=frozenset({"FR"}),
)
OVERLAYS = OverlayTable.from_groups(
    [["212", "646", "332", "917"], ["718", "917"], ["415", "628"], ["416", "647"]]
)


@st.composite
def senders(draw: st.DrawFn, sid: str) -> Sender:
    kind = draw(st.sampled_from(["long_code", "short_code", "toll_free", "alphanumeric"]))
    country: str | None = draw(st.sampled_from(COUNTRIES))
    if kind == "alphanumeric":
        country = draw(st.sampled_from([None, *COUNTRIES]))
    area = draw(st.sampled_from(AREA_CODES)) if kind == "long_code" else None
    return Sender(
        sid=sid,
        kind=cast(SenderKind, kind),
        value=sid,
        country=country,
        area_code=area,
        capabilities=draw(st.sampled_from([frozenset({"sms"}), SMS_MMS, frozenset({"mms"})])),
        sticky_count=draw(st.integers(0, 3)),
        last_used=float(draw(st.integers(0, 5))),
        enabled=draw(st.booleans() | st.just(True)),
        registered_countries=draw(st.frozensets(st.sampled_from(COUNTRIES), max_size=2)),
    )


@st.composite
def pools(draw: st.DrawFn) -> list[Sender]:
    size = draw(st.integers(0, 12))
    return [draw(senders(f"S{i:02d}")) for i in range(size)]


selection_settings = st.builds(
    SelectionSettings,
    sticky_sender=st.booleans(),
    area_code_geomatch=st.booleans(),
    mms_converter=st.booleans(),
    fallback_to_any=st.booleans(),
)
messages: st.SearchStrategy[MessageKind] = st.sampled_from(["sms", "mms"])


def reference_select(
    pool: Sequence[Sender],
    recipient: PhoneNumber,
    message: MessageKind,
    sticky_sid: str | None,
    options: SelectionSettings,
    short_code_ok: bool,
) -> tuple[str, Rule] | None:
    """The policy written out as plainly as possible: a linear scan per tier."""
    country, code = recipient.country, recipient.area_code
    by_sid = {s.sid: s for s in pool}
    usable = [s for s in pool if s.enabled and message in s.capabilities]

    def of(kind: str, where: Callable[[Sender], bool] = lambda _: True) -> list[Sender]:
        return [s for s in usable if s.kind == kind and where(s)]

    sticky = by_sid.get(sticky_sid or "")
    if (
        options.sticky_sender
        and sticky is not None
        and is_eligible(
            sticky,
            recipient,
            message,
            alpha_rules=RULES,
            settings=options,
            short_code_ok=short_code_ok,
        )
    ):
        return sticky.sid, "sticky"
    nanp = ("US", "CA")
    has_short = any(s.enabled and s.kind == "short_code" and s.country == country for s in pool)
    alpha_ok = not has_short and country not in RULES.forbidden
    geo = options.area_code_geomatch and code is not None and country in nanp
    tiers: list[tuple[Rule, list[Sender]]] = [
        ("short_code", of("short_code", lambda s: s.country == country) if short_code_ok else []),
        ("alpha", of("alphanumeric", lambda s: s.country == country) if alpha_ok else []),
        ("alpha", of("alphanumeric", lambda s: s.country is None) if alpha_ok else []),
        (
            "area_code",
            of("long_code", lambda s: s.country == country and s.area_code == code) if geo else [],
        ),
        (
            "overlay",
            of(
                "long_code",
                lambda s: s.country == country and s.area_code in OVERLAYS.overlays_of(code or ""),
            )
            if geo
            else [],
        ),
        (
            "country",
            of("long_code", lambda s: s.country == country)
            + (of("toll_free") if country in nanp else []),
        ),
        ("us_fallback", of("long_code", lambda s: s.country == "US")),
        ("any", of("long_code") if options.fallback_to_any else []),
    ]
    for rule, candidates in tiers:
        if candidates:
            best = min(candidates, key=lambda s: (s.sticky_count, s.last_used, s.sid))
            return best.sid, rule
    return None


def expected_outcome(
    pool: Sequence[Sender],
    recipient: PhoneNumber,
    message: MessageKind,
    sticky_sid: str | None,
    options: SelectionSettings,
    short_code_ok: bool,
) -> tuple[str, Rule, bool] | None:
    found = reference_select(pool, recipient, message, sticky_sid, options, short_code_ok)
    if found is None and message == "mms" and options.mms_converter:
        converted = reference_select(pool, recipient, "sms", sticky_sid, options, short_code_ok)
        return None if converted is None else (*converted, True)
    return None if found is None else (*found, False)


@settings(max_examples=400, deadline=None)
@given(
    pools(),
    st.sampled_from(RECIPIENTS),
    messages,
    st.sampled_from([None, "S00", "S01", "S05", "nope"]),
    selection_settings,
    st.booleans(),
    st.lists(st.tuples(st.integers(0, 11), st.integers(-1, 2), st.integers(0, 9)), max_size=20),
)
def test_selection_matches_the_plain_policy_and_is_eligible(
    senders_: list[Sender],
    recipient: PhoneNumber,
    message: MessageKind,
    sticky_sid: str | None,
    options: SelectionSettings,
    short_code_ok: bool,
    updates: list[tuple[int, int, int]],
) -> None:
    """F-SVC-2: the indexed pool decides exactly as a linear scan of the policy would, after
    any load updates, and the chosen sender is always eligible for the message."""
    pool = Pool(senders_, overlays=OVERLAYS, alpha_rules=RULES)
    current = {s.sid: s for s in senders_}
    for index, delta, at in updates:
        if not senders_:
            break
        sid = senders_[index % len(senders_)].sid
        pool.add_mappings(sid, delta)
        pool.record_use(sid, float(at))
        s = current[sid]
        current[sid] = replace(s, sticky_count=s.sticky_count + delta, last_used=float(at))
    assert sorted(pool, key=lambda s: s.sid) == sorted(current.values(), key=lambda s: s.sid)

    outcome = select_sender(
        pool,
        recipient,
        message=message,
        sticky_sid=sticky_sid,
        settings=options,
        short_code_ok=short_code_ok,
    )
    expected = expected_outcome(
        list(current.values()), recipient, message, sticky_sid, options, short_code_ok
    )
    if expected is None:
        assert isinstance(outcome, NoEligibleSender)
        assert outcome.reason
        return
    assert isinstance(outcome, Selection)
    assert (outcome.sender_sid, outcome.rule, outcome.mms_converted) == expected
    chosen = current[outcome.sender_sid]
    sent_as: MessageKind = "sms" if outcome.mms_converted else message
    assert is_eligible(
        chosen,
        recipient,
        sent_as,
        alpha_rules=RULES,
        settings=options,
        short_code_ok=short_code_ok,
    )


@settings(deadline=None)  # timing on a shared CI machine is not what is tested
@given(
    pools(),
    st.sampled_from(RECIPIENTS),
    messages,
    st.lists(st.tuples(st.integers(0, 11), st.integers(0, 2), st.integers(0, 99)), max_size=30),
)
def test_sticky_mapping_is_kept_while_the_number_stays(
    senders_: list[Sender],
    recipient: PhoneNumber,
    message: MessageKind,
    updates: list[tuple[int, int, int]],
) -> None:
    """F-SVC-3: once a mapping is made, every later message uses it while the number stays in
    the pool, whatever the load; toggling sticky sender off ignores it; removing the number
    ends it."""
    pool = Pool(senders_, overlays=OVERLAYS, alpha_rules=RULES)
    first = select_sender(pool, recipient, message=message)
    if not isinstance(first, Selection):
        return
    mapped = first.sender_sid
    pool.add_mappings(mapped)
    for index, delta, at in updates:
        sid = senders_[index % len(senders_)].sid
        pool.add_mappings(sid, delta)
        pool.record_use(sid, float(at))
        again = select_sender(pool, recipient, message=message, sticky_sid=mapped)
        assert again == Selection(mapped, "sticky", first.mms_converted, again.warning)  # type: ignore[union-attr]

    off = SelectionSettings(sticky_sender=False)
    ignored = select_sender(pool, recipient, message=message, sticky_sid=mapped, settings=off)
    assert isinstance(ignored, Selection) and ignored.rule != "sticky"

    without = Pool([s for s in pool if s.sid != mapped], overlays=OVERLAYS, alpha_rules=RULES)
    after = select_sender(without, recipient, message=message, sticky_sid=mapped)
    assert not (isinstance(after, Selection) and after.sender_sid == mapped)


@settings(deadline=None)  # timing on a shared CI machine is not what is tested
@given(
    st.integers(1, 12),
    st.integers(0, 200),
    st.sampled_from(["long_code", "short_code", "alphanumeric"]),
    st.booleans(),
)
def test_scaler_spreads_evenly_across_equal_senders(
    count: int, messages_sent: int, kind: str, sticky: bool
) -> None:
    """F-SVC-2 scaler: fed back its own choices (each send recorded, each new recipient a new
    sticky mapping), N equal senders stay within one message of each other."""
    template = {
        "long_code": SF_415,
        "short_code": GB_SHORT,
        "alphanumeric": ACME,
    }[kind]
    recipient = GB if kind != "long_code" else US_212
    pool = Pool([replace(template, sid=f"S{i:02d}") for i in range(count)])
    sent: Counter[str] = Counter({f"S{i:02d}": 0 for i in range(count)})
    for at in range(1, messages_sent + 1):
        chosen = select_sender(pool, recipient)
        assert isinstance(chosen, Selection)
        sent[chosen.sender_sid] += 1
        pool.record_use(chosen.sender_sid, float(at))
        if sticky:
            pool.add_mappings(chosen.sender_sid)
    assert max(sent.values()) - min(sent.values()) <= 1


text_or_none = st.none() | st.text(max_size=4)


@st.composite
def arbitrary_senders(draw: st.DrawFn) -> Sender:
    return Sender(
        sid=draw(st.text(max_size=3)),
        kind=cast(SenderKind, draw(st.sampled_from(["long_code", "short_code"]) | st.text())),
        value=draw(st.text(max_size=4)),
        country=draw(text_or_none | st.sampled_from(COUNTRIES)),
        area_code=draw(text_or_none | st.sampled_from(AREA_CODES)),
        capabilities=draw(st.frozensets(st.sampled_from(["sms", "mms", "fax"]) | st.text())),
        sticky_count=draw(st.integers()),
        last_used=draw(st.floats()),
        enabled=draw(st.booleans()),
        registered_countries=draw(st.frozensets(st.text(max_size=2), max_size=2)),
    )


@settings(deadline=None)  # timing on a shared CI machine is not what is tested
@given(
    st.lists(arbitrary_senders(), max_size=8),
    st.sampled_from(RECIPIENTS),
    messages,
    st.none() | st.text(max_size=3),
    selection_settings,
    st.booleans(),
    st.lists(st.tuples(st.text(max_size=3), st.integers(), st.floats()), max_size=5),
)
def test_selection_never_raises(
    senders_: list[Sender],
    recipient: PhoneNumber,
    message: MessageKind,
    sticky_sid: str | None,
    options: SelectionSettings,
    short_code_ok: bool,
    updates: list[tuple[str, int, float]],
) -> None:
    """Issue 5, bad input: any pool (odd kinds, duplicate sids, NaN loads) gives a coded
    outcome, never an exception."""
    pool = Pool(senders_)
    for sid, delta, at in updates:
        pool.add_mappings(sid, delta)
        pool.record_use(sid, at)
    outcome = select_sender(
        pool,
        recipient,
        message=message,
        sticky_sid=sticky_sid,
        settings=options,
        short_code_ok=short_code_ok,
    )
    if isinstance(outcome, Selection):
        assert outcome.sender_sid in pool
    else:
        assert outcome.reason and outcome.code in (CODE_NO_SENDER_AVAILABLE, CODE_POOL_EMPTY)
