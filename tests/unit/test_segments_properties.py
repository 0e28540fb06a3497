"""Property-based tests of textwire.segments (F-ENC-1..3, F-SVC-7) with hypothesis."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from textwire.segments import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    NATIONAL_SHIFTS,
    SMART_ENCODING_MAP,
    NationalShift,
    SegmentInfo,
    analyze,
    decode_gsm7,
    decode_ucs2,
    encode_gsm7,
    encode_parts,
    encode_ucs2,
    is_gsm7,
    pack_septets,
    split_clusters,
    unpack_septets,
)

GSM = sorted(GSM7_BASIC | GSM7_EXTENSION)
SHIFT_LETTERS = list("ĞİŞçğışÁÍÓÚáíóúêÔôÊÀÃÕÂãõâ")
CLUSTERS = ["😀", "👍🏽", "🇺🇸", "👨‍👩‍👧", "👨🏿‍🦰", "❤️‍🔥", "e\u0301", "क्ष", "\r\n", "Ж", "漢"]
LOOK_ALIKES = sorted(SMART_ENCODING_MAP)

# Texts built from the pieces that matter for splitting, biased to be long enough to split.
pieces = st.one_of(
    st.sampled_from(GSM),
    st.sampled_from(sorted(GSM7_EXTENSION)),
    st.sampled_from(SHIFT_LETTERS),
    st.sampled_from(CLUSTERS),
    st.sampled_from(LOOK_ALIKES),
)
# Hypothesis keeps lists short unless told; the long ones cross the 67/70/153/160 limits.
shaped_texts = st.one_of(
    st.lists(pieces, max_size=400), st.lists(pieces, min_size=50, max_size=400)
).map("".join)
gsm_texts = st.lists(st.sampled_from(GSM), min_size=100, max_size=480).map("".join)
any_texts = st.one_of(
    st.text(st.characters(exclude_categories=("Cs",)), max_size=300),
    st.text(st.characters(exclude_categories=("Cs",)), min_size=60, max_size=300),
)
texts = st.one_of(shaped_texts, gsm_texts, any_texts)
shifts = st.sampled_from([None, *NATIONAL_SHIFTS])


def limits(info: SegmentInfo) -> tuple[int, int]:
    """(single, per part) as the issue states them, independent of the module's constants."""
    if info.encoding == "UCS-2":
        return 70, 67
    return (160, 153) if info.national_shift is None else (155, 149)


def units(text: str, info: SegmentInfo) -> int:
    """Size of ``text`` in the unit ``info`` counts (septets or UTF-16 units)."""
    if info.encoding == "UCS-2":
        return len(text.encode("utf-16-le")) // 2
    return len(encode_gsm7(text, national_shift=info.national_shift))


def cluster_offsets(text: str) -> set[int]:
    offsets, position = {0}, 0
    for cluster in split_clusters(text):
        position += len(cluster)
        offsets.add(position)
    return offsets


@settings(max_examples=150)
@given(texts, shifts)
def test_parts_join_back_and_respect_the_limits(text: str, shift: NationalShift | None) -> None:
    """F-ENC-1: parts join back to the text; no part exceeds its limit; none is empty."""
    info = analyze(text, national_shift=shift)
    assert "".join(info.parts) == info.text == text
    assert info.num_segments == len(info.parts)
    assert info.num_characters == sum(info.part_sizes) == units(text, info)
    single, per_part = limits(info)
    assert info.part_limit == (single if info.num_segments == 1 else per_part)
    assert all(size <= info.part_limit for size in info.part_sizes)
    assert all(info.parts) or text == ""
    assert (info.num_segments == 1) == (info.num_characters <= single)


@settings(max_examples=150)
@given(texts, shifts)
def test_parts_are_filled_greedily(text: str, shift: NationalShift | None) -> None:
    """F-ENC-1: a part is closed only when the next indivisible unit would not fit."""
    info = analyze(text, national_shift=shift)
    for part, following in zip(info.parts, info.parts[1:], strict=False):
        first = split_clusters(following)[0] if info.encoding == "UCS-2" else following[0]
        if units(first, info) <= limits(info)[1]:  # not a cluster longer than a whole part
            assert units(part + first, info) > limits(info)[1]


