"""Long fuzz runs: schemathesis against the mock's /openapi.json, hypothesis on api_schema.

    python -m benchmarks.fuzz                   # 2,000 + 2,000 HTTP cases, 3 x 2,000 property examples
    python -m benchmarks.fuzz --cases 300 --examples 300

The drivers are the test suite's (tests/support/fuzzing.py), run with many more cases.
"""

from __future__ import annotations

import argparse
import json
import sys

from tests.support.fuzzing import fuzz_http, fuzz_properties

from .common import Result, spawn_mock


def run(quick: bool = False, *, cases: int | None = None, examples: int | None = None) -> list[Result]:
    cases = cases or (150 if quick else 2000)
    examples = examples or (200 if quick else 2000)
    with spawn_mock("--random-seed", "3", "--speed", "0") as mock:
        report = fuzz_http(mock.url, positive=cases, negative=cases)
        log = mock.log_text()
    tracebacks = log.count("Traceback")
    props = fuzz_properties(examples)
    prop_failures = [f"{n}: {p['failure']}" for n, p in props.items() if p["failure"]]
    return [
        Result(
            name="fuzz_http",
            what="schemathesis positive + negative cases on the mock's /openapi.json",
            target="0 5xx, 0 check failures",
            unit="5xx",
            median=report.server_errors,
            runs=report.cases,
            passed=report.server_errors == 0 and not report.failures and tracebacks == 0,
            notes=(
                f"{report.cases} cases in {report.seconds:.0f} s, {len(report.failures)} check failures, "
                f"{tracebacks} tracebacks in the mock's log"
            ),
            extra={"statuses": report.by_operation(), "failures": report.failures[:50]},
        ),
        Result(
            name="fuzz_properties",
            what="hypothesis properties of api_schema (tests/schema/test_schema_properties.py), long run",
            target="0 failures",
            unit="failures",
            median=len(prop_failures),
            runs=sum(p["examples"] for p in props.values()),
            passed=not prop_failures,
            notes="; ".join(f"{n}: {p['examples']} examples" for n, p in props.items()),
            extra={"properties": props},
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.fuzz", description=__doc__.split("\n\n")[0])
    p.add_argument("--cases", type=int, default=2000, help="HTTP cases per mode (positive, negative)")
    p.add_argument("--examples", type=int, default=2000, help="examples per api_schema property")
    args = p.parse_args(argv)
    results = run(cases=args.cases, examples=args.examples)
    for r in results:
        print(f"{r.name}: {r.verdict()} — {r.runs} runs, {r.notes}")
        for line in r.extra.get("failures", [])[:20]:
            print("  ", line)
    print(json.dumps({r.name: r.extra for r in results}, indent=2, default=str)[:4000])
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
