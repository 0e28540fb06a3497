"""Request parameters: strict form / JSON parsing that names the field and rule on failure.

Twilio clients send ``application/x-www-form-urlencoded`` with repeated keys for lists;
the native API also takes JSON. Both arrive here as ``Params``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from urllib.parse import unquote_to_bytes

from starlette.requests import Request

from textwire.errors import TextwireError, invalid

MAX_BODY_BYTES = 256 * 1024


class Params:
    """Parameters by name; each name may repeat (``MediaUrl=a&MediaUrl=b``)."""

    def __init__(self, pairs: Iterable[tuple[str, str]]):
        self._values: dict[str, list[str]] = {}
        for key, value in pairs:
            self._values.setdefault(key, []).append(value)

    def __contains__(self, key: str) -> bool:
        return key in self._values

    def keys(self) -> list[str]:
        return list(self._values)

    def get(self, key: str) -> str | None:
        values = self._values.get(key)
        return values[-1] if values else None

    def get_list(self, key: str) -> list[str]:
        return list(self._values.get(key, []))

    def bool(self, key: str) -> bool | None:
        raw = self.get(key)
        if raw is None:
            return None
        lowered = raw.strip().lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no"):
            return False
        raise invalid(key, "must be true or false")

    def int(self, key: str, *, low: int, high: int, code: int = 20001) -> int | None:
        raw = self.get(key)
        if raw is None or raw == "":
            return None
        try:
            value = int(raw.strip())
        except ValueError:
            raise TextwireError(code, f"Invalid parameter '{key}': must be an integer") from None
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


def parse_datetime(key: str, raw: str) -> datetime:
    """ISO 8601 (``2024-01-01T10:00:00Z``) or RFC 2822, always returned as aware UTC."""
    from email.utils import parsedate_to_datetime

    text = raw.strip()
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            value = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            raise invalid(key, "must be an ISO 8601 date-time") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _decode_form(raw: bytes) -> Params:
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise TextwireError(
            20001, "Invalid request body: a form body must be percent-encoded ASCII"
        ) from None
    try:
        return Params(form_pairs(text))
    except UnicodeDecodeError:
        raise TextwireError(20001, "Invalid request body: a parameter is not valid UTF-8") from None


def form_pairs(text: str) -> list[tuple[str, str]]:
    """``parse_qsl(text, keep_blank_values=True, errors="strict")`` for ASCII ``text``, in
    half its time (every create request pays it); UnicodeDecodeError when an escape is not
    UTF-8. For ASCII, parse_qsl's ``unquote`` is exactly ``unquote_to_bytes`` then a UTF-8
    decode; ``tests/unit/test_params.py`` checks the two agree."""
    pairs: list[tuple[str, str]] = []
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
    return pairs


def _decode_json(raw: bytes) -> Params:
    try:
        data = json.loads(raw.decode("utf-8")) if raw.strip() else {}
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TextwireError(20001, f"Invalid request body: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise TextwireError(20001, "Invalid request body: a JSON object is required")
    pairs: list[tuple[str, str]] = []
    for key, value in data.items():
        for item in value if isinstance(value, list) else [value]:
            if item is None:
                continue
            if isinstance(item, bool):
                pairs.append((key, "true" if item else "false"))
            elif isinstance(item, (str, int, float)):
                pairs.append((key, str(item)))
            else:
                pairs.append((key, json.dumps(item)))
    return Params(pairs)


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
        return Params(request.query_params.multi_items())
    raw = await read_body(request)
    return body_params(raw, request.headers.get("content-type", ""), allow_json=allow_json)


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
