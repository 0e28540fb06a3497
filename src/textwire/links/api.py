"""``/v1/LinkShortening/...``: domains, their config, services, certificates, analytics.

Shaped like messaging.twilio.com/v1 (``twilio-messaging-v1.openapi.json``) where Twilio
has the resource; textwire adds creating and listing domains, per-service link settings
(``LinkMode``, ``LinkPrefix``, ``DropScheme``) and the analytics routes. Every bad input is
a 4xx naming the field, and writes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from datetime import timedelta
from typing import Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from textwire.api.common import account_of, base_url, list_page, page_args, v1_page
from textwire.api.params import Params, read_params
from textwire.clock import iso8601
from textwire.errors import TextwireError, invalid, not_found
from textwire.ids import new_sid
from textwire.links import analytics, declared
from textwire.links import tables as lt
from textwire.links.certs import (
    DomainInputError,
    check_certificate,
    normalize_domain,
    normalize_prefix,
)
from textwire.links.rewrite import LINK_MODES
from textwire.runtime import Runtime
from textwire.senders import tables as st
from textwire.urls import check_url

router = APIRouter()
log = logging.getLogger("textwire.links.api")

ROOT: Final = "/v1/LinkShortening"
SERVICE_ACTIONS: Final = ("add", "delete", "replace")
DNS_TIMEOUT: Final = 5.0


def _bad(exc: DomainInputError) -> TextwireError:
    return invalid(exc.field, exc.rule)


def _url_param(params: Params, key: str) -> str | None:
    value = params.get(key)
    if value is None or value == "":
        return None
    return check_url(key, value)


async def _domain(conn: AsyncConnection, account_sid: str, sid: str) -> dict[str, Any]:
    d = lt.link_domains
    row = (
        (await conn.execute(select(d).where(d.c.sid == sid, d.c.account_sid == account_sid)))
        .mappings()
        .first()
    )
    if row is None:
        raise not_found("Domain", sid)
    return dict(row)


async def _check_service(conn: AsyncConnection, account_sid: str, sid: str) -> None:
    s = st.services
    found = await conn.scalar(select(s.c.sid).where(s.c.sid == sid, s.c.account_sid == account_sid))
    if found is None:
        raise TextwireError(
            21701, f"Messaging service {sid} does not exist in this account", status=404
        )


async def _service_sids(conn: AsyncConnection, domain_sid: str) -> list[str]:
    ds = lt.link_domain_services
    rows = await conn.scalars(
        select(ds.c.service_sid).where(ds.c.domain_sid == domain_sid).order_by(ds.c.service_sid)
    )
    return list(rows)


def domain_resource(request: Request, row: dict[str, Any]) -> dict[str, Any]:
    url = f"{base_url(request)}{ROOT}/Domains/{row['sid']}"
    return {
        "domain_sid": row["sid"],
        "account_sid": row["account_sid"],
        "domain_name": row["domain_name"],
        "verified": bool(row["verified"]),
        "date_created": iso8601(row["date_created"]),
        "date_updated": iso8601(row["date_updated"]),
        "url": url,
        "links": {
            "config": f"{url}/Config",
            "certificate": f"{url}/Certificate",
            "validate_dns": f"{url}/ValidateDns",
        },
    }


def config_resource(request: Request, row: dict[str, Any], services: list[str]) -> dict[str, Any]:
    return {
        "domain_sid": row["sid"],
        "config_sid": row["config_sid"],
        "fallback_url": row["fallback_url"],
        "callback_url": row["callback_url"],
        "continue_on_failure": bool(row["continue_on_failure"]),
        "disable_https": bool(row["disable_https"]),
        "messaging_service_sids": services,
        "date_created": iso8601(row["date_created"]),
        "date_updated": iso8601(row["date_updated"]),
        "url": f"{base_url(request)}{ROOT}/Domains/{row['sid']}/Config",
    }


def _config_values(params: Params) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, col in (("FallbackUrl", "fallback_url"), ("CallbackUrl", "callback_url")):
        if key in params:
            values[col] = _url_param(params, key)
    for key, col in (
        ("ContinueOnFailure", "continue_on_failure"),
        ("DisableHttps", "disable_https"),
    ):
        flag = params.bool(key)
        if flag is not None:
            values[col] = flag
    return values


# --- domains -------------------------------------------------------------------------


@router.post(f"{ROOT}/Domains", status_code=201, **declared.create_domain)
async def create_domain(request: Request) -> JSONResponse:
    rt, account_sid = await account_of(request)
    params = await read_params(request)
    try:
        name = normalize_domain(params.get("DomainName") or "")
    except DomainInputError as exc:
        raise _bad(exc) from None
    values = _config_values(params)
    now = rt.clock.now()
    row = {
        "sid": new_sid("DN"),
        "account_sid": account_sid,
        "domain_name": name,
        "verified": False,
        "config_sid": new_sid("DC"),
        "fallback_url": None,
        "callback_url": None,
        "continue_on_failure": True,
        "disable_https": False,
        **values,
        "date_created": now,
        "date_updated": now,
    }
    d = lt.link_domains
    async with rt.db.write() as conn:
        if await conn.scalar(select(d.c.sid).where(d.c.domain_name == name)) is not None:
            raise TextwireError(20409, f"Domain {name} is already registered", status=409)
        await conn.execute(insert(d).values(**row))
    return JSONResponse(domain_resource(request, row), status_code=201)


@router.get(f"{ROOT}/Domains", **declared.list_domains)
async def list_domains(request: Request) -> JSONResponse:
    rt, account_sid = await account_of(request)
    return await list_page(
        rt,
        request,
        await read_params(request),
        table=lt.link_domains,
        account_sid=account_sid,
        key="domains",
        path=f"{ROOT}/Domains",
        to_resource=lambda r: domain_resource(request, dict(r)),
    )


@router.get(f"{ROOT}/Domains/{{sid}}", **declared.fetch_domain)
async def fetch_domain(sid: str, request: Request) -> JSONResponse:
    rt, account_sid = await account_of(request)
    async with rt.db.read() as conn:
        return JSONResponse(domain_resource(request, await _domain(conn, account_sid, sid)))


@router.delete(f"{ROOT}/Domains/{{sid}}", status_code=204, **declared.delete_domain)
async def delete_domain(sid: str, request: Request) -> Response:
    rt, account_sid = await account_of(request)
    async with rt.db.write() as conn:
        await _domain(conn, account_sid, sid)
        await conn.execute(
            delete(lt.link_certificates).where(lt.link_certificates.c.domain_sid == sid)
        )
        await conn.execute(
            delete(lt.link_domain_services).where(lt.link_domain_services.c.domain_sid == sid)
        )
        await conn.execute(delete(lt.link_domains).where(lt.link_domains.c.sid == sid))
    rt.links.invalidate(account_sid)
    return Response(status_code=204)


@router.get(f"{ROOT}/Domains/{{sid}}/ValidateDns", **declared.validate_dns)
async def validate_dns(sid: str, request: Request) -> JSONResponse:
    """Verified when the name resolves (pointing it at the redirect server is the owner's
    part); uploading a matching certificate verifies a domain too."""
    rt, account_sid = await account_of(request)
    async with rt.db.read() as conn:
        row = await _domain(conn, account_sid, sid)
    reason = ""
    try:
        await asyncio.wait_for(
            asyncio.to_thread(socket.getaddrinfo, row["domain_name"], 443), DNS_TIMEOUT
        )
        valid = True
    except (OSError, TimeoutError) as exc:
        valid, reason = False, f"{row['domain_name']} does not resolve: {exc}"
    if valid and not row["verified"]:
        await _mark_verified(rt, sid)
        rt.links.invalidate(account_sid)
    return JSONResponse(
        {
            "domain_sid": sid,
            "is_valid": valid,
            "reason": reason,
            "url": f"{base_url(request)}{ROOT}/Domains/{sid}/ValidateDns",
        }
    )


async def _mark_verified(rt: Runtime, sid: str) -> None:
    async with rt.db.write() as conn:
        await conn.execute(
            update(lt.link_domains)
            .where(lt.link_domains.c.sid == sid)
            .values(verified=True, date_updated=rt.clock.now())
        )


# --- config and services ---------------------------------------------------------------


@router.get(f"{ROOT}/Domains/{{sid}}/Config", **declared.fetch_config)
async def fetch_config(sid: str, request: Request) -> JSONResponse:
    rt, account_sid = await account_of(request)
    async with rt.db.read() as conn:
        row = await _domain(conn, account_sid, sid)
        services = await _service_sids(conn, sid)
    return JSONResponse(config_resource(request, row, services))


@router.post(f"{ROOT}/Domains/{{sid}}/Config", **declared.update_config)
async def update_config(sid: str, request: Request) -> JSONResponse:
    """Twilio's config fields plus ``MessagingServiceSids`` (repeated or comma-separated)
    with ``MessagingServiceSidsAction`` ``add`` (default) / ``delete`` / ``replace``."""
    rt, account_sid = await account_of(request)
    params = await read_params(request)
    values = _config_values(params)
    raw_sids = [s.strip() for v in params.get_list("MessagingServiceSids") for s in v.split(",")]
    sids = [s for s in raw_sids if s]
    action = params.choice("MessagingServiceSidsAction", SERVICE_ACTIONS) or "add"
    if "MessagingServiceSidsAction" in params and not sids and action != "replace":
        raise invalid("MessagingServiceSids", f"required with MessagingServiceSidsAction={action}")
    now = rt.clock.now()
    async with rt.db.write() as conn:
        row = await _domain(conn, account_sid, sid)
        for service_sid in sids:
            await _check_service(conn, account_sid, service_sid)
        if sids or action == "replace":
            await _change_services(conn, row, sids, action, account_sid, now)
        if values:
            values["date_updated"] = now
            await conn.execute(
                update(lt.link_domains).where(lt.link_domains.c.sid == sid).values(**values)
            )
            row.update(values)
        services = await _service_sids(conn, sid)
    rt.links.invalidate(account_sid)
    return JSONResponse(config_resource(request, row, services))


async def _change_services(
    conn: AsyncConnection,
    domain: dict[str, Any],
    sids: list[str],
    action: str,
    account_sid: str,
    now: Any,
) -> None:
    ds = lt.link_domain_services
    if action == "delete":
        await conn.execute(
            delete(ds).where(ds.c.domain_sid == domain["sid"], ds.c.service_sid.in_(sids))
        )
        return
    _require_verified(domain)
    if action == "replace":
        await conn.execute(delete(ds).where(ds.c.domain_sid == domain["sid"]))
    # A service shortens on one domain: adding it here moves it from any other.
    await conn.execute(delete(ds).where(ds.c.service_sid.in_(sids)))
    if sids:
        await conn.execute(
            insert(ds),
            [
                {
                    "service_sid": s,
                    "domain_sid": domain["sid"],
                    "account_sid": account_sid,
                    "date_created": now,
                }
                for s in dict.fromkeys(sids)
            ],
        )


def _require_verified(domain: dict[str, Any]) -> None:
    if not domain["verified"]:
        raise TextwireError(
            20001,
            f"Domain {domain['domain_name']} is not verified: upload its certificate or "
            "call ValidateDns first",
        )


def _association(request: Request, domain_sid: str, service_sid: str) -> dict[str, Any]:
    return {
        "domain_sid": domain_sid,
        "messaging_service_sid": service_sid,
        "url": f"{base_url(request)}{ROOT}/Domains/{domain_sid}/MessagingServices/{service_sid}",
    }


@router.post(
    f"{ROOT}/Domains/{{sid}}/MessagingServices/{{service}}", status_code=201, **declared.add_service
)
async def add_service(sid: str, service: str, request: Request) -> JSONResponse:
    rt, account_sid = await account_of(request)
    async with rt.db.write() as conn:
        row = await _domain(conn, account_sid, sid)
        await _check_service(conn, account_sid, service)
        await _change_services(conn, row, [service], "add", account_sid, rt.clock.now())
    rt.links.invalidate(account_sid)
    return JSONResponse(_association(request, sid, service), status_code=201)


@router.delete(
    f"{ROOT}/Domains/{{sid}}/MessagingServices/{{service}}",
    status_code=204,
    **declared.remove_service,
)
async def remove_service(sid: str, service: str, request: Request) -> Response:
    rt, account_sid = await account_of(request)
    ds = lt.link_domain_services
    async with rt.db.write() as conn:
        await _domain(conn, account_sid, sid)
        await _check_service(conn, account_sid, service)
        result = await conn.execute(
            delete(ds).where(ds.c.domain_sid == sid, ds.c.service_sid == service)
        )
        if not result.rowcount:
            raise not_found("Domain association", f"{sid}/{service}")
    rt.links.invalidate(account_sid)
    return Response(status_code=204)


async def _service_domain(conn: AsyncConnection, account_sid: str, service: str) -> dict[str, Any]:
    await _check_service(conn, account_sid, service)
    ds = lt.link_domain_services
    domain_sid = await conn.scalar(select(ds.c.domain_sid).where(ds.c.service_sid == service))
    if domain_sid is None:
        raise TextwireError(20404, f"Messaging service {service} has no link domain")
    return await _domain(conn, account_sid, domain_sid)


@router.get(f"{ROOT}/MessagingServices/{{service}}/Domain", **declared.service_domain)
async def service_domain(service: str, request: Request) -> JSONResponse:
    rt, account_sid = await account_of(request)
    async with rt.db.read() as conn:
        row = await _service_domain(conn, account_sid, service)
    return JSONResponse(_association(request, row["sid"], service))


@router.get(f"{ROOT}/MessagingService/{{service}}/DomainConfig", **declared.service_domain_config)
async def service_domain_config(service: str, request: Request) -> JSONResponse:
    rt, account_sid = await account_of(request)
    async with rt.db.read() as conn:
        row = await _service_domain(conn, account_sid, service)
        services = await _service_sids(conn, row["sid"])
    return JSONResponse(
        {**config_resource(request, row, services), "messaging_service_sid": service}
    )


# --- per-service link settings ---------------------------------------------------------


def _settings_resource(request: Request, service: str, row: Any) -> dict[str, Any]:
    return {
        "messaging_service_sid": service,
        "link_mode": row["link_mode"] if row else "off",
        "link_prefix": row["link_prefix"] if row else None,
        "drop_scheme": bool(row["drop_scheme"]) if row else False,
        "url": f"{base_url(request)}{ROOT}/MessagingServices/{service}/Settings",
    }


@router.get(f"{ROOT}/MessagingServices/{{service}}/Settings", **declared.fetch_service_settings)
async def fetch_service_settings(service: str, request: Request) -> JSONResponse:
    rt, account_sid = await account_of(request)
    s = lt.link_service_settings
    async with rt.db.read() as conn:
        await _check_service(conn, account_sid, service)
        row = (await conn.execute(select(s).where(s.c.service_sid == service))).mappings().first()
    return JSONResponse(_settings_resource(request, service, row))


@router.post(f"{ROOT}/MessagingServices/{{service}}/Settings", **declared.update_service_settings)
async def update_service_settings(service: str, request: Request) -> JSONResponse:
    """``LinkMode`` off|all|marked|last, ``LinkPrefix`` (one word or empty), ``DropScheme``."""
    rt, account_sid = await account_of(request)
    params = await read_params(request)
    values: dict[str, Any] = {}
    mode = params.choice("LinkMode", LINK_MODES)
    if mode is not None:
        values["link_mode"] = mode
    if "LinkPrefix" in params:
        try:
            values["link_prefix"] = normalize_prefix(params.get("LinkPrefix") or "")
        except DomainInputError as exc:
            raise _bad(exc) from None
    drop = params.bool("DropScheme")
    if drop is not None:
        values["drop_scheme"] = drop
    s = lt.link_service_settings
    now = rt.clock.now()
    async with rt.db.write() as conn:
        await _check_service(conn, account_sid, service)
        current = (
            (await conn.execute(select(s).where(s.c.service_sid == service))).mappings().first()
        )
        if current is None:
            row = {
                "service_sid": service,
                "account_sid": account_sid,
                "link_mode": "off",
                "link_prefix": None,
                "drop_scheme": False,
                **values,
                "date_updated": now,
            }
            await conn.execute(insert(s).values(**row))
        else:
            row = {**current, **values, "date_updated": now}
            await conn.execute(update(s).where(s.c.service_sid == service).values(**row))
    rt.links.invalidate(account_sid)
    return JSONResponse(_settings_resource(request, service, row))


# --- certificates ----------------------------------------------------------------------


def cert_resource(
    request: Request, rt: Runtime, domain: dict[str, Any], row: Any
) -> dict[str, Any]:
    expires = row["date_expires"]
    warn_at = expires - timedelta(days=rt.settings.cert_expiry_warning_days)
    soon = rt.clock.now() >= warn_at
    return {
        "domain_sid": domain["sid"],
        "certificate_sid": row["certificate_sid"],
        "domain_name": domain["domain_name"],
        "subject_names": row["subject_names"].split(","),
        "date_created": iso8601(row["date_created"]),
        "date_updated": iso8601(row["date_updated"]),
        "date_expires": iso8601(expires),
        "expires_soon": soon,
        "warning": (
            f"the certificate for {domain['domain_name']} expires on {iso8601(expires)}"
            if soon
            else None
        ),
        "cert_in_validation": None,
        "url": f"{base_url(request)}{ROOT}/Domains/{domain['sid']}/Certificate",
    }


@router.post(f"{ROOT}/Domains/{{sid}}/Certificate", **declared.upload_certificate)
async def upload_certificate(sid: str, request: Request) -> JSONResponse:
    """``TlsCert``: PEM certificate (chain) and PKCS#8 key; or the key in ``PrivateKey``."""
    rt, account_sid = await account_of(request)
    params = await read_params(request)
    cert_text = params.get("TlsCert")
    if not cert_text:
        raise invalid("TlsCert", "is required: the PEM certificate and PKCS#8 private key")
    now = rt.clock.now()
    c = lt.link_certificates
    async with rt.db.write() as conn:
        domain = await _domain(conn, account_sid, sid)
        try:
            checked = check_certificate(
                cert_text, params.get("PrivateKey"), domain["domain_name"], now
            )
        except DomainInputError as exc:
            raise _bad(exc) from None
        existing = await conn.scalar(select(c.c.date_created).where(c.c.domain_sid == sid))
        row = {
            "domain_sid": sid,
            "certificate_sid": new_sid("CR"),
            "cert_pem": checked.cert_pem,
            "key_enc": rt.box.encrypt(checked.key_pem),
            "subject_names": ",".join(checked.names),
            "date_expires": checked.not_after,
            "date_created": existing or now,
            "date_updated": now,
        }
        await conn.execute(delete(c).where(c.c.domain_sid == sid))
        await conn.execute(insert(c).values(**row))
        await conn.execute(
            update(lt.link_domains)
            .where(lt.link_domains.c.sid == sid)
            .values(verified=True, date_updated=now)
        )
    rt.links.invalidate(account_sid)
    return JSONResponse(
        cert_resource(request, rt, domain, row), status_code=201 if not existing else 200
    )


