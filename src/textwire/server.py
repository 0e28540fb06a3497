"""Running textwire: the API, the dispatch worker and the webhook deliverer, by role.

``all`` runs every role in one process (the default); ``api``, ``worker`` split them
across processes or machines sharing one PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import socket
from collections.abc import AsyncIterator, Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import uvicorn
from starlette.types import ASGIApp

from textwire.api.app import create_app, probes_app
from textwire.compose import open_runtime
from textwire.config import Role, Settings
from textwire.dispatch.worker import LOOP_NAME as WORKER_LOOP
from textwire.dispatch.worker import Worker, worker_id
from textwire.http_deadlines import deadline_protocol
from textwire.links.clicks import ClickRecorder
from textwire.links.listener import RedirectListener
from textwire.links.redirect import redirector
from textwire.loops import Body
from textwire.outbox.deliverer import WebhookDeliverer
from textwire.runtime import Runtime

log = logging.getLogger("textwire.server")
T = TypeVar("T")


@dataclass
class Running:
    """A started textwire: its runtime, the API's bound port, and a way to stop it."""

    rt: Runtime
    port: int | None
    stop: asyncio.Event
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    uvicorn_server: uvicorn.Server | None = None
    probes_server: uvicorn.Server | None = None
    metrics_port: int | None = None
    redirect_port: int | None = None
    redirect_listener: RedirectListener | None = None
    clicks: ClickRecorder | None = None

    def supervise(self, name: str, body: Body) -> None:
        """Run a background loop under the runtime's supervisor (``/healthz`` reports it)."""
        self.tasks.append(asyncio.create_task(self.rt.loops.supervise(name, body, self.stop)))


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: ``serve_forever`` owns the signals."""

    def install_signal_handlers(self) -> None:  # uvicorn < 0.29
        return None

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # uvicorn >= 0.29
        yield


class StartupError(Exception):
    """textwire could not start (a port it must listen on is taken, say): one line to print."""


def uvicorn_config(
    app: ASGIApp,
    host: str,
    port: int,
    *,
    idle_timeout: float = 5.0,
    request_timeout: float = 30.0,
) -> uvicorn.Config:
    """How textwire serves HTTP; ``bench/send_api.py`` serves its baseline app the same way.

    Idle connections and clients that send a request too slowly are closed
    (http_deadlines.py); uvicorn alone keeps them forever."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=deadline_protocol(idle_timeout, request_timeout),
        timeout_keep_alive=max(1, round(idle_timeout)),
        log_config=None,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=5,
    )


def listening_socket(host: str, port: int, what: str) -> socket.socket:
    """A socket bound to ``host:port``, or StartupError naming the port and why not.

    Bound here rather than by uvicorn, which on a busy port logs and calls ``sys.exit``."""
    try:
        family, kind, proto, _name, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
        except OSError:
            sock.close()
            raise
    except OSError as exc:
        raise cannot_listen(host, port, what, exc) from None
    return sock


def cannot_listen(host: str, port: int, what: str, exc: OSError) -> StartupError:
    # asyncio wraps the errno in "error while attempting to bind on address ...": the errno's
    # own text is the reason.
    reason = os.strerror(exc.errno) if exc.errno else str(exc)
    return StartupError(f"cannot listen on {host}:{port} for the {what} port: {reason.lower()}")


async def _serve_http(
    running: Running, server: uvicorn.Server, host: str, port: int, what: str
) -> int:
    """Start ``server`` on ``host:port``; the port it listens on."""
    sock = listening_socket(host, port, what)
    running.tasks.append(task := asyncio.create_task(server.serve(sockets=[sock])))
    while not server.started:
        if task.done():
            task.result()  # surface why it could not start
            raise StartupError(f"the {what} port's HTTP server stopped while starting")
        await asyncio.sleep(0.01)
    return int(server.servers[0].sockets[0].getsockname()[1])


def _http_server(app: ASGIApp, settings: Settings, port: int) -> uvicorn.Server:
    return _Server(
        uvicorn_config(
            app,
            settings.host,
            port,
            idle_timeout=settings.http_idle_timeout,
            request_timeout=settings.http_request_timeout,
        )
    )


