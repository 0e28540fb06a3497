"""Streaming parser for the subscriber list CSV (F-CONSENT-4).

The file: UTF-8, first line ``phone numbers``, then one E.164 number a line, up to 10 million
lines. :func:`parse_subscribers` reads it chunk by chunk and yields the valid numbers in
batches; :class:`CsvReport` counts everything else, with line numbers. Nothing here touches a
database: the caller writes each batch and applies the sync only if ``report.ok`` (and, with
``--strict``, ``report.clean``) once iteration has finished.

Rules, and why:

- **Header.** The first line must be ``phone numbers``. Tolerated, because spreadsheet
  exports add them: a UTF-8 byte order mark, surrounding whitespace, surrounding double
  quotes, any letter case, several spaces between the words. Anything else (a number, another
  column) rejects the whole file: a list without its header is usually the wrong file.
- **Encoding.** UTF-8 only. Invalid UTF-8, a UTF-16/32 byte order mark, or a NUL byte (binary
  data, UTF-16 without a BOM) rejects the file at once, naming the line and byte offset, so
  50 MB of garbage is refused after the first chunk, not listed line by line.
- **Line endings.** ``\\n``, ``\\r\\n`` and old-Mac ``\\r`` (Excel for Mac "CSV") all work.
- **Rows.** Surrounding whitespace and one pair of double quotes are stripped. A blank line is
  skipped and counted. A row must be strict E.164 under the rule of
  :mod:`textwire.consent.identifiers` ('+', known country calling code, a possible national
  length); anything else is an invalid row with a reason (missing '+', wrong length, more
  than one column …). The first 1,000 invalid rows are listed; all are counted.
- **Duplicates.** Who finds them is the caller's explicit choice, ``detect_duplicates``:
  the parser (each number yielded once, the repeats counted and the first 1,000 listed) or
  the store, which must deduplicate anyway when it builds the new set (a primary key on the
  staging table) and reports each repeat with :meth:`CsvReport.record_duplicate`, using the
  line numbers every batch carries.
- **Truncation.** A last line without a line break is read like any other (many editors omit
  it) and flagged in ``missing_final_newline``; if it is invalid the reason says the upload
  may be truncated. A file cut inside a UTF-8 character is rejected. A cut that leaves a
  shorter but still valid number cannot be seen here: the upload layer should check the size.
- **Over-long lines.** A line over 256 characters is invalid and skipped without being held in
  memory, so a file without line breaks cannot grow the parser's memory.

Speed and memory. Valid rows are checked by one compiled regular expression per chunk (the
E.164 rule compiled into a trie of country codes and lengths) and split in C; no Python code
runs per valid row (10 million rows: ~2.4 s, ~4 M rows/s, 35 MB peak on the 2-core dev box).
``phonenumbers.is_valid_number`` would cost ~55 µs a row (9 minutes for 10 million); see
``docs/consent.md``. Memory is flat in the file size, except with ``detect_duplicates=True``:
an exact duplicate table needs about 13 bytes per distinct number (134 MB at 10 million) and
a Python loop per row (~20 s for 10 million, where the store's primary key does the same
work in C), so the 10-million-row sync should leave duplicates to the store.
"""

from __future__ import annotations

import codecs
import re
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal, Protocol, runtime_checkable

from textwire.consent.identifiers import E164_PATTERN, is_e164, phone_number_problem

HEADER: Final = "phone numbers"
DEFAULT_BATCH_SIZE: Final = 10_000
MAX_LISTED: Final = 1_000
DUPLICATE_REASON: Final = "duplicate of an earlier row"
MAX_ROWS: Final = 10_000_000  # the documented maximum; only sizes the duplicate table up front
MAX_LINE_CHARS: Final = 256
MAX_HEADER_CHARS: Final = 1_024
READ_SIZE: Final = 1 << 20
EXCERPT_CHARS: Final = 40

_UTF8_BOM: Final = "\ufeff"
_WIDE_BOMS: Final = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)
# Possessive repeat: a run of valid lines is never re-scanned when the next line fails.
_RUN_LF: Final = re.compile(f"(?:{E164_PATTERN}\\n)*+")
_RUN_CRLF: Final = re.compile(f"(?:{E164_PATTERN}\\r\\n)*+")
_SPACES: Final = re.compile(r"\s+")

LineEnding = Literal["\n", "\r\n", "\r"]


