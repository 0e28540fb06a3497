"""Issue 12 §1: the dispatch worker orchestrates (claim → lifecycle → provider → store) and
holds no SQL of its own, as procrastinate's worker leaves every statement to its manager.

Read from the source: the worker may name SQLAlchemy's connection type (it passes the
caller's transaction along) and nothing else of it, so a statement written in the worker
fails here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import textwire.dispatch.worker as worker

ALLOWED = {("sqlalchemy.ext.asyncio", "AsyncConnection")}


def _sqlalchemy_names(source: str) -> set[tuple[str, str]]:
    names: set[tuple[str, str]] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            names |= {(node.module or "", alias.name) for alias in node.names}
        elif isinstance(node, ast.Import):
            names |= {(a.name, "*") for a in node.names if a.name.startswith("sqlalchemy")}
    return names


def test_the_worker_imports_no_sql_construct() -> None:
    source = Path(worker.__file__).read_text()
    assert _sqlalchemy_names(source) - ALLOWED == set()


def test_the_check_sees_a_statement_import() -> None:
    source = "from sqlalchemy import select, update\nimport sqlalchemy\n"
    assert _sqlalchemy_names(source) == {
        ("sqlalchemy", "select"),
        ("sqlalchemy", "update"),
        ("sqlalchemy", "*"),
    }
