"""The mock Runware server: ``create_app(config)`` builds the FastAPI app.

``POST /v1`` takes a JSON array of tasks. The body is checked (size, content
type, JSON, shape), the caller authenticated, then each task is validated with
``api_schema`` and handed to the handler registered for its taskType in
``MockState.handlers``; each task succeeds or fails on its own and all answers
share one ``{"data": [...], "errors": [...]}`` envelope. Other modules extend the
mock by adding handlers, config fields, routes and middleware.
"""

from __future__ import annotations

import hmac
import json
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from api_schema import ErrorItem, ImageInferenceTask, make_error, parse_task
from api_schema import errors as E

from . import openapi, uploads
from .config import MockConfig
from .replay import ReplayStore, replay_items
from .store import ImageGone, ImageStore
from .synth import new_uuid, resolve_references, synthesize

log = logging.getLogger("mock_api")

MAX_TASKS_PER_REQUEST = 100
AUTH_TASK = "authentication"


@dataclass
class TaskResult:
    """What one task contributed to the envelope, and the HTTP status if it failed."""

    data: list[dict[str, Any]] = field(default_factory=list)
    errors: list[ErrorItem] = field(default_factory=list)
    status: int = 200


def failed(
    status: int,
    code: str,
    message: str,
    *,
    parameter: str | None = None,
    task_type: str | None = None,
    task_uuid: str | None = None,
) -> TaskResult:
    """A task that failed with one error item and the given HTTP status."""
    error = make_error(code, message, parameter=parameter, task_type=task_type, task_uuid=task_uuid)
    return TaskResult(errors=[error], status=status)


@dataclass
class RequestContext:
    state: MockState
    request: Request
    base_url: str  # where this request came in: image URLs resolve through it


Handler = Callable[[RequestContext, Any], Awaitable[TaskResult]]


class MockState:
    """Everything one app instance remembers; ``reset()`` forgets it all."""

    def __init__(self, config: MockConfig) -> None:
        self.config = config
        self.replay = ReplayStore.load(config.replay_dirs)  # raises ValueError naming a bad file
        self.store = ImageStore(config)
        self.rng = random.Random(config.random_seed)
        self.handlers: dict[str, Handler] = {
            "authentication": handle_authentication,
            "ping": handle_ping,
            "imageInference": handle_image_inference,
            "imageUpload": handle_image_upload,
        }

    def reset(self) -> None:
        self.store.clear()
        self.rng = random.Random(self.config.random_seed)


class SafeJSONResponse(JSONResponse):
    """JSON that never fails to encode: lone surrogates from a request's JSON
    escapes (e.g. a taskType of "\\ud800" echoed in an error item) are sent as
    \\u escapes instead of raising."""

    def render(self, content: Any) -> bytes:
        try:
            return super().render(content)
        except UnicodeEncodeError:
            text = json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
            return text.encode("ascii")


def _error(status: int, code: str, message: str, **kw: Any) -> JSONResponse:
    return SafeJSONResponse({"errors": [make_error(code, message, **kw).to_wire()]}, status_code=status)


# --- task handlers -----------------------------------------------------------
async def handle_authentication(ctx: RequestContext, task: Any) -> TaskResult:
    # The key itself was checked before dispatch; here we only hand out a session.
    session = task.connection_session_uuid or new_uuid(ctx.state.rng)
    return TaskResult(data=[{"taskType": AUTH_TASK, "connectionSessionUUID": session}])


async def handle_ping(ctx: RequestContext, task: Any) -> TaskResult:
    item: dict[str, Any] = {"taskType": "ping", "pong": True}
    if task.task_uuid:
        item["taskUUID"] = task.task_uuid
    return TaskResult(data=[item])


