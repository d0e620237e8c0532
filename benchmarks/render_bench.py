"""Rendering one preview picture, in-process: the mock's per-image CPU cost."""

from __future__ import annotations

import time

from mock_api.images import render

from .common import Result, median, timed_result

PROMPT = 'A bakery at dawn with a hand-painted sign that reads "FRESH BREAD" and a chalkboard "OPEN 7-19"'


def _samples(width: int, height: int, fmt: str, runs: int) -> tuple[list[float], list[float]]:
    """(wall seconds, CPU seconds of this thread) per picture."""
    # Warm-up: fonts, layout caches and the encoder's first call.
    render.render_bytes(render.PreviewSpec(PROMPT, width, height, seed=0), fmt, 95)
    samples, cpu = [], []
    for i in range(runs):
        # A new seed each run: no cache of ours can answer, every picture is drawn and encoded.
        spec = render.PreviewSpec(PROMPT, width, height, seed=1000 + i)
        start, start_cpu = time.perf_counter(), time.thread_time()
        render.render_bytes(spec, fmt, 95)
        samples.append(time.perf_counter() - start)
        cpu.append(time.thread_time() - start_cpu)
    return samples, cpu


def _cpu_note(cpu: list[float]) -> str:
    # CPU time is what a busy shared machine distorts least: wall time includes waiting for a core.
    return f"thread CPU median {median(cpu) * 1000:.1f} ms"


def run(quick: bool = False) -> list[Result]:
    small, small_cpu = _samples(1024, 1024, "JPG", 15 if quick else 60)
    large, large_cpu = _samples(2048, 2048, "WEBP", 5 if quick else 20)
    return [
        timed_result(
            "render_jpg_1024",
            "render 1024x1024 JPG q95 (draw + encode)",
            small,
            30,
            notes=_cpu_note(small_cpu),
        ),
        timed_result(
            "render_webp_2048",
            "render 2048x2048 WEBP q95 (draw + encode)",
            large,
            250,
            notes=_cpu_note(large_cpu),
        ),
    ]
