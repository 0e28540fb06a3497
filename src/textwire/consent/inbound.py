"""Keywords on inbound messages (F-CONSENT-5): consent update, confirmation reply, OptOutType.

:func:`on_inbound` is the hook every inbound message passes through: ``compose`` hands it to
``providers.ingest.Ingest``, which calls it for each inbound message before storing and
forwarding it, and forwards the returned ``OptOutType`` with the message. A fault in keyword
handling is logged and never costs the inbound message itself.

This is an application service (a front door, like the send pipeline it replies through),
so the providers domain reaches it only through the hook it is given.

Scope: a keyword texted to a number of a messaging service applies to the whole service
(Twilio's rule); to a number outside any service it applies to the whole account (wider than
Twilio's per-number scope: the safe side for an opt-out).
"""

from __future__ import annotations

import logging
from typing import Any

from textwire.consent import contacts
from textwire.consent.identifiers import Identifier
from textwire.consent.keywords import OptOutType, match
from textwire.consent.state import ACCOUNT_SCOPE, record
from textwire.errors import TextwireError
from textwire.messages.pipeline import SendRequest, send
from textwire.phone import InvalidPhoneNumber, parse_phone
from textwire.runtime import Runtime

log = logging.getLogger("textwire.consent")


async def handle_inbound(
    rt: Runtime,
    account_sid: str,
    to: str,
    from_: str,
    body: str,
    service_sid: str | None = None,
) -> OptOutType | None:
    """Apply keywords to one inbound message; returns ``OptOutType`` for the forwarded webhook.

    ``to`` is the account's number the message was sent to, ``from_`` the texter. A STOP or
    START updates consent (source ``keyword``); every keyword, custom ones included, sends its
    reply through the one send pipeline, which always lets keyword replies through.
    """
    directory = await rt.directory.account(account_sid)
    sender = directory.senders_by_value.get(to)
    service = service_sid or (sender.service_sid if sender is not None else None)
    snap = await rt.consent.account(account_sid)
    config = rt.consent.keywords(snap, service)
    try:
        country: str | None = parse_phone(from_).country
    except InvalidPhoneNumber:
        country = None
    found = match(body, config, country=country)
    if found is None:
        return None
    kind = found.opt_out_type
    if kind in ("STOP", "START") and country is not None:
        now = rt.clock.now()
        async with rt.db.write() as conn:
            await record(
                conn,
                account_sid,
                [from_],
                service or ACCOUNT_SCOPE,
                "unsubscribed" if kind == "STOP" else "subscribed",
                "keyword",
                now,
                detail=found.keyword,
            )
            ident = Identifier("phoneNumber", from_)
            if await contacts.find_contact(conn, account_sid, ident) is None:
                await contacts.identify(conn, account_sid, [ident], now)
        rt.consent.invalidate(account_sid)
    try:
        await send(
            rt,
            SendRequest(
                account_sid=account_sid,
                to=from_,
                body=found.reply,
                from_=to if sender is not None else None,
                service_sid=None if sender is not None else service,
                keyword_reply=True,
                extra={"keyword": found.keyword},
            ),
        )
    except TextwireError as exc:  # the consent change stands even if the reply cannot go
        log.warning("keyword reply not sent", extra={"code": exc.code, "detail": exc.detail})
    return kind


async def on_inbound(rt: Runtime, row: dict[str, Any]) -> dict[str, str] | None:
    """Keyword handling for one inbound message ``row`` (not yet stored): the ingest hook."""
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
