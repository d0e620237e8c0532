"""The WebSocket endpoint at /v1, as the Runware SDKs use it: framing only.

Each text (or binary) message is a payload for the same pipeline as a REST body
(``dispatch.run``): the same size limit, decoding, authentication, validation and
envelopes. What differs is the framing: each task's answer is its own message, a
sync imageInference sends one message per finished image (through ``ctx.push``),
and the connection remembers that it authenticated, and its connectionSessionUUID.
A refused key gets its error envelope and then close code 1008, a message over the
size limit its requestTooLarge envelope and then 1009 (a message far over it is
closed by the protocol, with 1009 alone); a socket idle for ``ws_idle_s`` is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging

from fastapi import APIRouter
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from ..memory import LARGE_REQUEST_BYTES, give_back
from ..state import state_of
from ..tasks.handler import RequestContext, TaskResult, internal_error
from . import API_PATH
from .auth import UNAUTHORIZED, bearer_key
from .dispatch import TOO_LARGE, run
from .envelope import as_message

log = logging.getLogger("mock_api")

NORMAL_CLOSURE = 1000
POLICY_VIOLATION = 1008
MESSAGE_TOO_BIG = 1009
INTERNAL_ERROR = 1011

router = APIRouter()


def _http_base(websocket: WebSocket) -> str:
    base = str(websocket.base_url).rstrip("/")
    if base.startswith("wss://"):
        return "https://" + base[len("wss://") :]
    if base.startswith("ws://"):
        return "http://" + base[len("ws://") :]
    return base


class Channel:
    """The sending side of one connection: messages go out one at a time, and
    nothing is sent once the socket is gone (a job may still push late images)."""

    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket
        self.lock = asyncio.Lock()

    async def send(self, result: TaskResult) -> None:
        if self.websocket.application_state != WebSocketState.CONNECTED:
            return  # before rendering anything for it
        text = await as_message(result)
        if text is None:
            return
        async with self.lock:
            with contextlib.suppress(WebSocketDisconnect, RuntimeError):
                await self.websocket.send_text(text.decode("utf-8"))


@router.websocket(API_PATH)
async def websocket_endpoint(websocket: WebSocket) -> None:
    state = state_of(websocket)
    await websocket.accept()
    channel = Channel(websocket)
    ctx = RequestContext(
        state=state,
        base_url=_http_base(websocket),
        credentials=bearer_key(websocket.headers),
        push=channel.send,
    )
    try:
        while True:
            try:
                message = await asyncio.wait_for(websocket.receive(), timeout=state.config.ws_idle_s)
            except asyncio.TimeoutError:
                await websocket.close(code=NORMAL_CLOSURE, reason="idle timeout")
                return
            if message["type"] == "websocket.disconnect":
                return
            payload = message.get("text")
            if payload is None:
                payload = message.get("bytes")
            if payload is None:
                continue
            record = functools.partial(
                state.journal.record, method="WS", path=websocket.url.path, transport="ws"
            )
            await state.parse(len(payload), record, payload)
            async for result in run(ctx, payload):
                await channel.send(result)
                if result.status == UNAUTHORIZED:
                    await websocket.close(code=POLICY_VIOLATION, reason="not authenticated")
                    return
                if result.status == TOO_LARGE:
                    await websocket.close(code=MESSAGE_TOO_BIG, reason="message too big")
                    return
            if len(payload) > LARGE_REQUEST_BYTES:
                await give_back()  # a socket may live long after its one large message
    except WebSocketDisconnect:
        return
    except Exception as exc:  # a bug in the mock: say so on the socket, then close it cleanly
        log.error("unexpected error on the WebSocket", exc_info=exc)
        await channel.send(internal_error(exc))
        with contextlib.suppress(Exception):
            await websocket.close(code=INTERNAL_ERROR)
