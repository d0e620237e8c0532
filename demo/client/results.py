"""What a generation returns: the validated items and their image bytes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from api_schema import ImageInferenceResult, limits


@dataclass
class ImageResult:
    """One generated image: the validated response item and its bytes."""

    item: ImageInferenceResult
    data: bytes = field(repr=False)
    format: str  # "JPG" | "PNG" | "WEBP", as sniffed and checked
    # Position among the task's results, as the server listed them (request order:
    # item i has seed + i). Images may finish or download in any order; this does not change.
    index: int = 0

    @property
    def image_uuid(self) -> str:
        return self.item.image_uuid

    @property
    def seed(self) -> int:
        return self.item.seed

    @property
    def cost(self) -> float | None:
        return self.item.cost

    @property
    def nsfw_content(self) -> bool | None:
        return self.item.nsfw_content

    @property
    def mime(self) -> str:
        return limits.FORMAT_MIME[self.format]

    @property
    def extension(self) -> str:
        return limits.FORMAT_EXT[self.format]

    @property
    def filename(self) -> str:
        return f"{self.image_uuid}.{self.extension}"

    def save(self, directory: str | Path) -> Path:
        """Write the image into ``directory`` (never anywhere else) and return its path."""
        folder = Path(directory)
        path = folder / self.filename
        # parse_result already refused unsafe imageUUIDs; a hand-built ImageResult is checked here.
        if path.parent != folder or path.name != self.filename or self.filename.startswith("."):
            raise ValueError(f"{self.filename[:80]!r} is not a plain file name")
        folder.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.data)
        return path


@dataclass
class Generation:
    """The outcome of one imageInference task."""

    request: dict[str, Any]  # the wire task as sent (never holds a key)
    response: dict[str, Any] | list[dict[str, Any]]  # sync: the envelope; async: ack + each poll
    images: list[ImageResult]  # in request order

    def __iter__(self) -> Iterator[ImageResult]:
        return iter(self.images)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> ImageResult:
        return self.images[index]

    @property
    def delivered_elsewhere(self) -> bool:
        """Webhook delivery: the results went to ``webhookURL``, none came back here."""
        return not self.images and bool(self.request.get("webhookURL"))

    @property
    def task_uuid(self) -> str:
        return self.request["taskUUID"]

    @property
    def total_cost(self) -> float | None:
        costs = [img.cost for img in self.images if img.cost is not None]
        return round(sum(costs), 6) if costs else None
