"""Testing against the mock, for this project's tests and benchmarks and for yours.

- servers: ``run_mock_server`` (uvicorn in a thread), ``spawn_mock`` / ``run_server``
  (subprocesses), ``free_port``, ``quiet_env``, ``task()``, ``KEY`` / ``AUTH``, the
  Chromium flags for browser tests;
- ``runware_respx()``: httpx calls to the live Runware URLs answered in-process;
- ``MockHandle``: URL, journal, faults and reset of a running mock;
- the pytest plugin (``mock_api.testing.plugin``, registered through ``pytest11`` when
  the package is installed): fixtures ``runware_mock``, ``runware_mock_session``,
  ``runware_mock_factory``, ``runware_respx``.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "AUTH",
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "KEY",
    "LOCAL_ENV_PREFIXES",
    "ROOT",
    "START_TIMEOUT_S",
    "MockHandle",
    "RespxMock",
    "Server",
    "app_env",
    "documented_request",
    "free_port",
    "quiet_env",
    "run_mock_server",
    "run_server",
    "runware_respx",
    "spawn_mock",
    "stop_process",
    "task",
    "wait_http",
]

# Loaded on first use, for the same reason as mock_api's own names: the plugin module
# below this package is imported by every pytest run, the mock only when a test needs it.
_HOME = {name: ".servers" for name in __all__}
_HOME.update(MockHandle=".handle", RespxMock=".inprocess", runware_respx=".inprocess")


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(importlib.import_module(_HOME[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
