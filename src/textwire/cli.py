"""The ``textwire`` command line: serving, sending, importing and reporting."""

from __future__ import annotations

import typer

from textwire.commands.segments import segments_command

app = typer.Typer(
    name="textwire",
    help="textwire: self-hosted SMS messaging with a Twilio-compatible API.",
    no_args_is_help=True,
    add_completion=False,
)
app.command("segments")(segments_command)


def main() -> None:
    app()
