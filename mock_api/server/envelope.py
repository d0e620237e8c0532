"""Runware's ``{"data": [...], "errors": [...]}`` envelope: the one builder of every
answer the mock sends, over REST and WebSocket, from task handlers, admin routes,
injected faults and exception handlers alike."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from starlette.responses import Response

from ..tasks.handler import TaskResult, failed


def dumps(body: Any) -> bytes:
    """Compact UTF-8 JSON that never fails to encode.

    Lone surrogates from a request's JSON escapes (a taskType of "\\ud800" echoed
    in an error item) cannot be UTF-8: such a body goes out with \\u escapes.
    """
    text = json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(body, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


class SafeJSONResponse(Response):
    """A JSON response encoded with ``dumps``."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content)


def envelope(results: Iterable[TaskResult]) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body) for the results of one request.

    Partial success is a success; otherwise the status of the first failure.
    """
    results = list(results)
    data = [item for r in results for item in r.data]
    errors = [e.to_wire() for r in results for e in r.errors]
    body: dict[str, Any] = {}
    if data or not errors:
        body["data"] = data
    if errors:
        body["errors"] = errors
    status = 200 if data or not errors else next(r.status for r in results if r.errors)
    return status, body


def as_message(result: TaskResult) -> bytes | None:
    """One result as a WebSocket message; None when it has nothing to say."""
    if not (result.data or result.errors):
        return None
    return dumps(envelope([result])[1])


def envelope_response(
    results: Iterable[TaskResult], headers: Mapping[str, str] | None = None
) -> SafeJSONResponse:
    status, body = envelope(results)
    return SafeJSONResponse(body, status_code=status, headers=headers)


def error_response(
    status: int, code: str, message: str, *, headers: Mapping[str, str] | None = None, **kw: Any
) -> SafeJSONResponse:
    """A response carrying one error item."""
    return envelope_response([failed(status, code, message, **kw)], headers)
