"""The WebSocket endpoint at /v1, as the Runware SDKs use it.

The first message must authenticate (``[{"taskType": "authentication", "apiKey":
...}]``); the answer carries a ``connectionSessionUUID`` (a reconnect may send it
back and keeps it). After that every message is a JSON array of tasks: ``ping``
gets ``pong``, ``imageInference`` with sync delivery sends one message per
finished image, async delivery an acknowledgement (results via ``getResponse`` on
the same socket), and every other task one envelope. Errors are envelopes
(``{"errors": [...]}``) too; a socket idle for ``ws_idle_s`` is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from api_schema import ErrorItem, ImageInferenceTask, make_error, parse_task
from api_schema import errors as E

from .app import MAX_TASKS_PER_REQUEST, RequestContext, TaskResult, dispatch
from .delivery import handle_image_inference
from .synth import new_uuid

# Largest text frame accepted (the REST body limit applies too, whichever is smaller).
MAX_FRAME_BYTES = 32 * 1024 * 1024
POLICY_VIOLATION = 1008


def _envelope(result: TaskResult) -> dict[str, Any] | None:
    body: dict[str, Any] = {}
    if result.data:
        body["data"] = result.data
    if result.errors:
        body["errors"] = [e.to_wire() for e in result.errors]
    return body or None


def _error(code: str, message: str, **kw: Any) -> dict[str, Any]:
    return {"errors": [make_error(code, message, **kw).to_wire()]}


def _http_base(websocket: WebSocket) -> str:
    base = str(websocket.base_url).rstrip("/")
    if base.startswith("wss://"):
        return "https://" + base[len("wss://") :]
    if base.startswith("ws://"):
        return "http://" + base[len("ws://") :]
    return base


class Session:
    """One WebSocket connection: its sends are serialized, its pushes tracked."""

    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket
        self.lock = asyncio.Lock()
        self.session_uuid: str | None = None

    async def send(self, body: dict[str, Any]) -> None:
        if self.websocket.application_state != WebSocketState.CONNECTED:
            return
        async with self.lock:
            with contextlib.suppress(WebSocketDisconnect, RuntimeError):
                await self.websocket.send_text(json.dumps(body))


def _key_ok(require_key: str | None, key: Any) -> bool:
    if not isinstance(key, str) or not key:
        return False
    if require_key is None:
        return True
    return hmac.compare_digest(key.encode(), require_key.encode())


async def websocket_endpoint(websocket: WebSocket) -> None:
    state = websocket.app.state.mock
    extras = state.extras
    config = state.config
    await websocket.accept()
    session = Session(websocket)
    ctx = RequestContext(state=state, request=websocket, base_url=_http_base(websocket))  # type: ignore[arg-type]
    idle_s = float(getattr(config, "ws_idle_s", 120.0))
    max_frame = min(MAX_FRAME_BYTES, int(getattr(config, "max_body_bytes", MAX_FRAME_BYTES)))
    try:
        while True:
            try:
                message = await asyncio.wait_for(websocket.receive(), timeout=idle_s)
            except asyncio.TimeoutError:
                await websocket.close(code=1000, reason="idle timeout")
                return
            if message["type"] == "websocket.disconnect":
                return
            raw = message.get("text")
            if raw is None and message.get("bytes") is not None:
                raw = message["bytes"].decode("utf-8", errors="replace")
            if raw is None:
                continue
            extras.journal.record(method="WS", path=websocket.url.path, body=raw, transport="ws")
            if len(raw) > max_frame:
                await session.send(_error(E.REQUEST_TOO_LARGE, f"Message is larger than {max_frame} bytes."))
                continue
            try:
                tasks = json.loads(raw)
            except ValueError:
                await session.send(_error(E.INVALID_REQUEST_BODY, "Message is not valid JSON."))
                continue
            if isinstance(tasks, dict):
                tasks = [tasks]
            if not isinstance(tasks, list) or not tasks or len(tasks) > MAX_TASKS_PER_REQUEST:
                await session.send(
                    _error(
                        E.INVALID_REQUEST_BODY,
                        f"A message must be a JSON array of 1 to {MAX_TASKS_PER_REQUEST} tasks.",
                    )
                )
                continue
            if session.session_uuid is None and not await _authenticate(session, tasks, config, state):
                return
            for raw_task in tasks:
                await _handle_task(session, ctx, raw_task)
    except WebSocketDisconnect:
        return


async def _authenticate(session: Session, tasks: list[Any], config: Any, state: Any) -> bool:
    """Handle the first message: it must hold an authentication task with a valid key."""
    auth = next((t for t in tasks if isinstance(t, dict) and t.get("taskType") == "authentication"), None)
    kw = {"parameter": "apiKey", "task_type": "authentication"}
    if auth is None:
        pings = [t for t in tasks if isinstance(t, dict) and t.get("taskType") == "ping"]
        if pings and len(pings) == len(tasks):
            await session.send({"data": [{"taskType": "ping", "pong": True}]})
            return True
        await session.send(
            _error(
                E.INVALID_API_KEY, "Authenticate first: send an authentication task with your apiKey.", **kw
            )
        )
        await session.websocket.close(code=POLICY_VIOLATION, reason="not authenticated")
        return False
    if not _key_ok(config.require_key, auth.get("apiKey")):
        await session.send(_error(E.INVALID_API_KEY, "Invalid API key.", **kw))
        await session.websocket.close(code=POLICY_VIOLATION, reason="invalid API key")
        return False
    resumed = auth.get("connectionSessionUUID")
    session.session_uuid = resumed if isinstance(resumed, str) and 0 < len(resumed) <= 64 else None
    session.session_uuid = session.session_uuid or new_uuid(state.rng)
    await session.send(
        {"data": [{"taskType": "authentication", "connectionSessionUUID": session.session_uuid}]}
    )
    return True


async def _handle_task(session: Session, ctx: RequestContext, raw: Any) -> None:
    if isinstance(raw, dict) and raw.get("taskType") == "authentication":
        return  # already answered during the handshake (or a harmless repeat)
    if isinstance(raw, dict) and raw.get("taskType") == "imageInference":
        task, errors = parse_task(raw)
        if task is None:
            await session.send({"errors": [e.to_wire() for e in errors]})
            return
        assert isinstance(task, ImageInferenceTask)
        try:
            result = await handle_image_inference(ctx, task, send_item=session.send)
        except Exception as exc:  # never a traceback on the socket
            result = TaskResult(errors=[_internal(exc, task.task_uuid)], status=500)
    else:
        try:
            result = await dispatch(ctx, raw)
        except Exception as exc:
            result = TaskResult(errors=[_internal(exc, None)], status=500)
    body = _envelope(result)
    if body is not None:
        await session.send(body)


def _internal(exc: Exception, task_uuid: str | None) -> ErrorItem:
    return make_error(
        E.SERVER_ERROR, f"Internal error in the mock server ({type(exc).__name__}).", task_uuid=task_uuid
    )
