"""Servers, ports, tasks and a key for tests that run against the mock.

Neutral ground: this project's tests and benchmarks use it, and so can another
project's test suite. It imports nothing from ``tests`` or ``benchmarks``.

- ``run_mock_server(config)``: the real mock (uvicorn) in a background thread on a
  free loopback port; yields its base URL (without ``/v1``).
- ``spawn_mock(*flags)`` / ``run_server(argv, ...)``: a server as a subprocess, the
  way a user starts it; stopped (terminate, then kill) when the block ends.
- ``task(**fields)``: a small valid imageInference task with a fresh taskUUID.
- ``KEY`` / ``AUTH``: a test key and its Authorization header.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from api_schema import MODEL_ID, load_examples

from ..app import create_app
from ..server.serve import uvicorn_config

KEY = "sk-mock-test-key-0123456789"
AUTH = {"Authorization": f"Bearer {KEY}"}

# Where ``python app.py`` and ``python -m mock_api`` run from: this checkout.
ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 90.0  # gradio's first import is slow on a busy 2-core machine
STOP_TIMEOUT_S = 15.0

# Debian's Chromium (``apt-get install -y chromium``) for browser tests, with the flags that
# keep it offline and quiet on a machine without a display or network.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
)

# A live key, app settings and mock settings from the caller's shell stay out of a server's environment.
LOCAL_ENV_PREFIXES = ("RUNWARE_", "GLM_IMAGE_", "MOCK_")


# --------------------------------------------------------------------------- requests


def task(**fields: Any) -> dict[str, Any]:
    """A small valid imageInference task (256x256, 4 steps) with a fresh taskUUID."""
    base: dict[str, Any] = {
        "taskType": "imageInference",
        "taskUUID": str(uuid.uuid4()),
        "model": MODEL_ID,
        "positivePrompt": 'A shop sign that reads "OPEN LATE"',
        "width": 256,
        "height": 256,
        "steps": 4,
    }
    base.update(fields)
    return base


def documented_request(index: int = 0) -> dict[str, Any]:
    """A documented example's request, verbatim apart from a fresh taskUUID (a reused one conflicts)."""
    request = dict(load_examples()[index].request)
    request["taskUUID"] = str(uuid.uuid4())
    return request


# --------------------------------------------------------------------------- environment


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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


def app_env(port: int, *, strip: tuple[str, ...] = LOCAL_ENV_PREFIXES, **extra: str) -> dict[str, str]:
    """``quiet_env`` for ``python app.py`` serving on 127.0.0.1:``port``."""
    return quiet_env(strip=strip, GRADIO_SERVER_NAME="127.0.0.1", GRADIO_SERVER_PORT=str(port), **extra)


# --------------------------------------------------------------------------- in-process server


@contextlib.contextmanager
def run_mock_server(config: Any = None, *, app: Any = None, timeout: float = 20.0) -> Iterator[str]:
    """Serve ``create_app(config)`` (or a given ASGI app) with uvicorn in a thread; yield its base URL."""
    import uvicorn

    if app is None:
        app = create_app(config)
    port = free_port()
    server = uvicorn.Server(
        uvicorn_config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", ws="auto")
    )
    thread = threading.Thread(target=server.run, name=f"mock-server-{port}", daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=1.0, trust_env=False) as client:
            while True:
                if not thread.is_alive():
                    raise RuntimeError("mock server thread exited during start-up")
                with contextlib.suppress(httpx.TransportError):
                    if client.get(base_url + "/health").status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"mock server did not answer /health within {timeout} s")
                time.sleep(0.05)
        yield base_url
    finally:
        server.should_exit = True
        thread.join(10.0)


# --------------------------------------------------------------------------- subprocesses


@dataclass
class Server:
    """A running server subprocess: its base URL, process and log file."""

    url: str
    proc: subprocess.Popen  # type: ignore[type-arg]
    log_path: Path

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")


def wait_http(
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


def stop_process(proc: subprocess.Popen) -> None:  # type: ignore[type-arg]
    """Terminate a process we started, then kill it if it does not go."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=STOP_TIMEOUT_S)


@contextlib.contextmanager
def run_server(
    argv: Sequence[str],
    *,
    port: int,
    env: dict[str, str],
    ready_path: str,
    log_path: Path | None = None,
    log_name: str = "server.log",
    timeout: float = START_TIMEOUT_S,
    poll_s: float = 0.02,
    cwd: Path = ROOT,
    program: str = sys.executable,
) -> Iterator[Server]:
    """``python <argv>`` (or ``program <argv>``) serving on 127.0.0.1:``port`` until the block ends.

    Output goes to ``log_path`` (a temporary ``log_name`` when None); the block
    starts once ``ready_path`` answers 200.
    """
    with contextlib.ExitStack() as stack:
        if log_path is None:
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="mock-server-"))
            log_path = Path(tmp) / log_name
        log = stack.enter_context(open(log_path, "wb"))
        proc = subprocess.Popen([program, *argv], cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
        stack.callback(stop_process, proc)
        url = f"http://127.0.0.1:{port}"
        wait_http(proc, url + ready_path, log_path, timeout, poll_s)
        yield Server(url, proc, log_path)


@contextlib.contextmanager
def spawn_mock(
    *args: str,
    env: dict[str, str] | None = None,
    log_path: Path | None = None,
    timeout: float = START_TIMEOUT_S,
    python: str = sys.executable,
) -> Iterator[Server]:
    """``python -m mock_api --port <free> <args>`` until the block ends; ``python`` is the
    interpreter that runs it (one with requirements.txt installed)."""
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
        program=python,
    ) as server:
        yield server
