"""``create_app()``: the API's composition, its error rendering and its health endpoints."""

from __future__ import annotations

import logging
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from textwire import __version__
from textwire.api import accounts, keys
from textwire.api.declare import install_openapi
from textwire.api.params import path_refusal
from textwire.campaigns import template_api
from textwire.consent import api as consent_api
from textwire.contacts import api as contacts_api
from textwire.contacts import audience_api
from textwire.errors import TextwireError
from textwire.links import api as links_api
from textwire.messages import api as messages_api
from textwire.messages import hot, store
from textwire.providers import api as providers_api
from textwire.runtime import Runtime
from textwire.senders import api as senders_api
from textwire.senders import service_api

log = logging.getLogger("textwire.api")


class TextwireAPI(FastAPI):
    """FastAPI, except that creating a message is answered below it (``messages/hot.py``).

    Every route, the create route included, stays declared on FastAPI: the OpenAPI document
    and the docs test read them, and ``hot_paths=False`` serves everything through FastAPI
    (what the hot path is tested against).
    """

    def __init__(self, rt: Runtime, *, hot_paths: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.state.rt = rt
        self._rt = rt
        self._hot_paths = hot_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            # One check for every route's path parameters (SIDs), the hot path's included.
            refused = path_refusal(scope["path"], scope.get("raw_path"))
            if refused is not None:
                answer = JSONResponse(refused.to_body(), status_code=refused.status)
                await answer(scope, receive, send)
                return
        if self._hot_paths and not self.root_path:
            account = hot.create_account(scope)
            if account is not None:
                await hot.serve_create(self._rt, account, scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def create_app(rt: Runtime, *, hot_paths: bool = True) -> FastAPI:
    app = TextwireAPI(
        rt,
        hot_paths=hot_paths,
        title="textwire",
        version=__version__,
        description="Self-hosted SMS messaging with a Twilio-compatible API.",
    )
    app.include_router(messages_api.router)
    app.include_router(keys.router)
    app.include_router(accounts.router)
    app.include_router(contacts_api.router)  # before consent's /v1/Contacts/{sid}
    app.include_router(consent_api.router)  # before service_api's /v1/Services/{s}/{kind}
    app.include_router(service_api.router)
    app.include_router(senders_api.router)
    app.include_router(links_api.router)
    app.include_router(providers_api.router)
    app.include_router(template_api.router)
    app.include_router(audience_api.router)
    _install_error_handlers(app)
    install_openapi(app)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        return await health(rt)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return await metrics_page(rt)

    return app


async def health(rt: Runtime) -> JSONResponse:
    """``/healthz``: 200 when the database answers and every background loop of this
    process runs; 503 with the reason when not. ``loops`` reports each loop by name."""
    try:
        async with rt.db.read() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:  # report, do not crash: this is what the probe is for
        # Its type only: the probe needs no login, and a driver's text can name hosts, users
        # or values; the log has the rest.
        log.warning("healthz: the database did not answer", exc_info=True)
        database: str | None = type(exc).__name__
    else:
        database = None
    # After the await: the loops' states and the verdict are read at one moment.
    loops = {status.name: status.as_json() for status in rt.loops.statuses()}
    if database is not None:
        return JSONResponse(
            {"status": "error", "database": database, "loops": loops}, status_code=503
        )
    body: dict[str, Any] = {"status": "ok", "version": __version__, "loops": loops}
    unhealthy = rt.loops.unhealthy()
    if unhealthy:
        body |= {"status": "error", "failing": [status.name for status in unhealthy]}
        return JSONResponse(body, status_code=503)
    return JSONResponse(body)


async def metrics_page(rt: Runtime) -> Response:
    """``/metrics``: this process's counters and histograms, and the queue's gauges."""
    await sample_gauges(rt)
    return Response(rt.metrics.render(), media_type="text/plain; version=0.0.4")


def probes_app(rt: Runtime) -> Starlette:
    """Only ``/healthz`` and ``/metrics``, on ``metrics_port``: how a process without the
    API (a worker, a redirect server) is probed and scraped. Dispatch latency, transitions
    and webhook failures are counted in the process that does the work."""

    async def healthz(_: Request) -> Response:
        return await health(rt)

    async def metrics(_: Request) -> Response:
        return await metrics_page(rt)

    return Starlette(routes=[Route("/healthz", healthz), Route("/metrics", metrics)])


async def sample_gauges(rt: Runtime) -> None:
    """Queue depth and messages by status, read from the table that is the queue."""
    counts, depth = await store.gauges(rt.db, time.time())
    rt.metrics.messages_by_status.clear()
    for status, count in counts:
        rt.metrics.messages_by_status.labels(status).set(count)
    rt.metrics.queue_depth.set(depth)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(TextwireError)
    async def _textwire(_: Request, exc: TextwireError) -> JSONResponse:
        return JSONResponse(exc.to_body(), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path"))
        err = TextwireError(20001, f"Invalid parameter '{where}': {first.get('msg', 'invalid')}")
        return JSONResponse(err.to_body(), status_code=400)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        # Twilio's codes: 20404 not found, 20004 method not allowed.
        code = {404: 20404, 405: 20004}.get(exc.status_code, exc.status_code)
        detail = (
            f"The requested resource {request.url.path} was not found"
            if exc.status_code == 404
            else str(exc.detail)
        )
        return JSONResponse(
            TextwireError(code, detail, status=exc.status_code).to_body(),
            status_code=exc.status_code,
        )

    # Its own handler (not the catch-all below, which Starlette re-raises to the server's
    # error log): a client that left mid-body is not textwire's error, and nobody is there
    # to read an answer.
    @app.exception_handler(ClientDisconnect)
    async def _gone(request: Request, exc: ClientDisconnect) -> Response:
        log.info("client disconnected before its request body arrived")
        return Response(status_code=499)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", extra={"path": request.url.path})
        err = TextwireError(20500, "Internal server error", status=500)
        return JSONResponse(err.to_body(), status_code=500)
