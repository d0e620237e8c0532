"""Collecting an async task's results with getResponse.

The answer is cumulative (one item per image, each ``processing``, ``success`` or
``error``), so results are de-duplicated by imageUUID and each new one is handed on at
once. Cancelling the caller's task stops the loop at its next await: a Stop in the UI
ends the polling too.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from api_schema import GetResponseItem, ImageInferenceResult

from .contract import parse_model, parse_result, raise_task_errors
from .errors import RequestTimeout, RunwareError
from .policies import PollPolicy
from .results import ImageResult
from .transport import Caller, as_list

log = logging.getLogger("demo.client")

# Fetch the bytes of (position, item) pairs; reports each result as it is ready.
Fetch = Callable[[list[tuple[int, ImageInferenceResult]]], Awaitable[list[ImageResult]]]
DeadlineError = Callable[[int], RequestTimeout]


async def poll(
    call: Caller,
    uuid: str,
    expected: int,
    policy: PollPolicy,
    deadline_at: float,
    fetch: Fetch,
    deadline_error: DeadlineError,
    max_bytes: int | None = None,
) -> tuple[list[dict[str, Any]], list[ImageResult]]:
    """Poll until ``expected`` images succeeded; (every answer, the results in request order)."""
    bodies: list[dict[str, Any]] = []
    seen: dict[str, ImageResult] = {}
    position: dict[str, int] = {}  # imageUUID -> where the latest answer lists it
    interval = policy.initial
    while len(seen) < expected:
        remaining = deadline_at - time.monotonic()
        if remaining <= interval:
            await call.sleep(max(0.0, remaining))
            raise deadline_error(len(seen))
        await call.sleep(interval)
        interval = policy.next(interval)
        ask = [{"taskType": "getResponse", "taskUUID": uuid}]
        body = (await call.post(ask, deadline_at, max_bytes=max_bytes)).body
        bodies.append(body)
        raise_task_errors(call, body, uuid)
        fresh: dict[str, tuple[int, ImageInferenceResult]] = {}
        mine = (raw for raw in as_list(body.get("data")) if isinstance(raw, dict))
        index = 0
        for raw in mine:
            item = parse_model(GetResponseItem, raw, uuid)
            if item.task_uuid != uuid:
                continue
            if item.status == "error":
                raise RunwareError(
                    "The task failed on the server.", code="taskFailed", task_uuid=uuid, status=None
                )
            if item.status == "success" and item.image_uuid:
                position[item.image_uuid] = index
                room = expected - len(seen) - len(fresh)  # a server listing more gets only what was asked
                if room > 0 and item.image_uuid not in seen and item.image_uuid not in fresh:
                    result = parse_result({k: v for k, v in raw.items() if k != "status"}, uuid)
                    fresh[item.image_uuid] = (index, result)
            index += 1
        for got in await fetch(list(fresh.values())):
            seen[got.image_uuid] = got
        log.debug("getResponse %s: %d/%d image(s)", uuid, len(seen), expected)
    ordered = sorted(seen.values(), key=lambda r: (position.get(r.image_uuid, r.index), r.index))
    return bodies, [dataclasses.replace(r, index=i) for i, r in enumerate(ordered)]
