"""Tasks the mock remembers: async jobs, getResponse, getTaskDetails, taskUUID reuse.

A job's images are produced once (in the background, by the caller's producer)
and revealed one by one on a simulated schedule: image i is done at
``start + (i + 1) * per_image_seconds``, where the per-image time grows with steps
and pixels and is multiplied by ``speed`` (0 = instant). getResponse answers the
cumulative state at that moment; a push callback (webhook, upload, WebSocket)
runs for each image as it is revealed. Jobs expire ``ttl_s`` after they finish;
at most ``max_jobs`` are kept. Every taskUUID seen is remembered for the same
time so a reuse gets ``conflictTaskUUID``.

The clock can be moved forward (``advance``), so a UI tester or a test can make a
slow job finish now instead of waiting for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from api_schema import errors as E

# Simulated processing time of one image at speed 1: a fixed overhead plus a
# cost per denoising step and megapixel. 100 steps at 1024x1024 take 3.5 s.
BASE_SECONDS = 0.5
SECONDS_PER_STEP_MEGAPIXEL = 0.03
# A hard ceiling on one job's simulated duration, whatever the flags.
MAX_JOB_SECONDS = 3600.0

Items = list[dict[str, Any]]
Producer = Callable[[], Awaitable[tuple[Items, Items]]]
Pusher = Callable[["Job", int, dict[str, Any]], Awaitable[None]]
ErrorPusher = Callable[["Job", Items], Awaitable[None]]


def per_image_seconds(width: int, height: int, steps: int, speed: float) -> float:
    """Simulated time for one image: grows with steps and pixels, scaled by speed."""
    if speed <= 0:
        return 0.0
    megapixels = width * height / (1024 * 1024)
    return speed * (BASE_SECONDS + SECONDS_PER_STEP_MEGAPIXEL * steps * megapixels)


class Clock:
    """Monotonic time plus an offset that only moves forward."""

    def __init__(self, base: Callable[[], float] = time.monotonic) -> None:
        self._base = base
        self.offset = 0.0

    def now(self) -> float:
        return self._base() + self.offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self.offset += seconds


@dataclass
class Job:
    task_uuid: str
    task_type: str
    request: dict[str, Any]
    count: int
    due: list[float]
    created: float
    items: Items | None = None  # the produced result items, in order
    errors: Items = field(default_factory=list)  # error items of a failed production
    pushed: int = 0  # how many items the push callback has been run for
    ack: dict[str, Any] | None = None  # the first answer, for getTaskDetails
    runner: asyncio.Task[None] | None = None

    @property
    def finished_at(self) -> float:
        return self.due[-1] if self.due else self.created


class JobStore:
    """Every imageInference the mock answered (sync ones too), by taskUUID."""

    def __init__(
        self,
        *,
        speed: float = 1.0,
        ttl_s: float = 3600.0,
        max_jobs: int = 1000,
        max_seen: int = 100_000,
        clock: Clock | None = None,
        tick_s: float = 0.1,
    ) -> None:
        if speed < 0:
            raise ValueError("speed must be >= 0")
        self.speed = speed
        self.ttl_s = ttl_s
        self.max_jobs = max_jobs
        self.max_seen = max_seen
        self.clock = clock or Clock()
        self.tick_s = tick_s
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._seen: OrderedDict[str, float] = OrderedDict()

    # ------------------------------------------------------------ taskUUIDs
    def claim(self, task_uuid: str) -> bool:
        """Record a new taskUUID; False when it was used before (conflictTaskUUID)."""
        self._prune()
        key = task_uuid.lower()
        if key in self._seen or key in self._jobs:
            return False
        self._seen[key] = self.clock.now()
        while len(self._seen) > self.max_seen:
            self._seen.popitem(last=False)
        return True

    # ----------------------------------------------------------------- jobs
    def schedule(self, count: int, width: int, height: int, steps: int) -> list[float]:
        step = per_image_seconds(width, height, steps, self.speed)
        step = min(step, MAX_JOB_SECONDS / max(count, 1))
        start = self.clock.now()
        return [start + (i + 1) * step for i in range(count)]

    async def start(
        self,
        *,
        task_uuid: str,
        task_type: str,
        request: dict[str, Any],
        count: int,
        width: int,
        height: int,
        steps: int,
        produce: Producer,
        push: Pusher | None = None,
        push_errors: ErrorPusher | None = None,
    ) -> Job:
        """Create a job and begin producing its images; returns at once.

        At speed 0 the images are produced before this returns, so the first
        getResponse already has them all.
        """
        job = Job(
            task_uuid=task_uuid,
            task_type=task_type,
            request=request,
            count=count,
            due=self.schedule(count, width, height, steps),
            created=self.clock.now(),
        )
        self._add(job)
        if self.speed == 0:
            await self._produce(job, produce)
            if push is None:
                return job
        job.runner = asyncio.ensure_future(self._run(job, produce, push, push_errors))
        return job

    def record_finished(
        self, *, task_uuid: str, task_type: str, request: dict[str, Any], items: Items, errors: Items
    ) -> Job:
        """Remember a task answered synchronously (for getResponse and getTaskDetails)."""
        now = self.clock.now()
        job = Job(
            task_uuid=task_uuid,
            task_type=task_type,
            request=request,
            count=len(items) or 1,
            due=[now] * (len(items) or 1),
            created=now,
            items=list(items),
            errors=list(errors),
        )
        job.pushed = len(items)
        self._add(job)
        return job

    def get(self, task_uuid: str) -> Job | None:
        self._prune()
        return self._jobs.get(task_uuid.lower())

    async def _produce(self, job: Job, produce: Producer) -> None:
        if job.items is not None:
            return
        try:
            items, errors = await produce()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug in a producer must surface as an error item
            items = []
            errors = [
                E.make_error(
                    E.SERVER_ERROR,
                    f"The mock failed to produce the images ({type(exc).__name__}).",
                    task_type=job.task_type,
                    task_uuid=job.task_uuid,
                ).to_wire()
            ]
        job.items = list(items)
        job.errors = list(errors)

    async def _run(
        self, job: Job, produce: Producer, push: Pusher | None, push_errors: ErrorPusher | None
    ) -> None:
        await self._produce(job, produce)
        if job.errors and push_errors is not None:
            with contextlib.suppress(Exception):
                await push_errors(job, job.errors)
        if push is None or not job.items:
            return
        for i, item in enumerate(job.items):
            # Sleep in short slices so a clock advance takes effect promptly.
            while (remaining := job.due[min(i, len(job.due) - 1)] - self.clock.now()) > 0:
                await asyncio.sleep(min(remaining, self.tick_s))
            job.pushed = i + 1
            with contextlib.suppress(Exception):
                await push(job, i, item)

    async def wait_pushed(self, job: Job) -> None:
        """Wait until the job's runner is done (tests, WebSocket sync delivery)."""
        if job.runner is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(job.runner)

    # ------------------------------------------------------------ answers
    def revealed(self, job: Job) -> tuple[Items, Items, int]:
        """(finished items, error items, number still processing) at this moment."""
        now = self.clock.now()
        if job.items is None:
            return [], [], job.count
        if job.errors and not job.items:
            return [], list(job.errors), 0
        done = [item for i, item in enumerate(job.items) if i >= len(job.due) or job.due[i] <= now]
        pending = len(job.items) - len(done)
        return done, list(job.errors), pending

    def get_response(self, job: Job) -> tuple[Items, Items]:
        """The cumulative getResponse answer: (data items, error items)."""
        done, errors, pending = self.revealed(job)
        data: Items = [{**item, "status": "success"} for item in done]
        for error in errors:
            data.append(
                {"taskType": job.task_type, "taskUUID": job.task_uuid, "status": "error", "error": error}
            )
        data.extend(
            {"taskType": job.task_type, "taskUUID": job.task_uuid, "status": "processing"}
            for _ in range(pending)
        )
        return data, [{**e, "status": "error"} for e in errors]

    def task_details(self, job: Job) -> dict[str, Any]:
        """getTaskDetails: the original request and the response as it stands."""
        done, errors, pending = self.revealed(job)
        status = "processing" if pending else ("error" if errors else "success")
        response: dict[str, Any] = {"data": done}
        if errors:
            response["errors"] = errors
        return {
            "taskType": "getTaskDetails",
            "taskUUID": job.task_uuid,
            "status": status,
            "request": [job.request],
            "response": response,
        }

    # ------------------------------------------------------------ upkeep
    def _add(self, job: Job) -> None:
        self._prune()
        self._jobs[job.task_uuid.lower()] = job
        while len(self._jobs) > self.max_jobs:
            _, old = self._jobs.popitem(last=False)
            if old.runner is not None:
                old.runner.cancel()

    def _prune(self) -> None:
        now = self.clock.now()
        while self._jobs:
            job = next(iter(self._jobs.values()))
            if job.finished_at + self.ttl_s > now or (job.runner is not None and not job.runner.done()):
                break
            self._jobs.popitem(last=False)
        while self._seen:
            when = next(iter(self._seen.values()))
            if when + self.ttl_s > now:
                break
            self._seen.popitem(last=False)

    def __len__(self) -> int:
        return len(self._jobs)

    async def close(self) -> None:
        """Stop every runner (server shutdown or admin reset)."""
        runners = [j.runner for j in self._jobs.values() if j.runner is not None and not j.runner.done()]
        for runner in runners:
            runner.cancel()
        for runner in runners:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await runner

    async def reset(self) -> None:
        await self.close()
        self._jobs.clear()
        self._seen.clear()


