"""What happens to a message, as a record: a ``Change`` (its status and the columns it sets).

Pure: the worker, ingest and the routes decide changes; ``messages.store.record`` writes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Change:
    """A change to one message. ``status`` None changes columns only (no event, no callback)."""

    row: Mapping[str, Any]
    status: str | None = None
    error_code: int | None = None
    error_message: str | None = None
    values: dict[str, Any] = field(default_factory=dict)
    callback: bool = True


def idle() -> dict[str, Any]:
    """The columns that take a message off the queue: nothing to do, no lease, no owner.
    A new dict each time: a change's values are its own to extend."""
    return {"next_attempt_at": None, "lease_until": None, "lease_owner": None}
