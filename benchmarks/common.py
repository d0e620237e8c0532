"""What every benchmark shares: statistics, result rows, and real server processes.

Servers run as subprocesses (``python -m mock_api``, ``python app.py``) on a free
loopback port, the way a user starts them, so a measurement includes uvicorn and
the HTTP stack and the load generator does not share a GIL with the server.
"""

from __future__ import annotations

import contextlib
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx

from api_schema import MODEL_ID, load_examples

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"
KEY = "bench-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
START_TIMEOUT_S = 90.0
# Debian's Chromium, driven by Playwright in the browser benchmark and tests/test_ui_browser.py.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


# A live key, app settings and mock settings from the caller's shell stay out of a server's environment.
LOCAL_ENV_PREFIXES = ("RUNWARE_", "GLM_IMAGE_", "MOCK_")


def quiet_env(*, strip: tuple[str, ...] = LOCAL_ENV_PREFIXES, **extra: str) -> dict[str, str]:
    """The environment for a server subprocess: offline, no telemetry, no live key.

    Variables starting with one of ``strip`` are left out; ``extra`` is added last.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(strip)}
    env.update(
        GRADIO_ANALYTICS_ENABLED="False",
        HF_HUB_DISABLE_TELEMETRY="1",
        NO_PROXY="localhost,127.0.0.1",
        no_proxy="localhost,127.0.0.1",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def app_env(port: int, **extra: Any) -> dict[str, str]:
    """``quiet_env`` for ``python app.py`` serving on 127.0.0.1:``port``."""
    return quiet_env(GRADIO_SERVER_NAME="127.0.0.1", GRADIO_SERVER_PORT=str(port), **extra)


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
    for name in ("gradio", "fastapi", "uvicorn", "httpx", "pydantic", "pillow", "starlette", "playwright"):
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


# --------------------------------------------------------------------------- requests


def task(**fields: Any) -> dict[str, Any]:
    """A valid imageInference task with a fresh taskUUID."""
    base: dict[str, Any] = {
        "taskType": "imageInference",
        "taskUUID": str(uuid.uuid4()),
        "model": MODEL_ID,
        "positivePrompt": 'A bakery at dawn with a hand-painted sign that reads "FRESH BREAD"',
        "width": 1024,
        "height": 1024,
    }
    base.update(fields)
    return base


def documented_request(index: int = 0) -> dict[str, Any]:
    """A documented example's request, verbatim apart from a fresh taskUUID (a reused one conflicts)."""
    request = dict(load_examples()[index].request)
    request["taskUUID"] = str(uuid.uuid4())
    return request


# --------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """A running server subprocess: its base URL, process and log file."""

    url: str
    proc: subprocess.Popen  # type: ignore[type-arg]
    log_path: Path

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")


def _wait_http(
    proc: subprocess.Popen,  # type: ignore[type-arg]
    url: str,
    log_path: Path,
    timeout: float,
    poll_s: float = 0.02,
) -> float:
    """Poll ``url`` every ``poll_s`` until it answers 200; returns the seconds waited."""
    start = time.perf_counter()
    deadline = start + timeout
    with httpx.Client(timeout=2.0, trust_env=False) as client:
        while time.perf_counter() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}:\n{log_path.read_text()[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if client.get(url).status_code == 200:
                    return time.perf_counter() - start
            time.sleep(poll_s)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s:\n{log_path.read_text()[-2000:]}")


def _stop(proc: subprocess.Popen) -> None:  # type: ignore[type-arg]
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


@contextlib.contextmanager
def run_server(
    argv: Sequence[str],
    *,
    port: int,
    env: dict[str, str],
    ready_path: str,
    log_path: Path | None,
    log_name: str,
    timeout: float = START_TIMEOUT_S,
    poll_s: float = 0.02,
) -> Iterator[Server]:
    """``python <argv>`` serving on 127.0.0.1:``port`` until the block ends.

    Output goes to ``log_path`` (a temporary ``log_name`` when None); the block
    starts once ``ready_path`` answers 200.
    """
    with contextlib.ExitStack() as stack:
        if log_path is None:
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-server-"))
            log_path = Path(tmp) / log_name
        log = stack.enter_context(open(log_path, "wb"))
        proc = subprocess.Popen(
            [sys.executable, *argv], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        stack.callback(_stop, proc)
        url = f"http://127.0.0.1:{port}"
        _wait_http(proc, url + ready_path, log_path, timeout, poll_s)
        yield Server(url, proc, log_path)


@contextlib.contextmanager
def spawn_mock(
    *args: str,
    env: dict[str, str] | None = None,
    log_path: Path | None = None,
    timeout: float = START_TIMEOUT_S,
) -> Iterator[Server]:
    """``python -m mock_api --port <free> <args>`` until the block ends."""
    port = free_port()
    argv = ["-m", "mock_api", "--port", str(port), "--log-level", "warning", *args]
    with run_server(
        argv,
        port=port,
        env=env or quiet_env(),
        ready_path="/health",
        log_path=log_path,
        log_name="mock.log",
        timeout=timeout,
    ) as server:
        yield server


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
                _wait_http(proc, f"http://127.0.0.1:{port}/gradio_api/info", log_path, timeout)
                return time.perf_counter() - start
            finally:
                _stop(proc)
