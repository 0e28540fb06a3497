"""Texts for checking and timing textwire.segments against Twilio's calculator.

``reference_cases()`` feeds ``make_segments_fixture.py`` (the checked-in reference answers);
``bench_corpus()`` feeds ``segments.py`` (the benchmark). Both are deterministic.
"""

from __future__ import annotations

import random

# The GSM 03.38 default alphabet and extension table, written out independently of
# textwire.segments so that the corpus does not inherit a mistake from the code under test.
GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = "\f^{}\\[~]|€"
ACCENTED = [*"áíóúâêôãõçğışİŞĞőűłśźżčřžœЖжЯяαβγ漢字", "مرحبا", "नमस्ते"]
EMOJI = [
    "😀", "👍🏽", "🇺🇸", "🇫🇷", "👨‍👩‍👧", "🧑‍💻", "1️⃣", "✔️", "☺",
    "🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f",
]  # fmt: skip
# Clusters of current Unicode that the calculator's grapheme-splitter 1.0.4 cuts in two.
MODERN_CLUSTERS = ["👨🏿‍🦰", "❤️‍🔥", "🐻‍❄️", "🏴‍☠️", "🫱🏼‍🫲🏿", "क्ष"]
COMBINING = ["e\u0301", "n\u0303", "a\u0308\u0301", "u\u0308"]
SMART = list("“”‘’–—…•«»\u00a0\u2009\u200b\t＂！＠ＡＺ０９\u2039\u203a\u00bd\u2017\u02c6")
WORDS = ["your", "code", "is", "ready", "to", "collect", "from", "the", "store", "today"]

# Where parts begin and end: single/concatenated limits for GSM-7, UCS-2 and shifted GSM-7.
BOUNDARIES = [67, 70, 134, 149, 153, 155, 160, 201, 268, 306, 335, 459, 612]