async def run_inference(state: MockState, task: ImageInferenceTask, base_url: str) -> TaskResult:
    """The complete result items of an imageInference, by replay or synthesis."""
    recording = state.replay.match(task)
    if recording is None and state.config.strict:
        reason = state.replay.explain_miss(task)
        return failed(
            400,
            E.NO_RECORDED_RESPONSE,
            f"No recorded response matches this imageInference request (--strict): {reason}.",
            task_type=task.task_type,
            task_uuid=task.task_uuid,
        )
    digests: list[str] = []
    if recording is None or not recording.has_files:
        digests, errors = await resolve_references(task, state.store, state.config)
        if errors:
            return TaskResult(errors=errors, status=400)
    kw = {"rng": state.rng, "store": state.store, "base_url": base_url}
    try:
        if recording is not None:
            items = await replay_items(recording, task, digests, **kw)
        else:
            items = await synthesize(task, digests, count=task.number_results, first_index=0, **kw)
    except ImageGone:
        return failed(
            503,
            E.SERVICE_UNAVAILABLE,
            "A reference picture was evicted from the mock's memory while rendering; try again.",
            task_type=task.task_type,
            task_uuid=task.task_uuid,
        )
    return TaskResult(data=items)


async def handle_image_inference(ctx: RequestContext, task: ImageInferenceTask) -> TaskResult:
    return await run_inference(ctx.state, task, ctx.base_url)


async def handle_image_upload(ctx: RequestContext, task: Any) -> TaskResult:
    item, error = await uploads.store_upload(task, ctx.state.store, ctx.state.config, ctx.state.rng)
    if error is not None:
        return TaskResult(errors=[error], status=400)
    item["imageURL"] = ctx.base_url + item.pop("path")
    return TaskResult(data=[item])


# --- request plumbing --------------------------------------------------------
class BodyError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


