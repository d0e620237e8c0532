"""The pieces of a result item: new UUIDs, image URL paths, what a preview is drawn
from, and the image field by outputType (URL, base64Data, dataURI)."""

from __future__ import annotations

import base64
import random
import uuid

import anyio

from api_schema import ImageInferenceTask
from api_schema.limits import FORMAT_EXT

from ..images.store import ImageRecord, ImageStore, RenderSource

GENERATED_PATH = "/image/ws/2/ii/{uuid}.{ext}"


def new_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def image_path(image_uuid: str, fmt: str) -> str:
    return GENERATED_PATH.format(uuid=image_uuid, ext=FORMAT_EXT[fmt])


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
