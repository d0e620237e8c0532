"""Reference images of a request, resolved to pictures in the source store.

An imageUUID names a stored picture; a data URI or base64 string is decoded and
checked; a URL is never fetched: the documented ones have local stand-ins, any
other becomes a grey card naming its host.
"""

from __future__ import annotations

import base64
import binascii
import io
from functools import lru_cache
from urllib.parse import urlsplit

import anyio.to_thread
from PIL import Image, ImageDraw

from api_schema import ErrorItem, ImageInferenceTask, RefKind, classify_reference, make_error
from api_schema import errors as E

from ..config import MockConfig
from ..images.references import load_reference, standin_reference
from ..images.store import ImageStore

REFS_PARAM = "inputs.referenceImages"


def decode_inline(value: str, max_bytes: int) -> bytes:
    """Bytes of a data URI or raw base64 string; ValueError with a reason otherwise."""
    text = value.strip()
    if text.lower().startswith("data:"):
        text = text.split(",", 1)[1] if "," in text else ""
    # Decoded size is 3/4 of the text; refuse before decoding anything huge.
    if len(text) * 3 // 4 > max_bytes:
        raise ValueError(f"is larger than the {max_bytes // (1024 * 1024)} MB limit")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("is not valid base64") from None


@lru_cache(maxsize=64)
def placeholder_reference(url: str) -> bytes:
    """A neutral grey card standing in for a reference URL the mock will not fetch."""
    host = urlsplit(url).hostname or "unknown host"
    img = Image.new("RGB", (512, 384), (128, 128, 128))
    draw = ImageDraw.Draw(img)
    draw.rectangle((8, 8, 503, 375), outline=(180, 180, 180), width=4)
    draw.text((24, 170), f"reference: {host}", fill=(235, 235, 235))
    draw.text((24, 196), "(not fetched by the mock)", fill=(210, 210, 210))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def url_picture(url: str) -> bytes:
    """What stands in for a picture at a URL, which the mock never fetches: the documented
    asset's local stand-in, else a grey card naming the host."""
    return standin_reference(url.strip()) or placeholder_reference(url.strip())


def _check_picture(data: bytes) -> None:
    load_reference(data)  # raises ValueError with a reason


async def resolve_references(
    task: ImageInferenceTask, store: ImageStore, config: MockConfig
) -> tuple[list[str], list[ErrorItem]]:
    """The source-store digest of each reference image, or error items naming them."""
    digests: list[str] = []
    errors: list[ErrorItem] = []
    code = E.param_info(REFS_PARAM).code

    def fail(i: int, reason: str) -> None:
        errors.append(
            make_error(
                code,
                f"Invalid value for '{REFS_PARAM}[{i}]': {reason}.",
                parameter=REFS_PARAM,
                task_type=task.task_type,
                task_uuid=task.task_uuid,
            )
        )

    for i, ref in enumerate(task.reference_images):
        try:
            kind = classify_reference(ref)
        except ValueError as exc:  # already checked by the schema; kept for safety
            fail(i, str(exc))
            continue
        if kind is RefKind.UUID:
            record = store.by_uuid(ref.strip())
            if record is None:
                fail(
                    i, f"unknown imageUUID {ref.strip()!r} (store it first with mediaStorage or imageUpload)"
                )
                continue
            try:
                data = await store.get_bytes(record)
            except Exception:
                fail(i, f"imageUUID {ref.strip()!r} is no longer available")
                continue
        elif kind is RefKind.URL:
            data = url_picture(ref)
        else:
            try:
                data = decode_inline(ref, config.max_reference_bytes)
                await anyio.to_thread.run_sync(_check_picture, data)
            except ValueError as exc:
                fail(i, str(exc).rstrip("."))
                continue
        digests.append(store.add_source(data))
    return digests, errors
