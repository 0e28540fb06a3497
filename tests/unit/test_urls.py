"""issue 11 §1a: the one URL check (``textwire.urls.check_url``).

What it accepts, httpx (the client that later calls it) parses without error and gives back
unchanged when parsed again; what carries a control character, written or percent-encoded,
it refuses, naming the field.
"""

from __future__ import annotations

import re
import unicodedata

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from textwire.errors import TextwireError
from textwire.urls import MAX_LENGTH, check_url, url_problem

LABEL = st.from_regex(r"\A[a-z0-9](?:[a-z0-9_-]{0,20}[a-z0-9])?\Z")
# A last label that reads as a number (decimal, or hex as 0x...) makes the name an IPv4
# address to resolvers and WHATWG parsers; check_url refuses it, so good names avoid it.
NUMERIC_LAST_LABEL = re.compile(r"(?:0[xX][0-9A-Fa-f]*|[0-9]+)\Z")
NAME = (
    st.lists(LABEL, min_size=1, max_size=4)
    .map(".".join)
    .filter(lambda h: not NUMERIC_LAST_LABEL.match(h.split(".")[-1]))
)
IPV4 = st.ip_addresses(v=4).map(str)
IPV6 = st.ip_addresses(v=6).map(lambda a: f"[{a}]")
HOST = st.one_of(NAME, IPV4, IPV6)
PORT = st.one_of(st.just(""), st.integers(1, 65535).map(lambda p: f":{p}"))
SAFE = st.characters(
    codec="utf-8",
    exclude_categories=("Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"),
    exclude_characters="%#?",
)
PCT = st.integers(0x20, 0x7E).map(lambda b: f"%{b:02X}")
SEGMENT = st.lists(st.one_of(SAFE, PCT), max_size=12).map("".join)
PATH = st.lists(SEGMENT.map(lambda s: s.replace("/", "")), max_size=4).map(
    lambda segs: "".join("/" + s for s in segs)
)
QUERY = st.one_of(st.just(""), SEGMENT.map(lambda q: "?" + q))
USERINFO = st.one_of(
    st.just(""),
    st.from_regex(r"\A[A-Za-z0-9._~!$&'()*+,;=-]{1,10}(:[A-Za-z0-9._~!$&'()*+,;=-]{0,10})?@\Z"),
)


@st.composite
def good_urls(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(["http", "https", "HTTP", "Https"]))
    return f"{scheme}://{draw(USERINFO)}{draw(HOST)}{draw(PORT)}{draw(PATH)}{draw(QUERY)}"


def _roundtrips(value: str) -> None:
    url = httpx.URL(value)
    again = httpx.URL(str(url))
    assert again == url
    assert str(again) == str(url)
    assert url.scheme in ("http", "https")
    assert url.host


@settings(max_examples=400)
@given(good_urls())
def test_well_formed_urls_are_accepted_and_httpx_round_trips_them(value: str) -> None:
    """issue 11 §1a: the grammar the docs describe is accepted, and httpx can use it."""
    if len(value) > MAX_LENGTH:
        return
    assert check_url("StatusCallback", value) == value
    _roundtrips(value)


@settings(max_examples=600)
@given(st.sampled_from(["http://", "https://", "http://a.example"]), st.text(max_size=60))
def test_anything_accepted_is_parsed_by_httpx_and_round_trips(prefix: str, tail: str) -> None:
    """issue 11 §1a: whatever passes the check never raises httpx.InvalidURL later."""
    value = prefix + tail
    if url_problem(value) is None:
        _roundtrips(value)


@settings(max_examples=400)
@given(good_urls(), st.data())
def test_a_control_character_anywhere_is_refused(value: str, data: st.DataObject) -> None:
    """issue 11 §1a: C0, DEL, C1 and format characters are refused, raw or %-encoded."""
    control = data.draw(
        st.one_of(
            st.characters(categories=("Cc", "Cf")),
            st.integers(0, 0x1F).map(lambda b: f"%{b:02x}"),
            st.just("%7F"),
            st.integers(0x80, 0x9F).map(lambda b: f"%C2%{b:02X}"),
        )
    )
    at = data.draw(st.integers(len("http://"), len(value)))
    poisoned = value[:at] + control + value[at:]
    assert url_problem(poisoned) is not None


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("http://127.0.0.1:9/a%19b", "control characters"),
        ("http://[::1", "malformed host"),
        ("http://[::1]x/", "after the IPv6"),
        ("http://[::g]/", "malformed host"),
        ("ftp://example.com/", "http(s) URL"),
        ("http:/example.com/", "http(s) URL"),
        ("example.com/cb", "http(s) URL"),
        ("http:///path", "must have a host"),
        ("http://exa mple.com/", "spaces"),
        ("http://example.com/a b", "spaces"),
        ("http://example.com/\u200bx", "control"),
        ("http://example.com/%zz", "percent-encoded byte"),
        ("http://example.com/%C2%85", "control characters"),
        ("http://example.com:0/", "port of 1-65535"),
        ("http://example.com:99999/", "port of 1-65535"),
        ("http://example.com:8o/", "port of 1-65535"),
        ("http://256.1.1.1/", "invalid IPv4"),
        ("http://1.2.3/", "dotted-quad"),
        ("http://0x7f000001/", "dotted-quad"),
        ("http://ex\\ample.com/", "letters, digits"),
        ("http://bücher.de/", "xn--"),
        ("http://-bad.example/", "letters, digits"),
        ("http://us er@example.com/", "spaces"),
        ("http://a@b@example.com/", "user name"),
        ("http://example.com/" + "a" * MAX_LENGTH, "2048"),
    ],
)
def test_refusals_name_the_rule(value: str, rule: str) -> None:
    """issue 11 §1a: each broken rule is named; the default code is 20001."""
    with pytest.raises(TextwireError) as caught:
        check_url("CallbackUrl", value)
    assert caught.value.code == 20001
    assert caught.value.status == 400
    assert "'CallbackUrl'" in caught.value.detail
    assert rule in caught.value.detail


@pytest.mark.parametrize(
    "value",
    [
        "https://example.com",
        "http://127.0.0.1:9/ab",
        "http://[::1]:8080/cb?x=1",
        "http://user:p%40ss@hooks.example.com/cb",
        "https://xn--bcher-kva.de/straße?q=%FF",
        "http://my_service:8000/hook",
        "https://example.com./x#frag",
        "http://example.com/" + "a" * (MAX_LENGTH - len("http://example.com/")),
    ],
)
def test_usual_urls_pass(value: str) -> None:
    assert check_url("StatusCallback", value) == value
    _roundtrips(value)


def test_a_message_status_callback_uses_twilios_code() -> None:
    """issue 11 §1a: Twilio answers a bad StatusCallback with 21609."""
    with pytest.raises(TextwireError) as caught:
        check_url("StatusCallback", "http://[::1", code=21609)
    assert caught.value.code == 21609
    assert caught.value.status == 400
    assert "StatusCallback" in caught.value.detail


def test_the_rule_never_echoes_the_url() -> None:
    """The message names the field and rule; a URL's credentials stay out of the answer."""
    problem = url_problem("http://user:hunter2@[::1/x")
    assert problem is not None
    assert "hunter2" not in problem
    assert all(unicodedata.category(c)[0] != "C" for c in problem)
