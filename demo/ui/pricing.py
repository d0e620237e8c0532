"""The price of a run before you press Generate.

The model page prices one 1024x1024 image at $0.0225; ``api_schema.limits.estimate_cost``
scales that by pixel count (the mock charges the same rule). The live API's real charge
also depends on things the page cannot see (the documented 1024x768 examples cost
$0.0141 to $0.0397), so the line says "about". On the mock nothing is charged, and the
line says so, with what the live API would roughly charge.
"""

from __future__ import annotations

import math
from typing import Any

from api_schema import limits


def _whole(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return int(value) if float(value).is_integer() else None


def _in(rng: limits.NumberRange, value: int | None) -> bool:
    return value is not None and rng.minimum <= value <= (rng.maximum or value)


def estimate(width: Any, height: Any, number: Any) -> float | None:
    """The estimated USD cost of a run, or None while a value is out of bounds."""
    w, h, n = _whole(width), _whole(height), _whole(number)
    if not (_in(limits.WIDTH, w) and _in(limits.HEIGHT, h) and _in(limits.NUMBER_RESULTS, n)):
        return None
    assert w is not None and h is not None and n is not None
    return limits.estimate_cost(w, h, n)


def _money(value: float) -> str:
    return f"${value:.4f}" if value < 1 else f"${value:.2f}"


def price_line(backend_kind: str, width: Any, height: Any, number: Any) -> str:
    """The Markdown next to Generate for these settings on this backend."""
    cost = estimate(width, height, number)
    n = _whole(number)
    what = f"{n} image{'' if n == 1 else 's'}" if n is not None else "this run"
    if backend_kind != "live":
        live = f" · live API about {_money(cost)} for {what}" if cost is not None else ""
        return f"**No credits used** (mock){live}"
    if cost is None:
        return "**Estimated cost:** fix the size or number of results first."
    return (
        f"**Estimated cost: about {_money(cost)}** for {what} "
        f"({_money(limits.PRICE_PER_1024_SQUARE)} per 1024×1024, by pixel count), charged to the key in use."
    )
