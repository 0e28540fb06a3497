"""The HTTP/JSON connector (F-PROV-3): any SMS provider with a JSON REST API.

Each message is one request to the configured URL with a JSON body rendered from the
integration's template (``${to}``, ``${body}``, ...; values are JSON-escaped, so a template
that is valid JSON stays valid whatever the message says). The provider's message id and
error are read from its answer by JSON paths. Auth is ``none``, ``basic`` or OAuth2 client
credentials (the token is fetched from the token URL, cached until shortly before it
expires and fetched again after a 401).
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import json
import logging
import re
import time
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from textwire import egress, jsonsafe
from textwire.egress import DestinationRefused
from textwire.errors import invalid
from textwire.providers import masking
from textwire.providers.base import OutboundMessage, Receipt, ReceiptStatus, SendResult
from textwire.providers.common import (
    Health,
    InboundSms,
    IntegrationConfig,
    Kind,
    ProviderEnv,
    ProviderPost,
    check_json_path,
    check_known,
    denied,
    json_path,
    parse_json_body,
    setting_bool,
    setting_float,
    setting_int,
    setting_map,
    setting_str,
    setting_url,
    snippet,
)

log = logging.getLogger("textwire.providers.http")

SETTINGS = (
    "url",
    "method",
    "headers",
    "identifier_type",
    "auth",
    "username",
    "token_url",
    "client_id",
    "scope",
    "oauth_keys",
    "payload_template",
    "message_id_path",
    "error_path",
    "retry_statuses",
    "retry_on_timeout",
    "timeout",
    "concurrency",
    "inbound",
    "receipts",
)
SECRETS = ("password", "client_secret", "headers")
AUTH_MODES = ("none", "basic", "oauth2")
IDENTIFIER_TYPES = ("phone", "email", "custom")
VARIABLES = (
    "user_identifier",
    "to",
    "from",
    "body",
    "message_sid",
    "account_sid",
    "num_segments",
    "status_callback_url",
)
OAUTH_KEYS = {
    "client_id": "client_id",
    "client_secret": "client_secret",
    "access_token": "access_token",
    "expires_in": "expires_in",
}
DEFAULT_RETRY = [408, 429, 500, 502, 503, 504]
INBOUND_PATHS = {"from": "$.from", "to": "$.to", "body": "$.body", "id": "$.id"}
RECEIPT_PATHS = {"id": "$.id", "status": "$.status", "error": "$.error"}
RECEIPT_VALUES: dict[ReceiptStatus, list[str]] = {
    "delivered": ["delivered", "DELIVRD"],
    "undelivered": ["undelivered", "UNDELIV", "EXPIRED", "REJECTD"],
    "failed": ["failed"],
}
_VAR = re.compile(r"\$\{([a-z_]+(?:\.[A-Za-z0-9_]+)?)\}")
REFRESH_MARGIN = 30.0


class TemplateError(ValueError):
    pass


class TokenError(RuntimeError):
    """The token URL did not give a token; ``retryable`` when it may work later."""

    def __init__(self, message: str, *, retryable: bool, status: int | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.status = status


def render(template: str, values: Mapping[str, str]) -> str:
    """The template with each ``${name}`` replaced by its JSON-escaped value.

    ``${contact.field}`` renders the contact's field, or "" when there is none.
    """

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("contact."):
            return json.dumps(values.get(name, ""))[1:-1]
        if name not in values:
            raise TemplateError(f"unknown variable ${{{name}}}; known: {', '.join(VARIABLES)}")
        return json.dumps(values[name])[1:-1]

    return _VAR.sub(one, template)


def check_template(template: str) -> str:
    """The template, once it renders to a JSON object with sample values; else a 400."""
    sample = {
        "user_identifier": "+14155550100",
        "to": "+14155550100",
        "from": "+14155550111",
        "body": 'Sample "quoted" body\nwith a new line',
        "message_sid": "SM" + "0" * 32,
        "account_sid": "AC" + "0" * 32,
        "num_segments": "1",
        "status_callback_url": "https://example.com/v1/Receipts/IN",
    }
    try:
        document = jsonsafe.loads(render(template, sample))
    except TemplateError as exc:
        raise invalid("Settings.payload_template", str(exc)) from None
    except jsonsafe.JSONInputError as exc:
        raise invalid("Settings.payload_template", f"once rendered: {exc.rule}") from None
    if not isinstance(document, dict):
        raise invalid("Settings.payload_template", "must render to a JSON object")
    return template


def _paths(settings: Mapping[str, Any], key: str, defaults: Mapping[str, str]) -> dict[str, str]:
    raw = settings.get(key) or {}
    if not isinstance(raw, dict):
        raise invalid(f"Settings.{key}", "must be an object")
    out = dict(defaults)
    for name, path in raw.items():
        if name not in defaults and not (key == "receipts" and name in RECEIPT_VALUES):
            raise invalid(
                f"Settings.{key}.{name}", f"is not a setting; known: {', '.join(defaults)}"
            )
        if name in RECEIPT_VALUES:
            continue
        if not isinstance(path, str):
            raise invalid(f"Settings.{key}.{name}", "must be a JSON path string")
        out[name] = check_json_path(path, f"Settings.{key}.{name}")
    return out


def _receipt_values(settings: Mapping[str, Any]) -> dict[str, list[str]]:
    raw = settings.get("receipts") or {}
    out: dict[str, list[str]] = {k: list(v) for k, v in RECEIPT_VALUES.items()}
    for status in RECEIPT_VALUES:
        if status in raw:
            values = raw[status]
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise invalid(f"Settings.receipts.{status}", "must be a list of strings")
            out[status] = values
    return out


_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,256}")
_HEADER_VALUE = re.compile(r"[\x20-\x7e\t]{0,8192}")


def _headers(values: Mapping[str, Any], where: str) -> dict[str, str]:
    """Header names as HTTP tokens and values of visible ASCII: anything else cannot be sent
    (httpx raised UnicodeEncodeError, a 500, at the Test or at every hand-over)."""
    headers = setting_map(values, "headers", where=where)
    for name, value in headers.items():
        if not _HEADER_NAME.fullmatch(name):
            raise invalid(f"{where}.headers", f"{name!r} is not a valid HTTP header name")
        if not _HEADER_VALUE.fullmatch(value):
            raise invalid(
                f"{where}.headers.{name}", "must be visible ASCII characters, at most 8192"
            )
    return headers


def validate(
    settings: Mapping[str, Any], secrets: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Normalised settings and secrets of an HTTP integration; 400 naming the bad field."""
    check_known(settings, SETTINGS, "Settings")
    check_known(secrets, SECRETS, "Secrets")
    auth = setting_str(settings, "auth", default="none")
    if auth not in AUTH_MODES:
        raise invalid("Settings.auth", f"must be one of {', '.join(AUTH_MODES)}")
    identifier = setting_str(settings, "identifier_type", default="phone")
    if identifier not in IDENTIFIER_TYPES:
        raise invalid("Settings.identifier_type", f"must be one of {', '.join(IDENTIFIER_TYPES)}")
    method = (setting_str(settings, "method", default="POST") or "POST").upper()
    if method not in ("POST", "PUT"):
        raise invalid("Settings.method", "must be POST or PUT")
    template = setting_str(settings, "payload_template", required=True, max_len=20_000)
    assert template is not None
    out: dict[str, Any] = {
        "url": setting_url(settings, "url", required=True),
        "method": method,
        "headers": _headers(settings, "Settings"),
        "identifier_type": identifier,
        "auth": auth,
        "payload_template": check_template(template),
        "retry_on_timeout": setting_bool(settings, "retry_on_timeout", default=True),
        "timeout": setting_float(settings, "timeout", low=0.1, high=120, default=10.0),
        "concurrency": setting_int(settings, "concurrency", low=1, high=256, default=32),
        "inbound": _paths(settings, "inbound", INBOUND_PATHS),
        "receipts": {**_paths(settings, "receipts", RECEIPT_PATHS), **_receipt_values(settings)},
    }
    for key in ("message_id_path", "error_path"):
        path = setting_str(settings, key)
        if path is not None:
            out[key] = check_json_path(path, f"Settings.{key}")
    statuses = settings.get("retry_statuses", DEFAULT_RETRY)
    if not isinstance(statuses, list) or not all(
        isinstance(s, int) and not isinstance(s, bool) and 400 <= s <= 599 for s in statuses
    ):
        raise invalid("Settings.retry_statuses", "must be a list of HTTP statuses 400-599")
    out["retry_statuses"] = sorted(set(statuses))
    clean_secrets: dict[str, Any] = {}
    secret_headers = _headers(secrets, "Secrets")
    if secret_headers:
        clean_secrets["headers"] = secret_headers
    clash = sorted(set(out["headers"]) & set(secret_headers))
    if clash:
        raise invalid("Secrets.headers", f"header {clash[0]!r} is also a plain header")
    if auth == "basic":
        out["username"] = setting_str(settings, "username", required=True, max_len=256)
        clean_secrets["password"] = setting_str(
            secrets, "password", where="Secrets", required=True, max_len=1024
        )
    elif auth == "oauth2":
        out["token_url"] = setting_url(settings, "token_url", required=True)
        out["client_id"] = setting_str(settings, "client_id", required=True, max_len=512)
        scope = setting_str(settings, "scope", max_len=1024)
        if scope:
            out["scope"] = scope
        keys = setting_map(settings, "oauth_keys")
        unknown = sorted(set(keys) - set(OAUTH_KEYS))
        if unknown:
            raise invalid(
                f"Settings.oauth_keys.{unknown[0]}", f"known keys: {', '.join(OAUTH_KEYS)}"
            )
        out["oauth_keys"] = {**OAUTH_KEYS, **keys}
        clean_secrets["client_secret"] = setting_str(
            secrets, "client_secret", where="Secrets", required=True, max_len=1024
        )
    return out, clean_secrets


