"""The REST surface as FastAPI routes: ``POST /v1`` and the images the mock serves
(documented here, answered by ``direct`` in front of FastAPI), and ``/health``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..state import state_of
from . import API_PATH, direct, openapi

router = APIRouter()


@router.post(API_PATH, **openapi.POST_V1_DOCS)
async def post_v1(request: Request) -> Response:
    # Served by ``direct.post_v1`` in front of FastAPI; this route documents it (and answers alike).
    state = state_of(request)
    body = await read_body(request, state.config.max_body_bytes)
    return await direct.answer_v1(state, body, request.headers, str(request.base_url).rstrip("/"))


@router.head("/image/{image_path:path}", include_in_schema=False)
@router.get("/image/{image_path:path}", **openapi.IMAGE_DOCS)
async def get_image(request: Request, image_path: str) -> Response:
    # Served by ``direct.get_image`` in front of FastAPI; this route documents it.
    return await direct.answer_image(state_of(request), direct.IMAGE_PREFIX + image_path)


async def read_body(request: Request, limit: int) -> bytes | None:
    """The body, or None once it is larger than ``limit``."""
    chunks, total = [], 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


@router.get("/health", **openapi.HEALTH_DOCS)
async def health(request: Request) -> dict[str, Any]:
    state = state_of(request)
    return {"status": "ok", "recordings": len(state.replay), "images": len(state.store)}
