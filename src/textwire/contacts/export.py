"""CSV export of an account's contacts (F-CONTACT-2), streamed in constant memory.

Columns: ``sid``, ``phone``, ``email`` (the SHA-256 digest: addresses are never stored),
``custom_id``, ``friendly_name``, ``time_zone``, ``time_zone_source``, ``language``, then
one per declared field in key order. A contact with several identifiers of one type shows
the first in sort order. The file imports back as it is (the import ignores ``sid`` and
``time_zone_source``).

Contacts are read :data:`PAGE` at a time by SID (keyset paging), each page in its own short
read, so a long download never holds a read transaction open.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Final

from sqlalchemy import select

from textwire.consent import tables as ct
from textwire.contacts import store
from textwire.contacts.fields import as_text
from textwire.db import Database

PAGE: Final = 1_000
COLUMNS: Final = (
    "sid",
    "phone",
    "email",
    "custom_id",
    "friendly_name",
    "time_zone",
    "time_zone_source",
    "language",
)
_IDENT_COLUMNS: Final = {"phoneNumber": "phone", "email": "email", "custom": "custom_id"}


def _line(cells: list[str]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(cells)
    return out.getvalue().encode("utf-8")


async def export_csv(db: Database, account_sid: str) -> AsyncIterator[bytes]:
    """The CSV, one chunk per page of contacts (the header line first)."""
    async with db.read() as conn:
        keys = [d.key for d in await store.declarations(conn, account_sid)]
    yield _line([*COLUMNS, *keys])
    c, ci = ct.contacts, ct.contact_identifiers
    after = ""
    while True:
        async with db.read() as conn:
            rows = (
                await conn.execute(
                    select(c)
                    .where(c.c.account_sid == account_sid, c.c.sid > after)
                    .order_by(c.c.sid)
                    .limit(PAGE)
                )
            ).all()
            if not rows:
                return
            idents: dict[tuple[str, str], str] = {}
            for r in await conn.execute(
                select(ci.c.contact_sid, ci.c.type, ci.c.value)
                .where(
                    ci.c.account_sid == account_sid,
                    ci.c.contact_sid.in_([r.sid for r in rows]),
                )
                .order_by(ci.c.value.desc())
            ):
                idents[(r.contact_sid, _IDENT_COLUMNS.get(r.type, r.type))] = r.value
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        for row in rows:
            attrs = row.attributes or {}
            writer.writerow(
                [
                    row.sid,
                    idents.get((row.sid, "phone"), ""),
                    idents.get((row.sid, "email"), ""),
                    idents.get((row.sid, "custom_id"), ""),
                    row.friendly_name or "",
                    row.time_zone or "",
                    row.time_zone_source or "",
                    row.language or "",
                    *(as_text(attrs.get(k)) for k in keys),
                ]
            )
        yield out.getvalue().encode("utf-8")
        after = rows[-1].sid
