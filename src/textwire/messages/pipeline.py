"""``send()``: the one pipeline every front door uses (API, CLI, campaigns, auto-replies).

Validate → (consent: a later issue) → shorten links → smart-encode and segment the
rewritten text → resolve the sender or service → insert the row with its first status and
its short links, in one transaction. Nothing is written unless every check passed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError

from textwire import segments
from textwire.errors import TextwireError
from textwire.ids import new_sid
from textwire.links import tables as lt
from textwire.links.rewrite import find_urls
from textwire.links.shortener import Shortened, resolve_mode
from textwire.messages.rows import first_event, message_row
from textwire.messages.status import Status
from textwire.phone import InvalidPhoneNumber, PhoneNumber, parse_phone
from textwire.runtime import Runtime
from textwire.senders.directory import AccountSnapshot, SenderInfo, ServiceInfo
from textwire.urls import STATUS_CALLBACK_CODE, check_url

MAX_BODY_CHARS = 1600
MAX_MEDIA = 10
# Twilio accepts 1..36000 s on the compatible API; SPEC F-SVC-5 narrows services to 14,400.
MAX_VALIDITY = 36_000
DEFAULT_VALIDITY = 36_000
SCHEDULE_MIN = timedelta(seconds=300)
SCHEDULE_MAX = timedelta(days=35)
# A fresh slug colliding with a stored one is a 1-in-10^12 event; three tries is plenty.
SLUG_ATTEMPTS = 3
WITHHELD = "Link shortening failed and the link domain's ContinueOnFailure is false"


@dataclass(frozen=True)
class SendRequest:
    """One message to send, as every front door describes it."""

    account_sid: str
    to: str
    body: str | None = None
    from_: str | None = None
    service_sid: str | None = None
    media_urls: tuple[str, ...] = ()
    status_callback: str | None = None
    validity_period: int | None = None
    send_at: datetime | None = None
    schedule_type: str | None = None
    smart_encoded: bool | None = None
    shorten_urls: bool | None = None
    link_mode: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # Consent (F-CONSENT-6): transactional skips the unknown-contact rule, never a STOP;
    # keyword replies (the STOP confirmation itself) are always allowed. None: the default
    # of the send's service (its own, or its From's), else false.
    transactional: bool | None = None
    keyword_reply: bool = False


def parse_recipient(to: str | None) -> PhoneNumber:
    if to is None or not to.strip():
        raise TextwireError(21604, "A 'To' phone number is required")
    try:
        return parse_phone(to)
    except InvalidPhoneNumber as exc:
        raise TextwireError(
            21211, f"The 'To' number {to} is not a valid phone number: {exc}"
        ) from None


def _check_body(body: str | None, media: tuple[str, ...]) -> str:
    if not body and not media:
        raise TextwireError(21602, "Message body is required: set 'Body' or 'MediaUrl'")
    text = body or ""
    if len(text) > MAX_BODY_CHARS:
        raise TextwireError(
            21617, f"'Body' is {len(text)} characters; the limit is {MAX_BODY_CHARS}"
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise TextwireError(20001, "Invalid parameter 'Body': not valid Unicode text") from None
    if len(media) > MAX_MEDIA:
        raise TextwireError(21623, f"'MediaUrl' has {len(media)} entries; at most {MAX_MEDIA}")
    for url in media:
        check_url("MediaUrl", url, code=21620)
    return text


def _check_callback(url: str | None) -> str | None:
    if url is None or url == "":
        return None
    return check_url("StatusCallback", url, code=STATUS_CALLBACK_CODE)


def _resolve_origin(
    req: SendRequest, snap: AccountSnapshot
) -> tuple[SenderInfo | None, ServiceInfo | None]:
    service: ServiceInfo | None = None
    if req.service_sid:
        service = snap.services.get(req.service_sid)
        if service is None:
            raise TextwireError(
                21701,
                f"Invalid parameter 'MessagingServiceSid': service {req.service_sid} "
                "does not exist in this account",
            )
    sender: SenderInfo | None = None
    if req.from_:
        sender = snap.senders_by_value.get(req.from_.strip())
        if sender is None:
            raise TextwireError(
                21606,
                f"The 'From' number {req.from_} is not a sender of this account",
            )
        if "sms" not in sender.capabilities:
            raise TextwireError(21606, f"The 'From' sender {req.from_} is not SMS-capable")
    if sender is None and service is None:
        raise TextwireError(21603, "A 'From' number or a 'MessagingServiceSid' is required")
    return sender, service


async def _check_route(
    rt: Runtime,
    snap: AccountSnapshot,
    sender: SenderInfo | None,
    service: ServiceInfo | None,
    to: str,
) -> None:
    """Refuse what the message's route refuses at create (the sandbox's answer to Twilio's
    magic test numbers, issue 11 §5). With a ``From`` the route is its sender's integration;
    with a service's pool, whichever sender is picked later: refused only when every
    sender's route refuses (an empty pool fails later, 21704, like any other)."""
    if sender is not None:
        routes = {sender.integration_sid}
        from_addr: str | None = sender.value
    elif service is not None:
        routes = {s.integration_sid for s in snap.pools.get(service.sid, ())}
        from_addr = None
    else:
        return
    found = [await rt.providers.refusal(route, from_addr, to) for route in sorted(routes)]
    if found and all(found) and found[0] is not None:
        raise TextwireError(found[0].code, found[0].message)


