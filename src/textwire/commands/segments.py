"""`textwire segments`: placeholder until the segments helper lands (issue 2)."""

from __future__ import annotations

import typer


def segments_command(text: str = typer.Argument(..., help="The message text.")) -> None:
    """Show how TEXT is encoded and split into SMS segments."""
    raise typer.Exit(code=2)
