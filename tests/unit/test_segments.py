"""textwire.segments: encoding choice, splitting, smart encoding, shift tables and codecs."""

from __future__ import annotations

import pytest

from textwire.segments import (
    DATA_CODING,
    GSM7_BASIC,
    GSM7_EXTENSION,
    SMART_ENCODING_MAP,
    InvalidTextError,
    NotGsm7Error,
    Replacement,
    SegmentInfo,
    analyze,
    decode_gsm7,
    decode_ucs2,
    encode_gsm7,
    encode_parts,
    encode_ucs2,
    is_gsm7,
    pack_septets,
    septet_fill_bits,
    smart_encode,
    split_clusters,
    unpack_septets,
    user_data_header,
)

FAMILY = "👨‍👩‍👧"  # 8 UTF-16 units, one cluster
THUMB = "👍🏽"  # emoji + skin tone: 4 units
FLAG = "🇺🇸"  # two regional indicators: 4 units
MODERN = "👨🏿‍🦰"  # ZWJ sequence with a modifier: 7 units, one cluster in current Unicode


def lengths(info: SegmentInfo) -> list[int]:
    return [len(part) for part in info.parts]


# --- F-ENC-1: limits and boundaries -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "encoding", "part_lengths"),
    [
        ("", "GSM-7", [0]),
        ("a" * 160, "GSM-7", [160]),
        ("a" * 161, "GSM-7", [153, 8]),
        ("a" * 306, "GSM-7", [153, 153]),
        ("a" * 307, "GSM-7", [153, 153, 1]),
        ("Ж" * 70, "UCS-2", [70]),
        ("Ж" * 71, "UCS-2", [67, 4]),
        ("Ж" * 134, "UCS-2", [67, 67]),
        ("Ж" * 135, "UCS-2", [67, 67, 1]),
    ],
)
def test_single_and_concatenated_limits(text: str, encoding: str, part_lengths: list[int]) -> None:
    """F-ENC-1: 160/153 septets for GSM-7, 70/67 UTF-16 units for UCS-2."""
    info = analyze(text)
    assert info.encoding == encoding
    assert info.num_segments == len(part_lengths)
    assert lengths(info) == part_lengths
    assert "".join(info.parts) == text


@pytest.mark.parametrize("ch", sorted(GSM7_EXTENSION))
def test_extension_character_costs_two_septets_and_is_never_split(ch: str) -> None:
    """F-ENC-1: an escape+extension pair moves whole to the next part."""
    assert analyze(ch * 80).num_characters == 160
    assert analyze(ch * 80).num_segments == 1
    assert lengths(analyze(ch * 81)) == [76, 5]
    info = analyze("a" * 152 + ch + "a" * 10)
    assert info.parts == ("a" * 152, ch + "a" * 10)
    assert info.part_sizes == (152, 12)
    assert analyze("a" * 159 + ch).parts == ("a" * 153, "a" * 6 + ch)


@pytest.mark.parametrize(
    ("unit", "size"),
    [("😀", 2), (THUMB, 4), (FLAG, 4), (FAMILY, 8), (MODERN, 7), ("e\u0301", 2), ("1️⃣", 3)],
)
def test_cluster_at_a_boundary_moves_whole(unit: str, size: int) -> None:
    """F-ENC-1: surrogate pairs, skin tones, flags, ZWJ sequences and accents stay whole."""
    before = 67 - size + 1  # one unit too many for the cluster to fit in part 1
    info = analyze("Ж" * before + unit + "Ж" * 10)
    assert info.encoding == "UCS-2"
    assert info.parts == ("Ж" * before, unit + "Ж" * 10)
    assert info.part_sizes == (before, size + 10)
    fits = analyze("Ж" * (before - 1) + unit + "Ж" * 10)
    assert fits.parts[0] == "Ж" * (before - 1) + unit


def test_emoji_only_texts_split_between_emoji() -> None:
    """F-ENC-1: 36 😀 are 72 units: 33 in part 1 (66 units), 3 in part 2."""
    assert lengths(analyze("😀" * 36)) == [33, 3]
    assert analyze("😀" * 36).part_sizes == (66, 6)
    assert analyze(FAMILY).num_characters == 8
    assert analyze(FAMILY).num_segments == 1


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("a" * 152 + "\r\n" + "b" * 10, ("a" * 152 + "\r", "\n" + "b" * 10)),
        ("Ж" * 66 + "\r\n" + "Ж" * 10, ("Ж" * 66 + "\r", "\n" + "Ж" * 10)),
    ],
)
def test_crlf_is_two_characters_and_may_split(text: str, parts: tuple[str, str]) -> None:
    """F-ENC-1: \\r\\n counts as two characters, as in the calculator."""
    assert analyze("\r\n").num_characters == 2
    assert analyze(text).parts == parts


