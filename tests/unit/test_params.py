"""Form bodies: ``form_pairs`` decodes exactly as ``urllib.parse.parse_qsl`` does, except
that it refuses what parse_qsl lets through (issue 11 §3): a ``%`` starting no escape, an
escape that is not UTF-8, and NUL. JSON bodies keep their types (issue 11 §3)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from textwire.api.params import EARLIEST, LATEST, body_params, form_pairs, parse_datetime
from textwire.errors import TextwireError

FORM = "application/x-www-form-urlencoded"
BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def reference(text: str) -> object:
    """parse_qsl, and "refused" for what textwire refuses and parse_qsl keeps: a ``%`` that
    starts no escape (parse_qsl keeps it literally), and NUL (no database column takes it
    alike)."""
    if BAD_ESCAPE.search(text):
        return "refused"
    try:
        pairs = parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        return "refused"
    if any("\x00" in name or "\x00" in value for name, value in pairs):
        return "refused"
    return pairs


def fast(text: str) -> object:
    try:
        return form_pairs(text)
    except TextwireError as exc:
        assert exc.code == 20001 and "Invalid parameter '" in exc.detail
        return "refused"


# Escapes of every byte (valid or not as UTF-8, upper and lower case), broken escapes,
# and the characters with a meaning in a form body.
TOKENS = st.one_of(
    st.integers(0, 255).map(lambda b: f"%{b:02X}"),
    st.integers(0, 255).map(lambda b: f"%{b:02x}"),
    st.sampled_from(["%", "%2", "%zz", "%%", "&", "=", "+", "&&", "==", " "]),
    st.text(st.characters(min_codepoint=0, max_codepoint=127), max_size=4),
)


@settings(max_examples=3000)
@given(st.lists(TOKENS, max_size=30).map("".join))
def test_form_pairs_is_parse_qsl(text: str) -> None:
    assert fast(text) == reference(text)


# Any text but NUL, which is refused (issue 11 §3; see the next tests).
STORABLE = st.characters(exclude_characters="\x00", exclude_categories=["Cs"])


@given(
    st.lists(st.tuples(st.text(STORABLE, max_size=10), st.text(STORABLE, max_size=30)), max_size=6)
)
def test_whatever_a_client_encodes_comes_back(pairs: list[tuple[str, str]]) -> None:
    assert form_pairs(urlencode(pairs)) == pairs


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"To=%2B14155550100&Body=hi+there", [("To", "+14155550100"), ("Body", "hi there")]),
        (b"A=1&A=2&&B", [("A", "1"), ("A", "2"), ("B", "")]),
        (b"Body=%E2%80%9Cx%E2%80%9D", [("Body", "\u201cx\u201d")]),
        (b"Body=100%25", [("Body", "100%")]),
    ],
)
def test_form_bodies(body: bytes, expected: list[tuple[str, str]]) -> None:
    assert form_pairs(body.decode("ascii")) == expected


def test_bad_form_bodies_name_the_rule() -> None:
    with pytest.raises(TextwireError, match="'Body': is not valid UTF-8"):
        body_params(b"Body=%FF", FORM)
    with pytest.raises(TextwireError, match="percent-encoded ASCII"):
        body_params("Body=é".encode(), FORM)


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        (b"To=1&Body=%zz%", "Body", "not valid percent-encoding"),
        (b"Body=100%", "Body", "not valid percent-encoding"),
        (b"Body=%2", "Body", "not valid percent-encoding"),
        (b"Body=a%00b", "Body", "NUL"),
        (b"To=1&FriendlyName=a\x00b", "FriendlyName", "NUL"),
        (b"Bo%00dy=x", "Bo%00dy", "NUL"),
    ],
)
def test_form_bodies_refuse_bad_escapes_and_nul(body: bytes, field: str, rule: str) -> None:
    """issue 11 §3: ``Body=%zz%`` was stored literally, NUL was a 500 on PostgreSQL."""
    with pytest.raises(TextwireError) as err:
        body_params(body, FORM)
    assert err.value.code == 20001
    assert f"'{field}'" in err.value.detail and rule in err.value.detail


JSON = "application/json"


@pytest.mark.parametrize(
    ("value", "kind"),
    [({"a": 1}, "an object"), (True, "a boolean"), (["a", "b"], "an array"), (3, "a number")],
)
def test_json_text_parameters_refuse_other_types(value: object, kind: str) -> None:
    """issue 11 §3: ``{"FriendlyName":{"a":1}}`` was stored as the text ``{"a": 1}``."""
    import json

    params = body_params(json.dumps({"FriendlyName": value}).encode(), JSON)
    with pytest.raises(TextwireError) as err:
        params.get("FriendlyName")
    assert err.value.detail == f"Invalid parameter 'FriendlyName': must be a string, not {kind}"


def test_json_parameters_keep_their_types() -> None:
    params = body_params(
        b'{"A": true, "B": "no", "N": 7, "S": "8", "L": ["x", "y"], "One": "z", "O": {"k": [1]},'
        b' "OS": "{\\"k\\": 2}", "Gone": null}',
        JSON,
    )
    assert params.bool("A") is True and params.bool("B") is False
    assert params.int("N", low=0, high=10) == 7 and params.int("S", low=0, high=10) == 8
    assert params.get_list("L") == ["x", "y"] and params.get_list("One") == ["z"]
    assert params.object("O") == {"k": [1]} and params.object("OS") == {"k": 2}
    assert "Gone" not in params and params.get("Gone") is None
    for bad in ('{"N": 1.5}', '{"N": true}', '{"N": "1e3"}', '{"N": "1_0"}'):
        with pytest.raises(TextwireError, match="'N': must be an integer"):
            body_params(bad.encode(), JSON).int("N", low=0, high=10**6)
    with pytest.raises(TextwireError, match="'A': must be true or false"):
        body_params(b'{"A": 1}', JSON).bool("A")
    with pytest.raises(TextwireError, match="'L': must be a string or an array of strings"):
        body_params(b'{"L": ["a", 1]}', JSON).get_list("L")
    with pytest.raises(TextwireError, match="'O': must be a JSON object, not an array"):
        body_params(b'{"O": [1]}', JSON).object("O")


@pytest.mark.parametrize(
    ("raw", "rule"),
    [
        ('{"": 1}', "'Settings': an object key must be a non-empty string"),
        ('{"headers": {"": "x"}}', "'Settings.headers': an object key must be a non-empty"),
        ("[" * 100 + "]" * 100, "'Settings': nested too deeply"),
        ('{"n": ' + "1" * 5000 + "}", "'Settings': the number"),
        ('{"a": "\\u0000"}', "'Settings.a': must not contain a NUL"),
    ],
)
def test_object_fields_name_the_rule(raw: str, rule: str) -> None:
    """issue 11 §3: ``Settings={"":1}`` was a StopIteration 500, deep JSON a RecursionError."""
    params = body_params(urlencode({"Settings": raw}).encode(), FORM)
    with pytest.raises(TextwireError) as err:
        params.object("Settings")
    assert rule in err.value.detail


def test_json_bodies_name_the_rule() -> None:
    """issue 11 §3: deep nesting, huge integers, NaN and NUL in a JSON body."""
    cases = [
        ('{"a":' * 1000 + "1" + "}" * 1000, "Invalid request body: nested too deeply"),
        ('{"PageSize": ' + "9" * 4301 + "}", "Invalid request body: the number"),
        ('{"PageSize": 1e400}', "Invalid request body: the number 1e400 is out of range"),
        ('{"PageSize": NaN}', "Invalid request body: NaN is not a JSON number"),
        ('{"Body": "a\\u0000"}', "Invalid parameter 'Body': must not contain a NUL"),
        ('{"L": ["a", "\\ud800"]}', "Invalid parameter 'L[1]': must not contain a lone"),
    ]
    for raw, message in cases:
        with pytest.raises(TextwireError) as err:
            body_params(raw.encode(), JSON)
        assert err.value.detail.startswith(message), (raw[:40], err.value.detail)


# -- dates --------------------------------------------------------------------------------

OFFSETS = st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(lambda m: timezone(timedelta(minutes=m)))


def utc_instant(value: datetime) -> datetime | None:
    """``value`` in UTC, or None when that instant is outside datetime's range."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        return None


@settings(max_examples=2000)
@given(st.datetimes(timezones=st.none() | OFFSETS))
def test_parse_datetime_answers_an_instant_in_range_or_a_coded_400(value: datetime) -> None:
    """issue 11 §3: ``9999-12-31T23:59:59-01:00`` was an OverflowError 500. Any ISO 8601
    date-time is either that instant (in UTC, within the documented range) or 20001."""
    instant = utc_instant(value if value.tzinfo else value.replace(tzinfo=UTC))
    try:
        parsed = parse_datetime("DateSent", value.isoformat())
    except TextwireError as exc:
        assert exc.code == 20001 and "'DateSent'" in exc.detail
        assert instant is None or not EARLIEST <= instant <= LATEST
    else:
        assert parsed == instant and EARLIEST <= parsed <= LATEST


@pytest.mark.parametrize(
    "raw", ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00", "9999-12-31"]
)
def test_parse_datetime_refuses_the_edges_with_the_given_code(raw: str) -> None:
    with pytest.raises(TextwireError) as err:
        parse_datetime("SendAt", raw, code=35114)
    assert err.value.code == 35114 and "'SendAt'" in err.value.detail