@router.get(f"{ROOT}/Domains/{{sid}}/Certificate", **declared.fetch_certificate)
async def fetch_certificate(sid: str, request: Request) -> JSONResponse:
    rt, account_sid = await account_of(request)
    c = lt.link_certificates
    async with rt.db.read() as conn:
        domain = await _domain(conn, account_sid, sid)
        row = (await conn.execute(select(c).where(c.c.domain_sid == sid))).mappings().first()
    if row is None:
        raise not_found("Certificate of domain", sid)
    body = cert_resource(request, rt, domain, row)
    if body["expires_soon"]:
        log.warning("link domain certificate expires soon", extra={"domain": domain["domain_name"]})
    return JSONResponse(body)


@router.delete(
    f"{ROOT}/Domains/{{sid}}/Certificate", status_code=204, **declared.delete_certificate
)
async def delete_certificate(sid: str, request: Request) -> Response:
    rt, account_sid = await account_of(request)
    c = lt.link_certificates
    async with rt.db.write() as conn:
        await _domain(conn, account_sid, sid)
        result = await conn.execute(delete(c).where(c.c.domain_sid == sid))
        if not result.rowcount:
            raise not_found("Certificate of domain", sid)
    return Response(status_code=204)


# --- analytics -------------------------------------------------------------------------

