"""Twilio-compatible Messages routes: ``/2010-04-01/Accounts/{AccountSid}/Messages``."""

from __future__ import annotations

import base64
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, Final, cast
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response

from textwire.api import declared
from textwire.api.auth import authenticate, authenticate_header, check_path_account
from textwire.api.common import FastJSONResponse
from textwire.api.params import (
    Params,
    body_params,
    collect_body,
    parse_datetime,
    read_params,
)
from textwire.errors import TextwireError, invalid, not_found
from textwire.messages import lifecycle, store
from textwire.messages.model import Change, Message
from textwire.messages.pipeline import MAX_VALIDITY, SendRequest, send
from textwire.messages.serialize import API_VERSION, message_resource
from textwire.messages.status import Status
from textwire.runtime import Runtime

router = APIRouter()
BASE = f"/{API_VERSION}/Accounts/{{account}}/Messages"


def _rt(request: Request) -> Runtime:
    rt: Runtime = request.app.state.rt
    return rt


def send_request_from(account_sid: str, p: Params) -> SendRequest:
    send_at_raw = p.get("SendAt")
    return SendRequest(
        account_sid=account_sid,
        to=p.get("To") or "",
        body=p.get("Body"),
        from_=p.get("From") or None,
        service_sid=p.get("MessagingServiceSid") or None,
        media_urls=tuple(p.get_list("MediaUrl")),
        status_callback=p.get("StatusCallback"),
        validity_period=p.int("ValidityPeriod", low=1, high=MAX_VALIDITY, code=21624),
        send_at=parse_datetime("SendAt", send_at_raw, code=35114) if send_at_raw else None,
        schedule_type=p.choice("ScheduleType", ["fixed"]),
        smart_encoded=p.bool("SmartEncoded"),
        transactional=p.bool("Transactional"),  # textwire extension (F-CONSENT-6)
        shorten_urls=p.bool("ShortenUrls"),
        link_mode=p.get("LinkMode") or None,
    )


@router.post(BASE + ".json", status_code=201, **declared.create_message)
async def create_message(account: str, request: Request) -> FastJSONResponse:
    """``textwire serve`` answers this route in ``messages/hot.py``, below FastAPI, with the same
    ``create()``; this declaration documents it and is what the hot path is tested against."""
    headers = request.headers
    resource = await create(
        _rt(request),
        account,
        authorization=headers.get("authorization", ""),
        content_type=headers.get("content-type", ""),
        content_length=headers.get("content-length"),
        chunks=request.stream(),
    )
    return FastJSONResponse(resource, status_code=201)


async def create(
    rt: Runtime,
    path_account: str,
    *,
    authorization: str,
    content_type: str,
    content_length: str | None,
    chunks: AsyncIterator[bytes],
) -> dict[str, Any]:
    """Create a message from a raw request; its resource, or the ``TextwireError`` to answer.

    Checked in this order, so every front end fails alike: credentials (20003), the path's
    account (20404), the body's size and type (20413, 20415), then the message itself.
    """
    account_sid = await authenticate_header(rt, authorization)
    check_path_account(account_sid, path_account)
    raw = await collect_body(content_length, chunks)
    params = body_params(raw, content_type, allow_json=False)
    row = await send(rt, send_request_from(account_sid, params))
    return message_resource(row)


async def _load(rt: Runtime, account_sid: str, sid: str) -> dict[str, Any]:
    """The message if it belongs to the account; 20404 otherwise, so another account's
    messages look exactly like missing ones."""
    row = await store.fetch(rt.db, account_sid, sid)
    if row is None:
        raise not_found("Message", sid)
    return row


@router.get(BASE + "/{sid}.json", **declared.fetch_message)
async def fetch_message(account: str, sid: str, request: Request) -> FastJSONResponse:
    rt = _rt(request)
    account_sid = await authenticate(rt, request)
    check_path_account(account_sid, account)
    return FastJSONResponse(message_resource(await _load(rt, account_sid, sid)))


@router.post(BASE + "/{sid}.json", **declared.update_message)
async def update_message(account: str, sid: str, request: Request) -> FastJSONResponse:
    """``Status=canceled`` cancels a scheduled message; ``Body=""`` redacts the body."""
    rt = _rt(request)
    account_sid = await authenticate(rt, request)
    check_path_account(account_sid, account)
    params = await read_params(request, allow_json=False)
    status = params.choice("Status", ["canceled"])
    body = params.get("Body")
    if status is None and body is None:
        raise invalid("Status", "set Status=canceled or Body to an empty string")
    if body not in (None, ""):
        raise invalid("Body", "a message body can only be redacted (set to an empty string)")
    now = rt.clock.now()
    async with rt.db.write() as conn:
        row = await store.fetch_in(conn, account_sid, sid)
        if row is None:
            raise not_found("Message", sid)
        edit = lifecycle.edit(
            cast(Message, dict(row)), cancel=status == "canceled", redact=body == ""
        )
        if isinstance(edit, lifecycle.Refusal):
            raise TextwireError(edit.code, edit.message)
        values: dict[str, Any] = {"date_updated": now, **edit.values}
        if edit.status is not None:
            # Through the transition recorder: an event and a status callback, like any change.
            await store.record(
                conn,
                rt.db,
                [Change(edit.row, edit.status, values=values)],
                now=now,
                metrics=rt.metrics,
                token=rt.tokens.token,
            )
            values["status"] = edit.status
        else:
            await store.set_columns(conn, sid, values)
    return FastJSONResponse(message_resource({**row, **values}))