def receipt_from_body(
    settings: Mapping[str, Any], body: Any, message_sid: str | None
) -> Receipt | None:
    """A provider's status report as a receipt, by the integration's receipt paths."""
    spec = settings["receipts"]
    raw = json_path(body, spec["status"])
    if raw is None:
        return None
    status = next((s for s in RECEIPT_VALUES if str(raw) in spec[s]), None)
    if status is None:
        return None
    ref = json_path(body, spec["id"])
    error = json_path(body, spec["error"])
    code = (
        int(error)
        if isinstance(error, int) or (isinstance(error, str) and error.isdigit())
        else None
    )
    return Receipt(
        status=status,
        provider_ref=str(ref) if ref is not None else None,
        message_sid=message_sid,
        error_code=30008 if status != "delivered" and code is None else code,
        error_message=f"provider reported {raw}" + (f": {error}" if error is not None else ""),
    )


def inbound_from_body(settings: Mapping[str, Any], body: Any) -> InboundSms:
    """A provider's inbound message by the integration's inbound paths; 400 if incomplete."""
    spec = settings["inbound"]
    values = {name: json_path(body, path) for name, path in spec.items()}
    for name in ("from", "to"):
        if not isinstance(values[name], str) or not values[name]:
            raise invalid(f"inbound.{name}", f"no string at {spec[name]} in the request body")
    text = values["body"]
    return InboundSms(
        from_addr=values["from"],
        to_addr=values["to"],
        body=text if isinstance(text, str) else "",
        provider_ref=str(values["id"]) if values["id"] is not None else None,
    )


