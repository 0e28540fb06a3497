"""Retry backoff, written once (issue 12 §2): the dispatch worker's hand-over retries and
the webhook deliverer's retries wait ``base × 2^(attempt-1)`` seconds, capped."""

from __future__ import annotations

import ast
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from textwire.backoff import backoff

SRC = Path(__file__).resolve().parents[2] / "src" / "textwire"

attempts = st.integers(min_value=1, max_value=5000)
bases = st.floats(min_value=1e-3, max_value=1e4, allow_nan=False, allow_infinity=False)
caps = st.floats(min_value=0.0, max_value=1e6, allow_nan=False, allow_infinity=False)


@given(bases, caps)
def test_the_first_retry_waits_the_base(base: float, cap: float) -> None:
    assert backoff(1, base, cap) == min(base, cap)


@given(attempts, bases, caps)
def test_monotone_and_capped(attempt: int, base: float, cap: float) -> None:
    now, then = backoff(attempt, base, cap), backoff(attempt + 1, base, cap)
    assert 0.0 <= now <= then <= cap


@given(attempts, bases, caps)
def test_doubles_until_the_cap(attempt: int, base: float, cap: float) -> None:
    now, then = backoff(attempt, base, cap), backoff(attempt + 1, base, cap)
    assert then == min(cap, 2 * now)


def test_the_defaults_of_the_worker_and_the_deliverer() -> None:
    assert [backoff(n, 2.0, 300.0) for n in range(1, 10)] == [2, 4, 8, 16, 32, 64, 128, 256, 300]
    assert backoff(10**6, 2.0, 600.0) == 600.0  # no OverflowError however many attempts


# The SMPP connector's in-call submit_sm retry (sub-second, nothing stored) is the providers
# work's to move; it is named here so that no new one can appear unnoticed.
ELSEWHERE = ["providers/smpp.py"]


def test_no_other_module_computes_a_backoff() -> None:
    """A power of two over an attempt count appears only in textwire/backoff.py."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        if path.name == "backoff.py" and path.parent == SRC:
            continue
        source = path.read_text()
        for node in ast.walk(ast.parse(source)):
            if (
                isinstance(node, ast.BinOp)
                and isinstance(node.op, ast.Pow)
                and "attempt" in (ast.get_source_segment(source, node.right) or "")
            ):
                found.append(str(path.relative_to(SRC)))
    assert found == ELSEWHERE