def test_num_characters_counts_septets_or_utf16_units() -> None:
    """F-ENC-1: septets for GSM-7 (extension = 2), UTF-16 units for UCS-2."""
    assert analyze("a{€").num_characters == 5
    assert analyze("Ж😀" + FAMILY).num_characters == 11


def test_a_cluster_longer_than_a_part_is_split_between_code_points() -> None:
    """F-ENC-1, deliberate difference 3: a 91-unit cluster cannot travel whole."""
    zalgo = "a" + "\u0301" * 90
    info = analyze("Ж" * 10 + zalgo + "Ж" * 10)
    assert info.encoding == "UCS-2"
    assert info.part_sizes == (67, 44)
    assert "".join(info.parts) == info.text
    surrogate_pair = "a" + "\u0301" * 65 + "\U0001d165" * 3  # combining astral marks
    split = analyze(surrogate_pair)
    assert all(not (0xD800 <= ord(part[-1]) <= 0xDFFF) for part in split.parts)
    assert split.part_sizes == (66, 6)


def test_summary_properties() -> None:
    """F-ENC-2: what a message records and what the calculator shows."""
    info = analyze("a" * 200)
    assert (info.part_limit, info.remaining, info.part_sizes) == (153, 106, (153, 47))
    single = analyze("Ж😀")
    assert (single.part_limit, single.remaining, single.non_gsm_characters) == (70, 67, ("Ж", "😀"))
    assert analyze("plain {text}").non_gsm_characters == ()
    assert analyze("e\u0301 é Ж Ж").non_gsm_characters == ("e\u0301", "Ж")


# --- F-ENC-3: encoding choice -------------------------------------------------------------


def test_every_gsm_character_keeps_gsm7_and_anything_else_forces_ucs2() -> None:
    """F-ENC-3: GSM-7 exactly when every character is in the 03.38 alphabet."""
    alphabet = "".join(sorted(GSM7_BASIC | GSM7_EXTENSION))
    assert len(GSM7_BASIC) == 127
    assert analyze(alphabet).encoding == "GSM-7"
    for outsider in ["`", "\t", "\x1b", "ç", "á", "Ж", "😀", "\u00a0", "e\u0301"]:
        assert analyze(alphabet + outsider).encoding == "UCS-2", outsider
        assert not is_gsm7(outsider)


def test_lone_surrogates_are_rejected() -> None:
    """F-SEC-4: text that is not valid Unicode gets a clear error."""
    with pytest.raises(InvalidTextError) as caught:
        analyze("ab\ud83d")
    assert (caught.value.position, caught.value.code_point) == (2, 0xD83D)
    assert "U+D83D" in str(caught.value)
    with pytest.raises(InvalidTextError):
        analyze("\udcff", smart_encoding=True)
    with pytest.raises(InvalidTextError):
        encode_ucs2("x\udc00")


# --- F-SVC-7: smart encoding --------------------------------------------------------------


def test_smart_encoding_replaces_look_alikes() -> None:
    """F-SVC-7: smart quotes, dashes, ellipsis and Unicode spaces become GSM."""
    text = "“Hello” – it’s\u00a0here…"
    info = analyze(text, smart_encoding=True)
    assert info.encoding == "GSM-7"
    assert info.text == '"Hello" - it\'s  here...'
    assert info.smart_encoded
    assert info.replacements == (
        Replacement("“", '"'),
        Replacement("”", '"'),
        Replacement("–", "-"),
        Replacement("’", "'"),
        Replacement("\u00a0", "  "),
        Replacement("…", "..."),
    )
    assert analyze(text).encoding == "UCS-2"
    assert not analyze(text).smart_encoded


def test_smart_encoding_saves_segments() -> None:
    """F-SVC-7: 100 characters with curly quotes: 2 UCS-2 segments become 1 GSM-7 one."""
    text = "“" + "a" * 98 + "”"
    assert analyze(text).num_segments == 2
    assert analyze(text, smart_encoding=True).num_segments == 1


@pytest.mark.parametrize("text", ["\t" * 100, "😀" + "…" * 66, "😀" + "\u00a0" * 66])
def test_smart_encoding_is_skipped_when_it_would_cost_more(text: str) -> None:
    """F-SVC-7, deliberate difference 2: the calculator would report more segments here."""
    forced, _ = smart_encode(text)
    assert analyze(forced).num_segments > analyze(text).num_segments
    assert analyze(text, smart_encoding=True) == analyze(text)


