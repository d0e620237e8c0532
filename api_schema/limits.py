"""Every documented bound, default and allowed value of the GLM-Image request.

This module is the single home of these numbers: the pydantic models, the error
messages, the mock server and the UI sliders all read them from here.
Source: the model page, https://runware.ai/docs/models/zai-glm-image
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Final

MODEL_ID: Final = "runware:glm-image@0"
API_URL: Final = "https://api.runware.ai/v1"
WS_URL: Final = "wss://ws-api.runware.ai/v1"
DOCS_URL: Final = "https://runware.ai/docs/models/zai-glm-image"

# The page prints the seed maximum as 9223372036854776000, which is 2**63 - 1
# rounded to a double. The real bound is the signed 64-bit maximum.
SEED_MAX: Final = 2**63 - 1
# A seed the server picks when none is given lies in the unsigned 32-bit range.
RANDOM_SEED_MAX: Final = 2**32 - 1

# $0.0225 for one 1024x1024 image, as listed on the model page.
PRICE_PER_1024_SQUARE: Final = 0.0225

# The model's native grid: GLM-Image's reference pipeline wants multiples of 32.
SIZE_GRID: Final = 32


@dataclass(frozen=True)
class NumberRange:
    """A documented numeric bound: inclusive minimum and maximum, optional default."""

    minimum: float
    maximum: float | None = None
    default: float | None = None
    step: float | None = None

    def describe(self) -> str:
        if self.maximum is None:
            return f"at least {_fmt(self.minimum)}"
        return f"between {_fmt(self.minimum)} and {_fmt(self.maximum)}"


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


POSITIVE_PROMPT = NumberRange(2, 3000)  # characters
WIDTH = NumberRange(128, 2048, 1024)
HEIGHT = NumberRange(128, 2048, 1024)
SEED = NumberRange(0, SEED_MAX)
STEPS = NumberRange(1, 999, 100)
CFG_SCALE = NumberRange(1, 30, 10, step=0.01)
NUMBER_RESULTS = NumberRange(1, 20, 1)
OUTPUT_QUALITY = NumberRange(20, 99, 95)
TTL = NumberRange(60)  # seconds, no documented maximum

OUTPUT_TYPES: Final = ("URL", "base64Data", "dataURI")
OUTPUT_FORMATS: Final = ("JPG", "PNG", "WEBP")
DELIVERY_METHODS: Final = ("sync", "async")
SAFETY_MODES: Final = ("none", "fast")
# mediaStorage and accountManagement operations the mock answers (runware-sdk 1.8 lists three
# more usage reports for accountManagement; the docs' account page allows getDetails only).
MEDIA_OPERATIONS: Final = ("upload", "delete")
ACCOUNT_OPERATIONS: Final = ("getDetails",)

DEFAULT_OUTPUT_TYPE: Final = "URL"
DEFAULT_OUTPUT_FORMAT: Final = "JPG"
DEFAULT_DELIVERY_METHOD: Final = "sync"

# MIME type and file extension of each output format.
FORMAT_MIME: Final = {"JPG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
FORMAT_EXT: Final = {"JPG": "jpg", "PNG": "png", "WEBP": "webp"}

# Sizes offered in the UI: the documented examples' 1024x768, the square default,
# and Z.ai's recommended sizes for GLM-Image.
SIZE_PRESETS: Final = (
    (1024, 1024),
    (1024, 768),
    (1280, 1280),
    (1568, 1056),
    (1056, 1568),
    (1472, 1088),
    (1088, 1472),
    (1728, 960),
    (960, 1728),
)


def result_seed(seed: int, index: int) -> int:
    """The seed of result ``index`` of a task with ``seed``: seed+index, wrapped to stay in 0..SEED_MAX.

    Each of numberResults images uses a different seed; counting up from the given one
    (and wrapping past the maximum) keeps them reproducible and all valid seeds.
    """
    return (seed + index) % (SEED_MAX + 1)


# Asked once per generation with a few sizes that repeat; round() to 6 places goes through
# a decimal string and cost 1 % of a mock answer's CPU. The sizes are bounded, and so the table.
@functools.lru_cache(maxsize=4096)
def estimate_cost(width: int, height: int, number_results: int = 1) -> float:
    """Price by pixel count from the documented 1024x1024 price (the mock's rule)."""
    per_image = PRICE_PER_1024_SQUARE * (width * height) / (1024 * 1024)
    return round(per_image * number_results, 6)
