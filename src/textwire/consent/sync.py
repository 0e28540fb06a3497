"""Subscriber list sync (F-CONSENT-4): replace a scope's subscribed set from a CSV, atomically.

How a sync runs, and why it is atomic and flat in memory:

1. A ``sync_runs`` row is created (``running``). Any unfinished run of the same scope (a
   killed CLI, a dropped upload) is marked ``interrupted`` and its rows deleted: the newest
   sync wins.
2. The file is parsed in a stream (:mod:`textwire.consent.csvsync`, duplicates left to the
   store) and loaded into a TEMP staging table, 200,000 rows at a time: one
   ``INSERT … SELECT value FROM json_each(?)`` on SQLite, ``COPY`` in text format (asyncpg's
   ``copy_to_table``) on PostgreSQL. A temp table belongs
   to this connection only and disappears with it, so a killed sync leaves no staging rows.
3. The staging rows become the run's rows in ``subscribers`` (one per distinct number),
   through a sort, not a per-row primary-key probe: on SQLite an index on
   the staging table then ``INSERT … SELECT … GROUP BY`` in chunks of 500,000 numbers (short
   write transactions, so a live server's sends are never held up for long); on PostgreSQL
   one ``INSERT … SELECT … GROUP BY``. These rows are invisible to readers: nothing points at
   the run yet. Repeats are counted (staged − distinct); only when there are some is the
   file read a second time, with the parser's exact duplicate table, to list the first
   1,000 with their line numbers (so the common case stages one column: on SQLite a batch
   is one ``INSERT … SELECT value FROM json_each(?)``, 4× faster than ``executemany``).
4. One short transaction applies the run: the numbers that were subscribed and are not in
   the file get an ``unsubscribed``/``sync`` event (and history), the previous run becomes
   ``superseded``, this one ``applied``. Readers see the old set or the new one.
5. The superseded run's rows are deleted.

A file the parser refuses (wrong header, not UTF-8, garbage) or, with ``strict``, any invalid
row, ends the run as ``failed`` before step 3: nothing changes.

SQLite runs the whole sync in a worker thread on its own connection (the process's writer
stays free); PostgreSQL runs it on one pooled connection through ``run_sync``.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.util import await_only

from textwire.clock import Clock
from textwire.consent import tables as ct
from textwire.consent.csvsync import CsvReport, Readable, RowError, parse_subscribers
from textwire.db import Database
from textwire.ids import new_sid
from textwire.tables import UTCDateTime

STAGE_ROWS = 200_000
COPY_CHUNK = 500_000
LISTED = 1_000
Progress = Callable[[int, int], None]
"""Called after each batch with (bytes read, rows read)."""


class SyncAborted(Exception):
    """The run was superseded by a newer sync of the same scope before it could apply."""


@dataclass(frozen=True)
class SyncRequest:
    account_sid: str
    scope: str
    strict: bool = False
    filename: str | None = None
    source: str = "api"


def _dt(name: str) -> Any:
    return bindparam(name, type_=UTCDateTime)


class _Loader:
    """Backend differences: the staging table, bulk load and building the run's set."""

    def __init__(self, conn: Connection, run_sid: str):
        self.conn = conn
        self.run = run_sid
        self.pg = conn.dialect.name == "postgresql"

    def create_stage(self) -> None:
        self.conn.exec_driver_sql("DROP TABLE IF EXISTS tw_stage")
        self.conn.exec_driver_sql("CREATE TEMP TABLE tw_stage (phone VARCHAR(16) NOT NULL)")
        self.conn.commit()

    def load(self, numbers: list[str]) -> None:
        if self.pg:
            driver = self.conn.connection.driver_connection
            assert driver is not None
            # COPY's text format: valid E.164 needs no escaping, so one C join builds it.
            data = io.BytesIO(("\n".join(numbers) + "\n").encode())
            await_only(driver.copy_to_table("tw_stage", source=data, format="text"))
        else:
            # Valid E.164 needs no JSON escaping; one statement binds the whole batch.
            self.conn.exec_driver_sql(
                "INSERT INTO tw_stage (phone) SELECT value FROM json_each(?)",
                ('["' + '","'.join(numbers) + '"]',),
            )
        self.conn.commit()

    def build_set(self) -> int:
        """Distinct staged numbers into ``subscribers`` under this run; returns how many."""
        conn, run = self.conn, self.run
        if self.pg:
            # The sort that dedupes 10 M numbers wants more than the default 4 MB.
            conn.exec_driver_sql("SET LOCAL work_mem = '64MB'")
            n = conn.execute(
                text(
                    # Sorted, so the primary key's B-tree is filled in order, not at random.
                    "INSERT INTO subscribers (run_sid, phone) "
                    "SELECT DISTINCT CAST(:run AS VARCHAR), phone FROM tw_stage ORDER BY 2"
                ),
                {"run": run},
            ).rowcount
            conn.commit()
            return int(n)
        conn.exec_driver_sql("CREATE INDEX temp.ix_tw_stage ON tw_stage (phone)")
        conn.commit()
        total, last = 0, ""
        while True:
            n = conn.execute(
                text(
                    "INSERT INTO subscribers (run_sid, phone) "
                    "SELECT :run, phone FROM tw_stage WHERE phone > :last "
                    "GROUP BY phone ORDER BY phone LIMIT :chunk"
                ),
                {"run": run, "last": last, "chunk": COPY_CHUNK},
            ).rowcount
            if n <= 0:
                conn.commit()
                return total
            last = conn.execute(
                text(
                    "SELECT phone FROM subscribers WHERE run_sid = :run ORDER BY phone DESC LIMIT 1"
                ),
                {"run": run},
            ).scalar_one()
            conn.commit()
            total += n

    def drop_stage(self) -> None:
        self.conn.rollback()
        self.conn.exec_driver_sql("DROP TABLE IF EXISTS tw_stage")
        self.conn.commit()


