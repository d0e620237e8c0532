"""Run the real mock server (uvicorn on 127.0.0.1, a free port) for tests.

    from tests.mockserver import run_mock_server, mock_url  # noqa: F401 (fixture)

    with run_mock_server(MockConfig(random_seed=1)) as base_url:
        httpx.post(base_url + "/v1", ...)

The ``mock_url`` fixture (module scope) yields the base URL of a server with the
default config and ``random_seed=1``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
import uvicorn

from benchmarks.common import free_port
from mock_api import MockConfig, create_app

START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0

__all__ = ["free_port", "mock_url", "run_mock_server"]


@contextmanager
def run_mock_server(config: MockConfig | None = None, *, app=None) -> Iterator[str]:
    """Serve ``create_app(config)`` (or a given app) in a background thread; yield its base URL."""
    app = app if app is not None else create_app(config)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", ws="auto")
    )
    thread = threading.Thread(target=server.run, name=f"mock-server-{port}", daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if not thread.is_alive():
                raise RuntimeError("mock server thread exited during start-up")
            try:
                if httpx.get(base_url + "/health", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"mock server did not answer /health within {START_TIMEOUT_S} s")
            time.sleep(0.05)
        yield base_url
    finally:
        server.should_exit = True
        thread.join(STOP_TIMEOUT_S)


@pytest.fixture(scope="module")
def mock_url() -> Iterator[str]:
    with run_mock_server(MockConfig(random_seed=1)) as url:
        yield url