def test_smart_encoding_keeps_mapped_characters_that_stay_ucs2_when_it_costs_nothing() -> None:
    """F-SVC-7: the calculator's result when the count does not grow, even in UCS-2."""
    info = analyze("😀 “quoted”", smart_encoding=True)
    assert (info.encoding, info.text) == ("UCS-2", '😀 "quoted"')


def test_smart_map_spot_checks() -> None:
    """F-SVC-7: a few entries of Twilio's 271 (the full map is checked in the reference test)."""
    assert len(SMART_ENCODING_MAP) == 271
    assert SMART_ENCODING_MAP["\u2039"] == "<"
    assert SMART_ENCODING_MAP["\u203a"] == ">"
    assert SMART_ENCODING_MAP["\uff21"] == "A"
    assert SMART_ENCODING_MAP["\u0274"] == "N"
    assert SMART_ENCODING_MAP["\t"] == " " * 7
    assert SMART_ENCODING_MAP["\u200b"] == ""
    assert not any(is_gsm7(ch) for ch in SMART_ENCODING_MAP)


def test_smart_encode_is_unconditional() -> None:
    """F-SVC-7: the raw map, for callers that want it regardless of cost."""
    assert smart_encode("a\u2026\u200bb") == (
        "a...b",
        (Replacement("…", "..."), Replacement("\u200b", "")),
    )
    assert smart_encode("plain") == ("plain", ())


# --- National single-shift tables (3GPP TS 23.038 A.2) -----------------------------------

TURKISH = "Şişli'de güzel bir gün, çay içtik ve ağaçları izledik. İyi geceler!"
SPANISH = "¿Está aquí? Sí, la canción empezó. Adiós, José. Ésta es mía."
PORTUGUESE = "Não há ação sem razão; você pôs o pão à mesa. Olá, irmã! Ônibus às três."


@pytest.mark.parametrize(
    ("shift", "text"),
    [("turkish", TURKISH), ("spanish", SPANISH), ("portuguese", PORTUGUESE)],
)
def test_national_shift_keeps_language_letters_in_gsm7(shift: str, text: str) -> None:
    """F-ENC-1 beyond Twilio: a single-shift table keeps the language in GSM-7."""
    assert analyze(text).encoding == "UCS-2"
    info = analyze(text, national_shift=shift)  # type: ignore[arg-type]
    assert (info.encoding, info.national_shift, info.num_segments) == ("GSM-7", shift, 1)
    assert info.part_limit == 155
    assert decode_gsm7(encode_gsm7(text, national_shift=shift), national_shift=shift) == text  # type: ignore[arg-type]


def test_national_shift_limits_are_155_and_149() -> None:
    """F-ENC-1: the shift element lengthens the header: 155 single, 149 per part."""
    assert analyze("ş" * 77 + "a", national_shift="turkish").num_segments == 1
    assert analyze("a" * 154 + "ş", national_shift="turkish").num_segments == 2
    info = analyze("ş" * 78, national_shift="turkish")
    assert (lengths(info), info.part_sizes, info.part_limit) == ([74, 4], (148, 8), 149)
    long = analyze("a" * 155 + "ş", national_shift="turkish")
    assert long.parts == ("a" * 149, "a" * 6 + "ş")


def test_national_shift_only_used_when_needed() -> None:
    """F-ENC-1: GSM text needs no shift; text outside the shift table is UCS-2."""
    plain = analyze("a" * 160 + "{", national_shift="turkish")
    assert (plain.national_shift, plain.part_limit) == (None, 153)
    assert analyze("ş ã", national_shift="turkish").encoding == "UCS-2"
    assert analyze("ş ã", national_shift="turkish").national_shift is None
    assert analyze("ş{€", national_shift="turkish").num_characters == 6
    assert is_gsm7("ş", national_shift="turkish")
    assert not is_gsm7("ş")


def test_unknown_national_shift_is_rejected() -> None:
    with pytest.raises(ValueError, match="national_shift"):
        analyze("hi", national_shift="klingon")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("shift", "text", "septets"),
    [
        ("turkish", "ĞİŞçğış", "1b471b491b531b631b671b691b73"),
        ("spanish", "çÁÍÓÚáíóú", "1b091b411b491b4f1b551b611b691b6f1b75"),
        ("portuguese", "êçÔôÁáÊÀÍÓÚÃÕÂíóúãõâ",
         "1b051b091b0b1b0c1b0e1b0f1b1f1b411b491b4f1b551b5b1b5c1b611b691b6f1b751b7b1b7c1b7f"),
    ],
)  # fmt: skip
def test_shift_table_codes(shift: str, text: str, septets: str) -> None:
    """3GPP TS 23.038 A.2.1-A.2.3: each added letter's code after the escape."""
    assert encode_gsm7(text, national_shift=shift).hex() == septets  # type: ignore[arg-type]
    assert decode_gsm7(bytes.fromhex(septets), national_shift=shift) == text  # type: ignore[arg-type]


