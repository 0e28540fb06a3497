"""Twilio's v2010 Accounts resource: ``/2010-04-01/Accounts[/{Sid}].json`` (F-ACCT-1).

Applications call ``client.api.v2010.account.fetch()`` to check their credentials, so an
account's own credentials fetch and list it, with its auth token or with one of its API
keys. Changing it (``FriendlyName``) takes the auth token, as managing keys does
(``api/keys.py``): a leaked key must not be able to alter the account. An account sees only
itself: the list holds just the caller, and any other SID is 20404, exactly like a missing
one.

``auth_token`` is always null. Twilio shows the token here; textwire shows a credential only
when it issues it (``textwire accounts create``), and an API key must not be able to read
the token that outranks it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request

from textwire.accounts import Account, get_account, rename_account
from textwire.api import declared
from textwire.api.auth import authenticate, basic_credentials, check_path_account
from textwire.api.common import FastJSONResponse, runtime
from textwire.api.params import read_params
from textwire.clock import rfc2822
from textwire.errors import TextwireError, invalid
from textwire.messages.serialize import API_VERSION
from textwire.runtime import Runtime

router = APIRouter()
LIST = f"/{API_VERSION}/Accounts.json"
ONE = f"/{API_VERSION}/Accounts/{{account}}.json"
# textwire has no trial accounts: every account is Twilio's "Full" type.
ACCOUNT_TYPE = "Full"


def account_resource(account: Account) -> dict[str, Any]:
    base = f"/{API_VERSION}/Accounts/{account.sid}"
    return {
        "auth_token": None,
        "date_created": rfc2822(account.date_created),
        "date_updated": rfc2822(account.date_updated),
        "friendly_name": account.friendly_name,
        # A main account owns itself (textwire has no subaccounts yet).
        "owner_account_sid": account.sid,
        "sid": account.sid,
        "status": account.status,
        # Only the subresources textwire serves.
        "subresource_uris": {
            "messages": f"{base}/Messages.json",
            "keys": f"{base}/Keys.json",
        },
        "type": ACCOUNT_TYPE,
        "uri": f"{base}.json",
    }


async def _caller(request: Request) -> tuple[Runtime, str]:
    rt = runtime(request)
    return rt, await authenticate(rt, request)


@router.get(ONE, **declared.fetch_account)
async def fetch_account(account: str, request: Request) -> FastJSONResponse:
    rt, account_sid = await _caller(request)
    check_path_account(account_sid, account)
    return FastJSONResponse(account_resource(await get_account(rt.db, account_sid)))


@router.post(ONE, **declared.update_account)
async def update_account(account: str, request: Request) -> FastJSONResponse:
    """``FriendlyName`` (1 to 64 characters). ``Status`` may only say ``active``: an account
    that suspended or closed itself through the API could not authenticate to reopen."""
    rt, account_sid = await _caller(request)
    creds = basic_credentials(request.headers.get("authorization", ""))
    # authenticate() accepted an AC… (token) or SK… (key) username: anything but AC is a key.
    if creds is None or not creds[0].startswith("AC"):
        raise TextwireError(
            20003,
            "Permission denied: an API key cannot change the account; authenticate with the "
            "account SID and auth token",
            status=403,
        )
    check_path_account(account_sid, account)
    params = await read_params(request, allow_json=False)
    current = await get_account(rt.db, account_sid)
    status = params.get("Status")
    if status is not None and status != current.status:
        raise invalid(
            "Status", f"must be {current.status}: an account cannot change its own status"
        )
    name = params.get("FriendlyName")
    if name is None:
        return FastJSONResponse(account_resource(current))
    return FastJSONResponse(
        account_resource(await rename_account(rt.db, rt.clock, account_sid, name))
    )


@router.get(LIST, **declared.list_accounts)
async def list_accounts(request: Request) -> FastJSONResponse:
    """Twilio's v2010 page of ``accounts``: the caller alone, when it matches the
    ``FriendlyName`` and ``Status`` filters."""
    rt, account_sid = await _caller(request)
    params = await read_params(request)
    page_size = params.int("PageSize", low=1, high=1000) or 50
    page = params.int("Page", low=0, high=10**6) or 0
    name = params.get("FriendlyName")
    status = params.get("Status")
    me = await get_account(rt.db, account_sid)
    matches = (name is None or name == me.friendly_name) and (status is None or status == me.status)
    items = [account_resource(me)] if matches and page == 0 else []
    filters = [(k, v) for k, v in (("FriendlyName", name), ("Status", status)) if v is not None]

    def page_uri(page_no: int) -> str:
        query = [*filters, ("PageSize", str(page_size)), ("Page", str(page_no))]
        return f"{LIST}?{urlencode(query)}"

    start = page * page_size
    return FastJSONResponse(
        {
            "end": start + max(len(items) - 1, 0),
            "first_page_uri": page_uri(0),
            "next_page_uri": None,
            "page": page,
            "page_size": page_size,
            "previous_page_uri": page_uri(page - 1) if page > 0 else None,
            "start": start,
            "uri": page_uri(page),
            "accounts": items,
        }
    )
