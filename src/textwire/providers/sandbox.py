"""The built-in sandbox provider (SPEC F-PROV-1): a simulated phone network.

It accepts what it is handed, keeps its own record of each message (as a remote
provider would), and reports a delivery receipt after a configurable delay. Which
messages fail is decided by a hash of the seed and the message SID, so a run with the
same seed and messages has the same outcomes.

Twilio's magic test numbers are refused at create, with Twilio's codes, as Twilio's test
credentials refuse them: ``refusal()`` answers the pipeline's question (through the
provider registry) before anything is written. A magic ``From`` that a service's pool picks
only at hand-over still fails then, asynchronously, with the same code.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, cast

from sqlalchemy import Executable, Float, Row, bindparam, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from textwire.api.params import form_dict
from textwire.db import Database
from textwire.errors import TextwireError, invalid
from textwire.providers import tables as pt
from textwire.providers.base import (
    OutboundMessage,
    Receipt,
    ReceiptStatus,
    SendResult,
    message_sid_of,
)
from textwire.providers.common import (
    InboundSms,
    IntegrationConfig,
    Kind,
    ProviderEnv,
    ProviderPost,
    denied,
)
from textwire.providers.twilio import inbound_from_webhook


@dataclass(frozen=True)
class Refusal:
    """A create the route refuses synchronously: Twilio's code and message."""

    code: int
    message: str


# Twilio's test numbers (twilio.com/docs/iam/test-credentials): number -> (code, message,
# with {number} filled in). A From is checked before a To, as Twilio does.
TO_REFUSALS: Final = {
    "+15005550001": (21211, "The 'To' number {number} is not a valid phone number"),
    "+15005550002": (21612, "The 'To' phone number {number} is not currently reachable via SMS"),
    "+15005550003": (
        21408,
        "Permission to send an SMS has not been enabled for the region indicated by the "
        "'To' number {number}",
    ),
    "+15005550004": (21610, "Attempt to send to unsubscribed recipient {number}"),
    "+15005550009": (21614, "'To' number {number} is not a valid mobile number"),
}
FROM_REFUSALS: Final = {
    "+15005550001": (21212, "The 'From' number {number} is not a valid phone number"),
    "+15005550007": (
        21606,
        "The 'From' phone number {number} is not a valid, SMS-capable inbound phone number "
        "or short code for your account",
    ),
    "+15005550008": (
        21611,
        "This 'From' number {number} has exceeded the maximum number of queued messages",
    ),
}
TO_ERRORS: Final = {number: code for number, (code, _) in TO_REFUSALS.items()}
FROM_ERRORS: Final = {number: code for number, (code, _) in FROM_REFUSALS.items()}
TEST_NUMBERS: Final = frozenset(TO_ERRORS) | frozenset(FROM_ERRORS) | {"+15005550006"}


def refusal(from_addr: str | None, to_addr: str) -> Refusal | None:
    """How Twilio's test credentials answer this pair at create, or None to accept it.

    ``from_addr`` is None when a service's pool will pick the sender later.
    """
    for number, table in ((from_addr, FROM_REFUSALS), (to_addr, TO_REFUSALS)):
        found = table.get(number) if number is not None else None
        if found is not None:
            code, message = found
            return Refusal(code, message.format(number=number))
    return None


# Carrier errors a simulated undelivered message gets, one picked by the same hash.
CARRIER_ERRORS: Final = (30003, 30005, 30006, 30007, 30008)


def fate(seed: int, sid: str, failure_rate: float) -> tuple[ReceiptStatus, int | None]:
    """``("delivered", None)`` or ``("undelivered", code)``, the same for the same inputs."""
    digest = hashlib.blake2b(f"{seed}:{sid}".encode(), digest_size=8).digest()
    draw = int.from_bytes(digest, "big") / 2**64
    if draw < failure_rate:
        return "undelivered", CARRIER_ERRORS[digest[0] % len(CARRIER_ERRORS)]
    return "delivered", None


