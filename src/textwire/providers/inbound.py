"""The keyword-handling hook every inbound message passes through.

``on_inbound`` is the one call site: ``providers.ingest.Ingest.inbound`` calls it for each
inbound message before storing and forwarding it. It runs keyword handling
(``textwire.consent.inbound.handle_inbound``: STOP / START / HELP / custom keywords,
consent changes, the keyword's reply) and returns the extra Twilio inbound-webhook fields
(``{"OptOutType": "STOP"}``) for the forwarded request. A fault in keyword handling is
logged and never costs the inbound message itself.
"""

from __future__ import annotations

import logging
from typing import Any

from textwire.consent.inbound import handle_inbound
from textwire.runtime import Runtime

log = logging.getLogger("textwire.providers.inbound")


async def on_inbound(rt: Runtime, row: dict[str, Any]) -> dict[str, str] | None:
    """Keyword handling for one inbound message ``row`` (not yet stored)."""
    try:
        kind = await handle_inbound(
            rt,
            row["account_sid"],
            to=row["to_addr"],
            from_=row["from_addr"],
            body=row["body"],
            service_sid=row["service_sid"],
        )
    except Exception:
        log.exception("keyword handling failed", extra={"message_sid": row["sid"]})
        return None
    if kind is None:
        return None
    row["extra"] = {**(row["extra"] or {}), "opt_out_type": kind}
    return {"OptOutType": kind}
