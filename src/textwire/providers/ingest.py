"""What the network sends back: delivery receipts and inbound (mobile-originated) messages.

Receipts name the provider's reference; ``provider_refs`` turns it into textwire's message.
A message sent in several parts (SMPP) is delivered when every part is, and undelivered as
soon as one part is. Only a message still awaiting a receipt (``sending``/``sent``) moves,
so a late or repeated receipt changes nothing.

An inbound message is stored (direction ``inbound``, status ``received``), passed to the
keyword hook it is given (``consent.inbound.on_inbound``, wired by ``compose``) and
forwarded, signed like Twilio's inbound webhook, to its service's ``inbound_request_url``,
or to the number's own URL when the service says ``use_inbound_webhook_on_number``; with
no URL it is stored and not forwarded.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any, Protocol

from sqlalchemy import and_, delete, insert, select
from sqlalchemy.exc import IntegrityError

from textwire import segments
from textwire.ids import new_sid
from textwire.messages import lifecycle, store
from textwire.messages.model import Change
from textwire.messages.receipts import ReceiptDeps, apply_receipts, record_changes
from textwire.messages.rows import message_row
from textwire.messages.serialize import API_VERSION
from textwire.messages.status import NOT_DELIVERED
from textwire.outbox import tables as ot
from textwire.outbox.rows import form_webhook_row
from textwire.providers import tables as pt
from textwire.providers.base import Receipt
from textwire.providers.common import InboundPart, InboundSms
from textwire.providers.registry import ProviderRegistry
from textwire.senders import tables as st

log = logging.getLogger("textwire.providers.ingest")

# How long a receipt may wait for the worker to record that the provider took the message.
LATE_RECEIPT_WAIT = 60.0


InboundHook = Callable[[dict[str, Any]], Awaitable[dict[str, str] | None]]
"""Called with each inbound message row before it is stored; may add to the row's ``extra``
and returns extra fields for the forwarded webhook (``{"OptOutType": "STOP"}``)."""


class IngestDeps(ReceiptDeps, Protocol):
    """What ingest needs of the process (the runtime record has it all): the providers'
    configurations, besides what receipts need."""

    providers: ProviderRegistry


class Ingest:
    """The ``Sink`` the registry gives every connector."""

    def __init__(self, rt: IngestDeps, on_inbound: InboundHook):
        self.rt = rt
        self._on_inbound = on_inbound
        self._later: set[asyncio.Task[None]] = set()

    # --- receipts -------------------------------------------------------------------------

    async def receipts(self, integration_sid: str, receipts: Sequence[Receipt]) -> None:
        pending = await self._apply(integration_sid, receipts)
        if pending:
            self._apply_later(integration_sid, pending)

    async def _apply(self, integration_sid: str, receipts: Sequence[Receipt]) -> list[Receipt]:
        """Apply what can be applied; return the receipts that came before their message's
        acceptance was recorded (unknown reference, or still ``sending``)."""
        pending: list[Receipt] = []
        if not receipts:
            return pending
        async with self.rt.db.write() as conn:
            by_ref = {r.provider_ref: r for r in receipts if r.provider_ref}
            known = await store.refs_named(conn, integration_sid, list(by_ref)) if by_ref else []
            for ref in known:
                rc = by_ref[ref.provider_ref]
                await store.set_ref_status(
                    conn, integration_sid, ref.provider_ref, rc.status, rc.error_code
                )
            # What each message's receipt says, once all its parts are counted.
            verdict: dict[str, Receipt] = {}
            sids = {ref.message_sid for ref in known}
            parts: dict[str, list[store.Ref]] = {}
            if sids:
                # Parts' receipts arrive side by side: take the messages' row locks so the
                # last part's transaction sees the others' committed part statuses.
                await store.lock(conn, sids)
                parts = await store.parts_of(conn, sids)
            for ref in known:
                sid = ref.message_sid
                rc = by_ref[ref.provider_ref]
                if rc.status in NOT_DELIVERED or all(
                    p.status == "delivered" for p in parts.get(sid, ())
                ):
                    verdict.setdefault(sid, rc)
            seen = {k.provider_ref for k in known}
            for rc in receipts:
                if rc.message_sid and rc.provider_ref not in seen:
                    verdict.setdefault(rc.message_sid, replace(rc, provider_ref=None))
            # Faster than the worker: it records the provider's references (and "sent")
            # only once the whole batch is handed over. Try these again shortly.
            pending += [
                r
                for r in receipts
                if r.provider_ref and r.provider_ref not in seen and not r.message_sid
            ]
            if not verdict:
                return pending
            current = await store.rows_by_sid(conn, verdict)
            plain: list[Receipt] = []
            changes: list[Change] = []
            for sid, rc in verdict.items():
                row = current.get(sid)
                fate = lifecycle.receipt_by_provider(
                    row, integration_sid=integration_sid, by_ref=rc.provider_ref is not None
                )
                if fate == "later":
                    pending.append(replace(rc, message_sid=sid, provider_ref=None))
                if fate != "apply" or row is None:
                    continue
                if rc.status == "failed":
                    changes.append(
                        lifecycle.failed_after_accept(row, rc.error_code, rc.error_message)
                    )
                    continue
                plain.append(
                    replace(
                        rc,
                        message_sid=sid,
                        error_code=rc.error_code if rc.status == "undelivered" else None,
                    )
                )
                if rc.status == "undelivered":
                    detail = lifecycle.undelivered_detail(row, rc.error_message)
                    if detail is not None:
                        changes.append(detail)
            # The one receipt path (the worker's too): it knows what follows an undelivered one.
            await apply_receipts(conn, self.rt, plain)
            await record_changes(conn, self.rt, changes)
        return pending

    def _apply_later(self, integration_sid: str, receipts: list[Receipt]) -> None:
        task = asyncio.get_running_loop().create_task(self._retry(integration_sid, receipts))
        self._later.add(task)
        task.add_done_callback(self._later.discard)

    async def _retry(self, integration_sid: str, receipts: list[Receipt]) -> None:
        deadline = time.monotonic() + LATE_RECEIPT_WAIT
        while receipts and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            receipts = await self._apply(integration_sid, receipts)
        if receipts:
            log.warning(
                "receipts for messages textwire never recorded as accepted; dropped",
                extra={
                    "integration": integration_sid,
                    "refs": [r.provider_ref or r.message_sid for r in receipts][:10],
                },
            )

    # --- inbound --------------------------------------------------------------------------

    async def inbound_part(self, integration_sid: str, part: InboundPart) -> str | None:
        ip = pt.inbound_parts
        key = and_(
            ip.c.integration_sid == integration_sid,
            ip.c.source == part.from_addr,
            ip.c.reference == part.reference,
        )
        async with self.rt.db.write() as conn:
            try:
                async with conn.begin_nested():
                    await conn.execute(
                        insert(ip).values(
                            integration_sid=integration_sid,
                            source=part.from_addr,
                            reference=part.reference,
                            total=part.total,
                            seq=part.seq,
                            destination=part.to_addr,
                            text=part.text,
                            received_at=time.time(),
                        )
                    )
            except IntegrityError:
                pass  # a repeated part (the SMSC re-sent it): keep the first
        # Parts arrive side by side: look in a new transaction, which sees every part
        # committed so far; whoever deletes the complete set assembles the message.
        async with self.rt.db.write() as conn:
            stored = list(
                (
                    await conn.execute(select(ip.c.seq, ip.c.text).where(key).order_by(ip.c.seq))
                ).all()
            )
            if len({s.seq for s in stored}) < part.total:
                return None
            taken = await conn.execute(delete(ip).where(key))
            if taken.rowcount < len(stored):
                return None  # another part's transaction took them first
        body = "".join(s.text for s in stored)
        return await self.inbound(
            integration_sid,
            InboundSms(
                from_addr=part.from_addr,
                to_addr=part.to_addr,
                body=body,
                num_segments=part.total,
                provider_ref=f"mo:{part.from_addr}:{part.reference}:{int(time.time())}",
            ),
        )

    async def inbound(self, integration_sid: str, sms: InboundSms) -> str | None:
        rt = self.rt
        cfg = await rt.providers.config(integration_sid)
        if cfg is None:
            log.warning("inbound for a deleted integration", extra={"integration": integration_sid})
            return None
        account_sid = cfg.account_sid
        snap = await rt.directory.account(account_sid)
        sender = snap.senders_by_value.get(sms.to_addr)
        info = segments.analyze(sms.body)
        now = rt.clock.now()
        sid = new_sid("MM" if sms.media_urls else "SM")
        row = message_row(
            sid=sid,
            account_sid=account_sid,
            service_sid=sender.service_sid if sender else None,
            sender_sid=sender.sid if sender else None,
            integration_sid=integration_sid,
            direction="inbound",
            from_addr=sms.from_addr[:32],
            to_addr=sms.to_addr[:32],
            body=sms.body,
            num_segments=max(sms.num_segments, info.num_segments),
            encoding=info.encoding,
            media_urls=sms.media_urls,
            status="received",
            provider_sid=(sms.provider_ref or "")[:64] or None,
            extra=sms.extra,
            now=now,
            date_sent=now,
        )
        if sms.provider_ref and await store.inbound_seen(rt.db, integration_sid, sms.provider_ref):
            log.info(
                "repeated inbound message ignored",
                extra={"integration": integration_sid, "ref": sms.provider_ref},
            )
            return None
        extra_params = await self._on_inbound(row)  # keyword handling (consent) hooks in here
        target = await self._forward_target(row)
        async with rt.db.write() as conn:
            if sms.provider_ref and not await store.claim_inbound_ref(
                conn, integration_sid, sms.provider_ref, sid
            ):
                log.info(
                    "repeated inbound message ignored",
                    extra={"integration": integration_sid, "ref": sms.provider_ref},
                )
                return None
            if target is None:
                row["extra"] = {**(row["extra"] or {}), "forwarded": False}
            await store.insert_one(conn, row)
            if target is not None:
                params = inbound_webhook_params(row, extra_params)
                await conn.execute(
                    insert(ot.webhooks).values(
                        **form_webhook_row(
                            account_sid=account_sid,
                            message_sid=sid,
                            kind="inbound",
                            url=target,
                            params=params,
                            token=await rt.tokens.token(account_sid),
                            now=now,
                        )
                    )
                )
        rt.metrics.transitions.labels("received").inc()
        return sid

    async def _forward_target(self, row: dict[str, Any]) -> str | None:
        """The service's inbound URL, the number's own URL, or None (store only)."""
        async with self.rt.db.read() as conn:
            service = None
            if row["service_sid"]:
                service = (
                    await conn.execute(
                        select(st.services).where(st.services.c.sid == row["service_sid"])
                    )
                ).first()
            use_number = service is None or bool(service.use_inbound_webhook_on_number)
            if use_number and row["sender_sid"]:
                url = await conn.scalar(
                    select(pt.number_webhooks.c.inbound_url).where(
                        pt.number_webhooks.c.sender_sid == row["sender_sid"]
                    )
                )
                return str(url) if url else None
            if service is not None and service.inbound_request_url:
                return str(service.inbound_request_url)
        return None


def inbound_webhook_params(row: dict[str, Any], extra: dict[str, str] | None) -> dict[str, str]:
    """Twilio's inbound webhook fields for a stored inbound message."""
    params = {
        "MessageSid": row["sid"],
        "SmsSid": row["sid"],
        "SmsMessageSid": row["sid"],
        "AccountSid": row["account_sid"],
        "From": row["from_addr"],
        "To": row["to_addr"],
        "Body": row["body"],
        "NumMedia": str(row["num_media"]),
        "NumSegments": str(row["num_segments"]),
        "SmsStatus": "received",
        "ApiVersion": API_VERSION,
    }
    if row["service_sid"]:
        params["MessagingServiceSid"] = row["service_sid"]
    for i, url in enumerate(row["media_urls"] or ()):
        params[f"MediaUrl{i}"] = url
    params.update(extra or {})
    return params
