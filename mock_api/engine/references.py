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
from ..images.signs import load_font
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


CARD_SIZE = (640, 480)
_CARD_FILL, _CARD_INK = (118, 124, 134), (246, 247, 250)


def _host_lines(host: str, per_line: int = 30) -> list[str]:
    """A host name in lines of at most ``per_line`` characters, broken after dots."""
    parts: list[str] = []
    for label in host.replace(".", ".\0").split("\0"):
        parts += [label[k : k + per_line] for k in range(0, len(label), per_line)]
    lines = [""]
    for part in parts:
        if lines[-1] and len(lines[-1]) + len(part) > per_line:
            lines.append("")
        lines[-1] += part
    return [line for line in lines if line]


@lru_cache(maxsize=64)
def placeholder_reference(url: str) -> bytes:
    """A neutral card standing in for a reference URL the mock will not fetch: it names
    the host, whole (wrapped and sized to fit), centred so that any frame shows all of it."""
    host = urlsplit(url).hostname or "unknown host"
    W, H = CARD_SIZE
    img = Image.new("RGB", CARD_SIZE, _CARD_FILL)
    draw = ImageDraw.Draw(img)
    # No frame: a ruled border would read as content and push an edit's signs off it.
    hosts = [(line, 30) for line in _host_lines(host)]
    lines = [("Reference picture", 36), *hosts, ("not fetched by the mock", 24)]
    room_w, room_h = W * 0.84, H * 0.8
    # A long host wraps onto more lines: then every line shrinks alike until the block fits.
    shrink = min(1.0, room_h / (sum(size * 1.3 for _, size in lines)))
    sized = []
    for text, size in lines:
        size = max(8, int(size * shrink))
        while size > 8 and load_font(size).getlength(text) > room_w:
            size -= 1
        sized.append((text, size))
    gap = round(10 * shrink)
    total = sum(size for _, size in sized) + gap * (len(sized) - 1)
    y = (H - total) / 2
    for i, (text, size) in enumerate(sized):
        ink = _CARD_INK if 0 < i < len(sized) - 1 else (222, 225, 232)
        draw.text((W / 2, y), text, font=load_font(size), fill=ink, anchor="ma")
        y += size + gap
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
