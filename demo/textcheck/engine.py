"""The OCR engine: RapidOCR (PP-OCRv4 detection and recognition, Chinese and English)
on onnxruntime, with the models that ship inside the ``rapidocr-onnxruntime`` wheel.

Loaded lazily, once per process, on first use (or by ``load()``), under a lock so two
first callers do not load it twice. Reading runs on a small thread pool of its own:
``WORKERS`` images at a time, each on ``THREADS_PER_IMAGE`` onnxruntime threads, so the
check never takes more than two cores and never blocks an event loop. A load that failed
(the package or a system library missing, a broken model) is remembered and reported as
``OcrUnavailable`` with the reason; nothing is downloaded, ever.

onnxruntime 1.29 and later report usage to Microsoft from Linux too, and keep a device
id under ~/.cache/Microsoft, unless ``ORT_DISABLE_TELEMETRY=1``: it is set before the
first import, like the Gradio and Hugging Face telemetry switches app.py sets.
"""

from __future__ import annotations

import asyncio
import io
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

WORKERS = 2  # images read at the same time (the machines this runs on have 2 cores)
THREADS_PER_IMAGE = 1  # onnxruntime threads per image: WORKERS x this stays within the cores
# Pictures are read at most this many pixels a side, and never enlarged. 1536 reads a
# 2048x2048 result in about 60 % of the time 2000 takes (the detector's cost follows the
# pixels) and still reads 12 px letters where the result has 16 px ones; on the mock's
# previews it also read the giant letters that 2000 misread (benchmarks/ocr_bench.py).
MAX_SIDE = 1536
MAX_PIXELS = 40_000_000  # larger pictures are not decoded (GLM-Image's largest is 2048x2048)


class OcrUnavailable(RuntimeError):
    """The OCR cannot run here; the message says why."""


# Bytes, a PIL image, or the path of a picture file (opened on the worker thread, so a
# caller on an event loop does not read the file itself).
ImageInput = bytes | Image.Image | Path


@dataclass(frozen=True)
class Line:
    """One line of text the OCR found: its text, confidence (0-1) and box in pixels."""

    text: str
    confidence: float
    box: tuple[float, float, float, float]  # left, top, right, bottom


def to_rgb(image: ImageInput) -> Image.Image:
    """Decode bytes or a file (or take a PIL image) as RGB, refusing huge or broken pictures."""
    if isinstance(image, Image.Image):
        img = image
    elif isinstance(image, (bytes, bytearray, memoryview, Path)):
        try:
            img = Image.open(io.BytesIO(image.read_bytes() if isinstance(image, Path) else bytes(image)))
        except Exception as exc:
            raise OcrUnavailable(f"the image could not be read ({type(exc).__name__})") from None
    else:
        raise OcrUnavailable(f"not an image: {type(image).__name__}")
    if img.width * img.height > MAX_PIXELS:
        raise OcrUnavailable(f"the image is too large to check ({img.width}x{img.height})")
    try:
        return img.convert("RGB")
    except Exception as exc:
        raise OcrUnavailable(f"the image could not be decoded ({type(exc).__name__}: {exc})") from None


class OcrEngine:
    """RapidOCR, loaded once on first use; ``read`` is safe to call from many threads."""

    def __init__(self, *, workers: int = WORKERS, threads_per_image: int = THREADS_PER_IMAGE) -> None:
        self._threads = threads_per_image
        self._lock = threading.Lock()
        self._ocr: Any = None
        self._failure: str | None = None
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="textcheck-ocr")
        self.load_seconds: float | None = None  # import + model load, once loaded

    @property
    def executor(self) -> ThreadPoolExecutor:
        """The pool every read runs on: its size is the concurrency bound."""
        return self._executor

    def load(self) -> None:
        """Import the library and load the models now (raises OcrUnavailable)."""
        if self._ocr is not None:
            return
        with self._lock:
            if self._ocr is None and self._failure is None:
                start = time.perf_counter()
                os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
                try:
                    from rapidocr_onnxruntime import RapidOCR

                    # The default config's models (inside the wheel), on the CPU. Its detector
                    # enlarges a picture until the short side is 736 px, which makes a small
                    # picture or a 2048x128 banner several times slower to read for nothing.
                    self._ocr = RapidOCR(
                        intra_op_num_threads=self._threads,
                        inter_op_num_threads=1,
                        max_side_len=MAX_SIDE,
                        det_limit_type="max",
                        det_limit_side_len=MAX_SIDE,
                    )
                except Exception as exc:  # ImportError, a missing libGL, a broken model...
                    self._failure = f"{type(exc).__name__}: {exc}"
                self.load_seconds = time.perf_counter() - start
        if self._failure is not None:
            raise OcrUnavailable(self._failure)

    @staticmethod
    def model_paths() -> list[Path]:
        """The model files RapidOCR's default config loads: inside the installed wheel."""
        import rapidocr_onnxruntime

        return sorted((Path(rapidocr_onnxruntime.__file__).parent / "models").glob("*.onnx"))

    def read(self, image: ImageInput) -> list[Line]:
        """Every line of text found, in reading order (top to bottom, left to right).

        Raises OcrUnavailable for an image that cannot be read or an OCR failure."""
        img = to_rgb(image)
        self.load()
        try:
            # RapidOCR's only per-call state is derived from its fixed config, and
            # onnxruntime sessions may run concurrently: one shared instance is enough.
            found, _ = self._ocr(img)
        except Exception as exc:
            raise OcrUnavailable(f"OCR failed ({type(exc).__name__}: {exc})") from None
        lines = []
        for box, text, confidence in found or []:
            xs, ys = [p[0] for p in box], [p[1] for p in box]
            lines.append(Line(str(text), float(confidence), (min(xs), min(ys), max(xs), max(ys))))
        return lines

    async def read_async(self, image: ImageInput) -> list[Line]:
        """``read`` on the engine's pool, without blocking the event loop."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, self.read, image)


_shared: OcrEngine | None = None
_shared_lock = threading.Lock()


def shared_engine() -> OcrEngine:
    """The process's one engine: the models are loaded once however many checkers use it."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = OcrEngine()
        return _shared