def _boundary_cases() -> list[tuple[str, str]]:
    """The cases the issue names, each a little either side of its limit."""
    cases: list[tuple[str, str]] = [("empty", "")]
    for n in (153, 159, 160, 161, 306, 307, 459, 460):
        cases.append((f"gsm-{n}", "a" * n))
    for n in (67, 69, 70, 71, 134, 135, 201, 202):
        cases.append((f"ucs2-{n}", "Ж" * n))
    for n in (79, 80, 81, 153):
        cases.append((f"ext-{n}", "{" * n))
    for ch in GSM_EXTENSION:
        cases.append((f"ext-at-152-{ord(ch):04x}", "a" * 152 + ch + "a" * 20))
        cases.append((f"ext-at-159-{ord(ch):04x}", "a" * 159 + ch))
        cases.append((f"ext-at-305-{ord(ch):04x}", "b" * 305 + ch + "c" * 5))
    for emoji in EMOJI + MODERN_CLUSTERS:
        cases.append((f"emoji-at-66-{emoji}", "Ж" * 66 + emoji + "Ж" * 10))
        cases.append((f"emoji-at-65-{emoji}", "Ж" * 65 + emoji + "Ж" * 10))
        cases.append((f"emoji-repeat-{emoji}", emoji * (140 // len(emoji.encode("utf-16-le")))))
    cases.append(("emoji-36", "😀" * 36))
    cases.append(("family-alone", "👨‍👩‍👧"))
    for n in (151, 152, 153):
        cases.append((f"crlf-gsm-{n}", "a" * n + "\r\n" + "b" * 20))
    for n in (65, 66, 67):
        cases.append((f"crlf-ucs2-{n}", "Ж" * n + "\r\n" + "Ж" * 20))
    cases.append(("crlf-many", "line\r\n" * 40))
    cases.append(("combining-at-66", "Ж" * 66 + "e\u0301" + "Ж" * 10))
    cases.append(("oversize-cluster", "Ж" * 10 + "a" + "\u0301" * 90 + "Ж" * 10))
    cases.append(("all-gsm-basic", GSM_BASIC))
    cases.append(("all-gsm-extension", GSM_EXTENSION * 3))
    cases.append(("all-gsm-then-emoji", GSM_BASIC + GSM_EXTENSION + "😀"))
    return cases


def _smart_cases() -> list[tuple[str, str]]:
    """Look-alikes alone, in GSM text, and where replacing them would cost more."""
    cases = [(f"smart-{ord(ch):04x}", f"Say {ch}hello{ch} to {ch}all{ch} of you") for ch in SMART]
    cases.append(("smart-quotes-161", "“" + "a" * 159 + "”"))
    cases.append(("smart-tabs-100", "\t" * 100))
    cases.append(("smart-nbsp-70", "\u00a0" * 70))
    cases.append(("smart-ellipsis-with-emoji", "😀" + "…" * 66))
    cases.append(("smart-dashes-with-emoji", "😀 " + "— " * 40))
    return cases


def _random_text(rng: random.Random) -> str:
    style = rng.choice(
        ["gsm", "ext", "accented", "emoji", "combining", "smart", "crlf", "mixed", "modern"]
    )
    if rng.random() < 0.6:
        target = rng.choice(BOUNDARIES) + rng.randint(-4, 4)
    else:
        target = rng.randint(1, 480)
    pieces: list[str] = []
    size = 0
    while size < target:
        piece = _random_piece(rng, style)
        pieces.append(piece)
        size += len(piece)
    return "".join(pieces)


def _random_piece(rng: random.Random, style: str) -> str:
    roll = rng.random()
    if style == "gsm" or roll < 0.55:
        return rng.choice([rng.choice(WORDS) + " ", rng.choice(GSM_BASIC)])
    pools = {
        "ext": GSM_EXTENSION,
        "accented": ACCENTED,
        "emoji": EMOJI,
        "combining": COMBINING,
        "smart": SMART,
        "crlf": ["\r\n"],
        "mixed": [*GSM_EXTENSION, *ACCENTED, *EMOJI, *COMBINING, *SMART, "\r\n"],
        "modern": MODERN_CLUSTERS,
    }
    return str(rng.choice(pools[style]))


def reference_cases(count: int = 320, seed: int = 20240523) -> list[tuple[str, str]]:
    """(name, text) pairs: the named boundary and smart cases, then ``count`` random ones."""
    rng = random.Random(seed)
    random_cases = [(f"random-{i}", _random_text(rng)) for i in range(count)]
    return [*_boundary_cases(), *_smart_cases(), *random_cases]


def typical_messages(count: int, seed: int = 7) -> list[str]:
    """Everyday GSM-7 notifications of at most 160 characters, all different."""
    rng = random.Random(seed)
    templates = [
        "Your verification code is {n}. It expires in 10 minutes.",
        "Hi {name}, your order #{n} has shipped and will arrive on {day}. Track: https://tw.to/{s}",
        "{name}, your appointment is confirmed for {day} at {h}:30. Reply C to cancel.",
        "Reminder: your table for {h} at Luigi's is booked for {day}. See you soon!",
        "Sale! 20% off everything this weekend only. Use code SAVE{n}. Reply STOP to opt out",
        "Your parcel {n} is at the pick-up point on Main St. Open until {h}pm @ the desk.",
    ]
    names = ["Anna", "Ben", "Chloé", "Dmitri", "Eve", "Frank", "Grace", "Hugo"]
    days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
    out: list[str] = []
    for i in range(count):
        text = rng.choice(templates).format(
            n=rng.randint(100000, 999999) + i,
            name=rng.choice(names),
            day=rng.choice(days),
            h=rng.randint(1, 12),
            s="".join(rng.choices("abcdefghijkmnpqrstuvwxyz23456789", k=7)),
        )
        out.append(text[:160])
    return out


def bench_corpus(count: int, seed: int = 11) -> list[str]:
    """A mixed day of traffic: 70% typical GSM, then extension-heavy, accented and emoji."""
    rng = random.Random(seed)
    typical = typical_messages(count, seed)
    out: list[str] = []
    for i in range(count):
        roll = rng.random()
        base = typical[i]
        if roll < 0.70:
            out.append(base)
        elif roll < 0.80:
            out.append(base + " {promo} [" + "€" * rng.randint(1, 5) + "] ~ ^_^ | \\o/")
        elif roll < 0.90:
            out.append("Zamówienie gotowe, odbiór w środę. Dziękujemy! Ελα " + base)
        else:
            out.append(base + " " + "".join(rng.choices(EMOJI, k=rng.randint(1, 4))))
    return out
