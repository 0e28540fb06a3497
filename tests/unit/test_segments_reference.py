"""textwire.segments agrees with Twilio's calculator, text for text (F-ENC-1..3, F-SVC-7).

``fixtures/segments_reference.json`` holds what npm ``sms-segments-calculator`` (run under
node by ``bench/make_segments_fixture.py``) answered for every text of the corpus: encoding,
segment count and each part's length, plain and with smart encoding, plus its GSM and
smart-encoding maps. Every answer must match, except where one of the deliberate
differences written down in ``textwire.segments`` explains it; those are checked for what
textwire does instead.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from textwire.segments import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    SMART_ENCODING_MAP,
    SegmentInfo,
    analyze,
    encode_gsm7,
    split_clusters,
)

FIXTURE = json.loads(
    (Path(__file__).parent / "fixtures" / "segments_reference.json").read_text(encoding="utf-8")
)
CASES: list[dict[str, Any]] = FIXTURE["cases"]
SMART_CASES = [case for case in CASES if case["smart"] is not None]
CALCULATOR_SMART_MAP: dict[str, str] = FIXTURE["maps"]["smart_encoding"]


def units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def slices(text: str, part_lengths: list[int]) -> list[str]:
    """The calculator's parts, cut from the text by their lengths in code points."""
    parts, start = [], 0
    for length in part_lengths:
        parts.append(text[start : start + length])
        start += length
    assert start == len(text)
    return parts


def cuts_a_cluster(parts: list[str], clusters: list[str]) -> bool:
    boundaries, position = set(), 0
    for cluster in clusters:
        position += len(cluster)
        boundaries.add(position)
    ends, position = [], 0
    for part in parts[:-1]:
        position += len(part)
        ends.append(position)
    return any(end not in boundaries for end in ends)


def whole_cluster_parts(clusters: list[str]) -> list[str]:
    """The calculator's own packing (greedy, 70 single / 67 per part) over whole clusters."""
    if sum(units(c) for c in clusters) <= 70:
        return ["".join(clusters)]
    parts: list[str] = [""]
    for cluster in clusters:
        if units(parts[-1]) + units(cluster) > 67:
            parts.append("")
        parts[-1] += cluster
    return parts


def classify(case: dict[str, Any], kind: str) -> str:
    """Which of the documented differences, if any, applies to this answer."""
    reference = case[kind]
    if kind == "smart" and reference["num_segments"] > case["plain"]["num_segments"]:
        return "smart-costs-more"  # deliberate difference 2
    text = case["text"]
    if kind == "smart":
        text = "".join(CALCULATOR_SMART_MAP.get(ch, ch) for ch in text)
    clusters = split_clusters(text)
    if reference["encoding"] == "UCS-2" and max(units(c) for c in clusters) > 67:
        return "oversized-cluster"  # deliberate difference 3
    if cuts_a_cluster(slices(text, reference["part_lengths"]), clusters):
        return "cut-cluster"  # deliberate difference 1
    return "same"


def check_against(info: SegmentInfo, text: str, reference: dict[str, Any], how: str) -> None:
    assert info.text == text
    assert info.encoding == reference["encoding"]
    expected = slices(text, reference["part_lengths"])
    if how == "same":
        assert list(info.parts) == expected
        assert info.num_segments == reference["num_segments"]
        assert set("".join(info.non_gsm_characters)) == set("".join(reference["non_gsm"]))
        if info.encoding == "GSM-7":
            assert info.num_characters == reference["number_of_characters"]
        return
    clusters = split_clusters(text)
    if how == "cut-cluster":
        # Same packing as the calculator, but over today's clusters, so none is cut.
        assert list(info.parts) == whole_cluster_parts(clusters)
        assert not cuts_a_cluster(list(info.parts), clusters)
        return
    assert how == "oversized-cluster"
    assert any(part == "" or units(part) > 67 for part in expected)  # what no carrier sends
    assert all(part and units(part) <= 67 for part in info.parts)


def case_id(case: dict[str, Any]) -> str:
    return str(case["name"])


def test_fixture_is_complete() -> None:
    assert FIXTURE["calculator"] == "sms-segments-calculator 1.3.0"
    assert len(CASES) > 400
    assert len(SMART_CASES) > 100


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_plain_analysis_matches_the_calculator(case: dict[str, Any]) -> None:
    """F-ENC-1, F-ENC-3: encoding, segment count and each part's characters."""
    how = classify(case, "plain")
    check_against(analyze(case["text"]), case["text"], case["plain"], how)


@pytest.mark.parametrize("case", SMART_CASES, ids=case_id)
def test_smart_encoding_matches_the_calculator(case: dict[str, Any]) -> None:
    """F-SVC-7: the same after Twilio's smart-encoding replacements."""
    info = analyze(case["text"], smart_encoding=True)
    how = classify(case, "smart")
    if how == "smart-costs-more":
        assert info == analyze(case["text"])  # textwire keeps the cheaper original
        return
    smart_text = "".join(CALCULATOR_SMART_MAP.get(ch, ch) for ch in case["text"])
    check_against(info, smart_text, case["smart"], how)
    assert info.smart_encoded


def test_documented_differences_are_exercised() -> None:
    """Each deliberate difference shows up in the corpus where the docstring says it does."""
    by_name = {case["name"]: case for case in CASES}
    assert classify(by_name["emoji-at-65-🫱🏼‍🫲🏿"], "plain") == "cut-cluster"
    assert classify(by_name["oversize-cluster"], "plain") == "oversized-cluster"
    assert classify(by_name["smart-tabs-100"], "smart") == "smart-costs-more"
    assert classify(by_name["smart-ellipsis-with-emoji"], "smart") == "smart-costs-more"
    everything = [classify(c, "plain") for c in CASES] + [classify(c, "smart") for c in SMART_CASES]
    assert everything.count("same") > 0.8 * len(everything)


def test_gsm_alphabet_matches_the_calculator_map() -> None:
    """F-ENC-1: the calculator's 137 GSM entries, septet for septet."""
    calculator = FIXTURE["maps"]["unicode_to_gsm"]
    assert set(calculator) == GSM7_BASIC | GSM7_EXTENSION
    for ch, septets in calculator.items():
        assert list(encode_gsm7(ch)) == septets, repr(ch)


def test_smart_encoding_map_matches_the_calculator_map() -> None:
    """F-SVC-7: Twilio's look-alike map, entry for entry."""
    assert dict(SMART_ENCODING_MAP) == CALCULATOR_SMART_MAP
