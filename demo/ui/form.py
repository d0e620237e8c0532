"""Form values -> ImageInferenceTask, and field errors back, all through the field table.

Nothing here draws anything, so it is unit-tested without a browser. Bounds and
defaults come from ``api_schema``; messages are Runware's, placed by ``fields.for_parameter``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from api_schema import ErrorItem, ImageInferenceTask, new_task_uuid, sniff_mime
from api_schema.errors import validation_errors
from api_schema.parse import wire_field_paths

from . import fields as F

# Fields that shape the request without being sent as they are.
_COMPOSED = {
    "randomize_seed",  # decides whether seed is sent
    "reference_images",  # uploads and typed references make inputs.referenceImages
    "reference_urls",
    "check_content",  # the two make the safety object, sent only when a check is on
    "safety_mode",
    "api_key",  # goes in a header, never in the task
}


@dataclass
class FormError(Exception):
    """One or more fields are invalid; nothing was sent."""

    errors: list[ErrorItem] = field(default_factory=list)

    def __str__(self) -> str:
        return describe_errors(self.errors)


# How a message names a field: its title on the page ("Advanced › TTL (seconds)"); the
# MCP tool passes the names of its own parameters instead.
Namer = Callable[[F.Field], str]


def page_title(f: F.Field) -> str:
    return f.title


def describe_errors(
    errors: list[ErrorItem], uploads: int = 0, typed: int = 0, name: Namer = page_title
) -> str:
    """One line per error: 'Field: code: message' (``uploads``, ``typed``: how many
    references of each kind the request listed, see ``fields.for_parameter``)."""
    return "\n".join(
        f"{name(F.for_parameter(e.parameter, uploads, typed, e.message))}: {e.code}: {e.message}"
        for e in errors
    )


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _whole(value: Any) -> Any:
    """Whole floats (as sliders and JSON send them) become ints; anything else is left
    for the schema to reject with its own message (1.5 steps is an error, not 2)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _number(f: F.Field, value: Any) -> Any:
    if f.integer:
        return _whole(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, float):
        # Sliders send binary floats such as 7.500000001; the API moves in steps of 0.01.
        return round(value, 6)
    return value


# More digits than any bound has: left as text, so the schema answers invalidSeed (say)
# instead of Python refusing to convert 4,301 digits with its own words.
_MAX_DIGITS = 40
_DIGITS = re.compile(rf"\s*-?\d{{1,{_MAX_DIGITS}}}\s*")


def _optional_int(value: Any) -> Any:
    """Digits typed as text become an int (exact up to 2^63-1); other text goes to the schema."""
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        return int(value)
    return _whole(value.strip() if isinstance(value, str) else value)


_OMIT = object()


def wire_value(f: F.Field, value: Any) -> Any:
    """What a field puts on the wire, or ``_OMIT`` for an empty optional field."""
    if f.kind == "slider":
        return _number(f, value)
    if f.kind == "optional_int":
        return _OMIT if _blank(value) else _optional_int(value)
    if f.kind == "checkbox":
        return bool(value)
    if f.kind in ("text", "lines", "secret"):
        return _OMIT if _blank(value) else (value.strip() if isinstance(value, str) else value)
    return _OMIT if _blank(value) else value


def split_references(text: str | None) -> list[str]:
    """Reference URLs or imageUUIDs typed one per line (or separated by spaces)."""
    if not text:
        return []
    # Commas are not separators: a data URI contains one.
    return [part for part in re.split(r"\s+", text.strip()) if part]


def uploaded_files(values: dict[str, Any]) -> list[str]:
    return [str(f) for f in (values.get("reference_images") or []) if f]


def build_task(
    values: dict[str, Any], references: list[str] | None = None, *, task_uuid: str | None = None
) -> ImageInferenceTask:
    """The task the form values (by /generate parameter name) describe; FormError otherwise.

    ``references`` replaces the typed ones (the handler passes uploads + typed).
    Optional fields are sent only when set, so the request JSON shows what was asked
    for rather than every default.
    """
    data: dict[str, Any] = {
        "taskType": "imageInference",
        "taskUUID": task_uuid or new_task_uuid(),
        "model": ImageInferenceTask.model_fields["model"].default,
    }
    for f in F.FIELDS:
        if f.wire is None or f.name in _COMPOSED or f.name not in values:
            continue
        if f.name == "seed" and values.get("randomize_seed", True):
            continue  # the API picks one; the result shows which
        value = wire_value(f, values[f.name])
        if value is not _OMIT:
            data[f.wire] = value
    data.setdefault("positivePrompt", "")
    check = bool(values.get("check_content"))
    mode = None if _blank(values.get("safety_mode")) else values.get("safety_mode")
    if check or (mode is not None and mode != "none"):
        data["safety"] = {"checkContent": check, "mode": mode}
    refs = split_references(values.get("reference_urls")) if references is None else references
    if refs:
        data["inputs"] = {"referenceImages": list(refs)}
    try:
        return ImageInferenceTask.model_validate(data, by_alias=True, by_name=False)
    except ValidationError as exc:
        known = wire_field_paths(ImageInferenceTask)
        raise FormError(validation_errors(exc, task_type="imageInference", known_fields=known)) from None


def field_errors(values: dict[str, Any]) -> dict[str, list[str]]:
    """/generate parameter -> Runware-worded messages ('code: message'); empty when valid."""
    problems: dict[str, list[str]] = {}
    try:
        build_task(values)
    except FormError as exc:
        for err in exc.errors:
            problems.setdefault(F.for_parameter(err.parameter).name, []).append(f"{err.code}: {err.message}")
    for path in uploaded_files(values):
        if msg := check_file(path):
            problems.setdefault("reference_images", []).append(msg)
    return problems


def describe_problems(problems: dict[str, list[str]], name: Namer = page_title) -> str:
    return "\n".join(f"{name(F.field(k))}: {m}" for k, ms in problems.items() for m in ms)


def check_file(path: str) -> str:
    """'' when the uploaded file looks like an image the API accepts, else a message."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(64)
    except OSError:
        return f"invalidReferenceImages: the uploaded file {Path(path).name!r} could not be read."
    if sniff_mime(head) is None:
        name = Path(path).name
        return f"invalidReferenceImages: the file {name!r} is not a JPEG, PNG, WEBP, GIF or BMP image."
    return ""


# Columns of the per-image metadata table under the gallery; row i is image i. NSFW
# appears only when the API checked the images (safety on), to leave room for the UUID.
RESULT_HEADERS = ["#", "seed", "imageUUID", "cost $", "file"]
NSFW_HEADER = "NSFW"


def result_table(results: list[tuple[Any, str, tuple[int, int] | None]]) -> dict[str, Any]:
    """The table of (ImageInferenceResult, format, pixel size) per image, in order."""
    checked = any(item.nsfw_content is not None for item, _, _ in results)
    headers = RESULT_HEADERS[:-1] + ([NSFW_HEADER] if checked else []) + RESULT_HEADERS[-1:]
    rows = []
    for position, (item, fmt, size) in enumerate(results, start=1):
        cost = "—" if item.cost is None else f"{item.cost:.4f}"
        dims = f" {size[0]}×{size[1]}" if size else ""
        row = [str(position), str(item.seed), item.image_uuid, cost]
        if checked:
            row.append("—" if item.nsfw_content is None else ("yes" if item.nsfw_content else "no"))
        rows.append([*row, f"{fmt}{dims}"])
    return {"headers": headers, "data": rows}


def total_cost(items: list[Any]) -> float | None:
    costs = [i.cost for i in items if i.cost is not None]
    return round(sum(costs), 6) if costs else None
