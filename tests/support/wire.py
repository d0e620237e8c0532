"""One task sent to a running mock over either transport, for tests that hold both to the same answer.

``call("rest", ...)`` POSTs it; ``call("ws", ...)`` authenticates a fresh socket, sends it and
reads the messages it is answered with. Either way the answer comes back as one merged
``Answer`` (data items, error items, and the HTTP status, None over the socket).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from mock_api.testing import KEY

TRANSPORTS = ("rest", "ws")
RECV_TIMEOUT_S = 20


@dataclass
class Answer:
    status: int | None
    data: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def codes(self) -> list[str]:
        return [e["code"] for e in self.errors]


def ws_url(url: str) -> str:
    return url.replace("http://", "ws://", 1) + "/v1"


async def send(ws: ClientConnection, *tasks: dict[str, Any]) -> None:
    await ws.send(json.dumps(list(tasks)))


async def recv(ws: ClientConnection) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), RECV_TIMEOUT_S))


async def authenticate(ws: ClientConnection, key: str = KEY, session: str | None = None) -> str:
    """The connectionSessionUUID the mock answers (``session`` asks to resume that one)."""
    auth: dict[str, Any] = {"taskType": "authentication", "apiKey": key}
    if session is not None:
        auth["connectionSessionUUID"] = session
    await send(ws, auth)
    answer = await recv(ws)
    return answer["data"][0]["connectionSessionUUID"]


async def call(
    transport: str, url: str, task: dict[str, Any], *, messages: int = 1, key: str = KEY
) -> Answer:
    """``task``'s answer; over the socket, ``messages`` is how many messages it takes."""
    if transport == "rest":
        async with httpx.AsyncClient(timeout=30) as http:
            response = await http.post(url + "/v1", json=[task], headers={"Authorization": f"Bearer {key}"})
        body = response.json()
        return Answer(response.status_code, body.get("data", []), body.get("errors", []))
    async with connect(ws_url(url)) as ws:
        await authenticate(ws, key)
        await send(ws, task)
        answer = Answer(None)
        for _ in range(messages):
            message = await recv(ws)
            answer.data += message.get("data", [])
            answer.errors += message.get("errors", [])
        return answer
