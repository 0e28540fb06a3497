"""Tests for textwire.links.rewrite: URL detection and the rewrite modes (F-LINK-1, F-LINK-2)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from textwire.links.rewrite import (
    LINK_MODES,
    MAX_URL_LENGTH,
    LinkMode,
    Rewritten,
    UnknownLinkMode,
    UrlSpan,
    find_urls,
    parse_mode,
    rewrite,
)


class LinkMaker:
    """A make_link that hands out https://tw.to/L1, /L2 … and records each call."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, url: str) -> str:
        self.calls.append(url)
        return f"https://tw.to/L{len(self.calls)}"


def urls(text: str, mode: LinkMode = "all") -> list[str]:
    return [span.url for span in find_urls(text, mode)]


# --- detection (mode "all") --------------------------------------------------------------

DETECTED = [
    # text, URLs found in "all" mode
    ("Go to https://acme.com/offers now", ["https://acme.com/offers"]),
    ("plain http://acme.com too", ["http://acme.com"]),
    ("https://acme.com", ["https://acme.com"]),
    ("Upper HTTPS://ACME.COM/X and Http://Acme.com", ["HTTPS://ACME.COM/X", "Http://Acme.com"]),
    # Bare hosts are not fully qualified (F-LINK-1).
    ("www.acme.com and acme.com/offers", []),
    # Trailing punctuation stays outside.
    ("See https://acme.com/offers.", ["https://acme.com/offers"]),
    ("See https://acme.com/offers, then", ["https://acme.com/offers"]),
    ("Wow https://acme.com/offers!", ["https://acme.com/offers"]),
    ("Seen https://acme.com/offers?", ["https://acme.com/offers"]),
    ("At https://acme.com/offers: deals", ["https://acme.com/offers"]),
    ("At https://acme.com/offers; deals", ["https://acme.com/offers"]),
    ("Ends https://acme.com/offers...", ["https://acme.com/offers"]),
    ("Ends https://acme.com/offers?!", ["https://acme.com/offers"]),
    ("*https://acme.com/offers*", ["https://acme.com/offers"]),
    # Brackets: outside unless the URL opened them.
    ("(see https://acme.com/offers)", ["https://acme.com/offers"]),
    ("(see https://acme.com/offers).", ["https://acme.com/offers"]),
    ("[https://acme.com/offers]", ["https://acme.com/offers"]),
    ("{https://acme.com/offers}", ["https://acme.com/offers"]),
    ("https://en.wikipedia.org/wiki/Foo_(bar)", ["https://en.wikipedia.org/wiki/Foo_(bar)"]),
    ("(https://en.wikipedia.org/wiki/Foo_(bar))", ["https://en.wikipedia.org/wiki/Foo_(bar)"]),
    ("(https://w.org/a_(b)_(c)).", ["https://w.org/a_(b)_(c)"]),
    ("https://acme.com/a)b", ["https://acme.com/a)b"]),
    ("https://acme.com/(open", ["https://acme.com/(open"]),
    # Quotes and angle brackets.
    ('"https://acme.com/x"', ["https://acme.com/x"]),
    ("'https://acme.com/x'", ["https://acme.com/x"]),
    ("<https://acme.com/x>", ["https://acme.com/x"]),
    ("https://acme.com/it's", ["https://acme.com/it's"]),
    # Query strings and fragments.
    ("https://acme.com/p?x=1&y=two%20words", ["https://acme.com/p?x=1&y=two%20words"]),
    ("https://acme.com?x=1", ["https://acme.com?x=1"]),
    ("https://acme.com/p#section-2.", ["https://acme.com/p#section-2"]),
    ("https://acme.com/p?q=a,b&r=(1)#top", ["https://acme.com/p?q=a,b&r=(1)#top"]),
    ("https://acme.com/?next=https://b.com/x", ["https://acme.com/?next=https://b.com/x"]),
    ("https://acme.com/~user/a-b_c.html", ["https://acme.com/~user/a-b_c.html"]),
    # IDNs and non-ASCII paths; the URL stops at non-ASCII punctuation and emoji.
    ("https://bücher.de/straße?q=ü#größe", ["https://bücher.de/straße?q=ü#größe"]),
    ("Посетите https://пример.рф/путь.", ["https://пример.рф/путь"]),
    ("https://例え.テスト/パス", ["https://例え.テスト/パス"]),
    ("https://भारत.भारत/", ["https://भारत.भारत/"]),
    ("https://xn--bcher-kva.xn--p1ai/", ["https://xn--bcher-kva.xn--p1ai/"]),
    ("请点击https://acme.com/x。谢谢", ["https://acme.com/x"]),
    ("链接：https://acme.com/x，谢谢", ["https://acme.com/x"]),
    ("https://acme.com/x😀 yay", ["https://acme.com/x"]),
    ("https://acme.com/x\u200bhidden", ["https://acme.com/x"]),
    # Hosts: IP addresses, ports, localhost, single punctuation after the host.
    ("http://127.0.0.1:8081/Ab3dE9x", ["http://127.0.0.1:8081/Ab3dE9x"]),
    (
        "http://[::1]:8080/x and http://[2001:db8::1]",
        ["http://[::1]:8080/x", "http://[2001:db8::1]"],
    ),
    ("http://localhost:8081/abc", ["http://localhost:8081/abc"]),
    ("https://acme.com:443/x", ["https://acme.com:443/x"]),
    ("https://acme.com's new page", ["https://acme.com"]),
    ("https://a.com!https://b.com", ["https://a.com", "https://b.com"]),
    ("https://a.com,https://b.com", ["https://a.com", "https://b.com"]),
    ("one https://a.com two https://b.com", ["https://a.com", "https://b.com"]),
    (
        "https://a.com\nhttps://b.com\thttps://c.com",
        ["https://a.com", "https://b.com", "https://c.com"],
    ),
    ("_https://acme.com", ["https://acme.com"]),
    # The same URL twice is found twice.
    ("https://a.com and https://a.com", ["https://a.com", "https://a.com"]),
]


