"""What a JSON text would cost to decode, known before decoding it.

Decoding amplifies: 32 MB of ``[{},{},...]`` becomes ten million objects (about
700 MB). Its commas, brackets and braces bound how many values it holds, and
counting them is a fast scan of the bytes; the request pipeline and the journal both
look at that count before they decode anything.
"""

from __future__ import annotations

# A payload is not decoded past this many commas, brackets and braces: 32 MB of
# "[{},{},...]" would decode into ten million objects (~700 MB), and 450,000 made-up
# fields hold the GIL for a quarter of a second while they decode. A hundred real tasks
# hold a few thousand (their prompts' commas count too).
MAX_JSON_VALUES = 100_000


def value_marks(payload: bytes | str) -> int:
    """An upper bound of the values a JSON text holds (its commas, brackets and braces)."""
    if isinstance(payload, str):
        return payload.count(",") + payload.count("[") + payload.count("{")
    return payload.count(b",") + payload.count(b"[") + payload.count(b"{")
