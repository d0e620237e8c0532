"""The WebSocket endpoint at /v1, as the Runware SDKs use it: framing only.

Each text (or binary) message is a payload for the same pipeline as a REST body
(``dispatch.run``): the same size limit, decoding, authentication, validation and
envelopes. What differs is the framing: each task's answer is its own message, a
sync imageInference sends one message per finished image (through ``ctx.push``),
and the connection remembers that it authenticated, and its session. A refused key
gets its error envelope and then close code 1008, a message over the size limit its
requestTooLarge envelope and then 1009 (a message far over it is closed by the
protocol, with 1009 alone); a socket idle for ``ws_idle_s`` is closed. A large message
that arrives while the messages of all sockets fill their shared budget is refused by the
protocol (``wsserve``) with a ``serviceUnavailable`` envelope and close code 1013.

An authentication opens a session (``mock_api.sessions``): what is sent for it after
its socket is gone is buffered, and a new socket that authenticates with the same
key and connectionSessionUUID gets it right after its authentication answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging

from fastapi import APIRouter
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from ..engine.items import new_uuid
from ..memory import LARGE_REQUEST_BYTES, give_back
from ..sessions import Session
from ..state import MockState, state_of
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
SERVICE_RESTART = 1012  # /__admin/disconnect: "come back", and a resume finds the session
# Answers that mean nothing on another socket later: they are never buffered for a resume.
_SESSION_ONLY = frozenset({"authentication", "ping"})

router = APIRouter()


def _http_base(websocket: WebSocket) -> str:
    base = str(websocket.base_url).rstrip("/")
    if base.startswith("wss://"):
        return "https://" + base[len("wss://") :]
    if base.startswith("ws://"):
        return "http://" + base[len("ws://") :]
    return base


def _worth_keeping(result: TaskResult) -> bool:
    return bool(result.errors) or any(item.get("taskType") not in _SESSION_ONLY for item in result.data)


class Channel:
    """The sending side of one connection, and its session.

    Messages go out one at a time; nothing is sent once the socket is gone. A message for
    a socket that is gone goes to its session, which buffers it for a resume. When the
    session has moved to a newer socket, this one still answers what was asked on it.
    """

    def __init__(self, websocket: WebSocket, state: MockState) -> None:
        self.websocket = websocket
        self.state = state
        self.lock = asyncio.Lock()
        self.session: Session | None = None
        # One bound method, kept: the session recognises its socket by this very object.
        self.sink = self._send_text

    async def _send_text(self, text: bytes) -> bool:
        """Send one message; False when the socket is gone."""
        if self.websocket.application_state != WebSocketState.CONNECTED:
            return False
        async with self.lock:
            try:
                await self.websocket.send_text(text.decode("utf-8"))
            except (WebSocketDisconnect, RuntimeError, OSError):
                return False
        return True

    async def send(self, result: TaskResult) -> None:
        if self.session is None and self.websocket.application_state != WebSocketState.CONNECTED:
            return  # nobody to send it to, now or on a resume: render nothing for it
        text = await as_message(result)
        if text is None:
            return
        session = self.session
        if session is None or session.forgotten or not _worth_keeping(result):
            await self.sink(text)
        elif session.sink is self.sink or not await self.sink(text):
            # Attached here: the session sends (or buffers). Else the session lives on another
            # socket, or none yet: this socket answers what it was asked while it is up.
            await self.state.sessions.deliver(session, text)

    def open_session(self, key: str, requested: str | None) -> str:
        session = self.session
        if session is not None and not session.forgotten and requested in (None, session.uuid):
            return session.uuid  # authenticating again on the same socket keeps its session
        if session is not None:
            self.state.sessions.detach(session, self.sink)
        self.session = self.state.sessions.open(key, requested, self.sink, lambda: new_uuid(self.state.rng))
        return self.session.uuid

    async def replay(self) -> None:
        """After a resume's authentication answer: what the session buffered meanwhile."""
        if self.session is not None and self.session.replaying:
            await self.state.sessions.replay(self.session)

    def closed(self) -> None:
        if self.session is not None:
            self.state.sessions.detach(self.session, self.sink)

    async def drop(self) -> None:
        """Close the socket from the server's side (its session stays resumable)."""
        with contextlib.suppress(Exception):
            await self.websocket.close(code=SERVICE_RESTART, reason="disconnected by the mock's admin API")


@router.websocket(API_PATH)
async def websocket_endpoint(websocket: WebSocket) -> None:
    state = state_of(websocket)
    await websocket.accept()
    channel = Channel(websocket, state)
    ctx = RequestContext(
        state=state,
        base_url=state.config.image_base_url or _http_base(websocket),
        credentials=bearer_key(websocket.headers),
        push=channel.send,
        connection=channel,
    )
    state.sockets.add(channel.drop)
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
                await channel.replay()
            if len(payload) > LARGE_REQUEST_BYTES:
                await give_back()  # a socket may live long after its one large message
    except WebSocketDisconnect:
        return
    except Exception as exc:  # a bug in the mock: say so on the socket, then close it cleanly
        log.error("unexpected error on the WebSocket", exc_info=exc)
        await channel.sink(await as_message(internal_error(exc)) or b"")
        with contextlib.suppress(Exception):
            await websocket.close(code=INTERNAL_ERROR)
    finally:
        state.sockets.discard(channel.drop)
        channel.closed()
