"""The segment filter language (F-CONTACT-3): text in, a typed tree out, nothing evaluated.

A filter reads like the segment builders of listmonk and Klaviyo::

    first_name = "Ana" and age >= 30
    city in ("Paris", "Lyon") and not city = "Nice"
    birthday before 2000-01-01            has email            consent = subscribed
    clicked within 30d and not messaged within 7d
    opted_in after 2026-01-01             in_list "VIP"        list = LS0123…

Grammar (keywords are case-insensitive; ``not`` binds tighter than ``and``, ``and`` tighter
than ``or``)::

    filter    := or_expr END
    or_expr   := and_expr ("or" and_expr)*
    and_expr  := unary ("and" unary)*
    unary     := "not" unary | "(" or_expr ")" | predicate
    predicate := "has" FIELD
               | ("clicked" | "messaged" | "opted_in" | "opted_out") [window]
               | "consent" ("=" | "!=") ("subscribed" | "unsubscribed" | "unknown")
               | "in_list" (STRING | WORD)        | "list" ("=" | "!=") (STRING | WORD)
               | FIELD ("=" | "!=" | "<" | "<=" | ">" | ">=") value
               | FIELD ["not"] "in" "(" value ("," value)* ")"
               | FIELD ("before" | "after") DATE
               | FIELD ("contains" | "starts_with") STRING
    window    := "within" DURATION | "after" DATE | "before" DATE
    value     := STRING | NUMBER | DATE | "true" | "false"

``STRING`` is double- or single-quoted with ``\\`` escaping the quote or a backslash;
``NUMBER`` is ``-?digits[.digits]``; ``DATE`` is ``YYYY-MM-DD``; ``DURATION`` is digits with
``h``, ``d`` or ``w``. Days are whole: ``before D`` means earlier than D, ``after D`` later
than all of D.

This module only parses: :func:`parse` returns the tree or raises :class:`FilterError` with
the column where the text stopped making sense and what would have been accepted there.
Which fields exist and how a tree becomes SQL is :mod:`textwire.contacts.segments`.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Final, Literal

MAX_LENGTH: Final = 4_096
MAX_DEPTH: Final = 32  # nested parentheses / nots: deeper is refused, not a RecursionError
MAX_DURATION_HOURS: Final = 24 * 366 * 10

CompareOp = Literal["=", "!=", "<", "<=", ">", ">=", "contains", "starts_with"]
EventKind = Literal["clicked", "messaged", "opted_in", "opted_out"]
ConsentStatus = Literal["subscribed", "unsubscribed", "unknown"]
Unit = Literal["h", "d", "w"]

EVENTS: Final[tuple[EventKind, ...]] = ("clicked", "messaged", "opted_in", "opted_out")
CONSENT_STATUSES: Final[tuple[ConsentStatus, ...]] = ("subscribed", "unsubscribed", "unknown")
_ORDER_OPS: Final = ("=", "!=", "<", "<=", ">", ">=")
KEYWORDS: Final = frozenset(
    {"and", "or", "not", "in", "has", "in_list", "list", "consent", "within", "before", "after"}
    | {"contains", "starts_with", "true", "false", *EVENTS}
)
"""Words that cannot name a field (a field with such a key cannot be filtered on)."""


# -- the tree ------------------------------------------------------------------------------
# ``at`` is the 0-based offset of the node's field in the text, for errors found later
# (an unknown field, a value of the wrong type); it takes no part in equality.


@dataclass(frozen=True)
class Text:
    value: str


@dataclass(frozen=True)
class Number:
    value: Decimal


@dataclass(frozen=True)
class Day:
    value: date


@dataclass(frozen=True)
class Flag:
    value: bool


Value = Text | Number | Day | Flag


@dataclass(frozen=True)
class Compare:
    field: str
    op: CompareOp
    value: Value
    at: int = dataclasses.field(default=0, compare=False, repr=False)


@dataclass(frozen=True)
class InSet:
    field: str
    values: tuple[Value, ...]
    at: int = dataclasses.field(default=0, compare=False, repr=False)


@dataclass(frozen=True)
class Has:
    field: str
    at: int = dataclasses.field(default=0, compare=False, repr=False)


@dataclass(frozen=True)
class Within:
    amount: int
    unit: Unit

    @property
    def hours(self) -> int:
        return self.amount * {"h": 1, "d": 24, "w": 24 * 7}[self.unit]


@dataclass(frozen=True)
class After:
    day: date


@dataclass(frozen=True)
class Before:
    day: date


Window = Within | After | Before


@dataclass(frozen=True)
class Event:
    kind: EventKind
    window: Window | None = None


@dataclass(frozen=True)
class Consent:
    status: ConsentStatus


@dataclass(frozen=True)
class InList:
    """Membership of a static list, named by its SID (``LS…``) or its friendly name."""

    ref: str
    at: int = dataclasses.field(default=0, compare=False, repr=False)


@dataclass(frozen=True)
class Not:
    item: Node


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]


Node = Compare | InSet | Has | Event | Consent | InList | Not | And | Or


class FilterError(ValueError):
    """The text is not a filter: ``column`` (1-based) is where, ``expected`` what would do."""

    def __init__(self, column: int, expected: str, found: str) -> None:
        self.column = column
        self.expected = expected
        self.found = found
        super().__init__(f"at column {column}: expected {expected}, found {found}")


# -- tokens --------------------------------------------------------------------------------

TokenKind = Literal["word", "string", "number", "date", "duration", "op", "(", ")", ",", "end"]


@dataclass(frozen=True)
class Token:
    kind: TokenKind
    text: str  # the source text (a string's decoded value for "string")
    at: int

    def describe(self) -> str:
        if self.kind == "end":
            return "the end of the filter"
        shown = self.text if len(self.text) <= 24 else self.text[:24] + "…"
        return repr(shown) if self.kind != "string" else f"the string {shown!r}"


_SPACE: Final = re.compile(r"\s+")
_WORD: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_NUMBER: Final = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_DURATION: Final = re.compile(r"([0-9]{1,9})([A-Za-z]+)")
_OP: Final = re.compile(r"!=|<=|>=|==|=|<|>")
# What may follow a number, date or duration: not a word character or another dot/dash,
# so "12abc", "1.2.3" and "2020-01-01x" are refused rather than split into two tokens.
_GLUED: Final = re.compile(r"[A-Za-z0-9_.\-]")


def tokenize(source: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(source)
    while True:
        space = _SPACE.match(source, i)
        if space:
            i = space.end()
        if i >= n:
            tokens.append(Token("end", "", n))
            return tokens
        ch = source[i]
        if ch in "(),":
            tokens.append(Token(ch, ch, i))  # type: ignore[arg-type]  # ch is one of the three
            i += 1
        elif ch in "\"'":
            token, i = _string(source, i)
            tokens.append(token)
        elif m := _OP.match(source, i):
            tokens.append(Token("op", "=" if m.group() == "==" else m.group(), i))
            i = m.end()
        elif ch.isascii() and (ch.isdigit() or (ch == "-" and source[i + 1 : i + 2].isdigit())):
            token, i = _numeric(source, i)
            tokens.append(token)
        elif m := _WORD.match(source, i):
            tokens.append(Token("word", m.group(), i))
            i = m.end()
        else:
            raise FilterError(i + 1, "a field, a value or an operator", repr(ch))


def _string(source: str, start: int) -> tuple[Token, int]:
    quote, i, out = source[start], start + 1, []
    while i < len(source):
        ch = source[i]
        if ch == "\\":
            nxt = source[i + 1 : i + 2]
            if nxt not in ("\\", quote):
                raise FilterError(i + 1, f"\\\\ or \\{quote} after a backslash", repr(nxt or "end"))
            out.append(nxt)
            i += 2
        elif ch == quote:
            return Token("string", "".join(out), start), i + 1
        else:
            out.append(ch)
            i += 1
    raise FilterError(start + 1, f"a closing {quote} for this string", "the end of the filter")


def _numeric(source: str, i: int) -> tuple[Token, int]:
    for kind, pattern in (("date", _DATE), ("duration", _DURATION), ("number", _NUMBER)):
        m = pattern.match(source, i)
        if m and not _GLUED.match(source, m.end()):
            return Token(kind, m.group(), i), m.end()  # type: ignore[arg-type]
    end = i + 1
    while end < len(source) and _GLUED.match(source, end):
        end += 1
    raise FilterError(
        i + 1,
        "a number (42, -3.5), a date (YYYY-MM-DD) or a duration (30d, 12h, 2w)",
        repr(source[i:end][:24]),
    )


# -- parsing -------------------------------------------------------------------------------

_VALUE: Final = 'a value: a "string", a number, a date (YYYY-MM-DD), true or false'


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.i = 0
        self.depth = 0

    @property
    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        token = self.tokens[self.i]
        if token.kind != "end":
            self.i += 1
        return token

    def fail(self, expected: str, token: Token | None = None) -> FilterError:
        token = token or self.peek
        return FilterError(token.at + 1, expected, token.describe())

    def keyword(self, *words: str) -> str | None:
        token = self.peek
        if token.kind == "word" and token.text.lower() in words:
            self.take()
            return token.text.lower()
        return None

    def expect(self, kind: TokenKind, expected: str) -> Token:
        if self.peek.kind != kind:
            raise self.fail(expected)
        return self.take()

    def filter(self) -> Node:
        node = self.or_expr()
        if self.peek.kind != "end":
            raise self.fail("'and', 'or' or the end of the filter")
        return node

    def or_expr(self) -> Node:
        items = [self.and_expr()]
        while self.keyword("or"):
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_expr(self) -> Node:
        items = [self.unary()]
        while self.keyword("and"):
            items.append(self.unary())
        return items[0] if len(items) == 1 else And(tuple(items))

    def unary(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"at most {MAX_DEPTH} nested 'not's and parentheses")
        try:
            if self.keyword("not"):
                return Not(self.unary())
            if self.peek.kind == "(":
                self.take()
                node = self.or_expr()
                self.expect(")", "')' or 'and'/'or'")
                return node
            return self.predicate()
        finally:
            self.depth -= 1

    def predicate(self) -> Node:
        token = self.peek
        if token.kind != "word":
            raise self.fail("a condition: a field name, has, clicked, messaged, consent, in_list…")
        word = token.text.lower()
        if word in ("has",):
            self.take()
            name = self.field_name("a field name after 'has'")
            return Has(name.text, at=name.at)
        if word in EVENTS:
            self.take()
            return Event(word, self.window())
        if word == "consent":
            self.take()
            op = self.equality("consent")
            status = self.keyword(*CONSENT_STATUSES)
            if status is None:
                raise self.fail("subscribed, unsubscribed or unknown")
            node: Node = Consent(status)  # type: ignore[arg-type]  # one of CONSENT_STATUSES
            return Not(node) if op == "!=" else node
        if word == "in_list":
            self.take()
            return self.list_ref()
        if word == "list":
            self.take()
            op = self.equality("list")
            ref = self.list_ref()
            return Not(ref) if op == "!=" else ref
        name = self.field_name("a condition: a field name, has, clicked, messaged, consent…")
        return self.field_condition(name)

    def field_name(self, expected: str) -> Token:
        """A field's name, lower-cased (field keys are lower case, as keywords are)."""
        token = self.peek
        if token.kind != "word" or token.text.lower() in KEYWORDS:
            raise self.fail(expected)
        self.take()
        return Token("word", token.text.lower(), token.at)

    def equality(self, what: str) -> str:
        token = self.peek
        if token.kind != "op" or token.text not in ("=", "!="):
            raise self.fail(f"'=' or '!=' after '{what}'")
        return self.take().text

    def list_ref(self) -> InList:
        token = self.peek
        if token.kind == "string" and token.text:
            return InList(self.take().text, at=token.at)
        if token.kind == "word" and token.text.lower() not in KEYWORDS:
            return InList(self.take().text, at=token.at)
        raise self.fail('a list: its SID (LS…) or its "name"')

    def window(self) -> Window | None:
        word = self.keyword("within", "after", "before")
        if word == "within":
            token = self.expect("duration", "a duration such as 30d, 12h or 2w")
            m = _DURATION.fullmatch(token.text)
            assert m is not None  # the tokenizer matched it
            unit = m.group(2).lower()
            if unit not in ("h", "d", "w"):
                raise self.fail("a duration in h, d or w (hours, days, weeks)", token)
            window = Within(int(m.group(1)), unit)  # type: ignore[arg-type]  # h, d or w
            if window.hours > MAX_DURATION_HOURS:
                raise self.fail("a duration of at most ten years", token)
            return window
        if word is not None:
            day = self.day()
            return After(day) if word == "after" else Before(day)
        return None

    def day(self) -> date:
        token = self.expect("date", "a date as YYYY-MM-DD")
        try:
            return date.fromisoformat(token.text)
        except ValueError:
            raise self.fail("a calendar date as YYYY-MM-DD", token) from None

    def value(self) -> Value:
        token = self.peek
        if token.kind == "string":
            return Text(self.take().text)
        if token.kind == "number":
            return Number(Decimal(self.take().text))
        if token.kind == "date":
            return Day(self.day())
        flag = self.keyword("true", "false")
        if flag is not None:
            return Flag(flag == "true")
        raise self.fail(_VALUE)

    def field_condition(self, name: Token) -> Node:
        token = self.peek
        if token.kind == "op":
            self.take()
            return Compare(name.text, token.text, self.value(), at=name.at)  # type: ignore[arg-type]
        word = self.keyword("in", "not", "before", "after", "contains", "starts_with")
        if word == "not":
            if not self.keyword("in"):
                raise self.fail("'in' after 'not'")
            return Not(self.in_set(name))
        if word == "in":
            return self.in_set(name)
        if word in ("before", "after"):
            op: CompareOp = "<" if word == "before" else ">"
            return Compare(name.text, op, Day(self.day()), at=name.at)
        if word in ("contains", "starts_with"):
            text = self.expect("string", 'a "string"')
            return Compare(name.text, word, Text(text.text), at=name.at)  # type: ignore[arg-type]
        raise self.fail(
            "an operator: =, !=, <, <=, >, >=, in, not in, before, after, contains, starts_with"
        )

    def in_set(self, name: Token) -> InSet:
        self.expect("(", "'(' to open the list of values")
        values = [self.value()]
        while self.peek.kind == ",":
            self.take()
            values.append(self.value())
        self.expect(")", "',' or ')'")
        return InSet(name.text, tuple(values), at=name.at)


