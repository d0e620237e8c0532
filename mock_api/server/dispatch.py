"""The one pipeline every transport hands its payload to.

A payload (a REST body or a WebSocket message) is decoded into a batch of 1 to
100 tasks, the batch authenticated, then each task validated with
``api_schema.parse_task`` and handed to the handler for its taskType. Each task
succeeds or fails on its own; a bug in a handler becomes that task's serverError
item, never a traceback on the wire.

Decoding and validating a large payload costs real CPU (a 32 MB body, a task with
100,000 made-up fields): for a large payload both run in a worker thread
(``MockState.parse``), so the event loop keeps answering everyone else (``/health``
included) meanwhile.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator
from typing import Any

import orjson

from api_schema import errors as E
from api_schema import parse_task

from ..jsontext import MAX_JSON_VALUES, value_marks
from ..state import INLINE_PAYLOAD_BYTES
from ..tasks.account import handle_account_management
from ..tasks.handler import Handler, RequestContext, TaskResult, failed, internal_error
from ..tasks.inference import handle_image_inference
from ..tasks.lookup import handle_get_response, handle_get_task_details
from ..tasks.media import handle_media_storage
from ..tasks.session import handle_authentication, handle_ping
from ..tasks.upload import handle_image_upload
from .auth import authenticate
from .wire import body_too_large

log = logging.getLogger("mock_api")

MAX_TASKS_PER_REQUEST = 100
TOO_LARGE = 413

HANDLERS: dict[str, Handler] = {
    "authentication": handle_authentication,
    "ping": handle_ping,
    "imageInference": handle_image_inference,
    "imageUpload": handle_image_upload,
    "mediaStorage": handle_media_storage,
    "accountManagement": handle_account_management,
    "getResponse": handle_get_response,
    "getTaskDetails": handle_get_task_details,
}


class BatchError(Exception):
    """A payload that is not a batch of tasks; ``result`` is the answer."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.result = failed(status, code, message)


def too_large(limit: int) -> BatchError:
    return BatchError(TOO_LARGE, E.REQUEST_TOO_LARGE, body_too_large(limit))


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
_SPACE = re.compile(r"[ \t\n\r]*")


def _decode_array(payload: bytes | str) -> Any:
    """The JSON value of a payload; a top-level array is decoded one element at a time.

    json's C decoder holds the GIL for a whole document, so one 30 MB array would stop
    the event loop for as long as it takes; element by element, the loop gets its turns
    in between (and decoding stops after one element more than a batch may hold).
    """
    text = payload if isinstance(payload, str) else payload.decode(json.detect_encoding(payload))
    if len(text) <= INLINE_PAYLOAD_BYTES:
        # Small enough to be handled on the loop at all: one call holds it well under a
        # millisecond, and all of it is at most ~20,000 small objects even when it holds
        # far more tasks than a batch may (element by element is for the large ones).
        return _DECODER.decode(text)
    at = _SPACE.match(text).end()  # type: ignore[union-attr]
    if not text.startswith("[", at):
        return _DECODER.decode(text)
    items: list[Any] = []
    at = _SPACE.match(text, at + 1).end()  # type: ignore[union-attr]
    if text.startswith("]", at):
        end = at + 1
    else:
        while True:
            item, at = _DECODER.raw_decode(text, at)
            items.append(item)
            if len(items) > MAX_TASKS_PER_REQUEST:
                return items  # refused by count: the rest need not be read
            at = _SPACE.match(text, at).end()  # type: ignore[union-attr]
            if text.startswith("]", at):
                end = at + 1
                break
            if not text.startswith(",", at):
                raise json.JSONDecodeError("Expecting ',' delimiter", text, at)
            at = _SPACE.match(text, at + 1).end()  # type: ignore[union-attr]
    if _SPACE.match(text, end).end() != len(text):  # type: ignore[union-attr]
        raise json.JSONDecodeError("Extra data", text, _SPACE.match(text, end).end())  # type: ignore[union-attr]
    return items


def _fast_decode(payload: bytes | str) -> list[Any] | None:
    """orjson's reading of a small payload when it is a batch of 1..100 tasks, else None.

    orjson reads JSON in a third of json's time, but not always alike: an integer past
    64 bits becomes a float, and it refuses a lone surrogate, a BOM and UTF-16. So its
    reading is used only for a batch whose every task then validates: no typed field
    takes such a float (each integer field is strict, no float field's bounds reach
    2**63) and every other name is refused as unknown. Anything else, a refused task
    included, is read again by json, whose reading every answer and error is made of.
    """
    try:
        tasks = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    return tasks if isinstance(tasks, list) and 0 < len(tasks) <= MAX_TASKS_PER_REQUEST else None


def _checked_size(payload: bytes | str, limit: int) -> int:
    """The payload's size in bytes; BatchError when it is too large (in bytes or values) or empty."""
    size = len(payload) if isinstance(payload, bytes) else len(payload.encode("utf-8", "surrogatepass"))
    if size > limit:
        raise too_large(limit)
    if not payload.strip():
        raise BatchError(400, E.INVALID_REQUEST_BODY, "Request body is empty: send a JSON array of tasks.")
    if size > MAX_JSON_VALUES and value_marks(payload) > MAX_JSON_VALUES:  # fewer bytes: fewer marks
        raise BatchError(
            400,
            E.INVALID_REQUEST_BODY,
            f"Request body holds more than {MAX_JSON_VALUES} JSON values; no batch of tasks needs as many.",
        )
    return size


