"""Message statuses and the named sets of them every rule and query uses."""

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

FINAL: Final[frozenset[Status]] = frozenset(
    {"delivered", "undelivered", "failed", "canceled", "received"}
)

# Statuses the dispatch worker still has work for.
PENDING: Final[frozenset[Status]] = frozenset({"accepted", "scheduled", "queued", "sending"})

# In the dispatch queue now: PENDING but for a message scheduled for later.
IN_QUEUE: Final[frozenset[Status]] = frozenset({"accepted", "queued", "sending"})

# A delivery receipt may move a message only out of these.
AWAITING_RECEIPT: Final[frozenset[Status]] = frozenset({"sending", "sent"})

# What a delivery report says of a message the network had: these carry its done date.
REPORTED: Final[frozenset[Status]] = frozenset({"delivered", "undelivered"})

# Ends that were not a delivery: these carry an error code.
NOT_DELIVERED: Final[frozenset[Status]] = frozenset({"undelivered", "failed"})
