"""REST and WebSocket are two framings of one pipeline: the same hostile input gets the
same Runware-shaped answer over both, from a real ``python -m mock_api --require-key``.

Over REST the answer is the response body; over the socket it is the message that
comes back. A refused key ends the socket with close code 1008 after exactly that
one message, a message over the size limit with 1009 after its answer; anything else
leaves it open (a ping still gets its pong). Nothing ever
puts a traceback in the server's log.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from api_schema import Envelope
from api_schema import errors as E
from mock_api.testing import KEY, Server, spawn_mock

RECV_TIMEOUT_S = 20
MAX_BODY_MB = 1
AUTH_FRAME = json.dumps([{"taskType": "authentication", "apiKey": KEY}])
PING = {"taskType": "ping", "ping": True}
PING_FRAME = json.dumps([PING])
TASK_UUID = str(uuid.UUID(int=11, version=4))
ERROR_FIELDS = {"code", "message", "parameter", "type", "documentation", "taskType", "taskUUID"}


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with spawn_mock("--require-key", KEY, "--max-body-mb", str(MAX_BODY_MB), "--random-seed", "3") as running:
        yield running


def rest(server: Server, payload: str, *, key: str | None = KEY) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    return httpx.post(server.url + "/v1", content=payload.encode(), headers=headers, timeout=30)


async def recv(ws: ClientConnection) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), RECV_TIMEOUT_S))


def ws_url(server: Server) -> str:
    return server.url.replace("http://", "ws://") + "/v1"


def errors_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The error items, after checking the body is a Runware envelope."""
    Envelope.model_validate(body)
    errors = body.get("errors", [])
    for error in errors:
        assert set(error) <= ERROR_FIELDS and error["code"] and error["message"], error
    return errors


def assert_clean_log(server: Server) -> None:
    log = server.log_text()
    assert "Traceback" not in log and "unexpected error" not in log, log[-3000:]


# --------------------------------------------------------------------------- refused keys

LONE_SURROGATE_KEY = '[{"taskType": "authentication", "apiKey": "\\ud800"}]'  # the JSON escape, as sent
UNAUTHENTICATED = [
    pytest.param(LONE_SURROGATE_KEY, E.INVALID_API_KEY_MESSAGE, id="lone-surrogate-key"),
    pytest.param(PING_FRAME, "Missing API key", id="ping-before-authenticating"),
    pytest.param(
        json.dumps([{"taskType": "authentication", "apiKey": "not-the-key"}]),
        E.INVALID_API_KEY_MESSAGE,
        id="wrong-key",
    ),
    pytest.param(
        json.dumps([{"taskType": "imageInference", "taskUUID": TASK_UUID}]), "Missing API key", id="no-key"
    ),
]


@pytest.mark.parametrize(("payload", "message"), UNAUTHENTICATED)
async def test_a_refused_key_gets_the_same_answer_and_the_socket_one_message_then_1008(
    server: Server, payload: str, message: str
) -> None:
    response = rest(server, payload, key=None)
    assert response.status_code == 401
    over_rest = errors_of(response.json())
    async with connect(ws_url(server)) as ws:
        await ws.send(payload)
        over_ws = errors_of(await recv(ws))
        with pytest.raises(ConnectionClosed):
            await recv(ws)  # exactly one answer: no pong, no second envelope
        assert ws.close_code == 1008
    assert over_ws == over_rest
    [error] = over_rest
    assert error["code"] == "invalidApiKey" and error["parameter"] == "apiKey"
    assert error["message"].startswith(message)
    assert_clean_log(server)


# --------------------------------------------------------------------------- bad payloads and tasks

