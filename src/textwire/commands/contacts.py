"""`textwire contacts import FILE.csv` and `textwire contacts export` (F-CONTACT-2).

Exit codes: 0 done; 1 the import failed (the file was refused; rows before a late break are
imported, see docs/campaigns.md); 2 a usage error (unknown account, unreadable file).
"""

from __future__ import annotations

import json
import sys
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
from textwire.contacts import tables as kt
from textwire.contacts.export import export_csv
from textwire.contacts.imports import ImportRequest, import_resource, run_import, start
from textwire.runtime import Runtime

contacts_app = typer.Typer(
    help="Contacts: import and export them with their fields as CSV.", no_args_is_help=True
)
SHOWN_ROWS = 20


@contacts_app.command("import")
def import_command(
    file: Path = typer.Argument(..., help="UTF-8 CSV with a header: phone/email/custom_id, …"),
    account: str | None = typer.Option(None, "--account", help="Account SID (if several)."),
    as_json: bool = typer.Option(False, "--json", help="Print the import as JSON."),
    data_dir: Path | None = typer.Option(None, "--data-dir", help="Data directory."),
) -> None:
    """Upsert the contacts in FILE, matched by phone, email or custom_id.

    Other columns: friendly_name, time_zone, language and the account's declared fields.
    Rows with a bad cell are skipped and listed by line number. See docs/campaigns.md.
    """
    if not file.is_file():
        Console(stderr=True).print(f"[red]error:[/red] {file} is not a readable file")
        raise typer.Exit(code=2)
    size = file.stat().st_size
    err = Console(stderr=True)

    async def work(rt: Runtime) -> dict[str, Any]:
        account_sid = await resolve_account(rt, account)
        sid = await start(rt.db, rt.clock, ImportRequest(account_sid, file.name, "cli"))
        with (
            Progress(
                TextColumn("[bold]importing[/bold] {task.fields[rows]:,} rows"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeElapsedColumn(),
                console=err,
                transient=False,
            ) as bar,
            file.open("rb") as fh,
        ):
            task = bar.add_task("import", total=size, rows=0)
            await run_import(
                rt.db,
                rt.clock,
                sid,
                account_sid,
                fh,
                progress=lambda done, rows: bar.update(task, completed=done, rows=rows),
            )
            bar.update(task, completed=size)
        imports = kt.contact_imports
        async with rt.db.read() as conn:
            row = (await conn.execute(select(imports).where(imports.c.sid == sid))).one()
        return import_resource(row._mapping)

    result = run_with_runtime(settings_for(data_dir), work)
    if as_json:
        print(json.dumps(result, indent=2))
    else:
        _print_import(Console(), result)
    if result["status"] != "completed":
        raise typer.Exit(code=1)


@contacts_app.command("export")
def export_command(
    output: Path | None = typer.Option(None, "--output", "-o", help="File (default: stdout)."),
    account: str | None = typer.Option(None, "--account", help="Account SID (if several)."),
    data_dir: Path | None = typer.Option(None, "--data-dir", help="Data directory."),
) -> None:
    """Write every contact with its identifiers, time zone, language and fields as CSV."""

    async def work(rt: Runtime) -> int:
        account_sid = await resolve_account(rt, account)
        rows = -1  # the header line
        with output.open("wb") if output is not None else sys.stdout.buffer as out:
            async for chunk in export_csv(rt.db, account_sid):
                out.write(chunk)
                rows += chunk.count(b"\r\n")
        return rows

    rows = run_with_runtime(settings_for(data_dir), work)
    if output is not None:
        Console(stderr=True).print(f"exported {rows:,} contacts to {output}")


def _print_import(console: Console, result: dict[str, Any]) -> None:
    counts = result["counts"]
    colour = "green" if result["status"] == "completed" else "red"
    console.print(f"[{colour}]{result['status']}[/{colour}] {result['sid']}")
    if result["error"]:
        console.print(f"[red]{result['error']}[/red]")
    table = Table("lines", "created", "updated", "invalid", "blank")
    table.add_row(*(f"{counts[k]:,}" for k in ("lines", "created", "updated", "invalid", "blank")))
    console.print(table)
    listed = result["invalid_rows"]
    if listed:
        rows = Table("line", "reason", "text", title="rows skipped")
        for item in listed[:SHOWN_ROWS]:
            rows.add_row(str(item["line"]), item["reason"], item["text"])
        console.print(rows)
        more = counts["invalid"] - min(SHOWN_ROWS, len(listed))
        if more > 0:
            console.print(f"… {more:,} more in GET /v1/Contacts/Imports/{result['sid']}")
