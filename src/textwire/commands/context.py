"""What every CLI command needs: its settings, a runtime to work in, and the account it
acts for. Its own module (not cli.py) so that cli.py can import the command groups and the
groups can import this, without a cycle."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import typer
from rich.console import Console
from sqlalchemy import select

from textwire import tables as t
from textwire.compose import open_runtime
from textwire.config import Settings
from textwire.crypto import WrongSecretKey
from textwire.errors import TextwireError
from textwire.runtime import Runtime

err_console = Console(stderr=True)
T = TypeVar("T")


def settings_for(data_dir: Path | None, **overrides: Any) -> Settings:
    values = {k: v for k, v in overrides.items() if v is not None}
    if data_dir is not None:
        values["data_dir"] = data_dir
    return Settings(**values)


def run_with_runtime(settings: Settings, work: Callable[[Runtime], Awaitable[T]]) -> T:
    """Open a runtime, run ``work``, close; a TextwireError becomes a clear exit-2 message."""

    async def main() -> T:
        rt = await open_runtime(settings)
        try:
            return await work(rt)
        finally:
            await rt.close()

    try:
        return asyncio.run(main())
    except TextwireError as exc:
        err_console.print(f"[red]error {exc.code}:[/red] {exc.detail}")
        raise typer.Exit(code=2) from None
    except WrongSecretKey as exc:
        wrong_key(settings, exc)


def wrong_key(settings: Settings, exc: WrongSecretKey) -> NoReturn:
    where = "TEXTWIRE_SECRET_KEY" if settings.secret_key else f"{settings.data_dir}/secret.key"
    err_console.print(
        f"[red]error:[/red] {exc} The key in {where} is not the one this database's secrets "
        "were stored with; set TEXTWIRE_SECRET_KEY to that key."
    )
    raise typer.Exit(code=2)


async def resolve_account(rt: Runtime, account: str | None) -> str:
    """The account named, or the only one there is."""
    if account:
        return account
    async with rt.db.read() as conn:
        sids = list(await conn.scalars(select(t.accounts.c.sid).limit(2)))
    if len(sids) != 1:
        raise TextwireError(
            20001,
            "Invalid parameter '--account': required when the data directory has "
            f"{'no' if not sids else 'several'} accounts",
        )
    return str(sids[0])
