"""Subscriber list sync through the CLI (a real process) and the upload endpoint: atomic
replace, bad files, an interrupted sync, and what the send pipeline makes of the result
(F-CONSENT-4, F-CONSENT-6)."""

from __future__ import annotations

import json
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
from sqlalchemy import func, select

from tests.inprocess import InProcess
from tests.support import AppUnderTest, LiveServer
from textwire.consent import tables as ct
from textwire.consent.csvsync import synthetic_subscriber_csv
from textwire.consent.inbound import handle_inbound
from textwire.consent.state import read_states

SENDER = "+14155550111"
A, B, C, D = "+12025550101", "+12025550102", "+12025550103", "+12025550104"


def cli_env(app: InProcess) -> dict[str, str]:
    return {
        **os.environ,
        "TEXTWIRE_DATA_DIR": str(app.settings.data_dir),
        "TEXTWIRE_DATABASE_URL": app.settings.resolved_database_url(),
    }


def textwire(app: InProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "textwire", *args],
        env=cli_env(app),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


class Ctx:
    def __init__(self, app: AppUnderTest, tmp: Path):
        self.server = app
        self.tmp = tmp
        acct = app.new_account("Subscribers")
        self.sid = acct.account_sid
        self.auth = (acct.account_sid, acct.auth_token)
        r = app.http.post(f"{app.url}/v1/Senders", data={"Sender": SENDER}, auth=self.auth)
        assert r.status_code == 201, r.text

    def csv(self, name: str, content: str | bytes) -> Path:
        path = self.tmp / name
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return path

    def cli_sync(self, path: Path, *flags: str) -> tuple[int, dict[str, Any]]:
        out = textwire(self.server, "subscribers", "sync", str(path), "--json", *flags)
        assert out.returncode in (0, 1) and out.stdout, out.stderr
        return out.returncode, json.loads(out.stdout)

    def upload(self, content: bytes, **params: str) -> httpx.Response:
        return self.server.http.post(
            f"{self.server.url}/v1/Subscribers/Syncs",
            content=content,
            params=params,
            headers={"content-type": "text/csv"},
            auth=self.auth,
            timeout=120,
        )

    def state(self, phone: str, scope: str = "") -> str:
        rt = self.server.rt

        async def read() -> str:
            rt.consent.invalidate(self.sid)
            snap = await rt.consent.account(self.sid)
            async with rt.db.read() as conn:
                states = await read_states(conn, self.sid, phone, snap, [scope])
            return states[scope]

        return self.server.call(read())

    def states(self, *phones: str) -> list[str]:
        return [self.state(p) for p in phones]

    def send(self, to: str, **data: str) -> httpx.Response:
        self.server.rt.consent.invalidate(self.sid)
        return self.server.http.post(
            f"{self.server.url}/2010-04-01/Accounts/{self.sid}/Messages.json",
            data={"To": to, "From": SENDER, "Body": "Offer", **data},
            auth=self.auth,
        )

    def runs(self) -> list[dict[str, Any]]:
        r = self.server.http.get(f"{self.server.url}/v1/Subscribers/Syncs", auth=self.auth)
        return list(r.json()["syncs"])


@pytest.fixture
def ctx(app: InProcess, tmp_path: Path) -> Ctx:
    return Ctx(app, tmp_path)