@runtime_checkable
class Readable(Protocol):
    """A binary file object, as far as the parser needs one."""

    def read(self, size: int = -1, /) -> bytes: ...


@dataclass(frozen=True)
class RowError:
    """One reported row: its 1-based line number in the file, why, and an excerpt."""

    line: int
    reason: str
    text: str


@dataclass(frozen=True)
class SubscriberBatch:
    """Valid numbers in file order, each with its 1-based line number in the file."""

    numbers: list[str]
    lines: list[int]

    def __len__(self) -> int:
        return len(self.numbers)


@dataclass
class CsvReport:
    """Counts and listed problems of one parse; final once iteration has ended.

    ``lines`` counts the lines after the header that were read; for every parse that was not
    stopped by ``fatal``, ``valid + duplicates + invalid + blank == lines``.
    """

    lines: int = 0
    valid: int = 0
    duplicates: int = 0
    invalid: int = 0
    blank: int = 0
    bytes_read: int = 0
    errors: list[RowError] = field(default_factory=list)
    duplicate_rows: list[RowError] = field(default_factory=list)
    fatal: str | None = None
    missing_final_newline: bool = False

    @property
    def ok(self) -> bool:
        """Whether the file as a whole was readable (the sync may apply the valid rows)."""
        return self.fatal is None

    @property
    def clean(self) -> bool:
        """Whether the file was readable and had no invalid row (what ``--strict`` needs)."""
        return self.fatal is None and self.invalid == 0

    def record_duplicate(self, line: int, number: str, *, max_listed: int = MAX_LISTED) -> None:
        """Move one yielded row from ``valid`` to ``duplicates``.

        For stores that find duplicates themselves (``detect_duplicates=False``), so that the
        report stays the one account of the file. E.g. with a staging table ``(number PRIMARY
        KEY, line)`` filled by ``INSERT OR IGNORE``: when a batch inserts fewer rows than it
        holds, its rows whose stored line differs from their own are the repeats.
        """
        self.valid -= 1
        self.duplicates += 1
        if len(self.duplicate_rows) < max_listed:
            self.duplicate_rows.append(RowError(line, DUPLICATE_REASON, number))


def excerpt(text: str) -> str:
    """A short, terminal-safe excerpt of a row: control characters shown escaped."""
    cut = text[:EXCERPT_CHARS]
    safe = "".join(c if c.isprintable() else repr(c)[1:-1] for c in cut)
    return safe + ("…" if len(text) > EXCERPT_CHARS else "")


class _SeenNumbers:
    """An exact set of E.164 numbers held as integers (``int("+1…")``) in one flat array.

    A Python ``set`` of 10 million ints needs ~860 MB; this open-addressing table with linear
    probing needs 8 bytes a slot, at most 60 % full. Its per-row Python loop (~1–2 µs a row)
    is why ``detect_duplicates`` is a choice.
    """

    _MAX_LOAD: Final = 0.6
    _MIN_BITS: Final = 16

    def __init__(self, expected: int = 0) -> None:
        bits = self._MIN_BITS
        while (1 << bits) * self._MAX_LOAD < expected:
            bits += 1
        self._allocate(bits)

    def _allocate(self, bits: int) -> None:
        self._bits = bits
        self._mask = (1 << bits) - 1
        self._table = array("q", bytes(8 << bits))
        self._limit = int((1 << bits) * self._MAX_LOAD)
        self._count = 0

    def _grow(self) -> None:
        old, count = self._table, self._count
        self._allocate(self._bits + 1)
        # Iterate the old array itself: a list of its keys would double the peak memory.
        self._insert(key for key in old if key)
        self._count = count

    def _insert(self, keys: Iterable[int]) -> list[int]:
        """Insert ``keys``; return the positions of those already present."""
        table, mask = self._table, self._mask
        repeated: list[int] = []
        for position, key in enumerate(keys):
            # Multiply-shift mixes the digits, so sequential or strided numbers spread out.
            slot = ((key * 0x9E3779B1) >> 16) & mask
            held = table[slot]
            while held:
                if held == key:
                    repeated.append(position)
                    break
                slot = (slot + 1) & mask
                held = table[slot]
            else:
                table[slot] = key
        return repeated

    def add_all(self, keys: list[int]) -> list[int]:
        """Add ``keys`` (all > 0); return the positions of those already present."""
        while self._count + len(keys) > self._limit:
            self._grow()
        repeated = self._insert(keys)
        self._count += len(keys) - len(repeated)
        return repeated


