"""Failures raised by the framework (unknown path, wrong method, unparsable
parameters, a bug) answered as Runware error envelopes instead of FastAPI's own
shapes or a bare 500."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from api_schema import errors as E

from ..tasks.handler import internal_error
from .envelope import Dropped, envelope_response, error_response

log = logging.getLogger("mock_api")


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: E.NOT_FOUND, 405: E.METHOD_NOT_ALLOWED}.get(exc.status_code, E.INVALID_REQUEST_BODY)
    message = f"{request.method} {request.url.path}: {exc.detail}."
    return error_response(exc.status_code, code, message, headers=exc.headers)  # e.g. Allow on a 405


async def validation_error(request: Request, exc: Exception) -> Response:
    return error_response(400, E.INVALID_REQUEST_BODY, "The request is malformed.")


async def unexpected(request: Request, exc: Exception) -> Response:
    if isinstance(exc, Dropped):  # on purpose: the answer had started, the wire drops the connection
        return Response(status_code=500)
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return envelope_response([internal_error(exc)])


EXCEPTION_HANDLERS: dict[Any, Any] = {
    StarletteHTTPException: http_error,
    RequestValidationError: validation_error,
    Exception: unexpected,
}
