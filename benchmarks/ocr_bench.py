"""The text check's OCR: model load in a fresh process, and the time to check one image
(decode, read, match) at 1024x768 and 2048x2048 with the models already loaded."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

from api_schema import load_examples
from demo.textcheck import OcrEngine, TextChecker
from mock_api.images.render import PreviewSpec, render_bytes
from mock_api.testing import ROOT, quiet_env

from .common import Result, median, timed_result

_LOAD = (
    "import time; t = time.perf_counter()\n"
    "from demo.textcheck import OcrEngine\n"
    "e = OcrEngine(); e.load(); print(time.perf_counter() - t)\n"
)


def _load_samples(runs: int) -> list[float]:
    """Import + model load, each in a new interpreter (the page cache is warm after the first)."""
    samples = []
    for _ in range(runs + 1):
        out = subprocess.run(
            [sys.executable, "-c", _LOAD],
            cwd=ROOT,
            env=quiet_env(PYTHONPATH=str(ROOT)),
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        samples.append(float(out.stdout.strip().splitlines()[-1]))
    return samples[1:]  # the first is a warm-up


def _pictures(width: int, height: int) -> list[tuple[str, bytes]]:
    """Mock previews of the documented examples' prompts (4 to 7 quoted strings each)."""
    return [
        (
            ex.request["positivePrompt"],
            render_bytes(PreviewSpec(ex.request["positivePrompt"], width, height, 7), "JPG", 90),
        )
        for ex in load_examples()
    ]


def _check_samples(
    checker: TextChecker, width: int, height: int, runs: int
) -> tuple[list[float], list[float], str]:
    pictures = _pictures(width, height)
    checker.check_image_sync(*pictures[0])  # warm-up: first inference allocates
    wall, cpu, passed, total = [], [], 0, 0
    for i in range(runs):
        prompt, data = pictures[i % len(pictures)]
        start, start_cpu = time.perf_counter(), time.thread_time()
        result = checker.check_image_sync(prompt, data)
        wall.append(time.perf_counter() - start)
        cpu.append(time.thread_time() - start_cpu)
        passed, total = passed + result.passed, total + result.total
    return wall, cpu, f"{passed} of {total} strings read back ✓"


def _concurrent(checker: TextChecker, count: int) -> tuple[float, str]:
    """Wall time for `count` 1024x768 images checked at once (the pool runs WORKERS)."""
    pictures = _pictures(1024, 768)
    prompts = [pictures[i % len(pictures)][0] for i in range(count)]
    images = [pictures[i % len(pictures)][1] for i in range(count)]

    async def run() -> tuple[float, str]:
        start = time.perf_counter()
        checks = await asyncio.gather(
            *(checker.check_image(p, d) for p, d in zip(prompts, images, strict=True))
        )
        return (
            time.perf_counter() - start,
            f"{sum(c.passed for c in checks)} of {sum(c.total for c in checks)} ✓",
        )

    return asyncio.run(run())


def run(quick: bool = False) -> list[Result]:
    loads = _load_samples(2 if quick else 5)
    engine = OcrEngine()
    engine.load()
    checker = TextChecker(engine)
    rows = [
        timed_result(
            "ocr_load",
            "text check: import + model load, new process",
            loads,
            5000,
            notes="once per process, on the first check (or at start-up)",
        )
    ]
    for width, height, runs, limit in (
        (1024, 768, 4 if quick else 12, 2000),
        (2048, 2048, 2 if quick else 6, 8000),
    ):
        wall, cpu, read = _check_samples(checker, width, height, runs)
        rows.append(
            timed_result(
                f"ocr_{width}x{height}",
                f"text check of one {width}x{height} mock preview (decode + OCR + match), models loaded",
                wall,
                limit,
                notes=f"thread CPU median {median(cpu) * 1000:.0f} ms; {read}",
            )
        )
    seconds, read = _concurrent(checker, 4)
    rows.append(
        Result(
            name="ocr_4_at_once",
            what="text check of 4 images of 1024x768 at once (2 workers, 1 thread each)",
            target="",
            unit="ms",
            median=seconds * 1000,
            runs=1,
            notes=read,
        )
    )
    return rows
