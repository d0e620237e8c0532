"""Size presets for the UI: labels for the documented and recommended sizes.

The sizes themselves live in ``api_schema.limits.SIZE_PRESETS``; this module only
names them for people ("1568 × 1056 · ≈3:2 landscape") and maps labels back.
"""

from __future__ import annotations

from math import gcd

from api_schema import limits

CUSTOM = "Custom"

# Ratios people recognise; a size within 3% of one is labelled "≈ratio".
_COMMON_RATIOS = ((1, 1), (4, 3), (3, 4), (3, 2), (2, 3), (16, 9), (9, 16), (21, 9), (9, 21))


def aspect_label(width: int, height: int) -> str:
    """'4:3' when exact, '≈3:2' when close to a common ratio, else the reduced ratio."""
    if width <= 0 or height <= 0:
        return "?"
    d = gcd(width, height)
    exact = (width // d, height // d)
    if exact in _COMMON_RATIOS:
        return f"{exact[0]}:{exact[1]}"
    ratio = width / height
    best = min(_COMMON_RATIOS, key=lambda r: abs(r[0] / r[1] - ratio))
    if abs(best[0] / best[1] - ratio) / ratio <= 0.03:
        return f"≈{best[0]}:{best[1]}"
    return f"{exact[0]}:{exact[1]}"


def orientation(width: int, height: int) -> str:
    if width == height:
        return "square"
    return "landscape" if width > height else "portrait"


def preset_label(width: int, height: int) -> str:
    return f"{width} × {height} · {aspect_label(width, height)} {orientation(width, height)}"


PRESET_LABELS: tuple[str, ...] = tuple(preset_label(w, h) for w, h in limits.SIZE_PRESETS)
PRESET_CHOICES: tuple[str, ...] = (*PRESET_LABELS, CUSTOM)
_BY_LABEL = dict(zip(PRESET_LABELS, limits.SIZE_PRESETS, strict=True))


def size_of(label: str) -> tuple[int, int] | None:
    """The (width, height) of a preset label; None for Custom or an unknown label."""
    return _BY_LABEL.get(label)


def label_for(width: int | float | None, height: int | float | None) -> str:
    """The preset label matching a size, or Custom."""
    for label, (w, h) in _BY_LABEL.items():
        if width == w and height == h:
            return label
    return CUSTOM


def default_label() -> str:
    return label_for(limits.WIDTH.default, limits.HEIGHT.default)


def grid_note(width: int | float | None, height: int | float | None) -> str:
    """A short warning when a size is off the model's native grid, else ''."""
    grid = limits.SIZE_GRID
    off = [
        f"{name} {int(value)}"
        for name, value in (("width", width), ("height", height))
        if isinstance(value, int | float) and float(value).is_integer() and int(value) % grid
    ]
    if not off:
        return ""
    return (
        f"Note: {' and '.join(off)} {'is' if len(off) == 1 else 'are'} not a multiple of {grid}, "
        f"GLM-Image's native grid: the API may reject or round it. Nearest on the grid: "
        + f"{_nearest(width, limits.WIDTH)} × {_nearest(height, limits.HEIGHT)}"
        + "."
    )


def _nearest(value: int | float | None, rng: limits.NumberRange) -> int:
    grid = limits.SIZE_GRID
    if value is None:
        return int(rng.default or rng.minimum)
    lo, hi = int(rng.minimum), int(rng.maximum or rng.minimum)
    return max(lo, min(hi, round(float(value) / grid) * grid))
