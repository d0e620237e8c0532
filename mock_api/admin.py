"""The mock's second half, wired into an app: jobs, faults, journal, outbound, WebSocket.

``install(app, state)`` (called by ``create_app``) adds:
- the task handlers for async/webhook/upload delivery, getResponse, getTaskDetails
  and taskUUID reuse (``delivery``, on the job store in ``jobs``);
- a gateway in front of the whole app that journals each request and applies
  injected latency and faults (it sits outside Starlette's error middleware so a
  ``reset`` can drop the connection itself);
- the WebSocket endpoint at /v1 (``ws``);
- the /__admin routes below (never journaled, never faulted).

Admin routes:
  GET/DELETE /__admin/requests      the journal / clear it
  GET/POST/DELETE /__admin/faults   show / set / clear run-time faults
  GET/DELETE /__admin/deliveries    webhook and upload attempts / clear them
  POST /__admin/clock               {"advance": seconds}: finish simulated work sooner
  POST /__admin/reset               forget everything (images, jobs, journal, faults)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from api_schema import errors as E
from api_schema import make_error

from . import delivery
from .faults import FaultInjector, FaultSpecError, drop_connection, wait_or_disconnect
from .jobs import Clock, JobStore
from .journal import Journal, redact_access_log
from .outbound import Outbound, OutboundPolicy

ADMIN_PREFIX = "/__admin"
API_PATH = "/v1"

ASGIApp = Callable[..., Awaitable[None]]


@dataclass
class Extras:
    """State of the second half; lives on ``MockState.extras``."""

    jobs: JobStore
    faults: FaultInjector
    journal: Journal
    outbound: Outbound
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run a background coroutine, keeping a reference so it is not collected."""
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await self.jobs.close()
        await self.outbound.aclose()

    async def reset(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await self.jobs.reset()
        self.faults.reset()
        self.journal.clear()
        self.outbound.clear()


def build_extras(config: Any) -> Extras:
    """The second half's state from a MockConfig (missing fields take their defaults)."""

    def opt(name: str, default: Any) -> Any:
        return getattr(config, name, default)

    return Extras(
        jobs=JobStore(
            speed=float(opt("speed", 1.0)),
            ttl_s=float(opt("job_ttl_s", 3600.0)),
            max_jobs=int(opt("max_jobs", 1000)),
            clock=Clock(),
        ),
        faults=FaultInjector(
            latency_ms=int(opt("latency_ms", 0)),
            rate=float(opt("fault_rate", 0.0)),
            seed=opt("fault_seed", None),
            kinds=tuple(opt("fault_kinds", ("429", "500", "503"))),
            timeout_hold_s=float(opt("fault_timeout_s", 30.0)),
        ),
        journal=Journal(max_entries=int(opt("journal_size", 1000))),
        outbound=Outbound(
            OutboundPolicy(opt("allow_outbound", [])),
            timeout_s=float(opt("outbound_timeout_s", 5.0)),
            backoff_s=tuple(opt("webhook_backoff_s", (0.2, 0.4, 0.8))),
        ),
    )


def install(app: FastAPI, state: Any) -> None:
    """Wire the second half into an app made by ``create_app``."""
    from .ws import websocket_endpoint

    extras = build_extras(state.config)
    state.extras = extras
    # The journal redacts what it stores; uvicorn's access log needs the same care.
    redact_access_log(getattr(state.config, "require_key", None))
    state.handlers["imageInference"] = delivery.handle_image_inference
    state.handlers["imageUpload"] = delivery.unique_task_uuid(state.handlers["imageUpload"])
    state.handlers["getResponse"] = delivery.handle_get_response
    state.handlers["getTaskDetails"] = delivery.handle_get_task_details

    app.add_api_websocket_route(API_PATH, websocket_endpoint)
    app.include_router(_router(state), include_in_schema=False)
    app.router.on_shutdown.append(extras.close)

    # The gateway wraps the finished middleware stack, outside Starlette's error
    # handler, so it sees uvicorn's own send() (needed to drop a connection).
    build_stack = app.build_middleware_stack

    def build_with_gateway() -> ASGIApp:
        return Gateway(build_stack(), extras, max_body=int(getattr(state.config, "max_body_bytes", 1 << 25)))

    app.build_middleware_stack = build_with_gateway  # type: ignore[method-assign]


def _json_error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"errors": [make_error(code, message).to_wire()]}, status_code=status)


