"""Streaming parser for the contacts CSV (F-CONTACT-2): identifiers, own columns and fields.

The file: UTF-8 (a byte order mark is skipped), comma-separated, RFC 4180 quoting, a header
line naming the columns. Column names are trimmed and matched without letter case:

- identifiers, at least one: ``phone`` (E.164), ``email`` (the address or its SHA-256 hex,
  as everywhere), ``custom_id``; a row is upserted into the contact one of them names;
- the contact's own: ``friendly_name``, ``time_zone`` (IANA), ``language`` (BCP 47);
- ``sid`` and ``time_zone_source``, which the export writes: the SID is ignored, and a
  ``time_zone`` whose source is not ``explicit`` is left out (it was inferred, and is inferred
  again), so an export imports back unchanged;
- every other column must be a field the account has declared, and its cells are coerced
  to the field's type (:mod:`textwire.contacts.fields`).

An unknown or repeated column, or a file without an identifier column, is refused as a
whole (nothing is imported): it is usually the wrong file. A row with a bad cell is skipped
and listed with its line number and the column at fault; the first :data:`MAX_LISTED` are
listed, all are counted. An empty cell leaves the contact's value as it is. Blank lines are
skipped and counted.

Memory is flat: the file is read through the ``csv`` module a line at a time and rows are
handed out in batches of :data:`BATCH_ROWS`; nothing else is kept but the counts and listed
errors. A field longer than ``csv.field_size_limit()`` (128 KiB) ends the parse as ``fatal``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Final

from textwire.consent.csvsync import Readable, RowError, excerpt
from textwire.consent.identifiers import (
    Identifier,
    IdentifierError,
    IdentifierType,
    normalize_custom_id,
    normalize_email,
    normalize_phone_number,
)
from textwire.contacts.fields import FieldError, FieldType, FieldValue, coerce
from textwire.contacts.language import LanguageError, normalize_language
from textwire.contacts.timezones import TimeZoneError, check_time_zone

BATCH_ROWS: Final = 1_000
MAX_LISTED: Final = 1_000
MAX_NAME: Final = 64
READ_SIZE: Final = 1 << 16

IDENTIFIER_COLUMNS: Final[Mapping[str, IdentifierType]] = {
    "phone": "phoneNumber",
    "email": "email",
    "custom_id": "custom",
}
OWN_COLUMNS: Final = ("friendly_name", "time_zone", "language")
# Written by the export and read back without effect, so an export imports as it is.
IGNORED_COLUMNS: Final = ("sid", "time_zone_source")


@dataclass(frozen=True)
class ContactRow:
    """One valid row: identifiers, the contact's own values (None: cell empty) and fields."""

    line: int
    identifiers: tuple[Identifier, ...]
    friendly_name: str | None
    time_zone: str | None
    language: str | None
    fields: dict[str, FieldValue]


@dataclass
class ImportReport:
    """Counts and listed problems; final once iteration has ended."""

    lines: int = 0
    valid: int = 0
    invalid: int = 0
    blank: int = 0
    bytes_read: int = 0
    errors: list[RowError] = field(default_factory=list)
    fatal: str | None = None
    columns: tuple[str, ...] = ()

    def reject(self, line: int, reason: str, text: str) -> None:
        """Count one skipped row (also used by the store: a row whose identifiers name two
        different contacts is only found out there)."""
        self.invalid += 1
        if len(self.errors) < MAX_LISTED:
            self.errors.append(RowError(line, reason, excerpt(text)))


class _Counting(io.RawIOBase):
    """The source as a raw stream, counting the bytes read (for progress)."""

    def __init__(self, source: Readable, report: ImportReport) -> None:
        self._source = source
        self._report = report

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._source.read(len(buffer))
        buffer[: len(data)] = data
        self._report.bytes_read += len(data)
        return len(data)


