"""The Twilio connector (F-PROV-2): Twilio's Messages API over httpx.

Each message is one ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` carrying
textwire's own ``StatusCallback`` (``/v1/Receipts/{IntegrationSid}``), so Twilio's status
callbacks come back here, are checked against ``X-Twilio-Signature`` with the
integration's auth token, and become receipts. Only what Twilio calls retryable is
retried: timeouts and connection errors, 429 / 20429 and 5xx. Any other answer is final:
the message fails with Twilio's own error code.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from textwire import jsonsafe
from textwire.api.params import form_dict
from textwire.egress import DestinationRefused
from textwire.errors import TextwireError, invalid
from textwire.outbox.signing import twilio_signature
from textwire.providers.base import OutboundMessage, Receipt, ReceiptStatus, SendResult
from textwire.providers.common import (
    Health,
    InboundSms,
    IntegrationConfig,
    Kind,
    ProviderEnv,
    ProviderPost,
    Reply,
    check_known,
    denied,
    setting_float,
    setting_int,
    setting_str,
    setting_url,
    snippet,
)

log = logging.getLogger("textwire.providers.twilio")

DEFAULT_BASE_URL = "https://api.twilio.com"
SETTINGS = ("account_sid", "base_url", "timeout", "concurrency")
SECRETS = ("auth_token",)
ACCEPTED = frozenset({"accepted", "queued", "scheduled", "sending", "sent", "delivered"})
# Twilio's status callback statuses that end a message, and what textwire makes of them.
TWIML_EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
FINAL_STATUSES: dict[str, ReceiptStatus] = {
    "delivered": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
}


def validate(
    settings: Mapping[str, Any], secrets: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Normalised settings and secrets of a Twilio integration; 400 naming the bad field."""
    check_known(settings, SETTINGS, "Settings")
    check_known(secrets, SECRETS, "Secrets")
    account = setting_str(settings, "account_sid", required=True)
    assert account is not None
    if not (account.startswith("AC") and len(account) == 34):
        raise invalid("Settings.account_sid", "must be a Twilio account SID (AC + 32 hex digits)")
    clean = {
        "account_sid": account,
        "base_url": setting_url(settings, "base_url", default=DEFAULT_BASE_URL),
        "timeout": setting_float(settings, "timeout", low=0.1, high=120, default=10.0),
        "concurrency": setting_int(settings, "concurrency", low=1, high=256, default=32),
    }
    token = setting_str(secrets, "auth_token", where="Secrets", required=True, max_len=128)
    return clean, {"auth_token": token}


def status_callback_url(callback_base: str, integration_sid: str) -> str:
    return f"{callback_base.rstrip('/')}/v1/Receipts/{integration_sid}"


def _with_and_without_port(url: str) -> list[str]:
    parts = urlsplit(url)
    if parts.port is not None:
        bare = parts._replace(netloc=parts.hostname or "")
        return [url, urlunsplit(bare)]
    default = 443 if parts.scheme == "https" else 80
    return [url, urlunsplit(parts._replace(netloc=f"{parts.hostname}:{default}"))]


def signature_valid(
    token: str, url: str, params: Mapping[str, str | Sequence[str]], signature: str | None
) -> bool:
    """What Twilio's ``RequestValidator`` accepts: the URL with or without its port."""
    if not signature:
        return False
    import hmac

    return any(
        hmac.compare_digest(twilio_signature(token, candidate, params), signature)
        for candidate in _with_and_without_port(url)
    )


def receipt_from_callback(params: Mapping[str, str]) -> Receipt | None:
    """A Twilio status callback as a receipt; None for statuses that end nothing."""
    status = FINAL_STATUSES.get(params.get("MessageStatus") or params.get("SmsStatus") or "")
    ref = params.get("MessageSid") or params.get("SmsSid")
    if status is None or not ref:
        return None
    code = params.get("ErrorCode")
    return Receipt(
        status=status,
        provider_ref=ref,
        error_code=int(code) if code and code.isdigit() else None,
        error_message=f"Twilio reported {status}" + (f" ({code})" if code else ""),
    )


def inbound_from_webhook(params: Mapping[str, str], media: Sequence[str]) -> InboundSms:
    """Twilio's inbound webhook fields as an inbound message."""
    segments = params.get("NumSegments") or "1"
    return InboundSms(
        from_addr=params.get("From") or "",
        to_addr=params.get("To") or "",
        body=params.get("Body") or "",
        provider_ref=params.get("MessageSid") or params.get("SmsSid"),
        num_segments=int(segments) if segments.isdigit() else 1,
        media_urls=tuple(media),
    )


