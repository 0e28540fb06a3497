"""HTTP Basic auth for every API route: account SID + auth token, or API key SID + secret."""

from __future__ import annotations

import base64
import binascii

from starlette.requests import Request

from textwire.errors import TextwireError
from textwire.runtime import Runtime


def basic_credentials(header: str) -> tuple[str, str] | None:
    """``(username, password)`` of an ``Authorization: Basic …`` header value, else None."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, sep, password = decoded.partition(":")
    return (username, password) if sep else None


async def authenticate(rt: Runtime, request: Request) -> str:
    """The account SID the request acts for; 401 (20003) otherwise."""
    return await authenticate_header(rt, request.headers.get("authorization", ""))


async def authenticate_header(rt: Runtime, header: str) -> str:
    """The account SID an ``Authorization`` header value acts for; 401 (20003) otherwise."""
    creds = basic_credentials(header)
    account = await rt.auth.authenticate(*creds) if creds else None
    if account is None:
        raise TextwireError(
            20003, "Authentication Error - invalid username or password", status=401
        )
    return account


def check_path_account(account_sid: str, path_account: str) -> None:
    """A path naming another account is treated as not found: nothing of it is visible."""
    if path_account != account_sid:
        raise TextwireError(20404, f"The requested resource /Accounts/{path_account} was not found")