# An imageInference without width and height, which the wire requires.
SIZELESS = {
    "taskType": "imageInference",
    "taskUUID": TASK_UUID,
    "model": "runware:glm-image@0",
    "positivePrompt": "a lighthouse",
}
TOO_LARGE = json.dumps([{**PING, "pad": "x" * int(1.5 * MAX_BODY_MB * 2**20)}])
HOSTILE = [
    pytest.param("[" * 2000 + "]" * 2000, 400, ["invalidRequestBody"], id="nested-2000-deep"),
    pytest.param("this is not json", 400, ["invalidRequestBody"], id="not-json"),
    pytest.param("[]", 400, ["invalidRequestBody"], id="empty-array"),
    pytest.param(json.dumps([PING] * 101), 400, ["invalidRequestBody"], id="101-tasks"),
    pytest.param('{"taskType": "ping", "ping": true}', 400, ["invalidRequestBody"], id="object-not-array"),
    pytest.param('[{"taskType": "ping", "ping": NaN}]', 400, ["invalidRequestBody"], id="nan"),
    pytest.param('["a task that is a string"]', 400, ["invalidRequestBody"], id="task-is-a-string"),
    pytest.param(
        json.dumps([{"taskType": "imageMagic", "taskUUID": TASK_UUID}]),
        400,
        ["invalidTaskType"],
        id="unknown-task-type",
    ),
    pytest.param(
        json.dumps([{"taskType": "\ud800", "taskUUID": TASK_UUID}]),
        400,
        ["invalidTaskType"],
        id="lone-surrogate-task-type",
    ),
    pytest.param(
        json.dumps([{**SIZELESS, "width": 100, "height": 100}]),
        400,
        ["invalidWidth", "invalidHeight"],
        id="bad-inference",
    ),
    pytest.param(json.dumps([SIZELESS]), 400, ["invalidWidth", "invalidHeight"], id="no-size"),
    pytest.param(
        '[{"taskType": "ping", "ping": ' + '{"a": ' * 600 + "1" + "}" * 600 + "}]",
        400,
        ["invalidPing"],
        id="nested-600-deep-in-a-task",
    ),
]


@pytest.mark.parametrize(("payload", "status", "codes"), HOSTILE)
async def test_a_hostile_payload_gets_the_same_answer_and_the_socket_stays_open(
    server: Server, payload: str, status: int, codes: list[str]
) -> None:
    response = rest(server, payload)
    assert response.status_code == status
    over_rest = errors_of(response.json())
    async with connect(ws_url(server)) as ws:
        await ws.send(AUTH_FRAME)
        assert (await recv(ws))["data"][0]["taskType"] == "authentication"
        await ws.send(payload)
        over_ws = errors_of(await recv(ws))
        await ws.send(PING_FRAME)
        assert await recv(ws) == {"data": [{"taskType": "ping", "pong": True}]}
    assert over_ws == over_rest
    assert [e["code"] for e in over_rest] == codes
    assert_clean_log(server)


async def test_a_message_over_the_size_limit_gets_the_same_answer_then_1009(server: Server) -> None:
    response = rest(server, TOO_LARGE)
    assert response.status_code == 413
    async with connect(ws_url(server), max_size=None) as ws:
        await ws.send(AUTH_FRAME)
        await recv(ws)
        await ws.send(TOO_LARGE)
        assert errors_of(await recv(ws)) == errors_of(response.json())
        with pytest.raises(ConnectionClosed):
            await recv(ws)
        assert ws.close_code == 1009  # message too big
    assert [e["code"] for e in errors_of(response.json())] == ["requestTooLarge"]
    assert_clean_log(server)


async def test_a_bad_payload_before_authenticating_is_answered_and_the_handshake_still_works(
    server: Server,
) -> None:
    async with connect(ws_url(server)) as ws:
        await ws.send("[" * 2000 + "]" * 2000)
        assert errors_of(await recv(ws)) == errors_of(rest(server, "[" * 2000 + "]" * 2000, key=None).json())
        await ws.send(AUTH_FRAME)
        assert (await recv(ws))["data"][0]["taskType"] == "authentication"
    assert_clean_log(server)


async def test_one_pipeline_answers_a_mixed_batch_alike(server: Server) -> None:
    # Over REST one envelope holds every answer; over the socket each task's answer is its own message.
    batch = [PING, "junk", {"taskType": "getResponse", "taskUUID": TASK_UUID}]
    response = rest(server, json.dumps(batch))
    assert response.status_code == 200
    body = response.json()
    async with connect(ws_url(server)) as ws:
        await ws.send(AUTH_FRAME)
        await recv(ws)
        await ws.send(json.dumps(batch))
        messages = [await recv(ws) for _ in batch]
    assert [item for m in messages for item in m.get("data", [])] == body["data"]
    assert [e for m in messages for e in errors_of(m)] == errors_of(body)
    assert_clean_log(server)
