"""Twilio-shaped ``/v1/Services`` and their sender pools (SPEC F-SVC-1, F-SVC-10).

Form parameters and JSON fields follow messaging.twilio.com/v1, so Twilio's client
(``client.messaging.v1.services``) works unchanged.
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import delete, insert, select, update

from textwire.api.common import account_of, base_url, fetch_owned, list_page
from textwire.api.params import Params, read_params
from textwire.clock import iso8601
from textwire.errors import TextwireError, invalid, not_found
from textwire.ids import new_sid
from textwire.runtime import Runtime
from textwire.senders import declared, sticky
from textwire.senders import tables as st
from textwire.senders.api import create_sender_row, load_sender
from textwire.urls import check_url

router = APIRouter()

BOOLS: Final = {
    "StickySender": "sticky_sender",
    "MmsConverter": "mms_converter",
    "SmartEncoding": "smart_encoding",
    "FallbackToLongCode": "fallback_to_long_code",
    "AreaCodeGeomatch": "area_code_geomatch",
    "SynchronousValidation": "synchronous_validation",
    "UseInboundWebhookOnNumber": "use_inbound_webhook_on_number",
}
# textwire's own parameters (not Twilio's), shown under the resource's "textwire" object:
# Twilio's client cannot pass them to messages.create(), so a service carries them as the
# default of the messages that name it (issue 11 §5).
EXTENSION_BOOLS: Final = {"Transactional": "transactional"}
URLS: Final = {
    "InboundRequestUrl": "inbound_request_url",
    "FallbackUrl": "fallback_url",
    "StatusCallback": "status_callback",
}
CHOICES: Final = {
    "InboundMethod": ("inbound_method", ("GET", "POST")),
    "FallbackMethod": ("fallback_method", ("GET", "POST")),
    "ScanMessageContent": ("scan_message_content", ("inherit", "enable", "disable")),
    "Usecase": (
        "usecase",
        ("notifications", "marketing", "verification", "discussion", "poll", "undeclared"),
    ),
}


def _url(key: str, value: str) -> str | None:
    if value == "":
        return None
    return check_url(key, value)


def service_values(params: Params, *, creating: bool) -> dict[str, Any]:
    """Column values from Twilio's parameters; every bad one names its field."""
    values: dict[str, Any] = {}
    name = params.get("FriendlyName")
    if name is not None or creating:
        if not name or not name.strip() or len(name) > 64:
            raise invalid("FriendlyName", "is required, 1 to 64 characters")
        values["friendly_name"] = name
    for key, col in (BOOLS | EXTENSION_BOOLS).items():
        flag = params.bool(key)
        if flag is not None:
            values[col] = flag
    for key, col in URLS.items():
        raw = params.get(key)
        if raw is not None:
            values[col] = _url(key, raw)
    for key, (col, options) in CHOICES.items():
        choice = params.choice(key, options)
        if choice is not None:
            values[col] = choice
    validity = params.int("ValidityPeriod", low=1, high=36_000, code=21624)
    if validity is not None:
        values["validity_period"] = validity
    return values


def service_resource(request: Request, row: Any) -> dict[str, Any]:
    url = f"{base_url(request)}/v1/Services/{row['sid']}"
    return {
        "sid": row["sid"],
        "account_sid": row["account_sid"],
        "friendly_name": row["friendly_name"],
        "date_created": iso8601(row["date_created"]),
        "date_updated": iso8601(row["date_updated"]),
        "inbound_request_url": row["inbound_request_url"],
        "inbound_method": row["inbound_method"],
        "fallback_url": row["fallback_url"],
        "fallback_method": row["fallback_method"],
        "status_callback": row["status_callback"],
        "sticky_sender": bool(row["sticky_sender"]),
        "mms_converter": bool(row["mms_converter"]),
        "smart_encoding": bool(row["smart_encoding"]),
        "scan_message_content": row["scan_message_content"],
        "fallback_to_long_code": bool(row["fallback_to_long_code"]),
        "area_code_geomatch": bool(row["area_code_geomatch"]),
        "synchronous_validation": bool(row["synchronous_validation"]),
        "validity_period": row["validity_period"],
        "usecase": row["usecase"],
        "us_app_to_person_registered": False,
        "use_inbound_webhook_on_number": bool(row["use_inbound_webhook_on_number"]),
        "textwire": {"transactional": bool(row["transactional"])},
        "url": url,
        "links": {
            "phone_numbers": f"{url}/PhoneNumbers",
            "short_codes": f"{url}/ShortCodes",
            "alpha_senders": f"{url}/AlphaSenders",
            "messages": f"{url}/Messages",
            "us_app_to_person": f"{url}/Compliance/Usa2p",
            "us_app_to_person_usecases": f"{url}/Compliance/Usa2p/Usecases",
            "channel_senders": f"{url}/ChannelSenders",
            "destination_alpha_senders": f"{url}/DestinationAlphaSenders",
        },
    }


