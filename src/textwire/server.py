"""Running textwire: the API, the dispatch worker and the webhook deliverer, by role.

``all`` runs every role in one process (the default); ``api``, ``worker`` split them
across processes or machines sharing one PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import AsyncIterator, Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import uvicorn
from starlette.types import ASGIApp

from textwire.api.app import create_app, probes_app
from textwire.config import Role, Settings
from textwire.dispatch.webhooks import WebhookDeliverer
from textwire.dispatch.worker import Worker, worker_id
from textwire.links.clicks import ClickRecorder
from textwire.links.listener import RedirectListener
from textwire.links.redirect import redirector
from textwire.loops import Body
from textwire.runtime import Runtime, open_runtime

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


def uvicorn_config(app: ASGIApp, host: str, port: int) -> uvicorn.Config:
    """How textwire serves HTTP; ``bench/send_api.py`` serves its baseline app the same way."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=5,
    )


def _uvicorn(rt: Runtime, host: str, port: int) -> uvicorn.Server:
    return _Server(uvicorn_config(create_app(rt), host, port))


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
            running.supervise("worker", Worker(rt, owner).run)
            running.supervise("deliverer", WebhookDeliverer(rt, owner).run)
        if role in ("all", "api"):
            server = _uvicorn(rt, settings.host, settings.port)
            running.uvicorn_server = server
            running.tasks.append(asyncio.create_task(server.serve()))
            while not server.started:
                if running.tasks[-1].done():
                    running.tasks[-1].result()  # surface why it could not start
                await asyncio.sleep(0.01)
            running.port = server.servers[0].sockets[0].getsockname()[1]
        if role in ("all", "redirect"):
            await _start_redirect(running, settings)
        if settings.metrics_port is not None:
            probes = _Server(uvicorn_config(probes_app(rt), settings.host, settings.metrics_port))
            running.probes_server = probes
            running.tasks.append(task := asyncio.create_task(probes.serve()))
            while not probes.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.01)
            running.metrics_port = probes.servers[0].sockets[0].getsockname()[1]
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
    await listener.start(settings.host, settings.redirect_port)
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
