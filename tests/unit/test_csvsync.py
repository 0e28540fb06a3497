"""Tests for textwire.consent.csvsync: the streaming subscriber CSV parser (F-CONSENT-4)."""

from __future__ import annotations

import io
import itertools
import os
import tracemalloc
from collections.abc import Iterable, Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from textwire.consent.csvsync import (
    DUPLICATE_REASON,
    MAX_LINE_CHARS,
    CsvReport,
    SubscriberBatch,
    SubscriberCsv,
    excerpt,
    parse_subscribers,
    synthetic_subscriber_csv,
)
from textwire.consent.identifiers import is_e164

US1, US2, US3 = "+12025550123", "+12025550124", "+12025550125"
UK = "+447700900123"


def parse(
    data: bytes | Iterable[bytes], **options: object
) -> tuple[list[SubscriberBatch], CsvReport]:
    source = [data] if isinstance(data, bytes) else data
    options.setdefault("detect_duplicates", True)
    parser = parse_subscribers(source, **options)  # type: ignore[arg-type]
    return list(parser), parser.report


def numbers_of(batches: list[SubscriberBatch]) -> list[str]:
    return [n for batch in batches for n in batch.numbers]


def lines_of(batches: list[SubscriberBatch]) -> list[int]:
    return [line for batch in batches for line in batch.lines]


def assert_accounted(report: CsvReport) -> None:
    """Every line after the header is exactly one of valid, duplicate, invalid, blank."""
    assert report.valid + report.duplicates + report.invalid + report.blank == report.lines


# --- the happy path ------------------------------------------------------------------------


def test_valid_file_yields_numbers_with_line_numbers() -> None:
    """F-CONSENT-4: header `phone numbers`, one E.164 number a row."""
    batches, report = parse(f"phone numbers\n{US1}\n{UK}\n{US2}\n".encode())
    assert numbers_of(batches) == [US1, UK, US2]
    assert lines_of(batches) == [2, 3, 4]
    assert (report.lines, report.valid, report.invalid, report.blank) == (3, 3, 0, 0)
    assert report.ok and report.clean and not report.missing_final_newline
    assert report.bytes_read == len(f"phone numbers\n{US1}\n{UK}\n{US2}\n")


@pytest.mark.parametrize(
    "header",
    [
        b"phone numbers",
        b"Phone Numbers",
        b"PHONE NUMBERS",
        b"  phone numbers  ",
        b"phone   numbers",
        b'"phone numbers"',
        b"\xef\xbb\xbfphone numbers",  # UTF-8 byte order mark, as Excel writes it
        b'\xef\xbb\xbf"Phone Numbers" ',
    ],
)
def test_tolerated_header_forms(header: bytes) -> None:
    batches, report = parse(header + f"\n{US1}\n".encode())
    assert report.ok, report.fatal
    assert numbers_of(batches) == [US1]


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b"\r"])
def test_line_endings(ending: bytes) -> None:
    data = ending.join([b"phone numbers", US1.encode(), b"", US2.encode(), b""])
    batches, report = parse(data)
    assert report.ok, report.fatal
    assert numbers_of(batches) == [US1, US2]
    assert lines_of(batches) == [2, 4]
    assert report.blank == 1


def test_rows_are_trimmed_and_unquoted() -> None:
    batches, report = parse(f'phone numbers\n  {US1}\t\n"{US2}"\n " {US3} " \n'.encode())
    assert numbers_of(batches) == [US1, US2, US3]
    assert report.clean


def test_header_only_is_an_empty_list() -> None:
    for data in (b"phone numbers", b"phone numbers\n", b"phone numbers\r\n"):
        batches, report = parse(data)
        assert batches == [] and report.ok and report.lines == 0


