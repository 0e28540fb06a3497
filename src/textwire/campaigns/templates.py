"""Personalised SMS bodies: Jinja2 in a sandbox narrowed to what a text message needs (F-CAMP-1).

Pure: text and plain values in, text out; the only exception that leaves this module is
``TemplateError`` (with the line and column at fault when there is one).

What a body may use (checked when it is compiled, i.e. when a template is saved):

* variables: the contact's fields by name (``{{ first_name }}``) and the built-in
  ``contact`` (``contact.phone``, ``contact.sid``, ``contact.language``,
  ``contact.time_zone``); with ``declared`` given, any other name is refused. The built-in
  names (``contact``, ``range``, ``loop``) win over fields of the same name.
* filters from ``FILTERS`` (``default``, ``upper``, ``truncate``, ``replace`` ...), Jinja's
  tests, ``if``/``elif``/``else``, arithmetic but ``**``, comparisons, ``~`` concatenation,
  indexing and slicing;
* ``for`` loops over ``range(...)`` only: a range holds at most ``MAX_RANGE`` numbers and one
  rendering at most ``MAX_LOOP_STEPS`` of them, so nested loops cannot explode.

What it may not: ``set``, macros, ``call``/``filter`` blocks, ``include``/``import``/
``extends``, ``**``, calling anything but ``range`` in a ``for``, and any attribute of a
Python object (``{{ ''.__class__ }}``, ``{{ name.upper() }}``): attributes resolve only as
keys of ``contact`` (and the loop's counters). Every value a filter or ``*`` builds is at
most ``MAX_VALUE`` characters and the output at most ``MAX_OUTPUT`` (Twilio's body limit),
checked as it is produced, so no body can cost more than a bounded amount of work.

Undefined values: a declared field a contact has no value for (absent or null) is
*undefined*: ``default(...)`` supplies a value, printing it prints nothing, and using it in
arithmetic or as an object is a ``TemplateError``. Autoescaping is off: SMS is plain text.
"""

from __future__ import annotations

import functools
import hashlib
import re
import sys
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Final, NoReturn

from jinja2 import Undefined, meta, nodes
from jinja2.exceptions import TemplateSyntaxError
from jinja2.filters import FILTERS as JINJA_FILTERS
from jinja2.parser import Parser
from jinja2.runtime import LoopContext
from jinja2.sandbox import SandboxedEnvironment

Scalar = str | int | float | bool | None

MAX_SOURCE: Final = 4000
"""Longest body text (characters) a template may hold."""
MAX_OUTPUT: Final = 1600
"""Longest rendered text: the 1600-character limit of a message body (21617)."""
MAX_VALUE: Final = 4000
"""Longest string or list any filter or ``*`` may build while rendering."""
MAX_RANGE: Final = 100
MAX_LOOP_STEPS: Final = 1000

CONTACT_KEYS: Final = ("sid", "phone", "language", "time_zone")
BUILTINS: Final = frozenset({"contact", "range", "loop"})
# Names Jinja itself resolves (the template object, macro arguments): never a variable.
_RESERVED: Final = frozenset({"self", "caller", "varargs", "kwargs"})
FILTERS: Final = (
    "abs", "capitalize", "count", "d", "default", "first", "float", "int", "join", "last",
    "length", "lower", "replace", "round", "string", "title", "trim", "truncate", "upper",
)  # fmt: skip

_ALLOWED_NODES: Final = (
    nodes.Template, nodes.Output, nodes.TemplateData, nodes.Name, nodes.Const, nodes.Filter,
    nodes.Test, nodes.If, nodes.CondExpr, nodes.Compare, nodes.Operand, nodes.And, nodes.Or,
    nodes.Not, nodes.Neg, nodes.Pos, nodes.Concat, nodes.Add, nodes.Sub, nodes.Mul,
    nodes.Div, nodes.FloorDiv, nodes.Mod, nodes.Getattr, nodes.Getitem, nodes.Slice,
    nodes.For, nodes.Call, nodes.Tuple, nodes.List, nodes.Dict, nodes.Pair, nodes.Keyword,
)  # fmt: skip
_NODE_NAMES: Final = {
    nodes.Assign: "set", nodes.AssignBlock: "set", nodes.Macro: "macro",
    nodes.CallBlock: "call", nodes.FilterBlock: "filter", nodes.With: "with",
    nodes.Include: "include", nodes.Import: "import", nodes.FromImport: "import",
    nodes.Extends: "extends", nodes.Block: "block", nodes.Pow: "**",
}  # fmt: skip
_LOOP_ATTRIBUTES: Final = frozenset(
    {"index", "index0", "revindex", "revindex0", "first", "last", "length"}
)
_OPENERS: Final = re.compile(r"\{\{|\{%|\{#")