@pytest.mark.parametrize(("text", "expected"), DETECTED)
def test_detects_urls(text: str, expected: list[str]) -> None:
    """F-LINK-1: fully-qualified http(s) URLs are found with the right boundaries."""
    assert urls(text) == expected


MALFORMED = [
    "https://",
    "https:// acme.com",
    "https:/acme.com",
    "https:acme.com",
    "ftp://acme.com/file",
    "mailto:someone@acme.com",
    "https://foo",
    "https://foo/bar",
    "https://acme.c",
    "https://acme.123",
    "https://acme..com",
    "https://.acme.com",
    "https://-acme.com",
    "https://acme-.com",
    "https://acme.com-x",
    "https://" + "a" * 64 + ".com",
    "https://1.2.3",
    "https://1.2.3.999",
    "https://1.2.3.4.5",
    "https://[::1",
    "https://[zz::1]",
    "https://acme.com:99999",
    "https://acme.com:123456/x",
    "https://acme.com:abc",
    "https://user@acme.com",
    "https://user:pw@acme.com/x",
    "https://%61cme.com",
    "https://acme.com[1]",
    "xhttps://acme.com",
    "Visithttps://acme.com",
    "9https://acme.com",
    "https://acme.com/" + "a" * MAX_URL_LENGTH,
    "@https://",
    "\ud800https://\udfff",
]


@pytest.mark.parametrize("text", MALFORMED)
def test_malformed_urls_are_text(text: str) -> None:
    """Bad input: malformed URLs are left as text and never crash the rewriter."""
    for mode in LINK_MODES:
        assert find_urls(text, mode) == []
        assert rewrite(text, mode, LinkMaker()).text == text


def test_longest_allowed_url_is_found() -> None:
    """The MAX_URL_LENGTH cap counts the characters after the scheme."""
    body = "acme.com/" + "a" * (MAX_URL_LENGTH - len("acme.com/"))
    assert urls(f"https://{body} x") == [f"https://{body}"]
    assert urls(f"https://{body}a x") == []


def test_lone_surrogate_ends_url() -> None:
    """Any str, even one that is not valid Unicode text, is safe."""
    assert urls("https://acme.com/x\ud800y") == ["https://acme.com/x"]


def test_span_positions() -> None:
    """F-LINK-1: spans point at the URL; in marked mode they include the removed @."""
    text = "a @https://a.com b https://b.com"
    assert find_urls(text, "all") == [
        UrlSpan(3, 16, "https://a.com", False),
        UrlSpan(19, 32, "https://b.com", False),
    ]
    assert find_urls(text, "marked") == [UrlSpan(2, 16, "https://a.com", True)]
    assert find_urls(text, "last") == [UrlSpan(19, 32, "https://b.com", False)]
    assert find_urls(text, "off") == []