@settings(max_examples=150)
@given(st.one_of(shaped_texts, any_texts))
def test_ucs2_parts_never_cut_a_cluster(text: str) -> None:
    """F-ENC-1: part boundaries fall between grapheme clusters (CR and LF apart)."""
    info = analyze(text)
    if info.encoding != "UCS-2":
        return
    allowed = cluster_offsets(text)
    position = 0
    for part in info.parts[:-1]:
        position += len(part)
        if position not in allowed:  # only a cluster bigger than a whole part may be cut
            assert max(units(c, info) for c in split_clusters(text)) > 67


@settings(max_examples=150)
@given(texts)
def test_encoding_is_gsm7_exactly_when_every_character_is_in_the_alphabet(text: str) -> None:
    """F-ENC-3: GSM-7 iff all characters are GSM 03.38 (checked against the plain sets)."""
    in_alphabet = all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)
    assert (analyze(text).encoding == "GSM-7") == in_alphabet == is_gsm7(text)


@settings(max_examples=150)
@given(texts, shifts)
def test_smart_encoding_never_makes_the_count_larger(
    text: str, shift: NationalShift | None
) -> None:
    """F-SVC-7: smart encoding never costs a segment more than the original text."""
    plain = analyze(text, national_shift=shift)
    smart = analyze(text, smart_encoding=True, national_shift=shift)
    assert smart.num_segments <= plain.num_segments
    assert smart.smart_encoded == (smart.text != text)
    assert "".join(smart.parts) == smart.text


@settings(max_examples=120)
@given(texts, st.sampled_from(NATIONAL_SHIFTS))
def test_a_national_shift_never_makes_the_count_larger(text: str, shift: NationalShift) -> None:
    """Single-shift tables only ever save segments."""
    assert analyze(text, national_shift=shift).num_segments <= analyze(text).num_segments


@settings(max_examples=120)
@given(st.lists(st.sampled_from(GSM + SHIFT_LETTERS), max_size=300).map("".join), shifts)
def test_gsm7_codec_round_trips(text: str, shift: NationalShift | None) -> None:
    """F-ENC-1: decode(encode(text)) == text for every GSM-7 text, with or without a shift."""
    if not is_gsm7(text, national_shift=shift):
        return
    septets = encode_gsm7(text, national_shift=shift)
    assert all(octet <= 0x7F for octet in septets)
    assert decode_gsm7(septets, national_shift=shift) == text


@settings(max_examples=120)
@given(st.binary(max_size=200).map(lambda b: bytes(x & 0x7F for x in b)), st.integers(0, 6))
def test_septet_packing_round_trips(septets: bytes, fill_bits: int) -> None:
    """Packing puts 8 septets in 7 octets; unpacking with the count gives them back."""
    packed = pack_septets(septets, fill_bits=fill_bits)
    assert len(packed) == (fill_bits + 7 * len(septets) + 7) // 8
    assert unpack_septets(packed, len(septets), fill_bits=fill_bits) == septets


@settings(max_examples=120)
@given(texts, shifts)
def test_wire_parts_decode_back_to_the_text(text: str, shift: NationalShift | None) -> None:
    """F-PROV-4: each part's payload decodes to that part; UCS-2 round-trips exactly."""
    info = analyze(text, national_shift=shift)
    payloads = encode_parts(info)
    if info.encoding == "UCS-2":
        assert [decode_ucs2(p) for p in payloads] == list(info.parts)
        assert all(len(p) <= 140 for p in payloads)
        assert decode_ucs2(encode_ucs2(text)) == text
    else:
        decoded = [decode_gsm7(p, national_shift=info.national_shift) for p in payloads]
        assert decoded == list(info.parts)
        assert all(len(p) <= 160 for p in payloads)


def pack(pieces: list[str], info: SegmentInfo) -> list[str]:
    """Reference packing, one piece at a time: a new part when the next does not fit."""
    single, per_part = limits(info)
    if units("".join(pieces), info) <= single:
        return ["".join(pieces)]
    parts = [""]
    for piece in pieces:
        if units(parts[-1] + piece, info) > per_part:
            parts.append("")
        parts[-1] += piece
    return parts


@settings(max_examples=150)
@given(texts, shifts)
def test_fast_cutting_matches_piece_by_piece_packing(
    text: str, shift: NationalShift | None
) -> None:
    """F-ENC-1: the index-based cuts equal packing characters (GSM-7) or clusters (UCS-2)."""
    info = analyze(text, national_shift=shift)
    pieces = split_clusters(text) if info.encoding == "UCS-2" else list(text)
    if all(units(piece, info) <= limits(info)[1] for piece in pieces):
        assert list(info.parts) == pack(pieces, info)