class TemplateError(ValueError):
    """A body that cannot be compiled or rendered: ``rule`` says why, ``line`` and
    ``column`` (1-based) where, when known; ``field`` is the body's parameter name."""

    def __init__(
        self, rule: str, *, line: int | None = None, column: int | None = None, field: str = ""
    ) -> None:
        self.rule = rule
        self.line = line
        self.column = column
        self.field = field
        super().__init__(self.describe())

    def describe(self) -> str:
        where = f" at line {self.line}, column {self.column}" if self.line is not None else ""
        return f"{self.rule}{where}"

    def at(self, field: str) -> TemplateError:
        return TemplateError(self.rule, line=self.line, column=self.column, field=field)


# --- the environment --------------------------------------------------------------------------


class _FailureSpy(Parser):
    """Jinja's parser, remembering the token it failed on (its errors carry only a line)."""

    failed_on: tuple[int, str] | None = None

    def fail(
        self,
        msg: str,
        lineno: int | None = None,
        exc: type[TemplateSyntaxError] = TemplateSyntaxError,
    ) -> NoReturn:
        current = self.stream.current
        self.failed_on = (current.lineno, str(current.value) if current.type != "eof" else "")
        super().fail(msg, lineno, exc)


class _Sandbox(SandboxedEnvironment):
    """Attributes only as mapping keys, bounded ``*``, no ``%`` formatting of strings."""

    intercepted_binops = frozenset({"*", "%"})

    def __init__(self) -> None:
        super().__init__(autoescape=False, undefined=Undefined, keep_trailing_newline=True)
        self.filters = {name: _bounded(JINJA_FILTERS[name]) for name in FILTERS}
        self.filters["replace"] = _bounded(_replace)
        self.globals = {}

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        return isinstance(obj, LoopContext) and attr in _LOOP_ATTRIBUTES

    def unsafe_undefined(self, obj: Any, attribute: str) -> Undefined:
        raise TemplateError(f"'{attribute}' is not available on a {type(obj).__name__}")

    def wrap_str_format(self, value: Any) -> None:
        return None  # str.format is an attribute like any other: refused

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "%" and isinstance(left, str):
            raise TemplateError("'%' string formatting is not available")
        if operator == "*":
            _check_repeat(left, right)
            _check_repeat(right, left)
        return self.binop_table[operator](left, right)


def _check_repeat(seq: Any, times: Any) -> None:
    sized = isinstance(seq, str | list | tuple) and isinstance(times, int)
    if sized and len(seq) * times > MAX_VALUE:
        raise TemplateError(f"a value longer than {MAX_VALUE} characters")


def _bounded(func: Callable[..., Any]) -> Callable[..., Any]:
    # wraps() keeps the marker by which Jinja passes the environment to some filters.
    @functools.wraps(func)
    def call(*args: Any, **kwargs: Any) -> Any:
        value = func(*args, **kwargs)
        if isinstance(value, str | list | tuple) and len(value) > MAX_VALUE:
            raise TemplateError(f"a value longer than {MAX_VALUE} characters")
        return value

    return call


def _replace(value: Any, old: Any, new: Any, count: Any = None) -> str:
    """``replace`` that measures its result before building it."""
    text, old, new = str(value), str(old), str(new)
    hits = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and not isinstance(count, bool) and count >= 0:
        hits = min(hits, count)
    if len(text) + hits * (len(new) - len(old)) > MAX_VALUE:
        raise TemplateError(f"a value longer than {MAX_VALUE} characters")
    return text.replace(old, new, -1 if count is None else int(count))


_ENV: Final = _Sandbox()


class _Steps:
    """``range`` for one rendering: at most ``MAX_RANGE`` numbers each, ``MAX_LOOP_STEPS``
    in all."""

    def __init__(self) -> None:
        self.left = MAX_LOOP_STEPS

    def range(self, *args: Any) -> range:
        if not args or any(not isinstance(a, int) or isinstance(a, bool) for a in args):
            raise TemplateError("range() takes whole numbers")
        numbers = range(*args)
        if len(numbers) > MAX_RANGE:
            raise TemplateError(f"range() may hold at most {MAX_RANGE} numbers")
        self.left -= len(numbers)
        if self.left < 0:
            raise TemplateError(f"loops may run at most {MAX_LOOP_STEPS} steps in all")
        return numbers


# --- compiling --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Compiled:
    """A checked body, ready to render; ``variables`` are the field names it reads."""

    source: str
    variables: frozenset[str]
    _template: Any = field(repr=False, compare=False)


