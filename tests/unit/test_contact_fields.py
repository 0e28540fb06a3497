"""textwire.contacts.fields: keys, value coercion per type, applying changes (F-CONTACT-1)."""

from __future__ import annotations

import json
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from textwire.contacts.fields import (
    FIELD_TYPES,
    MAX_TEXT_LENGTH,
    RESERVED_KEYS,
    FieldError,
    FieldType,
    apply_changes,
    as_text,
    check_key,
    check_type,
    coerce,
)

KEYS = st.from_regex(r"[a-z][a-z0-9_]{0,63}", fullmatch=True).filter(
    lambda k: k not in RESERVED_KEYS
)
VALUES: dict[FieldType, st.SearchStrategy[object]] = {
    "text": st.text(min_size=1, max_size=MAX_TEXT_LENGTH).filter(lambda s: "\x00" not in s),
    "number": st.one_of(
        st.integers(min_value=-(10**17), max_value=10**17),
        st.floats(allow_nan=False, allow_infinity=False),
    ),
    "date": st.dates(),
    "boolean": st.booleans(),
}


@given(KEYS)
def test_keys_of_the_documented_shape_are_accepted(key: str) -> None:
    assert check_key(key) == key


@pytest.mark.parametrize(
    "key", ["", "1abc", "Abc", "a-b", "a" * 65, "é", "a b", None, 3, "phone", "time_zone"]
)
def test_bad_or_reserved_keys_are_refused_naming_the_field(key: object) -> None:
    with pytest.raises(FieldError) as err:
        check_key(key, field="Key")
    assert err.value.field == "Key"


def test_types_are_the_four_documented() -> None:
    assert FIELD_TYPES == ("text", "number", "date", "boolean")
    assert check_type("date") == "date"
    with pytest.raises(FieldError, match="must be one of text, number, date, boolean"):
        check_type("datetime")


@given(st.sampled_from(FIELD_TYPES).flatmap(lambda t: st.tuples(st.just(t), VALUES[t])))
def test_stored_values_are_json_scalars_and_coerce_to_themselves(
    pair: tuple[FieldType, object],
) -> None:
    """F-CONTACT-1: what is stored survives JSON and is a fixed point of coercion."""
    type_, value = pair
    stored = coerce(type_, value)
    assert stored is not None
    assert json.loads(json.dumps(stored)) == stored
    assert coerce(type_, stored) == stored
    # A CSV cell or form parameter holding the stored value's text gives the same value.
    again = coerce(type_, as_text(stored))
    assert again == stored and type(again) is type(stored)


@given(st.dates())
def test_dates_are_stored_as_iso_text_that_sorts_in_date_order(day: date) -> None:
    assert coerce("date", day.isoformat()) == day.isoformat()
    assert coerce("date", day) == day.isoformat()


@given(st.dates(), st.dates())
def test_stored_dates_compare_like_the_dates(a: date, b: date) -> None:
    """Segment filters compare dates as text in SQL: that must agree with date order."""
    sa, sb = coerce("date", a), coerce("date", b)
    assert isinstance(sa, str) and isinstance(sb, str)
    assert (sa < sb) == (a < b)


@given(st.integers(min_value=-(10**17), max_value=10**17))
def test_integer_text_becomes_an_integer(n: int) -> None:
    stored = coerce("number", str(n))
    assert stored == n and type(stored) is int


@pytest.mark.parametrize(
    ("type_", "value", "rule"),
    [
        ("number", "seven", "is not a number"),
        ("number", True, "not a boolean"),
        ("number", "1e999", "must be finite"),
        ("number", float("nan"), "must be finite"),
        ("number", 10**18, "below 10^18"),
        ("date", "2023-02-29", "not a calendar date"),
        ("date", "29/02/2024", "not a date as YYYY-MM-DD"),
        ("date", "20240229", "not a date as YYYY-MM-DD"),
        ("date", 20240229, "takes 'YYYY-MM-DD', not a number"),
        ("boolean", "maybe", "is not a boolean"),
        ("boolean", 1, "is not a boolean"),
        ("text", 5, "takes a string, not a number"),
        ("text", "x" * (MAX_TEXT_LENGTH + 1), "at most"),
        ("text", "a\x00b", "NUL"),
    ],
)
def test_bad_values_are_refused_naming_the_field_and_rule(
    type_: FieldType, value: object, rule: str
) -> None:
    with pytest.raises(FieldError) as err:
        coerce(type_, value, field="Fields.x")
    assert err.value.field == "Fields.x"
    assert rule in err.value.rule


@pytest.mark.parametrize(
    ("text", "expected"), [("true", True), ("YES", True), (" 0 ", False), ("False", False)]
)
def test_boolean_text(text: str, expected: bool) -> None:
    assert coerce("boolean", text) is expected


@pytest.mark.parametrize("type_", FIELD_TYPES)
def test_null_and_empty_mean_no_value(type_: FieldType) -> None:
    assert coerce(type_, None) is None
    assert coerce(type_, "") is None


def test_apply_changes_merges_removes_and_leaves_the_rest() -> None:
    declared: dict[str, FieldType] = {"name": "text", "score": "number", "vip": "boolean"}
    current = {"name": "Ada", "score": 3, "vip": False}
    out = apply_changes(declared, current, {"score": "4.5", "vip": None})
    assert out == {"name": "Ada", "score": 4.5}
    assert current == {"name": "Ada", "score": 3, "vip": False}  # not modified in place


def test_apply_changes_checks_every_change_before_applying_any() -> None:
    declared: dict[str, FieldType] = {"name": "text", "score": "number"}
    with pytest.raises(FieldError) as err:
        apply_changes(declared, {}, {"name": "Ada", "nickname": "A"})
    assert err.value.field == "Fields.nickname"
    assert "unknown field" in err.value.rule and "name, score" in err.value.rule
    with pytest.raises(FieldError) as err:
        apply_changes(declared, {}, {"name": "Ada", "score": "lots"})
    assert err.value.field == "Fields.score"


@given(
    st.dictionaries(KEYS, st.sampled_from(FIELD_TYPES), max_size=5).flatmap(
        lambda declared: st.tuples(
            st.just(declared),
            st.fixed_dictionaries({k: VALUES[t] for k, t in declared.items()}),
        )
    )
)
def test_applying_values_then_applying_the_result_again_changes_nothing(
    pair: tuple[dict[str, FieldType], dict[str, object]],
) -> None:
    declared, changes = pair
    once = apply_changes(declared, None, changes)
    assert set(once) == set(changes)
    assert apply_changes(declared, once, once) == once
