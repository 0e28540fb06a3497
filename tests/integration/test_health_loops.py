"""``/healthz`` reports each background loop of the process (issue 11 §1b) and answers 503
while one has failed: here the webhook deliverer, whose table is taken away for real.

The 503 test runs in process (the ``app`` fixture): its subject is the loops, not a
listener. The role tests stay on sockets: what they check is the probes port each role
listens on, and a real ``textwire serve`` process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from tests.inprocess import InProcess
from tests.support import AppUnderTest, LiveServer, make_settings

ROLE_LOOPS = {
    "all": {"worker", "deliverer", "click_writer", "redirect_listener"},
    "worker": {"worker", "deliverer"},
    "redirect": {"click_writer", "redirect_listener"},
    "api": set(),
}


@pytest.mark.parametrize("role", list(ROLE_LOOPS))
def test_healthz_lists_every_loop_of_the_role_as_running(
    tmp_path: Path, database_url: str, role: str
) -> None:
    """issue 11 §1b: each role's loops are reported, on the probes port as on the API's."""
    settings = make_settings(tmp_path / "data", database_url, metrics_port=0)
    server = LiveServer(settings, role=role).start()
    try:
        assert server.running is not None
        probes = f"http://127.0.0.1:{server.running.metrics_port}/healthz"
        for url in [probes] + ([server.url + "/healthz"] if role in ("all", "api") else []):
            r = httpx.get(url)
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["status"] == "ok"
            assert set(body["loops"]) == ROLE_LOOPS[role]
            for loop in body["loops"].values():
                assert loop["state"] == "running" and loop["failures"] == 0
    finally:
        server.stop()


def _eventually(app: InProcess, check: Any, timeout: float = 20) -> httpx.Response:
    """``/healthz`` once ``check`` holds for it. A short poll: a loop's state changes on a
    failed or recovered step, which commits nothing, and the LoopRegistry has no way to
    wait on a change."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = app.http.get("/healthz")
        if check(r):
            return r
        time.sleep(0.02)
    raise AssertionError(f"healthz never matched: {r.status_code} {r.text}")


async def _rename(server: AppUnderTest, old: str, new: str) -> None:
    """A real fault for a loop: its table gone from under it (and back)."""
    async with server.rt.db.write() as conn:
        await conn.execute(text(f"ALTER TABLE {old} RENAME TO {new}"))


@pytest.mark.parametrize(
    ("table", "loop", "other"),
    [("webhooks", "deliverer", "worker"), ("messages", "worker", "deliverer")],
    ids=["deliverer", "worker"],
)
def test_healthz_is_503_while_a_loop_fails_and_200_once_it_recovers(
    app: InProcess, table: str, loop: str, other: str
) -> None:
    """issue 11 §1b: the table a loop works on is renamed away (a real fault, on the real
    database). The deliverer fails and is restarted by its supervisor; the worker retries a
    failed tick itself (it never dies) but reports each one, since a worker whose every tick
    fails gets nothing done. Either way /healthz is 503 naming that loop alone while the
    other runs on, and 200 once the table is back."""
    assert app.http.get("/healthz").status_code == 200
    app.call(_rename(app, table, f"{table}_away"))
    try:
        r = _eventually(app, lambda r: r.status_code == 503)
        body = r.json()
        assert body["status"] == "error" and body["failing"] == [loop]
        failed = body["loops"][loop]
        assert failed["state"] == "failed" and failed["failures"] >= 1
        assert failed["last_error"] in ("OperationalError", "ProgrammingError")
        assert body["loops"][other]["state"] == "running"
    finally:
        app.call(_rename(app, f"{table}_away", table))
    r = _eventually(app, lambda r: r.status_code == 200)
    assert r.json()["loops"][loop]["state"] == "running"


def test_textwire_serve_worker_reports_its_loops_on_the_probes_port(
    tmp_path: Path, database_url: str
) -> None:
    """issue 11 §1b: the real command, ``textwire serve --role worker``, probed on its
    metrics port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "TEXTWIRE_DATA_DIR": str(tmp_path / "data"),
        "TEXTWIRE_DATABASE_URL": database_url,
        "TEXTWIRE_METRICS_PORT": str(port),
        "TEXTWIRE_LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "textwire", "serve", "--role", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        # A poll: the listener is another process's, which signals nothing here.
        deadline = time.monotonic() + 30
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/healthz")
                break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        assert r.status_code == 200, r.text
        states = {name: loop["state"] for name, loop in r.json()["loops"].items()}
        assert states == {"worker": "running", "deliverer": "running"}
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err.decode()[-2000:]
