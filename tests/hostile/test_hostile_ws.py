"""The WebSocket under hostile messages: depth, size, pings, many sockets, a reader that stops.

Before: a ~1,000-deep message raised RecursionError in ws.py and an unauthenticated
ping got two pongs (both fixed by issue 11 and held here); uvicorn closed any message
over its own 16 MiB with a bare 1009 whatever the body limit (32 MB); a socket whose
client stopped reading kept the unsent messages in memory for ever.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from mock_api.testing import KEY, Server, spawn_mock, task
from tests.support.hostile import RssWatch, connections_from, data_uri, noisy_png, wait_until

RECV_S = 30
AUTH_FRAME = json.dumps([{"taskType": "authentication", "apiKey": KEY}])
MB = 1024 * 1024


@pytest.fixture(scope="module")
def mock() -> Iterator[Server]:
    with spawn_mock("--speed", "0") as server:  # the default 32 MB body limit
        yield server


def ws_url(server: Server) -> str:
    return server.url.replace("http://", "ws://") + "/v1"


async def recv(ws: ClientConnection) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), RECV_S))


async def authenticated(server: Server) -> ClientConnection:
    ws = await connect(ws_url(server), max_size=None, open_timeout=RECV_S)
    await ws.send(AUTH_FRAME)
    assert (await recv(ws))["data"][0]["taskType"] == "authentication"
    return ws


def marker(name: str) -> str:
    """A UUID v4 naming one ping, so its pong can be told from the others."""
    return str(uuid.UUID(bytes=hashlib.sha256(name.encode()).digest()[:16], version=4))


def ping(name: str) -> str:
    return json.dumps([{"taskType": "ping", "ping": True, "taskUUID": marker(name)}])


def nested(depth: int, leaf: str = "1") -> str:
    return '{"a": ' * depth + leaf + "}" * depth


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ("[" * 100_000 + "]" * 100_000, "invalidRequestBody"),
        ("[" + nested(100_000) + "]", "invalidRequestBody"),
        (json.dumps([task()])[:-2] + ', "safety": ' + nested(900) + "}]", "unsupportedParameter"),
        (json.dumps([task()])[:-2] + ', "inputs": ' + nested(900) + "}]", "unsupportedParameter"),
    ],
    ids=["arrays-100k-deep", "objects-100k-deep", "safety-900-deep", "inputs-900-deep"],
)
async def test_deep_nesting_gets_an_envelope_and_the_socket_stays_open(
    mock: Server, payload: str, code: str
) -> None:
    ws = await authenticated(mock)
    async with ws:
        await ws.send(payload)
        answer = await recv(ws)
        assert code in [e["code"] for e in answer["errors"]], answer
        await ws.send(ping("after"))
        assert (await recv(ws))["data"][0]["pong"] is True
    assert "Traceback" not in mock.log_text()


async def test_a_message_over_uvicorns_16_mib_but_under_the_body_limit_is_answered(mock: Server) -> None:
    big = json.dumps([{"taskType": "ping", "ping": True, "pad": "x" * (20 * MB)}])
    ws = await authenticated(mock)
    async with ws:
        await ws.send(big)
        answer = await recv(ws)  # an envelope, not a bare 1009
        assert [e["code"] for e in answer["errors"]] == ["unsupportedParameter"]
        await ws.send(ping("still-open"))
        assert (await recv(ws))["data"][0]["pong"] is True


async def test_a_message_far_over_the_limit_is_closed_with_1009(mock: Server) -> None:
    ws = await authenticated(mock)
    async with ws:
        await ws.send("[" + " " * (40 * MB) + "]")
        with pytest.raises(ConnectionClosed):
            await recv(ws)
    assert ws.close_code == 1009


async def test_one_pong_per_ping(mock: Server) -> None:
    ws = await authenticated(mock)
    async with ws:
        for n in range(5):
            await ws.send(ping(f"p{n}"))
        got = [await recv(ws) for _ in range(5)]
        assert [m["data"][0]["taskUUID"] for m in got] == [marker(f"p{n}") for n in range(5)]
        await ws.send(ping("last"))
        assert (await recv(ws))["data"][0]["taskUUID"] == marker("last")  # no stray second pong
    # Unauthenticated: the refusal, then the close; no pong at all.
    async with connect(ws_url(mock)) as bare:
        await bare.send(ping("anon"))
        assert (await recv(bare))["errors"][0]["code"] == "invalidApiKey"
        with pytest.raises(ConnectionClosed):
            await recv(bare)
        assert bare.close_code == 1008


async def test_many_sockets_from_one_caller_are_served_and_health_answers(mock: Server) -> None:
    with RssWatch(mock.proc.pid) as watch:
        sockets = [await authenticated(mock) for _ in range(200)]
        try:
            await asyncio.gather(*(ws.send(ping(f"s{n}")) for n, ws in enumerate(sockets)))
            answers = await asyncio.gather(*(recv(ws) for ws in sockets))
            assert [a["data"][0]["taskUUID"] for a in answers] == [marker(f"s{n}") for n in range(200)]
        finally:
            await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    assert not watch.killed and watch.growth_mb < 200, str(watch)


async def test_a_socket_whose_client_stops_reading_is_dropped() -> None:
    reference = data_uri(noisy_png(1024, 1024), "image/png")
    heavy = task(
        width=2048,
        height=2048,
        outputType="base64Data",
        outputFormat="PNG",
        numberResults=6,
        inputs={"referenceImages": [reference]},
    )
    with spawn_mock("--speed", "0", "--send-timeout-s", "2") as server:
        ws = await authenticated(server)
        transport_socket = ws.transport.get_extra_info("socket")
        transport_socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        local_port = transport_socket.getsockname()[1]
        ws.transport.pause_reading()  # read nothing from here on
        await ws.send(json.dumps([heavy]))
        dropped = await asyncio.to_thread(
            wait_until, lambda: not connections_from(server.proc.pid, local_port), 120.0
        )
        ws.transport.abort()
        assert dropped, "the server kept a socket whose client does not read"
