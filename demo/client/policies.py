"""Small typed knobs of the client, one object per concern (like httpx's ``Timeout``).

``RunwareClient(url, key, timeouts=Timeouts(deadline=60), retry=RetryPolicy(max_retries=5))``
reads better than fifteen keyword arguments, and each bound is checked once, here.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

MB = 1024 * 1024


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


@dataclass(frozen=True)
class Timeouts:
    """``call``: seconds per HTTP request; ``deadline``: seconds per task, polling included."""

    call: float = 30.0
    deadline: float = 300.0

    def __post_init__(self) -> None:
        _check(self.call > 0 and self.deadline > 0, "timeouts must be positive")


@dataclass(frozen=True)
class RetryPolicy:
    """Retries of a transient failure (408, 429, 5xx, network): exponential back-off plus jitter.

    Defaults follow the official SDK: base 1 s, cap 30 s, up to ``base`` of jitter, 3 retries.
    """

    max_retries: int = 3
    backoff_base: float = 1.0
    backoff_max: float = 30.0

    def __post_init__(self) -> None:
        _check(self.max_retries >= 0, "max_retries must be 0 or more")
        _check(self.backoff_base >= 0 and self.backoff_max >= 0, "back-off times must be 0 or more")

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based)."""
        return min(self.backoff_max, self.backoff_base * 2**attempt) + random.uniform(0, self.backoff_base)


@dataclass(frozen=True)
class PollPolicy:
    """getResponse polling of async tasks: first wait ``initial``, then times ``factor``, capped."""

    initial: float = 1.0
    factor: float = 1.5
    maximum: float = 10.0

    def __post_init__(self) -> None:
        _check(self.initial > 0 and self.maximum > 0, "poll intervals must be positive")
        _check(self.factor >= 1, "the poll factor must be at least 1")

    def next(self, interval: float) -> float:
        return min(self.maximum, interval * self.factor)


@dataclass(frozen=True)
class Limits:
    """``max_image_bytes``: largest image accepted either way; references over
    ``upload_threshold`` bytes go through ``imageUpload`` instead of an inline data URI;
    ``max_answer_bytes``: largest API answer (decoded) that carries no inline image.
    An answer that may carry inline images (base64Data, dataURI) may also be as large as
    those images in base64."""

    max_image_bytes: int = 50 * MB
    upload_threshold: int = 2 * MB
    max_answer_bytes: int = 4 * MB

    def __post_init__(self) -> None:
        _check(
            self.max_image_bytes > 0 and self.upload_threshold >= 0 and self.max_answer_bytes > 0,
            "limits must be positive",
        )

    def answer_bytes(self, inline_images: int = 0) -> int:
        """The cap of one API answer that may carry ``inline_images`` base64 pictures."""
        return self.max_answer_bytes + inline_images * (self.max_image_bytes * 4 // 3 + 1024)
