"""The SMPP connector (F-PROV-4): one SMPP 3.4 transceiver bind per integration.

PDUs are built and parsed by ``smpplib`` (its codec only: its client is a blocking socket
with one PDU in flight at a time); the transport is asyncio, so up to ``window_size``
submit_sm wait for their responses at once. Text is encoded by ``textwire.segments``:
GSM-7 as unpacked septets with data_coding 0, anything else UCS-2 with data_coding 8; a
long message goes out as parts carrying a UDH with an 8-bit reference (or SAR TLVs when
``sar`` is set).

The bind is kept up by one task per integration: it connects, binds, answers the SMSC's
enquire_link and sends its own every ``enquire_link_interval``, and reconnects with
exponential backoff when the connection drops. submit_sm waiting on a dropped bind come
back as ``retry``. ESME_RTHROTTLED and ESME_RMSGQFUL are retried in place a few times,
then handed back as ``retry``. deliver_sm carrying a delivery receipt becomes a receipt
(``DELIVRD`` → delivered; ``UNDELIV``/``EXPIRED``/``REJECTD``/``DELETED``/``UNKNOWN`` →
undelivered with the carrier's ``err``); any other deliver_sm is a mobile-originated
message (parts reassembled by ``Ingest.inbound_part``). deliver_sm_resp is sent only once
the receipt or message is committed, so the SMSC re-sends anything textwire did not keep.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import re
import struct
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from smpplib import consts as sc
from smpplib import smpp as smpp_codec

from textwire import segments
from textwire.providers.base import OutboundMessage, Receipt, ReceiptStatus, SendResult
from textwire.providers.common import (
    Health,
    InboundPart,
    InboundSms,
    IntegrationConfig,
    Kind,
    ProviderEnv,
    check_known,
    setting_bool,
    setting_float,
    setting_int,
    setting_str,
)

log = logging.getLogger("textwire.providers.smpp")

SETTINGS = (
    "host",
    "port",
    "system_id",
    "system_type",
    "service_type",
    "source_ton",
    "source_npi",
    "dest_ton",
    "dest_npi",
    "window_size",
    "enquire_link_interval",
    "response_timeout",
    "reconnect_initial",
    "reconnect_max",
    "throttle_retries",
    "sar",
    "registered_delivery",
)
SECRETS = ("password",)

ESME_ROK = sc.SMPP_ESME_ROK
RETRY_STATUSES = frozenset({sc.SMPP_ESME_RTHROTTLED, sc.SMPP_ESME_RMSGQFUL})
# What an SMSC refusal means for the message, in Twilio's codes.
REFUSALS = {
    sc.SMPP_ESME_RINVDSTADR: 21211,
    sc.SMPP_ESME_RINVSRCADR: 21212,
}
# Delivery receipt ``stat:`` values and the carrier errors textwire reports for them.
RECEIPT_STATES: dict[str, tuple[ReceiptStatus, int | None]] = {
    "DELIVRD": ("delivered", None),
    "UNDELIV": ("undelivered", 30003),
    "EXPIRED": ("undelivered", 30036),
    "REJECTD": ("undelivered", 30007),
    "DELETED": ("undelivered", 30008),
    "UNKNOWN": ("undelivered", 30005),
}
# message_state TLV values (SMPP 3.4 5.3.2.35) for SMSCs that send no text.
MESSAGE_STATES = {
    2: "DELIVRD",
    3: "EXPIRED",
    4: "DELETED",
    5: "UNDELIV",
    7: "UNKNOWN",
    8: "REJECTD",
}
_RECEIPT_TEXT = re.compile(
    r"id:(?P<id>\S+).*?stat:(?P<stat>[A-Z]+)(?:.*?err:(?P<err>[0-9A-Za-z]+))?", re.S
)


def validate(
    settings: Mapping[str, Any], secrets: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Normalised settings and secrets of an SMPP integration; 400 naming the bad field."""
    check_known(settings, SETTINGS, "Settings")
    check_known(secrets, SECRETS, "Secrets")
    host = setting_str(settings, "host", required=True, max_len=255)
    system_id = setting_str(settings, "system_id", required=True, max_len=15)
    password = setting_str(secrets, "password", where="Secrets", default="", max_len=8)
    out: dict[str, Any] = {
        "host": host,
        "port": setting_int(settings, "port", low=1, high=65535, default=2775),
        "system_id": system_id,
        "system_type": setting_str(settings, "system_type", default="", max_len=12),
        "service_type": setting_str(settings, "service_type", default="", max_len=5),
        "window_size": setting_int(settings, "window_size", low=1, high=1000, default=10),
        "enquire_link_interval": setting_float(
            settings, "enquire_link_interval", low=1, high=3600, default=30
        ),
        "response_timeout": setting_float(
            settings, "response_timeout", low=0.1, high=120, default=10
        ),
        "reconnect_initial": setting_float(
            settings, "reconnect_initial", low=0.01, high=60, default=1
        ),
        "reconnect_max": setting_float(settings, "reconnect_max", low=0.01, high=3600, default=60),
        "throttle_retries": setting_int(settings, "throttle_retries", low=0, high=10, default=3),
        "sar": setting_bool(settings, "sar", default=False),
        "registered_delivery": setting_bool(settings, "registered_delivery", default=True),
    }
    for key in ("source_ton", "source_npi", "dest_ton", "dest_npi"):
        if settings.get(key) not in (None, ""):
            out[key] = setting_int(settings, key, low=0, high=255, default=0)
    return out, {"password": password}


