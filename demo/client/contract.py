"""Server answers checked against ``api_schema``: a drifting server fails loudly, by name."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ValidationError

from api_schema import ImageInferenceResult, TaskAck

from .errors import ProtocolError, from_items
from .transport import Caller


def parse_model(model: type[BaseModel], raw: Any, uuid: str) -> Any:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "item"
        raise ProtocolError(
            f"The server's {model.__name__} does not match the contract: {where}: {first['msg']}.",
            task_uuid=uuid,
        ) from None


# An imageUUID becomes a file name (ImageResult.save, the recorder): a UUID, or a plain
# name of letters, digits, '.', '_' and '-' that starts with a letter or digit. Anything
# else ('../escaped', '/etc/x', a NUL) is a server drifting from the contract.
SAFE_IMAGE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def parse_result(raw: Any, uuid: str) -> ImageInferenceResult:
    result: ImageInferenceResult = parse_model(ImageInferenceResult, raw, uuid)
    if result.task_uuid != uuid:
        raise ProtocolError(f"A result names task {result.task_uuid!r}, not the one sent.", task_uuid=uuid)
    if not SAFE_IMAGE_ID.fullmatch(result.image_uuid) or ".." in result.image_uuid:
        raise ProtocolError(
            f"A result's imageUUID is not a UUID or a plain name: {result.image_uuid[:80]!r}.", task_uuid=uuid
        )
    return result


def check_ack(items: list[dict[str, Any]], uuid: str) -> None:
    for raw in items:
        if parse_model(TaskAck, raw, uuid).task_uuid == uuid:
            return
    raise ProtocolError("The acknowledgement does not name the task.", task_uuid=uuid)


def raise_task_errors(call: Caller, body: dict[str, Any], uuid: str) -> None:
    """Raise the typed error for this task's error items (other tasks' are not ours)."""
    mine = [e for e in call.error_items(body) if e.task_uuid in (None, uuid)]
    if mine:
        raise from_items(mine, task_uuid=uuid)
