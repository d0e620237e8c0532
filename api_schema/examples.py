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


# No exchange nests deeper than a handful of levels (exchange, response, data, item, field);
# a recording nested deeper is refused at load, where it can be named: served, a value
# nested ~1000 deep would fail to encode in the middle of an answer.
MAX_EXCHANGE_DEPTH = 32


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # what json would otherwise read as a float


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"{text} is too large for a number")  # 1e999: JSON has no infinity
    return value


_DECODER = json.JSONDecoder(parse_constant=_no_constant, parse_float=_finite)


def _depth(value: Any) -> int:
    """How deeply ``value`` nests lists and objects (without recursion: it may be deep)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        if children:
            deepest = max(deepest, level)
            if level > MAX_EXCHANGE_DEPTH:
                break
            stack.extend((child, level + 1) for child in children)
    return deepest


def load_exchange(path: Path) -> dict[str, Any]:
    """Read one exchange.json; raises ValueError naming the file when it is unusable."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"{path}: not a readable JSON exchange ({exc.strerror})") from None
    return parse_exchange(raw, path)


def parse_exchange(raw: bytes, path: Path) -> dict[str, Any]:
    """The exchange in the bytes of ``path``; ValueError naming the file when it is unusable.

    Whatever json refuses is named so: bad syntax, a number of more than 4300 digits,
    nesting too deep for its parser (RecursionError), NaN and Infinity (not JSON: served,
    they would go out as null) and a number too large for a float.
    """
    try:
        data = _DECODER.decode(raw.decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        detail = "nested too deep" if isinstance(exc, RecursionError) else str(exc)
        raise ValueError(f"{path}: not a readable JSON exchange ({detail})") from None
    if _depth(data) > MAX_EXCHANGE_DEPTH:
        raise ValueError(f"{path}: nested more than {MAX_EXCHANGE_DEPTH} levels deep (no exchange is)")
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
