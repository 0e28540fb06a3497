"""``textwire demo`` runs end to end (issue 11 §5: test numbers refused at create)."""

from __future__ import annotations

import asyncio
import io

from rich.console import Console

from textwire.demo import run_demo


def test_demo_refuses_test_numbers_at_create_and_finishes_every_other_message() -> None:
    """issue 11 §5: the demo's messages to Twilio's magic numbers are refused at create with
    Twilio's codes (400); the others reach a final state, some undelivered with a carrier
    code, and every callback's signature validates (exit 0)."""
    out = io.StringIO()
    console = Console(file=out, width=120)
    code = asyncio.run(run_demo(messages=20, keep=False, console=console))
    text = out.getvalue()
    assert code == 0, text
    assert "18 accepted, 2 refused at create" in text
    assert "refused at create (400) │ 21211" in text
    assert "(bad signatures: 0)" in text