def _errors_json(report: CsvReport) -> dict[str, list[dict[str, Any]]]:
    def rows(items: list[RowError]) -> list[dict[str, Any]]:
        return [{"line": e.line, "reason": e.reason, "text": e.text} for e in items]

    return {"invalid": rows(report.errors), "duplicates": rows(report.duplicate_rows)}


def _counts(report: CsvReport) -> dict[str, Any]:
    return {
        "invalid": report.invalid,
        "duplicates": report.duplicates,
        "blank": report.blank,
        "lines": report.lines,
        "bytes_read": report.bytes_read,
        "errors": _errors_json(report),
    }


def _start(conn: Connection, req: SyncRequest, now: datetime) -> str:
    runs = ct.sync_runs
    stale = [
        r.sid
        for r in conn.execute(
            runs.select().where(
                runs.c.account_sid == req.account_sid,
                runs.c.scope == req.scope,
                runs.c.status == "running",
            )
        )
    ]
    if stale:
        conn.execute(
            runs.update()
            .where(runs.c.sid.in_(stale))
            .values(status="interrupted", error="superseded by a newer sync", date_updated=now)
        )
        conn.execute(ct.subscribers.delete().where(ct.subscribers.c.run_sid.in_(stale)))
    sid = new_sid("SY")
    conn.execute(
        runs.insert().values(
            sid=sid,
            account_sid=req.account_sid,
            scope=req.scope,
            status="running",
            source=req.source,
            filename=(req.filename or "")[:256] or None,
            date_created=now,
            date_updated=now,
        )
    )
    conn.commit()
    return sid


def _fail(conn: Connection, run: str, report: CsvReport, error: str, now: datetime) -> None:
    conn.rollback()
    conn.execute(ct.subscribers.delete().where(ct.subscribers.c.run_sid == run))
    conn.execute(
        ct.sync_runs.update()
        .where(ct.sync_runs.c.sid == run, ct.sync_runs.c.status == "running")
        .values(status="failed", error=error[:2000], date_updated=now, **_counts(report))
    )
    conn.commit()


def _heartbeat(conn: Connection, run: str, report: CsvReport, now: datetime) -> None:
    """Progress for ``GET /v1/Subscribers/Syncs/{sid}`` while the file is read."""
    conn.execute(
        ct.sync_runs.update()
        .where(ct.sync_runs.c.sid == run)
        .values(lines=report.lines, bytes_read=report.bytes_read, date_updated=now)
    )
    conn.commit()


def _list_duplicates(source: Readable, report: CsvReport, repeats: int) -> None:
    """Move ``repeats`` rows from valid to duplicates, listing the first ones by line.

    Only runs when the file had repeats: a second pass with the parser's exact duplicate
    table (about 13 bytes a distinct number) finds their line numbers.
    """
    seek = getattr(source, "seek", None)
    listed: list[RowError] = []
    if seek is not None:
        seek(0)
        again = parse_subscribers(source, detect_duplicates=True, max_listed=LISTED)
        for _ in again:
            pass
        listed = again.report.duplicate_rows
    for row in listed:
        report.record_duplicate(row.line, row.text)
    rest = repeats - len(listed)
    report.valid -= rest
    report.duplicates += rest