def _schedule(req: SendRequest, service: ServiceInfo | None, now: datetime) -> datetime | None:
    if req.schedule_type is None and req.send_at is None:
        return None
    if req.schedule_type != "fixed":
        raise TextwireError(35111, "'ScheduleType' must be 'fixed' when 'SendAt' is set")
    if req.send_at is None:
        raise TextwireError(35111, "'SendAt' is required when 'ScheduleType' is fixed")
    if service is None:
        raise TextwireError(35118, "'MessagingServiceSid' is required to schedule a message")
    if req.send_at < now + SCHEDULE_MIN:
        raise TextwireError(35114, "'SendAt' must be at least 300 seconds in the future")
    if req.send_at > now + SCHEDULE_MAX:
        raise TextwireError(35115, "'SendAt' must be at most 35 days in the future")
    return req.send_at


def sender_service(sender: SenderInfo | None) -> str | None:
    return sender.service_sid if sender is not None else None


async def _check_consent(
    rt: Runtime, req: SendRequest, to: str, service_sid: str | None, snap: AccountSnapshot
) -> None:
    """Refuse (21610) and record a send the recipient's consent does not allow.

    ``service_sid`` is the consent scope: the message's service, or its From's. A message
    that does not say ``Transactional`` takes that service's default (issue 11 §5: Twilio's
    client cannot pass the parameter to ``messages.create()``)."""
    scope = snap.services.get(service_sid) if service_sid else None
    transactional = (
        req.transactional if req.transactional is not None else bool(scope and scope.transactional)
    )
    reason = await rt.consent.refusal(req.account_sid, to, service_sid, transactional=transactional)
    if reason is None:
        return
    await rt.consent.record_refusal(
        req.account_sid, service_sid, to, reason, transactional, rt.clock.now()
    )
    detail = (
        f"Attempt to send to unsubscribed recipient {to}: the number opted out"
        if reason == "unsubscribed"
        else f"Attempt to send to unsubscribed recipient {to}: no opt-in on record "
        "(send with Transactional=true for transactional messages)"
    )
    raise TextwireError(21610, detail)