class BindLost(ConnectionError):
    pass


class BindRefused(ConnectionError):
    pass


@dataclass(frozen=True)
class Part:
    """One submit_sm of a message."""

    short_message: bytes
    esm_class: int
    data_coding: int
    sar: tuple[int, int, int] | None  # reference, total, seq


def build_parts(body: str, reference: int, *, sar: bool) -> list[Part]:
    """The submit_sm payloads of ``body``: data_coding from its encoding, UDH or SAR."""
    info = segments.analyze(body)
    payloads = segments.encode_parts(info)
    coding = 8 if info.encoding == "UCS-2" else 0
    total = len(payloads)
    if total == 1 and info.national_shift is None:
        return [Part(payloads[0], 0, coding, None)]
    parts = []
    for seq, payload in enumerate(payloads, start=1):
        if sar:
            parts.append(Part(payload, 0, coding, (reference, total, seq)))
        else:
            udh = segments.user_data_header(
                total, seq, reference & 0xFF, national_shift=info.national_shift
            )
            parts.append(Part(udh + payload, 0x40, coding, None))
    return parts


def address(value: str, ton: int | None, npi: int | None) -> tuple[str, int, int]:
    """An address and its TON/NPI: E.164 is international/ISDN, letters alphanumeric."""
    digits = value.lstrip("+")
    if value.startswith("+") or (digits.isdigit() and len(digits) > 8):
        auto = (digits, 1, 1)
    elif digits.isdigit():
        auto = (digits, 3, 0) if len(digits) <= 6 else (digits, 0, 1)  # short code
    else:
        auto = (value, 5, 0)
    return auto[0], auto[1] if ton is None else ton, auto[2] if npi is None else npi


def encode_submit_sm(
    sequence: int,
    service_type: str,
    source: tuple[str, int, int],
    dest: tuple[str, int, int],
    part: Part,
    *,
    registered_delivery: int,
) -> bytes:
    """One submit_sm PDU, byte for byte what smpplib generates for the same fields.

    The only PDU textwire encodes itself: smpplib walks all 45 optional parameters of
    submit_sm for every PDU, which costs more than everything else on the send path.
    ``tests/unit/test_smpp_codec.py`` checks the two agree.
    """
    body = b"".join(
        (
            service_type.encode("latin-1"),
            b"\0",
            bytes((source[1], source[2])),
            source[0].encode("latin-1")[:20],
            b"\0",
            bytes((dest[1], dest[2])),
            dest[0].encode("latin-1")[:20],
            b"\0",
            # esm_class, protocol_id, priority_flag, schedule_delivery_time "",
            # validity_period "", registered_delivery, replace_if_present_flag,
            # data_coding, sm_default_msg_id, sm_length
            bytes(
                (
                    part.esm_class,
                    0,
                    0,
                    0,
                    0,
                    registered_delivery,
                    0,
                    part.data_coding,
                    0,
                    len(part.short_message),
                )
            ),
            part.short_message,
        )
    )
    if part.sar is not None:
        ref, total, seq = part.sar
        body += struct.pack(">HHH", 0x020C, 2, ref) + struct.pack(">HHB", 0x020E, 1, total)
        body += struct.pack(">HHB", 0x020F, 1, seq)
    return struct.pack(">LLLL", 16 + len(body), 0x00000004, 0, sequence) + body