def _json_batch(payload: bytes | str) -> list[Any]:
    """The tasks of a payload as json reads it; BatchError when it is not JSON or not 1..100 tasks."""
    try:
        tasks = _decode_array(payload)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested too deep to parse
        detail = (
            f" ({exc.msg} at line {exc.lineno} column {exc.colno})"
            if isinstance(exc, json.JSONDecodeError)
            else ""
        )
        raise BatchError(400, E.INVALID_REQUEST_BODY, f"Request body is not valid JSON{detail}.") from None
    if not isinstance(tasks, list):
        raise BatchError(
            400,
            E.INVALID_REQUEST_BODY,
            f"Request body must be a JSON array of tasks (got a JSON {type(tasks).__name__}).",
        )
    if not tasks:
        raise BatchError(
            400, E.INVALID_REQUEST_BODY, "Request body is an empty array: send at least one task."
        )
    if len(tasks) > MAX_TASKS_PER_REQUEST:
        raise BatchError(400, E.INVALID_REQUEST_BODY, f"At most {MAX_TASKS_PER_REQUEST} tasks per request.")
    return tasks


def decode_batch(payload: bytes | str, limit: int) -> list[Any]:
    """The tasks of a payload; BatchError when it is too large (in bytes or values), not
    JSON or not 1..100 tasks."""
    _checked_size(payload, limit)
    return _json_batch(payload)


def read_batch(payload: bytes | str, limit: int) -> tuple[list[Any], bool]:
    """``decode_batch``'s tasks, read by orjson when the payload is small and orjson reads a
    batch in it (then True: the caller reads it again with json if a task is refused)."""
    if _checked_size(payload, limit) <= INLINE_PAYLOAD_BYTES:
        tasks = _fast_decode(payload)
        if tasks is not None:
            return tasks, True
    return _json_batch(payload), False


def _parse_all(tasks: list[Any]) -> list[tuple[Any, Any]]:
    return [parse_task(raw) for raw in tasks]


async def dispatch(ctx: RequestContext, raw: Any, parsed: tuple[Any, Any] | None = None) -> TaskResult:
    """One task: validated (unless ``parsed`` holds its validation), then answered by its handler."""
    task, errors = parsed if parsed is not None else parse_task(raw)
    if task is None:
        return TaskResult(errors=errors, status=400)
    task_type: str = task.task_type  # type: ignore[attr-defined]
    task_uuid: str | None = getattr(task, "task_uuid", None)
    handler = HANDLERS.get(task_type)
    if handler is None:
        return failed(
            400,
            E.UNKNOWN_TASK_TYPE,
            f"taskType {task_type!r} is not supported by this mock.",
            parameter="taskType",
            task_type=task_type,
            task_uuid=task_uuid,
        )
    try:
        return await handler(ctx, task)
    except Exception as exc:  # a bug in the mock: the client still gets a Runware-shaped answer
        log.error("unexpected error in a %s task", task_type, exc_info=exc)
        return internal_error(exc, task_type=task_type, task_uuid=task_uuid)


async def prepare(ctx: RequestContext, payload: bytes | str) -> list[tuple[Any, Any]] | TaskResult:
    """Each task of a payload with its validation, or the one result that refuses the batch."""
    state, limit = ctx.state, ctx.state.config.max_body_bytes
    size = len(payload) if len(payload) <= limit else 0  # too large: refused at once, inline
    inline = state.inline(size)
    by_orjson = False
    try:
        if inline:
            tasks, by_orjson = read_batch(payload, limit)
        else:
            tasks = await state.parse(size, decode_batch, payload, limit)
    except BatchError as exc:
        return exc.result
    denied = authenticate(ctx, tasks)  # (its keys are strings, which both decoders read alike)
    if denied is not None:
        return denied
    if not inline:
        checked = await state.parse(size, _parse_all, tasks)
    else:
        checked = _parse_all(tasks)
        if by_orjson and any(task is None for task, _ in checked):
            # A task is refused: the refusal is worked out from json's reading, so that it
            # says what it says for every payload (``_fast_decode``).
            tasks = _json_batch(payload)
            checked = _parse_all(tasks)
    return list(zip(tasks, checked, strict=True))


async def run(ctx: RequestContext, payload: bytes | str) -> AsyncIterator[TaskResult]:
    """The results of one payload, task by task, as each is done (a WebSocket sends them so)."""
    prepared = await prepare(ctx, payload)
    if isinstance(prepared, TaskResult):
        yield prepared
        return
    for raw, checked in prepared:
        yield await dispatch(ctx, raw, checked)


async def run_all(ctx: RequestContext, payload: bytes | str) -> list[TaskResult]:
    """The results of one payload (a REST answer holds them all); no async generator to drive."""
    prepared = await prepare(ctx, payload)
    if isinstance(prepared, TaskResult):
        return [prepared]
    return [await dispatch(ctx, raw, checked) for raw, checked in prepared]
