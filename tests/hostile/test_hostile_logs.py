"""The mock's log file never holds a key, at the default level or at debug.

Before: only uvicorn's access logger was redacted. A socket's accept line, logged through
``uvicorn.error`` at the default level, showed its target verbatim
(``"WebSocket /v1?apiKey=<key>&token=<key>" [accepted]``, also with ``--require-key``);
at ``--log-level debug`` the ``websockets`` protocol logged the upgrade request, its
headers and every frame through that logger too, the authentication frame with its
``"apiKey"`` in clear, and a longer frame cut to 75 characters with the key's end left.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from mock_api.testing import spawn_mock

REQUIRED = "sk-logs-required-5b0c2e71"  # --require-key: the mock knows it from the start
ADMIN = "sk-logs-admin-9a41d3"
OTHER = "sk-logs-unknown-77e6f0a2"  # a key only the requests carry
IO_S = 20


def _exchange(url: str) -> None:
    """A socket with keys in its URL and frames, and REST requests with keys in their targets."""
    ws_url = url.replace("http://", "ws://") + f"/v1?apiKey={REQUIRED}&token={OTHER}&k={REQUIRED}&o={OTHER}"
    headers = {"Authorization": f"Bearer {REQUIRED}", "X-Api-Key": OTHER}
    with connect(ws_url, additional_headers=headers, open_timeout=IO_S, close_timeout=IO_S) as ws:
        ws.send(json.dumps([{"taskType": "authentication", "apiKey": REQUIRED}]))
        ws.recv(timeout=IO_S)
        # Longer than websockets shows of a frame: the key sits where the cut leaves the end.
        session = "0" * 36
        ws.send(
            json.dumps([{"taskType": "authentication", "connectionSessionUUID": session, "apiKey": REQUIRED}])
        )
        ws.recv(timeout=IO_S)
    with httpx.Client(timeout=IO_S, trust_env=False) as client:
        client.get(url + f"/image/{REQUIRED}.png?api_key={OTHER}&k={OTHER}")
        client.get(url + f"/image/{ADMIN}.png")
        # A key the journal saw as this request's own, in the target under no secret name.
        client.get(url + f"/image/{OTHER}.png", headers={"Authorization": f"Bearer {OTHER}"})


def _assert_no_key(log: str) -> None:
    for key in (REQUIRED, ADMIN, OTHER):
        # Nor a piece of one: the start or the end of a key cut by websockets' elision.
        for piece in (key, key[:12], key[-8:]):
            assert piece not in log, f"{piece!r} in the log:\n{log}"


@pytest.mark.parametrize("level", ["info", "debug"])
def test_no_key_reaches_the_log(tmp_path: Path, level: str) -> None:
    log_path = tmp_path / "mock.log"
    flags = ("--require-key", REQUIRED, "--admin-key", ADMIN, "--log-level", level)
    with spawn_mock(*flags, log_path=log_path) as mock:
        _exchange(mock.url)
    log = log_path.read_text(errors="replace")  # the server is stopped: every line is written
    _assert_no_key(log)
    # The lines are still there, redacted rather than dropped.
    accepted = [line for line in log.splitlines() if "[accepted]" in line]
    assert accepted and all("apiKey=[redacted]" in line and "k=[redacted]" in line for line in accepted)
    assert "GET /image/[redacted].png?api_key=[redacted]&k=[redacted]" in log
    if level == "debug":
        frames = [line for line in log.splitlines() if "< TEXT" in line]
        assert len(frames) == 2 and all('apiKey": "[redacted]"' in line for line in frames), frames
        assert "< authorization: Bearer [redacted]" in log and "< x-api-key: [redacted]" in log
        assert "< GET /v1?apiKey=[redacted]" in log
