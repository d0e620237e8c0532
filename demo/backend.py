"""Pick the backend from settings: the live Runware API or the mock.

Both are the same ``RunwareClient``; only base URL, key and transport differ. The
in-process mock runs the mock's ASGI app through ``httpx.ASGITransport`` and its API
routes (``POST /v1``, the WebSocket on ``/v1``, ``GET /image/...``; never ``/__admin``)
are served on the app's own address too, so the URLs, imageUUIDs and snippets a page
shows work there as printed. This module is the one place ``demo`` imports ``mock_api``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import SecretStr
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.types import Receive, Scope, Send

from .client import PollPolicy, Recorder, RetryPolicy, RunwareClient, Timeouts
from .settings import Settings, load_settings

LIVE_LABEL = "Live Runware API"
MOCK_LABEL = "Mock backend: preview images, no credits used"
# The in-process mock's address when no page address is known (a Python caller).
IN_PROCESS_URL = "http://mock.local/v1"
# What a snippet shows for the in-process mock when the page address is unknown:
# where `python -m mock_api` listens by default.
IN_PROCESS_HINT = "http://127.0.0.1:8808/v1"
API_PATH = "/v1"


class _Forward:
    """An ASGI endpoint handing the request to the mock app unchanged (path included)."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.backend.mock_app()(scope, receive, send)


@dataclass
class Backend:
    kind: str  # "live" | "mock"
    label: str
    base_url: str  # the endpoint a snippet should show when the page address is unknown
    settings: Settings = field(repr=False)
    _app: Any = field(default=None, repr=False)  # the in-process mock app, built on first use

    @property
    def in_process(self) -> bool:
        return self.kind == "mock" and not self.settings.mock_api_url

    def endpoint(self, public_base: str | None = None) -> str:
        """The API URL a caller can use: the app's own ``/v1`` for the in-process mock."""
        if self.in_process and public_base:
            return public_base.rstrip("/") + API_PATH
        return self.base_url

    def client(self, api_key: str | None = None, *, public_base: str | None = None) -> RunwareClient:
        """A new client (use it with ``async with``).

        ``api_key`` (a Space visitor's own key) always means the live API, whatever
        this backend is; prefer ``backend_for_key`` to get the matching label too.
        ``public_base`` (the page's address, e.g. ``http://127.0.0.1:7860``) is the host
        the in-process mock puts in its image URLs, where ``routes()`` serves them.
        """
        s = self.settings
        timeouts = Timeouts(call=s.timeout, deadline=s.deadline)
        observers = [Recorder(s.record_dir)] if s.record_dir else []
        opts: dict[str, Any] = {"timeouts": timeouts, "observers": observers}
        retry = RetryPolicy(max_retries=s.max_retries)
        visitor = (api_key or "").strip()
        if visitor:
            return RunwareClient(s.api_url, visitor, retry=retry, **opts)
        if self.kind == "live":
            key = s.api_key.get_secret_value() if s.api_key else None
            return RunwareClient(s.api_url, key, retry=retry, **opts)
        mock_key = s.mock_api_key.get_secret_value()
        # The mock answers at once: short back-off and polling keep a demo snappy.
        opts["retry"] = RetryPolicy(max_retries=s.max_retries, backoff_base=0.2, backoff_max=2.0)
        opts["polling"] = PollPolicy(initial=0.5)
        if s.mock_api_url:
            return RunwareClient(s.mock_api_url, mock_key, **opts)
        transport = httpx.ASGITransport(app=self.mock_app())
        url = public_base.rstrip("/") + API_PATH if public_base else IN_PROCESS_URL
        return RunwareClient(url, mock_key, transport=transport, **opts)

    def mock_app(self) -> Any:
        if self._app is None:
            from mock_api import MockConfig, create_app  # the one tie from demo to mock_api

            s = self.settings
            # Sends nothing unless asked: a visitor must not make the server call itself.
            self._app = create_app(MockConfig(speed=s.mock_speed, send_outbound=s.mock_outbound))
        return self._app

    def reference_stand_in(self, reference: str) -> bytes | None:
        """The picture this backend's images were made from for a reference URL, when
        known without fetching it: the mock's stand-in or grey card; on the live API only
        the documented URLs' stand-ins. None otherwise (an imageUUID, inline data)."""
        from mock_api.engine.previews import reference_stand_in

        return reference_stand_in(reference, mock=self.kind == "mock")

    def routes(self) -> list[BaseRoute]:
        """Routes for the app's own server: the in-process mock's API, nothing else."""
        if not self.in_process:
            return []
        forward = _Forward(self)
        return [
            Route(API_PATH, forward, methods=["POST"]),
            WebSocketRoute(API_PATH, forward),
            Route("/image/{image_path:path}", forward, methods=["GET", "HEAD"]),
        ]


def example_pictures() -> list[bytes]:
    """The mock's picture of each documented example (as its replay returns it), in
    ``load_examples()`` order: the showcase shows these on any backend, free."""
    from api_schema import load_examples
    from mock_api.engine.previews import example_picture

    return [example_picture(example) for example in load_examples()]


def _live(settings: Settings) -> Backend:
    return Backend("live", LIVE_LABEL, settings.api_url, settings)


def make_backend(settings: Settings | None = None) -> Backend:
    """The backend the settings ask for (``auto``: live with a key, else mock)."""
    settings = settings or load_settings()
    if settings.resolved_backend == "live":
        return _live(settings)
    return Backend("mock", MOCK_LABEL, settings.mock_api_url or IN_PROCESS_HINT, settings)


def backend_for_key(settings: Settings | None, visitor_key: str | None) -> Backend:
    """A visitor's own key switches to the live API for that session only."""
    settings = settings or load_settings()
    if visitor_key and visitor_key.strip():
        return _live(settings.model_copy(update={"api_key": SecretStr(visitor_key.strip())}))
    return make_backend(settings)
