"""The one check of a URL a user gives textwire to call (issue 11 §1a).

Every URL textwire will later request — a message's or service's ``StatusCallback``,
``InboundRequestUrl``, ``FallbackUrl``, a link domain's ``CallbackUrl``, an integration's
``url``/``token_url``/``base_url``, a number's inbound URL — passes ``check_url`` when it is
given, so a URL the HTTP client cannot parse never reaches a background loop. The rules:

* at most ``MAX_LENGTH`` (2048) characters, Twilio's own limit for callback URLs;
* scheme ``http`` or ``https`` (any case);
* a host: a DNS-style name (letters, digits, ``-``, ``_``; labels of 1-63, at most 253 in
  all; an internationalised name in its ``xn--`` form), a dotted-quad IPv4 address, or an
  IPv6 address in brackets. A name whose last label is a number (``1.2.3``, ``0x7f``) is
  refused: resolvers read it as an IPv4 address in a form nobody means;
* a port, when one is written, of 1-65535;
* userinfo, when given, of RFC 3986 characters only;
* no space, no control or format character (C0, DEL, C1, zero-width, bidi controls) —
  neither written nor percent-encoded (``%19``, ``%7F``, ``%C2%85``) — and every ``%``
  followed by two hex digits.

This module is pure: it parses, it never resolves or connects (that is ``textwire.egress``).
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from typing import Final
from urllib.parse import unquote_to_bytes, urlsplit

from textwire.errors import TextwireError

MAX_LENGTH: Final = 2048
SCHEMES: Final = ("http", "https")
DEFAULT_CODE: Final = 20001
STATUS_CALLBACK_CODE: Final = 21609  # Twilio's "Invalid StatusCallback"

_LABEL: Final = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\Z")
_NUMERIC_LABEL: Final = re.compile(r"(?:0[xX][0-9A-Fa-f]*|[0-9]+)\Z")
_DOTTED_QUAD: Final = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+\Z")
_PERCENT: Final = re.compile(r"%(?![0-9A-Fa-f]{2})")
# RFC 3986 userinfo = *( unreserved / pct-encoded / sub-delims / ":" )
_USERINFO: Final = re.compile(r"[A-Za-z0-9\-._~%!$&'()*+,;=:]*\Z")
_PORT: Final = re.compile(r"[0-9]{1,5}\Z")


class UrlRuleError(ValueError):
    """The rule a URL broke, in words fit for an API error (never the URL itself)."""


def url_problem(value: str) -> str | None:
    """The rule ``value`` breaks, or None when it is a URL textwire may call."""
    try:
        _check(value)
    except UrlRuleError as exc:
        return str(exc)
    return None


def check_url(field: str, value: str, *, code: int = DEFAULT_CODE) -> str:
    """``value`` unchanged when it is a URL textwire may call; else a 400 naming ``field``
    and the rule (``code`` 20001, or 21609 for a message's ``StatusCallback``)."""
    problem = url_problem(value)
    if problem is not None:
        raise TextwireError(code, f"Invalid parameter '{field}': {problem}")
    return value


def _check(value: str) -> None:
    if len(value) > MAX_LENGTH:
        raise UrlRuleError(f"must be an http(s) URL of at most {MAX_LENGTH} characters")
    for ch in value:
        if ch.isspace() or _is_control(ch):
            raise UrlRuleError("must not contain spaces or control characters")
    if _PERCENT.search(value):
        raise UrlRuleError("every '%' must start a percent-encoded byte (%XX)")
    decoded = unquote_to_bytes(value).decode("utf-8", "replace")
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in decoded):
        raise UrlRuleError("must not contain control characters, percent-encoded or not")
    try:
        parts = urlsplit(value)
    except ValueError:  # e.g. an unclosed '[' in the host
        raise UrlRuleError("is not a valid URL (malformed host)") from None
    if parts.scheme.lower() not in SCHEMES or not value[len(parts.scheme) :].startswith("://"):
        raise UrlRuleError("must be an http(s) URL")
    netloc = parts.netloc
    userinfo, _, hostport = netloc.rpartition("@")
    if userinfo and not _USERINFO.match(userinfo):
        raise UrlRuleError("has characters not allowed in the user name or password")
    _check_hostport(hostport)


def _check_hostport(hostport: str) -> None:
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            raise UrlRuleError("is not a valid URL (unclosed '[' in the host)")
        host, rest = hostport[1:end], hostport[end + 1 :]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise UrlRuleError("has an invalid IPv6 address in its host") from None
        if "%" in host:
            raise UrlRuleError("must not name an IPv6 zone")
        if rest and not rest.startswith(":"):
            raise UrlRuleError("is not a valid URL (text after the IPv6 address)")
        port = rest[1:] if rest else None
    else:
        host, colon, port_text = hostport.partition(":")
        port = port_text if colon else None
        _check_host(host)
    if port is not None and (not _PORT.match(port) or not 1 <= int(port) <= 65535):
        raise UrlRuleError("must have a port of 1-65535 when one is given")


def _check_host(host: str) -> None:
    if not host:
        raise UrlRuleError("must have a host")
    if _DOTTED_QUAD.match(host):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            raise UrlRuleError("has an invalid IPv4 address in its host") from None
        return
    name = host[:-1] if host.endswith(".") else host
    if len(name) > 253 or not name:
        raise UrlRuleError("must have a host name of at most 253 characters")
    labels = name.split(".")
    if not all(_LABEL.match(label) for label in labels):
        raise UrlRuleError(
            "must have a host of letters, digits, '-' and '_' (an international name in "
            "its xn-- form), an IPv4 address or a bracketed IPv6 address"
        )
    if _NUMERIC_LABEL.match(labels[-1]):
        raise UrlRuleError("has a host that is neither a name nor a dotted-quad IPv4 address")


def _is_control(ch: str) -> bool:
    # Cc: C0, DEL and C1; Cf: zero-width and bidi controls; Cs/Co/Cn: not text at all.
    return unicodedata.category(ch)[0] == "C"