_BLOCKED = "c.status = 'unsubscribed' AND (c.at > :pa OR c.source = 'keyword')"


def _apply(
    conn: Connection, req: SyncRequest, run: str, total: int, now: datetime
) -> tuple[dict[str, int], str | None]:
    """The one transaction that makes ``run`` the scope's subscribed set."""
    runs = ct.sync_runs
    status = conn.execute(runs.select().where(runs.c.sid == run)).one().status
    if status != "running":
        raise SyncAborted(f"sync {run} was {status} before it could apply")
    prev = conn.execute(
        runs.select().where(
            runs.c.account_sid == req.account_sid,
            runs.c.scope == req.scope,
            runs.c.status == "applied",
        )
    ).first()
    p: dict[str, Any] = {"a": req.account_sid, "s": req.scope, "run": run, "now": now}
    pg = conn.dialect.name == "postgresql"

    def cast(param: str, sql_type: str) -> str:
        # PostgreSQL cannot infer a parameter's type in a SELECT list; SQLite needs no cast.
        return f"CAST({param} AS {sql_type})" if pg else param

    not_new = "NOT EXISTS (SELECT 1 FROM subscribers n WHERE n.run_sid = :run AND n.phone = {})"
    if prev is not None:
        p |= {"prev": prev.sid, "pa": prev.applied_at}
        in_prev = (
            "EXISTS (SELECT 1 FROM subscribers o WHERE o.run_sid = :prev AND o.phone = c.phone)"
        )
        blocked_in_prev = conn.execute(
            text(
                "SELECT count(*) FROM consent_states c WHERE c.account_sid = :a "
                f"AND c.scope = :s AND {_BLOCKED} AND {in_prev}"
            ).bindparams(_dt("pa")),
            p,
        ).scalar_one()
        later_sub = "c.status = 'subscribed' AND c.at > :pa AND NOT " + in_prev
    else:
        blocked_in_prev = 0
        later_sub = "c.status = 'subscribed'"
    sub_not_in_prev = conn.execute(
        text(
            "SELECT count(*) FROM consent_states c WHERE c.account_sid = :a "
            f"AND c.scope = :s AND {later_sub}"
        ).bindparams(*([_dt("pa")] if prev is not None else [])),
        p,
    ).scalar_one()
    if prev is not None:
        conn.execute(
            text(
                "INSERT INTO consent_states (account_sid, phone, scope, status, source, at) "
                f"SELECT {cast(':a', 'VARCHAR')}, o.phone, {cast(':s', 'VARCHAR')}, "
                f"'unsubscribed', 'sync', {cast(':now', 'TIMESTAMP')} FROM subscribers o "
                f"WHERE o.run_sid = :prev AND {not_new.format('o.phone')} "
                "AND NOT EXISTS (SELECT 1 FROM consent_states c WHERE c.account_sid = :a "
                f"AND c.phone = o.phone AND c.scope = :s AND {_BLOCKED}) "
                "ON CONFLICT (account_sid, phone, scope) DO UPDATE SET "
                "status = excluded.status, source = excluded.source, at = excluded.at"
            ).bindparams(_dt("pa"), _dt("now")),
            p,
        )
    conn.execute(
        text(
            "UPDATE consent_states SET status = 'unsubscribed', source = 'sync', at = :now "
            "WHERE consent_states.account_sid = :a AND consent_states.scope = :s AND phone IN "
            f"(SELECT c.phone FROM consent_states c WHERE c.account_sid = :a AND c.scope = :s "
            f"AND {later_sub} AND {not_new.format('c.phone')})"
        ).bindparams(*([_dt("pa")] if prev is not None else []), _dt("now")),
        p,
    )
    removed = conn.execute(
        text(
            "INSERT INTO consent_history (account_sid, phone, scope, status, source, detail, at) "
            f"SELECT account_sid, phone, scope, status, source, {cast(':run', 'VARCHAR')}, at "
            "FROM consent_states "
            "WHERE account_sid = :a AND scope = :s AND source = 'sync' AND at = :now"
        ).bindparams(_dt("now")),
        p,
    ).rowcount
    previous = (int(prev.total) if prev is not None else 0) - blocked_in_prev + sub_not_in_prev
    unchanged = max(0, previous - removed)
    counts = {
        "total": total,
        "removed": removed,
        "unchanged": unchanged,
        "added": total - unchanged,
    }
    if prev is not None:
        conn.execute(
            runs.update()
            .where(runs.c.sid == prev.sid)
            .values(status="superseded", date_updated=now)
        )
    conn.execute(
        runs.update()
        .where(runs.c.sid == run)
        .values(status="applied", applied_at=now, date_updated=now, **counts)
    )
    return counts, (str(prev.sid) if prev is not None else None)


