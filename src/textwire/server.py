"""Running textwire: the API, the dispatch worker and the webhook deliverer, by role.

``all`` runs every role in one process (the default); ``api``, ``worker`` split them
across processes or machines sharing one PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import uvicorn

from textwire.api.app import create_app
from textwire.config import Role, Settings
from textwire.dispatch.webhooks import WebhookDeliverer
from textwire.dispatch.worker import Worker, worker_id
from textwire.runtime import Runtime, open_runtime

log = logging.getLogger("textwire.server")


@dataclass
class Running:
    """A started textwire: its runtime, the API's bound port, and a way to stop it."""

    rt: Runtime
    port: int | None
    stop: asyncio.Event
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    uvicorn_server: uvicorn.Server | None = None


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: ``serve_forever`` owns the signals."""

    def install_signal_handlers(self) -> None:  # uvicorn < 0.29
        return None

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # uvicorn >= 0.29
        yield


def _uvicorn(rt: Runtime, host: str, port: int) -> uvicorn.Server:
    config = uvicorn.Config(
        create_app(rt),
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=5,
    )
    return _Server(config)


@contextlib.asynccontextmanager
async def started(
    settings: Settings, role: Role = "all", rt: Runtime | None = None
) -> AsyncIterator[Running]:
    """Start the roles asked for; on exit stop them gracefully and close the runtime."""
    own_rt = rt is None
    rt = rt or await open_runtime(settings)
    stop = asyncio.Event()
    running = Running(rt=rt, port=None, stop=stop)
    try:
        if role in ("all", "worker"):
            owner = worker_id()
            running.tasks.append(asyncio.create_task(Worker(rt, owner).run(stop)))
            running.tasks.append(asyncio.create_task(WebhookDeliverer(rt, owner).run(stop)))
        if role in ("all", "api"):
            server = _uvicorn(rt, settings.host, settings.port)
            running.uvicorn_server = server
            running.tasks.append(asyncio.create_task(server.serve()))
            while not server.started:
                if running.tasks[-1].done():
                    running.tasks[-1].result()  # surface why it could not start
                await asyncio.sleep(0.01)
            running.port = server.servers[0].sockets[0].getsockname()[1]
        yield running
    finally:
        stop.set()
        if running.uvicorn_server is not None:
            running.uvicorn_server.should_exit = True
        await asyncio.gather(*running.tasks, return_exceptions=True)
        if own_rt:
            await rt.close()


async def serve_forever(settings: Settings, role: Role) -> None:
    """``textwire serve``: run until SIGINT/SIGTERM, then stop gracefully."""
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, done.set)
    async with started(settings, role) as running:
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
