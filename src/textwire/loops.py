"""Background loops under one supervisor, and what ``/healthz`` reports of them.

Every background loop of a process (the dispatch worker, the webhook deliverer, the click
writer, the redirect listener) runs as ``registry.supervise(name, body, stop)``. A body
that raises is logged with its traceback, marked ``failed``, and started again after a
backoff; a body that returns while the process still runs is treated the same way. So no
loop ends silently, and a probe sees the one that keeps failing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

log = logging.getLogger("textwire.loops")

LoopState = Literal["running", "failed", "stopped"]
Body = Callable[[asyncio.Event], Awaitable[None]]

FIRST_BACKOFF = 1.0
MAX_BACKOFF = 30.0
# A body that ran this long before failing was healthy: its next failure starts the
# backoff from the beginning again.
HEALTHY_AFTER = 60.0


@dataclass
class LoopStatus:
    """One loop as ``/healthz`` shows it (times are Unix seconds)."""

    name: str
    state: LoopState
    since: float
    """When it entered ``state``."""
    failures: int = 0
    """How many times its body failed (raised, or returned unasked) since the process started."""
    last_error: str | None = None
    """The last failure's exception type; its traceback is in the log, not here: the
    probe is unauthenticated and a message can carry a URL or a value."""
    last_error_at: float | None = None

    def as_json(self) -> dict[str, object]:
        return {
            "state": self.state,
            "since": self.since,
            "failures": self.failures,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at,
        }


class LoopRegistry:
    """The background loops of one process, by name."""

    def __init__(self, *, first_backoff: float = FIRST_BACKOFF, max_backoff: float = MAX_BACKOFF):
        self._loops: dict[str, LoopStatus] = {}
        self._first_backoff = first_backoff
        self._max_backoff = max_backoff
        self.stopping = False
        """Set when the process shuts down: its loops stopping is then expected."""

    def statuses(self) -> list[LoopStatus]:
        return list(self._loops.values())

    def unhealthy(self) -> list[LoopStatus]:
        """Loops that failed, or stopped while the process still runs."""
        return [
            s
            for s in self._loops.values()
            if s.state == "failed" or (s.state == "stopped" and not self.stopping)
        ]

    def failing(self, name: str, exc: BaseException) -> None:
        """A loop that retries its own steps (the dispatch worker retries a failed tick at
        once: a lock timeout must not cost a backoff) reports each failed step here, so a
        probe sees a loop that runs but gets nothing done. Unknown names are ignored: a loop
        run outside a supervisor (a test, a bench) has nobody to report to."""
        status = self._loops.get(name)
        if status is None or status.state == "stopped":
            return
        status.failures += 1
        status.last_error, status.last_error_at = type(exc).__name__, time.time()
        if status.state != "failed":
            self._enter(status, "failed")

    def recovered(self, name: str) -> None:
        """A step of a loop that reported ``failing`` went through again."""
        status = self._loops.get(name)
        if status is not None and status.state == "failed":
            self._enter(status, "running")

    def _enter(self, status: LoopStatus, state: LoopState) -> None:
        status.state = state
        status.since = time.time()

    async def supervise(self, name: str, body: Body, stop: asyncio.Event) -> None:
        """Run ``body(stop)`` until ``stop`` is set, starting it again whenever it fails."""
        if name in self._loops and self._loops[name].state != "stopped":
            raise ValueError(f"loop {name!r} is already running")
        status = self._loops[name] = LoopStatus(name, "running", time.time())
        backoff = self._first_backoff
        try:
            while not stop.is_set():
                self._enter(status, "running")
                started = time.monotonic()
                try:
                    await body(stop)
                except Exception as exc:
                    log.exception("background loop failed; restarting", extra={"loop": name})
                    error = type(exc).__name__
                else:
                    if stop.is_set():
                        break
                    log.error("background loop returned unasked; restarting", extra={"loop": name})
                    error = "returned"
                status.failures += 1
                status.last_error, status.last_error_at = error, time.time()
                self._enter(status, "failed")
                if time.monotonic() - started >= HEALTHY_AFTER:
                    backoff = self._first_backoff
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), backoff)
                backoff = min(self._max_backoff, backoff * 2)
        finally:
            self._enter(status, "stopped")
