"""What every connector shares: its configuration, where it reports receipts and inbound
messages, its health (for failover), settings validation and a small JSON-path reader."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import httpx

from textwire import jsonsafe
from textwire.api.params import Params
from textwire.egress import ClientFactory
from textwire.errors import TextwireError, invalid
from textwire.providers.base import OutboundMessage, Receipt, SendResult
from textwire.urls import check_url


@dataclass(frozen=True)
class IntegrationConfig:
    """One integration row with its secrets decrypted."""

    sid: str
    account_sid: str
    friendly_name: str
    type: str
    settings: dict[str, Any]
    secrets: dict[str, Any]
    updated: datetime


@dataclass(frozen=True)
class InboundSms:
    """A mobile-originated message as a connector received it."""

    from_addr: str
    to_addr: str
    body: str
    provider_ref: str | None = None
    num_segments: int = 1
    media_urls: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class InboundPart:
    """One part of a concatenated mobile-originated message."""

    from_addr: str
    to_addr: str
    reference: int
    total: int
    seq: int
    text: str


class Sink(Protocol):
    """Where connectors hand what the network sends back (``providers.ingest.Ingest``)."""

    async def receipts(self, integration_sid: str, receipts: Sequence[Receipt]) -> None:
        """Apply delivery reports; returns once they are committed."""
        ...

    async def inbound(self, integration_sid: str, sms: InboundSms) -> str | None:
        """Store (and forward) one inbound message; returns its SID, None if dropped."""
        ...

    async def inbound_part(self, integration_sid: str, part: InboundPart) -> str | None:
        """Keep one part; when it completes the message, store it and return its SID."""
        ...


@dataclass
class ProviderEnv:
    """What the registry gives each connector it builds; ``http`` makes its HTTP client
    (``egress.client_factory``, so an integration's URLs obey ``allow_private_urls``)."""

    callback_base: str
    sink: Sink | None
    http: ClientFactory = httpx.AsyncClient


class Health:
    """Whether a route is up, as its connector saw it: down since the first failure
    (connection error, lost bind, 5xx) after the last success."""

    def __init__(self) -> None:
        self.down_since: float | None = None
        self.last_error: str | None = None
        self._last_probe = 0.0

    def ok(self) -> None:
        self.down_since = None
        self.last_error = None

    def failed(self, reason: str) -> None:
        self.last_error = reason
        if self.down_since is None:
            self.down_since = time.monotonic()

    def down_for(self, now: float | None = None) -> float:
        if self.down_since is None:
            return -1.0
        return (now if now is not None else time.monotonic()) - self.down_since

    def probe_due(self, every: float) -> bool:
        """True at most once per ``every`` seconds: time to try a down primary again."""
        now = time.monotonic()
        if now - self._last_probe >= every:
            self._last_probe = now
            return True
        return False


class Connector(Protocol):
    """A provider the registry owns: it can be closed and reports its health."""

    health: Health

    async def send_batch(self, messages: Sequence[OutboundMessage]) -> list[SendResult]: ...

    async def lookup(self, sids: Sequence[str]) -> dict[str, SendResult]: ...

    async def close(self) -> None: ...


# --- what a connector kind declares (``providers.kinds`` lists them) ------------------------


@dataclass(frozen=True)
class ProviderPost:
    """A request a provider made to ``/v1/Inbound/{sid}`` or ``/v1/Receipts/{sid}``, as a
    kind's reader needs it: the public URL it was posted to (what a signature covers), its
    query, headers (lower-case names) and raw body."""

    url: str
    query: Callable[[], Params]
    """Decoded on demand: only a kind that reads it refuses a query string it cannot read."""
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class Reply:
    """What ``/v1/Inbound/{sid}`` answers the provider once the message is stored."""

    body: str
    media_type: str


def sid_reply(message_sid: str | None) -> Reply:
    """The default answer to an inbound post: the stored message's SID, as JSON."""
    return Reply(json.dumps({"sid": message_sid}, separators=(",", ":")), "application/json")


def denied() -> TextwireError:
    """The one answer to a provider endpoint's caller who did not prove who it is: the same
    for an unknown SID, a wrong signature or token, another account, and a type that takes no
    posts here, so an unauthenticated caller cannot tell which integration SIDs exist
    (issue 11 §4 f)."""
    return TextwireError(20003, "Missing or invalid credentials for this endpoint", status=403)


Validator = Callable[[Mapping[str, Any], Mapping[str, Any]], tuple[dict[str, Any], dict[str, Any]]]
"""(settings, secrets) -> the normalised pair to store; a 400 naming the field otherwise."""
ConnectorFactory = Callable[[IntegrationConfig, ProviderEnv], Connector]
Tester = Callable[[IntegrationConfig, ProviderEnv, OutboundMessage], Awaitable[dict[str, Any]]]
"""``POST /v1/Integrations/{sid}/Test``: try the saved settings for real; what was sent
(secrets masked) and what came back."""
SaveCheck = Callable[[IntegrationConfig, ProviderEnv], Awaitable[None]]
InboundReader = Callable[[IntegrationConfig, ProviderPost], InboundSms]
"""A provider's inbound post as a message; raises ``denied()`` when the caller is not it."""
ReceiptReader = Callable[[IntegrationConfig, ProviderPost], Receipt | None]
"""A provider's status callback as a receipt (None for a status that ends nothing); raises
``denied()`` when the caller is not it."""


@dataclass(frozen=True)
class Kind:
    """One connector kind (an integration's ``type``): everything textwire needs to know of
    it outside its own module. Adding a connector is a module that builds one of these and
    its entry in ``providers.kinds.KINDS``."""

    name: str
    validate: Validator
    test: Tester
    build: ConnectorFactory | None = None
    """Its connector; None for a kind the worker hands over to in its own transaction
    (the sandbox, which keeps its record in textwire's database: ``local``)."""
    check: SaveCheck | None = None
    """A live check of the settings when they are saved (the OAuth2 token URL)."""
    inbound: InboundReader | None = None
    """Reads ``POST /v1/Inbound/{sid}``; None when inbound messages come another way."""
    inbound_reply: Callable[[str | None], Reply] = sid_reply
    inbound_by_account: bool = False
    """Inbound posts come from the account itself (its API credentials), not a provider."""
    receipts: ReceiptReader | None = None
    """Reads ``POST /v1/Receipts/{sid}``; None when receipts come another way."""
    token_in_urls: bool = False
    """The integration's callback token goes in the inbound and receipt URLs it is shown."""
    keep_bound: bool = False
    """Its connectors hold a session open (``start()``) so receipts and inbound arrive."""
    socket: Callable[[IntegrationConfig], tuple[str, int]] | None = None
    """The (host, port) it connects to outside HTTP, checked by the egress rules before a
    Test (an HTTP client checks its own); ``Settings.host`` names it in a refusal."""

    @property
    def local(self) -> bool:
        return self.build is None


# --- settings validation -------------------------------------------------------------------


def setting_str(
    values: Mapping[str, Any],
    key: str,
    *,
    where: str = "Settings",
    required: bool = False,
    default: str | None = None,
    max_len: int = 2048,
) -> str | None:
    raw = values.get(key)
    if raw is None or raw == "":
        if required:
            raise invalid(f"{where}.{key}", "is required")
        return default
    if not isinstance(raw, str):
        raise invalid(f"{where}.{key}", "must be a string")
    if len(raw) > max_len:
        raise invalid(f"{where}.{key}", f"must be at most {max_len} characters")
    return raw


def setting_int(values: Mapping[str, Any], key: str, *, low: int, high: int, default: int) -> int:
    raw = values.get(key)
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool):
        raise invalid(f"Settings.{key}", "must be an integer")
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise invalid(f"Settings.{key}", "must be an integer") from None
    if not low <= value <= high:
        raise invalid(f"Settings.{key}", f"must be between {low} and {high}")
    return value