def compile_body(source: str, *, declared: Collection[str] | None = None) -> Compiled:
    """Check and compile ``source``; ``declared`` (the account's field names), when given,
    is what a variable may name besides the built-ins."""
    if len(source) > MAX_SOURCE:
        raise TemplateError(f"must be at most {MAX_SOURCE} characters")
    parser = _FailureSpy(_ENV, source)
    try:
        tree = parser.parse()
    except TemplateSyntaxError as exc:
        line, column = _position(source, exc.lineno, parser.failed_on)
        raise TemplateError(exc.message or "syntax error", line=line, column=column) from None
    except Exception:  # hostile text can reach any corner of Jinja's parser
        raise TemplateError("too deeply nested", line=1, column=1) from None
    _check_tree(source, tree)
    try:
        names = _variables(tree)
        template = _ENV.from_string(tree)
    except TemplateSyntaxError as exc:  # found by the compiler: an unknown test
        line, column = _position(source, exc.lineno, None)
        raise TemplateError(exc.message or "syntax error", line=line, column=column) from None
    except Exception:  # Python's compiler refuses some deep expressions
        raise TemplateError("too deeply nested", line=1, column=1) from None
    if declared is not None:
        unknown = sorted(names - set(declared))
        if unknown:
            node = _first_name(tree, unknown[0])
            line, column = _node_position(source, node)
            raise TemplateError(f"'{unknown[0]}' is not a contact field", line=line, column=column)
    return Compiled(source, frozenset(names), template)


def _variables(tree: nodes.Template) -> set[str]:
    # Jinja's own scoping analysis: names read before anything in the body binds them.
    return set(meta.find_undeclared_variables(tree)) - BUILTINS


def _check_tree(source: str, tree: nodes.Template) -> None:
    for node in _walk(tree):
        rule = _refusal(node)
        if rule is not None:
            line, column = _node_position(source, node)
            raise TemplateError(rule, line=line, column=column)


def _walk(node: nodes.Node) -> Iterator[nodes.Node]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(list(current.iter_child_nodes())))


def _refusal(node: nodes.Node) -> str | None:
    if not isinstance(node, _ALLOWED_NODES):
        what = _NODE_NAMES.get(type(node), type(node).__name__)
        return f"'{what}' is not available in a template"
    if isinstance(node, nodes.Filter) and node.name not in FILTERS:
        return f"no filter named '{node.name}'"
    if isinstance(node, nodes.Getattr | nodes.Getitem):
        attr = node.attr if isinstance(node, nodes.Getattr) else _const_key(node.arg)
        if isinstance(attr, str) and attr.startswith("_"):
            return f"'{attr}' is not available in a template"
        on_contact = isinstance(node.node, nodes.Name) and node.node.name == "contact"
        if on_contact and isinstance(attr, str) and attr not in CONTACT_KEYS:
            return f"contact has no '{attr}' (it has {', '.join(CONTACT_KEYS)})"
    if isinstance(node, nodes.Call) and not _is_range(node):
        return "only range() may be called"
    if isinstance(node, nodes.For):
        if node.recursive:
            return "recursive loops are not available"
        if not (isinstance(node.iter, nodes.Call) and _is_range(node.iter)):
            return "a for loop may only run over range()"
    if isinstance(node, nodes.Name) and node.name in _RESERVED:
        return f"'{node.name}' is not available in a template"
    if isinstance(node, nodes.Name) and node.ctx == "store" and node.name in BUILTINS:
        return f"'{node.name}' is a built-in name"
    return None


def _const_key(node: nodes.Node) -> object:
    return node.value if isinstance(node, nodes.Const) else None


def _is_range(call: nodes.Call) -> bool:
    return (
        isinstance(call.node, nodes.Name)
        and call.node.name == "range"
        and not call.kwargs
        and call.dyn_args is None
        and call.dyn_kwargs is None
    )


def _first_name(tree: nodes.Template, name: str) -> nodes.Node:
    for node in tree.find_all(nodes.Name):
        if node.name == name:
            return node
    return tree


# --- where an error is --------------------------------------------------------------------


def _lines(source: str) -> list[str]:
    return source.split("\n")


