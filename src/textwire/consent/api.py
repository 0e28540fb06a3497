"""Consent routes: ``/v1/Contacts``, identify events, the opt-in/opt-out API, subscriber syncs,
per-service keywords, consent settings and refusals (F-CONSENT 1-6).
"""

from __future__ import annotations

import tempfile
from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import ClientDisconnect

from textwire import jsonsafe
from textwire.api.auth import authenticate
from textwire.api.common import account_of, base_url, list_page, page_args, runtime, v1_page
from textwire.api.params import Params, query_params, read_body, read_params
from textwire.consent import contacts, declared
from textwire.consent import tables as ct
from textwire.consent.identifiers import Identifier, IdentifierError, parse_identifier
from textwire.consent.keywords import KeywordConfig, KeywordConfigError
from textwire.consent.state import ACCOUNT_SCOPE, record, scopes_for
from textwire.consent.sync import SyncRequest, run_resource, sync_subscribers
from textwire.contacts import store as contact_store
from textwire.contacts.fields import FieldError, apply_changes
from textwire.contacts.language import LanguageError, normalize_language
from textwire.contacts.timezones import TimeZoneError, check_time_zone
from textwire.errors import TextwireError, invalid, not_found
from textwire.runtime import Runtime

router = APIRouter()
MAX_UPLOAD_BYTES = 1 << 30  # 10 million E.164 rows are ~130 MB
PARAM_TYPES = {"PhoneNumber": "phoneNumber", "Email": "email", "CustomId": "custom"}


# -- helpers -------------------------------------------------------------------------------


def _identifiers(params: Params) -> list[Identifier]:
    found: list[Identifier] = []
    for key, type_ in PARAM_TYPES.items():
        for value in params.get_list(key):
            try:
                found.append(parse_identifier(type_, value, field=key))
            except IdentifierError as exc:
                raise invalid(key, exc.rule) from None
    return list(dict.fromkeys(found))


async def _service_scope(rt: Runtime, account_sid: str, sid: str | None, field: str) -> str:
    if not sid:
        return ACCOUNT_SCOPE
    snap = await rt.directory.account(account_sid)
    if sid not in snap.services:
        raise TextwireError(
            21701, f"Invalid parameter '{field}': service {sid} does not exist in this account"
        )
    return sid


async def _contact(conn: AsyncConnection, request: Request, account: str, sid: str) -> Any:
    body = await contacts.contact_resource(conn, account, sid, base_url(request))
    if body is None:
        raise not_found("Contact", sid)
    return body


async def _claim(conn: AsyncConnection, account: str, idents: list[Identifier], sid: str) -> None:
    """Refuse (409) identifiers owned by another contact; naming the parameter."""
    names = {v: k for k, v in PARAM_TYPES.items()}
    for ident in idents:
        owner = await contacts.find_contact(conn, account, ident)
        if owner is not None and owner != sid:
            raise TextwireError(
                20409,
                f"Invalid parameter '{names[ident.type]}': {ident.value} already identifies "
                f"contact {owner} (send an identify event to merge them)",
            )


class _ContactChanges:
    """What a create or update sets beyond identifiers (F-CONTACT-1), checked before any
    write: ``Fields`` (a JSON object, or ``Fields.<key>`` parameters), ``TimeZone`` and
    ``Language`` (an empty value clears them: the zone is inferred again)."""

    def __init__(self, params: Params) -> None:
        self.fields: dict[str, object] = {}
        document = params.object("Fields")
        for key, value in (document or {}).items():
            if isinstance(value, dict | list):
                raise invalid(f"Fields.{key}", "must be a string, number, boolean or null")
            self.fields[key] = value
        names = params.keys()
        for name in names:
            if name.startswith("Fields."):
                self.fields[name.removeprefix("Fields.")] = params.get(name)
        self.time_zone = params.get("TimeZone")
        if self.time_zone:
            try:
                self.time_zone = check_time_zone(self.time_zone)
            except TimeZoneError as exc:
                raise invalid(exc.field, exc.rule) from None
        self.language = params.get("Language")
        if self.language:
            try:
                self.language = normalize_language(self.language)
            except LanguageError as exc:
                raise invalid(exc.field, exc.rule) from None

    async def attributes(
        self, conn: AsyncConnection, account: str, current: dict[str, Any] | None
    ) -> dict[str, Any] | None:
        """The contact's attributes with the field changes applied; 400 naming the field."""
        if not self.fields:
            return current
        declared = await contact_store.declared_types(conn, account)
        try:
            return apply_changes(declared, current, self.fields) or None
        except FieldError as exc:
            raise invalid(exc.field, exc.rule) from None

    def own_values(self) -> dict[str, Any]:
        return {} if self.language is None else {"language": self.language or None}

    async def settle_time_zone(self, conn: AsyncConnection, account: str, sid: str) -> None:
        await contact_store.settle_time_zone(
            conn,
            account,
            sid,
            explicit=self.time_zone or None,
            clear_explicit=self.time_zone == "",
        )