def _router(state: Any) -> APIRouter:
    router = APIRouter(prefix=ADMIN_PREFIX)

    def extras() -> Extras:
        return state.extras

    @router.get("/requests")
    async def list_requests() -> dict[str, Any]:
        return {"requests": extras().journal.entries()}

    @router.delete("/requests")
    async def clear_requests() -> dict[str, Any]:
        extras().journal.clear()
        return {"requests": []}

    @router.get("/faults")
    async def show_faults() -> dict[str, Any]:
        return extras().faults.describe()

    @router.post("/faults")
    async def set_faults(request: Request) -> JSONResponse:
        try:
            spec = json.loads(await request.body() or b"null")
        except ValueError:
            return _json_error(400, E.INVALID_REQUEST_BODY, "The body must be a JSON object.")
        try:
            return JSONResponse(extras().faults.configure(spec))
        except FaultSpecError as exc:
            return _json_error(400, E.INVALID_REQUEST_BODY, str(exc))

    @router.delete("/faults")
    async def clear_faults() -> dict[str, Any]:
        return extras().faults.clear()

    @router.get("/deliveries")
    async def list_deliveries() -> dict[str, Any]:
        outbound = extras().outbound
        return {"deliveries": outbound.deliveries(), "allowed": outbound.policy.describe()}

    @router.delete("/deliveries")
    async def clear_deliveries() -> dict[str, Any]:
        extras().outbound.clear()
        return {"deliveries": []}

    @router.post("/clock")
    async def advance_clock(request: Request) -> JSONResponse:
        try:
            body = json.loads(await request.body() or b"{}")
            seconds = body.get("advance") if isinstance(body, dict) else None
        except ValueError:
            seconds = None
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 <= seconds <= 86400:
            message = 'Send {"advance": seconds} with 0 <= seconds <= 86400.'
            return _json_error(400, E.INVALID_REQUEST_BODY, message)
        extras().jobs.clock.advance(float(seconds))
        return JSONResponse({"offset": extras().jobs.clock.offset})

    @router.post("/reset")
    async def reset_all() -> dict[str, Any]:
        state.reset()
        await extras().reset()
        return {"reset": True}

    return router


class Gateway:
    """Journal every non-admin HTTP request, then apply latency and faults."""

    def __init__(self, app: ASGIApp, extras: Extras, *, max_body: int) -> None:
        self.app = app
        self.extras = extras
        self.max_body = max_body

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path.startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        body, complete = await self._read_body(receive)
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope.get("headers", [])]
        method = scope.get("method", "")
        query = scope.get("query_string", b"").decode("latin-1")
        try:
            entry = self.extras.journal.record(
                method=method, path=path, query=query, headers=headers, body=body
            )
        except Exception:  # journaling must never break a request
            entry = self.extras.journal.record(method=method, path=path, query=query, headers=headers)
        lower = {k.lower(): v for k, v in headers}
        is_api = scope.get("method") == "POST" and path.rstrip("/") == API_PATH
        try:
            decision = self.extras.faults.decide(lower, api_request=is_api)
        except FaultSpecError as exc:
            self.extras.journal.set_status(entry, 400)
            error = make_error(E.INVALID_REQUEST_BODY, str(exc)).to_wire()
            await _send_json(send, 400, {"errors": [error]})
            return
        if decision.latency_ms and await self._hold(decision.latency_ms / 1000, receive, send, body):
            self.extras.journal.set_status(entry, None, "client disconnected during injected latency")
            return
        fault = decision.fault
        if fault == "reset":
            self.extras.journal.set_status(entry, None, "connection reset (injected)")
            await drop_connection(send)
            return
        if fault == "timeout":
            self.extras.journal.set_status(entry, None, "held (injected timeout)")
            if await self._hold(self.extras.faults.timeout_hold_s, receive, send, body):
                return
            fault = "504"
        if fault is not None:
            status, fault_headers, payload = self.extras.faults.http_answer(fault, body)
            self.extras.journal.set_status(entry, status, f"injected fault {decision.fault}")
            await send({"type": "http.response.start", "status": status, "headers": fault_headers})
            await send({"type": "http.response.body", "body": payload})
            return

        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": not complete}
            return await receive()

        async def send_and_note(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                self.extras.journal.set_status(entry, message["status"])
            await send(message)

        await self.app(scope, replay, send_and_note)

    async def _hold(self, seconds: float, receive: Any, send: Any, body: bytes) -> bool:
        """Wait out an injected delay; True when the request is over (client gone, or shutdown).

        On server shutdown (uvicorn cancels requests still running after its grace
        period) the client gets a Runware-shaped 503 instead of a bare 500.
        """
        try:
            return await wait_or_disconnect(seconds, receive)
        except asyncio.CancelledError:
            status, headers, payload = self.extras.faults.http_answer("503", body)
            with contextlib.suppress(Exception):
                await send({"type": "http.response.start", "status": status, "headers": headers})
                await send({"type": "http.response.body", "body": payload})
            return True

    async def _read_body(self, receive: Any) -> tuple[bytes, bool]:
        """The request body, read up to one byte past the limit (the app answers 413)."""
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
            if total > self.max_body:
                return b"".join(chunks), False


async def _send_json(send: Any, status: int, body: dict[str, Any]) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
