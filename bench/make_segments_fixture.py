"""Regenerate tests/unit/fixtures/segments_reference.json from Twilio's calculator.

Runs npm ``sms-segments-calculator`` (version pinned in bench/package.json) under node over
the corpus of ``segments_corpus.reference_cases()`` and writes its answers, plain and with
smart encoding, together with its GSM and smart-encoding maps:

    .venv/bin/python bench/make_segments_fixture.py
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from segments_corpus import reference_cases

BENCH = Path(__file__).resolve().parent
FIXTURE = BENCH.parent / "tests" / "unit" / "fixtures" / "segments_reference.json"
PACKAGE = "sms-segments-calculator"


def ensure_calculator() -> None:
    """Install the pinned calculator into bench/node_modules unless it is there."""
    if (BENCH / "node_modules" / PACKAGE).is_dir():
        return
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("npm is needed to install the reference calculator (bench/package.json)")
    command = "ci" if (BENCH / "package-lock.json").exists() else "install"
    subprocess.run([npm, command, "--no-audit", "--no-fund"], cwd=BENCH, check=True)


def run_node(*args: str, stdin: object = None) -> object:
    """Run reference_calculator.js with JSON on stdin; return its JSON answer."""
    node = shutil.which("node") or sys.exit("node is needed to run the reference calculator")
    done = subprocess.run(
        [node, str(BENCH / "reference_calculator.js"), *args],
        input=json.dumps(stdin) if stdin is not None else "",
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=True,
    )
    return json.loads(done.stdout)


def calculator_version() -> str:
    package = BENCH / "node_modules" / PACKAGE / "package.json"
    return str(json.loads(package.read_text(encoding="utf-8"))["version"])


def _dump(fixture: dict[str, object]) -> str:
    """JSON with one case per line, so that a regenerated fixture diffs readably."""
    cases = fixture.pop("cases")
    assert isinstance(cases, list)
    head = json.dumps(fixture, ensure_ascii=False)[:-1]
    lines = ",\n".join(json.dumps(case, ensure_ascii=False) for case in cases)
    return f'{head}, "cases": [\n{lines}\n]}}\n'


def main() -> None:
    ensure_calculator()
    cases = reference_cases()
    maps = run_node("maps")
    assert isinstance(maps, dict)
    plain = run_node("analyze", stdin=[{"text": t, "smart": False} for _, t in cases])
    assert isinstance(plain, list)
    # Smart encoding is recorded only for the texts it changes: those with a mapped character.
    mapped = set(maps["smart_encoding"])
    changed = [i for i, (_, text) in enumerate(cases) if mapped.intersection(text)]
    smart = run_node("analyze", stdin=[{"text": cases[i][1], "smart": True} for i in changed])
    assert isinstance(smart, list)
    smart_by_index = dict(zip(changed, smart, strict=True))
    fixture = {
        "generator": "bench/make_segments_fixture.py",
        "calculator": f"{PACKAGE} {calculator_version()}",
        "maps": maps,
        "cases": [
            {"name": name, "text": text, "plain": plain[i], "smart": smart_by_index.get(i)}
            for i, (name, text) in enumerate(cases)
        ],
    }
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    FIXTURE.write_text(_dump(fixture), encoding="utf-8")
    print(f"wrote {len(cases)} cases ({len(changed)} also with smart encoding) to {FIXTURE}")


if __name__ == "__main__":
    main()