@router.delete(BASE + "/{sid}.json", status_code=204, **declared.delete_message)
async def delete_message(account: str, sid: str, request: Request) -> Response:
    rt = _rt(request)
    account_sid = await authenticate(rt, request)
    check_path_account(account_sid, account)
    async with rt.db.write() as conn:
        status = await store.status_in(conn, account_sid, sid)
        if status is None:
            raise not_found("Message", sid)
        refused = lifecycle.delete_refused(sid, cast(Status, status))
        if refused is not None:
            raise TextwireError(refused.code, refused.message)
        await store.delete_message(conn, sid)
    return Response(status_code=204)


def _date_bounds(params: Params) -> tuple[list[datetime], list[datetime]]:
    """``DateSent``, ``DateSent<`` and ``DateSent>`` compare **dates**, as Twilio does:
    the bounds on ``date_sent`` they set (on or after each of the first, before each of
    the second).

    Twilio documents them as a GMT date: ``DateSent`` is that whole UTC day, ``DateSent<``
    on or before it and ``DateSent>`` on or after it. Its client sends a ``date`` as
    ``2026-12-05T00:00:00Z``, so a time of day is read as the UTC day it falls on, not as an
    instant (an instant would match only messages sent at exactly midnight).
    """
    sent_from: list[datetime] = []
    sent_before: list[datetime] = []
    for key in ("DateSent", "DateSent<", "DateSent>"):
        raw = params.get(key)
        if not raw:
            continue
        instant = parse_datetime(key, raw)
        start = datetime(instant.year, instant.month, instant.day, tzinfo=UTC)
        # parse_datetime stops at 9999-12-30, so every accepted day has a next day.
        end = start + timedelta(days=1)
        if key != "DateSent<":
            sent_from.append(start)
        if key != "DateSent>":
            sent_before.append(end)
    return sent_from, sent_before


def _encode_token(row: dict[str, Any]) -> str:
    key = f"{row['date_created'].timestamp():.6f}|{row['sid']}".encode()
    return "PA" + base64.urlsafe_b64encode(key).decode().rstrip("=")


# What ``_encode_token`` writes: seconds with six decimals, a bar, a message SID.
_TOKEN: Final = re.compile(r"([0-9]{1,11}\.[0-9]{6})\|(SM[0-9a-f]{32})")


def _decode_token(token: str) -> tuple[datetime, str]:
    """The position a ``PageToken`` names; 20001 for anything ``_encode_token`` did not
    write (checked by shape, so no number in it can overflow a date)."""
    refused = invalid("PageToken", "is not a token this server issued")
    raw = token[2:]
    if not token.startswith("PA") or not raw.isascii():
        raise refused
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode("ascii")
    except (ValueError, UnicodeDecodeError):
        raise refused from None
    match = _TOKEN.fullmatch(text)
    if match is None:
        raise refused
    return datetime.fromtimestamp(float(match.group(1)), UTC), match.group(2)


@router.get(BASE + ".json", **declared.list_messages)
async def list_messages(account: str, request: Request) -> FastJSONResponse:
    rt = _rt(request)
    account_sid = await authenticate(rt, request)
    check_path_account(account_sid, account)
    params = await read_params(request)
    page_size = params.int("PageSize", low=1, high=1000) or 50
    page = params.int("Page", low=0, high=10**9) or 0
    sent_from, sent_before = _date_bounds(params)
    token = params.get("PageToken")
    rows = await store.list_messages(
        rt.db,
        store.ListQuery(
            account_sid=account_sid,
            limit=page_size + 1,
            to=params.get("To") or None,
            from_=params.get("From") or None,
            sent_from=tuple(sent_from),
            sent_before=tuple(sent_before),
            after=_decode_token(token) if token else None,
            # No token (a hand-made URL, or previous_page_uri): page by offset instead.
            offset=page * page_size if not token else 0,
        ),
    )
    has_more = len(rows) > page_size
    rows = rows[:page_size]
    filters = [
        (k, v) for k in ("To", "From", "DateSent", "DateSent<", "DateSent>") if (v := params.get(k))
    ]
    path = BASE.format(account=account_sid) + ".json"

    def page_uri(page_no: int, page_token: str | None) -> str:
        query_items = [*filters, ("PageSize", str(page_size)), ("Page", str(page_no))]
        if page_token:
            query_items.append(("PageToken", page_token))
        return f"{path}?{urlencode(query_items)}"

    start = page * page_size
    body = {
        "end": start + max(len(rows) - 1, 0),
        "first_page_uri": page_uri(0, None),
        "next_page_uri": page_uri(page + 1, _encode_token(rows[-1])) if has_more else None,
        "page": page,
        "page_size": page_size,
        "previous_page_uri": page_uri(page - 1, None) if page > 0 else None,
        "start": start,
        "uri": page_uri(page, token),
        "messages": [message_resource(r) for r in rows],
    }
    return FastJSONResponse(body)