class SandboxProvider:
    """A provider that needs nothing outside textwire's own database."""

    def __init__(self, db: Database, *, delay: float, failure_rate: float, seed: int):
        self._db = db
        self.delay = delay
        self.failure_rate = failure_rate
        self.seed = seed

    def _upsert(self) -> Executable:
        dialect = sqlite if self._db.is_sqlite else postgresql
        stmt = dialect.insert(pt.sandbox_messages)
        upsert = stmt.on_conflict_do_update(
            index_elements=["message_sid"],
            set_={"submissions": pt.sandbox_messages.c.submissions + 1},
        )
        return cast(Executable, upsert)

    async def send_batch(
        self, messages: Sequence[OutboundMessage], route: str | None = None
    ) -> list[SendResult]:
        async with self._db.write() as conn:
            return await self.accept(conn, messages, route)

    async def accept(
        self,
        conn: AsyncConnection,
        messages: Sequence[OutboundMessage],
        route: str | None = None,
    ) -> list[SendResult]:
        """``send_batch`` inside the caller's write transaction; ``route`` goes on each
        accepted result (the integration that carried it)."""
        now = time.time()
        results: list[SendResult] = []
        rows: list[dict[str, object]] = []
        for m in messages:
            code = FROM_ERRORS.get(m.from_addr) or TO_ERRORS.get(m.to_addr)
            if code is not None:
                results.append(SendResult(m.sid, "failed", error_code=code))
                continue
            outcome, error = fate(self.seed, m.reference, self.failure_rate)
            immediate = self.delay <= 0
            rows.append(
                {
                    # Keyed by hand-over, so a fallback attempt is new but a re-send is not.
                    "message_sid": m.reference,
                    "account_sid": m.account_sid,
                    "from_addr": m.from_addr,
                    "to_addr": m.to_addr,
                    "num_segments": m.num_segments,
                    "sender_sid": m.sender_sid,
                    "submitted_at": now,
                    "submissions": 1,
                    "outcome": outcome,
                    "error_code": error,
                    # An immediate receipt goes back with the answer: nothing left to report.
                    "report_at": None if immediate else now + self.delay,
                }
            )
            results.append(
                SendResult(
                    m.sid,
                    "accepted",
                    provider_sid="SB" + m.reference[2:],
                    route=route,
                    handed_over_at=now,
                    receipt=Receipt(status=outcome, message_sid=m.sid, error_code=error)
                    if immediate
                    else None,
                )
            )
        if rows:
            await self._db.executemany(conn, self._upsert(), rows, key="sandbox_messages.upsert")
        return results

    async def lookup(self, sids: Sequence[str]) -> dict[str, SendResult]:
        if not sids:
            return {}
        sm = pt.sandbox_messages
        async with self._db.read() as conn:
            found = await conn.execute(
                select(sm.c.message_sid, sm.c.outcome, sm.c.error_code, sm.c.report_at).where(
                    sm.c.message_sid.in_(list(sids))
                )
            )
            # A receipt already reported (report_at cleared) but never recorded went with the
            # lost answer or the lost transaction: give it again, or it would never arrive.
            # One still due is left to take_due_receipts.
            return {
                r.message_sid: SendResult(
                    message_sid_of(r.message_sid),
                    "accepted",
                    provider_sid="SB" + r.message_sid[2:],
                    receipt=_stored_receipt(r) if r.report_at is None else None,
                )
                for r in found
            }

    @staticmethod
    async def receipts_due(conn: AsyncConnection, now: float) -> bool:
        """Whether any receipt is due: a cheap indexed read, so an idle worker's poll takes
        no write lock."""
        return await conn.scalar(_RECEIPTS_DUE, {"now": now}) is not None

    @staticmethod
    async def take_due_receipts(
        conn: AsyncConnection, now: float, limit: int = 2000
    ) -> list[Receipt]:
        """Receipts now due, marked reported in the caller's transaction."""
        sm = pt.sandbox_messages
        rows = (
            await conn.execute(
                select(sm.c.message_sid, sm.c.outcome, sm.c.error_code)
                .where(sm.c.report_at.is_not(None), sm.c.report_at <= now)
                .order_by(sm.c.report_at)
                .limit(limit)
            )
        ).all()
        if not rows:
            return []
        sids = [r.message_sid for r in rows]
        await conn.execute(update(sm).where(sm.c.message_sid.in_(sids)).values(report_at=None))
        return [_stored_receipt(r) for r in rows]


# Built once: the expression objects cost more to make each poll than to run (SQLAlchemy
# caches the compiled SQL, not the statement objects).
_RECEIPTS_DUE = (
    select(literal(1))
    .select_from(pt.sandbox_messages)
    .where(
        pt.sandbox_messages.c.report_at.is_not(None),
        pt.sandbox_messages.c.report_at <= bindparam("now", type_=Float),
    )
    .limit(1)
)


def _stored_receipt(row: Row[Any]) -> Receipt:
    """The receipt a ``sandbox_messages`` row holds (its outcome, decided at hand-over)."""
    return Receipt(
        status=cast(ReceiptStatus, row.outcome),
        message_sid=message_sid_of(row.message_sid),
        error_code=row.error_code,
    )


def validate(
    settings: Mapping[str, Any], secrets: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The sandbox takes no settings and no secrets (its delay, failure rate and seed are the
    server's ``TEXTWIRE_SANDBOX_*`` settings)."""
    for where, given in (("Settings", settings), ("Secrets", secrets)):
        if given:
            name = next(iter(given))
            raise invalid(f"{where}.{name}", "a sandbox integration takes no settings")
    return {}, {}


async def run_test(
    _cfg: IntegrationConfig, _env: ProviderEnv, _m: OutboundMessage
) -> dict[str, Any]:
    return {"ok": True}  # nothing outside textwire's own database to try


def read_inbound(_cfg: IntegrationConfig, post: ProviderPost) -> InboundSms:
    """A simulated mobile-originated message, posted by the account itself (its credentials
    were checked by the route: ``inbound_by_account``) in Twilio's inbound form fields."""
    try:
        params = form_dict(post.body)
    except TextwireError:
        raise denied() from None
    if not params.get("From") or not params.get("To"):
        raise invalid("From" if not params.get("From") else "To", "is required")
    return inbound_from_webhook(params, [])


# No connector to build: the worker hands sandbox messages over inside the transaction that
# marks them sent (``SandboxProvider.accept``), so the hand-over and its record commit
# together; receipts are pumped from its table by the worker.
KIND = Kind(
    name="sandbox",
    validate=validate,
    test=run_test,
    inbound=read_inbound,
    inbound_by_account=True,
)
