"""Fuzzing over what the OpenAPI document declares (issue 11 §5 and "Done when"):
schemathesis against the live server, and a hypothesis fuzzer of our own over every
declared parameter. Both require zero 5xx, and every answer must match the document
(a success its resource schema, a refusal the error schema).

Repeatable: hypothesis is derandomized, so a CI failure reproduces locally.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure as CheckFailure
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.openapi_support import seed
from tests.support import LiveServer

pytestmark = pytest.mark.slow

# Per operation and strategy; three strategies and ~68 operations make ~3,000 cases.
EXAMPLES = 15


@dataclass(frozen=True)
class Failure:
    operation: str
    mode: str
    detail: str

    def __str__(self) -> str:
        return f"{self.operation} [{self.mode}]: {self.detail}"


def _order(label: str) -> tuple[int, str]:
    # Deletions last, so the seeded resources are there for everything else.
    return (1 if label.startswith("DELETE") else 0, label)


def test_schemathesis_finds_no_server_error_and_no_schema_violation(server: LiveServer) -> None:
    """issue 11 §5: "A CI test runs schemathesis against the live app with bounded
    examples, a few thousand cases in all, and requires zero server errors and zero
    response-schema violations"."""
    seeded = seed(server)
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    operations = sorted(
        (result.ok() for result in schema.get_all_operations()), key=lambda op: _order(op.label)
    )
    assert len(operations) >= 60
    failures: dict[tuple[str, str, str], Failure] = {}
    session = requests.Session()
    cases = 0

    for op in operations:
        real = seeded.path_parameters(op.path)
        strategies = {
            "positive, real ids": op.as_strategy(GenerationMode.POSITIVE, path_parameters=real),
            "positive": op.as_strategy(
                GenerationMode.POSITIVE, path_parameters={"account": seeded.account}
            ),
            "negative, real ids": op.as_strategy(GenerationMode.NEGATIVE, path_parameters=real),
        }
        for mode, strategy in strategies.items():

            def one(case: Any, mode: str = mode, label: str = op.label) -> None:
                nonlocal cases
                cases += 1
                try:
                    response = case.call(
                        base_url=server.url, session=session, headers=seeded.headers, timeout=30
                    )
                except requests.RequestException as exc:
                    _record(failures, label, mode, f"no answer: {exc!r}")
                    return
                try:
                    case.validate_response(
                        response, checks=[not_a_server_error, response_schema_conformance]
                    )
                except (CheckFailure, FailureGroup) as exc:  # collected, reported at the end
                    found = exc.exceptions if isinstance(exc, FailureGroup) else (exc,)
                    request = response.request
                    for failure in found:
                        detail = (
                            f"{response.status_code} {failure.title}: "
                            f"{failure.message.strip()[:500]}\n"
                            f"    request: {request.method} {request.url} "
                            f"body={request.body!r:.300}\n    answer: {response.text[:300]}"
                        )
                        _record(failures, label, mode, detail)

            run_examples(strategy, one)

    assert cases >= 2000, f"only {cases} cases ran"
    assert not failures, f"{len(failures)} distinct failures in {cases} cases:\n" + "\n".join(
        str(f) for f in failures.values()
    )


def run_examples(strategy: st.SearchStrategy[Any], test: Any) -> None:
    """``test`` over ``EXAMPLES`` draws of ``strategy``, the same draws on every run; no
    shrinking, since ``test`` records its failures instead of raising them."""

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        test(case)

    run()


def _record(
    failures: dict[tuple[str, str, str], Failure], label: str, mode: str, detail: str
) -> None:
    first_line = detail.splitlines()[0][:120]
    failures.setdefault((label, mode, first_line), Failure(label, mode, detail))
