"""SnapshotCache: the one per-key cache of loads (senders, consent, links and, since issue 12
§8, credentials). Its rules, with a real event loop and no database."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import pytest

from textwire.snapshots import SnapshotCache


@dataclass(frozen=True)
class Snap:
    loaded_at: float
    value: int


class Source:
    """A load that waits on a gate, counting its calls; what it returns can be changed."""

    def __init__(self) -> None:
        self.value = 1
        self.calls = 0
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail = False

    async def load(self, key: str) -> Snap:
        self.calls += 1
        seen = self.value
        await self.gate.wait()
        if self.fail:
            raise RuntimeError("database down")
        return Snap(time.monotonic(), seen)


def test_requests_in_flight_share_one_load_and_then_the_cached_snapshot() -> None:
    async def run() -> None:
        src = Source()
        src.gate.clear()
        cache = SnapshotCache(src.load, ttl=3600)
        waiting = [asyncio.create_task(cache.get("a")) for _ in range(5)]
        await asyncio.sleep(0)
        src.gate.set()
        assert [s.value for s in await asyncio.gather(*waiting)] == [1] * 5
        assert src.calls == 1
        src.value = 2
        assert (await cache.get("a")).value == 1  # within ttl: cached
        assert src.calls == 1

    asyncio.run(run())


def test_an_expired_snapshot_is_loaded_again() -> None:
    async def run() -> None:
        src = Source()
        cache = SnapshotCache(src.load, ttl=0)
        assert (await cache.get("a")).value == 1
        src.value = 2
        assert (await cache.get("a")).value == 2
        assert src.calls == 2

    asyncio.run(run())


def test_invalidate_during_a_load_hands_its_result_over_but_does_not_keep_it() -> None:
    """The load may have read the state before the change invalidate() announces: its
    waiters get it (they asked before the change), later callers read again."""

    async def run() -> None:
        src = Source()
        src.gate.clear()
        cache = SnapshotCache(src.load, ttl=3600)
        before = asyncio.create_task(cache.get("a"))
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert src.calls == 1 and not before.done()
        cache.invalidate("a")
        src.value = 2
        src.gate.set()
        assert (await before).value == 1
        assert (await cache.get("a")).value == 2
        assert src.calls == 2
        assert (await cache.get("a")).value == 2  # and the new load is kept
        assert src.calls == 2

    asyncio.run(run())


def test_a_failed_load_reaches_its_waiters_and_is_not_kept() -> None:
    async def run() -> None:
        src = Source()
        src.fail = True
        cache = SnapshotCache(src.load, ttl=3600)
        with pytest.raises(RuntimeError):
            await cache.get("a")
        src.fail = False
        assert (await cache.get("a")).value == 1
        assert src.calls == 2

    asyncio.run(run())


def test_a_caller_that_goes_away_does_not_cancel_the_shared_load() -> None:
    async def run() -> None:
        src = Source()
        src.gate.clear()
        cache = SnapshotCache(src.load, ttl=3600)
        leaving = asyncio.create_task(cache.get("a"))
        staying = asyncio.create_task(cache.get("a"))
        await asyncio.sleep(0)
        leaving.cancel()
        src.gate.set()
        assert (await staying).value == 1
        assert src.calls == 1

    asyncio.run(run())
