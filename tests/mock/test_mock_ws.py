"""The WebSocket endpoint /v1, driven with the ``websockets`` client against real uvicorn."""

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

from api_schema import AuthenticationResult, ImageInferenceResult
from mock_api import MockConfig
from mock_api.testing import AUTH, KEY, run_mock_server, task

RECV_TIMEOUT_S = 20


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with run_mock_server(MockConfig(random_seed=4, speed=0.0, require_key=KEY)) as base:
        yield base


def ws_url(url: str) -> str:
    return url.replace("http://", "ws://") + "/v1"


async def send(ws: ClientConnection, *tasks: dict[str, Any]) -> None:
    await ws.send(json.dumps(list(tasks)))


async def recv(ws: ClientConnection) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), RECV_TIMEOUT_S))


async def authed(url: str) -> tuple[ClientConnection, str]:
    ws = await connect(ws_url(url))
    await send(ws, {"taskType": "authentication", "apiKey": KEY})
    answer = await recv(ws)
    return ws, AuthenticationResult.model_validate(answer["data"][0]).connection_session_uuid


async def test_authentication_gives_a_session_that_a_reconnect_can_resume(url: str) -> None:
    ws, session = await authed(url)
    await ws.close()
    async with connect(ws_url(url)) as again:
        await send(again, {"taskType": "authentication", "apiKey": KEY, "connectionSessionUUID": session})
        assert (await recv(again))["data"][0]["connectionSessionUUID"] == session


@pytest.mark.parametrize(
    "first",
    [
        [{"taskType": "authentication", "apiKey": "wrong-key"}],
        [{"taskType": "imageInference"}],
    ],
)
async def test_a_bad_handshake_gets_an_error_envelope_and_a_close(url: str, first: list) -> None:
    async with connect(ws_url(url)) as ws:
        await ws.send(json.dumps(first))
        (error,) = (await recv(ws))["errors"]
        assert error["code"] == "invalidApiKey" and error["parameter"] == "apiKey"
        with pytest.raises(ConnectionClosed):
            await recv(ws)
        assert ws.close_code == 1008


async def test_ping_pong(url: str) -> None:
    ws, _ = await authed(url)
    async with ws:
        await send(ws, {"taskType": "ping", "ping": True})
        assert await recv(ws) == {"data": [{"taskType": "ping", "pong": True}]}


async def test_sync_inference_sends_one_message_per_image(url: str) -> None:
    ws, _ = await authed(url)
    async with ws:
        t = task(numberResults=3, includeCost=True)
        await send(ws, t)
        messages = [await recv(ws) for _ in range(3)]
    assert all(list(m) == ["data"] and len(m["data"]) == 1 for m in messages)
    results = [ImageInferenceResult.model_validate(m["data"][0]) for m in messages]
    assert {r.task_uuid for r in results} == {t["taskUUID"]} and len({r.image_uuid for r in results}) == 3
    # URLs point at the HTTP side of the same server and serve the image.
    assert results[0].image_url and results[0].image_url.startswith(url + "/image/")
    assert httpx.get(results[0].image_url, timeout=30).status_code == 200


async def test_async_inference_is_acknowledged_then_polled_on_the_socket(url: str) -> None:
    ws, _ = await authed(url)
    async with ws:
        t = task(deliveryMethod="async", numberResults=2)
        await send(ws, t)
        assert await recv(ws) == {"data": [{"taskType": "imageInference", "taskUUID": t["taskUUID"]}]}
        await send(ws, {"taskType": "getResponse", "taskUUID": t["taskUUID"]})
        polled = (await recv(ws))["data"]
        assert [i["status"] for i in polled] == ["success", "success"]
        # The same taskUUID again is a conflict, as over REST.
        await send(ws, t)
        assert (await recv(ws))["errors"][0]["code"] == "conflictTaskUUID"


async def test_errors_are_envelopes_and_the_socket_stays_open(url: str) -> None:
    ws, _ = await authed(url)
    async with ws:
        await ws.send("this is not json")
        assert (await recv(ws))["errors"][0]["code"] == "invalidRequestBody"
        bad = task(width=100, height=100)
        await send(ws, bad)
        errors = (await recv(ws))["errors"]
        assert {e["parameter"] for e in errors} == {"width", "height"}
        assert {e["taskUUID"] for e in errors} == {bad["taskUUID"]}
        await send(ws, {"taskType": "getResponse", "taskUUID": str(uuid.uuid4())})
        assert (await recv(ws))["errors"][0]["code"] == "taskNotFound"
        await send(ws, {"taskType": "ping", "ping": True})
        assert (await recv(ws))["data"][0]["pong"] is True


async def test_frames_are_journaled_with_the_key_redacted(url: str) -> None:
    httpx.delete(url + "/__admin/requests", headers=AUTH, timeout=10).raise_for_status()
    ws, _ = await authed(url)
    async with ws:
        await send(ws, {"taskType": "ping", "ping": True})
        await recv(ws)
    entries = httpx.get(url + "/__admin/requests", headers=AUTH, timeout=10).json()["requests"]
    ws_entries = [e for e in entries if e["transport"] == "ws"]
    assert [e["body"][0]["taskType"] for e in ws_entries] == ["authentication", "ping"]
    assert KEY not in json.dumps(entries)


async def test_an_idle_socket_is_closed() -> None:
    with run_mock_server(MockConfig(random_seed=1, ws_idle_s=0.3)) as base:
        ws, _ = await authed(base)
        async with ws:
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), RECV_TIMEOUT_S)