# --- bad rows (issue 6 "Bad input") --------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("12025550123", "missing '+'"),
        ("+1 202 555 0123", "digits only"),
        ("+1-202-555-0123", "digits only"),
        ("+120255501", "wrong length for +1 (US)"),
        ("+999123456789", "unknown country calling code"),
        ("+0123456789", "never start with 0"),
        ("+1234567890123456", "at most 15 digits"),
        (f"{US1},Alice", "more than one column"),
        (f"{US1};Alice", "more than one column"),
        ("hello", "not an E.164 phone number"),
        ("+1202555\x010123", "digits only"),
    ],
)
def test_invalid_rows_are_reported_with_line_and_reason(row: str, reason: str) -> None:
    """F-CONSENT-4: bad rows are reported with their line numbers, never silently dropped."""
    batches, report = parse(f"phone numbers\n{US1}\n{row}\n{US2}\n".encode())
    assert numbers_of(batches) == [US1, US2]
    assert report.invalid == 1 and not report.clean and report.ok
    [error] = report.errors
    assert error.line == 3
    assert reason in error.reason
    assert_accounted(report)


def test_blank_lines_are_skipped_and_counted() -> None:
    batches, report = parse(f"phone numbers\n\n{US1}\n   \n\t\n\n{US2}\n\n".encode())
    assert numbers_of(batches) == [US1, US2]
    assert lines_of(batches) == [3, 7]
    assert report.blank == 5 and report.clean
    assert_accounted(report)


def test_duplicates_are_counted_listed_and_yielded_once() -> None:
    data = f"phone numbers\n{US1}\n{US2}\n{US1}\n\n{US2}\n{US1}\n".encode()
    batches, report = parse(data)
    assert numbers_of(batches) == [US1, US2]
    assert (report.valid, report.duplicates) == (2, 3)
    assert [(d.line, d.text, d.reason) for d in report.duplicate_rows] == [
        (4, US1, DUPLICATE_REASON),
        (6, US2, DUPLICATE_REASON),
        (7, US1, DUPLICATE_REASON),
    ]
    assert report.clean  # duplicates are harmless: --strict is about invalid rows
    assert_accounted(report)


def test_duplicates_left_to_the_store() -> None:
    """With detection off, duplicates are yielded and the store records what it finds."""
    batches, report = parse(f"phone numbers\n{US1}\n{US1}\n".encode(), detect_duplicates=False)
    assert numbers_of(batches) == [US1, US1] and report.valid == 2
    report.record_duplicate(3, US1)
    assert (report.valid, report.duplicates) == (1, 1)
    assert report.duplicate_rows[0].line == 3
    assert_accounted(report)


def test_only_the_first_rows_are_listed_but_all_are_counted() -> None:
    rows = "\n".join(["phone numbers", *(["bad"] * 25), *([US1] * 30)]) + "\n"
    batches, report = parse(rows.encode(), max_listed=10)
    assert (report.invalid, len(report.errors)) == (25, 10)
    assert [e.line for e in report.errors] == list(range(2, 12))
    assert (report.duplicates, len(report.duplicate_rows)) == (29, 10)
    assert numbers_of(batches) == [US1]
    assert_accounted(report)


def test_over_long_lines_are_invalid_not_buffered() -> None:
    chunks = [f"phone numbers\n{US1}\n".encode(), b"x" * 300, b"y" * 5000, f"\n{US2}\n".encode()]
    batches, report = parse(chunks)
    assert numbers_of(batches) == [US1, US2]
    [error] = report.errors
    assert error.line == 3 and f"longer than {MAX_LINE_CHARS}" in error.reason
    assert error.text.startswith("xxxx") and error.text.endswith("…")
    assert_accounted(report)


def test_file_ending_inside_an_over_long_line() -> None:
    batches, report = parse([b"phone numbers\n", b"9" * 1000])
    assert batches == [] and report.invalid == 1
    assert "the file ends inside it" in report.errors[0].reason


# --- truncation ----------------------------------------------------------------------------


def test_last_line_without_line_break_is_read() -> None:
    batches, report = parse(f"phone numbers\n{US1}\n{US2}".encode())
    assert numbers_of(batches) == [US1, US2]
    assert report.missing_final_newline and report.clean


def test_truncated_last_number_is_reported_as_possible_truncation() -> None:
    batches, report = parse(f"phone numbers\n{US1}\n+1202555".encode())
    assert numbers_of(batches) == [US1]
    [error] = report.errors
    assert error.line == 3 and "upload may be truncated" in error.reason


def test_file_cut_inside_a_utf8_character_is_refused() -> None:
    _, report = parse(f"phone numbers\n{US1}\n".encode() + "é".encode()[:1])
    assert not report.ok
    assert report.fatal is not None and "truncated" in report.fatal


