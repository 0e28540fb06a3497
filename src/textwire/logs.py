"""Structured logs: one JSON object a line, with whatever ``extra`` fields the caller gave.

No log line carries a URL's credentials or query string (issue 11 §4c): httpx logs every
request's full URL at INFO (``HTTP Request: POST http://user:pass@host/?sig=...``), so its
logger gets ``RedactUrls``, and textwire's own lines show a URL only as ``redact_url`` gives it.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
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
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    redact_library_urls()
