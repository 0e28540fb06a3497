"""``/v1/Integrations`` (the account's upstream routes), and the endpoints providers call:
``/v1/Inbound/{IntegrationSid}`` (mobile-originated messages) and
``/v1/Receipts/{IntegrationSid}`` (status callbacks / delivery reports)."""

from __future__ import annotations

import json
import secrets
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import delete, func, insert, select, update

from textwire import egress
from textwire.api.common import account_of, base_url, list_page, runtime
from textwire.api.params import query_params, read_body, read_params
from textwire.clock import iso8601
from textwire.errors import TextwireError, invalid, not_found
from textwire.ids import new_sid
from textwire.providers import declared, masking
from textwire.providers import tables as pt
from textwire.providers.base import OutboundMessage
from textwire.providers.common import (
    IntegrationConfig,
    Kind,
    ProviderEnv,
    ProviderPost,
    denied,
    setting_float,
)
from textwire.providers.kinds import TYPES, kind
from textwire.providers.registry import callback_base
from textwire.runtime import Runtime
from textwire.senders import tables as st
from textwire.urls import check_url

router = APIRouter()

# Settings every type has; the type's own validator never sees them.
COMMON = ("backup_integration_sid", "failover_after", "callback_token")


def integration_resource(request: Request, row: Any, secrets_: dict[str, Any]) -> dict[str, Any]:
    rt = runtime(request)
    settings = dict(row["settings"] or {})
    token = settings.pop("callback_token", None)
    of = kind(row["type"])
    base = callback_base(rt.settings)
    inbound = f"{base}/v1/Inbound/{row['sid']}"
    receipts = f"{base}/v1/Receipts/{row['sid']}"
    if of.token_in_urls and token:
        inbound += f"?Token={token}"
        receipts += f"?Token={token}"
    return {
        "sid": row["sid"],
        "account_sid": row["account_sid"],
        "friendly_name": row["friendly_name"],
        "type": row["type"],
        "settings": masking.masked_settings(settings),
        "secrets": masking.masked(secrets_),
        "inbound_url": inbound if of.inbound is not None else None,
        "status_callback_url": receipts if of.receipts is not None else None,
        "health": rt.providers.health(row["sid"]),
        "date_created": iso8601(row["date_created"]),
        "date_updated": iso8601(row["date_updated"]),
        "url": f"{base_url(request)}/v1/Integrations/{row['sid']}",
    }