def decode_text(data: bytes, coding: int) -> str:
    """Text of a deliver_sm payload (after any UDH) by its data_coding."""
    if coding == 8:
        return segments.decode_ucs2(data[: len(data) - len(data) % 2])
    if coding in (0, 1) and all(b < 0x80 for b in data):
        return segments.decode_gsm7(data) if coding == 0 else data.decode("ascii")
    return data.decode("latin-1")


def split_udh(data: bytes) -> tuple[bytes, tuple[int, int, int] | None]:
    """The payload after a user data header, and its concatenation (ref, total, seq)."""
    if not data:
        return data, None
    length = data[0]
    header, rest = data[1 : 1 + length], data[1 + length :]
    concat = None
    pos = 0
    while pos + 2 <= len(header):
        iei, size = header[pos], header[pos + 1]
        value = header[pos + 2 : pos + 2 + size]
        if iei == 0x00 and size == 3:
            concat = (value[0], value[1], value[2])
        elif iei == 0x08 and size == 4:
            concat = ((value[0] << 8) | value[1], value[2], value[3])
        pos += 2 + size
    return rest, concat


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return "" if value is None else str(value)


def receipt_from_pdu(pdu: Any) -> Receipt | None:
    """A deliver_sm delivery receipt as a receipt; None when it is not one."""
    text = _text(pdu.short_message or getattr(pdu, "message_payload", None))
    match = _RECEIPT_TEXT.search(text)
    ref = _text(getattr(pdu, "receipted_message_id", None)) or (match["id"] if match else "")
    stat = match["stat"] if match else MESSAGE_STATES.get(getattr(pdu, "message_state", None) or 0)
    if not ref or stat not in RECEIPT_STATES:
        return None
    status, code = RECEIPT_STATES[stat]
    err = match["err"] if match and match["err"] else None
    return Receipt(
        status=status,
        provider_ref=ref,
        error_code=code,
        error_message=None if status == "delivered" else f"SMSC stat:{stat} err:{err or '000'}",
    )