# -- contacts ------------------------------------------------------------------------------


@router.post("/v1/Contacts", status_code=201, **declared.create_contact)
async def create_contact(request: Request) -> JSONResponse:
    rt, account = await account_of(request)
    params = await read_params(request)
    idents = _identifiers(params)
    name = params.get("FriendlyName")
    if name is not None and len(name) > 64:
        raise invalid("FriendlyName", "at most 64 characters")
    changes = _ContactChanges(params)
    now = rt.clock.now()
    async with rt.db.write() as conn:
        await _claim(conn, account, idents, "")
        attributes = await changes.attributes(conn, account, None)
        sid = await contacts.create_contact(
            conn, account, now, friendly_name=name or None, attributes=attributes
        )
        await contacts.attach(conn, account, sid, idents, now)
        if changes.own_values():
            c = ct.contacts
            await conn.execute(update(c).where(c.c.sid == sid).values(**changes.own_values()))
        await changes.settle_time_zone(conn, account, sid)
        body = await _contact(conn, request, account, sid)
    return JSONResponse(body, status_code=201)


@router.get("/v1/Contacts", **declared.list_contacts)
async def list_contacts(request: Request) -> JSONResponse:
    """All contacts, or those with a ``PhoneNumber``, ``Email`` (plain or hashed), ``CustomId``."""
    rt, account = await account_of(request)
    params = await read_params(request)
    idents = _identifiers(params)
    page, size = page_args(params)
    c, ci = ct.contacts, ct.contact_identifiers
    query = select(c.c.sid).where(c.c.account_sid == account)
    for ident in idents:
        query = query.where(
            c.c.sid.in_(
                select(ci.c.contact_sid).where(
                    ci.c.account_sid == account, ci.c.type == ident.type, ci.c.value == ident.value
                )
            )
        )
    query = query.order_by(c.c.date_created, c.c.sid).offset(page * size).limit(size + 1)
    async with rt.db.read() as conn:
        sids = list(await conn.scalars(query))
        items = [await _contact(conn, request, account, s) for s in sids[:size]]
    return JSONResponse(
        v1_page(request, "contacts", "/v1/Contacts", items, page, size, len(sids) > size)
    )


@router.post("/v1/Contacts/Events", **declared.identify_event)
async def identify_event(request: Request) -> JSONResponse:
    """An identify event (login, signup, newsletter, identify): identifiers into one contact."""
    rt, account = await account_of(request)
    params = await read_params(request)
    kind = params.get("Event")
    if kind not in contacts.EVENT_TYPES:
        raise invalid("Event", f"must be one of {', '.join(contacts.EVENT_TYPES)}")
    idents = _identifiers(params)
    if not idents:
        raise invalid("PhoneNumber", "an event needs at least one PhoneNumber, Email or CustomId")
    async with rt.db.write() as conn:
        sid, merged = await contacts.identify(conn, account, idents, rt.clock.now())
        await contact_store.settle_time_zone(conn, account, sid)  # a new number may say more
        body = await _contact(conn, request, account, sid)
    return JSONResponse({**body, "event": kind, "merged_contact_sids": merged})


@router.get("/v1/Contacts/{sid}", **declared.fetch_contact)
async def fetch_contact(sid: str, request: Request) -> JSONResponse:
    rt, account = await account_of(request)
    async with rt.db.read() as conn:
        return JSONResponse(await _contact(conn, request, account, sid))


@router.post("/v1/Contacts/{sid}", **declared.update_contact)
async def update_contact(sid: str, request: Request) -> JSONResponse:
    """Set ``FriendlyName``, ``Fields``, ``TimeZone``, ``Language``; add identifiers."""
    rt, account = await account_of(request)
    params = await read_params(request)
    idents = _identifiers(params)
    changes = _ContactChanges(params)
    now = rt.clock.now()
    c = ct.contacts
    async with rt.db.write() as conn:
        current = await _contact(conn, request, account, sid)
        await _claim(conn, account, idents, sid)
        if changes.fields:
            attributes = await changes.attributes(conn, account, current["attributes"])
            await conn.execute(update(c).where(c.c.sid == sid).values(attributes=attributes))
        new = [i for i in idents if await contacts.find_contact(conn, account, i) is None]
        await contacts.attach(conn, account, sid, new, now)
        values: dict[str, Any] = {"date_updated": now}
        name = params.get("FriendlyName")
        if name is not None:
            if len(name) > 64:
                raise invalid("FriendlyName", "at most 64 characters")
            values["friendly_name"] = name or None
        await conn.execute(update(c).where(c.c.sid == sid).values(**values, **changes.own_values()))
        await changes.settle_time_zone(conn, account, sid)
        body = await _contact(conn, request, account, sid)
    return JSONResponse(body)


