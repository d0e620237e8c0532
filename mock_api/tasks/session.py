"""The session tasks: authentication (the key itself was checked before dispatch) and ping."""

from __future__ import annotations

from typing import Any

from api_schema import AuthenticationTask, PingTask

from ..engine.items import new_uuid
from .handler import RequestContext, TaskResult

# A connectionSessionUUID sent back longer than this is not resumed: a new one is handed out.
MAX_SESSION_CHARS = 64


async def handle_authentication(ctx: RequestContext, task: AuthenticationTask) -> TaskResult:
    resumed = task.connection_session_uuid
    if resumed and len(resumed) <= MAX_SESSION_CHARS:
        ctx.session_uuid = resumed
    elif ctx.session_uuid is None:
        ctx.session_uuid = new_uuid(ctx.state.rng)
    return TaskResult(data=[{"taskType": task.task_type, "connectionSessionUUID": ctx.session_uuid}])


async def handle_ping(ctx: RequestContext, task: PingTask) -> TaskResult:
    item: dict[str, Any] = {"taskType": task.task_type, "pong": True}
    if task.task_uuid:
        item["taskUUID"] = task.task_uuid
    return TaskResult(data=[item])
