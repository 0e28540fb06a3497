"""A message's life as pure rules: an event on a message, and the changes that follow.

Events: a claim by the dispatch worker, the sender chosen, the hand-over and its result
(accepted, a retryable error with backoff, a final error), a delivery receipt (one may
overtake the worker's own ``sent``), expiry of the validity period, a wait for a rate
window, the long-code fallback (F-SVC-4), cancel and redact (the Messages update route) and
delete. Each rule is written here once; the worker, ingest and the routes call it and write
the ``Change`` records it returns (``messages.store.record``).

No I/O and no clock: callers pass the time, the settings and whatever they looked up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, assert_never

from textwire.backoff import backoff
from textwire.messages.model import Change, ClaimedMessage, Message
from textwire.messages.status import IN_QUEUE, PENDING, Status

PRICE_PER_SEGMENT = 0.0079
# The longest wait between two hand-over attempts of one message.
MAX_BACKOFF = 300.0
# A message that reached its validity period before it was handed over (F-SVC-5).
EXPIRED = 30036
# A provider's refusal that names no code of its own, and giving up after retries.
SEND_FAILED = 30008


@dataclass(frozen=True, slots=True)
class Refusal:
    """An event the message's status does not allow: the API error to answer with."""

    code: int
    message: str


def idle() -> dict[str, Any]:
    """Off the queue: no due time, no lease."""
    return {"next_attempt_at": None, "lease_until": None, "lease_owner": None}


def fail(row: ClaimedMessage, code: int, message: str | None) -> Change:
    return Change(row, "failed", error_code=code, error_message=message, values=idle())


# --- claim ----------------------------------------------------------------------------------


def expired(row: ClaimedMessage, now: float) -> bool:
    """Past its validity period, counted from its send time (or creation)."""
    validity = row["validity_period"]
    if not validity:
        return False
    start = row["send_at"] or row["date_created"]
    return now > start.timestamp() + validity


def on_claim(row: ClaimedMessage, now: float) -> Change | None:
    """A due row just claimed: None to go on and send it, else the change that ends its turn.

    A row no longer pending only leaves the queue; one past its validity period fails."""
    status = row["status"]
    match status:
        case "accepted" | "scheduled" | "queued" | "sending":
            if expired(row, now):
                return fail(row, EXPIRED, "Validity period expired before hand-over")
            return None
        case (
            "sent" | "delivered" | "undelivered" | "failed" | "canceled" | "receiving" | "received"
        ):
            return Change(row, values=idle())
        case _:
            assert_never(status)


def sender_chosen(row: ClaimedMessage, values: dict[str, Any]) -> Change | None:
    """A sender picked from the service's pool (``values``: its columns): an accepted or
    scheduled message is queued now; a queued one only takes the columns."""
    status = row["status"]
    match status:
        case "accepted" | "scheduled":
            return Change(row, "queued", values=values)
        case "queued":
            return Change(row, values=values)
        case (
            "sending"
            | "sent"
            | "delivered"
            | "undelivered"
            | "failed"
            | "canceled"
            | "receiving"
            | "received"
        ):
            return None
        case _:
            assert_never(status)


def later(row: ClaimedMessage, due: float) -> Change:
    """Back in the queue until ``due`` (a rate window, or a sender another worker holds)."""
    return Change(row, values={"next_attempt_at": due, "lease_until": None})


def sending(row: ClaimedMessage) -> Change | None:
    """The hand-over begins: 'sending', one attempt more. None for a row already sending
    (a dead worker's; it is reconciled with the provider, not counted again)."""
    if row["status"] == "sending":
        return None
    return Change(row, "sending", values={"attempts": row["attempts"] + 1})


def attempt(row: ClaimedMessage) -> int:
    """1, or 2 once the long-code fallback re-queued the message."""
    return len((row["extra"] or {}).get("previous_attempts", [])) + 1


# --- hand-over result -----------------------------------------------------------------------


