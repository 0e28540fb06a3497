"""`textwire segments`: the calculator on the command line (F-ENC, F-API-3)."""

from __future__ import annotations

import json
import subprocess
import sys

from typer.testing import CliRunner

from textwire.cli import app
from textwire.commands.segments import NON_GSM_STYLE, part_text

runner = CliRunner()


def test_prints_encoding_segments_characters_and_parts() -> None:
    """F-ENC-2: encoding, segment count, characters used and each part."""
    result = runner.invoke(app, ["segments", "a" * 155 + "{ok}"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "GSM-7" in out
    assert "Segments    2" in out
    assert "161 septets" in out
    assert "Part 1      153/153 septets" in out
    assert "Part 2      8/153 septets" in out


def test_json_output() -> None:
    """F-ENC-2: --json gives the whole analysis as data."""
    result = runner.invoke(app, ["segments", "Ж" * 70 + "😀", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["encoding"] == "UCS-2"
    assert data["num_segments"] == 2
    assert data["num_characters"] == 72
    assert data["parts"] == ["Ж" * 67, "ЖЖЖ😀"]
    assert data["part_sizes"] == [67, 5]
    assert data["non_gsm_characters"] == ["Ж", "😀"]
    assert data["smart_encoded"] is False


def test_smart_encoding_and_national_shift_options() -> None:
    """F-SVC-7: --smart-encoding shows what was replaced; --national-shift uses the table."""
    smart = runner.invoke(app, ["segments", "“Hi” – ok…", "--smart-encoding", "--json"])
    data = json.loads(smart.stdout)
    assert (data["encoding"], data["text"]) == ("GSM-7", '"Hi" - ok...')
    assert {"original": "…", "replacement": "..."} in data["replacements"]
    plain = runner.invoke(app, ["segments", "“Hi” – ok…", "--smart-encoding"])
    assert "Smart encoding" in plain.stdout
    shifted = runner.invoke(app, ["segments", "Güzel şey", "--national-shift", "turkish"])
    assert "GSM-7 with the turkish single-shift table" in shifted.stdout
    bad = runner.invoke(app, ["segments", "x", "--national-shift", "klingon"])
    assert bad.exit_code == 2


def test_lone_surrogate_is_a_clear_error_with_exit_code_2() -> None:
    """F-SEC-4: invalid input gets a clear error and exit code 2."""
    result = runner.invoke(app, ["segments", "ab\ud83d"])
    assert result.exit_code == 2
    assert "lone surrogate U+D83D at character 2" in result.stderr
    assert result.stdout == ""


def test_undecodable_argument_bytes_are_a_clear_error_with_exit_code_2() -> None:
    """F-SEC-4: bytes that are not UTF-8 on the real command line."""
    done = subprocess.run(
        [sys.executable, "-m", "textwire", "segments", b"ok \xff\xfe"],
        capture_output=True,
        check=False,
    )
    assert done.returncode == 2
    assert b"TEXT is not valid UTF-8: byte 0xFF at character 3" in done.stderr


def test_non_gsm_characters_are_highlighted_in_parts() -> None:
    """F-ENC-3: the clusters that force UCS-2 stand out, as in the web calculator."""
    text = part_text("aЖ👍🏽\n\t")
    assert text.plain == "aЖ👍🏽↵␉"
    styled = {text.plain[span.start : span.end]: str(span.style) for span in text.spans}
    assert styled == {"Ж": NON_GSM_STYLE, "👍🏽": NON_GSM_STYLE, "↵": "dim", "␉": NON_GSM_STYLE}
