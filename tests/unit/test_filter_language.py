"""The segment filter language (SPEC F-CONTACT-3): parsing, canonical text, positioned errors.

Properties (hypothesis): every tree prints to a text that parses back to it; any text at
all either parses or raises ``FilterError`` with a column inside the text (never another
exception); and the canonical text of what parsed is a fixed point.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from textwire.contacts import filter_language as fl
from textwire.contacts.filter_language import (
    And,
    Compare,
    Consent,
    Day,
    Event,
    FilterError,
    Flag,
    Has,
    InList,
    InSet,
    Not,
    Number,
    Or,
    Text,
    Within,
    format_filter,
    parse,
)

names = st.from_regex(r"[a-z_][a-z0-9_]{0,12}", fullmatch=True).filter(
    lambda n: n not in fl.KEYWORDS
)
values = st.one_of(
    st.builds(Text, st.text(max_size=12)),
    st.builds(Number, st.from_regex(r"-?[0-9]{1,6}(\.[0-9]{1,3})?", fullmatch=True).map(Decimal)),
    st.builds(Day, st.dates(min_value=date(1, 1, 1))),
    st.builds(Flag, st.booleans()),
)
windows = st.one_of(
    st.none(),
    st.builds(Within, st.integers(0, 3650), st.sampled_from(["h", "d", "w"])).filter(
        lambda w: w.hours <= fl.MAX_DURATION_HOURS
    ),
    st.builds(fl.After, st.dates()),
    st.builds(fl.Before, st.dates()),
)
leaves = st.one_of(
    st.builds(Compare, names, st.sampled_from(["=", "!=", "<", "<=", ">", ">="]), values),
    st.builds(
        Compare,
        names,
        st.sampled_from(["contains", "starts_with"]),
        st.builds(Text, st.text(max_size=8)),
    ),
    st.builds(InSet, names, st.lists(values, min_size=1, max_size=3).map(tuple)),
    st.builds(Has, names),
    st.builds(Event, st.sampled_from(fl.EVENTS), windows),
    st.builds(Consent, st.sampled_from(fl.CONSENT_STATUSES)),
    st.builds(InList, st.text(min_size=1, max_size=10)),
)
trees = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.builds(Not, inner),
        st.builds(And, st.lists(inner, min_size=2, max_size=3).map(tuple)),
        st.builds(Or, st.lists(inner, min_size=2, max_size=3).map(tuple)),
    ),
    max_leaves=8,
)
# Text made of the language's own pieces, so that arbitrary input reaches deep into it.
pieces = st.sampled_from(
    [
        " ", "(", ")", ",", "=", "!=", "<=", ">", "and", "or", "not", "in", "has", "age",
        "clicked", "within", "30d", "3y", "after", "2020-01-01", "2020-13-01", "12", "-3.5",
        '"a', '"x"', "'y'", "\\", "in_list", "list", "consent", "subscribed", "true", "é", "1e5",
    ]
)  # fmt: skip
texts = st.one_of(st.text(max_size=60), st.lists(pieces, max_size=20).map("".join))


@given(trees)
@settings(max_examples=400)
def test_every_tree_round_trips_through_its_text(tree: fl.Node) -> None:
    assert parse(format_filter(tree)) == tree


@given(texts)
@settings(max_examples=600)
def test_any_text_is_a_tree_or_a_positioned_error(text: str) -> None:
    try:
        tree = parse(text)
    except FilterError as exc:
        assert 1 <= exc.column <= len(text) + 1
        assert exc.expected and exc.found
        assert f"column {exc.column}" in str(exc)
    else:
        canonical = format_filter(tree)
        assert parse(canonical) == tree
        assert format_filter(parse(canonical)) == canonical


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        (
            'first_name = "Ana" and age >= 30',
            And(
                (
                    Compare("first_name", "=", Text("Ana")),
                    Compare("age", ">=", Number(Decimal(30))),
                )
            ),
        ),
        ('city in ("Paris", "Lyon")', InSet("city", (Text("Paris"), Text("Lyon")))),
        ("birthday before 2000-01-01", Compare("birthday", "<", Day(date(2000, 1, 1)))),
        ("has email", Has("email")),
        ("consent = subscribed", Consent("subscribed")),
        ("consent != subscribed", Not(Consent("subscribed"))),
        ("clicked within 30d", Event("clicked", Within(30, "d"))),
        ("not messaged within 7d", Not(Event("messaged", Within(7, "d")))),
        ("opted_in after 2026-01-01", Event("opted_in", fl.After(date(2026, 1, 1)))),
        ('in_list "VIP"', InList("VIP")),
        ("list = LS0123", InList("LS0123")),
        ("CITY NOT IN ('a')", Not(InSet("city", (Text("a"),)))),
        ("a = 1 or b = 2 and c = 3", Or((Compare("a", "=", Number(Decimal(1))), And((
            Compare("b", "=", Number(Decimal(2))), Compare("c", "=", Number(Decimal(3)))))))),
        ("(a = 1 or b = 2) and has c", And((Or((Compare("a", "=", Number(Decimal(1))),
            Compare("b", "=", Number(Decimal(2))))), Has("c")))),
        ('note = "say \\"hi\\" \\\\o/"', Compare("note", "=", Text('say "hi" \\o/'))),
        ("vip == true", Compare("vip", "=", Flag(True))),
    ],
)  # fmt: skip
def test_examples_parse_to_their_trees(text: str, tree: fl.Node) -> None:
    assert parse(text) == tree


@pytest.mark.parametrize(
    ("text", "column", "expected"),
    [
        ("", 1, "a condition"),
        ("age >=", 7, "a value"),
        ("age >= 30 and", 14, "a condition"),
        ("age >= 30 city = 1", 11, "'and', 'or' or the end"),
        ('city = "Paris', 8, 'a closing "'),
        ("city = Paris", 8, "a value"),
        ("clicked within 30", 16, "a duration"),
        ("clicked within 2y", 16, "a duration in h, d or w"),
        ("x = 2021-02-29", 5, "a calendar date"),
        ("x = 12abc", 5, "a value"),
        ("x = 1.2.3", 5, "a number"),
        ("x ~ 1", 3, "a field, a value or an operator"),
        ("has and", 5, "a field name after 'has'"),
        ("not in_list", 12, "a list"),
        ("consent = maybe", 11, "subscribed, unsubscribed or unknown"),
        ("(" * 40 + "a = 1", 33, "nested"),
        ("x = 'a\\q'", 7, "after a backslash"),
    ],
)
def test_errors_name_the_column_and_what_was_expected(
    text: str, column: int, expected: str
) -> None:
    with pytest.raises(FilterError) as caught:
        parse(text)
    assert caught.value.column == column, caught.value
    assert expected in caught.value.expected, caught.value


def test_a_filter_too_long_is_refused_before_it_is_read() -> None:
    with pytest.raises(FilterError) as caught:
        parse("has a or " * 1000 + "has a")
    assert caught.value.column == fl.MAX_LENGTH + 1


def test_positions_point_at_the_field_for_later_errors() -> None:
    tree = parse('has x and  shoe_size > 40 and in_list "VIP"')
    assert isinstance(tree, And)
    compare, in_list = tree.items[1], tree.items[2]
    assert isinstance(compare, Compare) and compare.at == 11
    assert isinstance(in_list, InList) and in_list.at == 38
