"""What every benchmark shares: statistics, result rows, and the app's server process.

Servers run as subprocesses (``python -m mock_api``, ``python app.py``) on a free
loopback port, the way a user starts them, so a measurement includes uvicorn and
the HTTP stack and the load generator does not share a GIL with the server. The
launching itself, the test key and the task factory are ``mock_api.testing``'s,
shared with the test suite.
"""

from __future__ import annotations

import contextlib
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from mock_api import testing
from mock_api.testing import (
    AUTH,
    CHROMIUM,
    CHROMIUM_ARGS,
    KEY,
    ROOT,
    START_TIMEOUT_S,
    Server,
    documented_request,
    free_port,
    quiet_env,
    run_server,
    spawn_mock,
    stop_process,
    task,
    wait_http,
)

RESULTS_DIR = Path(__file__).resolve().parent / "results"

__all__ = [
    "AUTH",
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "KEY",
    "Result",
    "documented_request",
    "quiet_env",
    "spawn_app",
    "spawn_mock",
    "task",
    "time_app_start",
    "timed_result",
]


def app_env(port: int, **extra: Any) -> dict[str, str]:
    """``python app.py``'s environment for a benchmark: every local setting stripped."""
    return testing.app_env(port, **extra)


# --------------------------------------------------------------------------- statistics


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile, q in [0, 100]."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


@dataclass
class Result:
    """One row of the table: a measured value against its target."""

    name: str
    what: str
    target: str
    unit: str
    median: float
    p90: float | None = None
    runs: int = 0
    passed: bool | None = None
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def cell(self) -> str:
        value = f"{self.median:.{_digits(self.median)}f} {self.unit}"
        if self.p90 is not None:
            value += f" (p90 {self.p90:.{_digits(self.p90)}f})"
        return value

    def verdict(self) -> str:
        return "—" if self.passed is None else ("pass" if self.passed else "MISS")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _digits(value: float) -> int:
    return 2 if abs(value) < 10 else 1 if abs(value) < 100 else 0


def timed_result(
    name: str, what: str, samples_s: Sequence[float], limit_ms: float, *, notes: str = "", **extra: Any
) -> Result:
    """A latency row from seconds samples: median and p90 in ms, pass when median <= limit."""
    ms = [s * 1000 for s in samples_s]
    med = median(ms)
    return Result(
        name=name,
        what=what,
        target=f"<= {limit_ms:g} ms",
        unit="ms",
        median=med,
        p90=percentile(ms, 90),
        runs=len(ms),
        passed=med <= limit_ms,
        notes=notes,
        extra=extra,
    )


def markdown_table(results: Sequence[Result]) -> str:
    lines = [
        "| benchmark | what | target | measured median | runs | verdict | notes |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        lines.append(
            f"| {r.name} | {r.what} | {r.target} | {r.cell()} | {r.runs} | {r.verdict()} | {r.notes} |"
        )
    return "\n".join(lines)


def machine_info() -> dict[str, Any]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_total = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_total = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    packages = {}
    names = ("gradio", "fastapi", "starlette", "uvicorn", "uvloop", "httptools", "httpx", "pydantic")
    for name in (*names, "pillow", "playwright"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            packages[name] = metadata.version(name)
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu,
        "memory": mem_total,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": packages,
    }


# --------------------------------------------------------------------------- processes


@contextlib.contextmanager
def spawn_app(env_extra: dict[str, str] | None = None, log_path: Path | None = None) -> Iterator[Server]:
    """``python app.py`` (mock backend unless env_extra says otherwise) until the block ends."""
    port = free_port()
    env = app_env(port, **(env_extra or {}))
    with run_server(
        ["app.py"], port=port, env=env, ready_path="/gradio_api/info", log_path=log_path, log_name="app.log"
    ) as server:
        yield server


def time_app_start(timeout: float = START_TIMEOUT_S) -> float:
    """Seconds from starting ``python app.py`` to the first 200 from /gradio_api/info."""
    port = free_port()
    env = app_env(port)
    with tempfile.TemporaryDirectory(prefix="bench-start-") as tmp:
        log_path = Path(tmp) / "app.log"
        with open(log_path, "wb") as log:
            start = time.perf_counter()
            proc = subprocess.Popen(
                [sys.executable, "app.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
            try:
                wait_http(proc, f"http://127.0.0.1:{port}/gradio_api/info", log_path, timeout)
                return time.perf_counter() - start
            finally:
                stop_process(proc)
