"""Mock memory after many distinct pictures: is the image cache really bounded?

URL output and a GET of each image: every request registers a new URL record and
renders a new picture into the encoded-bytes cache, which is the path that would
grow without bound if the cache were not capped (base64 output renders the same
picture but the GET path is skipped).
"""

from __future__ import annotations

import asyncio
import time

import httpx
import psutil

from .common import AUTH, Result, spawn_mock, task

CONCURRENCY = 4
TIME_LIMIT_S = 600.0
MB = 1024 * 1024


async def _drive(url: str, total: int, proc: psutil.Process) -> dict:
    sent = ok = failed = 0
    samples: list[tuple[int, float]] = []
    stop_at = time.monotonic() + TIME_LIMIT_S
    next_index = 0

    async def worker() -> None:
        nonlocal sent, ok, failed, next_index
        async with httpx.AsyncClient(base_url=url, headers=AUTH, timeout=60, trust_env=False) as client:
            while time.monotonic() < stop_at:
                i = next_index
                if i >= total:
                    return
                next_index += 1
                body = [
                    task(
                        positivePrompt=f'A street sign that reads "No. {i}"', seed=i, width=1024, height=1024
                    )
                ]
                sent += 1
                answer = await client.post("/v1", json=body)
                if answer.status_code != 200:
                    failed += 1
                    continue
                image = await client.get(answer.json()["data"][0]["imageURL"])
                if image.status_code == 200 and image.content[:2] == b"\xff\xd8":
                    ok += 1
                else:
                    failed += 1
                if ok and ok % 500 == 0:
                    samples.append((ok, proc.memory_info().rss / MB))

    start = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return {
        "sent": sent,
        "ok": ok,
        "failed": failed,
        "seconds": time.monotonic() - start,
        "samples": samples,
        "timed_out": time.monotonic() >= stop_at,
    }


def run(quick: bool = False) -> list[Result]:
    total = 1000 if quick else 10_000
    with spawn_mock("--random-seed", "2") as mock:
        proc = psutil.Process(mock.proc.pid)
        idle_mb = proc.memory_info().rss / MB
        report = asyncio.run(_drive(mock.url, total, proc))
        final_mb = proc.memory_info().rss / MB
        health = httpx.get(mock.url + "/health", timeout=10, trust_env=False).json()
    peak_mb = max([final_mb, *(mb for _, mb in report["samples"])])
    curve = ", ".join(f"{n}: {mb:.0f}" for n, mb in report["samples"][:: max(1, len(report["samples"]) // 5)])
    complete = report["ok"] == total and not report["failed"]
    return [
        Result(
            name="mock_memory",
            what=f"mock RSS after {total:,} distinct 1024x1024 JPG images (URL output + GET each)",
            target="<= 300 MB",
            unit="MB",
            median=final_mb,
            runs=report["ok"],
            passed=final_mb <= 300 and peak_mb <= 300 and complete,
            notes=(
                f"idle {idle_mb:.0f} MB, peak {peak_mb:.0f} MB; "
                f"{report['ok']} ok / {report['failed']} failed in {report['seconds']:.0f} s; "
                f"RSS by images served: {curve}"
            ),
            extra={**report, "idle_mb": idle_mb, "peak_mb": peak_mb, "health": health},
        )
    ]
