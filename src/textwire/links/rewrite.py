"""Find URLs in a message body and swap them for short links (SPEC F-LINK-1, F-LINK-2).

Pure: strings in, plain data out. ``find_urls`` says which URLs a mode shortens,
``rewrite`` replaces them with whatever ``make_link`` returns. Neither raises on any
``str``; text that only looks like a URL is left as it is.

Detection rules (see ``docs/links.md``):

* Only fully-qualified ``http://`` / ``https://`` URLs (scheme in any case). ``www.acme.com``
  without a scheme is text. The scheme must not follow an ASCII letter or digit
  (``xhttps://`` is text), but may follow anything else, CJK text included.
* The URL runs until whitespace, ``" < >``, an ASCII control character, or a non-ASCII
  character that is not a letter, mark or digit (so ``。`` ``，`` ``）`` and emoji end it,
  while IDN hosts and paths such as ``https://bücher.de/straße`` stay whole).
* Trailing ``. , : ; ! ? ' *`` are sentence punctuation, not URL; so is a trailing ``)``
  ``]`` ``}`` unless the URL opened it: ``https://en.wikipedia.org/wiki/Foo_(bar)`` keeps its
  bracket, ``(see https://acme.com/offers).`` does not.
* The host must be a domain whose last label is alphabetic (or ``xn--`` punycode), an IPv4
  address, a bracketed IPv6 address, or ``localhost``; a port is 0–65535. Anything else,
  ``user@host`` userinfo included (a phishing idiom), leaves the whole run as text.
* A host followed directly by other punctuation (``https://acme.com's``) ends the URL there.
* A run longer than ``MAX_URL_LENGTH`` characters is text: no SMS carries one, and the cap
  keeps the scan linear on hostile input.

Modes (F-LINK-1): ``off`` finds nothing; ``all`` every URL; ``marked`` only URLs written
``@https://…``, and the ``@`` goes with the URL; ``last`` only the last URL. Outside
``marked`` mode an ``@`` before a URL is ordinary text and stays.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Final, Literal, assert_never

import regex

LinkMode = Literal["off", "all", "marked", "last"]
LINK_MODES: Final[tuple[LinkMode, ...]] = ("off", "all", "marked", "last")
"""Every rewrite mode, in the order settings and docs list them (F-LINK-1)."""

MAX_URL_LENGTH: Final = 2048
"""Longest run of URL characters (after the scheme) still treated as a URL."""

MARKER: Final = "@"

# The optional marker, then a scheme that does not continue an ASCII word.
_START: Final = re.compile(r"(@?)(?<![A-Za-z0-9])(?i:https?)://")
# Printable ASCII except space " < >, plus any non-ASCII letter, mark or number.
_BODY: Final = regex.compile(r"[!#-;=?-~\p{L}\p{M}\p{N}]*")
_AUTHORITY: Final = regex.compile(r"(\[[0-9A-Fa-f:.]*\]|[\p{L}\p{M}\p{N}._-]*)(?::([0-9]{1,5}))?")
_LETTERS: Final = regex.compile(r"[\p{L}\p{M}]+")
_PUNYCODE_TLD: Final = regex.compile(r"xn--[a-z0-9-]+", regex.IGNORECASE)

_TRAILING_PUNCTUATION: Final = frozenset(".,:;!?'*")
_CLOSER_OPENER: Final = {")": "(", "]": "[", "}": "{"}
# After a valid host these mean a malformed authority (bad port, userinfo, escapes), not
# the end of the URL; any other punctuation simply ends the URL.
_AUTHORITY_CONTINUES: Final = frozenset(":@[]%0123456789")
_PATH_START: Final = frozenset("/?#")


class UnknownLinkMode(ValueError):
    """A link mode is not one of ``LINK_MODES``."""

    def __init__(self, value: str) -> None:
        self.value = value
        super().__init__(f"unknown link mode {value!r}: expected one of {', '.join(LINK_MODES)}")


@dataclass(frozen=True, slots=True)
class UrlSpan:
    """One URL a mode shortens.

    ``text[start:end]`` is what the short link replaces: the URL itself, preceded by its
    ``@`` marker when ``marked`` (only in ``marked`` mode, where the marker is removed).
    """

    start: int
    end: int
    url: str
    marked: bool


@dataclass(frozen=True, slots=True)
class Replacement:
    """One URL occurrence replaced by a short link.

    ``original_start:original_end`` is the replaced region of the input (marker included),
    ``start:end`` where ``short_url`` sits in the rewritten text.
    """

    url: str
    short_url: str
    marked: bool
    original_start: int
    original_end: int
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Rewritten:
    """A rewritten body and every replacement made in it, in text order."""

    text: str
    replacements: tuple[Replacement, ...]

    @property
    def links(self) -> tuple[tuple[str, str], ...]:
        """Distinct ``(original_url, short_url)`` pairs, in order of first appearance."""
        return tuple({r.url: r.short_url for r in self.replacements}.items())

    @property
    def changed(self) -> bool:
        """Whether any URL was replaced."""
        return bool(self.replacements)


def parse_mode(value: str) -> LinkMode:
    """Return ``value`` as a ``LinkMode``; raise ``UnknownLinkMode`` if it is not one."""
    for mode in LINK_MODES:
        if value == mode:
            return mode
    raise UnknownLinkMode(value)


def find_urls(text: str, mode: LinkMode) -> list[UrlSpan]:
    """Return the URLs of ``text`` that ``mode`` shortens, in text order (F-LINK-1).

    Raises ``UnknownLinkMode`` for a mode outside ``LINK_MODES``; never raises on ``text``.
    """
    if mode not in LINK_MODES:
        raise UnknownLinkMode(str(mode))
    if mode == "off":
        return []
    if mode == "all":
        return [UrlSpan(start, end, url, False) for start, end, url, _ in _scan(text)]
    if mode == "marked":
        return [
            UrlSpan(start - len(MARKER), end, url, True)
            for start, end, url, marked in _scan(text)
            if marked
        ]
    if mode == "last":
        return [UrlSpan(start, end, url, False) for start, end, url, _ in _scan(text)][-1:]
    assert_never(mode)


def rewrite(text: str, mode: LinkMode, make_link: Callable[[str], str]) -> Rewritten:
    """Replace the URLs ``mode`` selects with ``make_link(url)`` (F-LINK-1, F-LINK-2).

    ``make_link`` is called once per distinct URL, so the same URL twice in one message
    shares one short link. Whatever it raises propagates: the caller decides to send the
    original text instead (F-LINK-11). Never raises on ``text`` itself.
    """
    shorts: dict[str, str] = {}
    pieces: list[str] = []
    replacements: list[Replacement] = []
    copied = 0
    length = 0
    for span in find_urls(text, mode):
        if span.url not in shorts:
            shorts[span.url] = make_link(span.url)
        short = shorts[span.url]
        before = text[copied : span.start]
        pieces += (before, short)
        start = length + len(before)
        length = start + len(short)
        replacements.append(
            Replacement(span.url, short, span.marked, span.start, span.end, start, length)
        )
        copied = span.end
    pieces.append(text[copied:])
    return Rewritten("".join(pieces), tuple(replacements))


def _scan(text: str) -> Iterator[tuple[int, int, str, bool]]:
    """Yield ``(start, end, url, marked)`` for every URL in ``text``, marker excluded."""
    pos = 0
    while match := _START.search(text, pos):
        url_start: int = match.end(1)
        body_start: int = match.end()
        run_end: int = _BODY.match(text, body_start).end()
        url_end = _url_end(text, body_start, run_end)
        if url_end is None:
            pos = run_end
            continue
        yield url_start, url_end, text[url_start:url_end], bool(match.group(1))
        pos = url_end


def _url_end(text: str, body_start: int, run_end: int) -> int | None:
    """Where the URL whose body starts at ``body_start`` ends, or None if it is not one."""
    if run_end - body_start > MAX_URL_LENGTH:
        return None
    body = _strip_trailing(text[body_start:run_end])
    authority = _AUTHORITY.match(body)
    host: str = authority.group(1)
    port: str | None = authority.group(2)
    if not _valid_host(host) or (port is not None and int(port) > 65535):
        return None
    authority_end: int = authority.end()
    rest = body[authority_end:]
    if not rest or rest[0] in _PATH_START:
        return body_start + len(body)
    if rest[0] in _AUTHORITY_CONTINUES:
        return None
    return body_start + authority_end


def _strip_trailing(body: str) -> str:
    """``body`` without trailing sentence punctuation and unopened closing brackets."""
    end = len(body)
    unopened: dict[str, int] | None = None  # counted only when a bracket trails, which is rare
    while end:
        char = body[end - 1]
        if char in _TRAILING_PUNCTUATION:
            end -= 1
            continue
        if char not in _CLOSER_OPENER:
            break
        if unopened is None:
            unopened = {c: body.count(c) - body.count(o) for c, o in _CLOSER_OPENER.items()}
        if unopened[char] <= 0:
            break
        unopened[char] -= 1
        end -= 1
    return body[:end]


def _valid_host(host: str) -> bool:
    """Whether ``host`` is a domain with an alphabetic TLD, an IP address, or localhost."""
    if host.startswith("["):
        return _is_ip_address(host[1:-1], ipaddress.IPv6Address)
    if host.lower() == "localhost":
        return True
    labels = host.split(".")
    if len(labels) < 2:
        return False
    top = labels[-1]
    if top.isascii() and top.isdigit():  # no TLD is numeric: only a dotted quad qualifies
        return _is_ip_address(host, ipaddress.IPv4Address)
    return len(host) <= 253 and _valid_tld(top) and all(map(_valid_label, labels[:-1]))


def _valid_label(label: str) -> bool:
    # Underscores are not DNS-legal in hostnames but browsers follow them, so they pass.
    return 0 < len(label) <= 63 and not label.startswith("-") and not label.endswith("-")


def _valid_tld(label: str) -> bool:
    if not 2 <= len(label) <= 63:
        return False
    # isalpha() is the common case and far cheaper than the regex; marks need the regex.
    return label.isalpha() or bool(_LETTERS.fullmatch(label) or _PUNYCODE_TLD.fullmatch(label))


def _is_ip_address(
    value: str, kind: type[ipaddress.IPv4Address] | type[ipaddress.IPv6Address]
) -> bool:
    try:
        kind(value)
    except ValueError:
        return False
    return True
