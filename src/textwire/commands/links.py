"""``textwire links stats``: the click analytics of the API, on the command line (F-LINK-9)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from textwire import tables as t
from textwire.commands import filters
from textwire.compose import open_runtime
from textwire.config import Settings
from textwire.links import analytics

links_app = typer.Typer(help="Short links and their clicks.", no_args_is_help=True)
console = Console(width=None if sys.stdout.isatty() else 200)
err_console = Console(stderr=True)


async def _stats(
    settings: Settings, account: str | None, scope_args: dict[str, str | None], bots: bool
) -> dict[str, Any]:
    rt = await open_runtime(settings)
    try:
        if account is None:
            async with rt.db.read() as conn:
                sids = list(await conn.scalars(select(t.accounts.c.sid).limit(2)))
            if len(sids) != 1:
                raise typer.BadParameter(
                    f"--account is required: the data directory has {len(sids) or 'no'} accounts"
                )
            account = str(sids[0])
        scope = analytics.Scope(account, **scope_args)
        return {"account_sid": account, **await analytics.stats(rt.db, scope, include_bots=bots)}
    finally:
        await rt.close()


@links_app.command("stats")
def stats_command(
    link: str | None = typer.Option(
        None, "--link", help="A slug (Ab3dE9x).", callback=filters.slug
    ),
    message: str | None = typer.Option(
        None, "--message", help="A message SID (SM…).", callback=filters.message_sid
    ),
    to: str | None = typer.Option(None, "--to", help="A recipient, E.164.", callback=filters.phone),
    service: str | None = typer.Option(
        None, "--service", help="A messaging service (MG…).", callback=filters.service_sid
    ),
    campaign: str | None = typer.Option(
        None, "--campaign", help="A campaign (CA…).", callback=filters.campaign_sid
    ),
    account: str | None = typer.Option(
        None, "--account", help="Account SID (if several).", callback=filters.account_sid
    ),
    include_bots: bool = typer.Option(False, "--include-bots", help="Count bots and previews."),
    as_json: bool = typer.Option(False, "--json", help="Print the API's JSON."),
    data_dir: Path | None = typer.Option(None, "--data-dir", help="Data directory."),
) -> None:
    """Clicks, unique clicks, devices, OS, browsers and click-through rate: of the account, or
    of one link, message, recipient, service or campaign."""
    filters.at_most_one(link=link, message=message, to=to, service=service, campaign=campaign)
    settings = Settings(data_dir=data_dir) if data_dir is not None else Settings()
    scope_args: dict[str, str | None] = {
        "slug": link,
        "message_sid": message,
        "to": to,
        "service_sid": service,
        "campaign_sid": campaign,
    }
    body = asyncio.run(_stats(settings, account, scope_args, include_bots))
    if as_json:
        print(json.dumps(body, indent=2))
        return
    summary = Table("what", "value", title="link clicks")
    ctr = body["click_through_rate"]
    for name, value in (
        ("short links", body["links"]),
        ("clicks", body["total_clicks"]),
        ("unique clicks (recipients)", body["unique_clicks"]),
        (
            "bot / preview clicks (not counted)" if not include_bots else "of which bots",
            body["bot_clicks"],
        ),
        ("first click", body["first_click"] or "-"),
        ("last click", body["last_click"] or "-"),
        ("delivered messages with links", body["messages_delivered_with_links"]),
        ("click-through rate", "-" if ctr is None else f"{ctr:.1%}"),
    ):
        summary.add_row(name, str(value))
    console.print(summary)
    for key, title in (("devices", "device"), ("os", "OS"), ("browsers", "browser")):
        if body[key]:
            table = Table(title, "clicks")
            for name, n in sorted(body[key].items(), key=lambda kv: -kv[1]):
                table.add_row(name, str(n))
            console.print(table)