def test_cli_sync_replaces_the_subscribed_set(ctx: Ctx) -> None:
    code, run = ctx.cli_sync(ctx.csv("a.csv", f"phone numbers\n{A}\n{B}\n"))
    assert code == 0 and run["status"] == "applied"
    assert run["counts"] | {} == {
        "total": 2,
        "added": 2,
        "removed": 0,
        "unchanged": 0,
        "invalid": 0,
        "duplicates": 0,
        "blank": 0,
        "lines": 2,
    }
    assert ctx.states(A, B, C) == ["subscribed", "subscribed", "unknown"]
    code, run = ctx.cli_sync(ctx.csv("b.csv", f"phone numbers\n{B}\n{C}\n"))
    assert code == 0
    c = run["counts"]
    assert (c["total"], c["added"], c["removed"], c["unchanged"]) == (2, 1, 1, 1)
    assert ctx.states(A, B, C) == ["unsubscribed", "subscribed", "subscribed"]
    # An applied sync means opt-in is required: unknown numbers are refused unless
    # transactional; removed numbers are refused even then.
    assert ctx.send(C).status_code == 201
    assert ctx.send(D).json()["code"] == 21610
    assert ctx.send(D, Transactional="true").status_code == 201
    assert ctx.send(A, Transactional="true").json()["code"] == 21610
    fetched = ctx.server.http.get(
        f"{ctx.server.url}/v1/Subscribers/Syncs/{run['sid']}", auth=ctx.auth
    ).json()
    assert fetched["status"] == "applied" and fetched["counts"] == run["counts"]
    assert [r["status"] for r in ctx.runs()] == ["applied", "superseded"]


def test_bad_rows_are_reported_with_line_numbers_and_skipped(ctx: Ctx) -> None:
    body = f"phone numbers\r\n{A}\r\n\r\n2025550102\r\n{A}\r\n+1 202 555 0103\r\n{D}"
    code, run = ctx.cli_sync(ctx.csv("mixed.csv", body))
    assert code == 0 and run["status"] == "applied"
    c = run["counts"]
    assert (c["total"], c["invalid"], c["duplicates"], c["blank"]) == (2, 2, 1, 1)
    assert [(r["line"], r["text"]) for r in run["invalid_rows"]] == [
        (4, "2025550102"),
        (6, "+1 202 555 0103"),
    ]
    assert "missing '+'" in run["invalid_rows"][0]["reason"]
    assert [(r["line"], r["text"]) for r in run["duplicate_rows"]] == [(5, A)]
    assert ctx.states(A, D, B) == ["subscribed", "subscribed", "unknown"]


def test_strict_applies_nothing_when_a_row_is_invalid(ctx: Ctx) -> None:
    ctx.cli_sync(ctx.csv("old.csv", f"phone numbers\n{A}\n"))
    code, run = ctx.cli_sync(ctx.csv("new.csv", f"phone numbers\n{B}\n12025550103\n"), "--strict")
    assert code == 1 and run["status"] == "failed" and "--strict" in run["error"]
    assert run["counts"]["invalid"] == 1
    assert ctx.states(A, B) == ["subscribed", "unknown"]


