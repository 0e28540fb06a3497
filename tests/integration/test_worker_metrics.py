"""A process without the API is still probed and scraped, on ``metrics_port`` (issue 3,
observability): the dispatch metrics live in the process that dispatches."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from tests.integration.test_dispatch import Ctx
from tests.support import LiveServer, Receiver, make_settings


def test_a_worker_only_process_serves_metrics_and_health(
    tmp_path: Path, database_url: str, hook_receiver: Receiver
) -> None:
    settings = make_settings(tmp_path / "data", database_url, metrics_port=0)
    api = LiveServer(settings, role="api").start()
    worker = LiveServer(settings, role="worker").start()
    try:
        assert worker.running is not None and worker.running.port is None  # no API here
        probes = f"http://127.0.0.1:{worker.running.metrics_port}"
        assert httpx.get(probes + "/healthz").json()["status"] == "ok"
        ctx = Ctx(api, hook_receiver)
        msgs = [ctx.send(To="+14155550100", From="+14155550111", Body=f"m{i}") for i in range(3)]
        ctx.wait_final([m["sid"] for m in msgs])
        text = httpx.get(probes + "/metrics").text
        # Observed by the worker process, so only its own /metrics can show them.
        latency = re.search(r"^textwire_dispatch_latency_seconds_count (\S+)$", text, re.M)
        assert latency is not None and float(latency.group(1)) == 3.0, text
        assert 'textwire_messages{status="delivered"} 3.0' in text
        assert httpx.get(probes + "/v1/Senders").status_code == 404  # probes only
        api_text = httpx.get(api.url + "/metrics").text
        assert "textwire_dispatch_latency_seconds_count 0.0" in api_text
    finally:
        worker.stop()
        api.stop()
