"""The official JavaScript SDK, @runware/sdk-js, against the real mock: mediaStorage, a
mediaUUID as a reference image, a socket the mock drops and the SDK reconnects, and a
session resumed by connectionSessionUUID (driven with the ``ws`` package the SDK brings,
since sdk-js 1.3.2 forgets its session UUID when a socket closes and authenticates afresh).

Needs node and npm; the SDK is installed once into a cache folder (``SDK_JS_CACHE``, else
``~/.cache/glm-image-demo/sdk-js``) with ``npm install --prefix``. Skipped, saying why,
when node or npm is missing or the package cannot be installed (no registry).
"""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from mock_api import MockConfig
from mock_api.testing import AUTH, KEY, ROOT, run_mock_server

NODE, NPM = shutil.which("node"), shutil.which("npm")
pytestmark = pytest.mark.skipif(
    not (NODE and NPM), reason="node and npm are needed to run @runware/sdk-js (apt-get install nodejs npm)"
)

PACKAGE = "@runware/sdk-js@1.3.2"  # the version these cases were checked against
CACHE = Path(os.environ.get("SDK_JS_CACHE") or Path.home() / ".cache" / "glm-image-demo" / "sdk-js")
DRIVER = ROOT / "tests" / "support" / "sdk_js_driver.mjs"
INSTALL_TIMEOUT_S = 240
RUN_TIMEOUT_S = 120


@pytest.fixture(scope="module")
def sdk_js() -> Path:
    entry = CACHE / "node_modules" / "@runware" / "sdk-js" / "dist" / "index.js"
    if not entry.is_file():
        CACHE.mkdir(parents=True, exist_ok=True)
        command = [str(NPM), "install", "--prefix", str(CACHE), "--no-audit", "--no-fund", "--ignore-scripts"]
        try:
            subprocess.run([*command, PACKAGE], capture_output=True, timeout=INSTALL_TIMEOUT_S, check=True)
        except (OSError, subprocess.SubprocessError) as exc:
            pytest.skip(f"npm could not install {PACKAGE} into {CACHE}: {exc}")
    return CACHE


@pytest.fixture(scope="module")
def mock() -> Iterator[str]:
    # speed 1 keeps a job's images for later: the resume case moves the clock instead of waiting.
    with run_mock_server(MockConfig(random_seed=13, speed=1.0, require_key=KEY)) as base:
        yield base


def data_uri() -> str:
    buf = io.BytesIO()
    Image.new("RGB", (24, 16), "green").save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


@pytest.fixture(scope="module")
def run(sdk_js: Path, mock: str) -> dict[str, Any]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", ""),
        "SDK_JS_DIR": str(sdk_js),
        "MOCK_URL": mock,
        "MOCK_KEY": KEY,
        "MEDIA_DATA_URI": data_uri(),
    }
    done = subprocess.run(
        [str(NODE), str(DRIVER)], env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_media_storage_and_the_media_uuid_as_a_reference(run: dict[str, Any], mock: str) -> None:
    media = run["media"]
    assert media["taskType"] == "mediaStorage" and media["mediaUUID"]
    assert httpx.get(media["mediaURL"], timeout=30).status_code == 200
    assert len(run["referenced"]) == 1 and run["referenced"][0] != media["mediaUUID"]


def test_the_sdk_reconnects_after_the_mock_drops_its_socket(run: dict[str, Any], mock: str) -> None:
    assert run["dropped"] >= 1 and run["afterDrop"] and run["afterDrop"] != run["media"]["mediaUUID"]
    journal = httpx.get(mock + "/__admin/requests", headers=AUTH, timeout=10).json()["requests"]
    assert KEY not in json.dumps(journal)


def test_a_session_resumed_by_uuid_gets_what_finished_meanwhile(run: dict[str, Any]) -> None:
    resume = run["resume"]
    assert resume["resumed"] == resume["session"]
    assert {d["taskUUID"] for d in resume["delivered"]} == {resume["jobTaskUUID"]}
    assert len({d["imageUUID"] for d in resume["delivered"]}) == 2
