"""imageInference with every delivery: sync, async, webhook, uploadEndpoint, and the
per-image messages of a WebSocket (``ctx.push``).

A sync REST answer is computed at once (and remembered for getResponse and
getTaskDetails); everything else becomes a job that reveals its images on the
simulated schedule, pushing each one to the webhook, the upload endpoint and the
socket as it finishes. A taskUUID used before gets conflictTaskUUID; a task whose
estimated cost the account's balance does not cover gets 402 insufficientCredits.
"""

from __future__ import annotations

from typing import Any

from api_schema import ErrorItem, ImageInferenceTask
from api_schema import errors as E
from api_schema.limits import FORMAT_MIME, estimate_cost

from ..engine.answer import Unanswerable, answer
from ..engine.items import materialize
from ..jobs import Items, Job
from ..outbound import TargetRefused
from .handler import RequestContext, TaskResult, conflict, failed


async def _check_targets(ctx: RequestContext, task: ImageInferenceTask) -> TaskResult | None:
    for name, url in (("webhookURL", task.webhook_url), ("uploadEndpoint", task.upload_endpoint)):
        if url is None:
            continue
        try:
            await ctx.state.outbound.check(url, what=name)
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


def _over_quota(ctx: RequestContext, task: ImageInferenceTask) -> TaskResult | None:
    """429 when the job store is full, or when this caller's key has its share in progress."""
    jobs, limit = ctx.state.jobs, ctx.state.config.max_jobs_per_key
    wait = jobs.owner_wait(ctx.caller, limit)
    if wait is not None:
        message = f"This API key has {limit} tasks in progress, its most at once; retry in {wait} s."
    elif not jobs.has_room():
        wait = jobs.retry_after_s()
        message = f"Too many tasks in progress (at most {jobs.max_jobs}); retry in {wait} s."
    else:
        return None
    return failed(
        429, E.RATE_LIMITED, message, task_type=task.task_type, task_uuid=task.task_uuid, retry_after_s=wait
    )


async def _produce(ctx: RequestContext, task: ImageInferenceTask) -> TaskResult:
    try:
        return TaskResult(data=await answer(ctx.state, task, ctx.base_url))
    except Unanswerable as exc:
        return TaskResult(errors=exc.errors, status=exc.status)


async def _upload(ctx: RequestContext, task: ImageInferenceTask, item: dict[str, Any]) -> None:
    record = ctx.state.store.by_uuid(str(item.get("imageUUID")))
    if record is None or task.upload_endpoint is None:
        return
    data = await ctx.state.store.get_bytes(record)
    mime = FORMAT_MIME.get(task.output_format, "application/octet-stream")
    await ctx.state.outbound.put_upload(task.upload_endpoint, data, mime, item)


async def _upload_all(ctx: RequestContext, task: ImageInferenceTask, items: Items) -> None:
    for item in items:
        await _upload(ctx, task, item)


async def handle_image_inference(ctx: RequestContext, task: ImageInferenceTask) -> TaskResult:
    state = ctx.state
    if task.webhook_url is not None or task.upload_endpoint is not None:
        refused = await _check_targets(ctx, task)
        if refused is not None:
            return refused
    sync = task.delivery_method == "sync" and task.webhook_url is None
    pushed = ctx.push if sync else None  # a socket gets a sync answer one image at a time
    if not (sync and pushed is None):
        refused = _over_quota(ctx, task)
        if refused is not None:
            return refused
    cost = estimate_cost(task.effective_width, task.effective_height, task.number_results)
    if not state.account.covers(cost):
        # Before the claim: once topped up, the same taskUUID may be sent again.
        return failed(
            402,
            E.INSUFFICIENT_CREDITS,
            E.INSUFFICIENT_CREDITS_MESSAGE,
            task_type=task.task_type,
            task_uuid=task.task_uuid,
        )
    if not state.jobs.claim(task.task_uuid):
        return conflict(task.task_type, task.task_uuid)
    # A task without pictures is small to keep: it is written out only if getTaskDetails asks.
    request = task.to_wire if not task.reference_images else task.to_wire()

    if sync and pushed is None:
        result = await _produce(ctx, task)
        state.jobs.record_finished(
            task_uuid=task.task_uuid,
            task_type=task.task_type,
            request=request,
            items=result.data,
            errors=[e.to_wire() for e in result.errors],
        )
        if task.upload_endpoint is not None and result.data:
            state.spawn(_upload_all(ctx, task, result.data))
        return result

    async def produce() -> tuple[Items, Items]:
        result = await _produce(ctx, task)
        return result.data, [e.to_wire() for e in result.errors]

    async def push(job: Job, index: int, item: dict[str, Any]) -> None:
        if pushed is not None:
            await pushed(TaskResult(data=[item]))
        if task.webhook_url is not None:
            await state.outbound.post_webhook(task.webhook_url, await materialize(item))
        if task.upload_endpoint is not None:
            await _upload(ctx, task, item)

    async def push_errors(job: Job, errors: Items) -> None:
        if pushed is not None:
            await pushed(TaskResult(errors=[ErrorItem.model_validate(e) for e in errors], status=400))
        if task.webhook_url is not None:
            await state.outbound.post_envelope(task.webhook_url, {"errors": errors}, job.task_uuid)

    needs_push = pushed is not None or task.webhook_url is not None or task.upload_endpoint is not None
    job = await state.jobs.start(
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
        owner=ctx.caller,
    )
    ack = {"taskType": task.task_type, "taskUUID": task.task_uuid}
    job.ack = {"data": [ack]}
    if pushed is not None:
        return TaskResult()  # the images follow as their own messages
    return TaskResult(data=[ack])