def test_shift_table_prefers_the_one_septet_code() -> None:
    """Portuguese repeats Φ Γ Ω... in its shift table; the basic code is shorter."""
    assert encode_gsm7("ΦΩ", national_shift="portuguese") == bytes([0x12, 0x15])
    assert decode_gsm7(bytes([0x1B, 0x12]), national_shift="portuguese") == "Φ"


# --- Codecs -------------------------------------------------------------------------------

# GSM 03.38 default alphabet in code order (0x1B is the escape), written out for the test.
GSM_TABLE = [
    "@", "£", "$", "¥", "è", "é", "ù", "ì", "ò", "Ç", "\n", "Ø", "ø", "\r", "Å", "å",
    "Δ", "_", "Φ", "Γ", "Λ", "Ω", "Π", "Ψ", "Σ", "Θ", "Ξ", None, "Æ", "æ", "ß", "É",
    " ", "!", '"', "#", "¤", "%", "&", "'", "(", ")", "*", "+", ",", "-", ".", "/",
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", ":", ";", "<", "=", ">", "?",
    "¡", "A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L", "M", "N", "O",
    "P", "Q", "R", "S", "T", "U", "V", "W", "X", "Y", "Z", "Ä", "Ö", "Ñ", "Ü", "§",
    "¿", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o",
    "p", "q", "r", "s", "t", "u", "v", "w", "x", "y", "z", "ä", "ö", "ñ", "ü", "à",
]  # fmt: skip
EXTENSION_CODES = {
    "\f": 0x0A, "^": 0x14, "{": 0x28, "}": 0x29, "\\": 0x2F,
    "[": 0x3C, "~": 0x3D, "]": 0x3E, "|": 0x40, "€": 0x65,
}  # fmt: skip
BASIC_CODES = [(ch, code) for code, ch in enumerate(GSM_TABLE) if ch is not None]


@pytest.mark.parametrize(("ch", "code"), BASIC_CODES)
def test_basic_character_round_trips(ch: str, code: int) -> None:
    """F-ENC-1: every default-alphabet character encodes to its code and back."""
    assert encode_gsm7(ch) == bytes([code])
    assert decode_gsm7(bytes([code])) == ch


@pytest.mark.parametrize(("ch", "code"), sorted(EXTENSION_CODES.items()))
def test_extension_character_round_trips(ch: str, code: int) -> None:
    """F-ENC-1: every extension character is escape + code, and back."""
    assert encode_gsm7(ch) == bytes([0x1B, code])
    assert decode_gsm7(bytes([0x1B, code])) == ch
    for shift in ("turkish", "spanish", "portuguese"):
        assert encode_gsm7(ch, national_shift=shift) == bytes([0x1B, code])  # type: ignore[arg-type]


def test_alphabet_sets_match_the_table() -> None:
    assert {ch for ch, _ in BASIC_CODES} == GSM7_BASIC
    assert set(EXTENSION_CODES) == GSM7_EXTENSION


def test_encode_gsm7_rejects_other_characters() -> None:
    with pytest.raises(NotGsm7Error) as caught:
        encode_gsm7("ok 😀")
    assert (caught.value.position, caught.value.character) == (3, "😀")
    with pytest.raises(NotGsm7Error):
        encode_gsm7("ş")


def test_decode_gsm7_follows_the_receiver_rules() -> None:
    """TS 23.038: unknown extension -> default character, double escape -> space."""
    assert decode_gsm7(bytes([0x1B, 0x41])) == "A"
    assert decode_gsm7(bytes([0x1B, 0x1B, 0x41])) == " A"
    assert decode_gsm7(bytes([0x41, 0x1B])) == "A"
    with pytest.raises(ValueError, match="0x80"):
        decode_gsm7(bytes([0x41, 0x80]))


def test_pack_septets_known_vector() -> None:
    """The classic PDU example: "hellohello" packs to E8329BFD4697D9EC37."""
    septets = encode_gsm7("hellohello")
    packed = pack_septets(septets)
    assert packed.hex().upper() == "E8329BFD4697D9EC37"
    assert unpack_septets(packed, 10) == septets


