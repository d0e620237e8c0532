"""The pieces of a result item: new UUIDs, image URL paths, what a preview is drawn
from, and the image field by outputType (URL, base64Data, dataURI: an ``InlineImage``
that renders when the item is sent)."""

from __future__ import annotations

import base64
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from api_schema import ImageInferenceTask
from api_schema.limits import FORMAT_EXT

from ..images.store import ImageRecord, ImageStore, RenderSource

GENERATED_PATH = "/image/ws/2/ii/{uuid}.{ext}"
# The item fields an ``InlineImage`` may be the value of (it is never anywhere else).
INLINE_FIELDS = ("imageBase64Data", "imageDataURI")


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


# Inline pictures go out in pieces of this many bytes (a multiple of 3: whole base64 quads).
INLINE_PIECE_BYTES = 3 * 64 * 1024


@dataclass(frozen=True, eq=False)
class InlineImage:
    """The value of an inline image field (``imageBase64Data`` / ``imageDataURI``) kept as
    what the picture is made from, never as its text: it is rendered (or taken from the
    bounded cache) each time it is sent, as URL images are on each GET. A job kept for an
    hour holds this, not megabytes of base64."""

    record: ImageRecord
    output_type: str
    store: ImageStore

    @property
    def prefix(self) -> str:
        return "" if self.output_type == "base64Data" else f"data:{self.record.mime};base64,"

    async def picture(self) -> bytes:
        """The encoded picture (raises ImageGone when what it is made from was evicted)."""
        return await self.store.get_bytes(self.record)

    async def text(self) -> str:
        return self.prefix + base64.b64encode(await self.picture()).decode("ascii")


def base64_pieces(data: bytes) -> Iterator[bytes]:
    """The base64 text of ``data``, in pieces (so no copy of all of it is made at once)."""
    view = memoryview(data)
    for at in range(0, len(data), INLINE_PIECE_BYTES):
        yield base64.b64encode(view[at : at + INLINE_PIECE_BYTES])


async def materialize(value: Any) -> Any:
    """A copy of a JSON value with each InlineImage replaced by its text (one message's worth:
    a WebSocket message or a webhook body holds one image)."""
    if isinstance(value, InlineImage):
        return await value.text()
    if isinstance(value, dict):
        return {k: await materialize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [await materialize(v) for v in value]
    return value


def image_field(record: ImageRecord, output_type: str, base_url: str, store: ImageStore) -> dict[str, Any]:
    """The one image field of a result item, by outputType.

    Nothing renders here: URL output only registers the record (the picture renders on
    the first GET), inline output holds an InlineImage that renders when it is sent.
    """
    if output_type == "URL":
        return {"imageURL": base_url + record.path}
    key = INLINE_FIELDS[0] if output_type == "base64Data" else INLINE_FIELDS[1]
    return {key: InlineImage(record, output_type, store)}


def has_inline(items: list[dict[str, Any]]) -> bool:
    """Whether any of the items holds an inline picture (as its own field, ``INLINE_FIELDS``)."""
    for item in items:
        for name in INLINE_FIELDS:
            if isinstance(item.get(name), InlineImage):
                return True
    return False


def image_fields(
    records: list[ImageRecord], output_type: str, base_url: str, store: ImageStore
) -> list[dict[str, Any]]:
    """The image fields of several records."""
    return [image_field(r, output_type, base_url, store) for r in records]