# --- whole-file refusals -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "fatal"),
    [
        (b"", "the file is empty"),
        (b"numbers\n+12025550123\n", "the header must be 'phone numbers', found 'numbers'"),
        (b"phone number\n", "found 'phone number'"),
        (b"+12025550123\n+12025550124\n", "add the line 'phone numbers' above"),
        (b"phone numbers,name\n", "exactly one column"),
        (b"phone numbers\x00\n", "NUL byte at line 1"),
        (b"phone numbers\n+12025550123\n\x00\x01\x02", "NUL byte at line 3 (byte offset 27)"),
        ("phone numbers\n".encode("utf-16"), "UTF-16-encoded"),
        ("phone numbers\n".encode("utf-32"), "UTF-32-encoded"),
        ("phone numbers\nJosé\n".encode("latin-1"), "not UTF-8: invalid byte 0xE9 at line 2"),
        (b"x" * 5000, "line 1 is not the header"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "NUL byte"),
        (b"%PDF-1.7\n\xe2\xe3\xcf\xd3\n", "not UTF-8"),
    ],
)
def test_unreadable_files_are_refused_with_a_reason(data: bytes, fatal: str) -> None:
    """Bad input: wrong header, another encoding, binary: a clear report, nothing applied."""
    _, report = parse(data)
    assert not report.ok and not report.clean
    assert report.fatal is not None and fatal in report.fatal


def test_garbage_is_refused_after_the_first_chunk() -> None:
    """50 MB of garbage: refused early, the rest of the stream is never read."""
    read: list[int] = []

    def garbage() -> Iterator[bytes]:
        for index in range(50):
            read.append(index)
            yield b"phone numbers\n" + os.urandom(1 << 20) if index == 0 else os.urandom(1 << 20)

    batches, report = parse(garbage())
    assert batches == [] and not report.ok
    assert read == [0]


def test_fatal_error_stops_the_batches() -> None:
    data = f"phone numbers\n{US1}\n".encode() * 1 + b"\xff\n"
    batches, report = parse(data)
    assert batches == [] and not report.ok


# --- streaming -----------------------------------------------------------------------------


def test_a_binary_file_object_is_read_in_chunks() -> None:
    data = "phone numbers\n" + "".join(f"+1202555{i:04d}\n" for i in range(3000))
    # Small reads, so lines straddle the chunk boundaries.
    source = io.BytesIO(data.encode())
    batches = list(SubscriberCsv(source, detect_duplicates=True, batch_size=1000, read_size=1000))
    assert [len(b) for b in batches] == [1000, 1000, 1000]
    assert numbers_of(batches)[-1] == "+12025552999"
    assert lines_of(batches) == list(range(2, 3002))


def test_a_parser_is_iterated_once() -> None:
    parser = parse_subscribers([b"phone numbers\n"], detect_duplicates=False)
    list(parser)
    with pytest.raises(RuntimeError):
        iter(parser)


def test_batch_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        parse_subscribers([b""], detect_duplicates=True, batch_size=0)


def _peak_bytes(run: Iterator[object]) -> int:
    tracemalloc.start()
    try:
        for _ in run:
            pass
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_stays_flat_in_the_file_size() -> None:
    """F-CONSENT-4 (issue 6 item 4): streamed, not loaded; 4x the rows, same peak."""
    chunk = "".join(f"+1202555{i:04d}\n" for i in range(2_000)).encode()

    def peak(chunks: int) -> int:
        source = itertools.chain([b"phone numbers\n"], itertools.repeat(chunk, chunks))
        return _peak_bytes(iter(parse_subscribers(source, detect_duplicates=False)))

    # Both runs are many chunks long: the peak is set by the chunk, not by the file.
    small, large = peak(10), peak(40)
    assert large < small * 1.25


def test_a_file_without_line_breaks_does_not_grow_memory() -> None:
    def endless() -> Iterator[bytes]:
        yield b"phone numbers\n+"
        for _ in range(40):
            yield b"1" * (1 << 19)

    parser = parse_subscribers(endless(), detect_duplicates=True)
    assert _peak_bytes(iter(parser)) < 4 << 20
    assert parser.report.invalid == 1


