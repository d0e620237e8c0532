"""The task handlers that deliver through jobs: imageInference with every delivery
method (sync, async, webhook, uploadEndpoint, WebSocket), getResponse,
getTaskDetails, and conflictTaskUUID for a reused taskUUID.

``admin.install`` puts them into ``MockState.handlers``; the WebSocket endpoint calls
``handle_image_inference`` with a ``send_item`` callback so sync results go out one
message per image.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from api_schema import ErrorItem, ImageInferenceTask
from api_schema import errors as E
from api_schema.limits import FORMAT_MIME

from .app import RequestContext, TaskResult, failed, run_inference
from .jobs import Items, Job, JobStore
from .outbound import TargetRefused

ItemSender = Callable[[dict[str, Any]], Awaitable[None]]


def _errors(items: Items) -> list[ErrorItem]:
    return [ErrorItem.model_validate(e) for e in items]


def conflict(task_type: str, task_uuid: str) -> TaskResult:
    return failed(
        400,
        E.CONFLICT_TASK_UUID,
        f"taskUUID {task_uuid} was already used by an earlier task; send a new UUID v4 per task.",
        parameter="taskUUID",
        task_type=task_type,
        task_uuid=task_uuid,
    )


async def _check_targets(ctx: RequestContext, task: ImageInferenceTask) -> TaskResult | None:
    outbound = ctx.state.extras.outbound
    for name, url in (("webhookURL", task.webhook_url), ("uploadEndpoint", task.upload_endpoint)):
        if url is None:
            continue
        try:
            await outbound.check(url, what=name)
        except TargetRefused as exc:
            return failed(
                400,
                E.param_info(name).code,
                f"Invalid value for '{name}': {exc}",
                parameter=name,
                task_type=task.task_type,
                task_uuid=task.task_uuid,
            )
    return None


async def _upload(ctx: RequestContext, task: ImageInferenceTask, item: dict[str, Any]) -> None:
    record = ctx.state.store.by_uuid(str(item.get("imageUUID")))
    if record is None or task.upload_endpoint is None:
        return
    data = await ctx.state.store.get_bytes(record)
    mime = FORMAT_MIME.get(task.output_format, "application/octet-stream")
    await ctx.state.extras.outbound.put_upload(task.upload_endpoint, data, mime, item)


async def handle_image_inference(
    ctx: RequestContext, task: ImageInferenceTask, *, send_item: ItemSender | None = None
) -> TaskResult:
    """imageInference with every delivery: sync, async, webhook, uploadEndpoint.

    ``send_item`` (WebSocket) receives each envelope to send as its own message:
    with it, sync delivery sends one message per finished image.
    """
    extras = ctx.state.extras
    refused = await _check_targets(ctx, task)
    if refused is not None:
        return refused
    deferred = task.delivery_method == "async" or task.webhook_url is not None or send_item is not None
    if deferred and not extras.jobs.has_room():
        return failed(
            429,
            E.RATE_LIMITED,
            f"Too many tasks in progress (at most {extras.jobs.max_jobs}); retry when some finish.",
            task_type=task.task_type,
            task_uuid=task.task_uuid,
        )
    if not extras.jobs.claim(task.task_uuid):
        return conflict(task.task_type, task.task_uuid)
    request = task.to_wire()
    ack = {"taskType": task.task_type, "taskUUID": task.task_uuid}
    pushed_sync = send_item is not None and task.delivery_method == "sync" and task.webhook_url is None

    if task.delivery_method == "sync" and task.webhook_url is None and not pushed_sync:
        result = await run_inference(ctx.state, task, ctx.base_url)
        wire_errors = [e.to_wire() for e in result.errors]
        extras.jobs.record_finished(
            task_uuid=task.task_uuid,
            task_type=task.task_type,
            request=request,
            items=result.data,
            errors=wire_errors,
        )
        if task.upload_endpoint is not None and result.data:
            extras.spawn(_upload_all(ctx, task, result.data))
        return result

    async def produce() -> tuple[Items, Items]:
        result = await run_inference(ctx.state, task, ctx.base_url)
        return result.data, [e.to_wire() for e in result.errors]

    async def push(job: Job, index: int, item: dict[str, Any]) -> None:
        if pushed_sync and send_item is not None:
            await send_item({"data": [item]})
        if task.webhook_url is not None:
            await extras.outbound.post_webhook(task.webhook_url, item)
        if task.upload_endpoint is not None:
            await _upload(ctx, task, item)

    async def push_errors(job: Job, errors: Items) -> None:
        if pushed_sync and send_item is not None:
            await send_item({"errors": errors})
        if task.webhook_url is not None:
            await extras.outbound.post_envelope(task.webhook_url, {"errors": errors}, job.task_uuid)

    needs_push = pushed_sync or task.webhook_url is not None or task.upload_endpoint is not None
    job = await extras.jobs.start(
        task_uuid=task.task_uuid,
        task_type=task.task_type,
        request=request,
        count=task.number_results,
        width=task.effective_width,
        height=task.effective_height,
        steps=task.steps,
        produce=produce,
        push=push if needs_push else None,
        push_errors=push_errors if needs_push else None,
    )
    job.ack = {"data": [ack]}
    if pushed_sync:
        return TaskResult()  # the images follow as their own messages
    return TaskResult(data=[ack])


async def _upload_all(ctx: RequestContext, task: ImageInferenceTask, items: Items) -> None:
    for item in items:
        await _upload(ctx, task, item)


def _not_found(task_type: str, task_uuid: str) -> TaskResult:
    return failed(
        404,
        E.TASK_NOT_FOUND,
        f"No task with taskUUID {task_uuid} (never sent, or its results expired).",
        parameter="taskUUID",
        task_type=task_type,
        task_uuid=task_uuid,
    )


async def handle_get_response(ctx: RequestContext, task: Any) -> TaskResult:
    jobs: JobStore = ctx.state.extras.jobs
    job = jobs.get(task.task_uuid)
    if job is None:
        return _not_found(task.task_type, task.task_uuid)
    data, errors = jobs.get_response(job)
    return TaskResult(data=data, errors=_errors(errors), status=200 if data else 400)


async def handle_get_task_details(ctx: RequestContext, task: Any) -> TaskResult:
    jobs: JobStore = ctx.state.extras.jobs
    job = jobs.get(task.task_uuid)
    if job is None:
        return _not_found(task.task_type, task.task_uuid)
    return TaskResult(data=[jobs.task_details(job)])


def unique_task_uuid(handler: Any) -> Any:
    """Wrap a handler (imageUpload) so a reused taskUUID gets conflictTaskUUID."""

    async def wrapped(ctx: RequestContext, task: Any) -> TaskResult:
        if not ctx.state.extras.jobs.claim(task.task_uuid):
            return conflict(task.task_type, task.task_uuid)
        return await handler(ctx, task)

    return wrapped
