"""How a quoted string and what the OCR read are compared: normalised, then the asked
string is matched against the best span of the text read, edit by edit.

Pure text, no OCR here. Normalising ignores what OCR and typesetting vary on: case,
spacing (Chinese has none, and OCR drops or adds spaces freely), punctuation (full-width
or not), accents (the OCR model reads no accented letters) and full-width letters and
digits. Letters, digits and symbols such as + or € must match.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

PASS_SCORE = 90  # a string counts as written correctly at this score (0-100) or more

# Kept: letters, digits, and symbols other than spacing accents (Sk). Dropped: marks
# (accents after decomposition), punctuation, separators, control and format characters.
_KEPT = ("L", "N", "Sm", "Sc", "So")


@lru_cache(maxsize=8192)
def _fold(ch: str) -> str:
    out = []
    for c in unicodedata.normalize("NFKD", ch.casefold()):
        cat = unicodedata.category(c)
        if cat[0] in ("L", "N") or cat in _KEPT:
            out.append(c.casefold())
    return "".join(out)


def normalise(text: str) -> str:
    """The comparison form of text: ``normalise("Ｏｐｅｎ， Late!") == "openlate"``."""
    return "".join(_fold(ch) for ch in text)


def _folded_with_origin(lines: list[str]) -> tuple[str, list[tuple[int, int]]]:
    """Lines normalised and joined, with (line, character) of the origin of each folded character."""
    chars: list[str] = []
    origin: list[tuple[int, int]] = []
    for li, line in enumerate(lines):
        for ci, ch in enumerate(line):
            folded = _fold(ch)
            chars.append(folded)
            origin.extend([(li, ci)] * len(folded))
    return "".join(chars), origin


def _best_span(needle: str, hay: str) -> tuple[int, int, int]:
    """(edits, start, end): the fewest edits that turn needle into some hay[start:end].

    Edit distance where the match may begin and end anywhere in hay (Sellers' variant
    of Levenshtein): O(len(needle) * len(hay)).
    """
    n = len(needle)
    if not hay:
        return n, 0, 0
    # prev[j]: edits to match needle[:i] ending just before hay[j]; start[j]: where that match begins.
    prev = [0] * (len(hay) + 1)
    start = list(range(len(hay) + 1))
    for i in range(1, n + 1):
        cur = [i] + [0] * len(hay)
        cur_start = [0] * (len(hay) + 1)
        c = needle[i - 1]
        for j in range(1, len(hay) + 1):
            sub = prev[j - 1] + (c != hay[j - 1])
            dele = prev[j] + 1  # needle character missing from hay
            ins = cur[j - 1] + 1  # extra character in hay
            best = min(sub, dele, ins)
            cur[j] = best
            cur_start[j] = start[j - 1] if best == sub else start[j] if best == dele else cur_start[j - 1]
        prev, start = cur, cur_start
    end = min(range(len(hay) + 1), key=lambda j: (prev[j], -(j - start[j])))
    return prev[end], start[end], end


@dataclass(frozen=True)
class Match:
    score: int  # 0-100: 100 * (1 - edits / length of the asked string)
    read: str  # what was read there: the matched span if it passes, else the whole lines it touches

    @property
    def ok(self) -> bool:
        return self.score >= PASS_SCORE


def best_match(asked: str, candidates: list[list[str]]) -> Match:
    """The best match of asked among candidate texts, each a list of lines read in order
    (a single line, the lines of one sign, or everything read)."""
    needle = normalise(asked)
    if not needle:
        return Match(100, "")
    best: tuple[int, int, list[str], list[tuple[int, int]], int, int] | None = None
    for lines in candidates:
        hay, origin = _folded_with_origin(lines)
        edits, start, end = _best_span(needle, hay)
        if best is None or edits < best[0]:
            best = (edits, len(needle), lines, origin, start, end)
        if edits == 0:
            break
    if best is None:
        return Match(0, "")
    edits, length, lines, origin, start, end = best
    score = max(0, round(100 * (1 - edits / length)))
    if start >= end:
        return Match(score, "")
    (l0, c0), (l1, c1) = origin[start], origin[end - 1]
    if score >= PASS_SCORE:
        parts = [lines[li] for li in range(l0, l1 + 1)]
        parts[-1] = parts[-1][: c1 + 1]
        parts[0] = parts[0][c0:] if l0 != l1 else lines[l0][c0 : c1 + 1]
    else:
        parts = lines[l0 : l1 + 1]
    return Match(score, " ".join(p.strip() for p in parts))
