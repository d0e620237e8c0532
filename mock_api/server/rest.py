"""The REST surface: ``POST /v1`` (framing only: body size and content type, then
the pipeline in ``dispatch``), the images the mock serves, and ``/health``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api_schema import errors as E

from ..images.store import ImageGone
from ..state import state_of
from ..tasks.handler import RequestContext
from . import API_PATH, openapi
from .auth import bearer_key
from .dispatch import BatchError, run, too_large
from .envelope import envelope_answer, envelope_response, error_response

router = APIRouter()


async def read_body(request: Request, limit: int) -> bytes:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise too_large(limit)
    chunks, total = [], 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def check_content_type(request: Request) -> None:
    content_type = request.headers.get("content-type")
    if content_type is None:
        return
    mime = content_type.split(";", 1)[0].strip().lower()
    if mime != "application/json" and not mime.endswith("+json"):
        raise BatchError(
            400, E.INVALID_REQUEST_BODY, f"Content-Type must be application/json (got {mime or 'empty'!r})."
        )


@router.post(API_PATH, **openapi.POST_V1_DOCS)
async def post_v1(request: Request) -> Response:
    state = state_of(request)
    try:
        body = await read_body(request, state.config.max_body_bytes)
        check_content_type(request)
    except BatchError as exc:
        return envelope_response([exc.result])
    ctx = RequestContext(
        state=state, base_url=str(request.base_url).rstrip("/"), credentials=bearer_key(request.headers)
    )
    return await envelope_answer([result async for result in run(ctx, body)])


@router.head("/image/{image_path:path}", include_in_schema=False)
@router.get("/image/{image_path:path}", **openapi.IMAGE_DOCS)
async def get_image(request: Request, image_path: str) -> Response:
    store = state_of(request).store
    record = store.lookup("/image/" + image_path)
    try:
        data = await store.get_bytes(record) if record is not None else None
    except ImageGone:
        data = None
    if record is None or data is None:
        message = f"No image at /image/{image_path} (unknown or expired)."
        return error_response(404, E.IMAGE_NOT_FOUND, message)
    return Response(content=data, media_type=record.mime, headers={"Cache-Control": "private, max-age=60"})


@router.get("/health", **openapi.HEALTH_DOCS)
async def health(request: Request) -> dict[str, Any]:
    state = state_of(request)
    return {"status": "ok", "recordings": len(state.replay), "images": len(state.store)}
