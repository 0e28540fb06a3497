"""Opt-out / opt-in / help / custom keywords on inbound messages (F-CONSENT-5).

Pure: plain frozen dataclasses in, a :class:`KeywordMatch` (or None) out. The inbound webhook
handler calls :func:`match`, sends ``reply``, updates consent for STOP/START and forwards
``opt_out_type`` as ``OptOutType``.

Matching rule. The *whole* body must be one keyword; "Stop please" never matches. Before
comparing, both the body and every configured keyword are folded the same way:

- Unicode compatibility forms are unified (NFKD): full-width ``ＳＴＯＰ``, ligatures, circled
  letters become plain letters;
- accents and other combining marks are dropped (``ARRÊT`` = ``ARRET``, ``SÍ`` = ``SI``), as
  are invisible format characters (zero-width space, BOM);
- Cyrillic and Greek letters that look identical to Latin ones (``СТОР`` typed on a Cyrillic
  keyboard) are read as Latin;
- case is folded (``casefold``);
- surrounding whitespace and punctuation are trimmed (``"Stop!"``, ``"STOP."``): people who
  mean STOP write it that way, and honouring an opt-out is the safe side of the law.

A body with whitespace left inside after that is several words and matches nothing.

Configuration (per messaging service). The global groups (opt-out, opt-in, help) hold
keywords and the confirmation reply; STOP, START and HELP cannot be removed. Custom keywords
(e.g. CONTACT) carry their own reply and change no consent. Overrides per language (``es``,
``fr``, ``pt-br`` …) and per country (ISO 3166 ``MX``, ``FR`` …) *add* keywords and *replace*
replies; they can never take a keyword away or give a keyword another type, so STOP is always
an opt-out. Language overrides match for everyone (the keyword tells the language: ``AYUDA``
gets the Spanish reply); country overrides only for senders from that country. Reply
precedence: the sender's country, then the language the keyword was found in, then the
``language`` hint, then the global reply.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, Literal, assert_never

KeywordType = Literal["STOP", "START", "HELP", "CUSTOM"]
OptOutType = Literal["STOP", "START", "HELP"]
BuiltinGroup = Literal["opt_out", "opt_in", "help"]

MANDATORY_KEYWORDS: Final[Mapping[BuiltinGroup, str]] = MappingProxyType(
    {"opt_out": "STOP", "opt_in": "START", "help": "HELP"}
)
GROUP_TYPES: Final[Mapping[BuiltinGroup, OptOutType]] = MappingProxyType(
    {"opt_out": "STOP", "opt_in": "START", "help": "HELP"}
)
MAX_KEYWORD_LENGTH: Final = 64
MAX_REPLY_LENGTH: Final = 1600  # Twilio's body limit (21617)

DEFAULT_OPT_OUT_KEYWORDS: Final = (
    "STOP",
    "STOPALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "REVOKE",
    "OPTOUT",
)
DEFAULT_OPT_IN_KEYWORDS: Final = ("START", "YES", "UNSTOP")
DEFAULT_HELP_KEYWORDS: Final = ("HELP", "INFO")
DEFAULT_OPT_OUT_REPLY: Final = (
    "You have successfully been unsubscribed. You will not receive any more messages from "
    "this number. Reply START to resubscribe."
)
DEFAULT_OPT_IN_REPLY: Final = (
    "You have successfully been re-subscribed to messages from this number. Reply HELP for "
    "help. Reply STOP to unsubscribe. Msg&Data Rates May Apply."
)
DEFAULT_HELP_REPLY: Final = (
    "Reply STOP to unsubscribe. Reply START to re-subscribe. Msg&Data Rates May Apply."
)

# Letters drawn identically to Latin ones in common fonts; only unambiguous look-alikes.
_HOMOGLYPHS: Final = str.maketrans(
    "АВЕКМНОРСТУХІЈЅԚԜаеорсухіјѕһԁԛԝΑΒΕΖΗΙΚΜΝΟΡΤΥΧοα",
    "ABEKMHOPCTYXIJSQWaeopcyxijshdqwABEZHIKMNOPTYXoa",
)
_DROPPED_CATEGORIES: Final = frozenset({"Mn", "Me", "Cf"})
_LANGUAGE_TAG: Final = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{1,8})*")
_COUNTRY_CODE: Final = re.compile(r"[A-Z]{2}")


class KeywordConfigError(ValueError):
    """A keyword configuration broke a rule; ``field`` is the path, ``rule`` what is wrong."""

    def __init__(self, field: str, rule: str) -> None:
        self.field = field
        self.rule = rule
        super().__init__(f"{field}: {rule}")


def fold(text: str) -> str:
    """``text`` folded for comparison: compatibility forms, accents, look-alikes, case."""
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(c for c in decomposed if unicodedata.category(c) not in _DROPPED_CATEGORIES)
    return kept.translate(_HOMOGLYPHS).casefold()


def _is_trimmable(char: str) -> bool:
    return char.isspace() or unicodedata.category(char).startswith("P")


def keyword_key(text: str) -> str | None:
    """The comparison key of a body or keyword; None when it is empty or several words."""
    folded = fold(text)
    start, end = 0, len(folded)
    while start < end and _is_trimmable(folded[start]):
        start += 1
    while end > start and _is_trimmable(folded[end - 1]):
        end -= 1
    key = folded[start:end]
    if not key or any(c.isspace() for c in key):
        return None
    return key


@dataclass(frozen=True)
class KeywordGroup:
    """Keywords of one built-in type and the confirmation reply they send."""

    keywords: tuple[str, ...]
    reply: str

    def __post_init__(self) -> None:
        # Canonical display form; accepts a list too so JSON-shaped input just works.
        object.__setattr__(self, "keywords", tuple(str(k).strip().upper() for k in self.keywords))


@dataclass(frozen=True)
class CustomKeyword:
    """A keyword with its own reply that changes no consent (e.g. CONTACT)."""

    keyword: str
    reply: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "keyword", self.keyword.strip().upper())


@dataclass(frozen=True)
class KeywordOverride:
    """Per-language or per-country additions: extra keywords and localised replies.

    A group here may have no keywords, only a reply: that localises the global reply.
    """

    opt_out: KeywordGroup | None = None
    opt_in: KeywordGroup | None = None
    help: KeywordGroup | None = None
    custom: tuple[CustomKeyword, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "custom", tuple(self.custom))


DEFAULT_OPT_OUT: Final = KeywordGroup(DEFAULT_OPT_OUT_KEYWORDS, DEFAULT_OPT_OUT_REPLY)
DEFAULT_OPT_IN: Final = KeywordGroup(DEFAULT_OPT_IN_KEYWORDS, DEFAULT_OPT_IN_REPLY)
DEFAULT_HELP: Final = KeywordGroup(DEFAULT_HELP_KEYWORDS, DEFAULT_HELP_REPLY)


@dataclass(frozen=True)
class KeywordMatch:
    """What an inbound body matched: its type, the configured keyword and the reply to send.

    ``language`` / ``country`` name the override whose reply was chosen (None: global).
    """

    type: KeywordType
    keyword: str
    reply: str
    language: str | None = None
    country: str | None = None

    @property
    def opt_out_type(self) -> OptOutType | None:
        """The inbound webhook's ``OptOutType``; None for custom keywords."""
        return opt_out_type_of(self.type)


