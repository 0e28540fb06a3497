"""Request parameters: strict form / JSON parsing that names the field and rule on failure.

Twilio clients send ``application/x-www-form-urlencoded`` with repeated keys for lists;
the native API also takes JSON. Both, and the query strings of ``GET``/``DELETE``, arrive
here as ``Params``. A JSON body keeps its types: a text parameter must be a JSON string, a
flag a boolean (or its text), a number an integer (or its text), a list an array of
strings, and an object field (``Settings``) an object (or a string holding one). Nothing is
coerced: ``{"FriendlyName": true}`` is refused naming ``FriendlyName``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Final
from urllib.parse import unquote_to_bytes

from starlette.requests import Request

from textwire import jsonsafe
from textwire.errors import TextwireError, invalid

MAX_BODY_BYTES = 256 * 1024
# '%' not starting an escape: a client that forgot to encode, which must not be stored as typed.
_BAD_ESCAPE: Final = re.compile(r"%(?![0-9A-Fa-f]{2})")
_INTEGER: Final = re.compile(r"[+-]?[0-9]{1,19}")
# The instants a date parameter may name: a day either side of datetime's own range, so
# that converting a zone or adding a day (a bare ``DateSent``) cannot overflow.
EARLIEST: Final = datetime(1, 1, 2, tzinfo=UTC)
LATEST: Final = datetime(9999, 12, 30, 23, 59, 59, 999999, tzinfo=UTC)


def _kind(value: object) -> str:
    """A JSON value's type, as a client would call it."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return "a string"


class Params:
    """Parameters by name; each name may repeat (``MediaUrl=a&MediaUrl=b``). Values are
    strings from a form or query string, or any JSON value from a JSON body."""

    def __init__(self, pairs: Iterable[tuple[str, object]]):
        self._values: dict[str, list[object]] = {}
        for key, value in pairs:
            self._values.setdefault(key, []).append(value)

    def __contains__(self, key: str) -> bool:
        return key in self._values

    def keys(self) -> list[str]:
        return list(self._values)

    def _last(self, key: str) -> object:
        values = self._values.get(key)
        return values[-1] if values else None

    def get(self, key: str) -> str | None:
        """A text parameter; a JSON value that is not a string is refused, not converted."""
        value = self._last(key)
        if value is None or isinstance(value, str):
            return value
        raise invalid(key, f"must be a string, not {_kind(value)}")

    def is_blank(self, key: str) -> bool:
        """True when the parameter is given as the empty string (``Key=``)."""
        return self._last(key) == ""

    def get_list(self, key: str) -> list[str]:
        """Repeated form keys, or a JSON array of strings (a lone string is a list of one)."""
        out: list[str] = []
        for value in self._values.get(key, []):
            items = value if isinstance(value, list) else [value]
            for item in items:
                if not isinstance(item, str):
                    raise invalid(
                        key, f"must be a string or an array of strings, not {_kind(item)}"
                    )
                out.append(item)
        return out

    def bool(self, key: str) -> bool | None:
        """A JSON boolean, or ``true``/``false`` (also ``1``/``0``, ``yes``/``no``)."""
        raw = self._last(key)
        if raw is None or isinstance(raw, bool):
            return raw
        if isinstance(raw, str):
            lowered = raw.strip().lower()
            if lowered in ("true", "1", "yes"):
                return True
            if lowered in ("false", "0", "no"):
                return False
        raise invalid(key, "must be true or false")

    def int(self, key: str, *, low: int, high: int, code: int = 20001) -> int | None:
        """A JSON integer or its decimal text, between ``low`` and ``high``."""
        raw = self._last(key)
        if raw is None or raw == "":
            return None
        if isinstance(raw, int) and not isinstance(raw, bool):
            value = raw
        elif isinstance(raw, str) and _INTEGER.fullmatch(raw.strip()):
            value = int(raw.strip())
        else:
            raise TextwireError(code, f"Invalid parameter '{key}': must be an integer")
        if not low <= value <= high:
            raise TextwireError(
                code, f"Invalid parameter '{key}': must be between {low} and {high}"
            )
        return value

    def choice(self, key: str, options: Iterable[str]) -> str | None:
        raw = self.get(key)
        if raw is None:
            return None
        allowed = list(options)
        if raw not in allowed:
            raise invalid(key, f"must be one of {', '.join(allowed)}")
        return raw

    def object(self, key: str) -> dict[str, Any] | None:
        """A JSON object field (``Settings``): an object in a JSON body, or a string holding
        one (a form body; empty means ``{}``). Keys must be non-empty, at every level."""
        raw = self._last(key)
        if raw is None:
            return None
        if isinstance(raw, str):
            try:
                raw = jsonsafe.loads(raw) if raw.strip() else {}
            except jsonsafe.JSONInputError as exc:
                raise invalid(exc.field(key), exc.rule) from None
        if not isinstance(raw, dict):
            raise invalid(key, f"must be a JSON object, not {_kind(raw)}")
        _check_keys(key, raw)
        return raw