def setting_float(
    values: Mapping[str, Any], key: str, *, low: float, high: float, default: float
) -> float:
    raw = values.get(key)
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool):
        raise invalid(f"Settings.{key}", "must be a number")
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise invalid(f"Settings.{key}", "must be a number") from None
    if not low <= value <= high:
        raise invalid(f"Settings.{key}", f"must be between {low:g} and {high:g}")
    return value


def setting_bool(values: Mapping[str, Any], key: str, *, default: bool) -> bool:
    raw = values.get(key)
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    raise invalid(f"Settings.{key}", "must be true or false")


def setting_url(
    values: Mapping[str, Any], key: str, *, required: bool = False, default: str | None = None
) -> str | None:
    url = setting_str(values, key, required=required, default=default)
    if url is None:
        return None
    return check_url(f"Settings.{key}", url)


def setting_map(values: Mapping[str, Any], key: str, *, where: str = "Settings") -> dict[str, str]:
    raw = values.get(key)
    if raw is None:
        return {}
    if not isinstance(raw, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in raw.items()
    ):
        raise invalid(f"{where}.{key}", "must be an object of string values")
    return dict(raw)


def check_known(values: Mapping[str, Any], known: Sequence[str], where: str) -> None:
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise invalid(f"{where}.{unknown[0]}", f"is not a setting; known: {', '.join(known)}")


# --- JSON paths ----------------------------------------------------------------------------

_STEP = re.compile(r"\.([A-Za-z_][A-Za-z0-9_\-]*)|\[(\d+)\]|\[['\"]([^'\"]+)['\"]\]")


def check_json_path(path: str, field_name: str) -> str:
    """``$.a.b[0]['c d']``: dots, indexes and quoted keys; raises a 400 naming the field."""
    if not path.startswith("$"):
        raise invalid(field_name, "a JSON path starts with '$', e.g. $.data.id")
    pos = 1
    while pos < len(path):
        match = _STEP.match(path, pos)
        if match is None:
            raise invalid(field_name, f"cannot read the JSON path at {path[pos:]!r}")
        pos = match.end()
    return path


def json_path(document: Any, path: str) -> Any:
    """The value at ``path`` in ``document``, or None when any step is missing."""
    value = document
    for match in _STEP.finditer(path, 1):
        key, index, quoted = match.groups()
        if index is not None:
            if not isinstance(value, list) or int(index) >= len(value):
                return None
            value = value[int(index)]
        else:
            name = key if key is not None else quoted
            if not isinstance(value, dict) or name not in value:
                return None
            value = value[name]
    return value


def parse_json_body(raw: bytes) -> Any:
    """A provider's JSON document (an inbound message, a receipt), read by the one
    untrusted-JSON reader; TextwireError 20001 naming the rule when refused."""
    try:
        return jsonsafe.loads(raw)
    except jsonsafe.JSONInputError as exc:
        where = f" at {exc.field('')}" if exc.path else ""
        raise TextwireError(20001, f"Invalid request body{where}: {exc.rule}") from None


def snippet(text: str, limit: int = 200) -> str:
    """A short, single-line excerpt of a provider's answer for an error message."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
