"""The mock Runware server: ``create_app(config)`` builds the FastAPI app.

The app only composes: one ``MockState`` (on ``app.state.mock``), the REST and
WebSocket routes of ``server``, the /__admin routes of ``control``, the exception
handlers, and the gateway in front of it all.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from .config import MockConfig
from .control import admin
from .control.gateway import Gateway
from .control.guard import AdminRefused, refused_handler
from .control.journal import note_keys, redact_headers, redact_query
from .control.logs import redact_logs
from .server import rest, ws
from .server.cors import ApiCORS
from .server.errors import EXCEPTION_HANDLERS
from .server.openapi import component_schemas
from .server.wire import Wire
from .state import MockState


class MockApp(FastAPI):
    """FastAPI with the mock's gateway outermost and the task models in its OpenAPI spec."""

    def build_middleware_stack(self) -> ASGIApp:
        # The gateway wraps the finished stack rather than joining it as an
        # ``add_middleware`` middleware: those run inside Starlette's
        # ServerErrorMiddleware, which wraps ``send``, and an injected ``reset``
        # needs uvicorn's own ``send`` to reach the connection and abort it.
        state: MockState = self.state.mock
        stack: ASGIApp = Gateway(super().build_middleware_stack(), state)
        if state.config.cors_origins:
            # Outside the gateway, so injected faults carry the CORS headers too.
            stack = ApiCORS(stack, state.config.cors_origins)
        # The wire's bounds (body deadline and budget, send timeout) go outermost of all;
        # its bounded send still holds the connection's transport for an injected reset.
        return Wire(stack, state.config)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Straight to the stack above: FastAPI's own __call__ asks OpenTelemetry on every
        # request whether its telemetry is on (3 % of the mock's CPU), for a mock that has none.
        if scope["type"] not in ("http", "websocket"):
            await super().__call__(scope, receive, send)  # lifespan
            return
        if scope["type"] == "websocket":
            _note_upgrade_keys(scope)
        if self.root_path:
            scope["root_path"] = self.root_path
        scope["app"] = self
        if self.middleware_stack is None:
            self.middleware_stack = self.build_middleware_stack()
        await self.middleware_stack(scope, receive, send)

    def openapi(self) -> dict[str, Any]:
        # POST /v1 reads its body by hand, so FastAPI cannot see the task models it refers to.
        spec = super().openapi()
        spec.setdefault("components", {}).setdefault("schemas", {}).update(component_schemas())
        return spec


def _note_upgrade_keys(scope: Scope) -> None:
    """The keys of a WebSocket upgrade (its Authorization header, secret query parameters) are
    known to the log redactor before uvicorn logs the accepted target, which may hold them
    under another name: the upgrade itself is not journaled, only its messages are."""
    found: list[str] = []
    headers = ((k.decode("latin-1"), v.decode("latin-1")) for k, v in scope.get("headers", []))
    _, bearer = redact_headers(headers, found)
    redact_query(scope.get("query_string", b"").decode("latin-1"), found)
    note_keys(key for key in (bearer, *found) if key and len(key) >= 4)


def create_app(config: MockConfig | None = None) -> FastAPI:
    """The mock server. Raises ValueError (naming the file) for a broken recording."""
    config = config or MockConfig()
    state = MockState(config)
    # The journal redacts what it stores; uvicorn's logs need the same care.
    redact_logs(config.require_key, config.admin_key)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await state.aclose()

    app = MockApp(
        title="Runware mock for GLM-Image",
        description="Offline mock of the Runware REST API for runware:glm-image@0.",
        version="1.0",
        exception_handlers={**EXCEPTION_HANDLERS, AdminRefused: refused_handler},
        lifespan=lifespan,
    )
    app.state.mock = state
    app.include_router(rest.router)
    app.include_router(ws.router)
    app.include_router(admin.router)
    return app
