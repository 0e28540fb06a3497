"""``/v1/Senders``: the account's originators (SPEC F-ORIG)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from textwire import jsonsafe
from textwire.accounts import default_integration_sid
from textwire.api.common import account_of, base_url, fetch_owned, list_page
from textwire.api.params import Params, read_params
from textwire.clock import iso8601
from textwire.errors import TextwireError, invalid, not_found
from textwire.ids import new_sid
from textwire.phone import DEFAULT_MPS, InvalidOriginator, Originator, classify_originator
from textwire.providers import tables as pt
from textwire.runtime import Runtime
from textwire.senders import declared, sticky
from textwire.senders import tables as st

router = APIRouter()

CAPABILITIES = ("sms", "mms", "inbound")
SID_PREFIX = {"long_code": "PN", "toll_free": "PN", "short_code": "SC", "alphanumeric": "AI"}
MAX_MPS = 10_000


def sender_resource(request: Request, row: Any) -> dict[str, Any]:
    return {
        "sid": row["sid"],
        "account_sid": row["account_sid"],
        "service_sid": row["service_sid"],
        "kind": row["kind"],
        "sender": row["value"],
        "country": row["country"],
        "area_code": row["area_code"],
        "capabilities": list(row["capabilities"]),
        "mps": row["mps"],
        "integration_sid": row["integration_sid"],
        "friendly_name": row["friendly_name"],
        "date_created": iso8601(row["date_created"]),
        "date_updated": iso8601(row["date_updated"]),
        "url": f"{base_url(request)}/v1/Senders/{row['sid']}",
    }


def _capabilities(params: Params, kind: str) -> list[str]:
    raw = params.get_list("Capabilities")
    if len(raw) == 1 and raw[0].startswith("["):
        try:
            listed = jsonsafe.loads(raw[0])
        except jsonsafe.JSONInputError:
            listed = None
        if not isinstance(listed, list) or not all(isinstance(x, str) for x in listed):
            raise invalid("Capabilities", "must be a list of sms, mms, inbound")
        raw = listed
    if len(raw) == 1 and "," in raw[0]:
        raw = raw[0].split(",")
    caps = [c.strip().lower() for c in raw if c.strip()]
    if not caps:
        # Alphanumeric IDs cannot be replied to; numbers can.
        return ["sms"] if kind == "alphanumeric" else ["sms", "mms", "inbound"]
    unknown = sorted(set(caps) - set(CAPABILITIES))
    if unknown:
        raise invalid("Capabilities", f"unknown capability {unknown[0]!r}; use sms, mms, inbound")
    if kind == "alphanumeric" and ("inbound" in caps or "mms" in caps):
        raise invalid("Capabilities", "an alphanumeric sender can only have sms")
    return sorted(set(caps), key=CAPABILITIES.index)


def owner_key(orig: Originator) -> str | None:
    """What one account at most may own (senders.md, "One owner per number"): a phone number
    by its E.164 value, a short code by country and code (short codes are national); None for
    an alphanumeric ID, which cannot receive and so may be shared."""
    if orig.kind == "alphanumeric":
        return None
    if orig.kind == "short_code":
        return f"{orig.country or ''}:{orig.value}"
    return orig.value


def _taken(field: str, value: str, here: bool) -> TextwireError:
    if here:
        return TextwireError(20409, f"Sender {value} already exists in this account")
    return TextwireError(
        20409,
        f"Invalid parameter '{field}': {value} is registered to another account; a phone "
        "number or short code has one owning account",
    )


async def create_sender_row(
    rt: Runtime,
    account_sid: str,
    params: Params,
    *,
    value_key: str = "Sender",
    service_sid: str | None = None,
) -> dict[str, Any]:
    """Validate and insert one sender; shared with the service sub-resources."""
    value = params.get(value_key)
    if not value:
        raise invalid(value_key, "is required")
    country = params.get("Country")
    try:
        orig = classify_originator(value, country=country.upper() if country else None)
    except InvalidOriginator as exc:
        raise invalid(value_key, str(exc)) from None
    mps = params.int("Mps", low=1, high=MAX_MPS) or DEFAULT_MPS[orig.kind]
    integration = params.get("IntegrationSid") or await default_integration_sid(rt.db, account_sid)
    now = rt.clock.now()
    row: dict[str, Any] = {
        "sid": new_sid(SID_PREFIX[orig.kind]),
        "account_sid": account_sid,
        "service_sid": service_sid,
        "kind": orig.kind,
        "value": orig.value,
        "country": orig.country,
        "area_code": orig.area_code,
        "capabilities": _capabilities(params, orig.kind),
        "mps": mps,
        "integration_sid": integration,
        "friendly_name": (params.get("FriendlyName") or orig.value)[:64],
        "date_created": now,
        "date_updated": now,
        "owner_key": owner_key(orig),
    }
    try:
        await _insert_sender(rt, account_sid, row, value_key, service_sid)
    except IntegrityError:
        # Two registrations raced past the checks below: the unique indexes let one win.
        async with rt.db.read() as conn:
            here = await conn.scalar(
                select(func.count())
                .select_from(st.senders)
                .where(st.senders.c.account_sid == account_sid, st.senders.c.value == orig.value)
            )
        raise _taken(value_key, orig.value, bool(here)) from None
    rt.directory.invalidate(account_sid)
    return row


async def _insert_sender(
    rt: Runtime, account_sid: str, row: dict[str, Any], value_key: str, service_sid: str | None
) -> None:
    integration = row["integration_sid"]
    async with rt.db.write() as conn:
        known = await conn.scalar(
            select(func.count())
            .select_from(pt.integrations)
            .where(
                pt.integrations.c.sid == integration, pt.integrations.c.account_sid == account_sid
            )
        )
        if not known:
            raise invalid(
                "IntegrationSid", f"integration {integration} does not exist in this account"
            )
        taken = await conn.scalar(
            select(func.count())
            .select_from(st.senders)
            .where(st.senders.c.account_sid == account_sid, st.senders.c.value == row["value"])
        )
        if taken:
            raise _taken(value_key, row["value"], True)
        if row["owner_key"] is not None:
            owned = await conn.scalar(
                select(func.count())
                .select_from(st.senders)
                .where(st.senders.c.owner_key == row["owner_key"])
            )
            if owned:
                raise _taken(value_key, row["value"], False)
        await conn.execute(insert(st.senders).values(**row))
        if service_sid is not None:
            await sticky.remap_country(conn, service_sid, row["country"])


@router.post("/v1/Senders", status_code=201, **declared.create_sender)
async def create_sender(request: Request) -> JSONResponse:
    rt, account_sid = await account_of(request)
    params = await read_params(request)
    row = await create_sender_row(rt, account_sid, params)
    return JSONResponse(sender_resource(request, row), status_code=201)


@router.get("/v1/Senders", **declared.list_senders)
async def list_senders(request: Request) -> JSONResponse:
    rt, account_sid = await account_of(request)
    params = await read_params(request)
    s = st.senders
    kind = params.get("Kind")
    return await list_page(
        rt,
        request,
        params,
        table=s,
        account_sid=account_sid,
        key="senders",
        path="/v1/Senders",
        to_resource=lambda r: sender_resource(request, r),
        filters=[s.c.kind == kind] if kind else [],
    )


async def load_sender(rt: Runtime, account_sid: str, sid: str) -> dict[str, Any]:
    return await fetch_owned(rt, st.senders, sid, account_sid, "Sender")


@router.get("/v1/Senders/{sid}", **declared.fetch_sender)
async def fetch_sender(sid: str, request: Request) -> JSONResponse:
    rt, account_sid = await account_of(request)
    return JSONResponse(sender_resource(request, await load_sender(rt, account_sid, sid)))


@router.delete("/v1/Senders/{sid}", status_code=204, **declared.delete_sender)
async def delete_sender(sid: str, request: Request) -> Response:
    rt, account_sid = await account_of(request)
    async with rt.db.write() as conn:
        gone = await conn.execute(
            delete(st.senders).where(
                st.senders.c.sid == sid, st.senders.c.account_sid == account_sid
            )
        )
        if gone.rowcount:
            await sticky.forget_sender(conn, sid)
    if gone.rowcount == 0:
        raise not_found("Sender", sid)
    rt.directory.invalidate(account_sid)
    return Response(status_code=204)
