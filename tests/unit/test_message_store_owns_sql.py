"""Issue 12 item 1: every statement on ``messages``, ``message_events`` and ``provider_refs``
is in ``textwire.messages.store``.

Read from the source with ``ast``: a module that names one of those tables (through any
import of the table modules, a ``metadata.tables[...]`` lookup, a lightweight ``table()``,
or raw SQL in a string) fails the test, so a new inline statement anywhere is caught.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import textwire

SRC = Path(textwire.__file__).parent
OWNED = frozenset({"messages", "message_events", "provider_refs"})
# The modules that may name the tables: the store, their declarations, the schema that
# gathers the declarations, and the migrations that create them.
ALLOWED = frozenset(
    {
        "textwire.messages.store",
        "textwire.messages.tables",
        "textwire.providers.tables",
        "textwire.tables",
        "textwire.schema",
    }
)
# Where each table may be reached as a module attribute (``textwire.tables`` and the schema
# are listed so a re-export is caught too).
TABLE_MODULES = {
    "textwire.messages.tables": frozenset({"messages", "message_events"}),
    "textwire.providers.tables": frozenset({"provider_refs"}),
    "textwire.tables": OWNED,
}
SCHEMA_PARTS = {
    "textwire.schema.messages": "textwire.messages.tables",
    "textwire.schema.providers": "textwire.providers.tables",
    "textwire.schema.core": "textwire.tables",
}
_SQL = re.compile(
    r"\b(from|into|update|join|table|exists)\s+[\"`]?(messages|message_events|provider_refs)\b",
    re.IGNORECASE,
)


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _absolute(module: str | None, level: int, importer: str, is_package: bool) -> str:
    if level == 0:
        return module or ""
    base = importer.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, module] if module else base)


def _dotted(node: ast.expr, names: dict[str, str]) -> str | None:
    """``a.b.c`` with ``a`` resolved through the module's imports, else None."""
    attrs: list[str] = []
    while isinstance(node, ast.Attribute):
        attrs.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or node.id not in names:
        return None
    return ".".join([names[node.id], *reversed(attrs)])


def _owned(dotted: str) -> bool:
    module, _, name = dotted.rpartition(".")
    module = SCHEMA_PARTS.get(module, module)
    return name in TABLE_MODULES.get(module, frozenset())


def _docstrings(tree: ast.Module) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def references(source: str, module: str, *, is_package: bool = False) -> list[str]:
    """Where ``source`` (module ``module``) names one of the three tables."""
    tree = ast.parse(source)
    names: dict[str, str] = {}  # a local name -> the dotted path it was imported as
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    names[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    names[top] = top
        elif isinstance(node, ast.ImportFrom):
            origin = _absolute(node.module, node.level, module, is_package)
            for alias in node.names:
                dotted = f"{origin}.{alias.name}"
                names[alias.asname or alias.name] = dotted
                if _owned(dotted):
                    found.append(f"line {node.lineno}: imports {dotted}")
    docstrings = _docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            dotted = _dotted(node, names)
            if dotted is not None and _owned(dotted):
                found.append(f"line {node.lineno}: {dotted}")
        elif isinstance(node, ast.Call) and node.args:
            first, second = node.args[0], node.args[1] if len(node.args) > 1 else None
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            # table("messages"), Table("messages", metadata), getattr(t, "messages")
            named = second if called == "getattr" else first
            if (
                called in ("table", "Table", "getattr")
                and isinstance(named, ast.Constant)
                and named.value in OWNED
            ):
                found.append(f"line {node.lineno}: {called}({named.value!r})")
        elif isinstance(node, ast.Subscript):
            key = node.slice
            if (
                isinstance(node.value, ast.Attribute)
                and node.value.attr == "tables"
                and isinstance(key, ast.Constant)
                and key.value in OWNED
            ):
                found.append(f"line {node.lineno}: .tables[{key.value!r}]")
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
            and _SQL.search(node.value)
        ):
            found.append(f"line {node.lineno}: SQL {node.value[:60]!r}")
    return found


def _modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(SRC.rglob("*.py")):
        name = _module_name(path)
        if name in ALLOWED or name.startswith("textwire.migrations."):
            continue
        out.append((name, path))
    return out


def test_no_module_but_the_store_names_the_message_tables() -> None:
    offenders = {}
    for name, path in _modules():
        found = references(path.read_text(), name, is_package=path.name == "__init__.py")
        if found:
            offenders[name] = found
    assert not offenders, (
        f"SQL on messages/message_events/provider_refs outside the store: {offenders}"
    )


def test_the_store_is_where_they_are_named() -> None:
    """The check sees the store's own statements (it is not blind to the real code)."""
    path = SRC / "messages" / "store.py"
    found = references(path.read_text(), "textwire.messages.store")
    assert any("textwire.messages.tables.messages" in f for f in found)
    assert any("textwire.messages.tables.message_events" in f for f in found)
    assert any("textwire.providers.tables.provider_refs" in f for f in found)


@pytest.mark.parametrize(
    "source",
    [
        "from textwire.messages import tables as mt\nq = select(mt.messages)\n",
        "from textwire.messages.tables import message_events\n",
        "from . import tables\nx = tables.messages.c.sid\n",
        "import textwire.messages.tables\nx = textwire.messages.tables.messages\n",
        "from textwire.providers import tables as pt\nx = pt.provider_refs.insert()\n",
        "from textwire import tables as t\nx = t.messages\n",
        "from textwire import schema\nx = schema.messages.message_events\n",
        "from textwire.tables import metadata\nx = metadata.tables['messages']\n",
        "from sqlalchemy import table\nx = table('provider_refs')\n",
        "from textwire import tables as t\nx = getattr(t, 'messages')\n",
        "x = text('SELECT count(*) FROM messages WHERE status = :s')\n",
        "x = text('UPDATE message_events SET status = 1')\n",
        "x = 'insert into provider_refs values (1)'\n",
    ],
)
def test_a_reference_outside_the_store_is_found(source: str) -> None:
    assert references(source, "textwire.messages.somewhere")


@pytest.mark.parametrize(
    "source",
    [
        "from textwire.messages import store\nrows = store.rows_by_sid(conn, sids)\n",
        "x = {'messages': []}\n",  # a JSON key, not a table
        "client.messages.create(to='+1')\n",
        "x = SendResult('SM1', 'accepted', provider_refs=('a',))\n",
        '"""Rows read from messages by the store."""\n',  # a docstring
        "from textwire.links import tables as lt\nx = lt.links.c.message_sid\n",
    ],
)
def test_what_is_not_a_reference_is_not_found(source: str) -> None:
    assert references(source, "textwire.messages.somewhere") == []