@router.delete("/v1/Contacts/{sid}", status_code=204, **declared.delete_contact)
async def delete_contact(sid: str, request: Request) -> Response:
    """Deletes the contact and its identifiers; consent records of its numbers are kept."""
    rt, account = await account_of(request)
    async with rt.db.write() as conn:
        await _contact(conn, request, account, sid)
        ci = ct.contact_identifiers
        await conn.execute(delete(ci).where(ci.c.account_sid == account, ci.c.contact_sid == sid))
        await conn.execute(delete(ct.contacts).where(ct.contacts.c.sid == sid))
    return Response(status_code=204)


# -- opt-in / opt-out ----------------------------------------------------------------------


async def _v2_account(rt: Runtime, request: Request) -> str:
    """``dy-api-key: SK…:secret`` (an API key, or ``AC…:token``), else HTTP Basic."""
    key = request.headers.get("dy-api-key")
    if key is None:
        return await authenticate(rt, request)
    username, sep, secret = key.strip().partition(":")
    account = await rt.auth.authenticate(username, secret) if sep else None
    if account is None:
        raise TextwireError(
            20003,
            "Authentication Error - the dy-api-key header must be an API key as "
            "'SK…:secret' (or 'AC…:auth token')",
            status=401,
        )
    return account


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        data = jsonsafe.loads(raw)
    except jsonsafe.JSONInputError as exc:
        raise invalid(exc.field(""), exc.rule) from None
    if not isinstance(data, dict):
        raise invalid("body", "must be a JSON object")
    return data


async def _consent_change(
    request: Request, status: Literal["subscribed", "unsubscribed"]
) -> JSONResponse:
    rt = runtime(request)
    account = await _v2_account(rt, request)
    data = _json_object(await read_body(request))
    ident_data = data.get("identifier")
    if not isinstance(ident_data, dict):
        raise invalid("identifier", 'must be an object {"type": …, "value": …}')
    try:
        ident = parse_identifier(ident_data.get("type"), ident_data.get("value"))
    except IdentifierError as exc:
        raise invalid(exc.field, exc.rule) from None
    service = data.get("messagingServiceSid")
    if service is not None and not isinstance(service, str):
        raise invalid("messagingServiceSid", "must be a string")
    scope = await _service_scope(rt, account, service, "messagingServiceSid")
    now = rt.clock.now()
    async with rt.db.write() as conn:
        sid = await contacts.find_contact(conn, account, ident)
        if sid is None and ident.type == "phoneNumber":
            sid, _ = await contacts.identify(conn, account, [ident], now)
        if sid is None:
            raise TextwireError(
                20404,
                f"Invalid parameter 'identifier.value': no contact has this {ident.type}; "
                "link it to a phone number with an identify event (POST /v1/Contacts/Events)",
            )
        ci = ct.contact_identifiers
        phones = list(
            await conn.scalars(
                select(ci.c.value)
                .where(
                    ci.c.account_sid == account,
                    ci.c.contact_sid == sid,
                    ci.c.type == "phoneNumber",
                )
                .order_by(ci.c.value)
            )
        )
        if not phones:
            raise TextwireError(
                20404,
                f"Invalid parameter 'identifier.value': contact {sid} has no phone number "
                "to record SMS consent for",
            )
        await record(conn, account, phones, scope, status, "api", now)
    rt.consent.invalidate(account)
    return JSONResponse(
        {
            "identifier": {"type": ident.type, "value": ident.value},
            "channel": "sms",
            "status": status,
            "contact_sid": sid,
            "phone_numbers": phones,
            "messaging_service_sid": scope or None,
            "date_updated": now.isoformat(),
        }
    )


@router.post("/v2/userdata/channels/sms/opt-in", **declared.consent_change)
async def opt_in(request: Request) -> JSONResponse:
    return await _consent_change(request, "subscribed")


@router.post("/v2/userdata/channels/sms/opt-out", **declared.consent_change)
async def opt_out(request: Request) -> JSONResponse:
    return await _consent_change(request, "unsubscribed")


