"""Stoplight Prism serving the documented example, for the side-by-side benchmark.

Prism (``@stoplight/prism-cli``, Node) is installed with npm into
``benchmarks/.cache/prism`` the first time (not committed). It mocks ``POST /v1``
from a small OpenAPI 3 document written at run time, whose only 200 response
carries the documented answer as its static example: Prism without ``--dynamic``
returns that example verbatim. The request body schema is a bare ``array`` and
the only security requirement is a bearer header, so Prism checks next to
nothing, as a typical static mock does.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from mock_api.testing import Server, free_port

from .proctree import stop_tree

PACKAGE = "@stoplight/prism-cli"
MAJOR = "5"
CACHE_DIR = Path(__file__).resolve().parent / ".cache" / "prism"
INSTALL_TIMEOUT_S = 600.0
START_TIMEOUT_S = 120.0  # Node loads Prism in ~8 s on an idle 2-core machine


class PrismUnavailable(RuntimeError):
    """Prism is not installed and could not be installed; the message says why."""


def _bin(cache: Path) -> Path:
    return cache / "node_modules" / ".bin" / "prism"


def installed_version(cache: Path = CACHE_DIR) -> str | None:
    package = cache / "node_modules" / "@stoplight" / "prism-cli" / "package.json"
    try:
        return json.loads(package.read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None


def ensure_prism(cache: Path = CACHE_DIR) -> tuple[Path, str]:
    """The prism executable and its version, installing ``@stoplight/prism-cli@5`` if missing."""
    binary, version = _bin(cache), installed_version(cache)
    if binary.exists() and version:
        return binary, version
    npm = shutil.which("npm")
    if npm is None:
        raise PrismUnavailable("npm is not installed (Node.js and npm are needed for Prism)")
    try:
        # A cheap look-up first: an unreachable registry fails here in seconds, not in the install.
        latest = _npm(npm, "view", PACKAGE, "version", timeout=60).strip()
        cache.mkdir(parents=True, exist_ok=True)
        # npm picks the newest 5.x whose "engines" this Node accepts (5.16 wants Node 24).
        _npm(npm, "install", "--prefix", str(cache), "--no-audit", "--no-fund", f"{PACKAGE}@{MAJOR}")
    except (OSError, subprocess.SubprocessError, RuntimeError) as exc:
        raise PrismUnavailable(f"installing {PACKAGE}@{MAJOR} with npm failed: {exc}") from None
    version = installed_version(cache)
    if not binary.exists() or not version:
        raise PrismUnavailable(f"npm installed {PACKAGE} (latest {latest}) but {binary} is missing")
    return binary, version


def _npm(npm: str, *args: str, timeout: float = INSTALL_TIMEOUT_S) -> str:
    done = subprocess.run([npm, *args], capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"`npm {' '.join(args)}`: {(done.stderr or done.stdout).strip()[-300:]}")
    return done.stdout


def openapi_document(response: dict[str, Any]) -> dict[str, Any]:
    """An OpenAPI 3 document whose ``POST /v1`` answers ``response`` as its static example."""
    return {
        "openapi": "3.0.3",
        "info": {"title": "Runware GLM-Image, documented example", "version": "1"},
        "paths": {
            "/v1": {
                "post": {
                    "operationId": "runTasks",
                    "security": [{"bearer": []}],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"type": "array"}}},
                    },
                    "responses": {
                        "200": {
                            "description": "the documented answer",
                            "content": {
                                "application/json": {"schema": {"type": "object"}, "example": response}
                            },
                        }
                    },
                }
            }
        },
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }


@contextlib.contextmanager
def serve_prism(
    binary: Path, document: Path, *, probe_body: bytes, headers: dict[str, str], log_path: Path
) -> Iterator[Server]:
    """``prism mock`` on a free loopback port until the block ends; ready once a POST answers 200.

    Logging is set to ``warn`` (no line per request), like the mock's ``--log-level warning``.
    """
    port = free_port()
    argv = [str(binary), "mock", "-p", str(port), "--host", "127.0.0.1", "-v", "warn", str(document)]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(argv, cwd=document.parent, stdout=log, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_post(proc, url + "/v1", probe_body, headers, log_path)
            yield Server(url, proc, log_path)
        finally:
            stop_tree(proc)


def _wait_post(
    proc: subprocess.Popen,  # type: ignore[type-arg]
    url: str,
    body: bytes,
    headers: dict[str, str],
    log_path: Path,
) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    with httpx.Client(timeout=2.0, trust_env=False) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"prism exited with {proc.returncode}:\n{log_path.read_text()[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if client.post(url, content=body, headers=headers).status_code == 200:
                    return
            time.sleep(0.2)
    raise RuntimeError(
        f"prism did not answer within {START_TIMEOUT_S:.0f} s:\n{log_path.read_text()[-2000:]}"
    )
