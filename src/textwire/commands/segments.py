"""`textwire segments "TEXT"`: how a text is encoded and split into SMS segments (F-ENC)."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from textwire.segments import (
    InvalidTextError,
    NationalShift,
    SegmentInfo,
    analyze,
    is_gsm7,
    split_clusters,
)

NON_GSM_STYLE = "bold white on red"
CONTROL_STYLE = "dim"
# Line breaks and other controls are drawn as visible symbols so every part shows its length.
_VISIBLE_CONTROLS = {"\n": "↵", "\r": "␍", "\f": "␌", "\t": "␉"}


class ShiftChoice(StrEnum):
    turkish = "turkish"
    spanish = "spanish"
    portuguese = "portuguese"


def segments_command(
    text: Annotated[str, typer.Argument(help="The message text.", show_default=False)],
    smart_encoding: Annotated[
        bool,
        typer.Option(
            "--smart-encoding", help="Replace look-alike characters (“ ” – … ) with GSM ones."
        ),
    ] = False,
    national_shift: Annotated[
        ShiftChoice | None,
        typer.Option(help="Allow a GSM national single-shift table (3GPP TS 23.038)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the analysis as JSON.")] = False,
) -> None:
    """Show how TEXT is encoded (GSM-7 or UCS-2) and split into SMS segments."""
    shift: NationalShift | None = None if national_shift is None else national_shift.value
    try:
        info = analyze(text, smart_encoding=smart_encoding, national_shift=shift)
    except InvalidTextError as error:
        typer.echo(f"error: {describe_invalid(error)}", err=True)
        raise typer.Exit(code=2) from None
    if as_json:
        typer.echo(json.dumps(as_dict(info), ensure_ascii=False, indent=2))
    else:
        Console(highlight=False).print(render(info))


def describe_invalid(error: InvalidTextError) -> str:
    """Say what is wrong with the text in the user's terms."""
    # Python hands undecodable argv bytes over as U+DC80..U+DCFF (PEP 383 surrogateescape).
    if 0xDC80 <= error.code_point <= 0xDCFF:
        byte = error.code_point - 0xDC00
        return f"TEXT is not valid UTF-8: byte 0x{byte:02X} at character {error.position}"
    return (
        f"TEXT is not valid Unicode: lone surrogate U+{error.code_point:04X}"
        f" at character {error.position}"
    )


def as_dict(info: SegmentInfo) -> dict[str, object]:
    """The analysis as plain JSON-ready data."""
    return {
        "encoding": info.encoding,
        "num_segments": info.num_segments,
        "num_characters": info.num_characters,
        "part_limit": info.part_limit,
        "remaining": info.remaining,
        "national_shift": info.national_shift,
        "smart_encoded": info.smart_encoded,
        "replacements": [
            {"original": r.original, "replacement": r.replacement} for r in info.replacements
        ],
        "non_gsm_characters": list(info.non_gsm_characters),
        "text": info.text,
        "parts": list(info.parts),
        "part_sizes": list(info.part_sizes),
    }


def render(info: SegmentInfo) -> Table:
    """A summary like Twilio's web calculator, then each part with non-GSM text highlighted."""
    unit = "septets" if info.encoding == "GSM-7" else "UTF-16 units"
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    shift = f" with the {info.national_shift} single-shift table" if info.national_shift else ""
    table.add_row("Encoding", info.encoding + shift)
    table.add_row("Segments", str(info.num_segments))
    table.add_row("Characters", f"{info.num_characters} {unit} ({info.remaining} left)")
    if info.replacements:
        replaced = ", ".join(f"{r.original!r} → {r.replacement!r}" for r in info.replacements)
        table.add_row("Smart encoding", replaced)
    if info.non_gsm_characters:
        shown = " ".join(visible(cluster) for cluster in info.non_gsm_characters)
        table.add_row("Non-GSM", Text(shown, style=NON_GSM_STYLE))
    for number, (part, size) in enumerate(zip(info.parts, info.part_sizes, strict=True), 1):
        table.add_row(f"Part {number}", f"{size}/{info.part_limit} {unit}")
        table.add_row("", part_text(part))
    return table


def part_text(part: str) -> Text:
    """One part as Rich text: non-GSM clusters highlighted, controls made visible."""
    text = Text()
    for cluster in split_clusters(part):
        shown = visible(cluster)
        if not is_gsm7(cluster):
            text.append(shown, style=NON_GSM_STYLE)
        else:
            text.append(shown, style=CONTROL_STYLE if shown != cluster else "")
    return text


def visible(cluster: str) -> str:
    """A cluster as it can be seen: controls as symbols, invisible ones as code points."""
    if cluster in _VISIBLE_CONTROLS:
        return _VISIBLE_CONTROLS[cluster]
    if any(ch.isprintable() for ch in cluster):
        return cluster
    return "".join(f"<U+{ord(ch):04X}>" for ch in cluster)
