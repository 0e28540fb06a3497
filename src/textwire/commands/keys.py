"""``textwire keys create|list|delete``: an account's API keys (``SK…`` + secret).

The same store as the Keys API. A key deleted here is refused by running servers once their
credential cache expires (5 seconds); deleting through the API takes effect at once in the
process that answered.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from textwire.accounts import (
    MAX_KEY_NAME,
    ApiKey,
    NewApiKey,
    create_api_key,
    delete_api_key,
    list_api_keys,
)
from textwire.commands.context import resolve_account, run_with_runtime, settings_for
from textwire.errors import invalid
from textwire.runtime import Runtime

keys_app = typer.Typer(help="Create, list and delete API keys.", no_args_is_help=True)
console = Console(width=None if sys.stdout.isatty() else 200)

Account = typer.Option(None, "--account", help="Account SID (if several).")
DataDir = typer.Option(None, "--data-dir", help="Data directory (default ./textwire-data).")


@keys_app.command("create")
def create_command(
    name: str = typer.Option("", "--name", help="The key's friendly name (up to 64 characters)."),
    account: str | None = Account,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    data_dir: Path | None = DataDir,
) -> None:
    """Create a key; prints its SID and secret (the secret is not shown again)."""

    async def work(rt: Runtime) -> tuple[str, NewApiKey]:
        if len(name) > MAX_KEY_NAME:  # named as the option, not the API's FriendlyName
            raise invalid("--name", f"must be at most {MAX_KEY_NAME} characters")
        account_sid = await resolve_account(rt, account)
        return account_sid, await create_api_key(rt.db, rt.clock, account_sid, name)

    account_sid, new = run_with_runtime(settings_for(data_dir), work)
    if as_json:
        body = {
            "sid": new.sid,
            "secret": new.secret,
            "friendly_name": new.key.friendly_name,
            "account_sid": account_sid,
        }
        print(json.dumps(body))
        return
    print(f"sid     {new.sid}")
    print(f"secret  {new.secret}")
    print("Keep the secret now: it is stored hashed and cannot be shown again.")


@keys_app.command("list")
def list_command(
    account: str | None = Account,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    data_dir: Path | None = DataDir,
) -> None:
    """List the account's keys, oldest first (never their secrets)."""

    async def work(rt: Runtime) -> list[ApiKey]:
        account_sid = await resolve_account(rt, account)
        return await list_api_keys(rt.db, account_sid, 0, 1_000_000)

    keys = run_with_runtime(settings_for(data_dir), work)
    if as_json:
        rows = [
            {
                "sid": k.sid,
                "friendly_name": k.friendly_name,
                "date_created": k.date_created.isoformat(timespec="seconds"),
            }
            for k in keys
        ]
        print(json.dumps(rows, indent=2))
        return
    table = Table("sid", "name", "created")
    for k in keys:
        table.add_row(k.sid, k.friendly_name, k.date_created.isoformat(timespec="seconds"))
    console.print(table)


@keys_app.command("delete")
def delete_command(
    sid: str = typer.Argument(..., help="The key's SID (SK…)."),
    account: str | None = Account,
    data_dir: Path | None = DataDir,
) -> None:
    """Delete (revoke) a key."""

    async def work(rt: Runtime) -> None:
        if not sid.startswith("SK"):
            raise invalid("SID", f"{sid!r} is not an API key SID (SK…)")
        await delete_api_key(rt.db, await resolve_account(rt, account), sid)

    run_with_runtime(settings_for(data_dir), work)
    print(f"deleted {sid}")
