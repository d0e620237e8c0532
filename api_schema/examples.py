"""The four documented GLM-Image examples, shipped as data.

Each lives in ``examples/<slug>/exchange.json``: a title, the request and the
response envelope, verbatim from the model page. The folder layout is the same as a
recording's, so the mock replays both through one mechanism.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from .responses import ImageInferenceResult
from .tasks import ImageInferenceTask

EXAMPLES_DIR = Path(__file__).with_name("examples")

# Documented image-to-image reference URLs; the mock has local stand-ins for them.
DOCUMENTED_REFERENCE_URLS = (
    "https://assets.runware.ai/assets/inputs/298877df-be25-4bd9-8813-1990e7d9e8f4.jpg",
    "https://assets.runware.ai/assets/inputs/a4b32105-2b05-4d19-a825-de1f9a816066.jpg",
)


@dataclass(frozen=True)
class Example:
    slug: str
    title: str
    kind: str  # "text-to-image" | "image-to-image"
    request: dict[str, Any]
    response: dict[str, Any]  # the envelope {"data": [item]}

    @property
    def task(self) -> ImageInferenceTask:
        return ImageInferenceTask.model_validate(self.request, by_alias=True, by_name=False)

    @property
    def result(self) -> ImageInferenceResult:
        return ImageInferenceResult.model_validate(self.response["data"][0])


def load_exchange(path: Path) -> dict[str, Any]:
    """Read one exchange.json; raises ValueError naming the file when it is unusable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a readable JSON exchange ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("request"), dict):
        raise ValueError(f"{path}: missing the 'request' object")
    response = data.get("response")
    if not isinstance(response, dict) or not isinstance(response.get("data"), list):
        raise ValueError(f"{path}: missing the 'response' envelope with a 'data' list")
    return data


@lru_cache(maxsize=1)
def _load_all() -> tuple[Example, ...]:
    found = []
    for path in sorted(EXAMPLES_DIR.glob("*/exchange.json")):
        data = load_exchange(path)
        found.append(
            Example(
                slug=path.parent.name,
                title=data.get("title", path.parent.name),
                kind=data.get("kind", "text-to-image"),
                request=data["request"],
                response=data["response"],
            )
        )
    return tuple(found)


def load_examples() -> list[Example]:
    """The documented examples, in the model page's order."""
    order = [
        "handwritten-atlas-reading-room",
        "floating-archive-atrium-diorama",
        "riverside-herbarium-signboard-tableau",
        "wayfinding-mural-transit-hall",
    ]
    items = list(_load_all())
    items.sort(key=lambda e: order.index(e.slug) if e.slug in order else len(order))
    # Hand out copies so no caller can change the shared data.
    return [Example(e.slug, e.title, e.kind, _copy(e.request), _copy(e.response)) for e in items]


def _copy(value: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(value))
