"""The SMPP connector's own submit_sm encoder agrees byte for byte with smpplib's, and its
concatenation, address and receipt helpers follow SMPP 3.4 and TS 23.040."""

from __future__ import annotations

import pytest
from smpplib import smpp as smpp_codec

from textwire import segments
from textwire.providers.smpp import (
    Part,
    _Sequences,
    address,
    build_parts,
    decode_text,
    encode_submit_sm,
    receipt_from_pdu,
    split_udh,
)

PARTS = [
    Part(b"hello", 0, 0, None),
    Part(segments.encode_ucs2("Привет 👋"), 0, 8, None),
    Part(b"\x05\x00\x03\x2a\x02\x01" + b"x" * 153, 0x40, 0, None),
    Part(b"y" * 140, 0, 8, (513, 3, 2)),
    Part(b"", 0, 0, None),
]


@pytest.mark.parametrize("part", PARTS)
@pytest.mark.parametrize("registered", [0, 1])
def test_encoder_matches_smpplib(part: Part, registered: int) -> None:
    source, dest = ("TEXTWIRE", 5, 0), ("447700900123", 1, 1)
    fields = {
        "service_type": "CMT",
        "source_addr": source[0],
        "source_addr_ton": source[1],
        "source_addr_npi": source[2],
        "destination_addr": dest[0],
        "dest_addr_ton": dest[1],
        "dest_addr_npi": dest[2],
        "esm_class": part.esm_class,
        "data_coding": part.data_coding,
        "registered_delivery": registered,
        "short_message": part.short_message,
    }
    if part.sar:
        ref, total, seq = part.sar
        fields.update(sar_msg_ref_num=ref, sar_total_segments=total, sar_segment_seqnum=seq)
    expected = smpp_codec.make_pdu("submit_sm", client=_Sequences(), **fields)
    expected.sequence = 77
    mine = encode_submit_sm(77, "CMT", source, dest, part, registered_delivery=registered)
    assert mine == expected.generate()
    parsed = smpp_codec.parse_pdu(mine, client=_Sequences(), allow_unknown_opt_params=True)
    assert parsed.short_message == (part.short_message or None)


def test_long_gsm7_parts_carry_an_8_bit_reference_header() -> None:
    text = "a" * 300
    parts = build_parts(text, 200, sar=False)
    assert [p.short_message[:6] for p in parts] == [
        bytes((5, 0, 3, 200, 2, 1)),
        bytes((5, 0, 3, 200, 2, 2)),
    ]
    assert all(p.esm_class == 0x40 and p.data_coding == 0 for p in parts)
    assert b"".join(p.short_message[6:] for p in parts) == segments.encode_gsm7(text)


def test_ucs2_single_part_has_no_header() -> None:
    (part,) = build_parts("日本語", 1, sar=False)
    assert part == Part("日本語".encode("utf-16-be"), 0, 8, None)


def test_addresses() -> None:
    assert address("+14155550100", None, None) == ("14155550100", 1, 1)
    assert address("TEXTWIRE", None, None) == ("TEXTWIRE", 5, 0)
    assert address("12345", None, None) == ("12345", 3, 0)
    assert address("+14155550100", 0, 9) == ("14155550100", 0, 9)


def test_udh_and_text_decoding() -> None:
    assert split_udh(bytes((5, 0, 3, 7, 3, 2)) + b"rest") == (b"rest", (7, 3, 2))
    assert split_udh(bytes((6, 8, 4, 1, 2, 3, 1)) + b"r") == (b"r", (258, 3, 1))
    assert decode_text(segments.encode_gsm7("Ä @ {x}"), 0) == "Ä @ {x}"
    assert decode_text("Ω".encode("utf-16-be"), 8) == "Ω"
    assert decode_text("é".encode("latin-1"), 3) == "é"


class _Pdu:
    def __init__(self, text: bytes, **extra: object):
        self.short_message = text
        self.message_payload = None
        self.receipted_message_id = extra.get("receipted_message_id")
        self.message_state = extra.get("message_state")


def test_receipts() -> None:
    text = (
        b"id:M1 sub:001 dlvrd:001 submit date:2611220500 done date:2611220500 "
        b"stat:DELIVRD err:000 text:"
    )
    rc = receipt_from_pdu(_Pdu(text))
    assert rc is not None and (rc.status, rc.provider_ref, rc.error_code) == (
        "delivered",
        "M1",
        None,
    )
    rc = receipt_from_pdu(_Pdu(text.replace(b"DELIVRD", b"EXPIRED").replace(b"000", b"027")))
    assert rc is not None and (rc.status, rc.error_code) == ("undelivered", 30036)
    assert rc.error_message == "SMSC stat:EXPIRED err:027"
    rc = receipt_from_pdu(_Pdu(b"", receipted_message_id=b"abc", message_state=5))
    assert rc is not None and (rc.status, rc.provider_ref) == ("undelivered", "abc")
    assert receipt_from_pdu(_Pdu(b"id:M2 stat:ENROUTE")) is None
    assert receipt_from_pdu(_Pdu(b"hello")) is None
