"""``POST /v1`` and ``GET``/``HEAD /image/...`` answered straight from ASGI.

The gateway hands these two routes their request (body already read, headers already
decoded) without going through FastAPI's stack: its error middleware, body-limit and
exception middleware, exit stack, router scan, request/response wrappers and
dependency solver cost about a fifth of the mock's CPU per answer, for routes that
read their body by hand and need none of it. FastAPI still serves everything else
(/health, /openapi.json, /docs, /__admin, the WebSocket), and still lists both routes
in its OpenAPI document (``rest``), whose endpoints call the same functions here.

What FastAPI's error middleware gave these routes is kept: an unexpected error
answers a Runware-shaped 500 (the traceback goes to the log, never to the client),
and a connection dropped on purpose (``Dropped``) still goes up to the wire.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Mapping

from starlette.datastructures import URL
from starlette.responses import Response
from starlette.types import Scope

from api_schema import errors as E

from ..images.store import ImageGone
from ..state import MockState
from ..tasks.handler import RequestContext, internal_error
from . import API_PATH
from .auth import bearer_key
from .dispatch import BatchError, run_all, too_large
from .envelope import Dropped, envelope_answer, envelope_response, error_response
from .wire import declared_length

log = logging.getLogger("mock_api")

IMAGE_PREFIX = "/image/"
IMAGE_CACHE_CONTROL = "private, max-age=60"

# A request as the gateway hands it on: state, scope, body, whether the body was read
# whole, headers (lower-case names, the first of repeated ones); the gateway sends the
# response (and journals its status).
Route = Callable[[MockState, Scope, bytes, bool, Mapping[str, str]], Awaitable[Response]]


def check_content_type(headers: Mapping[str, str]) -> None:
    content_type = headers.get("content-type")
    if content_type is None:
        return
    mime = content_type.split(";", 1)[0].strip().lower()
    if mime != "application/json" and not mime.endswith("+json"):
        raise BatchError(
            400, E.INVALID_REQUEST_BODY, f"Content-Type must be application/json (got {mime or 'empty'!r})."
        )


async def answer_v1(
    state: MockState, body: bytes | None, headers: Mapping[str, str], base_url: str
) -> Response:
    """The answer to a ``POST /v1`` body (None: larger than the body limit, not read whole)."""
    limit = state.config.max_body_bytes
    length = headers.get("content-length")
    declared = declared_length(length) if length is not None and length.isdigit() else 0
    try:
        if body is None or len(body) > limit or declared > limit:
            raise too_large(limit)
        check_content_type(headers)
    except BatchError as exc:
        return envelope_response([exc.result])
    base_url = state.config.image_base_url or base_url
    ctx = RequestContext(state=state, base_url=base_url, credentials=bearer_key(headers))
    return await envelope_answer(await run_all(ctx, body))


async def answer_image(state: MockState, path: str) -> Response:
    """A picture the mock serves, or a 404 envelope."""
    store = state.store
    record = store.lookup(path)
    try:
        data = await store.get_bytes(record) if record is not None else None
    except ImageGone:
        data = None
    if record is None or data is None:
        return error_response(404, E.IMAGE_NOT_FOUND, f"No image at {path} (unknown or expired).")
    return Response(content=data, media_type=record.mime, headers={"Cache-Control": IMAGE_CACHE_CONTROL})


def _base_url(scheme: str, server: tuple[str, int] | None, host: str | None, root_path: str) -> str:
    # Starlette's own rules (Host header validated, default ports left out), once per address.
    headers = [(b"host", host.encode("latin-1"))] if host is not None else []
    scope = {"type": "http", "scheme": scheme, "server": server, "path": root_path + "/", "headers": headers}
    return str(URL(scope=scope)).rstrip("/")


_cached_base_url = functools.lru_cache(maxsize=256)(_base_url)
MAX_CACHED_HOST = 255


def base_url_of(scope: Scope, headers: Mapping[str, str]) -> str:
    """Where the request came in (image URLs resolve through it), as ``request.base_url`` gives it."""
    server = scope.get("server")
    host = headers.get("host")
    where = (scope.get("scheme", "http"), tuple(server) if server else None, host, scope.get("root_path", ""))
    if host is not None and len(host) > MAX_CACHED_HOST:  # no host name: not worth a cache slot
        return _base_url(*where)
    return _cached_base_url(*where)


def _crashed(exc: Exception, where: str) -> Response:
    """A bug in the mock: the client still gets a Runware-shaped answer, the log the traceback."""
    log.error("unexpected error on %s", where, exc_info=exc)
    return envelope_response([internal_error(exc)])


# The routes hand back the coroutine of the function that answers (no coroutine of their own
# around it, awaited in between): ``answer`` awaits it inside its crash guard.
def post_v1(
    state: MockState, scope: Scope, body: bytes, complete: bool, headers: Mapping[str, str]
) -> Awaitable[Response]:
    return answer_v1(state, body if complete else None, headers, base_url_of(scope, headers))


def get_image(
    state: MockState, scope: Scope, body: bytes, complete: bool, headers: Mapping[str, str]
) -> Awaitable[Response]:
    return answer_image(state, scope["path"])


async def answer(
    route: Route, state: MockState, scope: Scope, body: bytes, complete: bool, headers: Mapping[str, str]
) -> Response:
    """The response of a direct route; an unexpected error becomes a Runware-shaped 500."""
    try:
        return await route(state, scope, body, complete, headers)
    except Dropped:  # on purpose: the wire drops the connection
        raise
    except Exception as exc:
        where = API_PATH if route is post_v1 else IMAGE_PREFIX + "..."
        return _crashed(exc, f"{scope.get('method')} {where}")


def route_of(method: str, path: str) -> Route | None:
    """The direct route for a request, or None when FastAPI serves it."""
    if path == API_PATH:
        return post_v1 if method == "POST" else None
    if path.startswith(IMAGE_PREFIX) and method in ("GET", "HEAD"):
        return get_image
    return None
