"""Validation remembered for imageInference tasks sent again and again.

QA suites send the same request over and over with a fresh taskUUID each time.
Validating an imageInference task is about 90 µs of pydantic; a remembered one
costs about 45 µs (its key, a copy, and the model's own validation of the one
field that differs). A valid task is remembered by its JSON text without its
taskUUID; the next one like it gets a copy of it with its own taskUUID assigned
through the model's validator. Anything else is validated in full: other task
types, invalid tasks (their error items name their taskUUID), a taskUUID that does
not pass (its errors come from the full validation), and tasks whose JSON text is
over ``MAX_KEY_CHARS`` (a reference picture inline).

Bounded: at most ``MAX_TASKS`` tasks of at most ``MAX_KEY_CHARS`` characters each.
Thread-safe, since a large payload is validated in a worker thread.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from typing import Any

from pydantic import BaseModel, ValidationError

from api_schema import ErrorItem, parse_task

MAX_TASKS = 256
MAX_KEY_CHARS = 8 * 1024
REMEMBERED_TYPE = "imageInference"


def _key(raw: Any) -> str | None:
    """The task's JSON text without its taskUUID, or None when it is not to be remembered."""
    if (
        not isinstance(raw, dict)
        or raw.get("taskType") != REMEMBERED_TYPE
        or not isinstance(raw.get("taskUUID"), str)
    ):
        return None
    try:
        text = json.dumps({k: v for k, v in raw.items() if k != "taskUUID"})
    except (ValueError, RecursionError):
        return None
    return text if len(text) <= MAX_KEY_CHARS else None


class ValidationCache:
    """``parse_task`` with the valid imageInference tasks seen last remembered."""

    def __init__(self, max_tasks: int = MAX_TASKS) -> None:
        self.max_tasks = max_tasks
        self._tasks: OrderedDict[str, BaseModel] = OrderedDict()
        self._lock = threading.Lock()

    def parse(self, raw: Any) -> tuple[BaseModel | None, list[ErrorItem]]:
        key = _key(raw)
        if key is None:
            return parse_task(raw)
        with self._lock:
            known = self._tasks.get(key)
            if known is not None:
                self._tasks.move_to_end(key)
        if known is not None:
            task = known.model_copy()
            try:  # the model's own checks of that one field (and its model-wide ones)
                type(known).__pydantic_validator__.validate_assignment(task, "task_uuid", raw["taskUUID"])
            except ValidationError:
                return parse_task(raw)  # its error items, exactly as in full
            return task, []
        task, errors = parse_task(raw)
        if task is not None:
            with self._lock:
                self._tasks[key] = task
                while len(self._tasks) > self.max_tasks:
                    self._tasks.popitem(last=False)
        return task, errors

    def clear(self) -> None:
        with self._lock:
            self._tasks.clear()

    def __len__(self) -> int:
        return len(self._tasks)
