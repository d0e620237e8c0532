"""Launch the real app (`python app.py`) on a free loopback port for UI tests.

Mock backend (no RUNWARE_API_KEY), no telemetry. `run_app()` is a context manager
yielding the base URL; `app_url` is a module-scoped fixture built on it. The
process handling is the benchmarks' (`benchmarks.common.run_server`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks import common
from benchmarks.common import free_port, run_server

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 90.0  # seconds; gradio's first import is slow on a busy 2-core box

__all__ = ["ROOT", "app_env", "app_url", "free_port", "run_app"]


def app_env(port: int, **extra: str) -> dict[str, str]:
    # Unlike the benchmarks, MOCK_SPEED and the other in-process mock settings pass through.
    return common.app_env(port, strip=("RUNWARE_", "GLM_IMAGE_", "MOCK_API_"), **extra)


@contextlib.contextmanager
def run_app(log_path: Path | None = None, **extra_env: str) -> Iterator[str]:
    """Run app.py until the block ends; its output goes to log_path when given."""
    port = free_port()
    with run_server(
        ["app.py"],
        port=port,
        env=app_env(port, **extra_env),
        ready_path="/gradio_api/info",
        log_path=log_path,
        log_name="app.log",
        timeout=START_TIMEOUT,
        poll_s=0.25,
    ) as server:
        yield server.url


@pytest.fixture(scope="module")
def app_url() -> Iterator[str]:
    with run_app() as url:
        yield url