SCOPES: Final = {
    "Links": "slug",
    "Messages": "message_sid",
    "Recipients": "to",
    "Services": "service_sid",
    "Campaigns": "campaign_sid",
}


def _include_bots(params: Params) -> bool:
    return bool(params.bool("IncludeBots"))


@router.get(f"{ROOT}/Analytics", **declared.account_analytics)
async def account_analytics(request: Request) -> JSONResponse:
    rt, account_sid = await account_of(request)
    params = await read_params(request)
    body = await analytics.stats(
        rt.db, analytics.Scope(account_sid), include_bots=_include_bots(params)
    )
    return JSONResponse({"account_sid": account_sid, **body})


@router.get(f"{ROOT}/Analytics/{{kind}}/{{value}}", **declared.scoped_analytics)
async def scoped_analytics(kind: str, value: str, request: Request) -> JSONResponse:
    rt, account_sid = await account_of(request)
    params = await read_params(request)
    field = SCOPES.get(kind)
    if field is None:
        raise TextwireError(20404, f"Unknown analytics scope {kind}: use {', '.join(SCOPES)}")
    scope = analytics.Scope(account_sid, **{field: value})
    body = await analytics.stats(rt.db, scope, include_bots=_include_bots(params))
    return JSONResponse({"account_sid": account_sid, "scope": kind, "id": value, **body})