class HttpJsonProvider:
    """Sends through one generic JSON API."""

    def __init__(self, cfg: IntegrationConfig, env: ProviderEnv):
        self.cfg = cfg
        self.settings = cfg.settings
        self.secrets = cfg.secrets
        token = self.settings.get("callback_token", "")
        self.callback_url = f"{env.callback_base.rstrip('/')}/v1/Receipts/{cfg.sid}?Token={token}"
        self.health = Health()
        self._sem = asyncio.Semaphore(int(self.settings.get("concurrency", 32)))
        self._client = env.http(timeout=float(self.settings.get("timeout", 10.0)))
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = asyncio.Lock()

    async def close(self) -> None:
        await self._client.aclose()

    async def lookup(self, sids: Sequence[str]) -> dict[str, SendResult]:
        return {}

    # --- auth -------------------------------------------------------------------------------

    async def fetch_token(self) -> tuple[str, float]:
        """A new access token and its lifetime from the token URL; TokenError otherwise."""
        s = self.settings
        keys = s["oauth_keys"]
        form = {
            "grant_type": "client_credentials",
            keys["client_id"]: s["client_id"],
            keys["client_secret"]: self.secrets["client_secret"],
        }
        if s.get("scope"):
            form["scope"] = s["scope"]
        try:
            response = await self._client.post(s["token_url"], data=form)
        except httpx.HTTPError as exc:
            raise TokenError(
                f"token URL unreachable: {type(exc).__name__}: {exc}", retryable=True
            ) from None
        if response.status_code != 200:
            raise TokenError(
                f"token URL answered HTTP {response.status_code}: {snippet(response.text)}",
                retryable=response.status_code >= 500 or response.status_code == 429,
                status=response.status_code,
            )
        try:
            body = jsonsafe.loads(response.text)
        except ValueError:
            raise TokenError(
                f"token URL answered without JSON: {snippet(response.text, 80)!r}", retryable=False
            ) from None
        token = body.get(keys["access_token"]) if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise TokenError(f"token URL's answer has no {keys['access_token']!r}", retryable=False)
        lifetime = body.get(keys["expires_in"], 3600)
        try:
            seconds = float(lifetime)
        except (TypeError, ValueError):
            seconds = 3600.0
        return token, seconds

    async def access_token(self, *, refresh: bool = False) -> str:
        async with self._token_lock:
            now = time.monotonic()
            if refresh or self._token is None or now >= self._token_expires:
                token, lifetime = await self.fetch_token()
                self._token = token
                self._token_expires = now + max(0.0, lifetime - REFRESH_MARGIN)
            return self._token

    async def headers(self, *, refresh: bool = False) -> dict[str, str]:
        s = self.settings
        headers = {"Content-Type": "application/json", **s["headers"]}
        headers.update(self.secrets.get("headers", {}))
        if s["auth"] == "basic":
            raw = f"{s['username']}:{self.secrets['password']}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(raw).decode()
        elif s["auth"] == "oauth2":
            headers["Authorization"] = "Bearer " + await self.access_token(refresh=refresh)
        return headers

    def masked_headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        return masking.masked_headers(headers, frozenset(self.secrets.get("headers", {})))

    # --- sending ----------------------------------------------------------------------------

    def payload(self, m: OutboundMessage) -> str:
        values = {
            "user_identifier": m.to_addr,
            "to": m.to_addr,
            "from": m.from_addr,
            "body": m.body,
            "message_sid": m.sid,
            "account_sid": m.account_sid,
            "num_segments": str(m.num_segments),
            "status_callback_url": f"{self.callback_url}&MessageSid={m.sid}",
        }
        rendered = render(self.settings["payload_template"], values)
        json.loads(rendered)  # a template that renders invalid JSON must not leave textwire
        return rendered

    async def send_batch(self, messages: Sequence[OutboundMessage]) -> list[SendResult]:
        return list(await asyncio.gather(*(self._send_one(m) for m in messages)))

    async def _send_one(self, m: OutboundMessage) -> SendResult:
        try:
            body = self.payload(m)
        except (TemplateError, json.JSONDecodeError) as exc:
            return SendResult(
                m.sid, "failed", error_code=30008, error_message=f"payload template: {exc}"
            )
        async with self._sem:
            try:
                response = await self._request(body)
            except TokenError as exc:
                log.warning("oauth2 token failed", extra={"integration": self.cfg.sid})
                if exc.retryable:
                    self.health.failed(str(exc))
                    return SendResult(m.sid, "retry", error_message=str(exc))
                return SendResult(m.sid, "failed", error_code=20003, error_message=str(exc))
            except DestinationRefused as exc:
                # The operator does not allow this address: retrying cannot change that.
                return SendResult(m.sid, "failed", error_code=30008, error_message=str(exc))
            except httpx.TimeoutException as exc:
                self.health.failed(f"timeout: {exc}")
                if self.settings.get("retry_on_timeout", True):
                    return SendResult(m.sid, "retry", error_message="provider timed out")
                return SendResult(m.sid, "failed", error_code=30008, error_message="timed out")
            except httpx.HTTPError as exc:
                self.health.failed(f"{type(exc).__name__}: {exc}")
                return SendResult(
                    m.sid, "retry", error_message=f"provider unreachable: {type(exc).__name__}"
                )
        return self.result(m.sid, response)

    async def _request(self, body: str) -> httpx.Response:
        s = self.settings
        response = await self._client.request(
            s["method"], s["url"], content=body.encode(), headers=await self.headers()
        )
        if response.status_code == 401 and s["auth"] == "oauth2":
            # The token may have been revoked before its expiry: fetch a new one, once.
            response = await self._client.request(
                s["method"],
                s["url"],
                content=body.encode(),
                headers=await self.headers(refresh=True),
            )
        return response

    def result(self, sid: str, response: httpx.Response) -> SendResult:
        s = self.settings
        code = response.status_code
        if code >= 500:
            self.health.failed(f"HTTP {code}")
        else:
            self.health.ok()
        try:
            document: Any = jsonsafe.loads(response.text)
        except ValueError:
            document = None
        error = json_path(document, s["error_path"]) if s.get("error_path") else None
        if 200 <= code < 300:
            if document is None and s.get("message_id_path"):
                return SendResult(
                    sid,
                    "failed",
                    error_code=30008,
                    error_message=f"provider answered HTTP {code} with a body that is not "
                    f"JSON: {snippet(response.text, 80)!r}",
                )
            if error not in (None, "", False):
                return SendResult(
                    sid, "failed", error_code=30008, error_message=f"provider error: {error}"
                )
            ref = json_path(document, s["message_id_path"]) if s.get("message_id_path") else None
            return SendResult(sid, "accepted", provider_sid=str(ref) if ref is not None else None)
        detail = error if error not in (None, "") else snippet(response.text, 120)
        if code in s.get("retry_statuses", DEFAULT_RETRY):
            return SendResult(sid, "retry", error_message=f"provider answered HTTP {code}")
        return SendResult(
            sid, "failed", error_code=30008, error_message=f"provider HTTP {code}: {detail}"
        )

    async def test(self, m: OutboundMessage) -> dict[str, Any]:
        """Send ``m`` for real; return the request (secrets masked) and the answer."""
        body = self.payload(m)
        s = self.settings
        try:
            headers = await self.headers()
        except TokenError as exc:
            return {"ok": False, "error": str(exc)}
        except DestinationRefused as exc:
            raise invalid("Settings.token_url", str(exc)) from None
        request = {
            "method": s["method"],
            "url": s["url"],
            "headers": self.masked_headers(headers),
            "payload": json.loads(body),
        }
        try:
            response = await self._request(body)
        except httpx.HTTPError as exc:
            return {"ok": False, "request": request, "error": f"{type(exc).__name__}: {exc}"}
        except DestinationRefused as exc:
            raise invalid("Settings.url", str(exc)) from None
        result = self.result(m.sid, response)
        try:
            answer: Any = jsonsafe.loads(response.text)
        except ValueError:
            answer = snippet(response.text, 2000)
        return {
            "ok": result.outcome == "accepted",
            "request": request,
            "response": {
                "status_code": response.status_code,
                "headers": dict(response.headers),
                "body": answer,
            },
            "result": {
                "outcome": result.outcome,
                "provider_message_id": result.provider_sid,
                "error": result.error_message,
            },
        }


