"""Writing status changes: the row, its event, and its status callback, in one transaction."""

from __future__ import annotations

from collections import ChainMap, Counter
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import bindparam, insert, update
from sqlalchemy.ext.asyncio import AsyncConnection

from textwire import tables as t
from textwire.messages.callbacks import status_callback_params
from textwire.messages.model import Change
from textwire.messages.status import Status
from textwire.outbox.rows import WebhookRow, form_webhook_row
from textwire.runtime import Runtime

__all__ = ["Change", "record"]  # Change lives in messages.model (pure); callers import it here too


async def record(conn: AsyncConnection, rt: Runtime, changes: Sequence[Change]) -> None:
    """Apply ``changes`` inside the caller's write transaction."""
    if not changes:
        return
    now = rt.clock.now()
    # Several changes may touch one row (queued, then sending): merge them in order so the
    # last one wins, then group rows by the columns they set for executemany.
    merged: dict[str, dict[str, Any]] = {}
    events: list[dict[str, Any]] = []
    hooks: list[WebhookRow] = []
    counts: Counter[Status] = Counter()
    tokens: dict[str, str] = {}
    for ch in changes:
        sid = ch.row["sid"]
        values = merged.get(sid)
        if values is None:
            values = merged[sid] = {"date_updated": now}
        values.update(ch.values)
        if ch.status is None:
            continue
        values["status"] = ch.status
        if ch.error_code is not None:
            values["error_code"] = ch.error_code
            values["error_message"] = ch.error_message
        events.append(
            {"message_sid": sid, "status": ch.status, "error_code": ch.error_code, "at": now}
        )
        counts[ch.status] += 1
        url = ch.row.get("status_callback")
        if url and ch.callback:
            account = ch.row["account_sid"]
            token = tokens.get(account)
            if token is None:
                token = tokens[account] = await rt.tokens.token(account)
            # The row as this change leaves it: its columns, then what the changes set.
            current = ChainMap(values, cast(dict[str, Any], ch.row))  # read, never written
            params = status_callback_params(current, ch.status, ch.error_code, now)
            hooks.append(
                form_webhook_row(
                    account_sid=account,
                    message_sid=sid,
                    kind="status",
                    url=url,
                    params=params,
                    token=token,
                    now=now,
                )
            )
    for status, n in counts.items():
        rt.metrics.transitions.labels(status).inc(n)
    # Rows are grouped by the columns they set, in the order set (one batch's rows mostly
    # share it, and the bulk statement is compiled once per key order).
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for sid, values in merged.items():
        values["_sid"] = sid
        cols = tuple(values)
        group = groups.get(cols)
        if group is None:
            group = groups[cols] = []
        group.append(values)
    m = t.messages
    for cols, params_list in groups.items():
        stmt = (
            update(m)
            .where(m.c.sid == bindparam("_sid"))
            .values({c: bindparam(c) for c in cols if c != "_sid"})
        )
        await rt.db.executemany(conn, stmt, params_list, key="messages.update_by_sid")
    await rt.db.executemany(conn, insert(t.message_events), events, key="message_events.insert")
    await rt.db.executemany(conn, insert(t.webhooks), hooks, key="webhooks.insert")