DEFAULTS: Final = {
    "inbound_method": "POST",
    "fallback_method": "POST",
    "sticky_sender": True,
    "mms_converter": True,
    "smart_encoding": True,
    "scan_message_content": "inherit",
    "fallback_to_long_code": True,
    "area_code_geomatch": True,
    "validity_period": 36_000,
    "synchronous_validation": False,
    "usecase": "undeclared",
    "use_inbound_webhook_on_number": False,
    "transactional": False,
    "inbound_request_url": None,
    "fallback_url": None,
    "status_callback": None,
}


async def load_service(rt: Runtime, account_sid: str, sid: str) -> dict[str, Any]:
    return await fetch_owned(rt, st.services, sid, account_sid, "Service")


@router.post("/v1/Services", status_code=201, **declared.create_service)
async def create_service(request: Request) -> JSONResponse:
    rt, account_sid = await account_of(request)
    values = service_values(await read_params(request), creating=True)
    now = rt.clock.now()
    row = {
        **DEFAULTS,
        **values,
        "sid": new_sid("MG"),
        "account_sid": account_sid,
        "date_created": now,
        "date_updated": now,
    }
    async with rt.db.write() as conn:
        await conn.execute(insert(st.services).values(**row))
    rt.directory.invalidate(account_sid)
    return JSONResponse(service_resource(request, row), status_code=201)


@router.get("/v1/Services", **declared.list_services)
async def list_services(request: Request) -> JSONResponse:
    rt, account_sid = await account_of(request)
    return await list_page(
        rt,
        request,
        await read_params(request),
        table=st.services,
        account_sid=account_sid,
        key="services",
        path="/v1/Services",
        to_resource=lambda r: service_resource(request, r),
    )


@router.get("/v1/Services/{sid}", **declared.fetch_service)
async def fetch_service(sid: str, request: Request) -> JSONResponse:
    rt, account_sid = await account_of(request)
    return JSONResponse(service_resource(request, await load_service(rt, account_sid, sid)))


@router.post("/v1/Services/{sid}", **declared.update_service)
async def update_service(sid: str, request: Request) -> JSONResponse:
    rt, account_sid = await account_of(request)
    values = service_values(await read_params(request), creating=False)
    row = await load_service(rt, account_sid, sid)
    values["date_updated"] = rt.clock.now()
    async with rt.db.write() as conn:
        await conn.execute(update(st.services).where(st.services.c.sid == sid).values(**values))
    rt.directory.invalidate(account_sid)
    return JSONResponse(service_resource(request, {**row, **values}))


@router.delete("/v1/Services/{sid}", status_code=204, **declared.delete_service)
async def delete_service(sid: str, request: Request) -> Response:
    rt, account_sid = await account_of(request)
    await load_service(rt, account_sid, sid)
    async with rt.db.write() as conn:
        # Numbers and short codes go back to the account; alpha IDs existed only for the pool.
        await conn.execute(
            delete(st.senders).where(
                st.senders.c.service_sid == sid, st.senders.c.kind == "alphanumeric"
            )
        )
        await conn.execute(
            update(st.senders).where(st.senders.c.service_sid == sid).values(service_sid=None)
        )
        await conn.execute(delete(st.services).where(st.services.c.sid == sid))
        await sticky.forget_service(conn, sid)
    rt.directory.invalidate(account_sid)
    return Response(status_code=204)


# --- sender pool sub-resources -------------------------------------------------------

POOLS: Final = {
    # path: (param, SID prefix, kinds it accepts, value field, list key)
    "PhoneNumbers": (
        "PhoneNumberSid",
        "PN",
        ("long_code", "toll_free"),
        "phone_number",
        "phone_numbers",
    ),
    "ShortCodes": ("ShortCodeSid", "SC", ("short_code",), "short_code", "short_codes"),
    "AlphaSenders": ("AlphaSender", "AI", ("alphanumeric",), "alpha_sender", "alpha_senders"),
}


def _pool_spec(kind_path: str) -> tuple[str, str, tuple[str, ...], str, str]:
    spec = POOLS.get(kind_path)
    if spec is None:
        raise TextwireError(20404, f"The requested resource {kind_path} was not found")
    return spec


