"""Group commit for new messages: many concurrent creates share one write transaction.

Each API request queues its rows and waits; one drain task writes whatever has queued
since the last commit in a single transaction. Under load this turns a thousand commits
into a handful without making a lone request wait for company.

A message may bring rows of other tables (its short links) that must commit with it:
they ride in the same transaction, inserted after the messages.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, insert

from textwire.db import Database
from textwire.messages import store

Row = dict[str, Any]
Extra = Sequence[tuple[Table, Row]]
_Item = tuple[Row, Row, Extra, "asyncio.Future[None]"]


class MessageInserter:
    def __init__(self, db: Database, max_batch: int = 256):
        self._db = db
        self._max = max_batch
        self._queue: list[_Item] = []
        self._task: asyncio.Task[None] | None = None

    async def insert(self, message: Row, event: Row, extra: Extra = ()) -> None:
        """Store one message, its first event and its ``extra`` rows; returns once committed."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((message, event, extra, fut))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain())
        await fut

    async def _drain(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[: self._max], self._queue[self._max :]
            try:
                await self._write(batch)
            except Exception:
                # One bad row must not fail its neighbours: write them one by one.
                for item in batch:
                    await self._write_one(item)
                continue
            for *_, fut in batch:
                if not fut.done():
                    fut.set_result(None)

    async def _write(self, batch: list[_Item]) -> None:
        others: dict[Table, list[Row]] = {}
        for _, _, extra, _ in batch:
            for table, row in extra:
                others.setdefault(table, []).append(row)
        messages = [m for m, _, _, _ in batch]
        events = [e for _, e, _, _ in batch]
        async with self._db.write() as conn:
            await store.insert_batch(self._db, conn, messages, events)
            for table, rows in others.items():
                await conn.execute(insert(table), rows)

    async def _write_one(self, item: _Item) -> None:
        fut = item[3]
        try:
            await self._write([item])
        except Exception as exc:
            if not fut.done():
                fut.set_exception(exc)
        else:
            if not fut.done():
                fut.set_result(None)