class TwilioProvider:
    """Sends through one Twilio account."""

    def __init__(self, cfg: IntegrationConfig, env: ProviderEnv):
        s = cfg.settings
        self.integration_sid = cfg.sid
        self.account_sid: str = s["account_sid"]
        self.token: str = cfg.secrets["auth_token"]
        self.base_url: str = str(s.get("base_url") or DEFAULT_BASE_URL).rstrip("/")
        self.callback_url = status_callback_url(env.callback_base, cfg.sid)
        self.health = Health()
        self._sem = asyncio.Semaphore(int(s.get("concurrency", 32)))
        self._client = env.http(
            auth=(self.account_sid, self.token), timeout=float(s.get("timeout", 10.0))
        )

    @property
    def messages_url(self) -> str:
        return f"{self.base_url}/2010-04-01/Accounts/{self.account_sid}/Messages.json"

    async def close(self) -> None:
        await self._client.aclose()

    async def send_batch(self, messages: Sequence[OutboundMessage]) -> list[SendResult]:
        return list(await asyncio.gather(*(self._send_one(m) for m in messages)))

    async def lookup(self, sids: Sequence[str]) -> dict[str, SendResult]:
        return {}  # Twilio cannot be asked by textwire's SID; the registry's refs answer

    def form(self, m: OutboundMessage) -> dict[str, str | list[str]]:
        data: dict[str, str | list[str]] = {
            "To": m.to_addr,
            "From": m.from_addr,
            "Body": m.body,
            "StatusCallback": self.callback_url,
        }
        if m.media_urls:
            data["MediaUrl"] = list(m.media_urls)
        return data

    async def _send_one(self, m: OutboundMessage) -> SendResult:
        async with self._sem:
            try:
                response = await self._client.post(self.messages_url, data=self.form(m))
            except DestinationRefused as exc:
                # The operator does not allow this address: retrying cannot change that.
                return SendResult(m.sid, "failed", error_code=30008, error_message=str(exc))
            except httpx.TimeoutException as exc:
                self.health.failed(f"timeout: {exc}")
                return SendResult(m.sid, "retry", error_message=f"Twilio timed out: {exc}")
            except httpx.HTTPError as exc:
                self.health.failed(f"{type(exc).__name__}: {exc}")
                return SendResult(
                    m.sid, "retry", error_message=f"Twilio unreachable: {type(exc).__name__}"
                )
        return self.result(m.sid, response)

    def result(self, sid: str, response: httpx.Response) -> SendResult:
        """What Twilio's answer to one create means for the message."""
        code = response.status_code
        body: Any = None
        try:
            body = jsonsafe.loads(response.text)
        except ValueError:
            body = None
        error_code = body.get("code") if isinstance(body, dict) else None
        if code >= 500:
            self.health.failed(f"HTTP {code}")
            return SendResult(sid, "retry", error_message=f"Twilio answered HTTP {code}")
        self.health.ok()
        if code == 429 or error_code == 20429:
            return SendResult(sid, "retry", error_code=20429, error_message="Twilio rate limit")
        if not isinstance(body, dict):
            log.warning("twilio answered without JSON", extra={"status": code, "sid": sid})
            return SendResult(
                sid,
                "failed",
                error_code=30008,
                error_message=f"Twilio answered HTTP {code} with a body that is not JSON: "
                f"{snippet(response.text, 80)!r}",
            )
        if code == 401:
            return SendResult(
                sid,
                "failed",
                error_code=20003,
                error_message="Twilio refused the integration's account SID / auth token",
            )
        if 200 <= code < 300 and isinstance(body.get("sid"), str):
            status = body.get("status")
            if status in ACCEPTED:
                return SendResult(sid, "accepted", provider_sid=body["sid"])
            failed_code = body.get("error_code")
            return SendResult(
                sid,
                "failed",
                provider_sid=body["sid"],
                error_code=int(failed_code) if isinstance(failed_code, int) else 30008,
                error_message=str(body.get("error_message") or f"Twilio status {status}"),
            )
        message = str(body.get("message") or f"HTTP {code}")
        return SendResult(
            sid,
            "failed",
            error_code=int(error_code) if isinstance(error_code, int) else 30008,
            error_message=f"Twilio: {message}",
        )

    async def test(self) -> dict[str, Any]:
        """Fetch the Twilio account: proves the base URL and credentials."""
        url = f"{self.base_url}/2010-04-01/Accounts/{self.account_sid}.json"
        request = {"method": "GET", "url": url, "headers": {"Authorization": "Basic ••••"}}
        try:
            response = await self._client.get(url)
        except httpx.HTTPError as exc:
            return {"ok": False, "request": request, "error": f"{type(exc).__name__}: {exc}"}
        except DestinationRefused as exc:
            raise invalid("Settings.base_url", str(exc)) from None
        return {
            "ok": response.status_code == 200,
            "request": request,
            "response": {"status_code": response.status_code, "body": snippet(response.text, 2000)},
        }


async def run_test(cfg: IntegrationConfig, env: ProviderEnv, _m: OutboundMessage) -> dict[str, Any]:
    provider = TwilioProvider(cfg, env)
    try:
        return await provider.test()
    finally:
        await provider.close()


def signed_form(cfg: IntegrationConfig, post: ProviderPost) -> dict[str, str]:
    """The form Twilio posted, once its X-Twilio-Signature checks out (``denied()`` else)."""
    try:
        params = form_dict(post.body)
    except TextwireError:
        raise denied() from None  # no signature can cover it: Twilio never sends one
    signature = post.headers.get("x-twilio-signature")
    if not signature_valid(cfg.secrets["auth_token"], post.url, params, signature):
        raise denied()
    return params


def read_inbound(cfg: IntegrationConfig, post: ProviderPost) -> InboundSms:
    params = signed_form(cfg, post)
    count = params.get("NumMedia") or "0"
    media = [
        params[f"MediaUrl{i}"]
        for i in range(int(count) if count.isdigit() else 0)
        if f"MediaUrl{i}" in params
    ]
    return inbound_from_webhook(params, media)


def read_receipt(cfg: IntegrationConfig, post: ProviderPost) -> Receipt | None:
    return receipt_from_callback(signed_form(cfg, post))


def twiml_reply(_message_sid: str | None) -> Reply:
    """Twilio expects TwiML back from an inbound webhook: an empty response sends nothing."""
    return Reply(TWIML_EMPTY, "text/xml")


KIND = Kind(
    name="twilio",
    validate=validate,
    test=run_test,
    build=TwilioProvider,
    inbound=read_inbound,
    inbound_reply=twiml_reply,
    receipts=read_receipt,
)
