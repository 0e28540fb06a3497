"""Keywords on inbound messages (F-CONSENT-5): consent update, confirmation reply, OptOutType.

The provider webhooks that turn an inbound SMS into a call here belong to the inbound path;
:func:`handle_inbound` is what that path calls for every inbound message, before it forwards
the message to the customer's webhook with the returned ``OptOutType``.

Scope: a keyword texted to a number of a messaging service applies to the whole service
(Twilio's rule); to a number outside any service it applies to the whole account (wider than
Twilio's per-number scope: the safe side for an opt-out).
"""

from __future__ import annotations

import logging

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
