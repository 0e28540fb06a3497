"""One provider contract (issue 12 §4): one receipt record and one receipt-status Literal, and
every connector kind registered in one place, with no switch on a type name elsewhere."""

from __future__ import annotations

import re
from pathlib import Path

import textwire
from textwire.providers import base
from textwire.providers.kinds import KINDS, TYPES, kind

SRC = Path(textwire.__file__).parent
CONNECTOR_NAMES = "sandbox|twilio|http|smpp"


def _sources() -> list[tuple[str, str]]:
    return [(str(p.relative_to(SRC)), p.read_text()) for p in sorted(SRC.rglob("*.py"))]


def test_one_receipt_record_and_one_receipt_status_literal() -> None:
    """issue 12 §4: ``sandbox.Receipt`` and ``common.ProviderReceipt`` were two records, with
    two ``ReceiptStatus`` Literals (and a third spelled inline on ``SendResult``)."""
    statuses = [f for f, text in _sources() if re.search(r"^ReceiptStatus\s*=", text, re.M)]
    records = [
        (f, name)
        for f, text in _sources()
        for name in re.findall(r"^class (\w*Receipt)\b", text, re.M)
    ]
    inline = [
        f
        for f, text in _sources()
        if re.search(r"Literal\[\s*\"delivered\",\s*\"undelivered\"", text)
        and f != "providers/base.py"
    ]
    assert statuses == ["providers/base.py"]
    assert records == [("providers/base.py", "Receipt")]
    assert inline == []
    assert base.SendResult.__dataclass_fields__["receipt"].type == "Receipt | None"


def test_no_switch_on_a_connector_type_outside_the_kinds() -> None:
    """issue 12 §4: registry.py and providers/api.py switched on ``cfg.type == "twilio"``; a
    connector is now looked up by its kind (``providers.kinds``). Checked where connectors
    are used: providers/ and dispatch/ (accounts.py naming an account's default sandbox
    integration in a query is data, not a switch over connectors)."""
    switch = re.compile(
        rf"""(\.type|\[["']type["']\])\s*(==|!=|in)\s*\(?["']({CONNECTOR_NAMES})["']"""
        r"|isinstance\([^)]*(HttpJsonProvider|TwilioProvider|SmppProvider)"
    )
    found = [
        (f, m.group(0))
        for f, text in _sources()
        if f.startswith(("providers/", "dispatch/"))
        for m in switch.finditer(text)
    ]
    assert found == []


def test_every_kind_is_registered_once_and_complete() -> None:
    assert TYPES == tuple(KINDS) == ("sandbox", "twilio", "http", "smpp")
    for name, k in KINDS.items():
        assert k.name == name and kind(name) is k
        assert callable(k.validate) and callable(k.test)
    # Only the sandbox is handed over in the worker's own transaction (Route.local).
    assert [name for name, k in KINDS.items() if k.local] == ["sandbox"]
    assert [name for name, k in KINDS.items() if k.keep_bound] == ["smpp"]
    assert [name for name, k in KINDS.items() if k.receipts is not None] == ["twilio", "http"]