def _position(source: str, line: int | None, failed_on: tuple[int, str] | None) -> tuple[int, int]:
    """The 1-based line and column of a syntax error: the token the parser failed on, else
    an opener left unclosed on the error line, else that line's first tag."""
    lines = _lines(source)
    number = min(max(line or 1, 1), len(lines))
    if failed_on is not None:
        token_line, value = failed_on
        token_line = min(max(token_line, 1), len(lines))
        if not value:  # the end of the text
            return len(lines), len(lines[-1]) + 1
        text = lines[token_line - 1]
        opener = _OPENERS.search(text)
        found = text.find(value, opener.end() if opener else 0)
        if found < 0:
            found = text.find(value)
        return token_line, (found + 1 if found >= 0 else 1)
    text = lines[number - 1]
    for match in _OPENERS.finditer(text):
        closer = {"{{": "}}", "{%": "%}", "{#": "#}"}[match.group()]
        if closer not in text[match.end() :]:
            return number, match.start() + 1
    opener = _OPENERS.search(text)
    return number, (opener.start() + 1 if opener else 1)


def _node_position(source: str, node: nodes.Node) -> tuple[int, int]:
    """A node's line, and the column of the first tag on that line that names it (Jinja's
    nodes carry only their line)."""
    lines = _lines(source)
    number = min(max(getattr(node, "lineno", 1) or 1, 1), len(lines))
    text = lines[number - 1]
    needle = _needle(node)
    opener = _OPENERS.search(text)
    start = opener.start() if opener else 0
    found = text.find(needle, start) if needle else -1
    if found >= 0:
        return number, found + 1
    return number, start + 1


def _needle(node: nodes.Node) -> str:
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Getattr):
        return node.attr
    if isinstance(node, nodes.Filter | nodes.Test):
        return node.name
    if isinstance(node, nodes.Pow):
        return "**"
    for kind, word in _NODE_NAMES.items():
        if isinstance(node, kind):
            return word
    return ""


# --- rendering --------------------------------------------------------------------------------


def render(
    body: Compiled, fields: Mapping[str, Scalar], contact: Mapping[str, Scalar] | None = None
) -> str:
    """``body`` rendered for a contact with ``fields`` and built-in ``contact`` values."""
    steps = _Steps()
    values: dict[str, Any] = {k: v for k, v in fields.items() if v is not None}
    values["contact"] = {k: v for k, v in (contact or {}).items() if v is not None}
    values["range"] = steps.range
    out: list[str] = []
    size = 0
    try:
        for chunk in body._template.generate(values):
            size += len(chunk)
            if size > MAX_OUTPUT:
                raise TemplateError(f"renders longer than {MAX_OUTPUT} characters")
            out.append(chunk)
    except TemplateError as exc:
        raise _located(exc, sys.exc_info()[2]) from None
    except Exception as exc:  # any failure of the user's body is its error
        rule = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        raise _located(TemplateError(str(rule)), sys.exc_info()[2]) from None
    return "".join(out)


def _located(exc: TemplateError, tb: TracebackType | None) -> TemplateError:
    """``exc`` with the body line Jinja's traceback points at (its frames are rewritten to
    the template's lines, under the file name ``<template>``)."""
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    if line is None or exc.line is not None:
        return exc
    return TemplateError(exc.rule, line=line, column=1, field=exc.field)


# --- languages and A/B variants -----------------------------------------------------------

_TAG: Final = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*")


def language_tag(tag: str) -> str | None:
    """``tag`` in canonical case (``pt-BR``, ``zh-Hant``, ``es-419``) if it is a BCP 47
    language tag of the simple shape, else None."""
    if not _TAG.fullmatch(tag) or len(tag) > 35:
        return None
    first, *rest = tag.split("-")
    out = [first.lower()]
    for part in rest:
        out.append(part.upper() if len(part) == 2 else part.title() if len(part) == 4 else part)
    return "-".join(out)


def pick_language(languages: Mapping[str, str], tag: str | None) -> str | None:
    """Which of ``languages`` (tag -> body) a contact speaking ``tag`` gets: the same tag,
    else its primary subtag (``pt-BR`` -> ``pt``), else None (the default body)."""
    if not tag:
        return None
    wanted = language_tag(tag)
    if wanted is None:
        return None
    by_key = {k.lower(): k for k in languages}
    for candidate in (wanted, wanted.split("-")[0]):
        if candidate.lower() in by_key:
            return by_key[candidate.lower()]
    return None


@dataclass(frozen=True)
class Variant:
    """One A/B body: its name, its share of recipients, its text and language bodies."""

    name: str
    weight: int
    body: str
    languages: Mapping[str, str] = field(default_factory=dict)


def pick_variant(variants: Sequence[Variant], key: str) -> Variant:
    """The variant a recipient gets: chosen by ``key`` (say campaign and contact SID) in
    proportion to the weights, the same every time for the same key."""
    total = sum(v.weight for v in variants)
    if not variants or total <= 0:
        raise TemplateError("no variant has a weight")
    point = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big") % total
    for variant in variants:
        if point < variant.weight:
            return variant
        point -= variant.weight
    return variants[-1]  # not reached: the weights add up to total
