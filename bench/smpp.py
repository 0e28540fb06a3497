"""Benchmark: submit_sm per second through textwire's SMPP connector (issue 7; goal >= 2,000/s).

The peer is the local SMSC the tests use (``tests/e2e/smsc/smsc.js``: the npm ``smpp``
package in server mode, installed by ``npm ci`` when missing), on 127.0.0.1, with receipts
off and per-PDU reporting off. textwire's ``SmppProvider`` hands it batches of 500
single-part GSM-7 messages (the worker's batch size) with a window of 10 submit_sm in
flight. The baseline, measured in the same run against the same peer, is smpplib's own
blocking client, which waits for each submit_sm_resp before the next submit (a window of
one). Run:

    .venv/bin/python bench/smpp.py
"""

from __future__ import annotations

import asyncio
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import smpplib.client
from tests.e2e.smsc_peer import PASSWORD, SYSTEM_ID, Smsc, smsc

from textwire.providers.base import OutboundMessage
from textwire.providers.common import IntegrationConfig, ProviderEnv
from textwire.providers.smpp import SmppProvider

MESSAGES = 20_000
BATCH = 500
WINDOW = 10
BASELINE_MESSAGES = 3_000
ROUNDS = 3
GOAL = 2_000


def _messages(n: int, offset: int) -> list[OutboundMessage]:
    return [
        OutboundMessage(
            sid=f"SM{offset + i:032x}",
            account_sid="AC" + "0" * 32,
            from_addr="+14155550111",
            to_addr=f"+1415555{(offset + i) % 10_000:04d}",
            body=f"Your code is {(offset + i) % 1_000_000:06d}. It expires in 10 minutes.",
            num_segments=1,
            encoding="GSM-7",
            media_urls=(),
            sender_sid=None,
            integration_sid="IN" + "0" * 32,
        )
        for i in range(n)
    ]


async def textwire_rate(port: int) -> float:
    cfg = IntegrationConfig(
        sid="IN" + "0" * 32,
        account_sid="AC" + "0" * 32,
        friendly_name="bench",
        type="smpp",
        settings={
            "host": "127.0.0.1",
            "port": port,
            "system_id": SYSTEM_ID,
            "window_size": WINDOW,
            "enquire_link_interval": 30,
            "response_timeout": 10,
            "registered_delivery": False,
        },
        secrets={"password": PASSWORD},
        updated=datetime.now(UTC),
    )
    provider = SmppProvider(cfg, ProviderEnv("http://127.0.0.1", None))
    try:
        await provider.send_batch(_messages(BATCH, 0))  # bind and warm up
        batches = [_messages(BATCH, BATCH + k * BATCH) for k in range(MESSAGES // BATCH)]
        start = time.perf_counter()
        accepted = 0
        for batch in batches:
            results = await provider.send_batch(batch)
            accepted += sum(r.outcome == "accepted" for r in results)
        elapsed = time.perf_counter() - start
        assert accepted == MESSAGES, f"only {accepted} of {MESSAGES} accepted"
        return MESSAGES / elapsed
    finally:
        await provider.close()


def baseline_rate(port: int) -> float:
    client = smpplib.client.Client("127.0.0.1", port, allow_unknown_opt_params=True)
    client.connect()
    try:
        client.bind_transceiver(system_id=SYSTEM_ID, password=PASSWORD)
        messages = _messages(BASELINE_MESSAGES, 0)
        start = time.perf_counter()
        for m in messages:
            client.send_message(
                source_addr_ton=1,
                source_addr_npi=1,
                source_addr=m.from_addr.lstrip("+"),
                dest_addr_ton=1,
                dest_addr_npi=1,
                destination_addr=m.to_addr.lstrip("+"),
                short_message=m.body.encode(),
                data_coding=0,
                esm_class=0,
                registered_delivery=0,
            )
            resp = client.read_pdu()
            assert resp.command == "submit_sm_resp" and resp.status == 0
        return BASELINE_MESSAGES / (time.perf_counter() - start)
    finally:
        client.unbind()
        client.disconnect()


def main() -> None:
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, ")
    print(f"  Python {platform.python_version()}, load average {os.getloadavg()[0]:.1f}")
    print(f"{MESSAGES:,} submit_sm per round, batches of {BATCH}, window {WINDOW}")
    peer: Smsc
    with smsc() as peer:
        peer.command(cmd="quiet", on=True)
        peer.command(cmd="receipts", on=False)
        for round_no in range(1, ROUNDS + 1):
            base = baseline_rate(peer.port)
            rate = asyncio.run(textwire_rate(peer.port))
            verdict = "goal met" if rate >= GOAL else f"BELOW the goal of {GOAL:,}/s"
            print(
                f"round {round_no}: textwire {rate:,.0f} submit_sm/s; smpplib blocking client "
                f"(window 1) {base:,.0f}/s; {rate / base:.1f}x; {verdict}"
            )


if __name__ == "__main__":
    main()