def test_unpack_needs_the_septet_count() -> None:
    """7 septets fill 7 octets with 7 spare bits that would read as a trailing @."""
    packed = pack_septets(encode_gsm7("1234567"))
    assert len(packed) == 7
    assert decode_gsm7(unpack_septets(packed, 7)) == "1234567"
    assert decode_gsm7(unpack_septets(packed, 8)) == "1234567@"
    with pytest.raises(ValueError, match="cannot hold"):
        unpack_septets(packed, 9)


def test_pack_with_fill_bits_after_a_header() -> None:
    """With a 6-octet UDH the text starts after one fill bit."""
    septets = encode_gsm7("Hi")
    packed = pack_septets(septets, fill_bits=1)
    assert packed == bytes([0x48 << 1, 0x69])  # 1 fill bit + 14 text bits in 2 octets
    assert unpack_septets(packed, 2, fill_bits=1) == septets
    with pytest.raises(ValueError, match="fill_bits"):
        pack_septets(septets, fill_bits=7)
    with pytest.raises(ValueError, match="septet"):
        pack_septets(b"\x80")


def test_ucs2_codec() -> None:
    assert encode_ucs2("Ж😀") == bytes.fromhex("0416d83dde00")
    assert decode_ucs2(bytes.fromhex("0416d83dde00")) == "Ж😀"
    with pytest.raises(UnicodeDecodeError):
        decode_ucs2(b"\x00")


# --- Wire helpers for the SMPP provider (F-PROV-4) -----------------------------------------


@pytest.mark.parametrize(
    ("text", "shift"),
    [("a{" * 120, None), ("Ж😀" * 50, None), ("ş" * 200, "turkish"), ("hello", None)],
)
def test_encoded_parts_fit_a_140_octet_pdu(text: str, shift: str | None) -> None:
    """F-PROV-4: header + packed part never exceeds 140 octets; parts decode back."""
    info = analyze(text, national_shift=shift)  # type: ignore[arg-type]
    payloads = encode_parts(info)
    assert len(payloads) == info.num_segments
    for sequence, payload in enumerate(payloads, 1):
        udh = user_data_header(info.num_segments, sequence, 7, national_shift=info.national_shift)
        if info.encoding == "GSM-7":
            packed = pack_septets(payload, fill_bits=septet_fill_bits(len(udh)))
            assert len(udh) + len(packed) <= 140
        else:
            assert len(udh) + len(payload) <= 140
    if info.encoding == "GSM-7":
        decoded = [decode_gsm7(p, national_shift=info.national_shift) for p in payloads]
    else:
        decoded = [decode_ucs2(p) for p in payloads]
    assert "".join(decoded) == text


def test_the_limits_fill_the_pdu_exactly() -> None:
    """F-ENC-1: one more septet or unit than each limit would not fit in 140 octets."""
    for limit, header in [(160, b""), (153, user_data_header(2, 1, 0))]:
        fill = septet_fill_bits(len(header))
        assert len(header) + len(pack_septets(b"a" * limit, fill_bits=fill)) <= 140
        assert len(header) + len(pack_septets(b"a" * (limit + 1), fill_bits=fill)) > 140
    for limit, header in [
        (155, user_data_header(1, 1, 0, national_shift="spanish")),
        (149, user_data_header(2, 1, 0, national_shift="spanish")),
    ]:
        fill = septet_fill_bits(len(header))
        assert len(header) + len(pack_septets(b"a" * limit, fill_bits=fill)) <= 140
        assert len(header) + len(pack_septets(b"a" * (limit + 1), fill_bits=fill)) > 140
    assert len(user_data_header(2, 1, 0)) + 2 * 67 == 140


def test_user_data_header_layout() -> None:
    """TS 23.040: concatenation IE (00 03 ref total seq), single-shift IE (24 01 lang)."""
    assert user_data_header(1, 1, 0) == b""
    assert user_data_header(3, 2, 0x42) == bytes([5, 0x00, 3, 0x42, 3, 2])
    assert user_data_header(1, 1, 9, national_shift="turkish") == bytes([3, 0x24, 1, 1])
    assert user_data_header(2, 1, 9, national_shift="portuguese") == bytes(
        [8, 0x00, 3, 9, 2, 1, 0x24, 1, 3]
    )
    with pytest.raises(ValueError):
        user_data_header(2, 3, 0)
    with pytest.raises(ValueError):
        user_data_header(2, 1, 256)
    assert DATA_CODING == {"GSM-7": 0, "UCS-2": 8}
    assert [septet_fill_bits(n) for n in (0, 4, 6, 9)] == [0, 3, 1, 5]


def test_split_clusters_keeps_cr_and_lf_apart() -> None:
    assert split_clusters("a\r\n" + FAMILY + "e\u0301") == ["a", "\r", "\n", FAMILY, "e\u0301"]