def parse(source: str) -> Node:
    """The tree of ``source``; :class:`FilterError` (column, expected, found) otherwise."""
    if len(source) > MAX_LENGTH:
        raise FilterError(MAX_LENGTH + 1, f"at most {MAX_LENGTH} characters", "more")
    return _Parser(tokenize(source)).filter()


# -- back to text --------------------------------------------------------------------------


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def format_value(value: Value) -> str:
    if isinstance(value, Text):
        return _quote(value.value)
    if isinstance(value, Number):
        return format(value.value, "f")
    if isinstance(value, Day):
        return value.value.isoformat()
    return "true" if value.value else "false"


def _window(window: Window | None) -> str:
    if isinstance(window, Within):
        return f" within {window.amount}{window.unit}"
    if isinstance(window, After):
        return f" after {window.day.isoformat()}"
    if isinstance(window, Before):
        return f" before {window.day.isoformat()}"
    return ""


def _nested(node: Node) -> str:
    text = format_filter(node)
    return f"({text})" if isinstance(node, And | Or) else text


def format_filter(node: Node) -> str:
    """Canonical text for ``node``: ``parse(format_filter(n)) == n`` for every tree."""
    if isinstance(node, Or):
        return " or ".join(_nested(item) for item in node.items)
    if isinstance(node, And):
        return " and ".join(_nested(item) for item in node.items)
    if isinstance(node, Not):
        return "not " + _nested(node.item)
    if isinstance(node, Compare):
        return f"{node.field} {node.op} {format_value(node.value)}"
    if isinstance(node, InSet):
        return f"{node.field} in ({', '.join(format_value(v) for v in node.values)})"
    if isinstance(node, Has):
        return f"has {node.field}"
    if isinstance(node, Event):
        return node.kind + _window(node.window)
    if isinstance(node, Consent):
        return f"consent = {node.status}"
    return f"in_list {_quote(node.ref)}"


def walk(node: Node) -> list[Node]:
    """``node`` and every node under it, parents first."""
    out: list[Node] = []
    stack = [node]
    while stack:
        current = stack.pop()
        out.append(current)
        if isinstance(current, And | Or):
            stack.extend(reversed(current.items))
        elif isinstance(current, Not):
            stack.append(current.item)
    return out
