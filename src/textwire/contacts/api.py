"""Contact routes (F-CONTACT-1/2): ``/v1/ContactFields``, ``/v1/Contacts/Settings``,
``/v1/Contacts/Imports`` and ``/v1/Contacts.csv``. Contacts themselves (create, update with
``Fields``, ``TimeZone``, ``Language``) are served by ``consent/api.py``.

This router is included before the consent one, so ``/v1/Contacts/Imports`` and
``/v1/Contacts/Settings`` are not read as a contact SID.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy import RowMapping, select
from sqlalchemy.exc import IntegrityError

from textwire.api.common import account_of, base_url, list_page
from textwire.api.params import query_params, read_params
from textwire.consent.api import spool_upload
from textwire.contacts import declared, store
from textwire.contacts import tables as kt
from textwire.contacts.export import export_csv
from textwire.contacts.fields import MAX_FIELDS, FieldError, check_key, check_type
from textwire.contacts.imports import ImportRequest, import_resource, run_import, start
from textwire.contacts.timezones import DEFAULT_TIME_ZONE, TimeZoneError, check_time_zone
from textwire.errors import TextwireError, invalid, not_found
from textwire.runtime import Runtime

router = APIRouter()


# -- field declarations --------------------------------------------------------------------


@router.post("/v1/ContactFields", status_code=201, **declared.create_field)
async def create_field(request: Request) -> JSONResponse:
    rt, account = await account_of(request)
    params = await read_params(request)
    try:
        key = check_key(params.get("Key"), field="Key")
        type_ = check_type(params.get("Type"), field="Type")
    except FieldError as exc:
        raise invalid(exc.field, exc.rule) from None
    try:
        async with rt.db.write() as conn:
            if await store.find_field(conn, account, key) is not None:
                raise TextwireError(
                    20409, f"Invalid parameter 'Key': the field {key!r} is already declared"
                )
            if await store.count_fields(conn, account) >= MAX_FIELDS:
                raise invalid("Key", f"an account declares at most {MAX_FIELDS} fields")
            field = await store.add_field(conn, account, key, type_, rt.clock.now())
    except IntegrityError:  # declared at the same moment by another request
        raise TextwireError(
            20409, f"Invalid parameter 'Key': the field {key!r} is already declared"
        ) from None
    return JSONResponse(field.resource(account, base_url(request)), status_code=201)


@router.get("/v1/ContactFields", **declared.list_fields)
async def list_fields(request: Request) -> JSONResponse:
    rt, account = await account_of(request)
    params = await read_params(request)
    f = kt.contact_fields
    base = base_url(request)
    return await list_page(
        rt,
        request,
        params,
        table=f,
        account_sid=account,
        key="contact_fields",
        path="/v1/ContactFields",
        to_resource=lambda row: {
            "account_sid": row["account_sid"],
            "key": row["key"],
            "type": row["type"],
            "date_created": row["date_created"].isoformat(),
            "url": f"{base}/v1/ContactFields/{row['key']}",
        },
        order_by=[f.c.key],
    )


async def _field_or_404(rt: Runtime, account: str, key: str) -> store.FieldDeclaration:
    async with rt.db.read() as conn:
        field = await store.find_field(conn, account, key)
    if field is None:
        raise not_found("ContactField", key)
    return field


@router.get("/v1/ContactFields/{key}", **declared.fetch_field)
async def fetch_field(key: str, request: Request) -> JSONResponse:
    rt, account = await account_of(request)
    field = await _field_or_404(rt, account, key)
    return JSONResponse(field.resource(account, base_url(request)))


@router.delete("/v1/ContactFields/{key}", status_code=204, **declared.delete_field)
async def delete_field(key: str, request: Request) -> Response:
    """Deletes the declaration and every contact's value of the field."""
    rt, account = await account_of(request)
    async with rt.db.write() as conn:
        if await store.find_field(conn, account, key) is None:
            raise not_found("ContactField", key)
        await store.remove_field(conn, account, key)
    return Response(status_code=204)