@dataclass(frozen=True)
class _Entry:
    type: KeywordType
    keyword: str


@dataclass(frozen=True)
class _Scope:
    """One level of the configuration, indexed: folded key → entry, and its replies."""

    name: str
    entries: Mapping[str, _Entry]
    replies: Mapping[OptOutType, str]
    custom_replies: Mapping[str, str]

    def reply_for(self, entry: _Entry, key: str) -> str | None:
        if entry.type == "CUSTOM":
            return self.custom_replies.get(key)
        return self.replies.get(entry.type)


def _groups(
    source: KeywordConfig | KeywordOverride,
) -> Iterator[tuple[BuiltinGroup, KeywordGroup | None]]:
    yield "opt_out", source.opt_out
    yield "opt_in", source.opt_in
    yield "help", source.help


def _check_reply(reply: object, path: str) -> None:
    if not isinstance(reply, str) or not reply.strip():
        raise KeywordConfigError(path, "reply must be a non-empty string")
    if len(reply) > MAX_REPLY_LENGTH:
        raise KeywordConfigError(path, f"reply longer than {MAX_REPLY_LENGTH} characters")


def _checked_key(keyword: str, path: str) -> str:
    key = keyword_key(keyword)
    if key is None or key != fold(keyword.strip()):
        raise KeywordConfigError(
            path, f"keyword {keyword!r} must be one word without surrounding punctuation"
        )
    if len(keyword) > MAX_KEYWORD_LENGTH:
        raise KeywordConfigError(path, f"keyword longer than {MAX_KEYWORD_LENGTH} characters")
    return key


