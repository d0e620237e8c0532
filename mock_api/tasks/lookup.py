"""getResponse and getTaskDetails: what the job store knows about an earlier task."""

from __future__ import annotations

from api_schema import ErrorItem, GetResponseTask, GetTaskDetailsTask
from api_schema import errors as E

from .handler import RequestContext, TaskResult, failed


def _not_found(task_type: str, task_uuid: str) -> TaskResult:
    return failed(
        404,
        E.TASK_NOT_FOUND,
        f"No task with taskUUID {task_uuid} (never sent, or its results expired).",
        parameter="taskUUID",
        task_type=task_type,
        task_uuid=task_uuid,
    )


async def handle_get_response(ctx: RequestContext, task: GetResponseTask) -> TaskResult:
    jobs = ctx.state.jobs
    job = jobs.get(task.task_uuid)
    if job is None:
        return _not_found(task.task_type, task.task_uuid)
    data, errors = jobs.get_response(job)
    return TaskResult(
        data=data, errors=[ErrorItem.model_validate(e) for e in errors], status=200 if data else 400
    )


async def handle_get_task_details(ctx: RequestContext, task: GetTaskDetailsTask) -> TaskResult:
    jobs = ctx.state.jobs
    job = jobs.get(task.task_uuid)
    if job is None:
        return _not_found(task.task_type, task.task_uuid)
    return TaskResult(data=[jobs.task_details(job)])