BAD_FILES = {
    "wrong header": (lambda: f"phone\n{B}\n".encode(), "header"),
    "utf-16": (lambda: f"phone numbers\n{B}\n".encode("utf-16"), "UTF-16"),
    "latin-1": (lambda: f"phone numbers\n{B}\nJos\u00e9\n".encode("latin-1"), "UTF-8"),
    "50 MB garbage": (lambda: bytes(range(256)) * (50 * 1024 * 1024 // 256), "binary"),
    "empty": (lambda: b"", "header"),
}


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_refused_uploads_leave_the_previous_set_untouched(ctx: Ctx, kind: str) -> None:
    make, why = BAD_FILES[kind]
    content = make()
    assert ctx.upload(f"phone numbers\n{A}\n".encode()).status_code == 201
    r = ctx.upload(content)
    assert r.status_code == 422, r.text
    run = r.json()
    assert run["status"] == "failed" and why in run["error"], run["error"]
    assert ctx.states(A, B) == ["subscribed", "unknown"]
    assert [x["status"] for x in ctx.runs()] == ["failed", "applied"]


def test_truncated_upload_changes_nothing(server: LiveServer, tmp_path: Path) -> None:
    """On a socket: the client stops sending before the body it announced."""
    ctx = Ctx(server, tmp_path)
    assert ctx.upload(f"phone numbers\n{A}\n".encode()).status_code == 201
    body = f"phone numbers\n{B}\n{C}\n".encode()
    host, port = "127.0.0.1", int(ctx.server.url.rsplit(":", 1)[1])
    import base64

    token = base64.b64encode(f"{ctx.auth[0]}:{ctx.auth[1]}".encode()).decode()
    with socket.create_connection((host, port)) as sock:
        sock.sendall(
            b"POST /v1/Subscribers/Syncs HTTP/1.1\r\nHost: x\r\n"
            + f"Authorization: Basic {token}\r\nContent-Type: text/csv\r\n".encode()
            + f"Content-Length: {len(body) + 500}\r\n\r\n".encode()
            + body
        )
        sock.shutdown(socket.SHUT_WR)
        sock.settimeout(30)
        while sock.recv(4096):
            pass
    assert [x["status"] for x in ctx.runs()] == ["applied"]
    assert ctx.states(A, B, C) == ["subscribed", "unknown", "unknown"]


def test_a_killed_sync_leaves_the_old_set_intact(ctx: Ctx) -> None:
    ctx.cli_sync(ctx.csv("old.csv", f"phone numbers\n{A}\n{B}\n"))
    big = ctx.tmp / "big.csv"
    rows = 4_000_000
    with big.open("wb") as fh:
        for chunk in synthetic_subscriber_csv(rows, seed=3):
            fh.write(chunk)
    first = _nth_number(0, seed=3)
    proc = subprocess.Popen(
        [sys.executable, "-m", "textwire", "subscribers", "sync", str(big)],
        env=cli_env(ctx.server),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        half = _wait_for_progress(ctx, rows // 4, proc)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    assert half >= rows // 4
    runs = ctx.runs()
    assert [r["status"] for r in runs] == ["running", "applied"]
    assert ctx.states(A, B, first) == ["subscribed", "subscribed", "unknown"]
    killed = runs[0]["sid"]
    # The next sync takes over: the killed run is marked interrupted, its rows are gone.
    code, run = ctx.cli_sync(ctx.csv("next.csv", f"phone numbers\n{C}\n"))
    assert code == 0 and run["counts"]["removed"] == 2
    statuses = {r["sid"]: r["status"] for r in ctx.runs()}
    assert statuses[killed] == "interrupted"
    assert _rows_of(ctx, killed) == 0
    assert ctx.states(A, C, first) == ["unsubscribed", "subscribed", "unknown"]


def _nth_number(i: int, seed: int) -> str:
    chunks = synthetic_subscriber_csv(i + 1, seed=seed)
    next(chunks)
    return next(chunks).decode().splitlines()[i]


def _wait_for_progress(ctx: Ctx, lines: int, proc: subprocess.Popen[bytes]) -> int:
    runs = ct.sync_runs
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the sync finished before it could be interrupted"

        async def read() -> int:
            async with ctx.server.rt.db.read() as conn:
                seen = await conn.scalar(
                    select(func.max(runs.c.lines)).where(
                        runs.c.account_sid == ctx.sid, runs.c.status == "running"
                    )
                )
            return int(seen or 0)

        seen = ctx.server.call(read())
        if seen >= lines:
            return seen
        time.sleep(0.02)
    raise AssertionError("the sync made no progress")


def _rows_of(ctx: Ctx, run: str) -> int:
    async def read() -> int:
        async with ctx.server.rt.db.read() as conn:
            n = await conn.scalar(
                select(func.count())
                .select_from(ct.subscribers)
                .where(ct.subscribers.c.run_sid == run)
            )
        return int(n or 0)

    return ctx.server.call(read())


def test_events_and_syncs_override_each_other_by_time_but_stop_stands(ctx: Ctx) -> None:
    ctx.cli_sync(ctx.csv("one.csv", f"phone numbers\n{A}\n{B}\n"))
    # An opt-in after the sync counts; an opt-out after the sync counts.
    r = ctx.server.http.post(
        f"{ctx.server.url}/v2/userdata/channels/sms/opt-in",
        json={"identifier": {"type": "phoneNumber", "value": C}},
        auth=ctx.auth,
    )
    assert r.status_code == 200
    assert ctx.state(C) == "subscribed"
    assert ctx.server.call(handle_inbound(ctx.server.rt, ctx.sid, SENDER, B, "STOP")) == "STOP"
    assert ctx.state(B) == "unsubscribed"
    # The next sync replaces the set: C (opted in earlier, not in the file) is removed; B's
    # STOP is not overridden by a file that still lists B.
    code, run = ctx.cli_sync(ctx.csv("two.csv", f"phone numbers\n{A}\n{B}\n{D}\n"))
    assert code == 0
    assert ctx.states(A, B, C, D) == ["subscribed", "unsubscribed", "unsubscribed", "subscribed"]
    assert run["counts"]["removed"] == 1
    assert ctx.send(B).json()["code"] == 21610


def test_service_scoped_sync(ctx: Ctx) -> None:
    svc = ctx.server.http.post(
        f"{ctx.server.url}/v1/Services", data={"FriendlyName": "s"}, auth=ctx.auth
    ).json()["sid"]
    code, run = ctx.cli_sync(ctx.csv("s.csv", f"phone numbers\n{A}\n"), "--service", svc)
    assert code == 0 and run["messaging_service_sid"] == svc
    assert ctx.state(A, svc) == "subscribed" and ctx.state(A) == "unknown"
    out = textwire(ctx.server, "subscribers", "sync", str(ctx.tmp / "s.csv"), "--service", "MGx")
    assert out.returncode == 2 and "--service" in out.stderr
    r = ctx.upload(f"phone numbers\n{B}\n".encode(), MessagingServiceSid=svc, Strict="true")
    assert r.status_code == 201 and r.json()["counts"]["removed"] == 1
    assert ctx.state(A, svc) == "unsubscribed" and ctx.state(B, svc) == "subscribed"


def test_consent_settings_show_the_require_opt_in_in_effect_and_why(ctx: Ctx) -> None:
    """issue 11 §6: GET /v1/Consent/Settings said null after a sync had silently switched
    require-opt-in on (numbers never seen were then refused)."""
    svc = ctx.server.http.post(
        f"{ctx.server.url}/v1/Services", data={"FriendlyName": "s"}, auth=ctx.auth
    ).json()["sid"]

    def settings(**params: str) -> dict[str, Any]:
        r = ctx.server.http.get(
            f"{ctx.server.url}/v1/Consent/Settings", params=params, auth=ctx.auth
        )
        assert r.status_code == 200, r.text
        body = r.json()
        return {k: body[k] for k in body if k.startswith("require_opt_in")}

    off = {
        "require_opt_in": False,
        "require_opt_in_source": "default",
        "require_opt_in_setting": None,
    }
    assert settings() == off and settings(MessagingServiceSid=svc) == off
    ctx.cli_sync(ctx.csv("a.csv", f"phone numbers\n{A}\n"))
    on = {
        "require_opt_in": True,
        "require_opt_in_source": "subscriber_sync",
        "require_opt_in_setting": None,
    }
    assert settings() == on and settings(MessagingServiceSid=svc) == on
    assert ctx.send(B).json()["code"] == 21610  # what the settings say is what a send meets
    r = ctx.server.http.post(
        f"{ctx.server.url}/v1/Consent/Settings",
        data={"RequireOptIn": "false", "MessagingServiceSid": svc},
        auth=ctx.auth,
    )
    assert r.json()["require_opt_in"] is False and r.json()["require_opt_in_source"] == "service"
    assert settings() == on
    assert ctx.send(B, MessagingServiceSid=svc).status_code == 201
    ctx.server.http.post(
        f"{ctx.server.url}/v1/Consent/Settings", data={"RequireOptIn": "false"}, auth=ctx.auth
    )
    assert settings() == {
        "require_opt_in": False,
        "require_opt_in_source": "account",
        "require_opt_in_setting": False,
    }


def test_sync_help_agrees_with_consent_md_about_numbers_never_seen() -> None:
    """issue 11 §6: the help said everyone not in the file becomes unsubscribed; consent.md
    says numbers never seen stay unknown (and are refused once opt-in is required)."""
    out = subprocess.run(
        [sys.executable, "-m", "textwire", "subscribers", "sync", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    text = " ".join(out.stdout.split())
    assert "everyone else: unsubscribed" not in text
    assert "never seen stay unknown" in text and "refused" in text
    doc = " ".join((Path(__file__).parents[2] / "docs" / "consent.md").read_text().split())
    assert "never seen stay unknown" in doc