def run_sync(
    conn: Connection,
    req: SyncRequest,
    source: Readable,
    clock: Clock,
    progress: Progress | None = None,
    on_start: Callable[[str], None] | None = None,
) -> tuple[str, CsvReport]:
    """The whole sync on one synchronous connection (see the module doc); returns the run."""
    report = CsvReport()
    run = _start(conn, req, clock.now())
    if on_start is not None:
        on_start(run)
    loader = _Loader(conn, run)
    try:
        loader.create_stage()
        parse = parse_subscribers(source, detect_duplicates=False)
        report = parse.report
        buffer: list[str] = []
        for batch in parse:
            buffer.extend(batch.numbers)
            if len(buffer) >= STAGE_ROWS:
                loader.load(buffer)
                buffer = []
                _heartbeat(conn, run, report, clock.now())
            if progress is not None:
                progress(report.bytes_read, report.lines)
        if report.fatal is not None:
            _fail(conn, run, report, f"the file was refused: {report.fatal}", clock.now())
            return run, report
        if req.strict and report.invalid:
            _fail(
                conn,
                run,
                report,
                f"--strict: {report.invalid} invalid row(s); nothing was changed",
                clock.now(),
            )
            return run, report
        if buffer:
            loader.load(buffer)
        total = loader.build_set()
        if report.valid > total:
            _list_duplicates(source, report, report.valid - total)
        conn.commit()
        now = clock.now()
        conn.execute(
            ct.sync_runs.update().where(ct.sync_runs.c.sid == run).values(**_counts(report))
        )
        _counts_applied, prev_sid = _apply(conn, req, run, total, now)
        conn.commit()
        if prev_sid:
            conn.execute(ct.subscribers.delete().where(ct.subscribers.c.run_sid == prev_sid))
            conn.commit()
        return run, report
    except BaseException as exc:
        if isinstance(exc, Exception):
            # The original error matters more than the bookkeeping.
            with contextlib.suppress(Exception):
                _fail(conn, run, report, f"{type(exc).__name__}: {exc}", clock.now())
        raise
    finally:
        with contextlib.suppress(Exception):
            loader.drop_stage()


def _sqlite_sync_engine(url: str) -> Any:
    # Without parameters in error text: they are subscribers' phone numbers.
    engine = create_engine(make_url(url).set(drivername="sqlite"), hide_parameters=True)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA cache_size=-65536")
        cur.execute("PRAGMA temp.cache_size=-65536")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


async def sync_subscribers(
    db: Database,
    clock: Clock,
    req: SyncRequest,
    source: Readable,
    *,
    progress: Progress | None = None,
    on_start: Callable[[str], None] | None = None,
) -> tuple[str, CsvReport]:
    """Run one sync (module doc); returns the run SID and the file's report."""
    if db.is_sqlite:

        def work() -> tuple[str, CsvReport]:
            engine = _sqlite_sync_engine(db.url)
            try:
                with engine.connect() as conn:
                    return run_sync(conn, req, source, clock, progress, on_start)
            finally:
                engine.dispose()

        return await asyncio.to_thread(work)
    async with db.writer.connect() as aconn:
        return await aconn.run_sync(
            lambda conn: run_sync(conn, req, source, clock, progress, on_start)
        )


def run_resource(row: Any, base: str = "") -> dict[str, Any]:
    """A ``sync_runs`` row as the API and the CLI show it."""
    errors = row.errors or {}
    return {
        "sid": row.sid,
        "account_sid": row.account_sid,
        "messaging_service_sid": row.scope or None,
        "status": row.status,
        "source": row.source,
        "filename": row.filename,
        "counts": {
            "total": row.total,
            "added": row.added,
            "removed": row.removed,
            "unchanged": row.unchanged,
            "invalid": row.invalid,
            "duplicates": row.duplicates,
            "blank": row.blank,
            "lines": row.lines,
        },
        "bytes_read": row.bytes_read,
        "invalid_rows": errors.get("invalid", []),
        "duplicate_rows": errors.get("duplicates", []),
        "error": row.error,
        "date_created": row.date_created.isoformat(),
        "date_updated": row.date_updated.isoformat(),
        "date_applied": row.applied_at.isoformat() if row.applied_at else None,
        "url": f"{base}/v1/Subscribers/Syncs/{row.sid}",
    }
