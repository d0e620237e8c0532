"""Launch the real app (`python app.py`) on a free loopback port for UI tests.

Mock backend (no RUNWARE_API_KEY), no telemetry. `run_app()` is a context manager
yielding the base URL; `app_url` is a module-scoped fixture built on it.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 90.0  # seconds; gradio's first import is slow on a busy 2-core box


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def app_env(port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RUNWARE_", "GLM_IMAGE_", "MOCK_API_"))}
    env.update(
        GRADIO_SERVER_NAME="127.0.0.1",
        GRADIO_SERVER_PORT=str(port),
        GRADIO_ANALYTICS_ENABLED="False",
        HF_HUB_DISABLE_TELEMETRY="1",
        NO_PROXY="localhost,127.0.0.1",
        no_proxy="localhost,127.0.0.1",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


@contextlib.contextmanager
def run_app(log_path: Path | None = None, **extra_env: str) -> Iterator[str]:
    """Run app.py until the block ends; its output goes to log_path when given."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    opened = open(log_path, "w+b") if log_path else tempfile.TemporaryFile()  # noqa: SIM115
    with opened as log:
        proc = subprocess.Popen(
            [sys.executable, "app.py"],
            cwd=ROOT,
            env=app_env(port, **extra_env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_ready(proc, url, log)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)


def _wait_ready(proc: subprocess.Popen, url: str, log) -> None:  # type: ignore[type-arg]
    deadline = time.monotonic() + START_TIMEOUT
    with httpx.Client(timeout=2.0, trust_env=False) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"app.py exited with {proc.returncode}:\n{_read(log)}")
            with contextlib.suppress(httpx.HTTPError):
                if client.get(f"{url}/gradio_api/info").status_code == 200:
                    return
            time.sleep(0.25)
    raise RuntimeError(f"app.py did not answer within {START_TIMEOUT:.0f} s:\n{_read(log)}")


def _read(log) -> str:  # type: ignore[no-untyped-def]
    log.seek(0)
    return log.read().decode(errors="replace")


@pytest.fixture(scope="module")
def app_url() -> Iterator[str]:
    with run_app() as url:
        yield url
