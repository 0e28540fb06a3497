"""The ``textwire`` CLI, run as a real process (F-API-3, issue 3 item 11)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from textwire.config import Settings


def textwire(
    settings: Settings, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "TEXTWIRE_DATA_DIR": str(settings.data_dir),
        "TEXTWIRE_DATABASE_URL": settings.resolved_database_url(),
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "textwire", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_accounts_create_prints_sid_and_token(settings: Settings) -> None:
    out = textwire(settings, "accounts", "create", "--name", "Shop")
    assert out.returncode == 0, out.stderr
    created = json.loads(out.stdout)
    assert set(created) == {"account_sid", "auth_token"}
    assert created["account_sid"].startswith("AC") and len(created["auth_token"]) == 32
    listed = textwire(settings, "accounts", "list")
    assert created["account_sid"] in listed.stdout


def test_send_and_list_through_the_cli(settings: Settings, tmp_path: Path) -> None:
    acct = json.loads(textwire(settings, "accounts", "create", "--name", "Shop").stdout)
    import asyncio

    from textwire.api.params import Params
    from textwire.compose import open_runtime
    from textwire.senders.api import create_sender_row

    async def sender() -> None:
        rt = await open_runtime(settings)
        try:
            await create_sender_row(rt, acct["account_sid"], Params([("Sender", "+14155550111")]))
        finally:
            await rt.close()

    asyncio.run(sender())
    sent = textwire(
        settings,
        "send",
        "--to",
        "+14155550100",
        "--from",
        "+14155550111",
        "--body",
        "hello { there }",
    )
    assert sent.returncode == 0, sent.stderr
    msg = json.loads(sent.stdout)
    assert msg["status"] == "queued" and msg["num_segments"] == "1"
    assert msg["textwire"]["encoding"] == "GSM-7"
    listed = json.loads(textwire(settings, "messages", "list", "--json").stdout)
    assert [(m["sid"], m["status"]) for m in listed] == [(msg["sid"], "queued")]
    table = textwire(settings, "messages", "list").stdout
    assert "queued" in table and "+14155550100" in table


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["send", "--to", "nope", "--from", "+14155550111", "--body", "x"], "21211"),
        (["send", "--to", "+14155550100", "--body", "x"], "21603"),
        (["send", "--to", "+14155550100", "--from", "+14155550111", "--body", "x" * 1601], "21617"),
    ],
)
def test_cli_bad_input_is_a_clear_exit_2(settings: Settings, args: list[str], needle: str) -> None:
    textwire(settings, "accounts", "create", "--name", "Shop")
    out = textwire(settings, *args)
    assert out.returncode == 2
    assert needle in out.stderr
    assert "Traceback" not in out.stderr


def test_send_needs_an_account_when_there_are_none(settings: Settings) -> None:
    out = textwire(settings, "send", "--to", "+14155550100", "--body", "x")
    assert out.returncode == 2 and "--account" in out.stderr


def test_db_upgrade_is_idempotent(settings: Settings) -> None:
    for _ in range(2):
        out = textwire(settings, "db", "upgrade")
        assert out.returncode == 0, out.stderr
        assert "up to date" in out.stdout


@pytest.mark.parametrize("command", [["serve", "--port", "0"], ["accounts", "list"]])
def test_a_wrong_secret_key_is_a_clear_exit_2(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    """A key that cannot open the stored secrets stops textwire at start-up, naming the
    setting, instead of failing every callback-signing dispatch batch later."""
    from cryptography.fernet import Fernet

    created = textwire(settings, "accounts", "create", "--name", "Keyed")
    assert created.returncode == 0, created.stderr
    monkeypatch.setenv("TEXTWIRE_SECRET_KEY", Fernet.generate_key().decode())
    out = textwire(settings, *command)
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert "TEXTWIRE_SECRET_KEY" in out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["links", "stats", "--link", "nope"], "--link"),
        (["links", "stats", "--campaign", "CAxx"], "--campaign"),
        (["links", "stats", "--message", "MG" + "0" * 32], "--message"),
        (["links", "stats", "--service", "nope"], "--service"),
        (["links", "stats", "--to", "12345"], "--to"),
        (["links", "stats", "--account", "ACxx"], "--account"),
        (["links", "stats", "--link", "Ab3dE9x", "--service", "MG" + "0" * 32], "at most one"),
        (["messages", "list", "--status", "bogus"], "--status"),
        (["messages", "list", "--account", "nope"], "--account"),
    ],
)
def test_cli_refuses_bad_filters_with_exit_2(
    settings: Settings, args: list[str], needle: str
) -> None:
    """issue 11 §6: bad filters were run as queries that match nothing (exit 0)."""
    textwire(settings, "accounts", "create", "--name", "Shop")
    out = textwire(settings, *args)
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert needle in out.stderr and "Traceback" not in out.stderr


def test_cli_filters_that_are_well_formed_still_run(settings: Settings) -> None:
    """issue 11 §6: the checks refuse only malformed filters."""
    textwire(settings, "accounts", "create", "--name", "Shop")
    out = textwire(settings, "links", "stats", "--campaign", "CA" + "0" * 32, "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["total_clicks"] == 0
    out = textwire(settings, "messages", "list", "--status", "delivered", "--json")
    assert out.returncode == 0 and json.loads(out.stdout) == []


def test_version_and_help() -> None:
    """issue 11 §6: ``textwire --version`` did not exist; ``--help`` showed ``<bool>``."""
    from textwire import __version__

    run = [sys.executable, "-m", "textwire"]
    version = subprocess.run([*run, "--version"], capture_output=True, text=True, check=False)
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"textwire {__version__}"
    for command in (
        [],
        ["serve"],
        ["messages", "list"],
        ["links", "stats"],
        ["demo"],
        ["subscribers", "sync"],
        ["segments"],
        ["keys", "create"],
    ):
        out = subprocess.run(
            [*run, *command, "--help"], capture_output=True, text=True, check=False
        )
        assert out.returncode == 0, (command, out.stderr)
        assert "<bool>" not in out.stdout and "Usage:" in out.stdout, (command, out.stdout)
