"""textwire's API in process, as datasette tests it: httpx's ASGI transport drives the app
itself, with no socket and no uvicorn, for the tests whose subject is not the listener.

The app runs on a ``LoopThread`` beside the dispatch worker and the webhook deliverer (the
same Runtime, as ``textwire serve`` runs them), so the synchronous clients the tests use
(httpx.Client, Twilio's official client) reach it from the test's thread.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
from starlette.types import ASGIApp
from twilio.http import HttpClient
from twilio.http.response import Response as TwilioResponse

from tests.support import AppUnderTest, LoopThread
from textwire.api.app import create_app
from textwire.compose import open_runtime
from textwire.config import Settings
from textwire.runtime import Runtime
from textwire.server import Running, started

# Never resolved: the transport hands every request to the app, whatever its host.
BASE_URL = "http://textwire.test"


class LoopTransport(httpx.BaseTransport):
    """A synchronous transport over ``httpx.ASGITransport``, run on ``thread``'s loop."""

    def __init__(self, app: ASGIApp, thread: LoopThread):
        # An exception escaping the app is answered 500, as uvicorn answers it.
        self._asgi = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        self._thread = thread

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        content = request.read()

        async def exchange() -> tuple[int, httpx.Headers, bytes]:
            inner = httpx.Request(
                request.method, request.url, headers=request.headers, content=content
            )
            answer = await self._asgi.handle_async_request(inner)
            raw = b"".join([chunk async for chunk in answer.aiter_raw()])
            return answer.status_code, answer.headers, raw

        status, headers, raw = self._thread.call(exchange())
        # The raw bytes: httpx.Client decodes them by their Content-Encoding, once.
        return httpx.Response(status, headers=headers, stream=httpx.ByteStream(raw))


def _form(values: Mapping[str, object] | None) -> list[tuple[str, str]]:
    """A dict encoded as ``requests`` encodes it (Twilio's default client): lists repeat
    the key, ``None`` is left out, other values are ``str()``-ed."""
    pairs: list[tuple[str, str]] = []
    for key, value in (values or {}).items():
        items = value if isinstance(value, list | tuple) else [value]
        pairs.extend((key, str(item)) for item in items if item is not None)
    return pairs


class TwilioOverHttpx(HttpClient):
    """Twilio's client's HTTP layer (``twilio.http.HttpClient``) over an ``httpx.Client``:
    what its default requests-based client sends, sent through the in-process app."""

    def __init__(self, http: httpx.Client):
        super().__init__(logger=logging.getLogger("twilio.http_client"), is_async=False)
        self._http = http

    def request(
        self,
        method: str,
        uri: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> TwilioResponse:
        headers = dict(headers or {})
        body: dict[str, Any] = {}
        if headers.get("Content-Type") in ("application/json", "application/scim+json"):
            body["json"] = data
        elif data:
            body["content"] = urlencode(_form(data))
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        query = urlencode(_form(params))
        answer = self._http.request(
            method.upper(),
            f"{uri}?{query}" if query else uri,
            headers=headers,
            auth=auth,
            follow_redirects=allow_redirects,
            **body,
        )
        return TwilioResponse(answer.status_code, answer.text, answer.headers)


@dataclass
class InProcess(AppUnderTest):
    """textwire's API, worker and webhook deliverer in this process, without a socket.

    ``http`` is an httpx.Client on the app (base URL ``url``); ``asgi`` the app itself, for
    an ``httpx.AsyncClient`` on the server's loop."""

    settings: Settings
    thread: LoopThread = field(default_factory=LoopThread)
    running: Running | None = None
    asgi: ASGIApp | None = None
    _http: httpx.Client | None = None
    _cm: contextlib.AbstractAsyncContextManager[Running] | None = None

    def start(self) -> InProcess:
        async def go() -> Running:
            # The fixtures' databases are migrated already (a copy of a migrated template).
            rt = await open_runtime(self.settings, migrate=False)
            # The worker role: the background loops the API's messages need, no listener.
            self._cm = started(self.settings, "worker", rt=rt)
            return await self._cm.__aenter__()

        self.running = self.thread.call(go())
        self.asgi = create_app(self.running.rt)
        transport = LoopTransport(self.asgi, self.thread)
        self._http = httpx.Client(transport=transport, base_url=BASE_URL, timeout=30)
        return self

    def stop(self) -> None:
        if self._http is not None:
            self._http.close()
        if self._cm is not None and self.running is not None:
            rt = self.running.rt
            self.thread.call(self._cm.__aexit__(None, None, None))
            self.thread.call(rt.close())
            self._cm = None
        self.thread.close()

    @property
    def rt(self) -> Runtime:
        assert self.running is not None
        return self.running.rt

    @property
    def url(self) -> str:
        return BASE_URL

    @property
    def http(self) -> httpx.Client:
        assert self._http is not None
        return self._http

    def twilio_http(self) -> HttpClient:
        return TwilioOverHttpx(self.http)