# --- modes -------------------------------------------------------------------------------

SEED_000 = (
    "Hi Dave, go to your personalised offer at @https://www.acme.com/offers/cust/ab9992534 , "
    "or find out more at http://www.acme.com/offers"
)
SEED_002 = (
    "Discount Offer! Buy 2 and Get 1 Free only at https://www.mydomain.com/shoppingproduct.html."
    " To buy this offer Visit https://mydomain.com/special_offer.html to get additional discount."
    " Regards MyCompany Name"
)


def test_marked_mode_seed_example() -> None:
    """F-LINK-1: marked mode shortens only @-marked URLs and drops the @ (seed 000)."""
    result = rewrite(SEED_000, "marked", lambda url: "https://dyn.co/as4532")
    assert result.text == (
        "Hi Dave, go to your personalised offer at https://dyn.co/as4532 , "
        "or find out more at http://www.acme.com/offers"
    )
    assert result.links == (
        ("https://www.acme.com/offers/cust/ab9992534", "https://dyn.co/as4532"),
    )


def test_marked_mode_leaves_unmarked_and_malformed_alone() -> None:
    """F-LINK-1: unmarked URLs stay; a marker before a non-URL stays too."""
    text = "@https://foo and https://a.com and @www.acme.com and @ https://b.com"
    assert rewrite(text, "marked", LinkMaker()).text == text


def test_all_mode_keeps_at_sign() -> None:
    """F-LINK-1: outside marked mode an @ is ordinary text and stays."""
    result = rewrite("x @https://a.com y https://b.com", "all", LinkMaker())
    assert result.text == "x @https://tw.to/L1 y https://tw.to/L2"
    assert [r.marked for r in result.replacements] == [False, False]


def test_last_mode_seed_example() -> None:
    """F-LINK-1: last mode shortens only the last URL (seed 002)."""
    result = rewrite(SEED_002, "last", lambda url: "https://tx1.in/RanDom")
    assert result.links == (("https://mydomain.com/special_offer.html", "https://tx1.in/RanDom"),)
    assert "https://www.mydomain.com/shoppingproduct.html." in result.text
    assert "Visit https://tx1.in/RanDom to get" in result.text


def test_last_mode_counts_marked_urls_too() -> None:
    """F-LINK-1: in last mode the last URL wins whether or not it carries an @."""
    assert urls("https://a.com @https://b.com", "last") == ["https://b.com"]


def test_off_mode_changes_nothing() -> None:
    """F-LINK-1: off leaves every URL and never calls make_link."""
    make_link = LinkMaker()
    result = rewrite(SEED_000, "off", make_link)
    assert result == Rewritten(SEED_000, ())
    assert not result.changed
    assert make_link.calls == []


def test_all_mode_rewrites_everything() -> None:
    """F-LINK-1: all mode shortens each fully-qualified URL, leaving www. hosts."""
    text = "A https://a.com/x. B (http://b.com/y) C www.c.com"
    result = rewrite(text, "all", LinkMaker())
    assert result.text == "A https://tw.to/L1. B (https://tw.to/L2) C www.c.com"
    assert result.changed


def test_same_url_twice_shares_one_link() -> None:
    """F-LINK-2: the same URL twice in one message may share one slug: make_link runs once."""
    make_link = LinkMaker()
    result = rewrite("https://a.com then https://b.com then https://a.com.", "all", make_link)
    assert result.text == "https://tw.to/L1 then https://tw.to/L2 then https://tw.to/L1."
    assert make_link.calls == ["https://a.com", "https://b.com"]
    assert result.links == (
        ("https://a.com", "https://tw.to/L1"),
        ("https://b.com", "https://tw.to/L2"),
    )
    assert len(result.replacements) == 3


def test_last_mode_with_repeated_url_replaces_only_last() -> None:
    """F-LINK-1: last mode touches only the final occurrence."""
    result = rewrite("https://a.com and https://a.com", "last", LinkMaker())
    assert result.text == "https://a.com and https://tw.to/L1"


def test_replacement_positions() -> None:
    """Replacements locate the long URL in the input and the short one in the output."""
    text = "go @https://acme.com/offers now"
    result = rewrite(text, "marked", lambda url: "https://tw.to/Ab3dE9x")
    (rep,) = result.replacements
    assert text[rep.original_start : rep.original_end] == "@https://acme.com/offers"
    assert result.text[rep.start : rep.end] == "https://tw.to/Ab3dE9x"
    assert rep.marked