def _build_scope(name: str, source: KeywordConfig | KeywordOverride, path: str) -> _Scope:
    entries: dict[str, _Entry] = {}
    replies: dict[OptOutType, str] = {}
    custom_replies: dict[str, str] = {}

    def add(keyword: str, type_: KeywordType, where: str) -> str:
        key = _checked_key(keyword, where)
        if key in entries:
            raise KeywordConfigError(where, f"keyword {keyword!r} is listed twice in {name}")
        entries[key] = _Entry(type_, keyword)
        return key

    for group_name, group in _groups(source):
        if group is None:
            continue
        where = f"{path}{group_name}"
        _check_reply(group.reply, f"{where}.reply")
        replies[GROUP_TYPES[group_name]] = group.reply
        for keyword in group.keywords:
            add(keyword, GROUP_TYPES[group_name], f"{where}.keywords")
    for index, custom in enumerate(source.custom):
        where = f"{path}custom[{index}]"
        _check_reply(custom.reply, f"{where}.reply")
        custom_replies[add(custom.keyword, "CUSTOM", f"{where}.keyword")] = custom.reply
    return _Scope(name, MappingProxyType(entries), MappingProxyType(replies), custom_replies)


def _check_mandatory(config: KeywordConfig) -> None:
    for group_name, group in _groups(config):
        required = MANDATORY_KEYWORDS[group_name]
        if group is None or required not in group.keywords:
            raise KeywordConfigError(
                f"{group_name}.keywords",
                f"{required} is missing: STOP, START and HELP cannot be removed",
            )


def _check_consistent_types(scopes: Iterable[_Scope]) -> None:
    """One folded keyword, one type everywhere: an override cannot turn STOP into HELP."""
    seen: dict[str, tuple[KeywordType, str]] = {}
    for scope in scopes:
        for key, entry in scope.entries.items():
            first = seen.setdefault(key, (entry.type, scope.name))
            if first[0] != entry.type:
                raise KeywordConfigError(
                    scope.name,
                    f"keyword {entry.keyword!r} is {first[0]} in {first[1]} "
                    f"and cannot be {entry.type} here",
                )


def normalize_language(tag: str) -> str:
    """A language tag lower-cased with '-' separators (``pt_BR`` → ``pt-br``)."""
    return tag.strip().replace("_", "-").lower()


def normalize_country(code: str) -> str:
    """An ISO 3166-1 alpha-2 code upper-cased (``fr`` → ``FR``)."""
    return code.strip().upper()


def _normalized_overrides(
    overrides: Mapping[str, KeywordOverride], kind: Literal["languages", "countries"]
) -> Mapping[str, KeywordOverride]:
    result: dict[str, KeywordOverride] = {}
    for raw, override in overrides.items():
        if kind == "languages":
            tag, pattern, rule = normalize_language(raw), _LANGUAGE_TAG, "a language tag"
        else:
            tag, pattern, rule = normalize_country(raw), _COUNTRY_CODE, "an ISO 3166 country"
        if not pattern.fullmatch(tag):
            raise KeywordConfigError(f"{kind}.{raw}", f"{raw!r} is not {rule}")
        if tag in result:
            raise KeywordConfigError(f"{kind}.{raw}", f"{tag!r} is configured twice")
        if not isinstance(override, KeywordOverride):
            raise KeywordConfigError(f"{kind}.{raw}", "must be a KeywordOverride")
        result[tag] = override
    return MappingProxyType(result)


