"""The session tasks: authentication (the key itself was checked before dispatch) and ping."""

from __future__ import annotations

from typing import Any

from api_schema import AuthenticationTask, PingTask

from ..engine.items import new_uuid
from .handler import RequestContext, TaskResult

# A connectionSessionUUID sent back longer than this is not resumed: a new one is handed out.
MAX_SESSION_CHARS = 64


async def handle_authentication(ctx: RequestContext, task: AuthenticationTask) -> TaskResult:
    """A session for the socket (resumed when the key may), or over REST a fresh UUID: a REST
    request has no socket to resume, so a connectionSessionUUID sent there is not echoed."""
    requested = task.connection_session_uuid
    if requested is not None and len(requested) > MAX_SESSION_CHARS:
        requested = None
    if ctx.connection is not None:
        ctx.session_uuid = ctx.connection.open_session(task.api_key, requested)
    elif ctx.session_uuid is None:
        ctx.session_uuid = new_uuid(ctx.state.rng)
    return TaskResult(data=[{"taskType": task.task_type, "connectionSessionUUID": ctx.session_uuid}])


async def handle_ping(ctx: RequestContext, task: PingTask) -> TaskResult:
    item: dict[str, Any] = {"taskType": task.task_type, "pong": True}
    if task.task_uuid:
        item["taskUUID"] = task.task_uuid
    return TaskResult(data=[item])
