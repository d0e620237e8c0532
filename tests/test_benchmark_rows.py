"""How ``python -m benchmarks --only vs-prism`` turns its wrk runs into the rows of issue 14's goals."""

from __future__ import annotations

from benchmarks.vs_prism import Settings, rows
from benchmarks.wrk import WrkRun


def _run(rate: float, *, cpu_ms: float = 0.25, errors: int = 0) -> WrkRun:
    requests = int(rate * 10)
    return WrkRun(
        requests=requests,
        seconds=10.0,
        errors={"status": errors} if errors else {},
        p50_ms=2.0,
        p99_ms=5.0,
        server_cpu_s=cpu_ms * requests / 1000,
        wrk_cpu_s=2.0,
        others_cores=0.0,
        steal_cores=0.0,
    )


def _report(mock: list[WrkRun], prism: list[WrkRun]) -> dict:
    return {
        "runs": {"mock": mock, "prism": prism},
        "warmup_failures": 0,
        "load_before": (0.5, 0.5, 0.5),
        "load_after": (0.7, 0.6, 0.5),
        "profile": None,
    }


def test_the_throughput_row_is_the_median_of_the_rounds_own_ratios_and_shows_them():
    # Rounds 2.0x, 1.0x, 1.6x: the median ratio is 1.6x, while the ratio of the two servers'
    # medians (4,000 / 3,000) would read 1.33x. Each round is one moment of the machine, so
    # the pairs are what is compared.
    mock = [_run(4000), _run(3000), _run(4800)]
    prism = [_run(2000), _run(3000), _run(3000)]
    by_name = {r.name: r for r in rows(_report(mock, prism), Settings(), "5.14.2")}
    row = by_name["vs_prism_rps"]
    assert abs(row.median - 1.6) < 1e-9
    assert row.passed is True
    assert row.runs == 3
    assert "per round 2.00, 1.00, 1.60" in row.notes
    assert "medians mock 4,000 / Prism 3,000 req/s" in row.notes


def test_any_failed_request_fails_every_row_whatever_the_ratios():
    mock = [_run(5000), _run(5000, errors=3), _run(5000)]
    prism = [_run(2000)] * 3
    for row in rows(_report(mock, prism), Settings(), "5.14.2"):
        assert row.passed is False, row.name  # p99 too, which has no goal of its own
        assert row.notes.startswith("FAILED: 3 non-2xx or socket errors"), row.notes


def test_without_failures_the_p99_row_has_no_verdict():
    by_name = {r.name: r for r in rows(_report([_run(5000)] * 3, [_run(2000)] * 3), Settings(), "5.14.2")}
    assert by_name["vs_prism_p99"].passed is None
    assert by_name["vs_prism_cpu"].passed is False  # the same 0.25 ms each: 1x misses <= 0.8x
    assert by_name["vs_prism_rps"].passed is True  # 2.5x
