"""The check itself: read an image with the OCR engine and match each quoted string of
the prompt against what was read. Never raises: a failure becomes "not available"."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from api_schema.quotes import quoted_strings

from .engine import ImageInput, Line, OcrEngine, OcrUnavailable, shared_engine
from .normalise import best_match, normalise
from .results import ImageCheck, RunCheck, StringCheck

if TYPE_CHECKING:
    from demo.settings import Settings

SWITCH = "GLM_IMAGE_TEXT_CHECK"  # the environment variable that turns the check off (=0)


def asked_strings(prompt: str) -> tuple[str, ...]:
    """The prompt's quoted strings that have something legible to check."""
    return tuple(s for s in quoted_strings(prompt) if normalise(s))


def _blocks(lines: list[Line]) -> list[list[str]]:
    """Lines stacked in one column close together (one sign's wrapped lines), in reading
    order: text OCR returns interleaved with a neighbouring sign's lines."""
    groups: list[list[Line]] = []
    for line in lines:  # reading order: top to bottom, left to right
        x0, y0, x1, _ = line.box
        height = line.box[3] - y0
        for group in groups:
            last = group[-1]
            lx0, _, lx1, ly1 = last.box
            overlap = min(x1, lx1) - max(x0, lx0)
            if overlap > 0.3 * min(x1 - x0, lx1 - lx0) and -0.5 * height < y0 - ly1 < 1.2 * height:
                group.append(line)
                break
        else:
            groups.append([line])
    return [[line.text for line in g] for g in groups if len(g) > 1]


def match_lines(asked: Sequence[str], lines: list[Line]) -> tuple[StringCheck, ...]:
    """Each asked string against everything read, and against each sign's stacked lines."""
    candidates = [[line.text for line in lines], *_blocks(lines)]
    rows = []
    for text in asked:
        found = best_match(text, candidates)
        rows.append(StringCheck(text, found.read, found.score))
    return tuple(rows)


class TextChecker:
    """Checks results against their prompt. One per app; share the engine (the default)."""

    def __init__(self, engine: OcrEngine | None = None, *, enabled: bool = True) -> None:
        self.engine = engine or shared_engine()
        self.enabled = enabled

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> TextChecker:
        """Honours GLM_IMAGE_TEXT_CHECK (read through demo.settings)."""
        if settings is None:
            from demo.settings import load_settings

            settings = load_settings()
        return cls(enabled=settings.text_check)

    def _skipped(self, prompt: str, label: str | int) -> ImageCheck | None:
        """The answer when there is nothing to read: the check is off, or nothing is quoted."""
        if not self.enabled:
            return ImageCheck(label, asked_strings(prompt), state="off", why=f"{SWITCH}=0")
        if not asked_strings(prompt):
            return ImageCheck(label, (), state="no text")
        return None

    def check_image_sync(self, prompt: str, image: ImageInput, label: str | int = 1) -> ImageCheck:
        """Check one image in this thread (blocking; use ``check_image`` from async code)."""
        skipped = self._skipped(prompt, label)
        if skipped is not None:
            return skipped
        asked = asked_strings(prompt)
        start = time.perf_counter()
        try:
            lines = self.engine.read(image)
            rows = match_lines(asked, lines)
        except OcrUnavailable as exc:
            return ImageCheck(label, asked, state="not available", why=str(exc))
        except Exception as exc:  # the check must never fail a generation
            return ImageCheck(label, asked, state="not available", why=f"{type(exc).__name__}: {exc}")
        return ImageCheck(
            label,
            asked,
            rows=rows,
            read_lines=tuple(line.text for line in lines),
            seconds=time.perf_counter() - start,
        )

    async def check_image(self, prompt: str, image: ImageInput, label: str | int = 1) -> ImageCheck:
        """Check one image on the engine's pool (at most WORKERS at a time, process-wide)."""
        skipped = self._skipped(prompt, label)
        if skipped is not None:
            return skipped  # answered at once, without a thread
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(
                self.engine.executor, self.check_image_sync, prompt, image, label
            )
        except RuntimeError as exc:  # the pool was shut down (interpreter exit)
            return ImageCheck(label, asked_strings(prompt), state="not available", why=str(exc))

    async def check_images(
        self, prompt: str, images: Sequence[ImageInput], labels: Sequence[str | int] | None = None
    ) -> RunCheck:
        """Check a generation's images; labels default to 1, 2, ... (pass imageUUIDs)."""
        labels = list(labels) if labels is not None else list(range(1, len(images) + 1))
        if len(labels) != len(images):
            raise ValueError("one label per image")
        checks = await asyncio.gather(
            *(self.check_image(prompt, image, label) for image, label in zip(images, labels, strict=True))
        )
        return RunCheck(asked_strings(prompt), tuple(checks))

    def check_images_sync(
        self, prompt: str, images: Sequence[ImageInput], labels: Sequence[str | int] | None = None
    ) -> RunCheck:
        """``check_images`` for synchronous callers (blocks; the same pool and bound).
        Not from inside the engine's own pool: it waits for that pool's workers."""
        labels = list(labels) if labels is not None else list(range(1, len(images) + 1))
        if len(labels) != len(images):
            raise ValueError("one label per image")
        futures = [
            self.engine.executor.submit(self.check_image_sync, prompt, image, label)
            for image, label in zip(images, labels, strict=True)
        ]
        return RunCheck(asked_strings(prompt), tuple(f.result() for f in futures))
