"""The accountManagement task: ``getDetails`` answers the mock's account (``mock_api.account``)."""

from __future__ import annotations

from api_schema import AccountManagementTask

from .handler import RequestContext, TaskResult


async def handle_account_management(ctx: RequestContext, task: AccountManagementTask) -> TaskResult:
    item = {"taskType": task.task_type, "taskUUID": task.task_uuid, "operation": task.operation}
    return TaskResult(data=[{**item, **ctx.state.account.details()}])