@dataclass(frozen=True)
class KeywordConfig:
    """One messaging service's keywords and replies; validated on construction.

    Raises :class:`KeywordConfigError` when STOP, START or HELP is missing, a keyword is not
    one word, appears twice, or has different types in different places, a reply is empty,
    or an override key is not a language tag / country code.
    """

    opt_out: KeywordGroup = DEFAULT_OPT_OUT
    opt_in: KeywordGroup = DEFAULT_OPT_IN
    help: KeywordGroup = DEFAULT_HELP
    custom: tuple[CustomKeyword, ...] = ()
    languages: Mapping[str, KeywordOverride] = field(default_factory=dict)
    countries: Mapping[str, KeywordOverride] = field(default_factory=dict)
    _global: _Scope = field(init=False, repr=False, compare=False)
    _languages: Mapping[str, _Scope] = field(init=False, repr=False, compare=False)
    _countries: Mapping[str, _Scope] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "custom", tuple(self.custom))
        set_(self, "languages", _normalized_overrides(self.languages, "languages"))
        set_(self, "countries", _normalized_overrides(self.countries, "countries"))
        _check_mandatory(self)
        global_scope = _build_scope("the global keywords", self, "")
        languages = {
            tag: _build_scope(f"languages.{tag}", o, f"languages.{tag}.")
            for tag, o in sorted(self.languages.items())
        }
        countries = {
            code: _build_scope(f"countries.{code}", o, f"countries.{code}.")
            for code, o in sorted(self.countries.items())
        }
        _check_consistent_types([global_scope, *languages.values(), *countries.values()])
        set_(self, "_global", global_scope)
        set_(self, "_languages", MappingProxyType(languages))
        set_(self, "_countries", MappingProxyType(countries))

    def to_dict(self) -> dict[str, object]:
        """A JSON-able dict; :meth:`from_dict` reads it back to an equal config."""
        return {
            **_override_body(self),
            "languages": {tag: _override_body(o) for tag, o in self.languages.items()},
            "countries": {code: _override_body(o) for code, o in self.countries.items()},
        }

    @classmethod
    def from_dict(cls, data: object) -> KeywordConfig:
        """Read a stored/JSON config; missing top-level keys take the defaults.

        Raises :class:`KeywordConfigError` naming the path of anything malformed.
        """
        body = _as_mapping(data, "config", _TOP_KEYS)
        defaults = {"opt_out": DEFAULT_OPT_OUT, "opt_in": DEFAULT_OPT_IN, "help": DEFAULT_HELP}
        groups = {
            name: _group_from(body[name], name) if name in body else default
            for name, default in defaults.items()
        }
        return cls(
            opt_out=groups["opt_out"],
            opt_in=groups["opt_in"],
            help=groups["help"],
            custom=_customs_from(body.get("custom", []), "custom"),
            languages=_overrides_from(body.get("languages", {}), "languages"),
            countries=_overrides_from(body.get("countries", {}), "countries"),
        )


_GROUP_KEYS: Final = frozenset({"keywords", "reply"})
_CUSTOM_KEYS: Final = frozenset({"keyword", "reply"})
_OVERRIDE_KEYS: Final = frozenset({"opt_out", "opt_in", "help", "custom"})
_TOP_KEYS: Final = _OVERRIDE_KEYS | {"languages", "countries"}


def _override_body(source: KeywordConfig | KeywordOverride) -> dict[str, object]:
    body: dict[str, object] = {
        name: {"keywords": list(group.keywords), "reply": group.reply}
        for name, group in _groups(source)
        if group is not None
    }
    body["custom"] = [{"keyword": c.keyword, "reply": c.reply} for c in source.custom]
    return body


def _as_mapping(data: object, path: str, allowed: frozenset[str]) -> Mapping[str, object]:
    if not isinstance(data, Mapping):
        raise KeywordConfigError(path, "must be an object")
    unknown = sorted(str(k) for k in data if k not in allowed)
    if unknown:
        raise KeywordConfigError(path, f"unknown key(s): {', '.join(unknown)}")
    return data


