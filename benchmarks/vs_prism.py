"""The mock side by side with Stoplight Prism, both serving the first documented example.

    python -m benchmarks --only vs-prism
    python -m benchmarks.vs_prism                      # 3 rounds x 10 s after a 20 s warm-up each
    python -m benchmarks.vs_prism --rounds 1 --seconds 5 --profile /tmp/mock-profile.txt
    python -m benchmarks.vs_prism --mock-python /usr/bin/python3.11   # the mock on another CPython

Both servers run at once on loopback: ``python -m mock_api`` replaying the documented
example (validation, journal and all), and Prism answering the same response as a
static OpenAPI example (``benchmarks/prism.py``). wrk drives each in turn with
8 connections, a fresh taskUUID per request; the rounds alternate which server goes
first so a change in the machine's load hits both alike, and a round in which the
hypervisor took more than ``NOISY_STEAL_CORES`` from either run is run again (at most as
many times as there are rounds; ``--keep-noisy`` keeps them). Per run: requests/s,
server CPU per request (/proc, the server's whole process tree), p50 and p99. The
rows give the median over rounds of the per-round ratio mock/Prism against the
goals of issue 14. Before timing, one answer from each is checked against the
documented one; any non-2xx or socket error in any run fails the rows.

The mock runs on this interpreter unless told otherwise (``--mock-python``, or
``VS_PRISM_MOCK_PYTHON`` for ``python -m benchmarks``), and the rows name it: how CPython
was built moves the mock's CPU per answer by about 14 % (BENCHMARKS.md, "Phase 7"). On
this machine Debian's python3.11, whose executable has libpython linked in, costs that
much less than pyenv's default build, which loads libpython as a shared library.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from api_schema import load_examples
from mock_api.testing import AUTH, documented_request, spawn_mock

from . import profile
from .common import Result
from .prism import PrismUnavailable, ensure_prism, openapi_document, serve_prism
from .wrk import WrkRun, find_wrk, lua_script, run_wrk

CONNECTIONS = 8
THREADS = 2

# Issue 14's goals, as ratios mock / Prism: (row name, what, WrkRun attribute, "<=" or ">=", limit).
GOALS = (
    ("vs_prism_cpu", "server CPU per request, mock / Prism", "cpu_ms_per_request", "<=", 0.8),
    ("vs_prism_rps", "throughput, mock / Prism", "rate", ">=", 1.5),
    ("vs_prism_p50", "latency p50, mock / Prism", "p50_ms", "<=", 1.0),
    ("vs_prism_p99", "latency p99, mock / Prism", "p99_ms", None, None),
)
# Past this much stolen time in a timed run, its round is run again (at most as many times as
# there are rounds; both servers' runs of the round alike), and the rows say the host was noisy
# if a kept run still had as much. Time the hypervisor gives other guests slows whichever server
# it falls on: 0.42 cores stolen from one of the mock's runs put its CPU per request at 0.18 ms
# against 0.136 ms in a quiet run of the same server a minute before.
NOISY_STEAL_CORES = 0.1
MOCK_PYTHON_ENV = "VS_PRISM_MOCK_PYTHON"
# What the rows say of the interpreter that runs the mock: its version, and whether libpython
# is a shared library, one of the ways two builds of one version differ (BENCHMARKS.md, phase 7).
_DESCRIBE_PYTHON = (
    "import platform, sys; maps = open('/proc/self/maps').read(); "
    "print(platform.python_implementation(), platform.python_version(), sys.executable, "
    "'shared' if 'libpython' in maps else 'static')"
)
INTERPRETER_TIMEOUT_S = 30.0
UNITS = {"cpu_ms_per_request": "ms CPU/request", "rate": "req/s", "p50_ms": "ms", "p99_ms": "ms"}


def default_mock_python() -> str:
    """The interpreter that runs the mock unless told: ``VS_PRISM_MOCK_PYTHON``, else this one."""
    return os.environ.get(MOCK_PYTHON_ENV) or sys.executable


@dataclasses.dataclass
class Settings:
    rounds: int = 3
    seconds: float = 10.0
    # Prism (Node's JIT, V8's heap sizing) reaches its steady speed after 15-20 s of load: its
    # CPU per request fell from 2.3 to 0.85 ms over the first three 5-s runs, then stayed.
    warmup: float = 20.0
    connections: int = CONNECTIONS
    threads: int = THREADS
    profile: Path | None = None  # py-spy output of one extra, mock-only run (after the timed ones)
    mock_python: str = dataclasses.field(default_factory=default_mock_python)
    rerun_noisy: bool = True  # run a round again when the hypervisor took much of one of its runs


QUICK = Settings(rounds=2, seconds=5.0, warmup=10.0)


def expected_mock_answer(documented: dict[str, Any], task_uuid: str, base_url: str) -> dict[str, Any]:
    """The mock's replay of the documented answer: the caller's taskUUID, the image served locally."""
    items = []
    for item in documented["data"]:
        path = urlsplit(item["imageURL"]).path
        items.append({**item, "taskUUID": task_uuid, "imageURL": base_url + path})
    return {"data": items}


def check_answer(name: str, url: str, expected: Any) -> None:
    """One documented request to ``url``; RuntimeError unless it is a 200 with the expected body."""
    request = documented_request(0)
    answer = httpx.post(url + "/v1", json=[request], headers=AUTH, timeout=10, trust_env=False)
    body = answer.json() if answer.headers.get("content-type", "").startswith("application/json") else None
    want = expected(request["taskUUID"]) if callable(expected) else expected
    if answer.status_code != 200 or body != want:
        raise RuntimeError(
            f"{name} did not answer the documented example: {answer.status_code} {answer.text[:300]}"
        )


def measure(settings: Settings, wrk: str, prism_bin: Path, echo: bool = False) -> dict[str, Any]:
    """Every run of both servers, the load averages around them, and the profile summary if asked."""
    example = load_examples()[0]
    interpreter = describe_interpreter(settings.mock_python)
    runs: dict[str, list[WrkRun]] = {"mock": [], "prism": []}
    noisy: list[dict[str, WrkRun]] = []  # rounds run again, the hypervisor having taken much of one
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="vs-prism-") as tmp:
        folder = Path(tmp)
        script = folder / "documented.lua"
        script.write_text(lua_script(example.request, AUTH["Authorization"]))
        document = folder / "documented-example.json"  # JSON is YAML: Prism reads either
        document.write_text(json.dumps(openapi_document(example.response)))
        probe = json.dumps([documented_request(0)]).encode()
        headers = {**AUTH, "Content-Type": "application/json"}
        with (
            spawn_mock(log_path=folder / "mock.log", python=settings.mock_python) as mock,
            serve_prism(
                prism_bin, document, probe_body=probe, headers=headers, log_path=folder / "prism.log"
            ) as prism,
        ):
            servers = {"mock": mock, "prism": prism}
            check_answer("prism", prism.url, example.response)
            check_answer(
                "mock", mock.url, lambda uuid: expected_mock_answer(example.response, uuid, mock.url)
            )

            def one(name: str, seconds: float, label: str = "") -> WrkRun:
                server = servers[name]
                result = run_wrk(
                    wrk,
                    server.url,
                    script,
                    server_pid=server.proc.pid,
                    seconds=seconds,
                    connections=settings.connections,
                    threads=settings.threads,
                )
                if echo:
                    print(f"   {name:5} {_describe(result)}{label}", file=sys.stderr, flush=True)
                return result

            warmups = [one(name, settings.warmup, " (warm-up, not counted)") for name in runs]
            attempt = 0
            while len(runs["mock"]) < settings.rounds:
                order = ("mock", "prism") if attempt % 2 == 0 else ("prism", "mock")
                attempt += 1
                pair = {name: one(name, settings.seconds) for name in order}
                stolen = max(r.steal_cores for r in pair.values())
                if settings.rerun_noisy and stolen > NOISY_STEAL_CORES and len(noisy) < settings.rounds:
                    noisy.append(pair)
                    if echo:
                        print(f"   (round run again: {stolen:.2f} cores stolen)", file=sys.stderr, flush=True)
                    continue
                for name, result in pair.items():
                    runs[name].append(result)
            summary = None
            if settings.profile is not None:
                summary = profile.record_under_load(
                    mock.proc.pid, settings.profile, lambda: one("mock", settings.seconds)
                )
    uncounted = [*warmups, *(run for pair in noisy for run in pair.values())]
    return {
        "interpreter": interpreter,
        "runs": runs,
        "noisy_rounds": noisy,
        # errors in runs that are not counted (warm-ups, rounds run again) fail the rows too
        "uncounted_failures": sum(run.failures for run in uncounted),
        "load_before": load_before,
        "load_after": os.getloadavg(),
        "profile": summary,
    }


def _describe(r: WrkRun) -> str:
    errors = f", errors {r.errors}" if r.errors else ""
    return (
        f"{r.rate:7.0f} req/s  {r.cpu_ms_per_request:.3f} ms CPU/req  p50 {r.p50_ms:.2f} ms  "
        f"p99 {r.p99_ms:.2f} ms  cores used by wrk {r.wrk_cpu_s / r.seconds:.2f}, "
        f"by others {r.others_cores:.2f}, stolen {r.steal_cores:.2f}{errors}"
    )


def describe_interpreter(python: str) -> str:
    """E.g. "mock on CPython 3.11.7 (/usr/bin/python3.11, libpython static)"; RuntimeError if it
    does not run."""
    try:
        done = subprocess.run(
            [python, "-c", _DESCRIBE_PYTHON], capture_output=True, text=True, timeout=INTERPRETER_TIMEOUT_S
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RuntimeError(f"the mock's interpreter {python!r} does not run: {exc}") from None
    words = done.stdout.split()
    if done.returncode != 0 or len(words) != 4:
        detail = done.stderr.strip()[-300:] or f"exit status {done.returncode}"
        raise RuntimeError(f"the mock's interpreter {python!r} does not run: {detail}")
    implementation, version, executable, linkage = words
    return f"mock on {implementation} {version} ({executable}, libpython {linkage})"


def rows(report: dict[str, Any], settings: Settings, prism_version: str) -> list[Result]:
    runs: dict[str, list[WrkRun]] = report["runs"]
    failures = report["uncounted_failures"] + sum(r.failures for rs in runs.values() for r in rs)
    host = f"load average {report['load_before'][0]:.2f} -> {report['load_after'][0]:.2f}"
    # A round with much stolen time compares the host's moods, not the servers: such rounds were
    # run again (said here), and a kept one is said beside the verdict, which stands.
    stolen = max(r.steal_cores for rs in runs.values() for r in rs)
    host += f"; stolen up to {stolen:.2f} cores"
    if stolen > NOISY_STEAL_CORES:
        host += " (a noisy host: rerun when it is quiet)"
    noisy = report.get("noisy_rounds", [])
    if noisy:
        worst = ", ".join(f"{max(r.steal_cores for r in pair.values()):.2f}" for pair in noisy)
        host += f"; {len(noisy)} round(s) run again, {worst} cores stolen"
    shape = f"{settings.rounds} x {settings.seconds:g} s, {settings.connections} conn, {settings.threads} thr"
    out = []
    for name, what, attr, op, limit in GOALS:
        ratios = [
            getattr(m, attr) / getattr(p, attr) for m, p in zip(runs["mock"], runs["prism"], strict=True)
        ]
        ratio = statistics.median(ratios)
        mock_v = statistics.median(getattr(r, attr) for r in runs["mock"])
        prism_v = statistics.median(getattr(r, attr) for r in runs["prism"])
        met = None if op is None else (ratio <= limit if op == "<=" else ratio >= limit)
        passed = False if failures else met
        # The ratio is the median of the rounds' own ratios, not the ratio of the two medians
        # below (each server's median may come from a different round): both are shown.
        per_round = ", ".join(f"{r:.2f}" for r in ratios)
        values = f"per round {per_round}; medians mock {_num(mock_v)} / Prism {_num(prism_v)} {UNITS[attr]}"
        notes = f"{values}; {shape}; {report['interpreter']}; Prism {prism_version}; {host}"
        if failures:
            notes = f"FAILED: {failures} non-2xx or socket errors; " + notes
        out.append(
            Result(
                name=name,
                what=what,
                target="" if op is None else f"{op} {limit:g}x",
                unit="x",
                median=ratio,
                runs=len(ratios),
                passed=passed,
                notes=notes,
                extra={
                    "ratios": ratios,
                    "mock": [r.as_dict() for r in runs["mock"]],
                    "prism": [r.as_dict() for r in runs["prism"]],
                    "noisy_rounds": [{n: r.as_dict() for n, r in pair.items()} for pair in noisy],
                    "load_before": report["load_before"],
                    "load_after": report["load_after"],
                    "profile": report["profile"],
                },
            )
        )
    return out


def _num(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def skipped(reason: str) -> list[Result]:
    return [
        Result(name=name, what=what, target="", unit="x", median=float("nan"), notes=f"skipped: {reason}")
        for name, what, *_ in GOALS
    ]


def compare(settings: Settings, echo: bool = False) -> list[Result]:
    wrk, note = find_wrk()
    if wrk is None:
        return skipped(note)
    try:
        prism_bin, version = ensure_prism()
    except PrismUnavailable as exc:
        return skipped(str(exc))
    return rows(measure(settings, wrk, prism_bin, echo=echo), settings, version)


def run(quick: bool = False) -> list[Result]:
    """The rows for ``python -m benchmarks``."""
    return compare(QUICK if quick else Settings(), echo=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.vs_prism", description=__doc__.split("\n\n")[0])
    d = Settings()
    p.add_argument(
        "--rounds", type=int, default=d.rounds, help=f"timed runs of each server (default {d.rounds})"
    )
    p.add_argument(
        "--seconds", type=float, default=d.seconds, help=f"length of a run (default {d.seconds:g})"
    )
    p.add_argument(
        "--warmup", type=float, default=d.warmup, help=f"warm-up run of each (default {d.warmup:g} s)"
    )
    p.add_argument("--connections", type=int, default=d.connections)
    p.add_argument("--threads", type=int, default=d.threads, help="wrk threads (default 2)")
    p.add_argument(
        "--profile", type=Path, help="also profile the mock with py-spy (raw stacks) into this file"
    )
    p.add_argument(
        "--mock-python",
        default=d.mock_python,
        help="the interpreter that runs the mock, with requirements.txt installed (default: this one)",
    )
    p.add_argument(
        "--keep-noisy",
        action="store_true",
        help=f"keep rounds with over {NOISY_STEAL_CORES:g} cores stolen (default: run them again)",
    )
    p.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = p.parse_args(argv)
    settings = Settings(
        rounds=max(1, min(args.rounds, 20)),
        seconds=max(1.0, min(args.seconds, 120.0)),
        warmup=max(1.0, min(args.warmup, 60.0)),
        connections=max(1, min(args.connections, 256)),
        threads=max(1, min(args.threads, args.connections, 16)),
        profile=args.profile,
        mock_python=args.mock_python,
        rerun_noisy=not args.keep_noisy,
    )
    results = compare(settings, echo=not args.json)
    if args.json:
        print(json.dumps([r.as_dict() for r in results], indent=2, default=str))
    else:
        for r in results:
            print(f"{r.name:13} {r.cell():>12}  {r.target:8} [{r.verdict()}]  {r.notes}")
        if results and results[0].extra.get("profile"):
            print(profile.format_summary(results[0].extra["profile"]))
    return 0 if all(r.passed is not False for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
