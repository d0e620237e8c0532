"""The load driver: many sync clients and async tasks at once, nothing lost or doubled.

The suite runs it small (tests/test_load.py); ``python -m benchmarks.load`` runs it
full size.

Each round runs ``clients`` concurrent clients sending ``per_client`` sync requests
each, while ``async_tasks`` async tasks (2 images each) are polled with getResponse
until done. A round passes when every request got its answer (0 errors), every
answer holds exactly the images asked for, under its own taskUUID, and no imageUUID
appears twice (0 lost, 0 duplicated). Memory: the first round brings the mock to
its plateau; the RSS after each later round must stay within a small margin of it.
Every round is bounded in time.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

from mock_api.testing import AUTH, spawn_mock, task
from tests.support.appserver import run_app

MB = 1024 * 1024
ASYNC_IMAGES = 2
POLL_S = 0.1
# Realistic simulated time: 256x256 at 4 steps takes ~0.5 s an image, so polls see "processing".
MOCK_SPEED = "1"
# RSS may move this much above the plateau after a round (allocator noise).
RSS_MARGIN_MB = 24.0
RSS_MARGIN_RATIO = 0.10


@dataclass
class RoundReport:
    sync_sent: int = 0
    sync_ok: int = 0
    async_sent: int = 0
    async_ok: int = 0
    polls: int = 0
    images: int = 0
    errors: list[str] = field(default_factory=list)
    lost: int = 0
    duplicated: int = 0
    seconds: float = 0.0
    timed_out: bool = False
    rss_mb: float | None = None

    @property
    def clean(self) -> bool:
        return not self.errors and not self.lost and not self.duplicated and not self.timed_out

    def summary(self) -> str:
        rss = f", RSS {self.rss_mb:.0f} MB" if self.rss_mb is not None else ""
        return (
            f"sync {self.sync_ok}/{self.sync_sent}, async {self.async_ok}/{self.async_sent} "
            f"({self.polls} polls), {self.images} images, {len(self.errors)} errors, "
            f"{self.lost} lost, {self.duplicated} duplicated, {self.seconds:.1f} s{rss}"
        )


def _small_task(i: int, **fields: Any) -> dict[str, Any]:
    return task(positivePrompt=f'Load test sign "No. {i}"', width=256, height=256, steps=4, **fields)


async def _sync_client(
    url: str, index: int, count: int, report: RoundReport, seen: Counter, fetch_every: int
) -> None:
    async with httpx.AsyncClient(base_url=url, headers=AUTH, timeout=30, trust_env=False) as client:
        for j in range(count):
            body = _small_task(index * 1000 + j)
            report.sync_sent += 1
            try:
                answer = await client.post("/v1", json=[body])
            except httpx.HTTPError as exc:
                report.errors.append(f"sync {body['taskUUID']}: {type(exc).__name__}")
                continue
            if answer.status_code != 200:
                report.errors.append(
                    f"sync {body['taskUUID']}: HTTP {answer.status_code} {answer.text[:120]}"
                )
                continue
            items = [i for i in answer.json().get("data", []) if i.get("taskUUID") == body["taskUUID"]]
            if len(items) != 1 or not items[0].get("imageUUID"):
                report.errors.append(f"sync {body['taskUUID']}: {len(items)} items")
                continue
            seen[items[0]["imageUUID"]] += 1
            report.sync_ok += 1
            if fetch_every and j % fetch_every == 0:
                image = await client.get(items[0]["imageURL"])
                if image.status_code != 200 or image.headers.get("content-type") != "image/jpeg":
                    report.errors.append(f"GET {items[0]['imageURL']}: HTTP {image.status_code}")


async def _async_task(url: str, index: int, report: RoundReport, seen: Counter, deadline: float) -> None:
    body = _small_task(100_000 + index, deliveryMethod="async", numberResults=ASYNC_IMAGES)
    uuid_ = body["taskUUID"]
    report.async_sent += 1
    async with httpx.AsyncClient(base_url=url, headers=AUTH, timeout=30, trust_env=False) as client:
        try:
            ack = await client.post("/v1", json=[body])
            if ack.status_code != 200 or ack.json().get("data", [{}])[0].get("taskUUID") != uuid_:
                report.errors.append(f"async {uuid_}: ack HTTP {ack.status_code} {ack.text[:120]}")
                return
            while time.monotonic() < deadline:
                await asyncio.sleep(POLL_S)
                report.polls += 1
                poll = await client.post("/v1", json=[{"taskType": "getResponse", "taskUUID": uuid_}])
                if poll.status_code != 200:
                    report.errors.append(
                        f"async {uuid_}: getResponse HTTP {poll.status_code} {poll.text[:120]}"
                    )
                    return
                items = poll.json().get("data", [])
                if any(i.get("taskUUID") != uuid_ for i in items):
                    report.errors.append(f"async {uuid_}: an item of another task")
                    return
                if any(i.get("status") == "error" for i in items):
                    report.errors.append(f"async {uuid_}: error item {items}")
                    return
                done = [i for i in items if i.get("status") == "success"]
                if len(done) == ASYNC_IMAGES and len(items) == ASYNC_IMAGES:
                    for item in done:
                        seen[item["imageUUID"]] += 1
                    report.async_ok += 1
                    return
            report.errors.append(f"async {uuid_}: not done before the round's deadline")
        except httpx.HTTPError as exc:
            report.errors.append(f"async {uuid_}: {type(exc).__name__}")


async def run_round(
    url: str,
    *,
    clients: int = 50,
    per_client: int = 20,
    async_tasks: int = 100,
    time_limit_s: float = 120.0,
    fetch_every: int = 5,
) -> RoundReport:
    """One bounded round of load against the mock at ``url``."""
    report = RoundReport()
    seen: Counter = Counter()
    start = time.monotonic()
    deadline = start + time_limit_s
    jobs = [_sync_client(url, i, per_client, report, seen, fetch_every) for i in range(clients)]
    jobs += [_async_task(url, i, report, seen, deadline) for i in range(async_tasks)]
    try:
        await asyncio.wait_for(asyncio.gather(*jobs), timeout=time_limit_s + 10)
    except asyncio.TimeoutError:
        report.timed_out = True
        report.errors.append(f"round did not finish within {time_limit_s + 10:.0f} s")
    report.seconds = time.monotonic() - start
    report.images = sum(seen.values())
    report.duplicated = sum(n - 1 for n in seen.values() if n > 1)
    # Every request asked for images: any that did not arrive (error, timeout, missing item) is lost.
    expected = clients * per_client + async_tasks * ASYNC_IMAGES
    report.lost = expected - len(seen)
    return report


def rss_ok(plateau_mb: float, after_mb: float) -> bool:
    return after_mb <= plateau_mb + max(RSS_MARGIN_MB, plateau_mb * RSS_MARGIN_RATIO)


# --------------------------------------------------------------------------- the app


def generate_through_app(app_url: str, count: int = 8, timeout_s: float = 120.0) -> list[dict[str, Any]]:
    """``count`` simultaneous /generate calls through gradio_client; each call's outcome."""
    from gradio_client import Client

    client = Client(app_url, verbose=False, download_files=False)
    base = {
        "width": 512,
        "height": 512,
        "randomize_seed": False,
        "steps": 4,
        "number_results": 1,
        "output_format": "JPG",
        "output_type": "URL",
        "reference_images": [],
        "reference_urls": "",
        "delivery_method": "sync",
        "include_cost": True,
    }
    jobs = [
        client.submit(
            positive_prompt=f'Concurrent sign "LANE {i}"', seed=9000 + i, **base, api_name="/generate"
        )
        for i in range(count)
    ]
    outcomes = []

    def wait(i_job: tuple[int, Any]) -> dict[str, Any]:
        i, job = i_job
        try:
            gallery, table, _req, response, *_ = job.result(timeout=timeout_s)
            rows = table["data"]
            return {
                "seed": 9000 + i,
                "ok": len(gallery) == 1 and len(rows) == 1,
                "imageUUID": json.loads(response)["data"][0]["imageUUID"],
                "row_seed": rows[0][table["headers"].index("seed")] if rows else None,
            }
        except Exception as exc:  # a failed job is a result to report, not a crash of the script
            return {"seed": 9000 + i, "ok": False, "error": f"{type(exc).__name__}: {str(exc)[:200]}"}

    with ThreadPoolExecutor(count) as pool:
        outcomes = list(pool.map(wait, enumerate(jobs)))
    client.close()
    return outcomes


