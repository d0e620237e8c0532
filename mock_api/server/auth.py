"""Who may call: one check for every transport.

A key comes from the ``Authorization: Bearer`` header (REST, or the WebSocket's
upgrade request) or from an ``authentication`` task in the batch. Without
``require_key`` any non-empty key is accepted; with it, every key offered must be
that key. A WebSocket that was authenticated once stays so for its later messages.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any

from api_schema import errors as E

from ..tasks.handler import RequestContext, TaskResult, failed

AUTH_TASK = "authentication"
UNAUTHORIZED = 401
MISSING_KEY = "Missing API key: send 'Authorization: Bearer <key>' or an authentication task first."


def bearer_key(headers: Mapping[str, str]) -> str | None:
    scheme, _, credentials = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return None


def _same(key: str, expected: str) -> bool:
    # surrogatepass: a key with a lone surrogate (from a JSON escape) compares as unequal, never raises.
    return hmac.compare_digest(*(k.encode("utf-8", "surrogatepass") for k in (key, expected)))


def _refused(message: str) -> TaskResult:
    return failed(UNAUTHORIZED, E.INVALID_API_KEY, message, parameter="apiKey", task_type=AUTH_TASK)


def authenticate(ctx: RequestContext, tasks: list[Any]) -> TaskResult | None:
    """None when the batch may run (and ``ctx`` is now authenticated), else the 401 result."""
    offered = [ctx.credentials] if ctx.credentials else []
    offered += [
        raw["apiKey"]
        for raw in tasks
        if isinstance(raw, dict) and raw.get("taskType") == AUTH_TASK and isinstance(raw.get("apiKey"), str)
    ]
    if not ctx.authenticated and not (offered and offered[0]):
        return _refused(MISSING_KEY)
    expected = ctx.state.config.require_key
    if expected is not None and not all(_same(key, expected) for key in offered):
        return _refused(E.INVALID_API_KEY_MESSAGE)
    ctx.accept(offered[0] if offered else None)
    return None
