"""What a text check found: one row per quoted string per image, a summary per image
and per run, and a table for ``/generate`` and MCP (``{"headers": [...], "data": [...]}``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .normalise import PASS_SCORE

State = Literal["checked", "not available", "off", "no text"]
TABLE_HEADERS = ["image", "asked for", "read", "score", "ok"]
OK_MARK, MISS_MARK = "✓", "✗"


@dataclass(frozen=True)
class StringCheck:
    asked: str  # the quoted string of the prompt
    read: str  # what was read there ("" when nothing like it was read)
    score: int  # 0-100

    @property
    def ok(self) -> bool:
        return self.score >= PASS_SCORE


def _strings(n: int) -> str:
    return f"{n} string" if n == 1 else f"{n} strings"


@dataclass(frozen=True)
class ImageCheck:
    """The check of one image. ``state`` is "checked" (see ``rows``), "not available"
    (``why`` says why), "off" (the switch) or "no text" (the prompt quotes nothing)."""

    label: str | int  # the image's imageUUID, or its 1-based position
    asked: tuple[str, ...]
    state: State = "checked"
    rows: tuple[StringCheck, ...] = ()
    why: str = ""
    read_lines: tuple[str, ...] = ()  # everything the OCR read, in reading order
    seconds: float = 0.0  # time spent reading and matching

    @property
    def passed(self) -> int:
        return sum(row.ok for row in self.rows)

    @property
    def total(self) -> int:
        return len(self.rows)

    def summary(self) -> str:
        if self.state == "checked":
            return f"{self.passed} of {_strings(self.total)} written correctly"
        return _NOTES[self.state](self.why)

    def table_rows(self) -> list[list[str | int | None]]:
        if self.state == "checked":
            return [[self.label, r.asked, r.read, r.score, OK_MARK if r.ok else MISS_MARK] for r in self.rows]
        if self.state == "not available":
            return [[self.label, asked, "", None, f"not available: {self.why}"] for asked in self.asked]
        return []


_NOTES = {
    "not available": lambda why: f"not available: {why}",
    "off": lambda why: f"off ({why})" if why else "off",
    "no text": lambda why: "the prompt quotes no text to check",
}


@dataclass(frozen=True)
class RunCheck:
    """The check of one generation's images."""

    asked: tuple[str, ...]
    images: tuple[ImageCheck, ...]

    @property
    def passed(self) -> int:
        return sum(image.passed for image in self.images)

    @property
    def total(self) -> int:
        return sum(image.total for image in self.images)

    def summary(self) -> str:
        """E.g. "Text check: 5 of 6 strings written correctly"."""
        checked = [i for i in self.images if i.state == "checked"]
        others = [i for i in self.images if i.state != "checked"]
        if not checked:
            first = others[0].summary() if others else _NOTES["no text"]("")
            return f"Text check: {first}"
        text = f"Text check: {self.passed} of {_strings(self.total)} written correctly"
        failed = [i for i in others if i.state == "not available"]
        if failed:
            count = "1 image" if len(failed) == 1 else f"{len(failed)} images"
            text += f" (not available for {count}: {failed[0].why})"
        return text

    def table(self) -> dict[str, list]:
        """One row per quoted string per image: image, asked for, read, score, ✓/✗."""
        return {"headers": list(TABLE_HEADERS), "data": [row for i in self.images for row in i.table_rows()]}