# --- the synthetic benchmark file ----------------------------------------------------------


def test_synthetic_file_is_valid_distinct_and_deterministic() -> None:
    data = b"".join(synthetic_subscriber_csv(70_000, seed=3))
    assert data == b"".join(synthetic_subscriber_csv(70_000, seed=3))
    assert data != b"".join(synthetic_subscriber_csv(70_000, seed=4))
    lines = data.decode().splitlines()
    assert lines[0] == "phone numbers" and len(lines) == 70_001
    assert len(set(lines[1:])) == 70_000
    assert all(is_e164(line) for line in lines[1:])
    _, report = parse(data)
    assert report.clean and report.valid == 70_000 and report.duplicates == 0


# --- properties ----------------------------------------------------------------------------


@given(st.binary(max_size=400))
def test_never_raises_on_arbitrary_bytes_and_accounts_for_every_line(data: bytes) -> None:
    batches, report = parse(b"phone numbers\n" + data)
    assert_accounted(report)
    assert all(is_e164(n) for n in numbers_of(batches))
    assert len(numbers_of(batches)) == report.valid


@given(st.binary(max_size=200))
def test_never_raises_on_arbitrary_files(data: bytes) -> None:
    _, report = parse(data)
    assert_accounted(report)
    assert report.fatal is None or report.fatal.strip()


valid_rows = st.sampled_from([US1, US2, US3, UK, "+33612345678", "+2901234", f'"{US1}"'])
invalid_rows = st.sampled_from(["12025550123", "+1 202", "abc", "+99912345", "+", "x,y", "\x07"])
blank_rows = st.sampled_from(["", " ", "\t", "  \t "])


@st.composite
def csv_files(draw: st.DrawFn) -> tuple[list[tuple[str, str]], str]:
    kinds = draw(st.lists(st.sampled_from(["valid", "invalid", "blank"]), max_size=40))
    pools = {"valid": valid_rows, "invalid": invalid_rows, "blank": blank_rows}
    lines = [(kind, draw(pools[kind])) for kind in kinds]
    ending = draw(st.sampled_from(["\n", "\r\n"]))
    return lines, ending


@given(csv_files(), st.data())
def test_counts_and_numbers_match_a_simple_model(
    file: tuple[list[tuple[str, str]], str], data: st.DataObject
) -> None:
    """valid + duplicates + invalid + blank = data lines, in any chunking of the bytes."""
    lines, ending = file
    raw = ending.join(["phone numbers", *(text for _, text in lines)]) + ending
    encoded = raw.encode()
    cuts = sorted(data.draw(st.lists(st.integers(0, len(encoded)), max_size=6)))
    chunks = [encoded[a:b] for a, b in itertools.pairwise([0, *cuts, len(encoded)])]
    detect = data.draw(st.booleans(), label="detect_duplicates")
    batch_size = data.draw(st.integers(1, 7), label="batch_size")
    batches, report = parse(chunks, batch_size=batch_size, detect_duplicates=detect)

    expected: list[str] = []
    expected_lines: list[int] = []
    for line_no, (kind, text) in enumerate(lines, start=2):
        number = text.strip('"')
        if kind == "valid" and (not detect or number not in expected):
            expected.append(number)
            expected_lines.append(line_no)
    valid_rows_total = sum(1 for kind, _ in lines if kind == "valid")
    assert numbers_of(batches) == expected
    assert lines_of(batches) == expected_lines
    assert report.valid == len(expected)
    assert report.duplicates == valid_rows_total - len(expected)
    assert report.invalid == sum(1 for kind, _ in lines if kind == "invalid")
    assert report.blank == sum(1 for kind, _ in lines if kind == "blank")
    assert report.lines == len(lines)
    assert [e.line for e in report.errors] == [
        n for n, (kind, _) in enumerate(lines, start=2) if kind == "invalid"
    ]
    assert all(len(b) <= batch_size for b in batches)


@given(st.text(max_size=60))
def test_excerpts_are_terminal_safe(text: str) -> None:
    shown = excerpt(text)
    assert all(c.isprintable() for c in shown)
    assert len(shown) <= 10 * 40 + 1  # at worst every character shown as \U0001xxxx
