"""Per-account snapshots kept for a few seconds, loaded once at a time.

Every send reads some per-account state (senders, consent, link settings); a database read
per message would double the hot path. A snapshot is loaded in one go and kept for ``ttl``
seconds, so other processes' changes arrive within that. When a snapshot expires under
load every request in flight needs it at once: they share one load instead of each
opening a read.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Generic, Protocol, TypeVar


class Snapshot(Protocol):
    @property
    def loaded_at(self) -> float:
        """``time.monotonic()`` when the load began: the snapshot is fresh for ``ttl`` after."""
        ...


S = TypeVar("S", bound=Snapshot)


class SnapshotCache(Generic[S]):
    def __init__(self, load: Callable[[str], Awaitable[S]], ttl: float, max_entries: int = 100_000):
        self._load = load
        self._ttl = ttl
        self._max = max_entries
        self._snapshots: dict[str, S] = {}
        self._loading: dict[str, asyncio.Task[S]] = {}

    def invalidate(self, key: str) -> None:
        self._snapshots.pop(key, None)
        self._loading.pop(key, None)  # a load already running may predate the change

    async def get(self, key: str) -> S:
        snap = self._snapshots.get(key)
        if snap is not None and time.monotonic() - snap.loaded_at < self._ttl:
            return snap
        task = self._loading.get(key)
        if task is None:
            task = asyncio.create_task(self._load(key))  # type: ignore[arg-type]
            self._loading[key] = task
            task.add_done_callback(lambda done: self._loaded(key, done))
        # Shielded: a caller that goes away must not cancel the load the others wait for.
        return await asyncio.shield(task)

    def _loaded(self, key: str, task: asyncio.Task[S]) -> None:
        if self._loading.get(key) is not task:
            return  # invalidated while loading: the result may be stale
        del self._loading[key]
        if not task.cancelled() and task.exception() is None:
            if len(self._snapshots) >= self._max:
                self._snapshots.clear()
            self._snapshots[key] = task.result()
