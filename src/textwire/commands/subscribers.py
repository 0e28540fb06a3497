"""`textwire subscribers sync FILE.csv`: replace the subscribed set from a CSV (F-CONSENT-4).

Exit codes: 0 the sync was applied; 1 the file was refused or ``--strict`` found invalid rows
(nothing changed); 2 a usage error (unknown account or service, unreadable file).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)
from rich.table import Table
from sqlalchemy import select

from textwire.commands.context import resolve_account, run_with_runtime, settings_for
from textwire.consent import tables as ct
from textwire.consent.sync import SyncRequest, run_resource, sync_subscribers
from textwire.errors import TextwireError
from textwire.runtime import Runtime

subscribers_app = typer.Typer(
    help="Subscriber lists: sync the subscribed set from a CSV.", no_args_is_help=True
)
SHOWN_ROWS = 20


async def _check_service(rt: Runtime, account_sid: str, service: str | None) -> str:
    if not service:
        return ""
    snap = await rt.directory.account(account_sid)
    if service not in snap.services:
        raise TextwireError(
            21701, f"Invalid parameter '--service': service {service} is not in this account"
        )
    return service


@subscribers_app.command("sync")
def sync_command(
    file: Path = typer.Argument(..., help="UTF-8 CSV, header 'phone numbers', one E.164 a row."),
    strict: bool = typer.Option(False, "--strict", help="Apply nothing if any row is invalid."),
    service: str | None = typer.Option(None, "--service", help="Scope: a messaging service MG…"),
    account: str | None = typer.Option(None, "--account", help="Account SID (if several)."),
    as_json: bool = typer.Option(False, "--json", help="Print the run as JSON."),
    data_dir: Path | None = typer.Option(None, "--data-dir", help="Data directory."),
) -> None:
    """Replace the subscribed set with the numbers in FILE.

    Numbers subscribed before and not in FILE become unsubscribed; numbers never seen stay
    unknown. Once a scope has a synced list it requires opt-in (unless RequireOptIn is set
    explicitly), so sends to unknown numbers are refused with 21610 unless transactional.
    A texted STOP always stands. See docs/consent.md.
    """
    if not file.is_file():
        Console(stderr=True).print(f"[red]error:[/red] {file} is not a readable file")
        raise typer.Exit(code=2)
    size = file.stat().st_size
    err = Console(stderr=True)

    async def work(rt: Runtime) -> dict[str, Any]:
        account_sid = await resolve_account(rt, account)
        scope = await _check_service(rt, account_sid, service)
        req = SyncRequest(account_sid, scope, strict=strict, filename=file.name, source="cli")
        with (
            Progress(
                TextColumn("[bold]syncing[/bold] {task.fields[rows]:,} rows"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeElapsedColumn(),
                console=err,
                transient=False,
            ) as bar,
            file.open("rb") as fh,
        ):
            task = bar.add_task("sync", total=size, rows=0)
            run, _report = await sync_subscribers(
                rt.db,
                rt.clock,
                req,
                fh,
                progress=lambda done, rows: bar.update(task, completed=done, rows=rows),
            )
            bar.update(task, completed=size)
        async with rt.db.read() as conn:
            row = (await conn.execute(select(ct.sync_runs).where(ct.sync_runs.c.sid == run))).one()
        return run_resource(row)

    result = run_with_runtime(settings_for(data_dir), work)
    if as_json:
        print(json.dumps(result, indent=2))
    else:
        _print_run(Console(), result)
    if result["status"] != "applied":
        raise typer.Exit(code=1)


@subscribers_app.command("status")
def status_command(
    run: str | None = typer.Argument(None, help="A sync run SID (default: the latest)."),
    account: str | None = typer.Option(None, "--account", help="Account SID (if several)."),
    data_dir: Path | None = typer.Option(None, "--data-dir", help="Data directory."),
) -> None:
    """Show a sync run as JSON: status, counts and the first listed bad rows."""

    async def work(rt: Runtime) -> dict[str, Any]:
        account_sid = await resolve_account(rt, account)
        runs = ct.sync_runs
        query = select(runs).where(runs.c.account_sid == account_sid)
        query = query.where(runs.c.sid == run) if run else query
        async with rt.db.read() as conn:
            row = (await conn.execute(query.order_by(runs.c.date_created.desc()).limit(1))).first()
        if row is None:
            raise TextwireError(20404, f"No subscriber sync {run or ''} in this account".strip())
        return run_resource(row)

    print(json.dumps(run_with_runtime(settings_for(data_dir), work), indent=2))


def _print_run(console: Console, run: dict[str, Any]) -> None:
    counts = run["counts"]
    colour = "green" if run["status"] == "applied" else "red"
    console.print(f"[{colour}]{run['status']}[/{colour}] {run['sid']}")
    if run["error"]:
        console.print(f"[red]{run['error']}[/red]")
    table = Table("subscribed", "added", "removed", "unchanged", "invalid", "duplicates", "blank")
    table.add_row(
        *(
            f"{counts[k]:,}"
            for k in ("total", "added", "removed", "unchanged", "invalid", "duplicates", "blank")
        )
    )
    console.print(table)
    listed = run["invalid_rows"] + run["duplicate_rows"]
    if listed:
        rows = Table("line", "reason", "text", title="rows skipped")
        for item in sorted(listed, key=lambda r: r["line"])[:SHOWN_ROWS]:
            rows.add_row(str(item["line"]), item["reason"], item["text"])
        console.print(rows)
        more = counts["invalid"] + counts["duplicates"] - min(SHOWN_ROWS, len(listed))
        if more > 0:
            console.print(
                f"… {more:,} more: `textwire subscribers status {run['sid']}` lists the first 1,000"
            )
