"""A message's life as pure rules (issue 12 §1): each event on a message in each status, and
the changes that follow, with no database. ``textwire.messages.lifecycle``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, get_args

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from textwire.backoff import backoff
from textwire.messages import lifecycle
from textwire.messages import tables as mt
from textwire.messages.model import Change, ClaimedMessage, Message
from textwire.messages.status import (
    AWAITING_RECEIPT,
    FINAL,
    IN_QUEUE,
    NOT_DELIVERED,
    PENDING,
    REPORTED,
    Status,
)
from textwire.messages.store import CLAIMED_COLUMNS

STATUSES: tuple[Status, ...] = get_args(Status)
CREATED = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
SENT_AT = CREATED + timedelta(seconds=3)
NOW = CREATED.timestamp() + 10.0
RECEIPTS: tuple[Status, ...] = ("delivered", "undelivered", "failed")

statuses = st.sampled_from(STATUSES)
receipt_statuses = st.sampled_from(RECEIPTS)
error_codes = st.none() | st.integers(min_value=1, max_value=99999)


def message(status: Status = "queued", **columns: Any) -> Message:
    row: dict[str, Any] = {
        "sid": "SM" + "0" * 32,
        "account_sid": "AC" + "0" * 32,
        "service_sid": None,
        "sender_sid": "PN" + "1" * 32,
        "integration_sid": None,
        "direction": "outbound-api",
        "from_addr": "+14155550111",
        "to_addr": "+14155550100",
        "body": "Your code is 1234",
        "num_segments": 1,
        "encoding": "GSM-7",
        "num_media": 0,
        "media_urls": None,
        "status": status,
        "error_code": None,
        "error_message": None,
        "status_callback": None,
        "validity_period": None,
        "smart_encoded": False,
        "price": None,
        "price_unit": "USD",
        "provider_sid": None,
        "attempts": 0,
        "next_attempt_at": NOW,
        "lease_until": None,
        "lease_owner": None,
        "extra": None,
        "send_at": None,
        "date_created": CREATED,
        "date_updated": CREATED,
        "date_sent": None,
    }
    row.update(columns)
    return row  # type: ignore[return-value]  # built as a dict, as the store's rows are


def shape(change: Change | None) -> tuple[Status | None, int | None, dict[str, Any]] | None:
    return None if change is None else (change.status, change.error_code, change.values)


IDLE = {"next_attempt_at": None, "lease_until": None, "lease_owner": None}


# --- the record -----------------------------------------------------------------------------


def test_the_message_record_names_every_column_of_the_table() -> None:
    assert set(Message.__annotations__) | set(ClaimedMessage.__annotations__) == set(
        mt.messages.c.keys()
    )


def test_the_claimed_record_is_what_the_worker_claims() -> None:
    assert tuple(ClaimedMessage.__annotations__) == CLAIMED_COLUMNS


def test_the_named_status_sets() -> None:
    assert set(STATUSES) >= FINAL | PENDING | AWAITING_RECEIPT | REPORTED | NOT_DELIVERED
    assert not FINAL & PENDING
    assert not FINAL & AWAITING_RECEIPT
    assert PENDING - {"scheduled"} == IN_QUEUE
    assert REPORTED | NOT_DELIVERED <= FINAL


# --- claim ----------------------------------------------------------------------------------

CLAIM_TABLE: list[tuple[Status, dict[str, Any], Any]] = [
    # status, columns, expected change (None: go on and send it)
    ("accepted", {}, None),
    ("scheduled", {}, None),
    ("queued", {}, None),
    ("sending", {}, None),
    ("queued", {"validity_period": 60}, None),
    ("queued", {"validity_period": 5}, ("failed", 30036, IDLE)),  # F-SVC-5
    ("scheduled", {"validity_period": 5, "send_at": CREATED + timedelta(seconds=8)}, None),
    ("scheduled", {"validity_period": 1, "send_at": CREATED + timedelta(seconds=8)}, "failed"),
    *[(s, {}, (None, None, IDLE)) for s in STATUSES if s not in PENDING],
    *[(s, {"validity_period": 1}, (None, None, IDLE)) for s in STATUSES if s not in PENDING],
]


@pytest.mark.parametrize(("status", "columns", "expected"), CLAIM_TABLE)
def test_claim(status: Status, columns: dict[str, Any], expected: Any) -> None:
    """A claimed row no longer pending leaves the queue; one past its validity period fails
    with 30036 (F-SVC-5); the rest go on to be sent."""
    got = lifecycle.on_claim(message(status, **columns), NOW)
    if expected == "failed":
        assert got is not None and got.status == "failed" and got.error_code == 30036
    else:
        assert shape(got) == expected


@settings(deadline=None)  # timing on a shared machine is not what is tested
@given(statuses, st.integers(min_value=1, max_value=14_400), st.floats(0, 30_000))
def test_expiry_is_the_validity_period_from_the_send_time(
    status: Status, validity: int, elapsed: float
) -> None:
    row = message(status, validity_period=validity)
    now = CREATED.timestamp() + elapsed
    assert lifecycle.expired(row, now) == (elapsed > validity)
    got = lifecycle.on_claim(row, now)
    if status in PENDING:
        assert (got is not None) == (elapsed > validity)
    else:
        assert got is not None and got.status is None  # a final status never moves


SENDER = {"sender_sid": "PN" + "2" * 32, "from_addr": "+14155550122", "integration_sid": None}


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("accepted", ("queued", None, SENDER)),
        ("scheduled", ("queued", None, SENDER)),
        ("queued", (None, None, SENDER)),
        *[(s, None) for s in STATUSES if s not in ("accepted", "scheduled", "queued")],
    ],
)
def test_sender_chosen(status: Status, expected: Any) -> None:
    assert shape(lifecycle.sender_chosen(message(status), dict(SENDER))) == expected


@pytest.mark.parametrize("status", ["accepted", "scheduled", "queued"])
def test_the_hand_over_begins_with_one_attempt_more(status: Status) -> None:
    got = lifecycle.sending(message(status, attempts=2))
    assert shape(got) == ("sending", None, {"attempts": 3})


def test_a_row_left_sending_is_not_counted_again() -> None:
    assert lifecycle.sending(message("sending", attempts=1)) is None


def test_later() -> None:
    assert shape(lifecycle.later(message(), NOW + 1)) == (
        None,
        None,
        {"next_attempt_at": NOW + 1, "lease_until": None},
    )


# --- hand-over result -----------------------------------------------------------------------

SETTINGS = {"max_send_attempts": 3, "retry_base": 2.0}


def _not_accepted(row: Message, outcome: Any, code: int | None, text: str | None) -> Change:
    return lifecycle.not_accepted(
        row,
        outcome,
        code,
        text,
        max_attempts=SETTINGS["max_send_attempts"],  # type: ignore[arg-type]
        retry_base=SETTINGS["retry_base"],
        now=NOW,
    )


@pytest.mark.parametrize(
    ("outcome", "attempts", "code", "expected"),
    [
        ("failed", 1, 21610, ("failed", 21610, IDLE)),
        ("failed", 1, None, ("failed", 30008, IDLE)),
        ("retry", 1, None, ("queued", None, {"next_attempt_at": NOW + 2.0, "lease_until": None})),
        ("retry", 2, 1, ("queued", None, {"next_attempt_at": NOW + 4.0, "lease_until": None})),
        ("retry", 3, None, ("failed", 30008, IDLE)),
    ],
)
def test_not_accepted(outcome: str, attempts: int, code: int | None, expected: Any) -> None:
    got = _not_accepted(message("sending", attempts=attempts), outcome, code, "no")
    assert shape(got) == expected
    if expected[0] == "queued":
        assert got.callback is False  # a retry is internal: no status callback


@settings(deadline=None)  # timing on a shared machine is not what is tested
@given(st.integers(min_value=1, max_value=60), st.integers(min_value=1, max_value=60))
def test_retries_wait_longer_with_each_attempt_then_give_up(
    attempts: int, max_attempts: int
) -> None:
    def due(n: int) -> Change:
        return lifecycle.retry(
            message("sending", attempts=n), max_attempts=max_attempts, retry_base=2.0, now=NOW
        )

    first, then = due(attempts), due(attempts + 1)
    if attempts >= max_attempts:
        assert first.status == "failed" and first.error_code == 30008
        return
    assert first.status == "queued"
    assert first.values["next_attempt_at"] == NOW + backoff(attempts, 2.0, lifecycle.MAX_BACKOFF)
    if then.status == "queued":
        assert first.values["next_attempt_at"] <= then.values["next_attempt_at"]


def test_accepted_is_sent_priced_and_idle() -> None:
    (sent,) = lifecycle.accepted(
        message("sending", num_segments=3, integration_sid="IN1"),
        provider_sid="P1",
        route=None,
        sent_at=SENT_AT,
    )
    assert shape(sent) == (
        "sent",
        None,
        {
            **IDLE,
            "provider_sid": "P1",
            "date_sent": SENT_AT,
            "price": "-0.02370",
            "integration_sid": "IN1",
        },
    )


def test_accepted_by_a_backup_route_records_it() -> None:
    (sent,) = lifecycle.accepted(
        message("sending", integration_sid="IN1"), provider_sid="P", route="IN2", sent_at=SENT_AT
    )
    assert sent.values["integration_sid"] == "IN2"


@pytest.mark.parametrize(
    ("receipt", "code", "expected_code"),
    [("delivered", 5, None), ("undelivered", 30005, 30005), ("failed", 30007, 30007)],
)
def test_accepted_with_the_receipt_in_the_answer(
    receipt: Status, code: int, expected_code: int | None
) -> None:
    sent, rc = lifecycle.accepted(
        message("sending"),
        provider_sid="P",
        route=None,
        sent_at=SENT_AT,
        receipt=receipt,
        receipt_error_code=code,
    )
    assert (sent.status, rc.status, rc.error_code) == ("sent", receipt, expected_code)
    assert rc.values == sent.values  # idle, and the same columns


# --- receipts -------------------------------------------------------------------------------


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("receipt", RECEIPTS)
def test_receipt(status: Status, receipt: Status) -> None:
    """Only a message awaiting a receipt moves; a receipt that comes while the worker has
    not yet recorded 'sent' (it overtook the hand-over's answer) records 'sent' first."""
    got = [shape(c) for c in lifecycle.receipt(message(status), receipt, 30003, now=SENT_AT)]
    expected = {
        "sending": [("sent", None, {"date_sent": SENT_AT}), (receipt, 30003, IDLE)],
        "sent": [(receipt, 30003, IDLE)],
    }.get(status, [])
    assert got == expected


@settings(deadline=None)  # timing on a shared machine is not what is tested
@given(statuses, receipt_statuses, error_codes)
def test_a_receipt_never_moves_a_final_message(
    status: Status, receipt: Status, code: int | None
) -> None:
    changes = lifecycle.receipt(message(status), receipt, code, now=SENT_AT)
    assert bool(changes) == (status in AWAITING_RECEIPT)
    if status in FINAL:
        assert changes == []
    for change in changes:
        assert change.status in {"sent", receipt}


def _sent_change(sid: str) -> Change:
    row = message("sending", sid=sid)
    (sent,) = lifecycle.accepted(row, provider_sid="P", route=None, sent_at=SENT_AT)
    return sent


def test_a_result_overtaken_by_a_receipt_keeps_its_columns_not_its_status() -> None:
    late, fresh = _sent_change("SM1"), _sent_change("SM2")
    receipt = Change(late.row, "delivered", values=late.values)
    changes = [late, receipt, fresh]
    sent = lifecycle.sent_sids(changes)
    assert sent == ["SM1", "SM2"]
    kept = lifecycle.unless_overtaken(changes, sent, {"SM1": "delivered", "SM2": "sending"})
    assert [(c.row["sid"], shape(c)) for c in kept] == [
        ("SM1", (None, None, {"provider_sid": "P", "price": "-0.00790"})),
        ("SM2", shape(fresh)),
    ]


def test_nothing_overtaken_keeps_every_change() -> None:
    changes = [_sent_change("SM1")]
    assert lifecycle.unless_overtaken(changes, ["SM1"], {"SM1": "sending"}) == changes


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize(("route", "by_ref"), [("IN1", False), ("IN2", False), ("IN2", True)])
def test_receipt_by_provider(status: Status, route: str, by_ref: bool) -> None:
    """Ingest: a receipt waits while the worker has not recorded 'sent'; one by SID counts
    only through the route that carried the message."""
    got = lifecycle.receipt_by_provider(
        message(status, integration_sid="IN1"), integration_sid=route, by_ref=by_ref
    )
    if status == "sending":
        assert got == "later"
    elif status == "sent":
        assert got == ("apply" if route == "IN1" or by_ref else "drop")
    else:
        assert got == "drop"


def test_receipt_for_an_unknown_message_is_dropped() -> None:
    assert lifecycle.receipt_by_provider(None, integration_sid="IN1", by_ref=True) == "drop"


def test_a_provider_failure_after_acceptance() -> None:
    row = message("sent")
    assert shape(lifecycle.failed_after_accept(row, None, "x")) == ("failed", 30008, IDLE)
    assert shape(lifecycle.failed_after_accept(row, 30007, "x")) == ("failed", 30007, IDLE)
    assert lifecycle.undelivered_detail(row, None) is None
    assert shape(lifecycle.undelivered_detail(row, "Unknown subscriber")) == (
        None,
        None,
        {"error_message": "Unknown subscriber"},
    )


# --- long-code fallback (F-SVC-4) -----------------------------------------------------------


@pytest.mark.parametrize(
    ("service_sid", "extra", "expected"),
    [
        ("MG1", None, True),
        ("MG1", {"selection_rule": "x"}, True),
        (None, None, False),
        ("MG1", {"fallback_from": "60006"}, False),  # only once
    ],
)
def test_may_fall_back(service_sid: str | None, extra: Any, expected: bool) -> None:
    assert (
        lifecycle.may_fall_back(message("sent", service_sid=service_sid, extra=extra)) is expected
    )


@pytest.mark.parametrize(
    ("kind", "allows", "expected"),
    [
        ("short_code", True, True),
        ("short_code", False, False),
        ("long_code", True, False),
        ("alpha", True, False),
        (None, True, False),
    ],
)
def test_falls_back_only_from_a_short_code(kind: str | None, allows: bool, expected: bool) -> None:
    assert lifecycle.falls_back_from(kind, service_allows=allows) is expected


def test_fall_back_requeues_from_the_long_code_keeping_the_first_attempt() -> None:
    """F-SVC-4: both attempts are visible and billed."""
    row = message(
        "undelivered", service_sid="MG1", from_addr="60006", price="-0.00790", extra={"a": 1}
    )
    got = lifecycle.fall_back(
        row,
        sender_sid="PN9",
        from_addr="+14155550199",
        integration_sid="IN3",
        rule="long_code",
        error_code=30005,
        now=NOW,
    )
    assert got.status == "queued"
    assert got.values == {
        "sender_sid": "PN9",
        "from_addr": "+14155550199",
        "integration_sid": "IN3",
        "next_attempt_at": NOW,
        "lease_until": None,
        "extra": {
            "a": 1,
            "fallback_from": "60006",
            "selection_rule": "long_code",
            "previous_attempts": [
                {"from": "60006", "status": "undelivered", "error_code": 30005, "price": "-0.00790"}
            ],
        },
    }
    assert lifecycle.attempt(row) == 1
    assert lifecycle.attempt(message(extra=got.values["extra"])) == 2
    assert not lifecycle.may_fall_back(message("undelivered", service_sid="MG1", **got.values))


# --- cancel, redact, delete -----------------------------------------------------------------


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize(("cancel", "redact"), [(True, False), (False, True), (True, True)])
def test_edit(status: Status, cancel: bool, redact: bool) -> None:
    """Cancel only a scheduled message (35119); redact only one that has left the queue
    (20409), or one canceled in the same request."""
    got = lifecycle.edit(message(status), cancel=cancel, redact=redact)
    body = {"body": ""} if redact else {}
    if cancel and status != "scheduled":
        assert got == lifecycle.Refusal(
            35119, f"Message {'SM' + '0' * 32} is {status}; only scheduled messages can be canceled"
        )
    elif cancel:
        assert isinstance(got, Change) and shape(got) == ("canceled", None, {**body, **IDLE})
    elif status in PENDING:
        assert isinstance(got, lifecycle.Refusal) and got.code == 20409
    else:
        assert isinstance(got, Change) and shape(got) == (None, None, {"body": ""})


@settings(deadline=None)  # timing on a shared machine is not what is tested
@given(statuses, st.booleans(), st.booleans())
def test_edit_properties(status: Status, cancel: bool, redact: bool) -> None:
    got = lifecycle.edit(message(status), cancel=cancel, redact=redact)
    if isinstance(got, lifecycle.Refusal):
        return
    # cancel only from 'scheduled'; a final status never moves; redact clears the body
    assert (got.status == "canceled") == cancel
    assert not cancel or status == "scheduled"
    assert got.status is None or status not in FINAL
    assert ("body" in got.values) == redact and got.values.get("body", "") == ""


@pytest.mark.parametrize("status", STATUSES)
def test_delete(status: Status) -> None:
    got = lifecycle.delete_refused("SM1", status)
    if status in ("accepted", "queued", "sending"):
        assert got == lifecycle.Refusal(
            20409, f"Message SM1 is {status}; wait until it leaves the queue to delete it"
        )
    else:
        assert got is None


# --- across events --------------------------------------------------------------------------


@settings(deadline=None)  # timing on a shared machine is not what is tested
@given(statuses, receipt_statuses, error_codes, st.integers(0, 10), st.floats(0, 1e5))
def test_a_final_status_never_moves(
    status: Status, receipt: Status, code: int | None, attempts: int, elapsed: float
) -> None:
    """No event but a fall-back re-send (F-SVC-4, the rule of its own above) takes a message
    out of a final status."""
    row = message(status, attempts=attempts, validity_period=1)
    now = CREATED.timestamp() + elapsed
    changes = [
        lifecycle.on_claim(row, now),
        lifecycle.sender_chosen(row, {}),
        *lifecycle.receipt(row, receipt, code, now=SENT_AT),
    ]
    edit = lifecycle.edit(row, cancel=True, redact=False)
    if isinstance(edit, Change):
        changes.append(edit)
    if status in FINAL:
        assert all(c is None or c.status is None for c in changes)
