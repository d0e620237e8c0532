"""Launch the real app (`python app.py`) on a free loopback port.

Mock backend (no RUNWARE_API_KEY), no telemetry. ``run_app()`` is a context manager
yielding the base URL; the ``app_url`` fixture (tests/ui/conftest.py) is built on it.
The process handling is ``mock_api.testing.run_server``'s.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from mock_api import testing
from mock_api.testing import ROOT, free_port, run_server

START_TIMEOUT = 90.0  # seconds; gradio's first import is slow on a busy 2-core box
# MOCK_SPEED and the other in-process mock settings pass through to the app under test.
STRIPPED = ("RUNWARE_", "GLM_IMAGE_", "MOCK_API_")

__all__ = ["ROOT", "app_env", "free_port", "run_app"]


def app_env(port: int, **extra: str) -> dict[str, str]:
    return testing.app_env(port, strip=STRIPPED, **extra)


@contextlib.contextmanager
def run_app(
    log_path: Path | None = None, *, poll_s: float = 0.25, env: dict[str, str] | None = None, **extra_env: str
) -> Iterator[str]:
    """Run app.py until the block ends; its output goes to log_path when given."""
    port = free_port()
    with run_server(
        ["app.py"],
        port=port,
        env=env if env is not None else app_env(port, **extra_env),
        ready_path="/gradio_api/info",
        log_path=log_path,
        log_name="app.log",
        timeout=START_TIMEOUT,
        poll_s=poll_s,
    ) as server:
        yield server.url
