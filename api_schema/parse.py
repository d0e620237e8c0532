"""Parse raw JSON values (as decoded from the wire) into validated tasks.

Nothing here raises for any JSON value: every problem becomes Runware error items.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from . import errors as E
from .responses import ErrorItem
from .tasks import TASK_MODELS, WIRE_REQUIRED, ImageInferenceTask


def wire_field_names(model: type[BaseModel]) -> list[str]:
    """Every wire name a task model accepts, nested objects included."""
    names: list[str] = []
    for name, field in model.model_fields.items():
        names.append(field.alias or name)
        annotation = field.annotation
        for arg in getattr(annotation, "__args__", (annotation,)):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                names.extend(wire_field_names(arg))
    return names


def _task_uuid_of(raw: dict[str, Any]) -> str | None:
    value = raw.get("taskUUID")
    return value if isinstance(value, str) and len(value) <= 64 else None


def parse_task(raw: Any) -> tuple[BaseModel | None, list[ErrorItem]]:
    """Validate one task object from a request array.

    Returns (task, []) when valid, else (None, error items) with one item per
    violation. Only the wire (camelCase) names are accepted here.
    """
    if not isinstance(raw, dict):
        return None, [
            E.make_error(
                E.INVALID_REQUEST_BODY,
                f"Each task must be a JSON object (got {type(raw).__name__}).",
            )
        ]
    task_type = raw.get("taskType")
    task_uuid = _task_uuid_of(raw)
    model = TASK_MODELS.get(task_type) if isinstance(task_type, str) else None
    if model is None:
        if task_type is None:
            message = "Missing required parameter 'taskType'."
        else:
            known = ", ".join(TASK_MODELS)
            message = f"Unsupported taskType {task_type!r}: must be one of {known}."
        return None, [
            E.make_error(
                E.UNKNOWN_TASK_TYPE,
                message,
                parameter="taskType",
                task_type=task_type if isinstance(task_type, str) else None,
                task_uuid=task_uuid,
            )
        ]
    try:
        task = model.model_validate(raw, by_alias=True, by_name=False)
    except ValidationError as exc:
        errors = E.validation_errors(
            exc, task_type=task_type, task_uuid=task_uuid, known_fields=wire_field_names(model)
        )
    else:
        errors = []
    missing = [
        E.make_error(
            E.param_info(name).code,
            f"Missing required parameter '{name}'.",
            parameter=name,
            task_type=task_type,
            task_uuid=task_uuid,
        )
        for name in (WIRE_REQUIRED if model is ImageInferenceTask else ())
        if name not in raw
    ]
    if missing or errors:
        return None, missing + errors
    return task, []


def check_task(task_type: str, raw: Any) -> list[ErrorItem]:
    """Error items for a raw task of a given type (empty when valid)."""
    if isinstance(raw, dict) and raw.get("taskType") is None:
        raw = {**raw, "taskType": task_type}
    return parse_task(raw)[1]
