"""The imageUpload task: a data URI or base64 picture in, an imageUUID out.

The picture is kept in the source store (bounded) and registered as an image
record, so its imageUUID works as a reference image and its URL serves it.
Like the live API, pictures are stored at most 2048 px a side; GIF and BMP are
stored as PNG. A taskUUID used before gets conflictTaskUUID.
"""

from __future__ import annotations

import io
import random
from typing import Any

from PIL import Image

from api_schema import ErrorItem, ImageUploadTask, make_error
from api_schema import errors as E
from api_schema.limits import FORMAT_EXT, OUTPUT_QUALITY

from ..config import MockConfig
from ..engine.items import new_uuid
from ..engine.references import decode_inline
from ..images.references import check_picture
from ..images.store import BlobSource, ImageRecord, ImageStore, digest_of
from .handler import RequestContext, TaskResult, conflict

MAX_SIDE = 2048
_KEEP = {"JPEG": "JPG", "PNG": "PNG", "WEBP": "WEBP"}


def normalize_upload(data: bytes, max_pixels: int) -> tuple[bytes, str]:
    """(bytes, JPG|PNG|WEBP): unchanged when possible, else resized/re-encoded as PNG."""
    check_picture(data, max_pixels)  # ValueError with a reason when unreadable or too large
    with Image.open(io.BytesIO(data)) as img:
        fmt = _KEEP.get(img.format or "")
        if fmt is not None and max(img.size) <= MAX_SIDE:
            return data, fmt
        img.load()
        out = img.convert("RGBA" if "A" in img.getbands() else "RGB")
        out.thumbnail((MAX_SIDE, MAX_SIDE))
        buf = io.BytesIO()
        out.save(buf, "PNG")
        return buf.getvalue(), "PNG"


def _decode_upload(image: str, config: MockConfig) -> tuple[bytes, str, str]:
    """Blocking (a worker thread, in the render budget): the upload's bytes, format, digest."""
    data, fmt = normalize_upload(
        decode_inline(image, config.max_reference_bytes), config.max_reference_pixels
    )
    return data, fmt, digest_of(data)


async def store_upload(
    task: ImageUploadTask, store: ImageStore, config: MockConfig, rng: random.Random
) -> tuple[dict[str, Any], ErrorItem | None]:
    """(item with a relative "path" instead of imageURL, None) or ({}, error item)."""
    try:
        data, fmt, digest = await store.in_slot(_decode_upload, task.image, config)
    except ValueError as exc:
        return {}, make_error(
            E.param_info("image").code,
            f"Invalid value for 'image': {str(exc).rstrip('.')}.",
            parameter="image",
            task_type=task.task_type,
            task_uuid=task.task_uuid,
        )
    image_uuid = new_uuid(rng)
    record = ImageRecord(
        path=f"/image/up/{image_uuid}.{FORMAT_EXT[fmt]}",
        image_uuid=image_uuid,
        source=BlobSource(digest=store.add_source(data, digest), fmt=fmt),
        fmt=fmt,
        quality=int(OUTPUT_QUALITY.default or 95),
        expires_at=store.expiry(None),
    )
    store.register(record)
    item = {
        "taskType": task.task_type,
        "taskUUID": task.task_uuid,
        "imageUUID": image_uuid,
        "path": record.path,
    }
    return item, None


async def handle_image_upload(ctx: RequestContext, task: ImageUploadTask) -> TaskResult:
    if not ctx.state.jobs.claim(task.task_uuid):
        return conflict(task.task_type, task.task_uuid)
    item, error = await store_upload(task, ctx.state.store, ctx.state.config, ctx.state.rng)
    if error is not None:
        return TaskResult(errors=[error], status=400)
    item["imageURL"] = ctx.base_url + item.pop("path")
    return TaskResult(data=[item])