# --------------------------------------------------------------------------
# Task handlers: imageInference with async / webhook / upload delivery,
# getResponse, getTaskDetails, and taskUUID reuse. Installed by admin.install.
# --------------------------------------------------------------------------
from api_schema import ErrorItem, ImageInferenceTask, make_error  # noqa: E402
from api_schema.limits import FORMAT_MIME  # noqa: E402

from .app import RequestContext, TaskResult, run_inference  # noqa: E402
from .outbound import TargetRefused  # noqa: E402

ItemSender = Callable[[dict[str, Any]], Awaitable[None]]


def _errors(items: Items) -> list[ErrorItem]:
    return [ErrorItem.model_validate(e) for e in items]


def conflict(task_type: str, task_uuid: str) -> TaskResult:
    return TaskResult(
        errors=[
            make_error(
                E.CONFLICT_TASK_UUID,
                f"taskUUID {task_uuid} was already used by an earlier task; send a new UUID v4 per task.",
                parameter="taskUUID",
                task_type=task_type,
                task_uuid=task_uuid,
            )
        ],
        status=400,
    )


async def _check_targets(ctx: RequestContext, task: ImageInferenceTask) -> TaskResult | None:
    outbound = ctx.state.extras.outbound
    for name, url in (("webhookURL", task.webhook_url), ("uploadEndpoint", task.upload_endpoint)):
        if url is None:
            continue
        try:
            await outbound.check(url, what=name)
        except TargetRefused as exc:
            return TaskResult(
                errors=[
                    make_error(
                        E.param_info(name).code,
                        f"Invalid value for '{name}': {exc}",
                        parameter=name,
                        task_type=task.task_type,
                        task_uuid=task.task_uuid,
                    )
                ],
                status=400,
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
    return TaskResult(
        errors=[
            make_error(
                E.TASK_NOT_FOUND,
                f"No task with taskUUID {task_uuid} (never sent, or its results expired).",
                parameter="taskUUID",
                task_type=task_type,
                task_uuid=task_uuid,
            )
        ],
        status=404,
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
