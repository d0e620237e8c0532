"""Load on the mock: many sync clients and async tasks at once, nothing lost or doubled.

    python -m benchmarks.load                       # 50 clients x 20 sync + 100 async, 3 rounds
    python -m benchmarks.load --clients 10 --per-client 5 --async-tasks 20 --rounds 2
    python -m benchmarks.load --url http://127.0.0.1:8808   # a mock you started (no RSS check)
    python -m benchmarks.load --app 8               # also 8 simultaneous /generate through app.py

The driver is the test suite's (tests/support/load.py), run at full size.
"""

from __future__ import annotations

import argparse
import json
import sys

from tests.support.load import run

from .common import Result

# --------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__.split("\n\n")[0])
    p.add_argument("--url", help="a running mock (default: start `python -m mock_api` on a free port)")
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--per-client", type=int, default=20)
    p.add_argument("--async-tasks", type=int, default=100)
    p.add_argument("--rounds", type=int, default=3, help="the first one only warms up (default 3)")
    p.add_argument("--time-limit", type=float, default=120.0, help="seconds per round")
    p.add_argument("--app", type=int, default=0, metavar="N", help="also N simultaneous /generate via app.py")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    args = p.parse_args(argv)
    report = run(
        url=args.url,
        clients=args.clients,
        per_client=args.per_client,
        async_tasks=args.async_tasks,
        rounds=max(1, args.rounds),
        time_limit_s=args.time_limit,
        app_generations=args.app,
        echo=not args.json,
    )
    if args.json:
        print(json.dumps(report, indent=2))
    return 0 if report["passed"] else 1


def bench(quick: bool = False) -> list[Result]:
    """The load as benchmark rows (for ``python -m benchmarks``)."""
    shape = (10, 5, 20, 2) if quick else (50, 20, 100, 3)
    clients, per_client, async_tasks, rounds = shape
    report = run(
        clients=clients,
        per_client=per_client,
        async_tasks=async_tasks,
        rounds=rounds,
        app_generations=8,
        echo=False,
    )
    measured = report["rounds"][1:] or report["rounds"]
    errors = sum(len(r["errors"]) + r["lost"] + r["duplicated"] for r in report["rounds"])
    times = ", ".join(f"{r['seconds']:.1f}" for r in measured)
    rss = ", ".join(f"{r['rss_mb']:.0f}" for r in report["rounds"] if r["rss_mb"] is not None)
    app_done = sum(o["ok"] for o in report["app"])
    return [
        Result(
            name="load_mock",
            what=(
                f"{clients} clients x {per_client} sync + {async_tasks} async tasks (x2 images), "
                f"{rounds} rounds"
            ),
            target="0 errors/lost/duplicated; RSS back to plateau",
            unit="problems",
            median=errors,
            runs=sum(r["sync_sent"] + r["async_sent"] for r in report["rounds"]),
            passed=errors == 0 and report["memory_ok"],
            notes=(
                f"measured rounds took {times} s; "
                f"RSS after each round {rss} MB (plateau {report['plateau_mb']:.0f})"
            ),
            extra=report,
        ),
        Result(
            name="load_app",
            what="8 simultaneous /generate through app.py (gradio_client)",
            target="8 of 8 complete",
            unit="complete",
            median=app_done,
            runs=len(report["app"]),
            passed=app_done == 8 and len({o.get("imageUUID") for o in report["app"]}) == 8,
            extra={"app": report["app"]},
        ),
    ]


if __name__ == "__main__":
    sys.exit(main())
