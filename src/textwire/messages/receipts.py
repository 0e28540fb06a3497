"""Delivery receipts applied to messages, and the writes every part of a message's life shares.

The worker (the sandbox's receipts, a receipt that came with a hand-over answer) and ingest
(every remote provider's receipts) both call :func:`apply_receipts`: the rules are
``lifecycle.receipt`` and the long-code fallback (F-SVC-4), the statements are the store's.

Nothing here takes the whole ``Runtime``: callers pass any object with the parts named by
:class:`ChangeDeps` / :class:`ReceiptDeps` (the runtime record has them all), so this domain
module imports no layer above it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from textwire.accounts import TokenCache
from textwire.clock import Clock
from textwire.db import Database
from textwire.messages import lifecycle, store
from textwire.messages.model import Change, ClaimedMessage
from textwire.metrics import Metrics
from textwire.phone import InvalidPhoneNumber, parse_phone
from textwire.providers.base import Receipt
from textwire.senders.directory import Directory
from textwire.senders.pool import PoolCache, choose
from textwire.senders.selection import NoEligibleSender


class ChangeDeps(Protocol):
    """What recording a change needs: the database, the time, the counters, and each
    account's token to sign its status callbacks with."""

    db: Database
    clock: Clock
    metrics: Metrics
    tokens: TokenCache


class ReceiptDeps(ChangeDeps, Protocol):
    """What applying a receipt needs besides: the senders, for the long-code fallback."""

    directory: Directory
    pools: PoolCache


async def record_changes(conn: AsyncConnection, deps: ChangeDeps, changes: list[Change]) -> None:
    """``store.record`` with its collaborators taken from ``deps``."""
    await store.record(
        conn, deps.db, changes, now=deps.clock.now(), metrics=deps.metrics, token=deps.tokens.token
    )


async def apply_receipts(
    conn: AsyncConnection, deps: ReceiptDeps, receipts: Sequence[Receipt]
) -> None:
    """Move messages awaiting a receipt to delivered/undelivered; ignore late or repeated ones.

    Each receipt names its message by SID here (ingest has turned provider references into
    SIDs already); one that does not is not this function's to place."""
    receipts = [rc for rc in receipts if rc.message_sid is not None]
    if not receipts:
        return
    current = await store.rows_by_sid(conn, {rc.message_sid for rc in receipts if rc.message_sid})
    now = deps.clock.now()
    changes: list[Change] = []
    for rc in receipts:
        row = current.get(rc.message_sid or "")
        if row is None:
            continue
        moved = lifecycle.receipt(row, rc.status, rc.error_code, now=now)
        if not moved:
            continue
        changes += moved
        if rc.status == "undelivered":
            retry = await fallback_to_long_code(deps, row, rc.error_code)
            if retry is not None:
                changes.append(retry)
    await record_changes(conn, deps, changes)


async def fallback_to_long_code(
    deps: ReceiptDeps, row: ClaimedMessage, error_code: int | None
) -> Change | None:
    """F-SVC-4: the long code to re-send an undelivered short-code message from, when
    the rules (``lifecycle.may_fall_back``, ``falls_back_from``) allow and a pool has one."""
    if not lifecycle.may_fall_back(row):
        return None
    snap = await deps.directory.account(row["account_sid"])
    service = snap.services.get(row["service_sid"] or "")
    sender = snap.senders_by_sid.get(row["sender_sid"] or "")
    if service is None or not lifecycle.falls_back_from(
        sender.kind if sender else None, service_allows=service.fallback_to_long_code
    ):
        return None
    try:
        recipient = parse_phone(row["to_addr"])
    except InvalidPhoneNumber:
        return None
    pool = await deps.pools.pool(service.sid, snap.pools.get(service.sid, []))
    picked = choose(pool, service, recipient, short_code_ok=False)
    if isinstance(picked, NoEligibleSender):
        return None
    long_code = snap.senders_by_sid[picked.sender_sid]
    return lifecycle.fall_back(
        row,
        sender_sid=long_code.sid,
        from_addr=long_code.value,
        integration_sid=long_code.integration_sid,
        rule=picked.rule,
        error_code=error_code,
        now=time.time(),
    )