@contextlib.asynccontextmanager
async def started(
    settings: Settings, role: Role = "all", rt: Runtime | None = None
) -> AsyncIterator[Running]:
    """Start the roles asked for; on exit stop them gracefully and close the runtime."""
    own_rt = rt is None
    rt = rt or await open_runtime(settings)
    stop = asyncio.Event()
    running = Running(rt=rt, port=None, stop=stop)
    rt.loops.stopping = False
    try:
        if role in ("all", "worker"):
            owner = worker_id()
            running.supervise(WORKER_LOOP, Worker(rt, owner).run)
            running.supervise(
                "deliverer",
                WebhookDeliverer(
                    db=rt.db, settings=rt.settings, clock=rt.clock, metrics=rt.metrics, owner=owner
                ).run,
            )
        if role in ("all", "api"):
            server = _http_server(create_app(rt), settings, settings.port)
            running.uvicorn_server = server
            running.port = await _serve_http(running, server, settings.host, settings.port, "API")
        if role in ("all", "redirect"):
            await _start_redirect(running, settings)
        if settings.metrics_port is not None:
            probes = _http_server(probes_app(rt), settings, settings.metrics_port)
            running.probes_server = probes
            running.metrics_port = await _serve_http(
                running, probes, settings.host, settings.metrics_port, "metrics"
            )
        yield running
    finally:
        rt.loops.stopping = True
        stop.set()
        for http_server in (running.uvicorn_server, running.probes_server):
            if http_server is not None:
                http_server.should_exit = True
        # The redirect listener's task stops it on ``stop`` (finishing in-flight requests).
        outcomes = await asyncio.gather(*running.tasks, return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, Exception):  # an HTTP server's: the loops log their own
                log.error("server task failed", exc_info=outcome)
        if running.clicks is not None:  # after the listener stopped: every click is in
            await running.clicks.close()
        if own_rt:
            await rt.close()


def settle_gc() -> None:
    """Call once everything long-lived is built: keep the cycle collector off it.

    A serving process holds ~10^5 objects for its whole life (routes, schemas, SQLAlchemy
    metadata); by default every full collection walks all of them, and under load full
    collections ran several times a second. Freezing moves them out of the collector's
    view, and a larger young generation lets reference counting free a request's garbage
    before a collection starts (full collections took ~13% of the API's CPU in
    bench/send_api.py before this).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


async def _start_redirect(running: Running, settings: Settings) -> None:
    """The redirect server and its click buffer's flusher.

    Its own HTTP listener (links/listener.py), not uvicorn: on the hottest path the ASGI
    server was the ceiling (bench/README.md, redirect).
    """
    decide = redirector(running.rt)
    running.clicks = decide.clicks
    listener = RedirectListener(decide)
    try:
        await listener.start(settings.host, settings.redirect_port)
    except OSError as exc:
        raise cannot_listen(settings.host, settings.redirect_port, "redirect", exc) from None
    running.redirect_listener = listener
    running.supervise("click_writer", decide.clicks.run)
    running.supervise("redirect_listener", listener.serve_until)
    running.redirect_port = listener.port
    if not settings.link_base_url:
        running.rt.links.default_base = f"http://{settings.host}:{running.redirect_port}"


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run a top-level coroutine on uvloop (uvicorn[standard] installs it), else asyncio's loop.

    ``uvicorn.run`` would pick uvloop itself, but textwire starts uvicorn inside its own
    loop (beside the worker), so the choice is made here.
    """
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is not built for every platform
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


async def serve_forever(settings: Settings, role: Role) -> None:
    """``textwire serve``: run until SIGINT/SIGTERM, then stop gracefully."""
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, done.set)
    async with started(settings, role) as running:
        settle_gc()
        log.info(
            "textwire started",
            extra={
                "role": role,
                "port": running.port,
                "database": settings.resolved_database_url().split("@")[-1],
            },
        )
        await done.wait()
        log.info("textwire stopping")
