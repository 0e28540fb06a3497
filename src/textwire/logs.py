"""Structured logs: one JSON object a line, with whatever ``extra`` fields the caller gave.

No log line carries a URL's credentials or query string (issue 11 §4c): httpx logs every
request's full URL at INFO (``HTTP Request: POST http://user:pass@host/?sig=...``), so its
logger gets ``RedactUrls``, and textwire's own lines show a URL only as ``redact_url`` gives it.

Nor does a traceback carry a database error's text: a driver's message repeats the values it
refused (PostgreSQL's ``DETAIL: Key (body)=(...)``, a failing row), so ``format_exception``
keeps such an exception's type and SQLSTATE and withholds its words. SQLAlchemy's engines
hide statement parameters (``db.HIDE_PARAMETERS``) and the drivers' own DEBUG loggers, which
print parameters, are held at WARNING.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from datetime import UTC, datetime
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


# Exceptions whose text can carry SQL parameters or stored values.
_DATABASE_MODULES = ("sqlalchemy", "asyncpg", "aiosqlite", "sqlite3", "psycopg")
# Loggers that print SQL parameters at DEBUG.
_PARAMETER_LOGGERS = ("aiosqlite", "asyncpg", "sqlalchemy.engine", "sqlalchemy.pool")


def _withheld(exc: BaseException) -> bool:
    return type(exc).__module__.split(".")[0] in _DATABASE_MODULES


def format_exception(exc: BaseException, tb: TracebackType | None = None) -> str:
    """A traceback of ``exc`` and its causes, with every database error's message replaced by
    its type and SQLSTATE: the frames say where, and the words could say what was stored."""
    chain: list[tuple[BaseException, str]] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    link = ""
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append((current, link))
        if current.__cause__ is not None:
            current, link = current.__cause__, "direct cause"
        elif current.__context__ is not None and not current.__suppress_context__:
            current, link = current.__context__, "context"
        else:
            current = None
    parts: list[str] = []
    for index, (item, link) in reversed(list(enumerate(chain))):
        frames = item.__traceback__ if index or tb is None else tb
        text = "Traceback (most recent call last):\n" + "".join(traceback.format_tb(frames))
        name = f"{type(item).__module__}.{type(item).__qualname__}"
        if _withheld(item):
            state = getattr(item, "sqlstate", None) or getattr(
                getattr(item, "orig", None), "sqlstate", None
            )
            detail = f"(database error text withheld; SQLSTATE {state})" if state else ""
            text += f"{name}: {detail or '(database error text withheld)'}"
        else:
            text += "".join(traceback.format_exception_only(type(item), item)).rstrip("\n")
        parts.append(text)
        if link:
            parts.append(
                "\nThe above exception was the direct cause of the following exception:\n"
                if link == "direct cause"
                else "\nDuring handling of the above exception, another exception occurred:\n"
            )
    return "\n".join(parts)


class _SafeTracebacks(logging.Formatter):
    def formatException(self, ei: Any) -> str:
        _, value, tb = ei
        if value is None:
            return super().formatException(ei)
        return format_exception(value, tb)


class TextFormatter(_SafeTracebacks):
    """Plain lines (``log_json=false``), with the same withheld database errors."""


class JsonFormatter(_SafeTracebacks):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def redact_url(url: object) -> str:
    """``scheme://host[:port]/path`` of ``url``: no user name, password, query or fragment."""
    try:
        parts = urlsplit(str(url))
        host, port = parts.hostname, parts.port
    except ValueError:
        return "<invalid URL>"
    if not parts.scheme or host is None:
        return "<invalid URL>"
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None else f"{host}:{port}"
    return f"{parts.scheme}://{netloc}{parts.path}"


class RedactUrls(logging.Filter):
    """Rewrites every URL-looking argument of a record with ``redact_url``. On a logger it
    runs before any handler, so every handler (and pytest's caplog) sees the redacted one."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact_url(arg) if "://" in str(arg) else arg for arg in record.args
            )
        return True


_REDACT = RedactUrls()
URL_LOGGERS = ("httpx",)


def redact_library_urls() -> None:
    """Install ``RedactUrls`` on the loggers of the HTTP libraries (once; idempotent)."""
    for name in URL_LOGGERS:
        logger = logging.getLogger(name)
        if _REDACT not in logger.filters:
            logger.addFilter(_REDACT)


def configure(level: str = "INFO", as_json: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter()
        if as_json
        else TextFormatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    for name in _PARAMETER_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    redact_library_urls()