def _header_problem(line: str) -> str | None:
    """Why the first line is not the ``phone numbers`` header, or None."""
    text = line.removeprefix(_UTF8_BOM).strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1]
    if _SPACES.sub(" ", text.strip()).casefold() == HEADER:
        return None
    problem = f"line 1: the header must be '{HEADER}', found '{excerpt(line.strip())}'"
    if is_e164(text):
        return problem + f" (add the line '{HEADER}' above the first number)"
    if "," in text or ";" in text or "\t" in text:
        return problem + f" (the file must have exactly one column, '{HEADER}')"
    return problem


def _row_problem(text: str) -> str:
    if "," in text or ";" in text or "\t" in text:
        return f"more than one column (the file has only '{HEADER}')"
    reason = phone_number_problem(text)
    assert reason is not None, "only called for rows that are not E.164"
    return reason


class SubscriberCsv:
    """One streaming parse of a subscriber CSV; iterate it once for batches of E.164 numbers.

    >>> parse = parse_subscribers([b"phone numbers\\n+12025550123\\n"], detect_duplicates=True)
    >>> [(b.numbers, b.lines) for b in parse], parse.report.valid
    ([(['+12025550123'], [2])], 1)

    Batches hold at most ``batch_size`` valid numbers in file order with their line numbers
    (distinct when ``detect_duplicates``). When ``report.fatal`` is set, iteration stops early
    and the batches already yielded must be discarded: the file as a whole is refused.
    """

    def __init__(
        self,
        source: Iterable[bytes] | Readable,
        *,
        detect_duplicates: bool,
        batch_size: int = DEFAULT_BATCH_SIZE,
        expected_rows: int = 0,
        max_listed: int = MAX_LISTED,
        read_size: int = READ_SIZE,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.report = CsvReport()
        self._source = source
        self._batch_size = batch_size
        self._max_listed = max_listed
        self._read_size = read_size
        self._seen = _SeenNumbers(min(expected_rows, MAX_ROWS)) if detect_duplicates else None
        self._numbers: list[str] = []
        self._lines: list[int] = []
        self._started = False
        self._ending: LineEnding = "\n"
        self._overlong = False  # inside a line longer than MAX_LINE_CHARS, skipping it
        self._overlong_text = ""

    def __iter__(self) -> Iterator[SubscriberBatch]:
        if self._started:
            raise RuntimeError("a SubscriberCsv can be iterated only once")
        self._started = True
        return self._batches()

    # -- bytes to text -------------------------------------------------------------------

    def _chunks(self) -> Iterator[bytes]:
        source = self._source
        if isinstance(source, Readable):
            # Checked first: a binary file is also an iterable, but of lines, which is slow.
            while chunk := source.read(self._read_size):
                yield chunk
        else:
            yield from source

    def _fail(self, reason: str) -> None:
        if self.report.fatal is None:
            self.report.fatal = reason

    def _texts(self) -> Iterator[str]:
        """Decoded text; sets ``report.fatal`` and stops on anything that is not UTF-8 text."""
        decoder = codecs.getincrementaldecoder("utf-8")("strict")
        newlines = 0  # b"\n" seen before the current chunk, to name lines in errors
        first = True
        for chunk in self._chunks():
            offset = self.report.bytes_read
            self.report.bytes_read += len(chunk)
            if first and chunk:
                first = False
                if wide := next((name for bom, name in _WIDE_BOMS if chunk.startswith(bom)), None):
                    self._fail(f"the file is {wide}-encoded (byte order mark); save it as UTF-8")
                    return
            if (nul := chunk.find(b"\0")) >= 0:
                line = newlines + chunk.count(b"\n", 0, nul) + 1
                self._fail(
                    f"binary data (or UTF-16), not a UTF-8 text file: NUL byte at line {line} "
                    f"(byte offset {offset + nul})"
                )
                return
            buffered = len(decoder.getstate()[0])
            try:
                text = decoder.decode(chunk)
            except UnicodeDecodeError as error:
                at = max(0, error.start - buffered)
                line = newlines + chunk.count(b"\n", 0, at) + 1
                self._fail(
                    f"the file is not UTF-8: invalid byte 0x{chunk[at]:02X} at line {line} "
                    f"(byte offset {offset + at}); save it as UTF-8"
                )
                return
            newlines += chunk.count(b"\n")
            if text:
                yield text
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            self._fail("the file ends inside a UTF-8 character: the upload looks truncated")

    # -- text to lines -------------------------------------------------------------------

    def _batches(self) -> Iterator[SubscriberBatch]:
        pending = ""
        header_done = False
        for piece in self._texts():
            if self._ending == "\r":
                piece = piece.replace("\r", "\n")
            if self._overlong:
                piece = self._skip_overlong(piece)
                if self._overlong:
                    continue
            text = pending + piece
            if not header_done:
                header_end = self._read_header(text, final=False)
                if header_end is None:
                    pending = text
                    if self.report.fatal:
                        return
                    continue
                header_done = True
                text = text[header_end:]
                if self._ending == "\r":
                    text = text.replace("\r", "\n")
            cut = text.rfind("\n")
            if cut < 0:
                pending = self._hold(text)
                continue
            pending = self._hold(text[cut + 1 :])
            self._read_lines(text[: cut + 1])
            yield from self._full_batches()
        if self.report.fatal:
            return
        yield from self._finish(pending, header_done)

    def _finish(self, pending: str, header_done: bool) -> Iterator[SubscriberBatch]:
        if not header_done:
            if not pending:
                self._fail(f"the file is empty: expected the header line '{HEADER}'")
                return
            if self._read_header(pending, final=True) is None:
                return
            pending = ""
        if self._overlong:
            self._end_overlong(final=True)
        elif pending:
            self.report.missing_final_newline = True
            self._read_line(pending, final=True)
        yield from self._full_batches()
        if self._numbers:
            yield SubscriberBatch(self._numbers, self._lines)
            self._numbers, self._lines = [], []

    def _read_header(self, text: str, *, final: bool) -> int | None:
        """Validate the header; return where the data starts, or None (need more / fatal)."""
        breaks = [i for i in (text.find("\n"), text.find("\r")) if i >= 0]
        end = min(breaks) if breaks else len(text)
        if not breaks and not final:
            if len(text) > MAX_HEADER_CHARS:
                self._fail(f"line 1 is not the header '{HEADER}' (no line break in it)")
            return None
        if end < len(text) and text[end] == "\r":
            if end + 1 == len(text) and not final:
                return None  # "\r" or "\r\n"? the next piece says
            self._ending = "\r\n" if text.startswith("\n", end + 1) else "\r"
        problem = _header_problem(text[:end])
        if problem is not None:
            self._fail(problem)
            return None
        return min(len(text), end + len(self._ending))

    def _hold(self, partial: str) -> str:
        """Keep a partial line for the next piece, unless it is already too long to be a row."""
        if len(partial) <= MAX_LINE_CHARS:
            return partial
        self._overlong = True
        self._overlong_text = partial[: EXCERPT_CHARS + 1]
        return ""

    def _skip_overlong(self, piece: str) -> str:
        cut = piece.find("\n")
        if cut < 0:
            return ""
        self._end_overlong(final=False)
        return piece[cut + 1 :]

    def _end_overlong(self, *, final: bool) -> None:
        self._overlong = False
        self.report.lines += 1
        suffix = "; the file ends inside it" if final else ""
        self._invalid(f"line longer than {MAX_LINE_CHARS} characters{suffix}", self._overlong_text)

    def _read_lines(self, body: str) -> None:
        """Read complete lines (``body`` ends with a line break)."""
        run = _RUN_CRLF if self._ending == "\r\n" else _RUN_LF
        separator = "\r\n" if self._ending == "\r\n" else "\n"
        position, size = 0, len(body)
        while position < size:
            matched = run.match(body, position)
            end = matched.end() if matched else position
            if end > position:
                numbers = body[position:end].split(separator)
                numbers.pop()  # the empty string after the last separator
                self._accept(numbers)
                position = end
            if position < size:
                line_end = body.index("\n", position)
                self._read_line(body[position:line_end], final=False)
                position = line_end + 1

    def _read_line(self, raw: str, *, final: bool) -> None:
        """The slow path: one line the fast regex did not take."""
        if len(raw) > MAX_LINE_CHARS:
            self.report.lines += 1
            self._invalid(f"line longer than {MAX_LINE_CHARS} characters", raw)
            return
        text = raw.strip()
        if len(text) >= 2 and text[0] == text[-1] == '"':
            text = text[1:-1].strip()
        if not text:
            self.report.lines += 1
            self.report.blank += 1
        elif is_e164(text):
            self._accept([text])
        else:
            self.report.lines += 1
            self._invalid_row(text, final)

    def _invalid_row(self, text: str, final: bool) -> None:
        if len(self.report.errors) >= self._max_listed:
            self.report.invalid += 1  # past the listed ones only the count matters: skip the why
            return
        reason = _row_problem(text)
        if final:
            reason += " (the last line has no line break: the upload may be truncated)"
        self._invalid(reason, text)

    def _invalid(self, reason: str, raw: str) -> None:
        report = self.report
        report.invalid += 1
        if len(report.errors) < self._max_listed:
            report.errors.append(RowError(report.lines + 1, reason, excerpt(raw)))

    # -- valid numbers -------------------------------------------------------------------

    def _accept(self, numbers: list[str]) -> None:
        report = self.report
        first_line = report.lines + 2  # line 1 is the header
        report.lines += len(numbers)
        lines: Sequence[int] = range(first_line, first_line + len(numbers))
        if self._seen is not None:
            repeated = self._seen.add_all(list(map(int, numbers)))
            if repeated:
                self._list_duplicates(numbers, repeated, first_line)
                skip = set(repeated)
                numbers = [n for i, n in enumerate(numbers) if i not in skip]
                lines = [line for i, line in enumerate(lines) if i not in skip]
        report.valid += len(numbers)
        self._numbers.extend(numbers)
        self._lines.extend(lines)

    def _list_duplicates(self, numbers: list[str], repeated: list[int], first: int) -> None:
        report = self.report
        report.duplicates += len(repeated)
        room = max(0, self._max_listed - len(report.duplicate_rows))
        report.duplicate_rows.extend(
            RowError(first + i, DUPLICATE_REASON, numbers[i]) for i in repeated[:room]
        )

    def _full_batches(self) -> Iterator[SubscriberBatch]:
        size = self._batch_size
        if len(self._numbers) < size:
            return
        numbers, lines = self._numbers, self._lines
        full = len(numbers) - len(numbers) % size
        for start in range(0, full, size):
            yield SubscriberBatch(numbers[start : start + size], lines[start : start + size])
        self._numbers, self._lines = numbers[full:], lines[full:]


def parse_subscribers(
    source: Iterable[bytes] | Readable,
    *,
    detect_duplicates: bool,
    batch_size: int = DEFAULT_BATCH_SIZE,
    expected_rows: int = 0,
    max_listed: int = MAX_LISTED,
) -> SubscriberCsv:
    """Start a streaming parse of ``source`` (bytes chunks or a binary file object).

    Iterate the result for batches of valid E.164 numbers; read ``.report`` afterwards.
    Never raises on the file's content: every problem ends up in the report.
    ``detect_duplicates`` has no default on purpose: True costs time and memory at 10 million
    rows, False leaves the repeats to the store (see the module doc). ``expected_rows``
    (e.g. file size // 13) presizes the duplicate table, saving its regrowth.
    """
    return SubscriberCsv(
        source,
        batch_size=batch_size,
        detect_duplicates=detect_duplicates,
        expected_rows=expected_rows,
        max_listed=max_listed,
    )


_SYNTHETIC_SPACE: Final = 8_000_000_000  # +1 2000000000 … +1 9999999999
_SYNTHETIC_STRIDE: Final = 2_654_435_761  # coprime with the space: i ↦ number is one-to-one
_SYNTHETIC_LINES_PER_CHUNK: Final = 65_536


def synthetic_subscriber_csv(rows: int, *, seed: int = 0) -> Iterator[bytes]:
    """Chunks of a valid subscriber CSV: the header, then ``rows`` distinct +1 numbers.

    Deterministic for a seed, generated on the fly (no memory growth), for benchmarks:
    ``for chunk in synthetic_subscriber_csv(10_000_000): out.write(chunk)``.
    """
    if rows > _SYNTHETIC_SPACE:
        raise ValueError(f"at most {_SYNTHETIC_SPACE} distinct synthetic numbers")
    yield (HEADER + "\n").encode()
    offset = (seed * 7_919_000_003) % _SYNTHETIC_SPACE
    space, stride, base = _SYNTHETIC_SPACE, _SYNTHETIC_STRIDE, 2_000_000_000
    for start in range(0, rows, _SYNTHETIC_LINES_PER_CHUNK):
        stop = min(rows, start + _SYNTHETIC_LINES_PER_CHUNK)
        lines = [f"+1{base + (i * stride + offset) % space}\n" for i in range(start, stop)]
        yield "".join(lines).encode()
