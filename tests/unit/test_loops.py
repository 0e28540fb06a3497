"""The loop supervisor (issue 11 §1b): a background loop that fails is logged with its
traceback, reported, and started again; one that stops while the process runs is reported."""

from __future__ import annotations

import asyncio
import logging

import pytest

from textwire.loops import LoopRegistry


async def _until(condition: object, timeout: float = 5) -> None:
    async with asyncio.timeout(timeout):
        while not condition():  # type: ignore[operator]
            await asyncio.sleep(0.005)


def test_a_failing_body_is_logged_reported_and_started_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """issue 11 §1b: the body raises twice, then runs; the loop never ends silently."""

    async def scenario() -> None:
        registry = LoopRegistry(first_backoff=0.01, max_backoff=0.02)
        stop = asyncio.Event()
        started = 0
        go_on = asyncio.Event()

        async def body(stop: asyncio.Event) -> None:
            nonlocal started
            started += 1
            if started <= 2:
                raise OSError(f"disk gone {started}")
            go_on.set()
            await stop.wait()

        task = asyncio.create_task(registry.supervise("writer", body, stop))
        await go_on.wait()
        (status,) = registry.statuses()
        assert status.state == "running" and status.failures == 2
        assert status.last_error == "OSError"  # the type only: the probe is public
        assert registry.unhealthy() == []
        stop.set()
        await task
        assert status.state == "stopped"

    with caplog.at_level(logging.ERROR, logger="textwire.loops"):
        asyncio.run(scenario())
    failures = [r for r in caplog.records if r.getMessage().startswith("background loop failed")]
    assert len(failures) == 2
    assert all(r.exc_info and "disk gone" in str(r.exc_info[1]) for r in failures)


def test_a_loop_that_failed_is_unhealthy_while_it_waits_to_start_again() -> None:
    async def scenario() -> None:
        registry = LoopRegistry(first_backoff=60, max_backoff=60)
        stop = asyncio.Event()

        async def body(stop: asyncio.Event) -> None:
            raise RuntimeError("boom")

        task = asyncio.create_task(registry.supervise("deliverer", body, stop))
        await _until(lambda: [s.state for s in registry.statuses()] == ["failed"])
        assert [s.name for s in registry.unhealthy()] == ["deliverer"]
        assert registry.statuses()[0].as_json()["last_error"] == "RuntimeError"
        stop.set()  # ends the backoff at once
        await task
        registry.stopping = True
        assert registry.unhealthy() == []

    asyncio.run(scenario())


def test_a_body_that_returns_unasked_is_started_again() -> None:
    async def scenario() -> None:
        registry = LoopRegistry(first_backoff=0.01, max_backoff=0.01)
        stop = asyncio.Event()
        runs = 0

        async def body(stop: asyncio.Event) -> None:
            nonlocal runs
            runs += 1
            if runs >= 3:
                await stop.wait()

        task = asyncio.create_task(registry.supervise("listener", body, stop))
        await _until(lambda: runs >= 3)
        (status,) = registry.statuses()
        assert status.failures == 2 and status.last_error == "returned"
        stop.set()
        await task

    asyncio.run(scenario())


def test_a_loop_cancelled_while_the_process_runs_is_reported_stopped() -> None:
    async def scenario() -> None:
        registry = LoopRegistry()
        stop = asyncio.Event()

        async def body(stop: asyncio.Event) -> None:
            await stop.wait()

        task = asyncio.create_task(registry.supervise("worker", body, stop))
        await _until(lambda: bool(registry.statuses()))
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert [s.name for s in registry.unhealthy()] == ["worker"]
        assert registry.statuses()[0].state == "stopped"

    asyncio.run(scenario())
