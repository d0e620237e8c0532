"""Rendering one preview picture, in-process: the mock's per-image CPU cost."""

from __future__ import annotations

import time

from mock_api import render

from .common import Result, timed_result

PROMPT = 'A bakery at dawn with a hand-painted sign that reads "FRESH BREAD" and a chalkboard "OPEN 7-19"'


def _samples(width: int, height: int, fmt: str, runs: int) -> list[float]:
    # Warm-up: fonts, layout caches and the encoder's first call.
    render.render_bytes(render.PreviewSpec(PROMPT, width, height, seed=0), fmt, 95)
    samples = []
    for i in range(runs):
        # A new seed each run: no cache of ours can answer, every picture is drawn and encoded.
        spec = render.PreviewSpec(PROMPT, width, height, seed=1000 + i)
        start = time.perf_counter()
        render.render_bytes(spec, fmt, 95)
        samples.append(time.perf_counter() - start)
    return samples


def run(quick: bool = False) -> list[Result]:
    small = _samples(1024, 1024, "JPG", 15 if quick else 60)
    large = _samples(2048, 2048, "WEBP", 5 if quick else 20)
    return [
        timed_result("render_jpg_1024", "render 1024x1024 JPG q95 (draw + encode)", small, 30),
        timed_result("render_webp_2048", "render 2048x2048 WEBP q95 (draw + encode)", large, 250),
    ]
