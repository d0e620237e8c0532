"""Pure logic between the form and the API: form values -> ImageInferenceTask, results -> rows.

No Gradio here, so it is unit-tested without a browser. Bounds and defaults come from
``api_schema``; messages are Runware's, prefixed with the form field they are about.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from api_schema import ErrorItem, ImageInferenceTask, new_task_uuid
from api_schema.errors import validation_errors
from api_schema.parse import wire_field_names

# Wire parameter -> the label a visitor sees on the form.
FIELD_LABELS: dict[str, str] = {
    "positivePrompt": "Prompt",
    "width": "Width",
    "height": "Height",
    "seed": "Seed",
    "steps": "Steps",
    "CFGScale": "CFG scale",
    "numberResults": "Number of results",
    "outputFormat": "Output format",
    "outputQuality": "Output quality",
    "outputType": "Output type",
    "inputs.referenceImages": "Reference images",
    "inputs": "Reference images",
    "deliveryMethod": "Delivery method",
    "safety": "Safety check",
    "safety.checkContent": "Safety check",
    "safety.mode": "Safety mode",
    "includeCost": "Include cost",
    "ttl": "TTL",
    "webhookURL": "Webhook URL",
    "uploadEndpoint": "Upload endpoint",
}


@dataclass
class FormError(Exception):
    """One or more fields are invalid; nothing was sent."""

    errors: list[ErrorItem] = field(default_factory=list)

    def __str__(self) -> str:
        return describe_errors(self.errors)


def describe_errors(errors: list[ErrorItem]) -> str:
    """One line per error: 'Field: code: message'."""
    lines = []
    for err in errors:
        label = FIELD_LABELS.get(err.parameter or "", err.parameter or "Request")
        lines.append(f"{label}: {err.code}: {err.message}")
    return "\n".join(lines)


def _as_int(value: Any) -> Any:
    """Whole floats (as sliders and JSON send them) become ints; anything else is left
    for the schema to reject with its own message."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _as_seed(value: Any) -> Any:
    """Seeds come as text (exact up to 2^63-1) or numbers; digits become an int."""
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    return _as_int(value)


def _as_float(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, float):
        # Sliders send binary floats such as 7.500000001; the API moves in steps of 0.01.
        return round(value, 6)
    return value


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def split_references(text: str | None) -> list[str]:
    """Reference URLs or imageUUIDs typed one per line (or separated by spaces)."""
    if not text:
        return []
    # Commas are not separators: a data URI contains one.
    return [part for part in re.split(r"\s+", text.strip()) if part]


def build_task(
    *,
    positive_prompt: Any,
    width: Any,
    height: Any,
    seed: Any = None,
    randomize_seed: bool = True,
    steps: Any,
    cfg_scale: Any,
    number_results: Any,
    output_format: Any,
    output_quality: Any,
    output_type: Any,
    references: list[str] | None = None,
    delivery_method: Any,
    check_content: Any = False,
    safety_mode: Any = None,
    include_cost: Any = True,
    ttl: Any = None,
    webhook_url: Any = None,
    upload_endpoint: Any = None,
    task_uuid: str | None = None,
) -> ImageInferenceTask:
    """The task the form describes; FormError naming every bad field otherwise.

    Optional fields are sent only when the visitor set them, so the request JSON shows
    what was asked for rather than every default.
    """
    # Wire names throughout, so every error names the parameter as the API does.
    data: dict[str, Any] = {
        "taskType": "imageInference",
        "taskUUID": task_uuid or new_task_uuid(),
        "model": ImageInferenceTask.model_fields["model"].default,
        "positivePrompt": "" if positive_prompt is None else positive_prompt,
        "width": _as_int(width),
        "height": _as_int(height),
        "steps": _as_int(steps),
        "CFGScale": _as_float(cfg_scale),
        "numberResults": _as_int(number_results),
        "outputType": output_type,
        "outputFormat": output_format,
        "outputQuality": _as_int(output_quality),
        "deliveryMethod": delivery_method,
        "includeCost": include_cost,
    }
    if not randomize_seed and not _blank(seed):
        data["seed"] = _as_seed(seed)
    if not _blank(ttl):
        data["ttl"] = _as_int(ttl)
    for name, value in (("webhookURL", webhook_url), ("uploadEndpoint", upload_endpoint)):
        if not _blank(value):
            data[name] = value.strip() if isinstance(value, str) else value
    mode = None if _blank(safety_mode) else safety_mode
    if check_content or (mode is not None and mode != "none"):
        data["safety"] = {"checkContent": check_content, "mode": mode}
    if references:
        data["inputs"] = {"referenceImages": list(references)}
    try:
        return ImageInferenceTask.model_validate(data, by_alias=True, by_name=False)
    except ValidationError as exc:
        known = wire_field_names(ImageInferenceTask)
        raise FormError(validation_errors(exc, task_type="imageInference", known_fields=known)) from None


# Columns of the per-image metadata table under the gallery.
# Gallery order is row order, so no index column: the imageUUID needs the room.
RESULT_HEADERS = ["seed", "imageUUID", "cost $", "NSFW", "file"]


def result_row(item: Any, fmt: str, size: tuple[int, int] | None) -> list[Any]:
    """One table row from a validated api_schema.ImageInferenceResult."""
    cost = "—" if item.cost is None else f"{item.cost:.4f}"
    nsfw = "—" if item.nsfw_content is None else ("yes" if item.nsfw_content else "no")
    dims = f" {size[0]}×{size[1]}" if size else ""
    return [str(item.seed), item.image_uuid, cost, nsfw, f"{fmt}{dims}"]


def total_cost(items: list[Any]) -> float | None:
    costs = [i.cost for i in items if i.cost is not None]
    return round(sum(costs), 6) if costs else None


def add_reference(text: str | None, image_uuid: str) -> str:
    """Append an imageUUID to the reference field unless it is already there."""
    refs = split_references(text)
    if image_uuid and image_uuid not in refs:
        refs.append(image_uuid)
    return "\n".join(refs)
