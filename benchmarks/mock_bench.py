"""The mock over HTTP on loopback: round-trip latency and throughput.

The mock runs as ``python -m mock_api`` in its own process; the client here is
httpx with keep-alive, as the demo's client uses it.
"""

from __future__ import annotations

import asyncio
import time

import httpx

from api_schema import load_examples

from .common import AUTH, Result, documented_request, spawn_mock, task, timed_result

# The base64 round trip is measured on the same picture as before the task factory was shared.
BREAD = 'A bakery at dawn with a hand-painted sign that reads "FRESH BREAD"'


def _round_trips(url: str, make_body, runs: int, warmup: int) -> list[float]:
    samples = []
    with httpx.Client(base_url=url, headers=AUTH, timeout=30, trust_env=False) as client:
        for i in range(warmup + runs):
            body = [make_body(i)]
            start = time.perf_counter()
            response = client.post("/v1", json=body)
            elapsed = time.perf_counter() - start
            if response.status_code != 200 or "data" not in response.json():
                raise RuntimeError(f"unexpected answer {response.status_code}: {response.text[:300]}")
            if i >= warmup:
                samples.append(elapsed)
    return samples


async def _throughput(url: str, clients: int, duration_s: float) -> tuple[int, int, float, list[float]]:
    """(ok, failed, seconds, latencies) of ``clients`` concurrent clients replaying the examples."""
    n_examples = len(load_examples())
    ok = failed = 0
    latencies: list[float] = []
    stop_at = time.perf_counter() + duration_s

    async def one_client(index: int) -> None:
        nonlocal ok, failed
        async with httpx.AsyncClient(base_url=url, headers=AUTH, timeout=30, trust_env=False) as client:
            i = index
            while time.perf_counter() < stop_at:
                start = time.perf_counter()
                response = await client.post("/v1", json=[documented_request(i % n_examples)])
                latencies.append(time.perf_counter() - start)
                if response.status_code == 200 and len(response.json().get("data", [])) == 1:
                    ok += 1
                else:
                    failed += 1
                i += clients

    start = time.perf_counter()
    await asyncio.gather(*(one_client(i) for i in range(clients)))
    return ok, failed, time.perf_counter() - start, latencies


def run(quick: bool = False) -> list[Result]:
    results = []
    with spawn_mock("--random-seed", "1") as mock:
        url_samples = _round_trips(
            mock.url,
            lambda i: task(positivePrompt=f'A sign that reads "ROUND {i}"', seed=i, width=1024, height=1024),
            runs=60 if quick else 300,
            warmup=20,
        )
        results.append(
            timed_result(
                "mock_rt_url",
                "POST /v1 sync, URL output, 1024x1024, p50 (loopback)",
                url_samples,
                5,
                notes="answer only; the picture renders on its first GET",
            )
        )
        b64_samples = _round_trips(
            mock.url,
            # A new seed each time: every answer renders and encodes a new picture.
            lambda i: task(
                positivePrompt=BREAD,
                seed=10_000 + i,
                width=1024,
                height=1024,
                outputType="base64Data",
                outputFormat="JPG",
            ),
            runs=20 if quick else 100,
            warmup=5,
        )
        results.append(
            timed_result(
                "mock_rt_base64",
                "POST /v1 sync, base64Data JPG 1024x1024, distinct seeds, p50",
                b64_samples,
                40,
                notes="includes rendering + base64 of a new picture",
            )
        )
        duration = 3.0 if quick else 15.0
        asyncio.run(_throughput(mock.url, 8, 1.0))  # warm-up
        ok, failed, seconds, latencies = asyncio.run(_throughput(mock.url, 8, duration))
        rate = ok / seconds
        lat_ms = sorted(x * 1000 for x in latencies)
        results.append(
            Result(
                name="mock_throughput",
                what="8 concurrent clients replaying the 4 documented examples",
                target=">= 300 req/s",
                unit="req/s",
                median=rate,
                runs=ok + failed,
                passed=rate >= 300 and failed == 0,
                notes=(
                    f"{ok} ok / {failed} failed in {seconds:.1f} s; "
                    f"latency p50 {lat_ms[len(lat_ms) // 2]:.1f} ms"
                ),
                extra={"ok": ok, "failed": failed, "seconds": seconds},
            )
        )
    return results
