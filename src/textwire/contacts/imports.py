"""Contact CSV imports (F-CONTACT-2): upsert each row into the contact its identifiers name.

An import is a ``contact_imports`` row (``running`` → ``completed`` | ``failed``). The file
is parsed in a stream (:mod:`textwire.contacts.csvimport`) and each batch of rows is written
in its own short write transaction, with the import's counts, so a live server's sends are
never held up for long and ``GET /v1/Contacts/Imports/{sid}`` shows the progress. A batch
costs a fixed number of statements whatever its size: one lookup of its identifiers per
type, one read of the contacts they name, then bulk inserts and updates.

Upsert: a row whose identifiers name no contact creates one; naming one contact updates it
(fields merged, empty cells leave values alone, identifiers it lacks are attached); naming
two different contacts is a row error (an identify event merges contacts, an import does
not). Rows are idempotent: importing a file twice gives the same contacts.

A file refused at its header changes nothing. A file that breaks later (invalid UTF-8, a
broken quote) ends ``failed`` with the batches before the break imported; the file can be
fixed and imported again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from textwire.clock import Clock
from textwire.consent import tables as ct
from textwire.consent.csvsync import Readable
from textwire.consent.identifiers import Identifier
from textwire.contacts import store
from textwire.contacts import tables as kt
from textwire.contacts.csvimport import ContactCsv, ContactRow, ImportReport
from textwire.contacts.timezones import resolve
from textwire.db import Database
from textwire.ids import new_sid

UPDATED_COLUMNS = (
    "attributes",
    "friendly_name",
    "time_zone",
    "time_zone_source",
    "language",
    "date_updated",
)
Progress = Callable[[int, int], None]
"""Called after each batch with (bytes read, rows read)."""


@dataclass(frozen=True)
class ImportRequest:
    account_sid: str
    filename: str | None = None
    source: str = "api"


@dataclass
class _Contact:
    """A contact as the batch sees it, before and after its rows."""

    sid: str
    attributes: dict[str, Any]
    friendly_name: str | None
    time_zone: str | None
    time_zone_source: str | None
    language: str | None
    new: bool
    changed: bool = False


@dataclass
class Counts:
    created: int = 0
    updated: int = 0


def _owners_query(account: str, idents: list[Identifier]) -> Any:
    ci = ct.contact_identifiers
    by_type: dict[str, list[str]] = {}
    for ident in idents:
        by_type.setdefault(ident.type, []).append(ident.value)
    clauses = [(ci.c.type == type_) & ci.c.value.in_(values) for type_, values in by_type.items()]
    cond = clauses[0]
    for clause in clauses[1:]:
        cond = cond | clause
    return select(ci.c.type, ci.c.value, ci.c.contact_sid).where(ci.c.account_sid == account, cond)


async def _load(
    conn: AsyncConnection, account: str, rows: list[ContactRow]
) -> tuple[dict[Identifier, str], dict[str, _Contact]]:
    idents = list({i for row in rows for i in row.identifiers})
    owners = {
        Identifier(r.type, r.value): str(r.contact_sid)
        for r in await conn.execute(_owners_query(account, idents))
    }
    c = ct.contacts
    contacts: dict[str, _Contact] = {}
    if owners:
        for r in await conn.execute(
            select(
                c.c.sid,
                c.c.attributes,
                c.c.friendly_name,
                c.c.time_zone,
                c.c.time_zone_source,
                c.c.language,
            ).where(c.c.sid.in_(set(owners.values())))
        ):
            contacts[r.sid] = _Contact(
                r.sid,
                dict(r.attributes or {}),
                r.friendly_name,
                r.time_zone,
                r.time_zone_source,
                r.language,
                new=False,
            )
    return owners, contacts


def _apply_row(row: ContactRow, contact: _Contact, default_zone: str | None) -> None:
    contact.attributes.update(row.fields)
    if row.friendly_name is not None:
        contact.friendly_name = row.friendly_name
    if row.language is not None:
        contact.language = row.language
    phones = [i.value for i in row.identifiers if i.type == "phoneNumber"]
    if row.time_zone is not None:
        choice = resolve(row.time_zone, (), default_zone)
    elif contact.time_zone_source == "explicit" or (
        contact.time_zone_source == "number" and not phones
    ):
        choice = None
    else:
        choice = resolve(None, phones, default_zone)
    if choice is not None:
        contact.time_zone, contact.time_zone_source = choice.time_zone, choice.source
    contact.changed = True


async def write_batch(
    conn: AsyncConnection,
    account: str,
    rows: list[ContactRow],
    report: ImportReport,
    now: datetime,
) -> Counts:
    """Upsert one batch of rows (module doc); rows naming two contacts go to ``report``."""
    owners, contacts = await _load(conn, account, rows)
    default_zone = await store.account_time_zone(conn, account)
    attach: list[dict[str, Any]] = []
    counts = Counts()
    for row in rows:
        named = {owners[i] for i in row.identifiers if i in owners}
        if len(named) > 1:
            report.reject(
                row.line,
                f"its identifiers name different contacts ({', '.join(sorted(named))}); "
                "merge them with an identify event first",
                ",".join(i.value for i in row.identifiers),
            )
            report.valid -= 1
            continue
        if named:
            contact = contacts[named.pop()]
        else:
            sid = new_sid("CT")
            contact = contacts[sid] = _Contact(sid, {}, None, None, None, None, new=True)
            counts.created += 1
        if not contact.new and not contact.changed:
            counts.updated += 1
        _apply_row(row, contact, default_zone)
        for ident in row.identifiers:
            if ident not in owners:
                owners[ident] = contact.sid
                attach.append(
                    {
                        "account_sid": account,
                        "type": ident.type,
                        "value": ident.value,
                        "contact_sid": contact.sid,
                        "date_created": now,
                    }
                )
    c = ct.contacts

    def values(k: _Contact) -> dict[str, Any]:
        return {
            "attributes": k.attributes or None,
            "friendly_name": k.friendly_name,
            "time_zone": k.time_zone,
            "time_zone_source": k.time_zone_source,
            "language": k.language,
            "date_updated": now,
        }

    created = [
        {"sid": k.sid, "account_sid": account, "date_created": now, **values(k)}
        for k in contacts.values()
        if k.new
    ]
    if created:
        await conn.execute(c.insert(), created)
    changed = [
        {"b_sid": k.sid, **{f"b_{name}": v for name, v in values(k).items()}}
        for k in contacts.values()
        if k.changed and not k.new
    ]
    if changed:
        await conn.execute(
            update(c)
            .where(c.c.sid == bindparam("b_sid"))
            .values({n: bindparam(f"b_{n}", type_=c.c[n].type) for n in UPDATED_COLUMNS}),
            changed,
        )
    if attach:
        await conn.execute(ct.contact_identifiers.insert(), attach)
    return counts


def _counts(report: ImportReport, totals: Counts) -> dict[str, Any]:
    return {
        "lines": report.lines,
        "created": totals.created,
        "updated": totals.updated,
        "invalid": report.invalid,
        "blank": report.blank,
        "bytes_read": report.bytes_read,
        "errors": [{"line": e.line, "reason": e.reason, "text": e.text} for e in report.errors],
    }


async def start(db: Database, clock: Clock, req: ImportRequest) -> str:
    sid = new_sid("CI")
    now = clock.now()
    async with db.write() as conn:
        await conn.execute(
            kt.contact_imports.insert().values(
                sid=sid,
                account_sid=req.account_sid,
                status="running",
                source=req.source,
                filename=req.filename,
                date_created=now,
                date_updated=now,
            )
        )
    return sid


async def run_import(
    db: Database,
    clock: Clock,
    sid: str,
    account: str,
    source: Readable,
    *,
    progress: Progress | None = None,
) -> ImportReport:
    """Import the file into the account's contacts under the started import ``sid``."""
    imports = kt.contact_imports
    async with db.read() as conn:
        declared = await store.declared_types(conn, account)
    parse = ContactCsv(source, declared)
    report = parse.report
    totals = Counts()
    status, error = "failed", "the import stopped before the end of the file"
    try:
        # Parsing a batch is CPU work between awaits; a batch is 1,000 rows (a few ms).
        for batch in parse:
            async with db.write() as conn:
                counts = await write_batch(conn, account, batch, report, clock.now())
                totals.created += counts.created
                totals.updated += counts.updated
                await conn.execute(
                    update(imports)
                    .where(imports.c.sid == sid)
                    .values(date_updated=clock.now(), **_counts(report, totals))
                )
            if progress is not None:
                progress(report.bytes_read, report.lines)
        if report.fatal is None:
            status, error = "completed", ""
        else:
            error = f"the file was refused: {report.fatal}"
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        now = clock.now()
        async with db.write() as conn:
            await conn.execute(
                update(imports)
                .where(imports.c.sid == sid)
                .values(
                    status=status,
                    error=error or None,
                    date_updated=now,
                    date_completed=now,
                    **_counts(report, totals),
                )
            )
    return report


def import_resource(row: RowMapping, base: str = "") -> dict[str, Any]:
    """A ``contact_imports`` row (its mapping) as the API and the CLI show it."""
    dt: Mapping[str, datetime | None] = {
        "date_created": row["date_created"],
        "date_updated": row["date_updated"],
        "date_completed": row["date_completed"],
    }
    return {
        "sid": row["sid"],
        "account_sid": row["account_sid"],
        "status": row["status"],
        "source": row["source"],
        "filename": row["filename"],
        "counts": {
            "lines": row["lines"],
            "created": row["created"],
            "updated": row["updated"],
            "invalid": row["invalid"],
            "blank": row["blank"],
        },
        "bytes_read": row["bytes_read"],
        "invalid_rows": row["errors"] or [],
        "error": row["error"],
        **{k: v.isoformat() if v is not None else None for k, v in dt.items()},
        "url": f"{base}/v1/Contacts/Imports/{row['sid']}",
    }