def test_make_link_errors_propagate() -> None:
    """F-LINK-11: a failing shortener is the caller's to handle (send original links)."""

    def broken(url: str) -> str:
        raise RuntimeError("shortener down")

    with pytest.raises(RuntimeError, match="shortener down"):
        rewrite("https://a.com", "all", broken)


@pytest.mark.parametrize("mode", LINK_MODES)
def test_parse_mode_accepts_every_mode(mode: str) -> None:
    """F-LINK-1: the four modes parse to themselves."""
    assert parse_mode(mode) == mode


@pytest.mark.parametrize("value", ["", "ALL", "none", "first", " all"])
def test_parse_mode_rejects_others(value: str) -> None:
    """An unknown mode is a clear error naming the allowed ones."""
    with pytest.raises(UnknownLinkMode, match="off, all, marked, last"):
        parse_mode(value)


def test_find_urls_rejects_unknown_mode() -> None:
    """A mode outside LINK_MODES is a programming error, reported as UnknownLinkMode."""
    with pytest.raises(UnknownLinkMode):
        find_urls("https://a.com", "sometimes")  # type: ignore[arg-type]


# --- properties --------------------------------------------------------------------------

FRAGMENTS = [
    "https://", "http://", "HTTP://", "@", "a.com", "b.de", "x", "1", ".", ",", "!", "?", "(",
    ")", "[", "]", "/", "?q=1", "#f", ":", "80", " ", "\n", "'", '"', "<", ">", "%", "-", "_",
    "ü", "例", "。", "😀", "\u200b", "www.", "[::1]", "127.0.0.1", "localhost",
]  # fmt: skip
noisy_text = st.lists(st.sampled_from(FRAGMENTS), max_size=40).map("".join)
any_text = st.one_of(st.text(), noisy_text)
modes = st.sampled_from(LINK_MODES)


@given(any_text, modes)
def test_never_raises_and_spans_are_consistent(text: str, mode: LinkMode) -> None:
    """Bad input: any str in any mode; every span covers (@ +) its URL, in order."""
    spans = find_urls(text, mode)
    previous_end = 0
    for span in spans:
        assert previous_end <= span.start < span.end <= len(text)
        assert text[span.start : span.end] == ("@" if span.marked else "") + span.url
        assert span.url.lower().startswith(("http://", "https://"))
        previous_end = span.end


@given(any_text, modes)
def test_rewritten_minus_short_links_equals_original_minus_long_links(
    text: str, mode: LinkMode
) -> None:
    """F-LINK-1 property: removing the short links from the output and the long ones (with
    their markers) from the input leaves the same text."""
    result = rewrite(text, mode, LinkMaker())
    kept_original, kept_rewritten = [], []
    original_pos = rewritten_pos = 0
    for rep in result.replacements:
        assert text[rep.original_start : rep.original_end] == ("@" if rep.marked else "") + rep.url
        assert result.text[rep.start : rep.end] == rep.short_url
        kept_original.append(text[original_pos : rep.original_start])
        kept_rewritten.append(result.text[rewritten_pos : rep.start])
        original_pos, rewritten_pos = rep.original_end, rep.end
    kept_original.append(text[original_pos:])
    kept_rewritten.append(result.text[rewritten_pos:])
    assert "".join(kept_original) == "".join(kept_rewritten)


