"""Parse raw JSON values (as decoded from the wire) into validated tasks.

Nothing here raises for any JSON value: every problem becomes Runware error items.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel, ValidationError

from . import errors as E
from .responses import ErrorItem
from .tasks import TASK_MODELS, WIRE_REQUIRED, ImageInferenceTask


def _nested_model(field: Any) -> type[BaseModel] | None:
    annotation = field.annotation
    for arg in getattr(annotation, "__args__", (annotation,)):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


@cache
def _wire_fields(model: type[BaseModel]) -> dict[str, type[BaseModel] | None]:
    """Wire name -> the nested model it holds (or None), for one model's own fields."""
    return {field.alias or name: _nested_model(field) for name, field in model.model_fields.items()}


@cache
def _nested_names(model: type[BaseModel]) -> tuple[str, ...]:
    """The wire names of a model's own fields that hold a nested model."""
    return tuple(wire for wire, nested in _wire_fields(model).items() if nested is not None)


def wire_field_names(model: type[BaseModel]) -> list[str]:
    """Every wire name a task model accepts, nested objects included."""
    return [path.rsplit(".", 1)[-1] for path in wire_field_paths(model)]


@cache
def wire_field_paths(model: type[BaseModel], prefix: str = "") -> tuple[str, ...]:
    """Every field a task model accepts, as the path an error names it by (inputs.referenceImages)."""
    paths: list[str] = []
    for wire, nested in _wire_fields(model).items():
        paths.append(prefix + wire)
        if nested is not None:
            paths.extend(wire_field_paths(nested, f"{prefix}{wire}."))
    return tuple(paths)


class _Unknown:
    """Names a task does not take: the first few paths, and how many there were."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.count = 0

    def add(self, path: str) -> None:
        self.count += 1
        if len(self.paths) < E.MAX_REPORTED_ERRORS:
            self.paths.append(path)


def _known_only(
    raw: dict[str, Any], model: type[BaseModel], prefix: str, unknown: _Unknown
) -> dict[str, Any]:
    """``raw`` without the names ``model`` does not take, nested objects included.

    Unknown names are counted here in one pass instead of being handed to pydantic: a
    task with 100,000 made-up fields must cost a dictionary scan, not 100,000 errors.
    Called once ``_all_known`` has said no: an object with nothing to drop is not copied.
    """
    fields = _wire_fields(model)
    kept: dict[str, Any] = {}
    for name, value in raw.items():
        if name not in fields:
            unknown.add(prefix + str(name))
            continue
        nested = fields[name]
        if nested and isinstance(value, dict) and not _all_known(value, nested):
            value = _known_only(value, nested, f"{prefix}{name}.", unknown)
        kept[name] = value
    return kept


def _all_known(raw: dict[str, Any], model: type[BaseModel]) -> bool:
    """Whether every name of ``raw`` is one ``model`` takes and none holds a nested object."""
    if not raw.keys() <= _wire_fields(model).keys():
        return False
    for name in _nested_names(model):  # noqa: SIM110 (a loop: all() over a generator costs more)
        if isinstance(raw.get(name), dict):
            return False
    return True


# What a task with no unknown names reports of them (never added to: ``_all_known`` said so).
_NONE_UNKNOWN = _Unknown()


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
    if _all_known(raw, model):  # most tasks: nothing to count or copy
        unknown, known_raw = _NONE_UNKNOWN, raw
    else:
        unknown = _Unknown()
        known_raw = _known_only(raw, model, "", unknown)
    known_names = _all_names(model)
    errors = [
        E.make_error(
            *E.unknown_parameter(path, known_names, hint=n < E.MAX_HINTED_UNKNOWN),
            parameter=E.clip_name(path),
            task_type=task_type,
            task_uuid=task_uuid,
        )
        for n, path in enumerate(unknown.paths)
    ]
    wire_required = WIRE_REQUIRED if model is ImageInferenceTask else ()
    absent = [name for name in wire_required if raw.get(name) is None]
    try:
        # The validator itself: model_validate is a wrapper that passes five more arguments as None.
        task = model.__pydantic_validator__.validate_python(known_raw, by_alias=True, by_name=False)
    except ValidationError as exc:
        found = E.validation_errors(exc, task_type=task_type, task_uuid=task_uuid, known_fields=known_names)
        # A missing width is reported as missing, not also as "width and height must be used together".
        errors += [e for e in found if e.parameter not in absent]
    missing = [
        E.make_error(
            E.param_info(name).code,
            f"Missing required parameter '{name}'.",
            parameter=name,
            task_type=task_type,
            task_uuid=task_uuid,
        )
        for name in absent
    ]
    if missing or errors:
        # Unknown names past the first few were counted, not built: the cap reports them too.
        omitted = unknown.count - len(unknown.paths)
        return None, E.capped(missing + errors, omitted=omitted, task_type=task_type, task_uuid=task_uuid)
    return task, []


@cache
def _all_names(model: type[BaseModel]) -> tuple[str, ...]:
    return wire_field_paths(model)


def check_task(task_type: str, raw: Any) -> list[ErrorItem]:
    """Error items for a raw task of a given type (empty when valid)."""
    if isinstance(raw, dict) and raw.get("taskType") is None:
        raw = {**raw, "taskType": task_type}
    return parse_task(raw)[1]