def pool_resource(request: Request, kind_path: str, row: Any) -> dict[str, Any]:
    field = _pool_spec(kind_path)[3]
    return {
        "sid": row["sid"],
        "account_sid": row["account_sid"],
        "service_sid": row["service_sid"],
        "date_created": iso8601(row["date_created"]),
        "date_updated": iso8601(row["date_updated"]),
        field: row["value"],
        "country_code": row["country"],
        "capabilities": [c.upper() for c in row["capabilities"]],
        "url": f"{base_url(request)}/v1/Services/{row['service_sid']}/{kind_path}/{row['sid']}",
    }


@router.post("/v1/Services/{service}/{kind_path}", status_code=201, **declared.add_to_pool)
async def add_to_pool(service: str, kind_path: str, request: Request) -> JSONResponse:
    param, _, kinds, _, _ = _pool_spec(kind_path)
    rt, account_sid = await account_of(request)
    await load_service(rt, account_sid, service)
    params = await read_params(request)
    if kind_path == "AlphaSenders":
        value = params.get(param) or ""
        if value.strip().lstrip("+").isdigit():  # checked before anything is written
            raise invalid(param, "must be an alphanumeric sender ID, not a number")
        row = await create_sender_row(rt, account_sid, params, value_key=param, service_sid=service)
        return JSONResponse(pool_resource(request, kind_path, row), status_code=201)
    sid = params.get(param)
    if not sid:
        raise invalid(param, "is required")
    row = await load_sender(rt, account_sid, sid)
    if row["kind"] not in kinds:
        raise invalid(param, f"{sid} is a {row['kind']} sender; this pool takes {', '.join(kinds)}")
    if row["service_sid"] not in (None, service):
        raise TextwireError(
            21710, f"{row['value']} is already in messaging service {row['service_sid']}"
        )
    now = rt.clock.now()
    async with rt.db.write() as conn:
        await conn.execute(
            update(st.senders)
            .where(st.senders.c.sid == sid)
            .values(service_sid=service, date_updated=now)
        )
        await sticky.remap_country(conn, service, row["country"])
    rt.directory.invalidate(account_sid)
    return JSONResponse(
        pool_resource(request, kind_path, {**row, "service_sid": service, "date_updated": now}),
        status_code=201,
    )


def _pool_query(account_sid: str, service: str, kinds: tuple[str, ...]) -> Any:
    s = st.senders
    return select(s).where(
        s.c.account_sid == account_sid, s.c.service_sid == service, s.c.kind.in_(kinds)
    )


@router.get("/v1/Services/{service}/{kind_path}", **declared.list_pool)
async def list_pool(service: str, kind_path: str, request: Request) -> JSONResponse:
    _, _, kinds, _, key = _pool_spec(kind_path)
    rt, account_sid = await account_of(request)
    await load_service(rt, account_sid, service)
    s = st.senders
    return await list_page(
        rt,
        request,
        await read_params(request),
        table=s,
        account_sid=account_sid,
        key=key,
        path=f"/v1/Services/{service}/{kind_path}",
        to_resource=lambda r: pool_resource(request, kind_path, r),
        filters=(s.c.service_sid == service, s.c.kind.in_(kinds)),
    )


async def _pool_member(
    rt: Runtime, account_sid: str, service: str, kind_path: str, sid: str
) -> dict[str, Any]:
    kinds = _pool_spec(kind_path)[2]
    async with rt.db.read() as conn:
        row = (
            (
                await conn.execute(
                    _pool_query(account_sid, service, kinds).where(st.senders.c.sid == sid)
                )
            )
            .mappings()
            .first()
        )
    if row is None:
        raise not_found(kind_path.rstrip("s"), sid)
    return dict(row)


@router.get("/v1/Services/{service}/{kind_path}/{sid}", **declared.fetch_pool_member)
async def fetch_pool_member(
    service: str, kind_path: str, sid: str, request: Request
) -> JSONResponse:
    rt, account_sid = await account_of(request)
    row = await _pool_member(rt, account_sid, service, kind_path, sid)
    return JSONResponse(pool_resource(request, kind_path, row))


@router.delete(
    "/v1/Services/{service}/{kind_path}/{sid}", status_code=204, **declared.remove_from_pool
)
async def remove_from_pool(service: str, kind_path: str, sid: str, request: Request) -> Response:
    rt, account_sid = await account_of(request)
    row = await _pool_member(rt, account_sid, service, kind_path, sid)
    async with rt.db.write() as conn:
        await sticky.forget_sender(conn, sid)
        if row["kind"] == "alphanumeric":
            await conn.execute(delete(st.senders).where(st.senders.c.sid == sid))
        else:
            await conn.execute(
                update(st.senders).where(st.senders.c.sid == sid).values(service_sid=None)
            )
    rt.directory.invalidate(account_sid)
    return Response(status_code=204)
