"""Audience routes (F-CONTACT-3): ``/v1/Lists`` and their members, ``/v1/Segments`` and the
previews (``/v1/Segments/Preview``, ``/v1/Segments/{sid}/Preview``, ``/v1/Audiences/Preview``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncConnection

from textwire.api.common import account_of, base_url, list_page, page_args, v1_page
from textwire.api.params import Params, read_params
from textwire.consent import contacts
from textwire.consent.api import PARAM_TYPES
from textwire.consent.identifiers import Identifier, IdentifierError, parse_identifier
from textwire.contacts import audience_declared as declared
from textwire.contacts import audience_tables as at
from textwire.contacts import filter_language as fl
from textwire.contacts import lists, segments
from textwire.errors import TextwireError, invalid, not_found

router = APIRouter()
DEFAULT_SAMPLE = 10
MAX_MEMBERS_PER_CALL = 1_000


def _name(params: Params, *, required: bool) -> str | None:
    name = params.get("FriendlyName")
    if name is None or not name.strip():
        if required or name is not None:
            raise invalid("FriendlyName", "is required: a name of 1 to 64 characters")
        return None
    if len(name) > lists.MAX_NAME:
        raise invalid("FriendlyName", f"at most {lists.MAX_NAME} characters")
    return name


def _sample(params: Params) -> int:
    size = params.int("SampleSize", low=0, high=segments.SAMPLE_MAX)
    return DEFAULT_SAMPLE if size is None else size


def _preview_body(found: segments.Preview, request: Request, **more: Any) -> dict[str, Any]:
    base = base_url(request)
    sample = [{**row, "url": f"{base}/v1/Contacts/{row['sid']}"} for row in found.sample]
    return {**more, "count": found.count, "sample": sample}


# -- lists ---------------------------------------------------------------------------------


async def _list(conn: AsyncConnection, account: str, sid: str) -> Any:
    row = await lists.fetch(conn, account, sid)
    if row is None:
        raise not_found("List", sid)
    return row


async def _list_body(conn: AsyncConnection, request: Request, account: str, sid: str) -> Any:
    row = await _list(conn, account, sid)
    return lists.resource(row, await lists.member_count(conn, sid), base_url(request))


async def _free_name(conn: AsyncConnection, account: str, name: str, sid: str = "") -> None:
    owner = await lists.owner_of_name(conn, account, name)
    if owner is not None and owner != sid:
        raise TextwireError(
            20409, f"Invalid parameter 'FriendlyName': list {owner} is already called {name!r}"
        )


@router.post("/v1/Lists", status_code=201, **declared.create_list)
async def create_list(request: Request) -> JSONResponse:
    rt, account = await account_of(request)
    name = _name(await read_params(request), required=True)
    assert name is not None
    async with rt.db.write() as conn:
        await _free_name(conn, account, name)
        sid = await lists.create(conn, account, name, rt.clock.now())
        body = await _list_body(conn, request, account, sid)
    return JSONResponse(body, status_code=201)


@router.get("/v1/Lists", **declared.list_lists)
async def list_lists(request: Request) -> JSONResponse:
    rt, account = await account_of(request)
    params = await read_params(request)
    page, size = page_args(params)
    cl = at.contact_lists
    async with rt.db.read() as conn:
        rows = (
            await conn.execute(
                cl.select()
                .where(cl.c.account_sid == account)
                .order_by(cl.c.date_created, cl.c.sid)
                .offset(page * size)
                .limit(size + 1)
            )
        ).all()
        items = [
            lists.resource(r, await lists.member_count(conn, r.sid), base_url(request))
            for r in rows[:size]
        ]
    return JSONResponse(v1_page(request, "lists", "/v1/Lists", items, page, size, len(rows) > size))


@router.get("/v1/Lists/{sid}", **declared.fetch_list)
async def fetch_list(sid: str, request: Request) -> JSONResponse:
    rt, account = await account_of(request)
    async with rt.db.read() as conn:
        return JSONResponse(await _list_body(conn, request, account, sid))


@router.post("/v1/Lists/{sid}", **declared.update_list)
async def update_list(sid: str, request: Request) -> JSONResponse:
    rt, account = await account_of(request)
    name = _name(await read_params(request), required=False)
    async with rt.db.write() as conn:
        await _list(conn, account, sid)
        if name is not None:
            await _free_name(conn, account, name, sid)
            await lists.rename(conn, sid, name, rt.clock.now())
        body = await _list_body(conn, request, account, sid)
    return JSONResponse(body)


@router.delete("/v1/Lists/{sid}", status_code=204, **declared.delete_list)
async def delete_list(sid: str, request: Request) -> Response:
    """Deletes the list and its memberships (not the contacts); 409 while a segment names it."""
    rt, account = await account_of(request)
    async with rt.db.write() as conn:
        await _list(conn, account, sid)
        users = await segments.segments_naming_list(conn, account, sid)
        if users:
            raise TextwireError(
                20409, f"List {sid} is named by the filter of segment(s) {', '.join(users)}"
            )
        await lists.delete_list(conn, sid)
    return Response(status_code=204)


# -- members -------------------------------------------------------------------------------


def _identifiers(params: Params) -> list[Identifier]:
    found: list[Identifier] = []
    for key, type_ in PARAM_TYPES.items():
        for value in params.get_list(key):
            try:
                found.append(parse_identifier(type_, value, field=key))
            except IdentifierError as exc:
                raise invalid(key, exc.rule) from None
    return list(dict.fromkeys(found))


async def _member_sids(
    conn: AsyncConnection, account: str, params: Params, now: datetime | None
) -> list[str]:
    """The contacts ``ContactSid``, ``PhoneNumber``, ``Email`` and ``CustomId`` name. With
    ``now`` (adding), an identifier no contact has becomes a new contact, as an opt-in does."""
    sids = list(dict.fromkeys(params.get_list("ContactSid")))
    idents = _identifiers(params)
    if not sids and not idents:
        raise invalid("ContactSid", "name at least one ContactSid, PhoneNumber, Email or CustomId")
    if len(sids) + len(idents) > MAX_MEMBERS_PER_CALL:
        raise invalid("ContactSid", f"at most {MAX_MEMBERS_PER_CALL} contacts per call")
    known = await lists.contacts_of_account(conn, account, sids)
    for sid in sids:
        if sid not in known:
            raise invalid("ContactSid", f"no contact {sid} in this account")
    for ident in idents:
        owner = await contacts.find_contact(conn, account, ident)
        if owner is None and now is not None:
            owner, _ = await contacts.identify(conn, account, [ident], now)
        if owner is not None:
            sids.append(owner)
    return list(dict.fromkeys(sids))


async def _change(request: Request, sid: str, *, adding: bool) -> JSONResponse:
    rt, account = await account_of(request)
    params = await read_params(request)
    now = rt.clock.now()
    async with rt.db.write() as conn:
        await _list(conn, account, sid)
        members = await _member_sids(conn, account, params, now if adding else None)
        change = lists.add if adding else lists.remove
        changed = await change(conn, sid, members, now)
        count = await lists.member_count(conn, sid)
    return JSONResponse(
        {"list_sid": sid, "contact_sids": members, "changed": changed, "member_count": count}
    )


@router.get("/v1/Lists/{sid}/Members", **declared.list_members)
async def list_members(sid: str, request: Request) -> JSONResponse:
    rt, account = await account_of(request)
    params = await read_params(request)
    page, size = page_args(params)
    base = base_url(request)
    async with rt.db.read() as conn:
        await _list(conn, account, sid)
        rows = await lists.page_of_members(conn, sid, page, size)
    items = [
        {
            "list_sid": sid,
            "contact_sid": r.contact_sid,
            "date_created": r.date_created.isoformat(),
            "url": f"{base}/v1/Contacts/{r.contact_sid}",
        }
        for r in rows[:size]
    ]
    path = f"/v1/Lists/{sid}/Members"
    return JSONResponse(v1_page(request, "members", path, items, page, size, len(rows) > size))


@router.post("/v1/Lists/{sid}/Members", **declared.add_members)
async def add_members(sid: str, request: Request) -> JSONResponse:
    """Adds contacts by ``ContactSid`` or identifier (a new identifier makes a new contact)."""
    return await _change(request, sid, adding=True)


@router.delete("/v1/Lists/{sid}/Members", **declared.remove_members)
async def remove_members(sid: str, request: Request) -> JSONResponse:
    """Removes the contacts the query names (``ContactSid``, ``PhoneNumber`` …)."""
    return await _change(request, sid, adding=False)


@router.delete("/v1/Lists/{sid}/Members/{contact_sid}", status_code=204, **declared.remove_member)
async def remove_member(sid: str, contact_sid: str, request: Request) -> Response:
    rt, account = await account_of(request)
    async with rt.db.write() as conn:
        await _list(conn, account, sid)
        if not await lists.remove(conn, sid, [contact_sid], rt.clock.now()):
            raise not_found("List member", contact_sid)
    return Response(status_code=204)


# -- segments ------------------------------------------------------------------------------


async def _segment(conn: AsyncConnection, account: str, sid: str) -> Any:
    row = await segments.fetch_segment(conn, account, sid)
    if row is None:
        raise not_found("Segment", sid)
    return row


def _filter_param(params: Params, *, required: bool) -> str | None:
    text = params.get("Filter")
    if text is None and required:
        raise invalid("Filter", 'is required, e.g. city = "Paris" and clicked within 30d')
    return text


@router.post("/v1/Segments", status_code=201, **declared.create_segment)
async def create_segment(request: Request) -> JSONResponse:
    rt, account = await account_of(request)
    params = await read_params(request)
    name = _name(params, required=True)
    text = _filter_param(params, required=True)
    assert name is not None and text is not None
    now = rt.clock.now()
    async with rt.db.write() as conn:
        cat = await segments.load_catalogue(conn, account, now)
        saved = segments.saved_filter(text, cat)
        sid = await segments.create_segment(conn, account, name, saved, now)
        row = await _segment(conn, account, sid)
    return JSONResponse(segments.segment_resource(row._mapping, base_url(request)), status_code=201)


@router.get("/v1/Segments", **declared.list_segments)
async def list_segments(request: Request) -> JSONResponse:
    rt, account = await account_of(request)
    params = await read_params(request)
    base = base_url(request)
    return await list_page(
        rt,
        request,
        params,
        table=at.contact_segments,
        account_sid=account,
        key="segments",
        path="/v1/Segments",
        to_resource=lambda row: segments.segment_resource(row, base),
    )


@router.post("/v1/Segments/Preview", **declared.preview_filter)
async def preview_filter(request: Request) -> JSONResponse:
    """The count and a sample of the contacts a ``Filter`` matches, nothing saved."""
    rt, account = await account_of(request)
    params = await read_params(request)
    text = _filter_param(params, required=True)
    assert text is not None
    size = _sample(params)
    async with rt.db.read() as conn:
        cat = await segments.load_catalogue(conn, account, rt.clock.now())
        node = segments.parse_filter(text)
        found = await segments.preview(conn, account, segments.condition(node, cat), size)
    canonical = fl.format_filter(node)
    return JSONResponse(_preview_body(found, request, filter=canonical))


@router.get("/v1/Segments/{sid}", **declared.fetch_segment)
async def fetch_segment(sid: str, request: Request) -> JSONResponse:
    rt, account = await account_of(request)
    async with rt.db.read() as conn:
        row = await _segment(conn, account, sid)
    return JSONResponse(segments.segment_resource(row._mapping, base_url(request)))


@router.post("/v1/Segments/{sid}", **declared.update_segment)
async def update_segment(sid: str, request: Request) -> JSONResponse:
    rt, account = await account_of(request)
    params = await read_params(request)
    name = _name(params, required=False)
    text = _filter_param(params, required=False)
    now = rt.clock.now()
    async with rt.db.write() as conn:
        await _segment(conn, account, sid)
        values: dict[str, Any] = {}
        if name is not None:
            values["friendly_name"] = name
        if text is not None:
            cat = await segments.load_catalogue(conn, account, now)
            values["filter"] = segments.saved_filter(text, cat)
        await segments.update_segment(conn, sid, values, now)
        row = await _segment(conn, account, sid)
    return JSONResponse(segments.segment_resource(row._mapping, base_url(request)))


@router.delete("/v1/Segments/{sid}", status_code=204, **declared.delete_segment)
async def delete_segment(sid: str, request: Request) -> Response:
    rt, account = await account_of(request)
    async with rt.db.write() as conn:
        await _segment(conn, account, sid)
        await segments.delete_segment(conn, sid)
    return Response(status_code=204)


@router.get("/v1/Segments/{sid}/Preview", **declared.preview_segment)
async def preview_segment(sid: str, request: Request) -> JSONResponse:
    rt, account = await account_of(request)
    size = _sample(await read_params(request))
    async with rt.db.read() as conn:
        row = await _segment(conn, account, sid)
        cat = await segments.load_catalogue(conn, account, rt.clock.now())
        cond = segments.condition(segments.parse_filter(row.filter), cat)
        found = await segments.preview(conn, account, cond, size)
    return JSONResponse(_preview_body(found, request, segment_sid=sid, filter=row.filter))


# -- audiences -----------------------------------------------------------------------------


@router.post("/v1/Audiences/Preview", **declared.preview_audience)
async def preview_audience(request: Request) -> JSONResponse:
    """The count and a sample of an audience: included lists and segments, minus excluded."""
    rt, account = await account_of(request)
    params = await read_params(request)
    audience = segments.Audience(
        include_lists=tuple(params.get_list("IncludeLists")),
        include_segments=tuple(params.get_list("IncludeSegments")),
        exclude_lists=tuple(params.get_list("ExcludeLists")),
        exclude_segments=tuple(params.get_list("ExcludeSegments")),
    )
    size = _sample(params)
    async with rt.db.read() as conn:
        cat = await segments.load_catalogue(conn, account, rt.clock.now())
        cond = await segments.audience_condition(conn, cat, audience)
        found = await segments.preview(conn, account, cond, size)
    return JSONResponse(_preview_body(found, request))
