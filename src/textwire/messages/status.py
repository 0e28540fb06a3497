"""Message statuses and which changes between them are allowed."""

from __future__ import annotations

from typing import Final, Literal

Status = Literal[
    "accepted",
    "scheduled",
    "queued",
    "sending",
    "sent",
    "delivered",
    "undelivered",
    "failed",
    "canceled",
    "receiving",
    "received",
]

FINAL: Final[frozenset[str]] = frozenset(
    {"delivered", "undelivered", "failed", "canceled", "received"}
)

# Statuses the dispatch worker still has work for.
PENDING: Final[frozenset[str]] = frozenset({"accepted", "scheduled", "queued", "sending"})

# A delivery receipt may move a message only out of these.
AWAITING_RECEIPT: Final[frozenset[str]] = frozenset({"sending", "sent"})