def _string(data: Mapping[str, object], key: str, path: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise KeywordConfigError(f"{path}.{key}", "must be a string")
    return value


def _list(data: object, path: str) -> list[object]:
    if not isinstance(data, list):
        raise KeywordConfigError(path, "must be a list")
    return data


def _group_from(data: object, path: str) -> KeywordGroup:
    body = _as_mapping(data, path, _GROUP_KEYS)
    keywords = _list(body.get("keywords"), f"{path}.keywords")
    for index, keyword in enumerate(keywords):
        if not isinstance(keyword, str):
            raise KeywordConfigError(f"{path}.keywords[{index}]", "must be a string")
    return KeywordGroup(tuple(str(k) for k in keywords), _string(body, "reply", path))


def _customs_from(data: object, path: str) -> tuple[CustomKeyword, ...]:
    customs = []
    for index, item in enumerate(_list(data, path)):
        where = f"{path}[{index}]"
        body = _as_mapping(item, where, _CUSTOM_KEYS)
        customs.append(
            CustomKeyword(_string(body, "keyword", where), _string(body, "reply", where))
        )
    return tuple(customs)


def _overrides_from(data: object, path: str) -> dict[str, KeywordOverride]:
    if not isinstance(data, Mapping):
        raise KeywordConfigError(path, "must be an object")
    overrides = {}
    for tag, item in data.items():
        where = f"{path}.{tag}"
        body = _as_mapping(item, where, _OVERRIDE_KEYS)
        overrides[str(tag)] = KeywordOverride(
            opt_out=_group_from(body["opt_out"], f"{where}.opt_out") if "opt_out" in body else None,
            opt_in=_group_from(body["opt_in"], f"{where}.opt_in") if "opt_in" in body else None,
            help=_group_from(body["help"], f"{where}.help") if "help" in body else None,
            custom=_customs_from(body.get("custom", []), f"{where}.custom"),
        )
    return overrides


def _language_scope(config: KeywordConfig, language: str | None) -> _Scope | None:
    """The override for ``language``, falling back from ``es-mx`` to ``es``."""
    if not language:
        return None
    tag = normalize_language(language)
    return config._languages.get(tag) or config._languages.get(tag.split("-")[0])


def match(
    body: str,
    config: KeywordConfig,
    *,
    country: str | None = None,
    language: str | None = None,
) -> KeywordMatch | None:
    """The keyword ``body`` is, under ``config``, for a sender in ``country``; else None.

    ``country`` is the ISO 3166 region of the sender's number; ``language`` an optional hint
    (e.g. the contact's language) used to localise replies to language-neutral keywords.
    """
    key = keyword_key(body)
    if key is None:
        return None
    country_scope = config._countries.get(normalize_country(country)) if country else None
    hint_scope = _language_scope(config, language)
    others = [s for s in config._languages.values() if s is not hint_scope]
    search = [country_scope, hint_scope, config._global, *others]
    found = next((s for s in search if s is not None and key in s.entries), None)
    if found is None:
        return None
    entry = found.entries[key]
    found_language = found if found.name.startswith("languages.") else None
    # The keyword's own scope always holds its reply, so the last candidate never misses.
    for scope in (country_scope, found_language, hint_scope, config._global, found):
        reply = scope.reply_for(entry, key) if scope is not None else None
        if reply is not None:
            break
    assert reply is not None and scope is not None
    return KeywordMatch(
        type=entry.type,
        keyword=entry.keyword,
        reply=reply,
        language=_scope_tag(scope, "languages."),
        country=_scope_tag(scope, "countries."),
    )


def _scope_tag(scope: _Scope, prefix: str) -> str | None:
    return scope.name.removeprefix(prefix) if scope.name.startswith(prefix) else None


def opt_out_type_of(keyword_type: KeywordType) -> OptOutType | None:
    """``OptOutType`` for a keyword type (None for CUSTOM); exhaustive over the Literal."""
    if keyword_type == "STOP" or keyword_type == "START" or keyword_type == "HELP":
        return keyword_type
    if keyword_type == "CUSTOM":
        return None
    assert_never(keyword_type)