# -- settings ------------------------------------------------------------------------------


def _settings_body(account: str, zone: str | None) -> dict[str, Any]:
    return {
        "account_sid": account,
        "time_zone": zone or DEFAULT_TIME_ZONE,
        "time_zone_setting": zone,
    }


@router.get("/v1/Contacts/Settings", **declared.get_settings)
async def get_settings(request: Request) -> JSONResponse:
    rt, account = await account_of(request)
    async with rt.db.read() as conn:
        zone = await store.account_time_zone(conn, account)
    return JSONResponse(_settings_body(account, zone))


@router.post("/v1/Contacts/Settings", **declared.set_settings)
async def set_settings(request: Request) -> JSONResponse:
    """``TimeZone``: the account's default; contacts whose zone came from it follow."""
    rt, account = await account_of(request)
    params = await read_params(request)
    raw = params.get("TimeZone")
    if raw is None:
        raise invalid("TimeZone", "is required: an IANA time zone, or empty for UTC")
    try:
        zone = check_time_zone(raw) if raw.strip() else None
    except TimeZoneError as exc:
        raise invalid(exc.field, exc.rule) from None
    async with rt.db.write() as conn:
        moved = await store.set_account_time_zone(conn, account, zone, rt.clock.now())
    return JSONResponse({**_settings_body(account, zone), "contacts_moved": moved})


# -- imports and export --------------------------------------------------------------------


async def _import_row(rt: Runtime, account: str, sid: str) -> RowMapping:
    imports = kt.contact_imports
    async with rt.db.read() as conn:
        row = (
            await conn.execute(
                select(imports).where(imports.c.sid == sid, imports.c.account_sid == account)
            )
        ).first()
    if row is None:
        raise not_found("Contact import", sid)
    return row._mapping


@router.post("/v1/Contacts/Imports", **declared.create_import)
async def create_import(request: Request) -> JSONResponse:
    """Upload a contacts CSV as the request body (``text/csv``; see docs/campaigns.md).

    Answers 201 with the completed import, or 422 with the failed one (refused file).
    ``GET /v1/Contacts/Imports/{sid}`` shows a running import's progress meanwhile.
    """
    rt, account = await account_of(request)
    filename = query_params(request).get("FileName")
    if filename is not None and len(filename) > 256:
        raise invalid("FileName", "at most 256 characters")
    spool = await spool_upload(request)
    try:
        sid = await start(rt.db, rt.clock, ImportRequest(account, filename, "api"))
        await run_import(rt.db, rt.clock, sid, account, spool)
    finally:
        spool.close()
    row = await _import_row(rt, account, sid)
    body = import_resource(row, base_url(request))
    return JSONResponse(body, status_code=201 if row["status"] == "completed" else 422)


@router.get("/v1/Contacts/Imports", **declared.list_imports)
async def list_imports(request: Request) -> JSONResponse:
    rt, account = await account_of(request)
    params = await read_params(request)
    imports = kt.contact_imports
    base = base_url(request)
    return await list_page(
        rt,
        request,
        params,
        table=imports,
        account_sid=account,
        key="imports",
        path="/v1/Contacts/Imports",
        to_resource=lambda row: import_resource(row, base),
        order_by=[imports.c.date_created.desc(), imports.c.sid],
    )


@router.get("/v1/Contacts/Imports/{sid}", **declared.fetch_import)
async def fetch_import(sid: str, request: Request) -> JSONResponse:
    rt, account = await account_of(request)
    row = await _import_row(rt, account, sid)
    return JSONResponse(import_resource(row, base_url(request)))


class CsvResponse(StreamingResponse):
    media_type = "text/csv"


@router.get("/v1/Contacts.csv", response_class=CsvResponse, **declared.export_contacts)
async def export_contacts(request: Request) -> CsvResponse:
    rt, account = await account_of(request)
    return CsvResponse(
        export_csv(rt.db, account),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="contacts.csv"'},
    )