# -- subscriber syncs ----------------------------------------------------------------------


async def spool_upload(request: Request) -> Any:
    """The request body in an anonymous temp file; refuses oversize and truncated uploads."""
    declared = request.headers.get("content-length")
    expected = int(declared) if declared and declared.isdigit() else None
    if expected is not None and expected > MAX_UPLOAD_BYTES:
        raise TextwireError(20413, f"Upload is larger than {MAX_UPLOAD_BYTES} bytes")
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the caller, closed there
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_UPLOAD_BYTES:
                raise TextwireError(20413, f"Upload is larger than {MAX_UPLOAD_BYTES} bytes")
            spool.write(chunk)
    except ClientDisconnect:
        spool.close()
        raise TextwireError(
            20001, f"Upload truncated: the client went away after {size} bytes"
        ) from None
    except BaseException:
        spool.close()
        raise
    if expected is not None and size != expected:
        spool.close()
        raise TextwireError(
            20001, f"Upload truncated: {size} of {expected} bytes arrived; nothing was changed"
        )
    spool.seek(0)
    return spool


@router.post("/v1/Subscribers/Syncs", **declared.create_sync)
async def create_sync(request: Request) -> JSONResponse:
    """Upload a subscriber CSV as the request body (``text/csv``); replaces the subscribed set.

    Query parameters: ``MessagingServiceSid`` (scope), ``Strict=true``. Answers 201 with the
    applied run, or 422 with the failed run (refused file, or invalid rows under Strict).
    """
    rt, account = await account_of(request)
    query = query_params(request)
    scope = await _service_scope(
        rt, account, query.get("MessagingServiceSid"), "MessagingServiceSid"
    )
    strict = bool(query.bool("Strict"))
    spool = await spool_upload(request)
    try:
        req = SyncRequest(account, scope, strict=strict, filename=query.get("FileName"))
        run, _report = await sync_subscribers(rt.db, rt.clock, req, spool)
    finally:
        spool.close()
    rt.consent.invalidate(account)
    async with rt.db.read() as conn:
        row = (await conn.execute(select(ct.sync_runs).where(ct.sync_runs.c.sid == run))).one()
    body = run_resource(row, base_url(request))
    return JSONResponse(body, status_code=201 if row.status == "applied" else 422)


@router.get("/v1/Subscribers/Syncs", **declared.list_syncs)
async def list_syncs(request: Request) -> JSONResponse:
    rt, account = await account_of(request)
    params = await read_params(request)
    page, size = page_args(params)
    runs = ct.sync_runs
    async with rt.db.read() as conn:
        rows = (
            await conn.execute(
                select(runs)
                .where(runs.c.account_sid == account)
                .order_by(runs.c.date_created.desc(), runs.c.sid)
                .offset(page * size)
                .limit(size + 1)
            )
        ).all()
    items = [run_resource(r, base_url(request)) for r in rows[:size]]
    return JSONResponse(
        v1_page(request, "syncs", "/v1/Subscribers/Syncs", items, page, size, len(rows) > size)
    )


@router.get("/v1/Subscribers/Syncs/{sid}", **declared.fetch_sync)
async def fetch_sync(sid: str, request: Request) -> JSONResponse:
    rt, account = await account_of(request)
    runs = ct.sync_runs
    async with rt.db.read() as conn:
        row = (
            await conn.execute(select(runs).where(runs.c.sid == sid, runs.c.account_sid == account))
        ).first()
    if row is None:
        raise not_found("Subscriber sync", sid)
    return JSONResponse(run_resource(row, base_url(request)))


# -- keywords, settings, refusals ----------------------------------------------------------


async def _settings_row(conn: AsyncConnection, account: str, scope: str) -> Any:
    st = ct.consent_settings
    return (
        await conn.execute(select(st).where(st.c.account_sid == account, st.c.scope == scope))
    ).first()


async def _save_settings(
    conn: AsyncConnection, rt: Runtime, account: str, scope: str, **values: Any
) -> None:
    st = ct.consent_settings
    now = rt.clock.now()
    if await _settings_row(conn, account, scope) is None:
        base = {"require_opt_in": None, "keywords": None}
        await conn.execute(
            st.insert().values(
                account_sid=account, scope=scope, date_updated=now, **(base | values)
            )
        )
    else:
        await conn.execute(
            update(st)
            .where(st.c.account_sid == account, st.c.scope == scope)
            .values(date_updated=now, **values)
        )


def _keywords_body(service: str, config: KeywordConfig, custom: bool) -> dict[str, Any]:
    return {"messaging_service_sid": service, "customized": custom, "keywords": config.to_dict()}