def not_accepted(
    row: ClaimedMessage,
    outcome: Literal["failed", "retry"],
    error_code: int | None,
    error_message: str | None,
    *,
    max_attempts: int,
    retry_base: float,
    now: float,
) -> Change:
    """The provider refused (final) or could not take it now (retry, with backoff, until
    ``max_attempts`` hand-overs were made)."""
    match outcome:
        case "failed":
            return fail(row, error_code or SEND_FAILED, error_message)
        case "retry":
            return retry(row, max_attempts=max_attempts, retry_base=retry_base, now=now)
        case _:
            assert_never(outcome)


def retry(row: ClaimedMessage, *, max_attempts: int, retry_base: float, now: float) -> Change:
    """Queued again after a backoff that grows with the attempts made; failed after the last."""
    attempts = row["attempts"]
    if attempts >= max_attempts:
        return fail(row, SEND_FAILED, f"Gave up after {attempts} attempts")
    wait = backoff(attempts, retry_base, MAX_BACKOFF)
    return Change(
        row,
        "queued",
        values={"next_attempt_at": now + wait, "lease_until": None},
        callback=False,
    )


def sent(
    row: ClaimedMessage, *, provider_sid: str | None, route: str | None, sent_at: datetime
) -> Change:
    """The provider took it: 'sent', priced, off the queue."""
    return Change(
        row,
        "sent",
        values={
            "next_attempt_at": None,
            "lease_until": None,
            "lease_owner": None,
            "provider_sid": provider_sid,
            "date_sent": sent_at,
            "price": f"{-PRICE_PER_SEGMENT * row['num_segments']:.5f}",
            # The integration that carried it: a backup while the primary was down.
            "integration_sid": route or row["integration_sid"],
        },
    )


def accepted(
    row: ClaimedMessage,
    *,
    provider_sid: str | None,
    route: str | None,
    sent_at: datetime,
    receipt: Status | None = None,
    receipt_error_code: int | None = None,
) -> list[Change]:
    """'sent', and the delivery receipt when the provider gave it with its answer."""
    done = sent(row, provider_sid=provider_sid, route=route, sent_at=sent_at)
    if receipt is None:
        return [done]
    # The receipt's change shares the sent change's columns (idle included): one dict less.
    code = None if receipt == "delivered" else receipt_error_code
    return [done, Change(row, receipt, error_code=code, values=done.values)]


def sent_sids(changes: Sequence[Change]) -> list[str]:
    """The messages these changes record as 'sent': the ones a receipt may have overtaken."""
    return [ch.row["sid"] for ch in changes if ch.status == "sent"]


def unless_overtaken(
    changes: Sequence[Change], sent: Sequence[str], now_status: Mapping[str, str]
) -> list[Change]:
    """Drop the status of a hand-over result whose message a receipt already moved on.

    ``now_status``: the status each of ``sent`` has now. A fast provider (or another
    worker's receipt pump) can report delivery before the worker records 'sent'; the
    result's columns still apply, its status must not."""
    overtaken = {sid for sid in sent if now_status.get(sid) != "sending"}
    if not overtaken:
        return list(changes)
    kept = []
    for ch in changes:
        if ch.row["sid"] not in overtaken:
            kept.append(ch)
        elif ch.status == "sent":
            values = {k: v for k, v in ch.values.items() if k in ("provider_sid", "price")}
            kept.append(Change(ch.row, values=values))
        # else: a receipt that came with the answer; the message already has its own.
    return kept


# --- receipts -------------------------------------------------------------------------------


def receipt(
    row: ClaimedMessage, status: Status, error_code: int | None, *, now: datetime
) -> list[Change]:
    """What a delivery receipt does to a message: nothing unless it awaits one.

    One that comes while the message is still 'sending' beat the worker's own record of
    the hand-over: the message was sent, so 'sent' is recorded first; the worker's later
    'sent' then finds it moved on (``unless_overtaken``)."""
    current = row["status"]
    match current:
        case "sending":
            return [
                Change(row, "sent", values={"date_sent": now}),
                Change(row, status, error_code=error_code, values=idle()),
            ]
        case "sent":
            return [Change(row, status, error_code=error_code, values=idle())]
        case (
            "accepted"
            | "scheduled"
            | "queued"
            | "delivered"
            | "undelivered"
            | "failed"
            | "canceled"
            | "receiving"
            | "received"
        ):
            return []
        case _:
            assert_never(current)


