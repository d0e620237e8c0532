"""``MockHandle``: what a test holds of a running mock: its URL, its journal, its faults.

The same handle serves a mock behind a real port (``runware_mock``) and one answering
httpx in-process (``runware_respx``): both talk to the mock's own ``/__admin`` routes,
so a test reads the journal and injects faults the same way a browser app's tests
would over HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from ..config import MockConfig

ADMIN = "/__admin"


@dataclass
class MockHandle:
    """A running mock: ``url`` is its base URL (no ``/v1``); ``config`` what it runs with."""

    url: str
    config: MockConfig
    http: httpx.Client = field(repr=False)

    @property
    def api_url(self) -> str:
        """Where tasks are POSTed (and the WebSocket lives, as ws://)."""
        return self.url + "/v1"

    def _admin(self, method: str, path: str, body: Any = None) -> Any:
        headers = {}
        key = self.config.admin_key or self.config.require_key
        if key:  # /__admin wants the key the mock was started with
            headers["Authorization"] = f"Bearer {key}"
        answer = self.http.request(method, self.url + ADMIN + path, json=body, headers=headers)
        answer.raise_for_status()
        return answer.json()

    def requests(self) -> list[dict[str, Any]]:
        """The journal: every API request the mock received, oldest first, secrets redacted."""
        return self._admin("GET", "/requests")["requests"]

    def clear_requests(self) -> None:
        self._admin("DELETE", "/requests")

    def fault(self, kind: str, count: int = 1, **options: Any) -> dict[str, Any]:
        """Fail the next ``count`` API requests with ``kind`` ("402", "403", "429", "500", "503",
        "504", "timeout", "reset"); ``options`` are the admin API's other fields (retryAfter=...)."""
        return self._admin("POST", "/faults", {"fault": kind, "count": count, **options})

    def clear_faults(self) -> None:
        self._admin("DELETE", "/faults")

    def deliveries(self) -> list[dict[str, Any]]:
        """Webhook and upload attempts the mock made."""
        return self._admin("GET", "/deliveries")["deliveries"]

    def advance(self, seconds: float) -> None:
        """Move the mock's simulated clock: async work due within ``seconds`` is done now."""
        self._admin("POST", "/clock", {"advance": seconds})

    def account(self) -> dict[str, Any]:
        """The account's balance and currency (what accountManagement getDetails reports)."""
        return self._admin("GET", "/account")

    def set_balance(self, balance: float) -> dict[str, Any]:
        """Set the account's balance; at 0 every imageInference gets HTTP 402 insufficientCredits."""
        return self._admin("POST", "/account", {"balance": balance})

    def sessions(self) -> list[dict[str, Any]]:
        """WebSocket sessions: connected, buffered messages, resumes (never their key)."""
        return self._admin("GET", "/sessions")["sessions"]

    def disconnect(self) -> int:
        """Drop every open WebSocket from the server's side (their sessions stay resumable)."""
        return self._admin("POST", "/disconnect")["closed"]

    def reset(self) -> None:
        """Forget everything: images, jobs, journal, faults."""
        self._admin("POST", "/reset")