CLICK_FILTERS: Final = (
    "Slug",
    "MessageSid",
    "To",
    "MessagingServiceSid",
    "CampaignSid",
    "IncludeBots",
)


@router.get(f"{ROOT}/Clicks", **declared.list_clicks)
async def list_clicks(request: Request) -> JSONResponse:
    """Individual clicks, oldest first; filter by ``Slug``, ``MessageSid``, ``To``,
    ``MessagingServiceSid``, ``CampaignSid``; ``IncludeBots=true`` to see bots too."""
    rt, account_sid = await account_of(request)
    params = await read_params(request)
    page, size = page_args(params)
    scope = analytics.Scope(
        account_sid,
        slug=params.get("Slug"),
        message_sid=params.get("MessageSid"),
        to=params.get("To"),
        service_sid=params.get("MessagingServiceSid"),
        campaign_sid=params.get("CampaignSid"),
    )
    items, more = await analytics.clicks(
        rt.db, scope, include_bots=_include_bots(params), page=page, size=size
    )
    body = v1_page(request, "clicks", f"{ROOT}/Clicks", items, page, size, more)
    kept = urlencode([(k, v) for k in CLICK_FILTERS if (v := params.get(k)) is not None])
    if kept:  # page links keep the filters
        meta = body["meta"]
        for name in ("first_page_url", "previous_page_url", "next_page_url", "url"):
            if meta[name]:
                meta[name] = meta[name].replace("?", f"?{kept}&", 1)
    return JSONResponse(body)
