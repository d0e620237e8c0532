"""Plausible, deterministic answers for requests no recording matches.

Also home of what both synthesis and replay need: resolving reference images to
picture bytes, and turning an image record into a response item's image field.
"""

from __future__ import annotations

import base64
import binascii
import io
import random
import uuid
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import anyio
import anyio.to_thread
from PIL import Image, ImageDraw

from api_schema import ErrorItem, ImageInferenceTask, RefKind, classify_reference, make_error
from api_schema import errors as E
from api_schema.limits import FORMAT_EXT, RANDOM_SEED_MAX, estimate_cost, result_seed

from .config import MockConfig
from .references import load_reference, standin_reference
from .store import ImageRecord, ImageStore, RenderSource

REFS_PARAM = "inputs.referenceImages"
GENERATED_PATH = "/image/ws/2/ii/{uuid}.{ext}"


def new_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def image_path(image_uuid: str, fmt: str) -> str:
    return GENERATED_PATH.format(uuid=image_uuid, ext=FORMAT_EXT[fmt])


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


def _check_picture(data: bytes) -> None:
    load_reference(data)  # raises ValueError with a reason


async def resolve_references(
    task: ImageInferenceTask, store: ImageStore, config: MockConfig
) -> tuple[list[str], list[ErrorItem]]:
    """The source-store digest of each reference image, or error items naming them.

    Never fetches a URL: the two documented ones have local stand-ins, any other
    becomes a grey placeholder card.
    """
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
                fail(i, f"unknown imageUUID {ref.strip()!r} (upload it first with imageUpload)")
                continue
            try:
                data = await store.get_bytes(record)
            except Exception:
                fail(i, f"imageUUID {ref.strip()!r} is no longer available")
                continue
        elif kind is RefKind.URL:
            data = standin_reference(ref.strip()) or placeholder_reference(ref.strip())
        else:
            try:
                data = decode_inline(ref, config.max_reference_bytes)
                await anyio.to_thread.run_sync(_check_picture, data)
            except ValueError as exc:
                fail(i, str(exc).rstrip("."))
                continue
        digests.append(store.add_source(data))
    return digests, errors


def render_source(task: ImageInferenceTask, seed: int, digests: list[str]) -> RenderSource:
    # The preview shows the first reference image; further ones do not change it.
    return RenderSource(
        prompt=task.positive_prompt,
        width=task.effective_width,
        height=task.effective_height,
        seed=seed,
        model=task.model,
        ref_digest=digests[0] if digests else None,
    )


async def image_field(
    record: ImageRecord, output_type: str, base_url: str, store: ImageStore
) -> dict[str, str]:
    """The one image field of a result item, by outputType.

    URL output only registers the record (rendering happens on the first GET);
    base64Data and dataURI render now.
    """
    if output_type == "URL":
        return {"imageURL": base_url + record.path}
    data = await store.get_bytes(record)
    text = base64.b64encode(data).decode("ascii")
    if output_type == "base64Data":
        return {"imageBase64Data": text}
    return {"imageDataURI": f"data:{record.mime};base64,{text}"}


async def image_fields(
    records: list[ImageRecord], output_type: str, base_url: str, store: ImageStore
) -> list[dict[str, str]]:
    """The image fields of several records; inline pictures render in parallel."""
    if output_type == "URL" or len(records) < 2:
        return [await image_field(r, output_type, base_url, store) for r in records]
    fields: list[dict[str, str]] = [{} for _ in records]
    failures: list[BaseException] = []

    async def one(i: int, record: ImageRecord) -> None:
        try:
            fields[i] = await image_field(record, output_type, base_url, store)
        except Exception as exc:  # re-raised below, unwrapped from the task group
            failures.append(exc)

    async with anyio.create_task_group() as group:
        for i, record in enumerate(records):
            group.start_soon(one, i, record)
    if failures:
        raise failures[0]
    return fields


async def synthesize(
    task: ImageInferenceTask,
    digests: list[str],
    *,
    count: int,
    first_index: int,
    rng: random.Random,
    store: ImageStore,
    base_url: str,
) -> list[dict[str, Any]]:
    """``count`` new result items; item i uses seed+i (wrapped at the maximum), or a random 32-bit seed."""
    records, seeds = [], []
    for i in range(first_index, first_index + count):
        seed = result_seed(task.seed, i) if task.seed is not None else rng.randint(0, RANDOM_SEED_MAX)
        image_uuid = new_uuid(rng)
        record = ImageRecord(
            path=image_path(image_uuid, task.output_format),
            image_uuid=image_uuid,
            source=render_source(task, seed, digests),
            fmt=task.output_format,
            quality=task.output_quality,
            expires_at=store.expiry(task.ttl),
        )
        store.register(record)
        records.append(record)
        seeds.append(seed)
    items = []
    fields = await image_fields(records, task.output_type, base_url, store)
    for record, seed, image in zip(records, seeds, fields, strict=True):
        item: dict[str, Any] = {
            "taskType": task.task_type,
            "taskUUID": task.task_uuid,
            "imageUUID": record.image_uuid,
            **image,
            "seed": seed,
        }
        if task.safety_enabled:
            item["NSFWContent"] = False
        if task.include_cost:
            item["cost"] = estimate_cost(task.effective_width, task.effective_height, 1)
        items.append(item)
    return items