def _check_keys(key: str, document: dict[str, Any]) -> None:
    stack: list[tuple[str, object]] = [(key, document)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, dict):
            for name, item in value.items():
                if not name:
                    raise invalid(where, "an object key must be a non-empty string")
                stack.append((f"{where}.{name}", item))
        elif isinstance(value, list):
            stack.extend((f"{where}[{i}]", item) for i, item in enumerate(value))


def parse_datetime(key: str, raw: str, *, code: int = 20001) -> datetime:
    """ISO 8601 (``2024-01-01T10:00:00Z``) or RFC 2822, always returned as aware UTC,
    between ``EARLIEST`` and ``LATEST``; ``code`` (20001 unless given) when it is not."""
    text = raw.strip()
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            value = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            raise TextwireError(
                code, f"Invalid parameter '{key}': must be an ISO 8601 date-time"
            ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        # Near datetime's limits a zone's offset can carry the instant outside them.
        value = value.astimezone(UTC)
    except OverflowError:
        value = EARLIEST - timedelta(days=1) if value.year == 1 else LATEST + timedelta(days=1)
    if not EARLIEST <= value <= LATEST:
        raise TextwireError(
            code,
            f"Invalid parameter '{key}': must be between {EARLIEST.date()} and "
            f"{LATEST.date()} (UTC)",
        )
    return value


def _decode_form(raw: bytes, where: str = "form body") -> Params:
    return Params(form_pairs(_ascii(raw, where)))


def _ascii(raw: bytes, where: str) -> str:
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:
        raise TextwireError(
            20001, f"Invalid request: a {where} must be percent-encoded ASCII"
        ) from None


def form_pairs(text: str) -> list[tuple[str, str]]:
    """``parse_qsl(text, keep_blank_values=True, errors="strict")`` for ASCII ``text``, in
    half its time (every create request pays it), except that it refuses (20001, naming the
    parameter) what parse_qsl lets through: a ``%`` that starts no escape, an escape that is
    not UTF-8, and NUL. For valid input, parse_qsl's ``unquote`` is exactly
    ``unquote_to_bytes`` then a UTF-8 decode; ``tests/unit/test_params.py`` checks the two
    agree."""
    # Whole-text checks first, so valid bodies pay three scans in C, not one per value;
    # which parameter is at fault is worked out only for a body that will be refused.
    if "\x00" in text or "%00" in text or ("%" in text and _BAD_ESCAPE.search(text)):
        raise _refusal(text)
    pairs: list[tuple[str, str]] = []
    try:
        for field in text.split("&"):
            if not field:
                continue
            name, _, value = field.partition("=")
            if "+" in name:
                name = name.replace("+", " ")
            if "%" in name:
                name = unquote_to_bytes(name).decode("utf-8")
            if "+" in value:
                value = value.replace("+", " ")
            if "%" in value:
                value = unquote_to_bytes(value).decode("utf-8")
            pairs.append((name, value))
    except UnicodeDecodeError:
        raise _refusal(text) from None
    return pairs


def _refusal(text: str) -> TextwireError:
    """The error for a form ``text`` that ``form_pairs`` refuses, naming its parameter."""
    for field in text.split("&"):
        raw_name, _, value = field.partition("=")
        name = raw_name.replace("+", " ")
        problem = _problem(name)
        if problem:  # the name itself is bad: say it as sent
            return invalid(raw_name[:64].replace("\x00", ""), problem)
        problem = _problem(value)
        if problem:
            return invalid(unquote_to_bytes(name).decode("utf-8", "replace"), problem)
    return TextwireError(20001, "Invalid request: not a form body")  # not reached


def _problem(text: str) -> str | None:
    """The rule a form-encoded name or value breaks, else None."""
    if _BAD_ESCAPE.search(text):
        return "is not valid percent-encoding: '%' must start an escape such as %25"
    try:
        decoded = unquote_to_bytes(text).decode("utf-8")
    except UnicodeDecodeError:
        return "is not valid UTF-8 once percent-decoded"
    return jsonsafe.NUL_RULE if "\x00" in decoded else None


def form_dict(raw: bytes) -> dict[str, str]:
    """A form body as name -> last value (what a provider's webhook posts), as strictly
    decoded as any request's."""
    return {name: value for name, value in form_pairs(_ascii(raw, "form body"))}


def _decode_json(raw: bytes) -> Params:
    try:
        data = jsonsafe.loads(raw) if raw.strip() else {}
    except jsonsafe.JSONInputError as exc:
        if exc.path:  # its first step is the parameter
            raise invalid(exc.field(""), exc.rule) from None
        raise TextwireError(20001, f"Invalid request body: {exc.rule}") from None
    if not isinstance(data, dict):
        raise TextwireError(20001, "Invalid request body: a JSON object is required")
    # null means "not given", as an absent key does.
    return Params((key, value) for key, value in data.items() if value is not None)


async def read_body(request: Request) -> bytes:
    """The request body, refusing more than ``MAX_BODY_BYTES`` without reading it all."""
    return await collect_body(request.headers.get("content-length"), request.stream())


async def collect_body(declared: str | None, chunks: AsyncIterator[bytes]) -> bytes:
    """A body from its chunks, refusing more than ``MAX_BODY_BYTES`` (20413) by the declared
    ``Content-Length`` before reading, or by counting as it arrives."""
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise TextwireError(20413, f"Request body is larger than {MAX_BODY_BYTES} bytes")
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise TextwireError(20413, f"Request body is larger than {MAX_BODY_BYTES} bytes")
        parts.append(chunk)
    return b"".join(parts)


async def read_params(request: Request, *, allow_json: bool = True) -> Params:
    """Form (or JSON) parameters of a POST; query parameters of anything else."""
    if request.method in ("GET", "DELETE", "HEAD"):
        return query_params(request)
    raw = await read_body(request)
    return body_params(raw, request.headers.get("content-type", ""), allow_json=allow_json)


def path_refusal(path: str, raw_path: bytes | None) -> TextwireError | None:
    """Why a request's URL path is refused, or None: NUL (no database can be asked for it
    alike; PostgreSQL errors, SQLite answers) or an escape that is not UTF-8 (which the
    server would have turned into U+FFFD). Checked once for every route, before routing."""
    if "\x00" in path:
        return invalid("path", jsonsafe.NUL_RULE)
    if raw_path is not None and b"%" in raw_path:
        try:
            unquote_to_bytes(raw_path).decode("utf-8")
        except UnicodeDecodeError:
            return invalid("path", "is not valid UTF-8 once percent-decoded")
    return None


def query_params(request: Request) -> Params:
    """The query string's parameters, decoded as strictly as a form body (Starlette's
    ``query_params`` would turn ``%FF`` into U+FFFD and keep ``%zz`` and NUL)."""
    return _decode_form(request.scope.get("query_string", b""), "query string")


def body_params(raw: bytes, content_type: str, *, allow_json: bool = True) -> Params:
    """The parameters of a POST body by its ``Content-Type`` header; 20415 for another type."""
    ctype = content_type.split(";")[0].strip().lower()
    if ctype == "application/x-www-form-urlencoded" or (ctype == "" and not raw):
        return _decode_form(raw)
    if ctype == "application/json" and allow_json:
        return _decode_json(raw)
    accepted = "application/x-www-form-urlencoded" + (" or application/json" if allow_json else "")
    raise TextwireError(
        20415, f"Unsupported Content-Type '{ctype or 'none'}': send {accepted}", status=415
    )
