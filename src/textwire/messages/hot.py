"""The create-message route answered below FastAPI: the API's hottest path.

``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` is what every Twilio client calls
to send, and FastAPI's layers (middleware, routing through included routers, dependency
solving, ``Response`` objects and their ``send`` wrappers) cost about as much CPU as
creating the message itself (py-spy on ``bench/send_api.py``). Here the request is read
straight from the ASGI scope and handed to the same ``messages.create()`` the FastAPI route
calls, and errors are rendered exactly as ``app.py``'s handlers render them, so a client
cannot tell the two apart (``tests/integration/test_hot_create.py`` compares them).
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from typing import Any, Final

import orjson
from starlette.requests import ClientDisconnect
from starlette.types import Receive, Scope, Send

from textwire.errors import TextwireError
from textwire.messages import api as messages
from textwire.messages.serialize import API_VERSION
from textwire.runtime import Runtime

log = logging.getLogger("textwire.api")

CREATE_PATH: Final = re.compile(rf"/{re.escape(API_VERSION)}/Accounts/([^/]+)/Messages\.json")
_WANTED: Final = frozenset({b"authorization", b"content-type", b"content-length"})
_JSON: Final = (b"content-type", b"application/json")


def create_account(scope: Scope) -> str | None:
    """The path's ``AccountSid`` if ``scope`` is a create-message request, else None."""
    # A mounted app (root_path) routes by a path FastAPI derives; leave that case to FastAPI.
    if scope["type"] != "http" or scope["method"] != "POST" or scope.get("root_path"):
        return None
    match = CREATE_PATH.fullmatch(scope["path"])
    return match.group(1) if match else None


async def serve_create(
    rt: Runtime, account: str, scope: Scope, receive: Receive, send: Send
) -> None:
    """Answer one create-message request: 201 and the message, or the coded error."""
    headers = _headers(scope)
    body: Any
    try:
        body = await messages.create(
            rt,
            account,
            authorization=headers.get(b"authorization", ""),
            content_type=headers.get(b"content-type", ""),
            content_length=headers.get(b"content-length"),
            chunks=_body(receive),
        )
        status = 201
    except TextwireError as exc:
        status, body = exc.status, exc.to_body()
    except ClientDisconnect:
        return  # the client went away mid-body: there is nobody to answer
    except Exception:
        log.exception("unhandled error", extra={"path": scope["path"]})
        err = TextwireError(20500, "Internal server error", status=500)
        status, body = 500, err.to_body()
    payload = orjson.dumps(body)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-length", str(len(payload)).encode()), _JSON],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def _headers(scope: Scope) -> dict[bytes, str]:
    """The headers this route reads; the first of repeated ones, as Starlette's ``get``."""
    found: dict[bytes, str] = {}
    for name, value in scope["headers"]:
        if name in _WANTED and name not in found:
            found[name] = value.decode("latin-1")
    return found


async def _body(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        yield message.get("body", b"")
        if not message.get("more_body", False):
            return
