"""How a messaging service picks a sender from its pool: the one seam for the policy.

This is the simple policy (issue 3): senders of the recipient's country first, then
alphanumeric senders where the country allows them, taken round-robin. The full policy
(sticky sender, short-code priority, geomatch, scaler) replaces the body of
``choose_sender`` and nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence

from textwire.senders.directory import SenderInfo

# Countries where carriers refuse alphanumeric sender IDs.
NO_ALPHA_COUNTRIES = frozenset({"US", "CA", "PR"})


def eligible_senders(pool: Sequence[SenderInfo], to_country: str) -> list[SenderInfo]:
    """Senders of the pool that can reach ``to_country``, best tier first."""
    sms = [s for s in pool if "sms" in s.capabilities]
    same_country = [s for s in sms if s.kind != "alphanumeric" and s.country == to_country]
    if same_country:
        return same_country
    if to_country not in NO_ALPHA_COUNTRIES:
        return [s for s in sms if s.kind == "alphanumeric"]
    return []


def choose_sender(
    pool: Sequence[SenderInfo], to_country: str, turn: int
) -> tuple[SenderInfo, str] | None:
    """The sender for this message and the rule that picked it, or None."""
    candidates = eligible_senders(pool, to_country)
    if not candidates:
        return None
    chosen = candidates[turn % len(candidates)]
    rule = "alpha" if chosen.kind == "alphanumeric" else "country"
    return chosen, rule
