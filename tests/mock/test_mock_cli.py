"""``python -m mock_api`` as a user starts it: prints its URL, serves, checks the key."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
import uuid

import httpx

from api_schema import load_examples
from mock_api.testing import (
    ROOT,
    free_port,
    quiet_env,
    spawn_mock,
)


def test_cli_serves_on_loopback_with_a_required_key():
    port = free_port()
    env = {**os.environ, "MOCK_REQUIRE_KEY": "cli-secret-key"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mock_api",
            "--port",
            str(port),
            "--random-seed",
            "1",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first_line = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}" in first_line
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(base + "/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "mock did not start"
                time.sleep(0.1)
        example = load_examples()[1]
        request = dict(example.request, taskUUID=str(uuid.uuid4()))
        denied = httpx.post(base + "/v1", json=[request], headers={"Authorization": "Bearer x"}, timeout=30)
        assert denied.status_code == 401
        ok = httpx.post(
            base + "/v1", json=[request], headers={"Authorization": "Bearer cli-secret-key"}, timeout=30
        )
        assert ok.status_code == 200
        assert ok.json()["data"][0]["imageUUID"] == example.response["data"][0]["imageUUID"]
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    assert "cli-secret-key" not in first_line + err
    assert "Traceback" not in err


def test_cli_rejects_a_bad_flag_value_without_traceback():
    done = subprocess.run(
        [sys.executable, "-m", "mock_api", "--max-body-mb", "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "max_body_bytes" in done.stderr and "Traceback" not in done.stderr


def test_runtime_requirements_let_uvicorn_serve_the_websocket_endpoint():
    # uvicorn alone has no WebSocket implementation: after `pip install -r
    # requirements.txt` the mock's ws://.../v1 answered HTTP 405 ("No supported
    # WebSocket library detected"). The library must be a runtime requirement.
    names = set()
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.add(line.split(";")[0].split("<")[0].split(">")[0].split("=")[0].strip().lower())
    assert names & {"websockets", "wsproto", "uvicorn[standard]"}, sorted(names)


def test_a_port_in_use_is_said_plainly_and_nothing_claims_to_serve():
    # The "serving at" line came first, then uvicorn's Errno 98 and exit status 3.
    with spawn_mock() as running:
        port = running.url.rsplit(":", 1)[1]
        second = subprocess.run(
            [sys.executable, "-m", "mock_api", "--port", port],
            capture_output=True,
            text=True,
            timeout=60,
            env=quiet_env(),
            cwd=ROOT,
        )
    assert second.returncode == 3
    assert "serving at" not in second.stdout
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in second.stderr


def test_port_0_serves_on_a_free_port_and_says_which():
    proc = subprocess.Popen(
        [sys.executable, "-m", "mock_api", "--port", "0", "--log-level", "warning"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=quiet_env(),
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 60)  # printed once the socket is bound
        assert ready, "the mock printed nothing in 60 s"
        line = proc.stdout.readline()
        url = line.split("serving at ", 1)[1].split(" ", 1)[0]
        assert not url.endswith(":0")
        assert httpx.get(url + "/health", timeout=10).json()["status"] == "ok"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_a_port_out_of_range_is_a_bad_flag():
    # 99999 was taken modulo 65536: "serving at :99999" while it listened on 34463.
    bad = subprocess.run(
        [sys.executable, "-m", "mock_api", "--port", "99999"],
        capture_output=True,
        text=True,
        timeout=60,
        env=quiet_env(),
        cwd=ROOT,
    )
    assert bad.returncode == 2 and "99999 is not a port (0 to 65535)" in bad.stderr
    assert "serving at" not in bad.stdout
