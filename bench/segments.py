"""Benchmark: textwire.segments.analyze against Twilio's calculator run under node.

Both segment the same texts, one message at a time on a single thread: everyday GSM-7
notifications (at most 160 characters), and a mixed day of traffic (70% of those, then
extension-heavy, accented UCS-2 and emoji messages). Prints messages per second for each and
the ratio. Goals (issue 2): at least 200,000 typical messages/s and 100x the calculator.

    .venv/bin/python bench/segments.py [--seconds 3] [--texts 2000]

Installs the pinned calculator into bench/node_modules (npm ci) when it is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from make_segments_fixture import ensure_calculator, run_node
from segments_corpus import bench_corpus, typical_messages
from textwire.segments import analyze

GOAL_TYPICAL = 200_000
GOAL_RATIO = 100


def textwire_rate(texts: list[str], seconds: float) -> float:
    """Best messages/s of several passes over ``texts`` within about ``seconds``."""
    best = 0.0
    deadline = time.perf_counter() + seconds
    while True:
        started = time.perf_counter()
        for text in texts:
            analyze(text)
        finished = time.perf_counter()
        best = max(best, len(texts) / (finished - started))
        if finished >= deadline:
            return best


def calculator_rate(texts: list[str], seconds: float) -> float:
    answer = run_node("bench", str(seconds), stdin=texts)
    assert isinstance(answer, dict)
    return float(answer["per_second"])


def agreement(texts: list[str]) -> tuple[int, int]:
    """How many texts get the same encoding and segment count from both."""
    answers = run_node("analyze", stdin=[{"text": t, "smart": False} for t in texts])
    assert isinstance(answers, list)
    same = sum(
        (info.encoding, info.num_segments) == (ref["encoding"], ref["num_segments"])
        for info, ref in zip(map(analyze, texts), answers, strict=True)
    )
    return same, len(texts)


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [ln.split(":", 1)[1].strip() for ln in cpuinfo.read_text().splitlines()
                 if ln.startswith("model name")]  # fmt: skip
        cpu = names[0] if names else cpu
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False)
    return (
        f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()},"
        f" node {node.stdout.strip()}; load average {os.getloadavg()[0]:.1f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    parser.add_argument("--texts", type=int, default=2000, help="distinct texts per corpus")
    args = parser.parse_args()
    ensure_calculator()
    print(machine())
    corpora = {"typical GSM-7": typical_messages(args.texts), "mixed": bench_corpus(args.texts)}
    print(f"{'corpus':<15}{'textwire msg/s':>16}{'calculator msg/s':>18}{'ratio':>9}{'agree':>13}")
    results = {}
    for name, texts in corpora.items():
        ours = textwire_rate(texts, args.seconds)
        theirs = calculator_rate(texts, args.seconds)
        same, total = agreement(texts)
        results[name] = (ours, theirs)
        print(f"{name:<15}{ours:>16,.0f}{theirs:>18,.0f}{ours / theirs:>8,.0f}x{same:>7}/{total}")
    typical, _ = results["typical GSM-7"]
    worst_ratio = min(ours / theirs for ours, theirs in results.values())
    met = typical >= GOAL_TYPICAL and worst_ratio >= GOAL_RATIO
    print(
        f"goals: >= {GOAL_TYPICAL:,} typical msg/s ({typical:,.0f}),"
        f" >= {GOAL_RATIO}x the calculator ({worst_ratio:,.0f}x): {'met' if met else 'MISSED'}"
    )
    print(
        json.dumps(
            {k: {"textwire": round(a), "calculator": round(b)} for k, (a, b) in results.items()}
        )
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
