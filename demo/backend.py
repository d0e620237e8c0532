"""Pick the backend from settings: the live Runware API or the mock.

Both are the same ``RunwareClient``; only base URL, key and transport differ. The
in-process mock runs the mock's ASGI app through ``httpx.ASGITransport``: no port is
opened, nothing is exposed. This module is the one place ``demo`` imports ``mock_api``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import SecretStr

from .client import RunwareClient
from .settings import Settings, load_settings

LIVE_LABEL = "Live Runware API"
MOCK_LABEL = "Mock backend: preview images, no credits used"
IN_PROCESS_URL = "http://mock.local/v1"
# What a code snippet should show for the in-process mock: where `python -m mock_api` listens.
IN_PROCESS_HINT = "http://127.0.0.1:8808/v1"


@dataclass
class Backend:
    kind: str  # "live" | "mock"
    label: str
    base_url: str  # the endpoint a snippet should show
    settings: Settings = field(repr=False)
    _app: Any = field(default=None, repr=False)  # the in-process mock app, built on first use

    @property
    def in_process(self) -> bool:
        return self.kind == "mock" and not self.settings.mock_api_url

    def client(self, api_key: str | None = None) -> RunwareClient:
        """A new client (use it with ``async with``).

        ``api_key`` (a Space visitor's own key) always means the live API, whatever
        this backend is; prefer ``backend_for_key`` to get the matching label too.
        """
        s = self.settings
        opts: dict[str, Any] = {
            "timeout": s.timeout,
            "deadline": s.deadline,
            "max_retries": s.max_retries,
            "record_dir": s.record_dir,
        }
        visitor = (api_key or "").strip()
        if visitor:
            return RunwareClient(s.api_url, visitor, **opts)
        if self.kind == "live":
            return RunwareClient(s.api_url, s.api_key.get_secret_value() if s.api_key else None, **opts)
        key = s.mock_api_key.get_secret_value()
        # The mock answers at once: short back-off and polling keep a demo snappy.
        opts.update(backoff_base=0.2, backoff_max=2.0, poll_initial=0.5)
        if s.mock_api_url:
            return RunwareClient(s.mock_api_url, key, **opts)
        transport = httpx.ASGITransport(app=self._mock_app())
        return RunwareClient(IN_PROCESS_URL, key, transport=transport, **opts)

    def _mock_app(self) -> Any:
        if self._app is None:
            from mock_api import MockConfig, create_app  # the one tie from demo to mock_api

            self._app = create_app(MockConfig(speed=self.settings.mock_speed))
        return self._app


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
