"""Twilio's v2010 Keys resource: ``/2010-04-01/Accounts/{AccountSid}/Keys``.

Keys are managed with the account's own credentials (SID + auth token). An API key cannot
create, list, fetch, rename or delete keys (HTTP 403, 20003), as Twilio's standard keys
cannot reach the Keys resource: a leaked key must not be able to mint more keys or revoke
the others.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response

from textwire.accounts import (
    ApiKey,
    create_api_key,
    delete_api_key,
    get_api_key,
    list_api_keys,
    rename_api_key,
)
from textwire.api import declared
from textwire.api.auth import authenticate, basic_credentials, check_path_account
from textwire.api.common import FastJSONResponse, runtime
from textwire.api.params import read_params
from textwire.clock import rfc2822
from textwire.errors import TextwireError
from textwire.messages.serialize import API_VERSION
from textwire.runtime import Runtime

router = APIRouter()
BASE = f"/{API_VERSION}/Accounts/{{account}}/Keys"


def key_resource(key: ApiKey) -> dict[str, Any]:
    # A key created without a FriendlyName is stored as "" (the column is NOT NULL) and
    # shown as null, as Twilio shows an unset name.
    return {
        "sid": key.sid,
        "friendly_name": key.friendly_name or None,
        "date_created": rfc2822(key.date_created),
        "date_updated": rfc2822(key.date_updated),
    }


async def _owner(request: Request, path_account: str) -> tuple[Runtime, str]:
    """The account managing keys: bad credentials 401, an API key 403, another account's
    path 20404."""
    rt = runtime(request)
    header = request.headers.get("authorization", "")
    account_sid = await authenticate(rt, request)
    creds = basic_credentials(header)
    # authenticate() only accepts an AC… (token) or SK… (key) username, so anything but
    # AC here is a key.
    if creds is None or not creds[0].startswith("AC"):
        raise TextwireError(
            20003,
            "Permission denied: an API key cannot manage API keys; authenticate with the "
            "account SID and auth token",
            status=403,
        )
    check_path_account(account_sid, path_account)
    return rt, account_sid


@router.post(BASE + ".json", status_code=201, **declared.create_key)
async def create_key(account: str, request: Request) -> FastJSONResponse:
    """201 and the key with its ``secret``, the only time the secret is shown."""
    rt, account_sid = await _owner(request, account)
    params = await read_params(request, allow_json=False)
    new = await create_api_key(rt.db, rt.clock, account_sid, params.get("FriendlyName") or "")
    return FastJSONResponse({**key_resource(new.key), "secret": new.secret}, status_code=201)


@router.get(BASE + ".json", **declared.list_keys)
async def list_keys(account: str, request: Request) -> FastJSONResponse:
    """Twilio's v2010 page: ``keys`` plus relative ``…_page_uri`` links, paged by offset."""
    rt, account_sid = await _owner(request, account)
    params = await read_params(request)
    page_size = params.int("PageSize", low=1, high=1000) or 50
    page = params.int("Page", low=0, high=10**6) or 0
    start = page * page_size
    keys = await list_api_keys(rt.db, account_sid, start, page_size + 1)
    has_more = len(keys) > page_size
    keys = keys[:page_size]
    path = BASE.format(account=account_sid) + ".json"

    def page_uri(page_no: int) -> str:
        return f"{path}?{urlencode({'PageSize': page_size, 'Page': page_no})}"

    return FastJSONResponse(
        {
            "end": start + max(len(keys) - 1, 0),
            "first_page_uri": page_uri(0),
            "next_page_uri": page_uri(page + 1) if has_more else None,
            "page": page,
            "page_size": page_size,
            "previous_page_uri": page_uri(page - 1) if page > 0 else None,
            "start": start,
            "uri": page_uri(page),
            "keys": [key_resource(k) for k in keys],
        }
    )


@router.get(BASE + "/{sid}.json", **declared.fetch_key)
async def fetch_key(account: str, sid: str, request: Request) -> FastJSONResponse:
    rt, account_sid = await _owner(request, account)
    return FastJSONResponse(key_resource(await get_api_key(rt.db, account_sid, sid)))


@router.post(BASE + "/{sid}.json", **declared.update_key)
async def update_key(account: str, sid: str, request: Request) -> FastJSONResponse:
    """Renames the key (``FriendlyName``); without it the key is returned unchanged."""
    rt, account_sid = await _owner(request, account)
    params = await read_params(request, allow_json=False)
    name = params.get("FriendlyName")
    if name is None:
        key = await get_api_key(rt.db, account_sid, sid)
    else:
        key = await rename_api_key(rt.db, rt.clock, account_sid, sid, name)
    return FastJSONResponse(key_resource(key))


@router.delete(BASE + "/{sid}.json", status_code=204, **declared.delete_key)
async def delete_key(account: str, sid: str, request: Request) -> Response:
    """Revokes the key: refused by this process from the next request on, by the others
    once their credential cache expires (``Authenticator.TTL``)."""
    rt, account_sid = await _owner(request, account)
    await delete_api_key(rt.db, account_sid, sid)
    rt.auth.forget(sid)
    return Response(status_code=204)