# Messages built from known URLs, so the expected result is known independently.
label = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789üжé例", min_size=1, max_size=8)
tld = st.sampled_from(["com", "de", "io", "рф", "xn--p1ai", "みんな", "COM"])
domain = st.builds(
    lambda labels, top: ".".join([*labels, top]), st.lists(label, min_size=1, max_size=3), tld
)
ipv4 = st.ip_addresses(v=4).map(str)
ipv6 = st.ip_addresses(v=6).map(lambda ip: f"[{ip}]")
host = st.one_of(domain, domain, domain, ipv4, ipv6, st.just("localhost"))
port = st.one_of(st.just(""), st.integers(0, 65535).map(lambda p: f":{p}"))
segment = st.one_of(
    st.text(alphabet="abcXYZ019-_~%üжテ", min_size=1, max_size=10),
    st.sampled_from(["index.html", "Foo_(bar)", "a.b.c", "@user", "it's", "x,y", "a;b=c"]),
)
path = st.lists(segment, max_size=4).map(lambda parts: "".join("/" + p for p in parts))
trailing_slash = st.sampled_from(["", "/"])
query = st.one_of(
    st.just(""),
    st.lists(st.tuples(label, label), min_size=1, max_size=3).map(
        lambda pairs: "?" + "&".join(f"{k}={v}" for k, v in pairs)
    ),
)
fragment = st.one_of(st.just(""), label.map(lambda f: "#" + f))
url = st.builds(
    lambda scheme, h, p, pa, slash, q, f: f"{scheme}://{h}{p}{pa}{slash}{q}{f}",
    st.sampled_from(["http", "https", "HTTPS"]),
    host,
    port,
    path,
    trailing_slash,
    query,
    fragment,
)
SEPARATORS = [
    " ", "\n", ". ", ", ", "! ", "? ", ": ", "; ", "... ", " (", ") ", "). ", " [", "] ", '"',
    " '", "' ", " <", "> ", "。", "，", "！", " 谢谢 ", " www.acme.com ", " @ ", " - ", "😀",
    "\u3000",
]  # fmt: skip
separator = st.sampled_from(SEPARATORS)


@dataclass(frozen=True)
class Message:
    """A body made of URLs (some @-marked) and separators, and what each mode should see."""

    pieces: tuple[str, ...]  # prefix, [@]url, separator, [@]url, …, suffix
    urls: tuple[str, ...]
    marked: tuple[bool, ...]

    @property
    def text(self) -> str:
        return "".join(self.pieces)

    def rewritten(self, mode: LinkMode, shorts: dict[str, str]) -> str:
        chosen = self.chosen(mode)
        out = [self.pieces[0]]
        for i, (u, marked) in enumerate(zip(self.urls, self.marked, strict=True)):
            marker = "@" if marked else ""
            if i in chosen:
                out.append(shorts[u] if mode == "marked" else marker + shorts[u])
            else:
                out.append(marker + u)
            out.append(self.pieces[2 * i + 2])
        return "".join(out)

    def chosen(self, mode: LinkMode) -> set[int]:
        everything = set(range(len(self.urls)))
        return {
            "off": set(),
            "all": everything,
            "marked": {i for i in everything if self.marked[i]},
            "last": {len(self.urls) - 1} if self.urls else set(),
        }[mode]


@st.composite
def messages(draw: st.DrawFn) -> Message:
    found = draw(st.lists(st.tuples(url, st.booleans()), max_size=5))
    pieces = [draw(st.one_of(st.just(""), separator))]
    for i, (u, marked) in enumerate(found):
        pieces.append(("@" if marked else "") + u)
        last = i == len(found) - 1
        pieces.append(draw(st.one_of(st.just(""), separator)) if last else draw(separator))
    return Message(
        pieces=tuple(pieces),
        urls=tuple(u for u, _ in found),
        marked=tuple(m for _, m in found),
    )


@given(messages())
def test_no_url_is_lost_or_doubled(message: Message) -> None:
    """F-LINK-1 property: every URL in a message is found exactly once, with its bounds."""
    text = message.text
    assert urls(text) == list(message.urls)
    assert urls(text, "marked") == [
        u for u, m in zip(message.urls, message.marked, strict=True) if m
    ]
    assert urls(text, "last") == list(message.urls[-1:])


@given(messages(), modes)
def test_rewrite_matches_independent_expectation(message: Message, mode: LinkMode) -> None:
    """F-LINK-1/F-LINK-2 property: the rewritten body is the message with exactly the chosen
    URLs swapped for their short links, one make_link call per distinct URL."""
    make_link = LinkMaker()
    result = rewrite(message.text, mode, make_link)
    chosen = [message.urls[i] for i in sorted(message.chosen(mode))]
    distinct = list(dict.fromkeys(chosen))
    assert make_link.calls == distinct
    shorts = {u: f"https://tw.to/L{n}" for n, u in enumerate(distinct, start=1)}
    assert result.text == message.rewritten(mode, shorts)
    assert result.links == tuple(shorts.items())


@given(messages())
def test_short_links_are_found_where_long_ones_were(message: Message) -> None:
    """Rewriting twice finds the short links in the same places: nothing merges or splits."""
    first = rewrite(message.text, "all", LinkMaker())
    assert urls(first.text) == [rep.short_url for rep in first.replacements]