class ContactCsv:
    """Iterate to get batches of :class:`ContactRow`; ``report`` holds everything else."""

    def __init__(
        self,
        source: Readable,
        declared: Mapping[str, FieldType],
        *,
        batch_rows: int = BATCH_ROWS,
    ) -> None:
        self.report = ImportReport()
        self._declared = dict(declared)
        self._batch_rows = batch_rows
        raw = io.BufferedReader(_Counting(source, self.report), READ_SIZE)
        self._text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")

    def _header(self, names: list[str]) -> list[str] | None:
        columns = [n.strip().lower() for n in names]
        seen: set[str] = set()
        for name in columns:
            if name in seen:
                self.report.fatal = f"line 1: column {name!r} appears twice"
                return None
            seen.add(name)
            known = (
                name in IDENTIFIER_COLUMNS
                or name in OWN_COLUMNS
                or name in IGNORED_COLUMNS
                or name in self._declared
            )
            if not known:
                fields = ", ".join(sorted(self._declared)) or "none declared"
                self.report.fatal = (
                    f"line 1: unknown column {excerpt(name)!r}; columns are phone, email, "
                    f"custom_id, friendly_name, time_zone, language and the account's fields "
                    f"({fields}; declare others with POST /v1/ContactFields)"
                )
                return None
        if not seen & set(IDENTIFIER_COLUMNS):
            self.report.fatal = "line 1: no identifier column (phone, email or custom_id)"
            return None
        self.report.columns = tuple(columns)
        return columns

    def _row(self, line: int, columns: list[str], cells: list[str]) -> ContactRow:
        """The row, or :class:`ValueError` whose message names the column and the rule."""
        if len(cells) != len(columns):
            raise ValueError(f"{len(cells)} cells, the header has {len(columns)}")
        idents: list[Identifier] = []
        own: dict[str, str] = {}
        values: dict[str, FieldValue] = {}
        for name, cell in zip(columns, cells, strict=True):
            text = cell.strip()
            if not text:
                continue
            try:
                if name == "phone":
                    idents.append(
                        Identifier("phoneNumber", normalize_phone_number(text, field=name))
                    )
                elif name == "email":
                    idents.append(Identifier("email", normalize_email(text, field=name)))
                elif name == "custom_id":
                    idents.append(Identifier("custom", normalize_custom_id(text, field=name)))
                elif name == "friendly_name":
                    if len(text) > MAX_NAME:
                        raise ValueError(f"friendly_name: at most {MAX_NAME} characters")
                    own[name] = text
                elif name == "time_zone":
                    own[name] = check_time_zone(text, field=name)
                elif name == "language":
                    own[name] = normalize_language(text, field=name)
                elif name == "time_zone_source":
                    own[name] = text
                elif name in IGNORED_COLUMNS:
                    continue
                else:
                    stored = coerce(self._declared[name], cell, field=name)
                    if stored is not None:
                        values[name] = stored
            except (IdentifierError, FieldError, TimeZoneError, LanguageError) as exc:
                raise ValueError(f"{exc.field}: {exc.rule}") from None
        if not idents:
            raise ValueError("no identifier: phone, email and custom_id are all empty")
        if own.get("time_zone_source", "explicit") != "explicit":
            # An exported zone that was inferred stays inferred when imported back.
            own.pop("time_zone", None)
        return ContactRow(
            line,
            tuple(dict.fromkeys(idents)),
            own.get("friendly_name"),
            own.get("time_zone"),
            own.get("language"),
            values,
        )

    def __iter__(self) -> Iterator[list[ContactRow]]:
        report = self.report
        reader = csv.reader(self._text, strict=True)
        try:
            header = next(reader, None)
            if header is None:
                report.fatal = "the file is empty (a header line is needed)"
                return
            columns = self._header(header)
            if columns is None:
                return
            batch: list[ContactRow] = []
            last = reader.line_num
            for cells in reader:
                line, last = last + 1, reader.line_num
                report.lines += 1
                if not cells or (len(cells) == 1 and not cells[0].strip()):
                    report.blank += 1
                    continue
                try:
                    batch.append(self._row(line, columns, cells))
                except ValueError as exc:
                    report.reject(line, str(exc), ",".join(cells))
                    continue
                report.valid += 1
                if len(batch) >= self._batch_rows:
                    yield batch
                    batch = []
            if batch:
                yield batch
        except UnicodeDecodeError as exc:
            report.fatal = f"not UTF-8 after line {reader.line_num}: {exc.reason}"
        except csv.Error as exc:
            report.fatal = f"line {reader.line_num + 1}: {exc}"