async def send(rt: Runtime, req: SendRequest) -> dict[str, Any]:
    """Validate and store one outbound message; returns its row. Writes nothing on error."""
    recipient = parse_recipient(req.to).e164
    text = _check_body(req.body, req.media_urls)
    callback = _check_callback(req.status_callback)
    if req.validity_period is not None and not 1 <= req.validity_period <= MAX_VALIDITY:
        raise TextwireError(
            21624, f"Invalid parameter 'ValidityPeriod': must be between 1 and {MAX_VALIDITY}"
        )
    snap = await rt.directory.account(req.account_sid)
    sender, service = _resolve_origin(req, snap)
    await _check_route(rt, snap, sender, service, recipient)
    now = rt.clock.now()
    send_at = _schedule(req, service, now)
    if not req.keyword_reply:
        scope = service.sid if service else sender_service(sender)
        await _check_consent(rt, req, recipient, scope, snap)

    smart = (
        req.smart_encoded
        if req.smart_encoded is not None
        else bool(service and service.smart_encoding)
    )
    service_sid = service.sid if service else None
    links = await rt.links.service_links(req.account_sid, service_sid)
    mode = resolve_mode(req.shorten_urls, req.link_mode, service_sid, links.mode)
    urls = {span.url for span in find_urls(text, mode)}
    if urls:
        rt.links.check_rate(req.account_sid, len(urls))
    status: Status
    if send_at is not None:
        status = "scheduled"
    elif sender is None:
        status = "accepted"
    else:
        status = "queued"
    sid = new_sid("MM" if req.media_urls else "SM")
    for attempt in range(SLUG_ATTEMPTS):
        shortened = (
            rt.links.shorten(
                text=text,
                mode=mode,
                links=links,
                account_sid=req.account_sid,
                service_sid=service_sid,
                to=recipient,
                now=now,
            )
            if urls
            else Shortened(text, [], None)
        )
        row = _message_row(
            req,
            sid,
            sender,
            service,
            recipient,
            shortened,
            smart,
            status,
            now=now,
            send_at=send_at,
            status_callback=callback or (service.status_callback if service else None),
        )
        if shortened.withheld:  # stored, visible, never dispatched
            row.update(
                status="failed",
                error_code=30008,
                error_message=WITHHELD,
                next_attempt_at=None,
            )
        event = first_event(row)
        link_rows = [(lt.links, {**r, "message_sid": sid}) for r in shortened.rows]
        try:
            await rt.inserter.insert(row, event, link_rows)
        except IntegrityError:
            if not link_rows or attempt == SLUG_ATTEMPTS - 1:
                raise
            continue  # a slug collided with a stored one: draw new slugs (F-LINK-2)
        break
    rt.metrics.messages_created.inc()
    return row


def _message_row(
    req: SendRequest,
    sid: str,
    sender: SenderInfo | None,
    service: ServiceInfo | None,
    recipient: str,
    shortened: Shortened,
    smart: bool,
    status: Status,
    *,
    now: datetime,
    send_at: datetime | None,
    status_callback: str | None,
) -> dict[str, Any]:
    """The message row for the (rewritten) text, due now or at ``send_at``."""
    info = segments.analyze(shortened.text, smart_encoding=smart)
    validity = req.validity_period or (service.validity_period if service else DEFAULT_VALIDITY)
    extra = dict(req.extra)
    if info.text != shortened.text:
        extra["smart_encoded_replacements"] = len(info.replacements)
    if shortened.record is not None:
        extra["link_shortening"] = shortened.record
    return message_row(
        sid=sid,
        account_sid=req.account_sid,
        service_sid=service.sid if service else None,
        sender_sid=sender.sid if sender else None,
        integration_sid=sender.integration_sid if sender else None,
        direction="outbound-api",
        from_addr=sender.value if sender else None,
        to_addr=recipient,
        body=info.text,
        num_segments=info.num_segments,
        encoding=info.encoding,
        media_urls=req.media_urls,
        status=status,
        status_callback=status_callback,
        validity_period=validity,
        smart_encoded=smart,
        next_attempt_at=send_at.timestamp() if send_at else time.time(),
        extra=extra,
        send_at=send_at,
        now=now,
    )