def run(
    *,
    url: str | None = None,
    clients: int = 50,
    per_client: int = 20,
    async_tasks: int = 100,
    rounds: int = 3,
    time_limit_s: float = 120.0,
    app_generations: int = 0,
    echo: bool = True,
) -> dict[str, Any]:
    """Run the load; a JSON-able report with ``passed``."""
    import contextlib

    import psutil

    def say(text: str) -> None:
        if echo:
            print(text, flush=True)

    reports: list[RoundReport] = []
    with contextlib.ExitStack() as stack:
        proc = None
        if url is None:
            mock = stack.enter_context(spawn_mock("--random-seed", "5", "--speed", MOCK_SPEED))
            url, proc = mock.url, psutil.Process(mock.proc.pid)
        for n in range(rounds):
            r = asyncio.run(
                run_round(
                    url,
                    clients=clients,
                    per_client=per_client,
                    async_tasks=async_tasks,
                    time_limit_s=time_limit_s,
                )
            )
            if proc is not None:
                r.rss_mb = proc.memory_info().rss / MB
            reports.append(r)
            say(f"round {n + 1}{' (warm-up)' if n == 0 and rounds > 1 else ''}: {r.summary()}")
    plateau = reports[0].rss_mb
    memory_ok = all(rss_ok(plateau, r.rss_mb) for r in reports[1:] if r.rss_mb is not None and plateau)
    app_outcomes: list[dict[str, Any]] = []
    if app_generations:
        with run_app() as app_url:
            app_outcomes = generate_through_app(app_url, app_generations)
        done = sum(o["ok"] for o in app_outcomes)
        say(f"app: {done}/{app_generations} simultaneous /generate calls complete")
    app_ok = all(o["ok"] for o in app_outcomes) and len({o.get("imageUUID") for o in app_outcomes}) == len(
        app_outcomes
    )
    passed = all(r.clean for r in reports) and memory_ok and app_ok
    say(f"{'PASS' if passed else 'FAIL'}: memory {'ok' if memory_ok else 'grew'} (plateau {plateau} MB)")
    for r in reports:
        for line in r.errors[:10]:
            say(f"  error: {line}")
    return {
        "passed": passed,
        "memory_ok": memory_ok,
        "plateau_mb": plateau,
        "rounds": [{**asdict(r), "errors": r.errors[:20]} for r in reports],
        "app": app_outcomes,
        "config": {
            "clients": clients,
            "per_client": per_client,
            "async_tasks": async_tasks,
            "rounds": rounds,
        },
    }
