"""Runware's ``{"data": [...], "errors": [...]}`` envelope: the one builder of every
answer the mock sends, over REST and WebSocket, from task handlers, admin routes,
injected faults and exception handlers alike.

Items with inline pictures (``InlineImage``) are sent as they are rendered: a REST
answer streams its JSON with each picture's base64 written piece by piece (the next
picture renders while one is sent), so an answer of twenty 2048 px PNGs never sits in
memory as text; a WebSocket message holds one picture.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

import orjson
from starlette.responses import Response, StreamingResponse

from api_schema import errors as E

from ..engine.items import InlineImage, base64_pieces, has_inline, materialize
from ..images.store import ImageGone
from ..tasks.handler import TaskResult, failed

log = logging.getLogger("mock_api")

# Stands for an inline picture in the JSON text until it is written (random per
# process, so no value sent to the mock can forge one).
_TOKEN = secrets.token_hex(8)
_SLOT = re.compile(r'"\\u0000' + _TOKEN + r'(\d+)\\u0000"')


EVICTED = "A picture this answer is made from was evicted from the mock's memory; try again."


class Dropped(OSError):
    """The connection is being dropped on purpose (an OSError, as Starlette expects of a
    send that failed): the outermost layer (``wire``) aborts it; nothing to log."""


class BrokenAnswer(Dropped):
    """A streamed answer could not be finished: the connection is dropped, so the
    client sees a failed transfer (and retries), never a truncated 200."""


def _json(body: Any, *, ascii_only: bool = False) -> str:
    return json.dumps(body, ensure_ascii=ascii_only, allow_nan=False, separators=(",", ":"))


def dumps(body: Any) -> bytes:
    """Compact UTF-8 JSON that never fails to encode.

    orjson writes it (a tenth of ``json.dumps``'s time for an answer); what orjson
    refuses goes to ``json``: integers past 64 bits (a seed of 4,301 digits echoed in an
    error item) and lone surrogates from a request's JSON escapes (a taskType of
    "\\ud800"), which cannot be UTF-8, so such a body goes out with \\u escapes. A NaN
    (none is ever in an answer: requests with one are refused) would be written as null.
    """
    try:
        return orjson.dumps(body)
    except TypeError:  # orjson.JSONEncodeError
        pass
    try:
        return _json(body).encode("utf-8")
    except UnicodeEncodeError:
        return _json(body, ascii_only=True).encode("ascii")


def dumps_text(body: Any) -> str:
    """``dumps`` as text (for an answer written in parts): encodable as UTF-8, always."""
    text = _json(body)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _json(body, ascii_only=True)
    return text


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


async def as_message(result: TaskResult) -> bytes | None:
    """One result as a WebSocket message, inline pictures rendered; None when it has nothing to say."""
    if not (result.data or result.errors):
        return None
    try:
        return dumps(await materialize(envelope([result])[1]))
    except ImageGone:
        return dumps(envelope([failed(503, E.SERVICE_UNAVAILABLE, EVICTED)])[1])


def _slotted(value: Any, images: list[InlineImage]) -> Any:
    """A copy of a JSON value with each InlineImage replaced by its numbered slot."""
    if isinstance(value, InlineImage):
        images.append(value)
        return f"\x00{_TOKEN}{len(images) - 1}\x00"
    if isinstance(value, dict):
        return {k: _slotted(v, images) for k, v in value.items()}
    if isinstance(value, list):
        return [_slotted(v, images) for v in value]
    return value


async def _stream(parts: list[str], images: list[InlineImage], first: bytes) -> AsyncIterator[bytes]:
    """The JSON text with each slot written as its picture's base64, one picture ahead."""
    order = [int(parts[n]) for n in range(1, len(parts), 2)]
    ahead: asyncio.Future[bytes] | None = None
    try:
        for n, part in enumerate(parts):
            if n % 2 == 0:
                yield part.encode("utf-8")
                continue
            k = n // 2
            data = first if k == 0 else await ahead  # type: ignore[misc]
            ahead = asyncio.ensure_future(images[order[k + 1]].picture()) if k + 1 < len(order) else None
            image = images[order[k]]
            yield b'"' + image.prefix.encode("ascii")
            for piece in base64_pieces(data):
                yield piece
            yield b'"'
    except ImageGone as exc:
        log.warning("an inline answer could not be finished: %s was evicted", exc)
        raise BrokenAnswer("a picture was evicted while the answer was sent") from None
    finally:
        if ahead is not None and not ahead.done():
            ahead.cancel()


async def envelope_answer(results: Iterable[TaskResult]) -> Response:
    """The response for the results of one REST request: plain JSON, or streamed with
    inline pictures rendered as they are written."""
    results = list(results)
    status, body = envelope(results)
    waits = [r.retry_after_s for r in results if r.retry_after_s]
    headers = {"Retry-After": str(max(waits))} if waits and status in (429, 503) else None
    if not has_inline(body.get("data", ())):  # a URL answer, most of them, needs no copy of its body
        return SafeJSONResponse(body, status_code=status, headers=headers)
    images: list[InlineImage] = []
    slotted = _slotted(body, images)
    parts = _SLOT.split(dumps_text(slotted))
    try:
        first = await images[int(parts[1])].picture()  # a failure now is still a clean 503
    except ImageGone:
        return error_response(503, E.SERVICE_UNAVAILABLE, EVICTED, headers={"Retry-After": "1"})
    return StreamingResponse(_stream(parts, images, first), status_code=status, media_type="application/json")


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
