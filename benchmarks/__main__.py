"""Run the benchmarks: ``python -m benchmarks [--quick] [--only NAME ...]``.

Prints a markdown table and writes ``benchmarks/results/<UTC date-time>.json``
(machine, command, every row with its samples' summary).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shlex
import sys
import time
import traceback
from collections.abc import Callable
from datetime import datetime, timezone

from .common import RESULTS_DIR, Result, machine_info, markdown_table

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("NO_PROXY", "localhost,127.0.0.1")


# Each benchmark's module and entry point, imported on demand so `--only render`
# does not import gradio or playwright.
_RUNNERS = {
    "render": ("render_bench", "run"),
    "mock": ("mock_bench", "run"),
    "startup": ("app_bench", "run_startup"),
    "browser": ("app_bench", "run_click"),
    "api": ("app_bench", "run_api"),
    "memory": ("memory_bench", "run"),
    "load": ("load", "bench"),
    "fuzz": ("fuzz", "run"),
    "ocr": ("ocr_bench", "run"),
    "vs-prism": ("vs_prism", "run"),
    "hostile": ("hostile_bench", "run"),
}
BENCHMARKS = tuple(_RUNNERS)


def _load(name: str) -> Callable[[bool], list[Result]]:
    module, entry = _RUNNERS[name]
    return getattr(importlib.import_module(f".{module}", __package__), entry)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="fewer repetitions (about 2 minutes)")
    p.add_argument(
        "--only", action="append", choices=BENCHMARKS, metavar="NAME", help=f"one of {', '.join(BENCHMARKS)}"
    )
    p.add_argument("--out", help="JSON file to write (default benchmarks/results/<date>.json)")
    args = p.parse_args(argv)
    names = args.only or list(BENCHMARKS)
    started = datetime.now(timezone.utc)
    load_at_start = os.getloadavg()
    results: list[Result] = []
    timings: dict[str, float] = {}
    for name in names:
        print(f"== {name}", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        try:
            rows = _load(name)(args.quick)
        except Exception as exc:  # one broken benchmark must not hide the others' numbers
            traceback.print_exc()
            rows = [
                Result(
                    name=name,
                    what="(benchmark failed to run)",
                    target="",
                    unit="",
                    median=float("nan"),
                    passed=False,
                    notes=f"{type(exc).__name__}: {str(exc)[:200]}",
                )
            ]
        timings[name] = time.perf_counter() - t0
        for row in rows:
            print(f"   {row.name}: {row.cell()} [{row.verdict()}]", file=sys.stderr, flush=True)
        results.extend(rows)
    table = markdown_table(results)
    print(table)
    doc = {
        "date": started.isoformat(timespec="seconds"),
        "command": "python -m benchmarks " + shlex.join(argv if argv is not None else sys.argv[1:]),
        "quick": args.quick,
        "machine": machine_info(),
        "load_average_at_start": load_at_start,
        "load_average_at_end": os.getloadavg(),
        "seconds": timings,
        "results": [r.as_dict() for r in results],
        "table": table,
    }
    out = args.out or str(RESULTS_DIR / f"{started.strftime('%Y%m%dT%H%M%SZ')}.json")
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=2, default=str)
    print(f"\nwritten: {out}", file=sys.stderr)
    return 0 if all(r.passed is not False for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
