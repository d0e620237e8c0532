"""The gateway in front of the whole app: read every HTTP request's body (the one
reader of bodies, so the wire's deadline and budget apply to all), journal every
non-admin request, then apply injected latency and faults (``faults``) before the
request goes on: ``POST /v1`` and the images to their direct routes
(``server.direct``), everything else to FastAPI.

It must see uvicorn's own ``send``, outside Starlette's error middleware, so that
an injected ``reset`` can drop the connection (``faults.drop_connection``); the
app class puts it there (``mock_api.app.MockApp``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api_schema import errors as E

from ..server import API_PATH, direct
from ..server.envelope import envelope_response, error_response
from ..server.wire import RAW_SEND, BodyTimeout, OverBudget
from ..state import MockState
from ..tasks.handler import TaskResult
from . import ADMIN_PREFIX
from .faults import FaultSpecError, client_timeout, drop_connection, wait_or_disconnect
from .guard import MAX_ADMIN_BODY_BYTES


class Gateway:
    """Journal, latency and faults for every HTTP request but /__admin ones."""

    def __init__(self, app: ASGIApp, state: MockState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if path.startswith(ADMIN_PREFIX):
            await self._admin(scope, receive, send)
            return
        journal, faults = self.state.journal, self.state.faults
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope.get("headers", [])]
        method = scope.get("method", "")
        query = scope.get("query_string", b"").decode("latin-1")
        try:
            body, complete = await self._read_body(receive, self.state.config.max_body_bytes)
        except (BodyTimeout, OverBudget) as exc:
            entry = journal.record(method=method, path=path, query=query, headers=headers)
            status, note = (408, "body not received in time") if isinstance(exc, BodyTimeout) else (503, "")
            journal.set_status(entry, status, note or "too many large bodies at once")
            raise
        try:
            if self.state.inline(len(body)):
                entry = journal.record(body, method=method, path=path, query=query, headers=headers)
            else:  # a large body is read off the loop
                record = functools.partial(
                    journal.record, method=method, path=path, query=query, headers=headers
                )
                entry = await self.state.parse(len(body), record, body)
        except Exception:  # journaling must never break a request
            entry = journal.record(method=method, path=path, query=query, headers=headers)
        # ASGI gives header names in lower case. Reversed: the first of repeated headers wins.
        lower = dict(reversed(headers))
        is_api = method == "POST" and path.rstrip("/") == API_PATH
        try:
            decision = faults.decide(lower, api_request=is_api)
        except FaultSpecError as exc:
            journal.set_status(entry, 400)
            await error_response(400, E.INVALID_REQUEST_BODY, str(exc))(scope, receive, send)
            return
        if decision.latency_ms and await self._hold(
            _until_given_up(decision.latency_ms / 1000, lower), scope, receive, send, body
        ):
            journal.set_status(entry, None, "client disconnected during injected latency")
            return
        fault = decision.fault
        if fault == "reset":
            journal.set_status(entry, None, "connection reset (injected)")
            await drop_connection(scope.get(RAW_SEND, send))
            return
        if fault == "timeout":
            journal.set_status(entry, None, "held (injected timeout)")
            if await self._hold(_until_given_up(faults.timeout_hold_s, lower), scope, receive, send, body):
                return
            fault = "504"
        if fault is not None:
            response = self._fault_response(fault, body)
            journal.set_status(entry, response.status_code, f"injected fault {decision.fault}")
            await response(scope, receive, send)
            return

        route = direct.route_of(method, path)
        if route is not None:  # the API and its images: no FastAPI stack in between
            response = await direct.answer(route, self.state, scope, body, complete, lower)
            journal.set_status(entry, response.status_code)
            await response(scope, receive, send)
            return

        async def send_and_note(message: Message) -> None:
            if message["type"] == "http.response.start":
                journal.set_status(entry, message["status"])
            await send(message)

        await self.app(scope, _replaying(body, complete, receive), send_and_note)

    async def _admin(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Admin requests: not journaled, not faulted; bodies are small."""
        body, complete = await self._read_body(receive, MAX_ADMIN_BODY_BYTES)
        if not complete:
            message = f"An admin body is at most {MAX_ADMIN_BODY_BYTES} bytes."
            await error_response(413, E.REQUEST_TOO_LARGE, message)(scope, receive, send)
            return
        await self.app(scope, _replaying(body, complete, receive), send)

    async def _hold(self, seconds: float, scope: Scope, receive: Receive, send: Send, body: bytes) -> bool:
        """Wait out an injected delay; True when the request is over (client gone, or shutdown).

        On server shutdown (uvicorn cancels requests still running after its grace
        period) the client gets a Runware-shaped 503 instead of a bare 500.
        """
        try:
            return await wait_or_disconnect(seconds, receive)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await self._fault_response("503", body)(scope, receive, send)
            return True

    def _fault_response(self, fault: str, body: bytes) -> Response:
        status, errors, headers = self.state.faults.answer(fault, body)
        return envelope_response([TaskResult(errors=errors, status=status)], headers)

    async def _read_body(self, receive: Receive, limit: int) -> tuple[bytes, bool]:
        """The request body, read up to one byte past ``limit`` (the app answers 413)."""
        chunks: list[bytes] = []
        total = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return b"".join(chunks), True
            chunk = message.get("body", b"")
            chunks.append(chunk)
            total += len(chunk)
            if not message.get("more_body"):
                return b"".join(chunks), True
            if total > limit:
                return b"".join(chunks), False


def _until_given_up(hold_s: float, headers: dict[str, str]) -> float:
    """An injected hold, no longer than the client said it waits (``faults.client_timeout``)."""
    gives_up = client_timeout(headers)
    return hold_s if gives_up is None else min(hold_s, gives_up)


def _replaying(body: bytes, complete: bool, receive: Receive) -> Receive:
    """A ``receive`` that hands the app the body read so far, then the rest of the stream."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": not complete}
        return await receive()

    return replay