async def read_body(request: Request, limit: int) -> bytes:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise BodyError(413, E.REQUEST_TOO_LARGE, f"Request body is larger than {limit} bytes.")
    chunks, total = [], 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise BodyError(413, E.REQUEST_TOO_LARGE, f"Request body is larger than {limit} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def decode_tasks(request: Request, body: bytes) -> list[Any]:
    content_type = request.headers.get("content-type")
    if content_type is not None:
        mime = content_type.split(";", 1)[0].strip().lower()
        if mime != "application/json" and not mime.endswith("+json"):
            raise BodyError(
                400,
                E.INVALID_REQUEST_BODY,
                f"Content-Type must be application/json (got {mime or 'empty'!r}).",
            )
    if not body.strip():
        raise BodyError(400, E.INVALID_REQUEST_BODY, "Request body is empty: send a JSON array of tasks.")
    try:
        tasks = json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        detail = (
            f" ({exc.msg} at line {exc.lineno} column {exc.colno})"
            if isinstance(exc, json.JSONDecodeError)
            else ""
        )
        raise BodyError(400, E.INVALID_REQUEST_BODY, f"Request body is not valid JSON{detail}.") from None
    if not isinstance(tasks, list):
        raise BodyError(
            400,
            E.INVALID_REQUEST_BODY,
            f"Request body must be a JSON array of tasks (got a JSON {type(tasks).__name__}).",
        )
    if not tasks:
        raise BodyError(
            400, E.INVALID_REQUEST_BODY, "Request body is an empty array: send at least one task."
        )
    if len(tasks) > MAX_TASKS_PER_REQUEST:
        raise BodyError(400, E.INVALID_REQUEST_BODY, f"At most {MAX_TASKS_PER_REQUEST} tasks per request.")
    return tasks


def find_api_key(request: Request, tasks: list[Any]) -> tuple[str | None, bool]:
    """(key, from_header). The header wins; else an authentication task's apiKey."""
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip(), True
    for raw in tasks:
        if isinstance(raw, dict) and raw.get("taskType") == AUTH_TASK and isinstance(raw.get("apiKey"), str):
            return raw["apiKey"], False
    return None, False


def check_auth(config: MockConfig, request: Request, tasks: list[Any]) -> JSONResponse | None:
    """A 401 response when the caller is not authenticated, else None."""
    key, _ = find_api_key(request, tasks)
    kw = {"parameter": "apiKey", "task_type": AUTH_TASK}
    if not key:
        return _error(
            401,
            E.INVALID_API_KEY,
            "Missing API key: send 'Authorization: Bearer <key>' or an authentication task first.",
            **kw,
        )
    keys = [key] + [
        raw["apiKey"]
        for raw in tasks
        if isinstance(raw, dict) and raw.get("taskType") == AUTH_TASK and isinstance(raw.get("apiKey"), str)
    ]
    if config.require_key is not None:
        expected = config.require_key.encode("utf-8", "surrogatepass")
        if not all(hmac.compare_digest(k.encode("utf-8", "surrogatepass"), expected) for k in keys):
            return _error(401, E.INVALID_API_KEY, "Invalid API key.", **kw)
    return None


async def dispatch(ctx: RequestContext, raw: Any) -> TaskResult:
    task, errors = parse_task(raw)
    if task is None:
        return TaskResult(errors=errors, status=400)
    task_type = task.task_type  # type: ignore[attr-defined]
    handler = ctx.state.handlers.get(task_type)
    if handler is None:
        return failed(
            400,
            E.UNKNOWN_TASK_TYPE,
            f"taskType {task_type!r} is not supported by this mock.",
            parameter="taskType",
            task_type=task_type,
            task_uuid=getattr(task, "task_uuid", None),
        )
    return await handler(ctx, task)


def envelope_response(results: list[TaskResult]) -> JSONResponse:
    data = [item for r in results for item in r.data]
    errors = [e.to_wire() for r in results for e in r.errors]
    body: dict[str, Any] = {}
    if data or not errors:
        body["data"] = data
    if errors:
        body["errors"] = errors
    # Partial success is a success; otherwise the first failure's status.
    status = 200 if data or not errors else next(r.status for r in results if r.errors)
    return SafeJSONResponse(body, status_code=status)


# --- the app -----------------------------------------------------------------
def create_app(config: MockConfig | None = None) -> FastAPI:
    """The mock server. Raises ValueError (naming the file) for a broken recording."""
    config = config or MockConfig()
    state = MockState(config)
    app = FastAPI(
        title="Runware mock for GLM-Image",
        description="Offline mock of the Runware REST API for runware:glm-image@0.",
        version="1.0",
    )
    app.state.mock = state

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: E.NOT_FOUND, 405: E.METHOD_NOT_ALLOWED}.get(exc.status_code, E.INVALID_REQUEST_BODY)
        message = f"{request.method} {request.url.path}: {exc.detail}."
        response = _error(exc.status_code, code, message)
        response.headers.update(exc.headers or {})  # e.g. Allow on a 405
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(400, E.INVALID_REQUEST_BODY, "The request is malformed.")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # A bug in the mock; the client still gets a Runware-shaped answer, not a trace.
        log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return _error(500, E.SERVER_ERROR, f"Internal error in the mock server ({type(exc).__name__}).")

    @app.post("/v1", **openapi.POST_V1_DOCS)
    async def post_v1(request: Request) -> Response:
        try:
            body = await read_body(request, config.max_body_bytes)
            tasks = decode_tasks(request, body)
        except BodyError as exc:
            return _error(exc.status, exc.code, exc.message)
        denied = check_auth(config, request, tasks)
        if denied is not None:
            return denied
        ctx = RequestContext(state=state, request=request, base_url=str(request.base_url).rstrip("/"))
        results = [await dispatch(ctx, raw) for raw in tasks]
        return envelope_response(results)

    @app.head("/image/{image_path:path}", include_in_schema=False)
    @app.get("/image/{image_path:path}", **openapi.IMAGE_DOCS)
    async def get_image(image_path: str) -> Response:
        record = state.store.lookup("/image/" + image_path)
        try:
            data = await state.store.get_bytes(record) if record is not None else None
        except ImageGone:
            data = None
        if record is None or data is None:
            return _error(404, E.IMAGE_NOT_FOUND, f"No image at /image/{image_path} (unknown or expired).")
        return Response(
            content=data, media_type=record.mime, headers={"Cache-Control": "private, max-age=60"}
        )

    @app.get("/health", **openapi.HEALTH_DOCS)
    async def health() -> dict[str, Any]:
        return {"status": "ok", "recordings": len(state.replay), "images": len(state.store)}

    openapi.install(app)
    from .admin import install  # async, webhooks, faults, journal, WebSocket, /__admin

    install(app, state)
    return app
