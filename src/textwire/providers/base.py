"""The ``Provider`` protocol every upstream connector implements."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

Outcome = Literal["accepted", "failed", "retry"]
ReceiptStatus = Literal["delivered", "undelivered", "failed"]
"""How a delivery report ends a message: ``failed`` is a provider's own final refusal after
it had accepted (Twilio's callback status), ``undelivered`` the network's."""


@dataclass(frozen=True, kw_only=True)
class Receipt:
    """A delivery report, the one record every connector, ingest and the worker pass.

    It names its message by textwire's SID (the sandbox, a receipt that came with the
    hand-over's answer) or by the provider's reference (a remote's callback or deliver_sm),
    which ``provider_refs`` turns into the SID."""

    status: ReceiptStatus
    message_sid: str | None = None
    provider_ref: str | None = None
    error_code: int | None = None
    error_message: str | None = None


@dataclass(frozen=True)
class OutboundMessage:
    """What a provider needs to hand one message over."""

    sid: str
    account_sid: str
    from_addr: str
    to_addr: str
    body: str
    num_segments: int
    encoding: str
    media_urls: tuple[str, ...]
    sender_sid: str | None
    integration_sid: str | None
    attempt: int = 1
    """1, or 2 for the long-code fallback of a short-code message (F-SVC-4)."""

    @property
    def reference(self) -> str:
        """This hand-over's identity: the SID, or ``SID#n`` for the n-th attempt."""
        return handover_ref(self.sid, self.attempt)


def handover_ref(sid: str, attempt: int) -> str:
    return sid if attempt == 1 else f"{sid}#{attempt}"


def message_sid_of(reference: str) -> str:
    return reference.split("#", 1)[0]


@dataclass(frozen=True)
class SendResult:
    """The provider's answer for one message.

    ``accepted``: the provider has it (``provider_sid`` set); ``failed``: it never will
    (``error_code``); ``retry``: a transient fault, try again later.
    """

    sid: str
    outcome: Outcome
    provider_sid: str | None = None
    error_code: int | None = None
    error_message: str | None = None
    # The integration that carried it (a backup when the primary was down), and every
    # reference the provider gave when it split the message (one per SMPP part).
    route: str | None = None
    provider_refs: tuple[str, ...] = ()
    # When the provider took the message (epoch s), if it knows; the worker's rate window
    # counts this, or the end of the provider call when it is None.
    handed_over_at: float | None = None
    # The delivery receipt, when the provider knows the outcome as it answers (the sandbox
    # with no delay): the worker records it with 'sent', in the same transaction, rather
    # than waiting for a receipt to be stored and read back.
    receipt: Receipt | None = None


class Provider(Protocol):
    """An upstream route to the phone network."""

    async def send_batch(self, messages: Sequence[OutboundMessage]) -> list[SendResult]:
        """Hand these messages over; one result per message, in order."""
        ...

    async def lookup(self, sids: Sequence[str]) -> dict[str, SendResult]:
        """Which of these hand-over references (``OutboundMessage.reference``) the provider
        already accepted, keyed by reference.

        Called before re-sending messages whose worker died mid hand-over, so a message
        the provider accepted is never sent twice. Providers that cannot tell return {}.
        """
        ...
