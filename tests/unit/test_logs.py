"""Log lines carry no stored values (issue 11 §3, §4c): a database error's traceback keeps
its frames and type and withholds the driver's words, which repeat what was refused."""

from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy import Column, MetaData, String, Table, create_engine, insert
from sqlalchemy.exc import IntegrityError

from textwire.logs import JsonFormatter, TextFormatter, configure

SECRET = "body-only-the-recipient-may-read"


def _integrity_error() -> IntegrityError:
    """A real SQLite constraint error whose SQLAlchemy text carries the refused value (its
    parameters are shown, as any engine without hide_parameters shows them)."""
    engine = create_engine("sqlite://")
    table = Table("t", MetaData(), Column("x", String, primary_key=True))
    table.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(table), {"x": SECRET})
    try:
        with engine.begin() as conn:
            conn.execute(insert(table), {"x": SECRET})
    except IntegrityError as exc:
        return exc
    raise AssertionError("the duplicate insert was accepted")


def _record(exc: BaseException) -> logging.LogRecord:
    try:
        raise RuntimeError("while saving a message") from exc
    except RuntimeError as outer:
        return logging.LogRecord(
            "textwire.test",
            logging.ERROR,
            __file__,
            1,
            "failed",
            (),
            (RuntimeError, outer, outer.__traceback__),
        )


@pytest.mark.parametrize("formatter", [JsonFormatter(), TextFormatter("%(message)s")])
def test_a_database_errors_text_is_withheld_from_tracebacks(formatter: logging.Formatter) -> None:
    exc = _integrity_error()
    assert SECRET in str(exc)  # what a default formatter would have printed
    line = formatter.format(_record(exc))
    assert SECRET not in line
    text = json.loads(line)["exception"] if isinstance(formatter, JsonFormatter) else line
    assert "sqlalchemy.exc.IntegrityError: (database error text withheld)" in text
    assert "RuntimeError: while saving a message" in text  # other exceptions keep their words
    assert "direct cause" in text
    assert "_integrity_error" in text  # the frames are kept


def test_drivers_parameter_loggers_are_held_at_warning() -> None:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        configure("DEBUG", as_json=True)
        for name in ("aiosqlite", "asyncpg", "sqlalchemy.engine"):
            assert not logging.getLogger(name).isEnabledFor(logging.DEBUG), name
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