async def _validated(
    rt: Runtime,
    account_sid: str,
    sid: str,
    of: Kind,
    settings: dict[str, Any],
    secret_values: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Settings and secrets as stored, once every rule (and the kind's live check, such as
    the OAuth2 token URL) agreed."""
    common = {k: settings.pop(k) for k in COMMON if k in settings}
    clean, clean_secrets = of.validate(settings, secret_values)
    backup = common.get("backup_integration_sid")
    if backup:
        if backup == sid:
            raise invalid("Settings.backup_integration_sid", "cannot be the integration itself")
        async with rt.db.read() as conn:
            found = await conn.scalar(
                select(func.count())
                .select_from(pt.integrations)
                .where(
                    pt.integrations.c.sid == backup, pt.integrations.c.account_sid == account_sid
                )
            )
        if not found:
            raise invalid(
                "Settings.backup_integration_sid",
                f"integration {backup} does not exist in this account",
            )
        clean["backup_integration_sid"] = backup
        clean["failover_after"] = setting_float(
            common, "failover_after", low=0, high=86_400, default=30
        )
    clean["callback_token"] = common.get("callback_token") or secrets.token_hex(16)
    if of.check is not None:
        now = rt.clock.now()
        cfg = IntegrationConfig(sid, account_sid, "", of.name, clean, clean_secrets, now)
        await of.check(cfg, _env(rt))
    return clean, clean_secrets


def _env(rt: Runtime) -> ProviderEnv:
    """A connector's environment for the API's own calls (Test, the OAuth2 check)."""
    return ProviderEnv(callback_base(rt.settings), None, http=egress.client_factory(rt.settings))


def _encrypt(rt: Runtime, secret_values: dict[str, Any]) -> str | None:
    return rt.box.encrypt(json.dumps(secret_values)) if secret_values else None


def _decrypt(rt: Runtime, enc: str | None) -> dict[str, Any]:
    return dict(json.loads(rt.box.decrypt(enc))) if enc else {}


async def _load(rt: Runtime, account_sid: str, sid: str) -> dict[str, Any]:
    async with rt.db.read() as conn:
        row = (
            (
                await conn.execute(
                    select(pt.integrations).where(
                        pt.integrations.c.sid == sid, pt.integrations.c.account_sid == account_sid
                    )
                )
            )
            .mappings()
            .first()
        )
    if row is None:
        raise not_found("Integration", sid)
    return dict(row)


@router.post("/v1/Integrations", status_code=201, **declared.create_integration)
async def create_integration(request: Request) -> JSONResponse:
    rt, account_sid = await account_of(request)
    params = await read_params(request)
    name = (params.get("FriendlyName") or "").strip()
    if not name or len(name) > 64:
        raise invalid("FriendlyName", "is required, 1 to 64 characters")
    type_name = params.get("Type")
    if type_name not in TYPES:
        raise invalid("Type", f"must be one of {', '.join(TYPES)}")
    sid = new_sid("IN")
    settings, secret_values = await _validated(
        rt,
        account_sid,
        sid,
        kind(type_name),
        # Nothing is stored yet, so a mask here stands for nothing and is refused.
        masking.merge("Settings", {}, params.object("Settings") or {}),
        masking.merge("Secrets", {}, params.object("Secrets") or {}),
    )
    now = rt.clock.now()
    row = {
        "sid": sid,
        "account_sid": account_sid,
        "friendly_name": name,
        "type": type_name,
        "settings": settings,
        "secrets_enc": _encrypt(rt, secret_values),
        "date_created": now,
        "date_updated": now,
    }
    async with rt.db.write() as conn:
        await conn.execute(insert(pt.integrations).values(**row))
    return JSONResponse(integration_resource(request, row, secret_values), status_code=201)


@router.get("/v1/Integrations", **declared.list_integrations)
async def list_integrations(request: Request) -> JSONResponse:
    rt, account_sid = await account_of(request)
    params = await read_params(request)
    i = pt.integrations
    type_ = params.get("Type")
    return await list_page(
        rt,
        request,
        params,
        table=i,
        account_sid=account_sid,
        key="integrations",
        path="/v1/Integrations",
        to_resource=lambda r: integration_resource(request, r, _decrypt(rt, r["secrets_enc"])),
        filters=[i.c.type == type_] if type_ else [],
    )


@router.get("/v1/Integrations/{sid}", **declared.fetch_integration)
async def fetch_integration(sid: str, request: Request) -> JSONResponse:
    rt, account_sid = await account_of(request)
    row = await _load(rt, account_sid, sid)
    return JSONResponse(integration_resource(request, row, _decrypt(rt, row["secrets_enc"])))


@router.post("/v1/Integrations/{sid}", **declared.update_integration)
async def update_integration(sid: str, request: Request) -> JSONResponse:
    rt, account_sid = await account_of(request)
    params = await read_params(request)
    row = await _load(rt, account_sid, sid)
    if params.get("Type") not in (None, row["type"]):
        raise invalid("Type", "cannot change; create a new integration instead")
    name = params.get("FriendlyName")
    if name is not None and not 1 <= len(name.strip()) <= 64:
        raise invalid("FriendlyName", "must be 1 to 64 characters")
    # A document read back carries masks: they stand for the stored values (issue 11 §4 a, d).
    settings = masking.merge("Settings", row["settings"] or {}, params.object("Settings") or {})
    secret_values = masking.merge(
        "Secrets", _decrypt(rt, row["secrets_enc"]), params.object("Secrets") or {}
    )
    settings, secret_values = await _validated(
        rt, account_sid, sid, kind(row["type"]), settings, secret_values
    )
    now = rt.clock.now()
    values = {
        "friendly_name": name.strip() if name else row["friendly_name"],
        "settings": settings,
        "secrets_enc": _encrypt(rt, secret_values),
        "date_updated": now,
    }
    async with rt.db.write() as conn:
        await conn.execute(
            update(pt.integrations).where(pt.integrations.c.sid == sid).values(**values)
        )
    rt.providers.invalidate(sid)
    row.update(values)
    return JSONResponse(integration_resource(request, row, secret_values))


@router.delete("/v1/Integrations/{sid}", status_code=204, **declared.delete_integration)
async def delete_integration(sid: str, request: Request) -> Response:
    rt, account_sid = await account_of(request)
    await _load(rt, account_sid, sid)
    async with rt.db.write() as conn:
        user = await conn.scalar(
            select(st.senders.c.value).where(st.senders.c.integration_sid == sid).limit(1)
        )
        if user is not None:
            raise TextwireError(20409, f"Integration {sid} is used by sender {user}; move it first")
        for other in (
            await conn.execute(
                select(pt.integrations.c.sid, pt.integrations.c.settings).where(
                    pt.integrations.c.account_sid == account_sid
                )
            )
        ).all():
            if (other.settings or {}).get("backup_integration_sid") == sid:
                raise TextwireError(20409, f"Integration {sid} is the backup of {other.sid}")
        await conn.execute(delete(pt.integrations).where(pt.integrations.c.sid == sid))
    rt.providers.invalidate(sid)
    return Response(status_code=204)


@router.post("/v1/Integrations/{sid}/Test", **declared.test_integration)
async def test_integration(sid: str, request: Request) -> JSONResponse:
    """Try the saved integration for real: Twilio fetches the account, HTTP sends a message,
    SMPP binds and unbinds. Returns what was sent (secrets masked) and what came back."""
    rt, account_sid = await account_of(request)
    params = await read_params(request)
    row = await _load(rt, account_sid, sid)
    cfg = rt.providers.decode(_Row(row))
    of = kind(cfg.type)
    if of.socket is not None:  # not HTTP: checked here, by the rules an HTTP client obeys
        host, port = of.socket(cfg)
        try:
            await egress.check_destination(rt.settings, host, port)
        except egress.DestinationRefused as exc:
            raise invalid("Settings.host", str(exc)) from None
    message = OutboundMessage(
        sid=new_sid("SM"),
        account_sid=account_sid,
        from_addr=params.get("From") or "textwire",
        to_addr=params.get("To") or "+15005550006",
        body=params.get("Body") or "textwire test message",
        num_segments=1,
        encoding="GSM-7",
        media_urls=(),
        sender_sid=None,
        integration_sid=sid,
    )
    result = await of.test(cfg, _env(rt), message)
    return JSONResponse({"type": row["type"], **result})


class _Row:
    """A mapping row seen as the attribute row ``ProviderRegistry.decode`` takes."""

    def __init__(self, values: dict[str, Any]):
        self.__dict__.update(values)


# --- numbers' own inbound URL ---------------------------------------------------------------


@router.post("/v1/Senders/{sid}/InboundWebhook", **declared.set_number_webhook)
async def set_number_webhook(sid: str, request: Request) -> JSONResponse:
    """A number's own inbound URL (``InboundRequestUrl``; empty removes it)."""
    rt, account_sid = await account_of(request)
    params = await read_params(request)
    url = params.get("InboundRequestUrl") or ""
    if url:
        check_url("InboundRequestUrl", url)
    async with rt.db.write() as conn:
        known = await conn.scalar(
            select(func.count())
            .select_from(st.senders)
            .where(st.senders.c.sid == sid, st.senders.c.account_sid == account_sid)
        )
        if not known:
            raise not_found("Sender", sid)
        await conn.execute(delete(pt.number_webhooks).where(pt.number_webhooks.c.sender_sid == sid))
        if url:
            await conn.execute(
                insert(pt.number_webhooks).values(
                    sender_sid=sid,
                    account_sid=account_sid,
                    inbound_url=url,
                    date_updated=rt.clock.now(),
                )
            )
    return JSONResponse({"sender_sid": sid, "inbound_request_url": url or None})


# --- what providers call --------------------------------------------------------------------


async def _provider_cfg(rt: Runtime, sid: str) -> IntegrationConfig:
    rt.providers.invalidate(sid)
    cfg = await rt.providers.config(sid)
    if cfg is None:
        raise denied()
    return cfg


def _public_url(rt: Runtime, request: Request) -> str:
    url = callback_base(rt.settings) + request.url.path
    return url + (f"?{request.url.query}" if request.url.query else "")


def _post(rt: Runtime, request: Request, raw: bytes) -> ProviderPost:
    return ProviderPost(
        url=_public_url(rt, request),
        query=lambda: query_params(request),
        headers=request.headers,
        body=raw,
    )


@router.post("/v1/Inbound/{sid}", **declared.inbound)
async def inbound(sid: str, request: Request) -> Response:
    rt = runtime(request)
    raw = await read_body(request)  # first: a too-large body is refused alike for every SID
    cfg = await _provider_cfg(rt, sid)
    sink = rt.providers.sink
    assert sink is not None
    of = kind(cfg.type)
    if of.inbound is None:
        raise denied()  # SMPP: inbound messages come over the bind, never here
    if of.inbound_by_account:
        try:
            _rt, account_sid = await account_of(request)
        except TextwireError:
            raise denied() from None
        if account_sid != cfg.account_sid:
            raise denied()
    message_sid = await sink.inbound(sid, of.inbound(cfg, _post(rt, request, raw)))
    reply = of.inbound_reply(message_sid)
    return Response(reply.body, media_type=reply.media_type)


@router.post("/v1/Receipts/{sid}", **declared.receipts)
async def receipts(sid: str, request: Request) -> Response:
    rt = runtime(request)
    raw = await read_body(request)  # first: a too-large body is refused alike for every SID
    cfg = await _provider_cfg(rt, sid)
    sink = rt.providers.sink
    assert sink is not None
    reader = kind(cfg.type).receipts
    if reader is None:
        raise denied()  # sandbox and SMPP integrations post no receipts here
    receipt = reader(cfg, _post(rt, request, raw))
    if receipt is not None:
        await sink.receipts(sid, [receipt])
    return Response(status_code=200)
