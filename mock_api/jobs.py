"""Tasks the mock remembers: async jobs, getResponse, getTaskDetails, taskUUID reuse.

A job's images are produced once (in the background, by the caller's producer)
and revealed one by one on a simulated schedule: image i is done at
``start + (i + 1) * per_image_seconds``, where the per-image time grows with steps
and pixels and is multiplied by ``speed`` (0 = instant). getResponse answers the
cumulative state at that moment; a push callback (webhook, upload, WebSocket)
runs for each image as it is revealed. Jobs expire ``ttl_s`` after they finish;
at most ``max_jobs`` are kept, and a job may be given an ``owner`` (a caller's key,
hashed) so that ``owner_wait`` can hold each owner to a share of them. Every taskUUID
seen is remembered for the same time so a reuse gets ``conflictTaskUUID``.

The clock can be moved forward (``advance``), so a UI tester or a test can make a
slow job finish now instead of waiting for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from api_schema import errors as E

from .config import DEFAULTS

# Simulated processing time of one image at speed 1: a fixed overhead plus a
# cost per denoising step and megapixel. 100 steps at 1024x1024 take 3.5 s.
BASE_SECONDS = 0.5
SECONDS_PER_STEP_MEGAPIXEL = 0.03
# A hard ceiling on one job's simulated duration, whatever the flags.
MAX_JOB_SECONDS = 3600.0
# How often the finished jobs and taskUUIDs past their TTL are let go, at most.
PRUNE_EVERY_S = 0.05
# A request is kept for getTaskDetails with its strings up to this long; a longer one
# (an inline reference picture) is kept as its start and its length, so a thousand
# kept jobs hold kilobytes, not the megabytes they were sent.
MAX_KEPT_CHARS = 4096
KEPT_PREFIX_CHARS = 64
# How far the clock may be moved in one step, and in all (an offset past a few weeks
# would only expire every taskUUID and job at once, which POST /__admin/reset does).
MAX_ADVANCE_S = 86400.0
MAX_OFFSET_S = 30 * 86400.0

Items = list[dict[str, Any]]
# What a task asked for, as getTaskDetails shows it: the JSON itself, or a function that
# makes it when it is first shown (most jobs never are; writing a task out was ~4 % of
# the mock's CPU per answer). A function must be cheap to keep: no picture in it.
Request = dict[str, Any] | Callable[[], dict[str, Any]]
Producer = Callable[[], Awaitable[tuple[Items, Items]]]
Pusher = Callable[["Job", int, dict[str, Any]], Awaitable[None]]
ErrorPusher = Callable[["Job", Items], Awaitable[None]]


def per_image_seconds(width: int, height: int, steps: int, speed: float) -> float:
    """Simulated time for one image: grows with steps and pixels, scaled by speed."""
    if speed <= 0:
        return 0.0
    megapixels = width * height / (1024 * 1024)
    return speed * (BASE_SECONDS + SECONDS_PER_STEP_MEGAPIXEL * steps * megapixels)


def kept(value: Any) -> Any:
    """A JSON value as a job keeps it: long strings shortened (``MAX_KEPT_CHARS``)."""
    if isinstance(value, str) and len(value) > MAX_KEPT_CHARS:
        return f"{value[:KEPT_PREFIX_CHARS]}...({len(value)} characters, not kept by the mock)"
    if isinstance(value, dict):
        return {k: kept(v) for k, v in value.items()}
    if isinstance(value, list):
        return [kept(v) for v in value]
    return value


class Clock:
    """Monotonic time plus an offset that only moves forward."""

    def __init__(self, base: Callable[[], float] = time.monotonic) -> None:
        self._base = base
        self.offset = 0.0

    def now(self) -> float:
        return self._base() + self.offset

    def advance(self, seconds: float) -> None:
        if not 0 <= seconds <= MAX_ADVANCE_S:
            raise ValueError(f"the clock moves forward by 0 to {MAX_ADVANCE_S:g} seconds at a time")
        if self.offset + seconds > MAX_OFFSET_S:
            raise ValueError(
                f"the clock is already {self.offset:g} s ahead; it goes at most"
                f" {MAX_OFFSET_S:g} s ahead in all (POST /__admin/reset starts over)"
            )
        self.offset += seconds


@dataclass(slots=True)  # made per answer: no __dict__ to allocate
class Job:
    task_uuid: str
    task_type: str
    asked: Request
    count: int
    due: list[float]
    created: float
    items: Items | None = None  # the produced result items, in order
    errors: Items = field(default_factory=list)  # error items of a failed production
    pushed: int = 0  # how many items the push callback has been run for
    ack: dict[str, Any] | None = None  # the first answer, for getTaskDetails
    runner: asyncio.Task[None] | None = None
    owner: str | None = None  # who started it, for per-key quotas

    @property
    def request(self) -> dict[str, Any]:
        """What the task asked for (long strings shortened)."""
        if callable(self.asked):
            self.asked = kept(self.asked())
        return self.asked

    @property
    def finished_at(self) -> float:
        return self.due[-1] if self.due else self.created


class JobStore:
    """Every imageInference the mock answered (sync ones too), by taskUUID."""

    def __init__(
        self,
        *,
        speed: float = DEFAULTS.speed,
        ttl_s: float = DEFAULTS.job_ttl_s,
        max_jobs: int = DEFAULTS.max_jobs,
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
        self._owned: dict[str, list[Job]] = {}  # owner -> their jobs that may still be unfinished
        self._pruned_at = -math.inf

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
        request: Request,
        count: int,
        width: int,
        height: int,
        steps: int,
        produce: Producer,
        push: Pusher | None = None,
        push_errors: ErrorPusher | None = None,
        owner: str | None = None,
    ) -> Job:
        """Create a job and begin producing its images; returns at once.

        At speed 0 the images are produced before this returns, so the first
        getResponse already has them all.
        """
        job = Job(
            task_uuid=task_uuid,
            task_type=task_type,
            asked=request if callable(request) else kept(request),
            count=count,
            due=self.schedule(count, width, height, steps),
            created=self.clock.now(),
            owner=owner,
        )
        self._add(job)
        if owner is not None:
            self._own(owner, job)
        if self.speed == 0:
            await self._produce(job, produce)
            if push is None:
                return job
        job.runner = asyncio.ensure_future(self._run(job, produce, push, push_errors))
        return job

    def record_finished(
        self, *, task_uuid: str, task_type: str, request: Request, items: Items, errors: Items
    ) -> Job:
        """Remember a task answered synchronously (for getResponse and getTaskDetails)."""
        now = self.clock.now()
        job = Job(
            task_uuid=task_uuid,
            task_type=task_type,
            asked=request if callable(request) else kept(request),
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
    def _finished(self, job: Job, now: float) -> bool:
        return job.items is not None and job.finished_at <= now and (job.runner is None or job.runner.done())

    def _wait_for(self, jobs: list[Job], now: float) -> int:
        """Whole seconds (at least 1) until the first of these unfinished jobs is done."""
        soonest = min(job.finished_at for job in jobs)
        return max(1, min(int(MAX_JOB_SECONDS), int(soonest - now + 0.999)))

    def owner_wait(self, owner: str | None, limit: int) -> int | None:
        """None when ``owner`` may start another job, else the seconds until one of its
        ``limit`` unfinished jobs is done (for Retry-After)."""
        if owner is None:
            return None
        now = self.clock.now()
        active = self._still_owned(owner, now)
        return self._wait_for(active, now) if len(active) >= limit else None

    def _still_owned(self, owner: str, now: float) -> list[Job]:
        """The owner's unfinished jobs; its finished ones (and the owner, when none is left) forgotten."""
        active = [job for job in self._owned.get(owner, []) if not self._finished(job, now)]
        if active:
            self._owned[owner] = active
        else:
            self._owned.pop(owner, None)
        return active

    def _own(self, owner: str, job: Job) -> None:
        # An owner's list is pruned each time it asks for room (owner_wait); owners that
        # stopped calling are swept once there are more of them than jobs can be unfinished.
        self._owned.setdefault(owner, []).append(job)
        if len(self._owned) > self.max_jobs:
            now = self.clock.now()
            for key in list(self._owned):
                self._still_owned(key, now)

    def retry_after_s(self) -> int:
        """Seconds until some unfinished job is done (when ``has_room`` said no)."""
        now = self.clock.now()
        active = [job for job in self._jobs.values() if not self._finished(job, now)]
        return self._wait_for(active, now) if active else 1

    def has_room(self) -> bool:
        """Whether a new unfinished job can be kept without dropping another unfinished one."""
        self._prune()
        if len(self._jobs) < self.max_jobs:
            return True
        now = self.clock.now()
        return any(self._finished(j, now) for j in self._jobs.values())

    def _add(self, job: Job) -> None:
        # Over the limit, the oldest *finished* jobs go; a job still in progress is
        # never dropped (its results would be lost). Callers check has_room() before
        # starting new work, so unfinished jobs alone never exceed max_jobs.
        self._prune()
        self._jobs[job.task_uuid.lower()] = job
        if len(self._jobs) <= self.max_jobs:
            return
        now = self.clock.now()
        # Walk from the oldest and stop at the first victims found: copying all items
        # here cost ~10% of the mock's CPU once the store was full (py-spy, 8 clients).
        excess = len(self._jobs) - self.max_jobs
        victims = []
        for key, old in self._jobs.items():
            if len(victims) >= excess:
                break
            if old is not job and self._finished(old, now):
                victims.append(key)
        for key in victims:
            del self._jobs[key]

    def _prune(self) -> None:
        now = self.clock.now()
        # Every lookup prunes, several times per request: once per PRUNE_EVERY_S is enough
        # for a TTL of minutes (a job or taskUUID outlives it by at most that much).
        if self._pruned_at <= now < self._pruned_at + PRUNE_EVERY_S:
            return
        self._pruned_at = now
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
        self._owned.clear()
        self.clock.offset = 0.0  # nothing is left that an earlier advance was for
