"""How an SMS is encoded and split into billable segments (F-ENC-1..3, F-SVC-7).

``analyze(text)`` answers, as carriers and Twilio count it, which encoding a text uses
(GSM-7 when every character is in the GSM 03.38 alphabet, UCS-2 otherwise), how many
segments it costs and the text of each part. The limits are 160 septets (GSM-7) or 70
UTF-16 units (UCS-2) for a single message, 153 / 67 per part once a concatenation header
is needed. Extension characters (form feed ``^ { } \\ [ ~ ] | €``) cost two septets.
A part never ends inside an escape+extension pair, a surrogate pair or a grapheme cluster
(emoji with skin tones, flags, ZWJ sequences, combining accents): the whole unit moves on.
``\\r\\n`` counts as two characters and may be split, as the calculator does.

With ``smart_encoding=True`` look-alike characters (smart quotes, long dashes, Unicode
spaces, ellipsis, full-width forms...) are first replaced by GSM ones, using Twilio's map.
With ``national_shift="turkish" | "spanish" | "portuguese"`` the 3GPP TS 23.038 national
single-shift table of that language is used when the text needs it, so letters such as
``ş ğ ı`` (Turkish), ``á í ó ú`` (Spanish) or ``ã õ ê ô`` (Portuguese) stay in GSM-7. The
shift table replaces the default extension table (its characters cost two septets) and its
information element makes the header three octets longer: 155 septets single, 149 per part.

The wire codecs (``encode_gsm7``/``decode_gsm7``, ``pack_septets``/``unpack_septets``,
``encode_ucs2``/``decode_ucs2``, ``encode_parts``, ``user_data_header``) are what the SMPP
provider puts in ``short_message``.

Reference: Twilio's calculator, npm ``sms-segments-calculator`` 1.3.0. It fixed three things
that ``reference/twilio-facts.md`` (written against 1.2.0) describes: ``\\r\\n`` is two
characters, GSM characters cost one unit inside UCS-2, and U+2039/U+203A map to ``<``/``>``.
``tests/unit/fixtures/segments_reference.json`` holds its answers for a corpus of texts, and
a test checks that textwire agrees with every one, except in these deliberate differences:

1. Grapheme clusters follow current Unicode (UAX #29 as the ``regex`` module implements it).
   The calculator's ``grapheme-splitter`` 1.0.4 predates Unicode 11, so it splits emoji ZWJ
   sequences such as 👨🏿‍🦰 ❤️‍🔥 🐻‍❄️ 🏴‍☠️ 🫱🏼‍🫲🏿 and Indic conjuncts such as क्ष, and can
   cut them across two parts, which handsets then show as two broken glyphs. textwire moves
   the whole cluster to the next part. Only texts where such a cluster meets a part boundary
   split differently; that can cost one segment more than the calculator reports.
2. Smart encoding is skipped when it would cost more segments than the original text. The
   calculator applies it regardless: ``"\\t" * 100`` becomes 700 spaces (5 GSM-7 segments
   instead of 2 UCS-2 ones), and ``…`` in a message that stays UCS-2 becomes three units.
   Smart encoding exists to save segments; textwire never lets it add one.
3. A single grapheme cluster longer than a whole part (more than 67 UTF-16 units, such as
   "zalgo" text with dozens of combining marks) cannot travel whole. textwire splits it
   between code points (never inside a surrogate pair). The calculator leaves an empty first
   segment and puts the cluster in an oversized one that no carrier could send.
4. ``num_characters`` of a UCS-2 text counts UTF-16 units, the unit the 70/67 limits are
   measured in; the calculator's ``numberOfCharacters`` counts graphemes there. For GSM-7
   both count septets.

The GSM-7 alphabet itself matches the calculator's map entry for entry.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import accumulate
from types import MappingProxyType
from typing import Final, Literal, get_args

import regex

Encoding = Literal["GSM-7", "UCS-2"]
NationalShift = Literal["turkish", "spanish", "portuguese"]

NATIONAL_SHIFTS: Final[tuple[NationalShift, ...]] = get_args(NationalShift)

GSM7_SINGLE_LIMIT: Final = 160
GSM7_PART_LIMIT: Final = 153
UCS2_SINGLE_LIMIT: Final = 70
UCS2_PART_LIMIT: Final = 67
SHIFT_SINGLE_LIMIT: Final = 155
SHIFT_PART_LIMIT: Final = 149

#: SMPP ``data_coding`` for each encoding (0 = SMSC default alphabet, 8 = UCS-2).
DATA_CODING: Final[Mapping[Encoding, int]] = MappingProxyType({"GSM-7": 0x00, "UCS-2": 0x08})

ESCAPE: Final = 0x1B

# GSM 03.38 default alphabet in code order, 16 per line; 0x1B (escape) is a placeholder.
_BASIC_ALPHABET: Final = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)

_DEFAULT_EXTENSION: Final[Mapping[int, str]] = MappingProxyType(
    {
        0x0A: "\f",
        0x14: "^",
        0x28: "{",
        0x29: "}",
        0x2F: "\\",
        0x3C: "[",
        0x3D: "~",
        0x3E: "]",
        0x40: "|",
        0x65: "€",
    }
)

# 3GPP TS 23.038 A.2.1-A.2.3: what each single-shift table adds to the default extension.
_NATIONAL_EXTENSION: Final[Mapping[NationalShift, Mapping[int, str]]] = MappingProxyType(
    {
        "turkish": {
            0x47: "Ğ", 0x49: "İ", 0x53: "Ş", 0x63: "ç", 0x67: "ğ", 0x69: "ı", 0x73: "ş",
        },
        "spanish": {
            0x09: "ç", 0x41: "Á", 0x49: "Í", 0x4F: "Ó", 0x55: "Ú",
            0x61: "á", 0x69: "í", 0x6F: "ó", 0x75: "ú",
        },
        "portuguese": {
            0x05: "ê", 0x09: "ç", 0x0B: "Ô", 0x0C: "ô", 0x0E: "Á", 0x0F: "á",
            0x12: "Φ", 0x13: "Γ", 0x15: "Ω", 0x16: "Π", 0x17: "Ψ", 0x18: "Σ", 0x19: "Θ",
            0x1F: "Ê", 0x41: "À", 0x49: "Í", 0x4F: "Ó", 0x55: "Ú", 0x5B: "Ã", 0x5C: "Õ",
            0x61: "Â", 0x69: "í", 0x6F: "ó", 0x75: "ú", 0x7B: "ã", 0x7C: "õ", 0x7F: "â",
        },
    }
)  # fmt: skip

#: National language identifiers for the single-shift information element (IEI 0x24).
NATIONAL_LANGUAGE_ID: Final[Mapping[NationalShift, int]] = MappingProxyType(
    {"turkish": 0x01, "spanish": 0x02, "portuguese": 0x03}
)

# Twilio's Smart Encoding map (sms-segments-calculator 1.3.0 SmartEncodingMap.ts), grouped by
# the replacement; applied code point by code point.
_SMART_GROUPS: Final[Mapping[str, str]] = MappingProxyType(
    {
        '"': "\u00ab\u00bb\u201c\u201d\u02ba\u02ee\u201f\u201e\u275d\u275e\u301d\u301e\uff02",
        "'": "\u2018\u2019\u02bb\u02c8\u02bc\u02bd\u02b9\u201b\uff07\u00b4\u02ca\u0060\u02cb"
        "\u275b\u275c\u0313\u0314\ufe10\ufe11",
        "-": "\u2010\u2013\u2014\u2015\u2043\u23bc\u23bd\ufe63\uff0d\u2022",
        "...": "\u2026",
        "!!": "\u203c",
        "1/4": "\u00bc",
        "1/2": "\u00bd",
        "3/4": "\u00be",
        "/": "\u00f7\u29f8\u0337\u0338\u2044\u2215\uff0f",
        "\\": "\u29f9\u29f5\u20e5\ufe68\uff3c",
        "_": "\u0332\uff3f\u2017",
        "|": "\u20d2\u20d3\u2223\uff5c\u23b8\u23b9\u23d0\u239c\u239f",
        ",": "\u201a\u0326\ufe50\ufe51\uff0c\uff64\u3001",
        ".": "\u3002\ufe52\uff0e\uff61",
        ":": "\u02d0\u02f8\u2982\ua789\ufe13\uff1a",
        ";": "\u204f\ufe14\ufe54\uff1b",
        "(": "\u2768\u276a\ufe59\uff08\u27ee\u2985",
        ")": "\u2769\u276b\ufe5a\uff09\u27ef\u2986",
        "*": "\u204e\u2217\u229b\u2722\u2723\u2724\u2725\u2731\u2732\u2733\u273a\u273b\u273c"
        "\u273d\u2743\u2749\u274a\u274b\u29c6\ufe61\uff0a",
        "+": "\u02d6\ufe62\uff0b",
        "=": "\u0347\ua78a\ufe66\uff1d",
        "<": "\ufe64\uff1c\u2039",
        ">": "\ufe65\uff1e\u203a",
        "^": "\u02c6\u0302\uff3e\u1dcd",
        "~": "\u02dc\u02f7\u0303\u0330\u0334\u223c\uff5e",
        "{": "\u2774\ufe5b\uff5b",
        "}": "\u2775\ufe5c\uff5d",
        "[": "\uff3b",
        "]": "\uff3d",
        "!": "\u01c3\ufe15\ufe57\uff01",
        "?": "\ufe16\ufe56\uff1f",
        "@": "\ufe6b\uff20",
        "$": "\ufe69\uff04",
        "#": "\ufe5f\uff03",
        "%": "\ufe6a\uff05",
        "&": "\ufe60\uff06",
        "  ": "\u00a0\u2000\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f"
        "\u3000\u0080\u008d\u0090\u009b\u009f",
        " ": "\u2001\u2028\u2029",
        "       ": "\u0009",
        "": "\u0000\u0003\u0004\u0010\u0011\u0012\u0013\u0014\u0017\u0019\u200b\u200c\u2060\ufeff",
    }
)
# Latin letter small capitals the map folds to capitals (there are none for Q and X).
_SMALL_CAPITALS: Final = {
    "A": "\u1d00", "B": "\u0299", "C": "\u1d04", "D": "\u1d05", "E": "\u1d07", "F": "\ua730",
    "G": "\u0262", "H": "\u029c", "I": "\u026a", "J": "\u1d0a", "K": "\u1d0b", "L": "\u029f",
    "M": "\u1d0d", "N": "\u0274", "O": "\u1d0f", "P": "\u1d18", "R": "\u0280", "S": "\ua731",
    "T": "\u1d1b", "U": "\u1d1c", "V": "\u1d20", "W": "\u1d21", "Y": "\u028f", "Z": "\u1d22",
}  # fmt: skip


def _build_smart_map() -> dict[str, str]:
    smart = {source: target for target, sources in _SMART_GROUPS.items() for source in sources}
    smart.update({source: target for target, source in _SMALL_CAPITALS.items()})
    # Full-width digits and capitals, U+FF10-U+FF19 and U+FF21-U+FF3A.
    smart.update({chr(0xFF10 + i): str(i) for i in range(10)})
    smart.update({chr(0xFF21 + i): chr(ord("A") + i) for i in range(26)})
    return smart


#: Look-alike character -> GSM replacement, exactly Twilio's map (271 entries).
SMART_ENCODING_MAP: Final[Mapping[str, str]] = MappingProxyType(_build_smart_map())
_SMART_TRANSLATION: Final = {ord(k): v for k, v in SMART_ENCODING_MAP.items()}
_SMART_CHAR: Final = re.compile("[" + re.escape("".join(SMART_ENCODING_MAP)) + "]")


class InvalidTextError(ValueError):
    """The text is not valid Unicode: it holds a lone surrogate (U+D800..U+DFFF)."""

    def __init__(self, position: int, code_point: int) -> None:
        self.position = position
        self.code_point = code_point
        super().__init__(
            f"lone surrogate U+{code_point:04X} at position {position}: not valid Unicode text"
        )


class NotGsm7Error(ValueError):
    """A character has no code in the GSM 03.38 alphabet (or the chosen shift table)."""

    def __init__(self, position: int, character: str) -> None:
        self.position = position
        self.character = character
        super().__init__(
            f"U+{ord(character):04X} {character!r} at position {position} is not in the"
            " GSM 03.38 alphabet"
        )


@dataclass(frozen=True, slots=True)
class _Gsm7Table:
    """One GSM-7 alphabet: the default table plus one single-shift (extension) table."""

    encode: Mapping[int, str]  # code point -> its septets as chars, for str.translate
    double: frozenset[str]  # characters sent as escape + code: two septets
    extension: Mapping[int, str]  # code after an escape -> character
    outside: re.Pattern[str]  # matches a character this table cannot encode
    double_char: re.Pattern[str]  # matches a two-septet character


def _build_table(extension: Mapping[int, str]) -> _Gsm7Table:
    basic = {ch: code for code, ch in enumerate(_BASIC_ALPHABET) if code != ESCAPE}
    encode = {ord(ch): chr(code) for ch, code in basic.items()}
    double = frozenset(ch for ch in extension.values() if ch not in basic)
    for code, ch in extension.items():
        if ch in double:
            encode[ord(ch)] = chr(ESCAPE) + chr(code)
    alphabet = "".join(basic) + "".join(sorted(double))
    return _Gsm7Table(
        encode=MappingProxyType(encode),
        double=double,
        extension=MappingProxyType(dict(extension)),
        outside=re.compile("[^" + re.escape(alphabet) + "]"),
        double_char=re.compile("[" + re.escape("".join(sorted(double))) + "]"),
    )


_DEFAULT_TABLE: Final = _build_table(_DEFAULT_EXTENSION)
_SHIFT_TABLES: Final[Mapping[NationalShift, _Gsm7Table]] = MappingProxyType(
    {
        name: _build_table({**_DEFAULT_EXTENSION, **extra})
        for name, extra in _NATIONAL_EXTENSION.items()
    }
)
_DECODE_BASIC: Final = _BASIC_ALPHABET.replace("\x1b", " ")

#: Every character of the default GSM-7 alphabet and of its extension table.
GSM7_BASIC: Final = frozenset(_BASIC_ALPHABET.replace("\x1b", ""))
GSM7_EXTENSION: Final = frozenset(_DEFAULT_EXTENSION.values())

_NOT_BASIC: Final = re.compile("[^" + re.escape("".join(GSM7_BASIC)) + "]")
# "\r" first so that CRLF, one grapheme cluster in Unicode, counts as two characters.
_CLUSTER: Final = regex.compile(r"\r|\X")
# A character that can join a neighbour into one cluster: any UAX #29 break class but Other,
# Control, CR and LF (always broken around). Without one, every code point is a cluster.
_JOINING: Final = regex.compile(r"[^\p{GCB=Other}\p{GCB=Control}\p{GCB=CR}\p{GCB=LF}]")
_ASTRAL: Final = re.compile("[\U00010000-\U0010ffff]")


@dataclass(frozen=True, slots=True)
class Replacement:
    """One look-alike character smart encoding replaced, and what it became."""

    original: str
    replacement: str


@dataclass(frozen=True, slots=True)
class SegmentInfo:
    """How one text is sent: its encoding, its parts and what it costs.

    ``parts`` join back to ``text``, the text actually sent (after smart encoding, when it
    changed anything; ``replacements`` then lists each replaced character once).
    ``num_characters`` is in septets for GSM-7 and UTF-16 units for UCS-2.
    ``national_shift`` names the single-shift table used, or is None when none was needed.
    """

    encoding: Encoding
    num_segments: int
    parts: tuple[str, ...]
    text: str
    num_characters: int
    replacements: tuple[Replacement, ...] = ()
    national_shift: NationalShift | None = None

    @property
    def smart_encoded(self) -> bool:
        """True when smart encoding replaced at least one character."""
        return bool(self.replacements)

    @property
    def part_limit(self) -> int:
        """Septets or UTF-16 units each part may hold, given the number of parts."""
        return _limits(self.encoding, self.national_shift)[self.num_segments > 1]

    @property
    def part_sizes(self) -> tuple[int, ...]:
        """Septets (GSM-7) or UTF-16 units (UCS-2) of each part."""
        return tuple(_size(part, self.encoding, self.national_shift) for part in self.parts)

    @property
    def remaining(self) -> int:
        """Septets or units still free in the last part before another segment is needed."""
        return self.part_limit - _size(self.parts[-1], self.encoding, self.national_shift)

    @property
    def non_gsm_characters(self) -> tuple[str, ...]:
        """The grapheme clusters that force UCS-2, each once, in order of appearance."""
        if self.encoding == "GSM-7":
            return ()
        return tuple(dict.fromkeys(g for g in split_clusters(self.text) if not is_gsm7(g)))


def analyze(
    text: str, *, smart_encoding: bool = False, national_shift: NationalShift | None = None
) -> SegmentInfo:
    """Return the encoding, segment count and parts of ``text`` as it would be sent.

    Raises ``InvalidTextError`` for a lone surrogate, ``ValueError`` for an unknown shift.
    """
    if national_shift is not None and national_shift not in _SHIFT_TABLES:
        raise ValueError(f"national_shift must be one of {', '.join(NATIONAL_SHIFTS)}")
    # Fast path: the common all-basic-GSM text needs neither validation nor a walk.
    if _NOT_BASIC.search(text) is None:
        return _basic_gsm7(text)
    plain = _analyze_checked(text, national_shift)
    if not smart_encoding or plain.encoding == "GSM-7":
        return plain  # no smart-map character is GSM, so a GSM-7 text has nothing to replace
    return _smart_or_plain(plain, national_shift)


def _basic_gsm7(text: str) -> SegmentInfo:
    length = len(text)
    if length <= GSM7_SINGLE_LIMIT:
        return SegmentInfo("GSM-7", 1, (text,), text, length)
    parts = tuple(text[i : i + GSM7_PART_LIMIT] for i in range(0, length, GSM7_PART_LIMIT))
    return SegmentInfo("GSM-7", len(parts), parts, text, length)


def _analyze_checked(text: str, national_shift: NationalShift | None) -> SegmentInfo:
    if _DEFAULT_TABLE.outside.search(text) is None:
        return _split_gsm7(text, _DEFAULT_TABLE, None)
    if national_shift is not None:
        table = _SHIFT_TABLES[national_shift]
        if table.outside.search(text) is None:
            return _split_gsm7(text, table, national_shift)
    return _split_ucs2(text)


def _smart_or_plain(plain: SegmentInfo, national_shift: NationalShift | None) -> SegmentInfo:
    found = dict.fromkeys(_SMART_CHAR.findall(plain.text))
    if not found:
        return plain
    smart = _analyze_checked(plain.text.translate(_SMART_TRANSLATION), national_shift)
    if smart.num_segments > plain.num_segments:
        return plain  # deliberate difference 2: never pay more for look-alikes
    replaced = tuple(Replacement(ch, SMART_ENCODING_MAP[ch]) for ch in found)
    return SegmentInfo(
        smart.encoding,
        smart.num_segments,
        smart.parts,
        smart.text,
        smart.num_characters,
        replaced,
        smart.national_shift,
    )


def _limits(encoding: Encoding, national_shift: NationalShift | None) -> tuple[int, int]:
    if encoding == "UCS-2":
        return UCS2_SINGLE_LIMIT, UCS2_PART_LIMIT
    if national_shift is not None:
        return SHIFT_SINGLE_LIMIT, SHIFT_PART_LIMIT
    return GSM7_SINGLE_LIMIT, GSM7_PART_LIMIT


def _size(part: str, encoding: Encoding, national_shift: NationalShift | None) -> int:
    if encoding == "UCS-2":
        return _utf16_units(part)
    table = _DEFAULT_TABLE if national_shift is None else _SHIFT_TABLES[national_shift]
    return len(part) + len(table.double_char.findall(part))


def _utf16_be(text: str) -> bytes:
    try:
        return text.encode("utf-16-be")
    except UnicodeEncodeError as error:  # only a lone surrogate cannot be encoded
        raise InvalidTextError(error.start, ord(text[error.start])) from None


def _utf16_units(text: str) -> int:
    return len(_utf16_be(text)) // 2


def _split_gsm7(text: str, table: _Gsm7Table, national_shift: NationalShift | None) -> SegmentInfo:
    """GSM-7 parts: characters in order, an escape pair never split from its code."""
    septets = len(text) + len(table.double_char.findall(text))
    single, per_part = (
        (GSM7_SINGLE_LIMIT, GSM7_PART_LIMIT)
        if national_shift is None
        else (SHIFT_SINGLE_LIMIT, SHIFT_PART_LIMIT)
    )
    if septets <= single:
        return SegmentInfo("GSM-7", 1, (text,), text, septets, (), national_shift)
    doubles = [found.start() for found in table.double_char.finditer(text)]
    parts = _greedy_parts(text, doubles, per_part)
    return SegmentInfo("GSM-7", len(parts), parts, text, septets, (), national_shift)


def _greedy_parts(
    text: str, wide: list[int], limit: int, boundaries: list[int] | None = None
) -> tuple[str, ...]:
    """Cut ``text`` into the longest parts of at most ``limit`` units, in order.

    Each character costs one unit, or two at the (sorted) indices in ``wide``: extension
    characters in GSM-7, astral code points in UCS-2. ``boundaries`` (sorted end offsets of
    the grapheme clusters) are the only places a part may end, when given. Binary searches
    over these lists find each cut, so no Python loop runs per character.
    """
    parts: list[str] = []
    start, length = 0, len(text)
    while start < length:
        end = _furthest_end(start, length, wide, limit)
        if boundaries is not None and end < length:
            end = _cluster_end_before(start, end, boundaries, wide, limit)
        parts.append(text[start:end])
        start = end
    return tuple(parts)


def _cost(start: int, end: int, wide: list[int]) -> int:
    return end - start + bisect_left(wide, end) - bisect_left(wide, start)


def _furthest_end(start: int, length: int, wide: list[int], limit: int) -> int:
    """The largest ``end`` with ``text[start:end]`` within ``limit`` units."""
    low, high = start + 1, min(length, start + limit)  # one character always fits
    if _cost(start, high, wide) <= limit:
        return high
    while low < high:
        middle = (low + high + 1) // 2
        if _cost(start, middle, wide) <= limit:
            low = middle
        else:
            high = middle - 1
    return low


def _cluster_end_before(
    start: int, end: int, boundaries: list[int], wide: list[int], limit: int
) -> int:
    """Move a cut at ``end`` back to the last cluster boundary, unless that cannot help."""
    index = bisect_right(boundaries, end)
    previous = boundaries[index - 1] if index else 0
    if previous == end:
        return end
    following = boundaries[index]
    if previous <= start or _cost(previous, following, wide) > limit:
        return end  # deliberate difference 3: a cluster larger than a part cannot stay whole
    return previous


def _split_ucs2(text: str) -> SegmentInfo:
    """UCS-2 parts: whole grapheme clusters, as many as fit in 67 UTF-16 units."""
    units = _utf16_units(text)
    if units <= UCS2_SINGLE_LIMIT:
        return SegmentInfo("UCS-2", 1, (text,), text, units)
    astral = [found.start() for found in _ASTRAL.finditer(text)] if units > len(text) else []
    boundaries = None
    if _JOINING.search(text) is not None:  # else every code point is a cluster of its own
        boundaries = list(accumulate(map(len, _CLUSTER.findall(text))))
    parts = _greedy_parts(text, astral, UCS2_PART_LIMIT, boundaries)
    return SegmentInfo("UCS-2", len(parts), parts, text, units)


def split_clusters(text: str) -> list[str]:
    """The grapheme clusters of ``text`` as splitting sees them (CR and LF apart)."""
    return list(_CLUSTER.findall(text))


def is_gsm7(text: str, *, national_shift: NationalShift | None = None) -> bool:
    """True when every character of ``text`` has a GSM 03.38 code (with the shift table)."""
    if _DEFAULT_TABLE.outside.search(text) is None:
        return True
    return national_shift is not None and _SHIFT_TABLES[national_shift].outside.search(text) is None


def smart_encode(text: str) -> tuple[str, tuple[Replacement, ...]]:
    """Apply Twilio's look-alike map unconditionally; return the text and what was replaced.

    ``analyze(..., smart_encoding=True)`` uses this only when it does not add a segment.
    """
    found = dict.fromkeys(_SMART_CHAR.findall(text))
    replaced = tuple(Replacement(ch, SMART_ENCODING_MAP[ch]) for ch in found)
    return text.translate(_SMART_TRANSLATION), replaced


def encode_gsm7(text: str, *, national_shift: NationalShift | None = None) -> bytes:
    """GSM 03.38 septets of ``text``, one per octet (unpacked), escapes included.

    Raises ``NotGsm7Error`` for a character outside the alphabet.
    """
    # Each shift table repeats the default extension at the same codes, so a text that needs
    # no shift encodes to the same septets under any table.
    table = _DEFAULT_TABLE if national_shift is None else _SHIFT_TABLES[national_shift]
    bad = table.outside.search(text)
    if bad is not None:
        raise NotGsm7Error(bad.start(), bad.group())
    return text.translate(table.encode).encode("latin-1")


def decode_gsm7(data: bytes, *, national_shift: NationalShift | None = None) -> str:
    """Text of unpacked GSM 03.38 septets, the inverse of ``encode_gsm7``.

    As TS 23.038 asks of a receiver, an escape before a code the extension table lacks
    shows the default character for that code, a double escape shows a space, and a
    trailing escape is dropped. Raises ``ValueError`` for an octet above 0x7F.
    """
    table = _DEFAULT_TABLE if national_shift is None else _SHIFT_TABLES[national_shift]
    out: list[str] = []
    escaped = False
    for position, code in enumerate(data):
        if code > 0x7F:
            raise ValueError(f"octet 0x{code:02X} at position {position} is not a septet")
        if escaped:
            out.append(" " if code == ESCAPE else table.extension.get(code, _DECODE_BASIC[code]))
            escaped = False
        elif code == ESCAPE:
            escaped = True
        else:
            out.append(_DECODE_BASIC[code])
    return "".join(out)


def pack_septets(septets: bytes, *, fill_bits: int = 0) -> bytes:
    """Pack 7-bit values into octets, least significant bit first (TS 23.038 6.1.2.1.1).

    ``fill_bits`` (0-6) zero bits come first, to align the text after a user data header.
    """
    if not 0 <= fill_bits <= 6:
        raise ValueError("fill_bits must be between 0 and 6")
    value = 0
    for index, septet in enumerate(septets):
        if septet > 0x7F:
            raise ValueError(f"octet 0x{septet:02X} at position {index} is not a septet")
        value |= septet << (7 * index)
    bits = fill_bits + 7 * len(septets)
    return (value << fill_bits).to_bytes((bits + 7) // 8, "little")


def unpack_septets(data: bytes, count: int, *, fill_bits: int = 0) -> bytes:
    """The first ``count`` septets packed in ``data``, one per octet.

    ``count`` is needed because 7 spare bits at the end look just like an ``@`` (0x00).
    """
    if not 0 <= fill_bits <= 6:
        raise ValueError("fill_bits must be between 0 and 6")
    if count < 0 or fill_bits + 7 * count > 8 * len(data):
        raise ValueError(f"{len(data)} octets cannot hold {count} septets")
    value = int.from_bytes(data, "little") >> fill_bits
    return bytes((value >> (7 * i)) & 0x7F for i in range(count))


def encode_ucs2(text: str) -> bytes:
    """UTF-16 big-endian octets of ``text`` (what SMS calls UCS-2). Rejects lone surrogates."""
    return _utf16_be(text)


def decode_ucs2(data: bytes) -> str:
    """Text of UTF-16 big-endian octets; ``UnicodeDecodeError`` if they are not valid."""
    return data.decode("utf-16-be")


def encode_parts(info: SegmentInfo) -> tuple[bytes, ...]:
    """Each part's payload for the wire, without header: unpacked septets or UTF-16-BE."""
    if info.encoding == "UCS-2":
        return tuple(encode_ucs2(part) for part in info.parts)
    return tuple(encode_gsm7(part, national_shift=info.national_shift) for part in info.parts)


def user_data_header(
    total: int, sequence: int, reference: int, *, national_shift: NationalShift | None = None
) -> bytes:
    """The user data header (UDHL included) of part ``sequence`` (1-based) of ``total``.

    Concatenation uses the 8-bit reference element (6 octets with UDHL), the size the
    153/67 limits assume; a shift adds the 3-octet single-shift element (149 septets).
    A single part without a shift needs no header: ``b""``.
    """
    if not 1 <= sequence <= total <= 255 or not 0 <= reference <= 255:
        raise ValueError("need 1 <= sequence <= total <= 255 and 0 <= reference <= 255")
    elements = b""
    if total > 1:
        elements += bytes((0x00, 0x03, reference, total, sequence))
    if national_shift is not None:
        elements += bytes((0x24, 0x01, NATIONAL_LANGUAGE_ID[national_shift]))
    return bytes((len(elements),)) + elements if elements else b""


def septet_fill_bits(header_length: int) -> int:
    """Fill bits after a ``header_length``-octet header so GSM-7 text starts on a septet."""
    return -(header_length * 8) % 7