def receipt_by_provider(
    row: Message | None, *, integration_sid: str, by_ref: bool
) -> Literal["apply", "later", "drop"]:
    """Whether a receipt a provider sent (ingest) applies now, later or never.

    Later: the worker has not yet recorded 'sent' and would write it over the receipt.
    Never: an unknown message, one no longer awaiting a receipt, or a receipt naming the
    message by SID that came through another route than the one that carried it."""
    if row is None:
        return "drop"
    status = row["status"]
    match status:
        case "sending":
            return "later"
        case "sent":
            if row["integration_sid"] not in (integration_sid, None) and not by_ref:
                return "drop"
            return "apply"
        case (
            "accepted"
            | "scheduled"
            | "queued"
            | "delivered"
            | "undelivered"
            | "failed"
            | "canceled"
            | "receiving"
            | "received"
        ):
            return "drop"
        case _:
            assert_never(status)


def failed_after_accept(
    row: ClaimedMessage, error_code: int | None, error_message: str | None
) -> Change:
    """A provider's own final refusal reported after it had accepted (Twilio's 'failed')."""
    return fail(row, error_code or SEND_FAILED, error_message)


def undelivered_detail(row: ClaimedMessage, error_message: str | None) -> Change | None:
    """The provider's words for an undelivered receipt, kept on the message."""
    if not error_message:
        return None
    return Change(row, values={"error_message": error_message})


# --- long-code fallback (F-SVC-4) -----------------------------------------------------------


def may_fall_back(row: ClaimedMessage) -> bool:
    """Only a service's message, and only once."""
    return bool(row["service_sid"]) and not (row["extra"] or {}).get("fallback_from")


def falls_back_from(sender_kind: str | None, *, service_allows: bool) -> bool:
    """The service asks for it and the undelivered attempt went from a short code."""
    return service_allows and sender_kind == "short_code"


def fall_back(
    row: ClaimedMessage,
    *,
    sender_sid: str,
    from_addr: str,
    integration_sid: str | None,
    rule: str,
    error_code: int | None,
    now: float,
) -> Change:
    """F-SVC-4: a short-code message that ended undelivered goes once more from a long code.

    The undelivered attempt stays visible (its event and callback are written first); the
    message re-enters the queue with the long code, and ``extra.previous_attempts`` keeps
    the first attempt's sender, outcome and price, since both attempts are billed."""
    extra = row["extra"] or {}
    first = {
        "from": row["from_addr"],
        "status": "undelivered",
        "error_code": error_code,
        "price": row["price"],
    }
    return Change(
        row,
        "queued",
        values={
            "sender_sid": sender_sid,
            "from_addr": from_addr,
            "integration_sid": integration_sid,
            "next_attempt_at": now,
            "lease_until": None,
            "extra": {
                **extra,
                "fallback_from": row["from_addr"],
                "selection_rule": rule,
                "previous_attempts": [*extra.get("previous_attempts", []), first],
            },
        },
    )


# --- the Messages routes: cancel, redact, delete --------------------------------------------


def edit(row: Message, *, cancel: bool, redact: bool) -> Change | Refusal:
    """``Status=canceled`` cancels a scheduled message; ``Body=""`` redacts the body, once
    the message has left the queue (redacting one still queued would send it empty)."""
    sid, status = row["sid"], row["status"]
    if cancel and status != "scheduled":
        return Refusal(35119, f"Message {sid} is {status}; only scheduled messages can be canceled")
    if redact and not cancel and status in PENDING:
        return Refusal(
            20409,
            f"Message {sid} is {status}; a body can be redacted once the message "
            "has been sent (or cancel it first)",
        )
    values: dict[str, Any] = {"body": ""} if redact else {}
    if cancel:
        values.update(idle())
        return Change(row, "canceled", values=values)
    return Change(row, values=values)


def delete_refused(sid: str, status: Status) -> Refusal | None:
    """A message in the dispatch queue stays until it leaves it (a scheduled one may go)."""
    if status in IN_QUEUE:
        return Refusal(
            20409, f"Message {sid} is {status}; wait until it leaves the queue to delete it"
        )
    return None
