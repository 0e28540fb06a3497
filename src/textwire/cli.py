"""The ``textwire`` command line: serving, sending, importing and reporting."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

from textwire import __version__
from textwire import tables as t
from textwire.commands import filters
from textwire.commands.contacts import contacts_app
from textwire.commands.context import (
    err_console,
    resolve_account,
    run_with_runtime,
    settings_for,
    wrong_key,
)
from textwire.commands.keys import keys_app
from textwire.commands.links import links_app
from textwire.commands.segments import segments_command
from textwire.commands.subscribers import subscribers_app
from textwire.crypto import WrongSecretKey
from textwire.messages import store
from textwire.runtime import Runtime

app = typer.Typer(
    name="textwire",
    help="textwire: self-hosted SMS messaging with a Twilio-compatible API.",
    no_args_is_help=True,
    add_completion=False,
    # Plain help, as click writes it: Typer's rich panels label every flag (--json, --help)
    # with the type "<bool>" although a flag takes no value. Sub-apps inherit the mode.
    rich_markup_mode=None,
)
accounts_app = typer.Typer(help="Create and list accounts.", no_args_is_help=True)
messages_app = typer.Typer(help="Look at messages.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(accounts_app, name="accounts")
app.add_typer(messages_app, name="messages")
app.add_typer(db_app, name="db")
app.add_typer(subscribers_app, name="subscribers")
app.add_typer(contacts_app, name="contacts")
app.command("segments")(segments_command)
app.add_typer(links_app, name="links")
app.add_typer(keys_app, name="keys")

# Piped output is not cut to 80 columns: SIDs and numbers must survive grep and logs.
console = Console(width=None if sys.stdout.isatty() else 200)

EXIT_CANNOT_START = 3  # serve could not start (a port is taken); 2 is a usage error

DataDir = typer.Option(None, "--data-dir", help="Data directory (default ./textwire-data).")


def _print_version(value: bool) -> None:
    if value:
        print(f"textwire {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False,
        "--version",
        callback=_print_version,
        is_eager=True,
        help="Print textwire's version and exit.",
    ),
) -> None:
    """textwire: self-hosted SMS messaging with a Twilio-compatible API."""


@app.command()
def serve(
    role: str = typer.Option("all", help="all | api | worker | redirect"),
    data_dir: Path | None = DataDir,
    host: str | None = typer.Option(None, help="Interface to listen on (default 127.0.0.1)."),
    port: int | None = typer.Option(None, help="API port (default 8080)."),
    redirect_port: int | None = typer.Option(None, help="Redirect server port (default 8081)."),
) -> None:
    """Run textwire: API, redirect server, dispatch worker and webhooks (or one --role)."""
    from textwire import logs
    from textwire.server import StartupError, run, serve_forever

    if role not in ("all", "api", "worker", "redirect"):
        err_console.print(
            f"[red]error:[/red] --role must be all, api, worker or redirect, not {role!r}"
        )
        raise typer.Exit(code=2)
    settings = settings_for(data_dir, host=host, port=port, redirect_port=redirect_port)
    logs.configure(settings.log_level, settings.log_json)
    try:
        run(serve_forever(settings, role))  # type: ignore[arg-type]
    except WrongSecretKey as exc:
        wrong_key(settings, exc)
    except StartupError as exc:
        # One line, never a traceback: the operator needs the port and the reason.
        err_console.print(f"[red]error:[/red] {exc}", soft_wrap=True, highlight=False)
        raise typer.Exit(code=EXIT_CANNOT_START) from None


@accounts_app.command("create")
def accounts_create(
    name: str = typer.Option(..., "--name", help="The account's friendly name."),
    data_dir: Path | None = DataDir,
) -> None:
    """Create an account; prints its SID and auth token as JSON."""
    from textwire.accounts import create_account

    settings = settings_for(data_dir)
    new = run_with_runtime(settings, lambda rt: create_account(rt.db, rt.box, rt.clock, name))
    print(json.dumps({"account_sid": new.account_sid, "auth_token": new.auth_token}))


@accounts_app.command("list")
def accounts_list(data_dir: Path | None = DataDir) -> None:
    """List accounts."""

    async def work(rt: Runtime) -> list[Any]:
        async with rt.db.read() as conn:
            return list(await conn.execute(select(t.accounts).order_by(t.accounts.c.date_created)))

    rows = run_with_runtime(settings_for(data_dir), work)
    table = Table("account_sid", "name", "created")
    for r in rows:
        table.add_row(r.sid, r.friendly_name, r.date_created.isoformat(timespec="seconds"))
    console.print(table)


@app.command()
def send(
    to: str = typer.Option(..., "--to", help="Recipient, E.164 (+14155550100)."),
    body: str = typer.Option(..., "--body", help="Message text."),
    from_: str | None = typer.Option(None, "--from", help="A sender of the account."),
    service: str | None = typer.Option(None, "--service", help="A messaging service SID (MG…)."),
    account: str | None = typer.Option(None, "--account", help="Account SID (if several)."),
    data_dir: Path | None = DataDir,
) -> None:
    """Queue one message through the send pipeline (a running worker delivers it)."""
    from textwire.messages.pipeline import SendRequest
    from textwire.messages.pipeline import send as pipeline_send
    from textwire.messages.serialize import message_resource

    async def work(rt: Runtime) -> dict[str, Any]:
        account_sid = await resolve_account(rt, account)
        req = SendRequest(
            account_sid=account_sid, to=to, body=body, from_=from_, service_sid=service
        )
        return message_resource(await pipeline_send(rt, req))

    print(json.dumps(run_with_runtime(settings_for(data_dir), work), indent=2))


@messages_app.command("list")
def messages_list(
    account: str | None = typer.Option(
        None, "--account", help="Account SID (if several).", callback=filters.account_sid
    ),
    status: str | None = typer.Option(
        None, help="Only messages with this status.", callback=filters.message_status
    ),
    limit: int = typer.Option(20, min=1, max=10_000, help="How many, newest first."),
    as_json: bool = typer.Option(False, "--json", help="Print Twilio-shaped JSON."),
    data_dir: Path | None = DataDir,
) -> None:
    """List the newest messages with their status and segments."""
    from textwire.messages.serialize import message_resource

    async def work(rt: Runtime) -> list[dict[str, Any]]:
        account_sid = await resolve_account(rt, account)
        return await store.list_messages(
            rt.db, store.ListQuery(account_sid=account_sid, limit=limit, status=status)
        )

    rows = run_with_runtime(settings_for(data_dir), work)
    if as_json:
        print(json.dumps([message_resource(r) for r in rows], indent=2))
        return
    table = Table("to", "from", "status", "error", "segments", "created")
    table.add_column("sid", overflow="fold")
    for r in rows:
        table.add_row(
            r["to_addr"],
            r["from_addr"] or "",
            r["status"],
            str(r["error_code"] or ""),
            str(r["num_segments"]),
            r["date_created"].isoformat(timespec="seconds"),
            r["sid"],
        )
    console.print(table)


@db_app.command("upgrade")
def db_upgrade(data_dir: Path | None = DataDir) -> None:
    """Apply the database migrations (serve does this too)."""
    from textwire.migrate import upgrade

    settings = settings_for(data_dir)
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    asyncio.run(upgrade(settings.resolved_database_url()))
    console.print("database is up to date")


@db_app.command("status")
def db_status(data_dir: Path | None = DataDir) -> None:
    """Count rows per table."""

    async def work(rt: Runtime) -> dict[str, int]:
        out: dict[str, int] = {}
        async with rt.db.read() as conn:
            for table in t.metadata.sorted_tables:
                out[table.name] = int(
                    await conn.scalar(select(func.count()).select_from(table)) or 0
                )
        return out

    print(json.dumps(run_with_runtime(settings_for(data_dir), work), indent=2))


@app.command()
def demo(
    messages: int = typer.Option(40, min=1, max=100_000, help="How many messages to send."),
    keep: bool = typer.Option(False, help="Keep the temporary data directory."),
) -> None:
    """The main job end to end: serve, create an account and a service, send, report."""
    from textwire.demo import run_demo

    code = asyncio.run(run_demo(messages=messages, keep=keep, console=console))
    raise typer.Exit(code=code)


def main() -> None:
    app()