async def run_test(cfg: IntegrationConfig, env: ProviderEnv, m: OutboundMessage) -> dict[str, Any]:
    provider = HttpJsonProvider(cfg, env)
    try:
        return await provider.test(m)
    finally:
        await provider.close()


async def check_credentials(cfg: IntegrationConfig, env: ProviderEnv) -> None:
    """With OAuth2, the token URL must hand out a token for these client credentials before
    they are saved; 400 naming the field otherwise."""
    if cfg.settings.get("auth") != "oauth2":
        return
    probe = HttpJsonProvider(cfg, env)
    try:
        await probe.fetch_token()
    except egress.DestinationRefused as exc:
        raise invalid("Settings.token_url", str(exc)) from None
    except TokenError as exc:
        # Only the status: the token URL's answer is not ours to repeat (issue 11 §4e).
        if exc.status is not None:
            why = f"the token URL did not accept the client credentials (HTTP {exc.status})"
        elif exc.retryable:
            why = "the token URL could not be reached"
        else:
            why = "the token URL's answer has no access token"
        raise invalid("Secrets.client_secret", why) from None
    finally:
        await probe.close()


def check_token(cfg: IntegrationConfig, post: ProviderPost) -> None:
    """The integration's callback token, from the ``Token`` query parameter or the
    ``X-Textwire-Token`` header; ``denied()`` when it is missing or wrong."""
    expected = str(cfg.settings.get("callback_token") or "")
    given = post.query().get("Token") or post.headers.get("x-textwire-token") or ""
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise denied()


def read_inbound(cfg: IntegrationConfig, post: ProviderPost) -> InboundSms:
    check_token(cfg, post)
    return inbound_from_body(cfg.settings, parse_json_body(post.body))


def read_receipt(cfg: IntegrationConfig, post: ProviderPost) -> Receipt | None:
    check_token(cfg, post)
    return receipt_from_body(
        cfg.settings, parse_json_body(post.body), post.query().get("MessageSid")
    )


KIND = Kind(
    name="http",
    validate=validate,
    test=run_test,
    build=HttpJsonProvider,
    check=check_credentials,
    inbound=read_inbound,
    receipts=read_receipt,
    token_in_urls=True,
)
