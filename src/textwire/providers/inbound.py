"""The keyword-handling hook every inbound message passes through.

``on_inbound`` is the one call site: ``providers.ingest.Ingest.inbound`` calls it for each
inbound message before storing and forwarding it. Keyword handling (STOP / START / HELP /
custom keywords, consent changes, auto-replies; ``textwire.consent``) plugs in here. It may
return extra Twilio inbound-webhook fields (e.g. ``{"OptOutType": "STOP"}``) to add to the
forwarded request, and may set keys in ``row["extra"]``; it must not raise for a message
it does not care about.
"""

from __future__ import annotations

from typing import Any

from textwire.runtime import Runtime


async def on_inbound(rt: Runtime, row: dict[str, Any]) -> dict[str, str] | None:
    """Keyword handling for one inbound message ``row`` (not yet stored)."""
    return None