class _Sequences:
    """The ``client`` smpplib's PDU factory asks for sequence numbers."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)
        self.sequence = 0

    def next_sequence(self) -> int:
        self.sequence = next(self._counter) % 0x7FFFFFFF or 1
        return self.sequence


class SmppProvider:
    """Sends through one SMPP bind and takes its receipts and inbound messages."""

    def __init__(self, cfg: IntegrationConfig, env: ProviderEnv):
        self.cfg = cfg
        self.s = cfg.settings
        self.password: str = cfg.secrets.get("password", "")
        self.env = env
        self.health = Health()
        self._seq = _Sequences()
        self._window = asyncio.Semaphore(int(self.s.get("window_size", 10)))
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._writer: asyncio.StreamWriter | None = None
        self._bound = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None
        self._closed = False
        self._reference = random.randrange(256)
        self._tasks: set[asyncio.Task[None]] = set()
        self._outbox: list[bytes] = []
        self._flush_scheduled = False
        self.binds = 0  # how many times a bind succeeded (for tests and logs)

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        if self._runner is None or self._runner.done():
            self._runner = asyncio.get_running_loop().create_task(self._keep_bound())

    async def close(self) -> None:
        self._closed = True
        if self._writer is not None and self._bound.is_set():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._request("unbind"), 1.0)
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._runner
        self._drop(BindLost("connector closed"))

    async def _keep_bound(self) -> None:
        delay = float(self.s.get("reconnect_initial", 1.0))
        while not self._closed:
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(self.s["host"], int(self.s["port"])),
                    float(self.s.get("response_timeout", 10.0)),
                )
                self._writer = writer
                reading = asyncio.create_task(self._read(reader))
                linking: asyncio.Task[None] | None = None
                try:
                    await self._bind()
                    self.binds += 1
                    self.health.ok()
                    delay = float(self.s.get("reconnect_initial", 1.0))
                    log.info("smpp bound", extra={"integration": self.cfg.sid})
                    linking = asyncio.create_task(self._enquire_links())
                    await asyncio.wait([reading, linking], return_when=asyncio.FIRST_COMPLETED)
                    reason = "the SMSC closed the connection"
                    if linking.done() and linking.exception() is not None:
                        reason = f"enquire_link: {linking.exception()}"
                finally:
                    for task in (reading, linking):
                        if task is not None:
                            task.cancel()
            except BindRefused as exc:
                reason = str(exc)
            except (OSError, TimeoutError, BindLost) as exc:
                reason = f"{type(exc).__name__}: {exc}"
            except asyncio.CancelledError:
                self._drop(BindLost("connector closed"))
                raise
            self._drop(BindLost(reason))
            if self._closed:
                return
            self.health.failed(reason)
            log.warning(
                "smpp bind down; reconnecting",
                extra={"integration": self.cfg.sid, "error": reason, "in_seconds": delay},
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, float(self.s.get("reconnect_max", 60.0)))

    def _drop(self, exc: Exception) -> None:
        self._bound.clear()
        self._outbox.clear()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        pending, self._pending = self._pending, {}
        for fut in pending.values():
            if not fut.done():
                fut.set_exception(exc)

    async def _bind(self) -> None:
        resp = await self._request(
            "bind_transceiver",
            system_id=self.s["system_id"],
            password=self.password,
            system_type=self.s.get("system_type") or "",
            interface_version=0x34,
            addr_ton=0,
            addr_npi=0,
            address_range="",
        )
        if resp.status != ESME_ROK:
            raise BindRefused(
                f"SMPP bind refused: 0x{resp.status:08X} "
                f"{sc.DESCRIPTIONS.get(resp.status, 'unknown status')}"
            )
        self._bound.set()

    async def _enquire_links(self) -> None:
        interval = float(self.s.get("enquire_link_interval", 30.0))
        while True:
            await asyncio.sleep(interval)
            await self._request("enquire_link")  # a missing answer times out: bind lost

    # --- PDUs -----------------------------------------------------------------------------

    def _write(self, pdu: Any) -> None:
        self._write_bytes(pdu.generate())

    def _write_bytes(self, data: bytes) -> None:
        """Queue a PDU; everything queued in one turn of the loop goes out in one write."""
        if self._writer is None:
            raise BindLost("not connected")
        self._outbox.append(data)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        if self._writer is not None and self._outbox:
            self._writer.write(b"".join(self._outbox))
        self._outbox.clear()

    async def _request(self, command: str, **fields: Any) -> Any:
        pdu = smpp_codec.make_pdu(command, client=self._seq, **fields)
        return await self._exchange(command, pdu.sequence, pdu.generate())

    async def _exchange(self, command: str, sequence: int, data: bytes) -> Any:
        """Send one request PDU and wait for its response (any status)."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Any] = loop.create_future()
        self._pending[sequence] = fut
        timer = loop.call_later(
            float(self.s.get("response_timeout", 10.0)), self._expire, sequence, command
        )
        try:
            self._write_bytes(data)
            return await fut
        finally:
            timer.cancel()
            self._pending.pop(sequence, None)

    def _expire(self, sequence: int, command: str) -> None:
        fut = self._pending.get(sequence)
        if fut is not None and not fut.done():
            fut.set_exception(BindLost(f"no {command}_resp within the response timeout"))
            if self._writer is not None:
                self._writer.close()  # an SMSC that stops answering is a lost bind

    async def _read(self, reader: asyncio.StreamReader) -> None:
        while True:
            try:
                head = await reader.readexactly(4)
                (length,) = struct.unpack(">L", head)
                data = head + await reader.readexactly(length - 4)
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            try:
                pdu = smpp_codec.parse_pdu(data, client=self._seq, allow_unknown_opt_params=True)
            except Exception:
                log.warning("unparseable PDU from the SMSC", extra={"integration": self.cfg.sid})
                continue
            if pdu is None:
                continue
            if pdu.is_response() or pdu.command == "generic_nack":
                fut = self._pending.get(pdu.sequence)
                if fut is not None and not fut.done():
                    fut.set_result(pdu)
            elif pdu.command == "deliver_sm":
                task = asyncio.create_task(self._deliver(pdu))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            elif pdu.command == "enquire_link":
                self._respond("enquire_link_resp", pdu.sequence)
            elif pdu.command == "unbind":
                self._respond("unbind_resp", pdu.sequence)
                return

    def _respond(self, command: str, sequence: int, status: int = ESME_ROK) -> None:
        pdu = smpp_codec.make_pdu(command, client=self._seq, status=status)
        pdu.sequence = sequence  # smpplib would take the client's current number otherwise
        with contextlib.suppress(BindLost):
            self._write(pdu)

    async def _deliver(self, pdu: Any) -> None:
        status = ESME_ROK
        try:
            await self._handle_deliver(pdu)
        except Exception:
            log.exception("could not keep a deliver_sm", extra={"integration": self.cfg.sid})
            status = sc.SMPP_ESME_RSYSERR  # the SMSC will send it again
        self._respond("deliver_sm_resp", pdu.sequence, status)

    async def _handle_deliver(self, pdu: Any) -> None:
        sink = self.env.sink
        if sink is None:
            raise RuntimeError("no sink for deliver_sm")
        esm = int(pdu.esm_class or 0)
        if esm & 0x3C in (0x04, 0x10, 0x20) or getattr(pdu, "receipted_message_id", None):
            receipt = receipt_from_pdu(pdu)
            if receipt is not None:
                await sink.receipts(self.cfg.sid, [receipt])
            return
        data: bytes = pdu.short_message or getattr(pdu, "message_payload", None) or b""
        concat = None
        if esm & 0x40:
            data, concat = split_udh(data)
        if concat is None and getattr(pdu, "sar_msg_ref_num", None) is not None:
            concat = (pdu.sar_msg_ref_num, pdu.sar_total_segments, pdu.sar_segment_seqnum)
        text = decode_text(data, int(pdu.data_coding or 0))
        source = _text(pdu.source_addr)
        dest = _text(pdu.destination_addr)
        if pdu.source_addr_ton == 1 and source.isdigit():
            source = "+" + source
        if pdu.dest_addr_ton == 1 and dest.isdigit():
            dest = "+" + dest
        if concat is not None and concat[1] > 1:
            ref, total, seq = concat
            await sink.inbound_part(self.cfg.sid, InboundPart(source, dest, ref, total, seq, text))
        else:
            await sink.inbound(self.cfg.sid, InboundSms(source, dest, text))

    # --- sending --------------------------------------------------------------------------

    async def send_batch(self, messages: Sequence[OutboundMessage]) -> list[SendResult]:
        self.start()
        if not self._bound.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._bound.wait(), float(self.s.get("response_timeout", 10.0))
                )
        if not self._bound.is_set():
            reason = self.health.last_error or "not bound"
            return [
                SendResult(m.sid, "retry", error_message=f"SMPP bind down: {reason}")
                for m in messages
            ]
        return list(await asyncio.gather(*(self._send_one(m) for m in messages)))

    async def lookup(self, sids: Sequence[str]) -> dict[str, SendResult]:
        return {}  # the registry's refs answer; an SMSC cannot be asked by textwire's SID

    def _next_reference(self) -> int:
        self._reference = (self._reference + 1) % 256
        return self._reference

    async def _send_one(self, m: OutboundMessage) -> SendResult:
        parts = build_parts(m.body, self._next_reference(), sar=bool(self.s.get("sar")))
        source = address(m.from_addr, self.s.get("source_ton"), self.s.get("source_npi"))
        dest = address(m.to_addr, self.s.get("dest_ton"), self.s.get("dest_npi"))
        outcomes: list[str | BaseException]
        if len(parts) == 1:
            try:
                outcomes = [await self._submit(parts[0], source, dest)]
            except Exception as exc:
                outcomes = [exc]
        else:
            outcomes = await asyncio.gather(
                *(self._submit(part, source, dest) for part in parts), return_exceptions=True
            )
        ids = [o for o in outcomes if isinstance(o, str)]
        if len(ids) == len(parts):
            return SendResult(m.sid, "accepted", provider_sid=ids[0], provider_refs=tuple(ids))
        first = next(o for o in outcomes if not isinstance(o, str))
        if ids:
            # Some parts are with the SMSC: sending the message again would repeat them.
            return SendResult(
                m.sid,
                "failed",
                provider_sid=ids[0],
                provider_refs=tuple(ids),
                error_code=30008,
                error_message=f"{len(ids)} of {len(parts)} parts accepted; then {first}",
            )
        if isinstance(first, _Refused):
            if first.status in RETRY_STATUSES:
                return SendResult(m.sid, "retry", error_message=str(first))
            return SendResult(
                m.sid,
                "failed",
                error_code=REFUSALS.get(first.status, 30008),
                error_message=str(first),
            )
        if isinstance(first, (BindLost, ConnectionError, OSError)):
            return SendResult(m.sid, "retry", error_message=f"SMPP bind lost: {first}")
        raise first

    async def _submit(
        self, part: Part, source: tuple[str, int, int], dest: tuple[str, int, int]
    ) -> str:
        service_type = str(self.s.get("service_type") or "")
        registered = 1 if self.s.get("registered_delivery", True) else 0
        retries = int(self.s.get("throttle_retries", 3))
        for attempt in range(retries + 1):
            async with self._window:
                if not self._bound.is_set():
                    raise BindLost(self.health.last_error or "not bound")
                sequence = self._seq.next_sequence()
                pdu = encode_submit_sm(
                    sequence, service_type, source, dest, part, registered_delivery=registered
                )
                resp = await self._exchange("submit_sm", sequence, pdu)
            if resp.status == ESME_ROK:
                return _text(resp.message_id)
            if resp.status not in RETRY_STATUSES or attempt == retries:
                raise _Refused(resp.status)
            await asyncio.sleep(min(1.0, 0.05 * 2**attempt))
        raise AssertionError("unreachable")

    async def test(self) -> dict[str, Any]:
        """Bind (a second, short-lived bind) and unbind: proves host, port and credentials."""
        probe = SmppProvider(self.cfg, ProviderEnv(self.env.callback_base, None))
        started = time.monotonic()
        probe.s = {**self.s, "reconnect_initial": 3600}
        probe.start()
        try:
            await asyncio.wait_for(probe._bound.wait(), float(self.s.get("response_timeout", 10.0)))
            ok, error = True, None
        except TimeoutError:
            ok, error = False, probe.health.last_error or "no bind within the response timeout"
        finally:
            await probe.close()
        return {
            "ok": ok,
            "request": {
                "host": self.s["host"],
                "port": self.s["port"],
                "system_id": self.s["system_id"],
            },
            "error": error,
            "seconds": round(time.monotonic() - started, 3),
        }


class _Refused(Exception):
    def __init__(self, status: int):
        self.status = status
        meaning = sc.DESCRIPTIONS.get(status, "unknown status")
        super().__init__(f"SMSC refused submit_sm: 0x{status:08X} {meaning}")


async def run_test(cfg: IntegrationConfig, env: ProviderEnv, _m: OutboundMessage) -> dict[str, Any]:
    provider = SmppProvider(cfg, env)
    try:
        return await provider.test()
    finally:
        await provider.close()


def destination(cfg: IntegrationConfig) -> tuple[str, int]:
    return str(cfg.settings["host"]), int(cfg.settings["port"])


# Receipts and inbound messages arrive over the bind (deliver_sm), never by HTTP.
KIND = Kind(
    name="smpp",
    validate=validate,
    test=run_test,
    build=SmppProvider,
    keep_bound=True,
    socket=destination,
)