@router.get("/v1/Services/{service}/Keywords", **declared.get_keywords)
async def get_keywords(service: str, request: Request) -> JSONResponse:
    rt, account = await account_of(request)
    await _service_scope(rt, account, service, "MessagingServiceSid")
    async with rt.db.read() as conn:
        row = await _settings_row(conn, account, service)
    stored = row.keywords if row is not None else None
    config = KeywordConfig.from_dict(stored) if stored is not None else KeywordConfig()
    return JSONResponse(_keywords_body(service, config, stored is not None))


@router.post("/v1/Services/{service}/Keywords", **declared.set_keywords)
async def set_keywords(service: str, request: Request) -> JSONResponse:
    """Replace the service's keywords: a JSON body shaped like ``GET``'s ``keywords``."""
    rt, account = await account_of(request)
    await _service_scope(rt, account, service, "MessagingServiceSid")
    data = _json_object(await read_body(request))
    try:
        config = KeywordConfig.from_dict(data)
    except KeywordConfigError as exc:
        raise invalid(exc.field, exc.rule) from None
    async with rt.db.write() as conn:
        await _save_settings(conn, rt, account, service, keywords=config.to_dict())
    rt.consent.invalidate(account)
    return JSONResponse(_keywords_body(service, config, True))


@router.delete("/v1/Services/{service}/Keywords", status_code=204, **declared.reset_keywords)
async def reset_keywords(service: str, request: Request) -> Response:
    rt, account = await account_of(request)
    await _service_scope(rt, account, service, "MessagingServiceSid")
    async with rt.db.write() as conn:
        await _save_settings(conn, rt, account, service, keywords=None)
    rt.consent.invalidate(account)
    return Response(status_code=204)


async def _settings_body(rt: Runtime, account: str, scope: str, row: Any) -> dict[str, Any]:
    """The scope's stored setting and, worked out as a send's check does, the rule in effect:
    a first subscriber sync switches require-opt-in on without a stored setting."""
    rt.consent.invalidate(account)  # the rule as of now, not as of the cache's last load
    snap = await rt.consent.account(account)
    required, source = snap.opt_in_rule(scopes_for(scope or None))
    return {
        "account_sid": account,
        "messaging_service_sid": scope or None,
        "require_opt_in": required,
        "require_opt_in_source": source,
        "require_opt_in_setting": row.require_opt_in if row is not None else None,
    }


@router.get("/v1/Consent/Settings", **declared.get_settings)
async def get_settings(request: Request) -> JSONResponse:
    rt, account = await account_of(request)
    params = await read_params(request)
    scope = await _service_scope(
        rt, account, params.get("MessagingServiceSid"), "MessagingServiceSid"
    )
    async with rt.db.read() as conn:
        row = await _settings_row(conn, account, scope)
    return JSONResponse(await _settings_body(rt, account, scope, row))


@router.post("/v1/Consent/Settings", **declared.set_settings)
async def set_settings(request: Request) -> JSONResponse:
    """``RequireOptIn=true|false`` (or empty: back to the default) for the account or a service."""
    rt, account = await account_of(request)
    params = await read_params(request)
    scope = await _service_scope(
        rt, account, params.get("MessagingServiceSid"), "MessagingServiceSid"
    )
    if "RequireOptIn" not in params:
        raise invalid("RequireOptIn", "is required: true, false, or empty for the default")
    require = None if params.is_blank("RequireOptIn") else params.bool("RequireOptIn")
    async with rt.db.write() as conn:
        await _save_settings(conn, rt, account, scope, require_opt_in=require)
        row = await _settings_row(conn, account, scope)
    return JSONResponse(await _settings_body(rt, account, scope, row))


@router.get("/v1/Consent/Refusals", **declared.list_refusals)
async def list_refusals(request: Request) -> JSONResponse:
    """Sends the consent check refused with 21610, newest first (``To`` filters)."""
    rt, account = await account_of(request)
    params = await read_params(request)
    r = ct.consent_refusals
    to = params.get("To")
    return await list_page(
        rt,
        request,
        params,
        table=r,
        account_sid=account,
        key="refusals",
        path="/v1/Consent/Refusals",
        to_resource=lambda row: {
            "to": row["to_addr"],
            "messaging_service_sid": row["service_sid"],
            "reason": row["reason"],
            "transactional": row["transactional"],
            "error_code": 21610,
            "date_created": row["date_created"].isoformat(),
        },
        filters=[r.c.to_addr == to] if to else [],
        order_by=[r.c.id.desc()],
    )
