"""textwire.contacts.csvimport: the streamed contacts CSV parser (F-CONTACT-2)."""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as st

from textwire.consent.identifiers import Identifier
from textwire.contacts.csvimport import ContactCsv, ContactRow
from textwire.contacts.fields import FieldType

DECLARED: dict[str, FieldType] = {"score": "number", "vip": "boolean"}


def parse(text: str | bytes, batch_rows: int = 1_000) -> tuple[list[list[ContactRow]], ContactCsv]:
    data = text.encode() if isinstance(text, str) else text
    parser = ContactCsv(io.BytesIO(data), DECLARED, batch_rows=batch_rows)
    return list(parser), parser


def test_rows_carry_identifiers_own_values_fields_and_line_numbers() -> None:
    batches, p = parse(
        "phone,EMAIL , score,vip,time_zone,language,friendly_name\n"
        '+12125550123,,"7",,,en,"Ada\nLovelace"\n'
        "\n"
        ",A@Example.com,,yes,Europe/Paris,,\n"
    )
    rows = [r for b in batches for r in b]
    assert [r.line for r in rows] == [2, 5]  # a quoted line break spans lines 2-3
    assert rows[0].identifiers == (Identifier("phoneNumber", "+12125550123"),)
    assert rows[0].fields == {"score": 7} and rows[0].language == "en"
    assert rows[0].friendly_name == "Ada\nLovelace"
    assert rows[1].identifiers[0].type == "email" and rows[1].fields == {"vip": True}
    assert rows[1].time_zone == "Europe/Paris"
    assert (p.report.lines, p.report.valid, p.report.blank, p.report.invalid) == (3, 2, 1, 0)


def test_bad_rows_are_listed_with_line_and_column() -> None:
    _batches, p = parse("phone,score\n+12125550123,x\n+1212,1\n,2\n+12125550123\n")
    assert [(e.line, e.reason.split(":")[0]) for e in p.report.errors] == [
        (2, "score"),
        (3, "phone"),
        (4, "no identifier"),
        (5, "1 cells, the header has 2"),
    ]
    assert p.report.invalid == 4 and p.report.valid == 0


def test_the_file_is_refused_for_a_bad_header_or_encoding() -> None:
    for text, fatal in [
        (b"phone,nickname\n", "unknown column 'nickname'"),
        (b"score\n1\n", "no identifier column"),
        (b"phone,Phone\n", "appears twice"),
        (b"", "empty"),
        (b"phone\n+12125550123\n\xff\xfe\n", "not UTF-8"),
        (b'phone\n"+12125550123\n', "line"),
    ]:
        _batches, p = parse(text)
        assert p.report.fatal is not None and fatal in p.report.fatal, (text, p.report.fatal)


def test_an_exported_inferred_zone_is_not_taken_as_explicit() -> None:
    batches, _p = parse(
        "sid,phone,time_zone,time_zone_source\n"
        "CTx,+12125550123,America/New_York,number\n"
        "CTy,+12125550124,Asia/Tokyo,explicit\n"
    )
    assert [r.time_zone for r in batches[0]] == [None, "Asia/Tokyo"]


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=0, max_value=50), st.integers(min_value=1, max_value=7))
def test_batches_hold_every_valid_row_once_in_order(rows: int, batch: int) -> None:
    body = "phone,score\n" + "".join(f"+1212555{i:04d},{i}\n" for i in range(rows))
    batches, p = parse(body, batch_rows=batch)
    assert all(len(b) <= batch for b in batches)
    flat = [r for b in batches for r in b]
    assert [r.fields["score"] for r in flat] == list(range(rows))
    assert [r.line for r in flat] == list(range(2, rows + 2))
    assert p.report.bytes_read == len(body)
