"""The imageUpload task: a picture in (a URL, a data URI or base64), an imageUUID out.

The picture is kept in the source store (bounded) and registered as an image
record, so its imageUUID works as a reference image and its URL serves it.
A URL is never fetched: the documented asset URLs have stand-ins, any other URL
becomes a labelled placeholder card, as for reference images. Like the live API,
pictures are stored at most 2048 px a side; GIF and BMP are stored as PNG. A
taskUUID used before gets conflictTaskUUID. ``store_picture`` is shared with
mediaStorage (``media``).
"""

from __future__ import annotations

import io
import random
from typing import Any

from PIL import Image

from api_schema import ImageUploadTask, RefKind, classify_reference
from api_schema import errors as E
from api_schema.limits import FORMAT_EXT, OUTPUT_QUALITY

from ..config import MockConfig
from ..engine.items import new_uuid
from ..engine.references import decode_inline, url_picture
from ..images.references import check_picture
from ..images.store import BlobSource, ImageRecord, ImageStore, digest_of
from .handler import RequestContext, TaskResult, conflict, failed

MAX_SIDE = 2048
_KEEP = {"JPEG": "JPG", "PNG": "PNG", "WEBP": "WEBP"}
# Where stored pictures are served (imageUpload and mediaStorage alike).
UPLOAD_PATH = "/image/up/{uuid}.{ext}"


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


def is_upload(record: ImageRecord) -> bool:
    """Whether a record is a stored picture (not a generated image)."""
    return record.path.startswith(UPLOAD_PATH.split("{", 1)[0])


def _decode_picture(value: str, config: MockConfig) -> tuple[bytes, str, str]:
    """Blocking (a worker thread, in the render budget): the picture's bytes, format, digest."""
    if classify_reference(value) is RefKind.URL:
        data = url_picture(value)
    else:
        data = decode_inline(value, config.max_reference_bytes)
    data, fmt = normalize_upload(data, config.max_reference_pixels)
    return data, fmt, digest_of(data)


async def store_picture(value: str, store: ImageStore, config: MockConfig, rng: random.Random) -> ImageRecord:
    """Store a picture given as a URL, data URI or base64; ValueError with a reason when unusable."""
    data, fmt, digest = await store.in_slot(_decode_picture, value, config)
    image_uuid = new_uuid(rng)
    record = ImageRecord(
        path=UPLOAD_PATH.format(uuid=image_uuid, ext=FORMAT_EXT[fmt]),
        image_uuid=image_uuid,
        source=BlobSource(digest=store.add_source(data, digest), fmt=fmt),
        fmt=fmt,
        quality=int(OUTPUT_QUALITY.default or 95),
        expires_at=store.expiry(None),
    )
    store.register(record)
    return record


def unusable(parameter: str, reason: ValueError, task_type: str, task_uuid: str) -> TaskResult:
    return failed(
        400,
        E.param_info(parameter).code,
        f"Invalid value for '{parameter}': {str(reason).rstrip('.')}.",
        parameter=parameter,
        task_type=task_type,
        task_uuid=task_uuid,
    )


async def handle_image_upload(ctx: RequestContext, task: ImageUploadTask) -> TaskResult:
    if not ctx.state.jobs.claim(task.task_uuid):
        return conflict(task.task_type, task.task_uuid)
    state = ctx.state
    try:
        record = await store_picture(task.image, state.store, state.config, state.rng)
    except ValueError as exc:
        return unusable("image", exc, task.task_type, task.task_uuid)
    item: dict[str, Any] = {
        "taskType": task.task_type,
        "taskUUID": task.task_uuid,
        "imageUUID": record.image_uuid,
        "imageURL": ctx.base_url + record.path,
    }
    return TaskResult(data=[item])
