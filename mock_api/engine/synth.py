"""Plausible, deterministic answers for requests no recording matches."""

from __future__ import annotations

import random
from typing import Any

from api_schema import ImageInferenceTask
from api_schema.limits import RANDOM_SEED_MAX, estimate_cost, result_seed

from ..images.store import ImageRecord, ImageStore
from .items import image_fields, image_path, new_uuid, render_source


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
    fields = image_fields(records, task.output_type, base_url, store)
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
