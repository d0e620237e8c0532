"""The fuzz drivers: schemathesis against a server's /openapi.json, hypothesis on api_schema.

The suite runs them small (tests/mock/test_fuzz.py); ``python -m benchmarks.fuzz`` runs
them long.

HTTP: schemathesis generates requests from the mock's own OpenAPI document, both
schema-valid ("positive") and schema-violating ("negative") ones, sends them to a
real ``python -m mock_api`` and checks every answer: never a 5xx, status code and
content type documented, body matching the documented response schema. Failures
are collected (not shrunk) so one run reports all of them.

Properties: the api_schema properties (tests/schema/test_schema_properties.py) run
with as many examples as the caller asks for.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings

from mock_api.testing import AUTH


@dataclass
class FuzzReport:
    cases: int = 0
    server_errors: int = 0
    failures: list[str] = field(default_factory=list)
    statuses: collections.Counter = field(default_factory=collections.Counter)
    seconds: float = 0.0

    def by_operation(self) -> dict[str, int]:
        return dict(sorted((f"{k[0]} {k[1]} {k[2]} -> {k[3]}", v) for k, v in self.statuses.items()))


def _checks() -> list[Callable[..., Any]]:
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    return [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]


def fuzz_http(base_url: str, *, positive: int, negative: int, seed: int | None = None) -> FuzzReport:
    """Send ``positive`` + ``negative`` generated requests to the server; collect every failure."""
    import schemathesis
    from schemathesis import GenerationMode

    schema = schemathesis.openapi.from_url(base_url + "/openapi.json", timeout=30)
    checks = _checks()
    report = FuzzReport()
    start = time.perf_counter()
    for mode, count in ((GenerationMode.POSITIVE, positive), (GenerationMode.NEGATIVE, negative)):
        if count > 0:
            _fuzz_mode(schema, base_url, mode, count, checks, report, seed)
    report.seconds = time.perf_counter() - start
    return report


def _fuzz_mode(
    schema: Any, base_url: str, mode: Any, count: int, checks: list[Any], report: FuzzReport, seed: int | None
) -> None:
    from schemathesis.core.failures import FailureGroup

    strategy = schema.as_strategy(generation_mode=mode)

    @settings(
        max_examples=count,
        deadline=None,
        database=None,
        derandomize=seed is not None,
        phases=[Phase.generate],  # collect failures; shrinking would stop at the first
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def one(case: Any) -> None:
        report.cases += 1
        try:
            response = case.call(base_url=base_url, headers=AUTH, timeout=30)
        except Exception as exc:  # a dropped connection is a failure to report, like a 5xx
            report.failures.append(f"{mode.value} {case.method} {case.formatted_path}: {exc!r}"[:500])
            return
        report.statuses[(mode.value, case.method, case.path, response.status_code)] += 1
        if response.status_code >= 500:
            report.server_errors += 1
        for check in checks:
            try:
                case.validate_response(response, checks=[check], headers=AUTH)
            except (Exception, FailureGroup) as exc:  # FailureGroup is a BaseExceptionGroup
                body = str(case.body)[:200] if case.body is not None else ""
                report.failures.append(
                    f"{check.__name__}: {mode.value} {case.method} {case.formatted_path} "
                    f"-> {response.status_code}: {str(exc)[:300]} body={body}"
                )

    one()


def property_tests() -> dict[str, tuple[Callable[..., Any], tuple[Any, ...]]]:
    """The api_schema property tests: name -> (inner function, its strategies)."""
    from tests.schema import test_schema_properties as props

    # Each test with the strategies its own @given takes (named once in the test module).
    return {
        "valid tasks round-trip": (
            props.test_every_valid_task_round_trips.hypothesis.inner_test,
            props.ROUND_TRIP,
        ),
        "any JSON value gives error items": (
            props.test_any_json_value_never_raises.hypothesis.inner_test,
            props.ANY_JSON,
        ),
        "a mutated field is named": (
            props.test_a_mutated_field_gives_items_naming_it_or_stays_valid.hypothesis.inner_test,
            props.MUTATED,
        ),
    }


def _counting(inner: Callable[..., Any], calls: list[int]) -> Callable[[tuple[Any, ...]], None]:
    def counted(args: tuple[Any, ...]) -> None:
        calls[0] += 1
        inner(*args)

    return counted


def fuzz_properties(examples: int) -> dict[str, dict[str, Any]]:
    from hypothesis import strategies as st

    out: dict[str, dict[str, Any]] = {}
    for name, (inner, strategies) in property_tests().items():
        calls = [0]
        counted = _counting(inner, calls)
        test = settings(
            max_examples=examples,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )(given(st.tuples(*strategies))(counted))
        start = time.perf_counter()
        failure = ""
        try:
            test()
        except Exception as exc:
            failure = f"{type(exc).__name__}: {str(exc)[:500]}"
        out[name] = {"examples": calls[0], "failure": failure, "seconds": time.perf_counter() - start}
    return out
