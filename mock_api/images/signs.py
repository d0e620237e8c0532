"""How a preview's signs are laid out: the bundled font and its glyph coverage, text
measuring and line splitting, and the layout planner that picks the grid and common font
size that make the most signs readable. Which texts the signs say is
``api_schema.quotes`` (one rule, shared with the demo's text check).

Pure text and geometry: nothing here draws. mock_api.images.render places and paints the signs.
"""

from __future__ import annotations

import itertools
import math
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from PIL import ImageFont

from api_schema.quotes import printable

MAX_SIGNS = 8  # more quoted strings than this collapse into a "+N more" chip
MAX_SIGN_CHARS = 80
MIN_FONT = 8  # below this a sign is not worth drawing; fewer signs are shown instead
FLOOR_FONT = 6  # the last resort for tiny images: truncate the text rather than vanish


def excerpt(prompt: str, max_words: int = 9, max_chars: int = 60) -> str:
    words = printable(prompt or "").split()
    if not words:
        return "(empty prompt)"
    picked: list[str] = []
    for word in words[:max_words]:
        if picked and len(" ".join([*picked, word])) > max_chars:
            break
        picked.append(word)
    text = clip(" ".join(picked), max_chars)
    return text if len(picked) == len(words) else text.rstrip(".,;:") + "…"


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# --------------------------------------------------------------------------- fonts and text


@lru_cache(maxsize=128)
def load_font(size: int) -> ImageFont.FreeTypeFont:
    # Pillow's bundled scalable font: present wherever Pillow is, no system fonts needed.
    return ImageFont.load_default(size=size)  # type: ignore[return-value]


# Installed fonts for the scripts the bundled one lacks (Chinese, Japanese, Korean), tried
# in order: Debian's fonts-wqy-zenhei, then fonts-noto-cjk. A string the bundled font
# can draw never uses them, so Latin previews are the same wherever they are rendered.
FALLBACK_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
)


@lru_cache(maxsize=1)
def fallback_font_path() -> str | None:
    """The first installed font of FALLBACK_FONTS that loads, or None."""
    for path in FALLBACK_FONTS:
        try:
            ImageFont.truetype(path, 20)
        except OSError:
            continue
        return path
    return None


@lru_cache(maxsize=128)
def _fallback_font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(fallback_font_path(), size)


@lru_cache(maxsize=4096)
def _fallback_has(ch: str) -> bool:
    font = _fallback_font(20)
    return bytes(font.getmask(ch)) != bytes(font.getmask("\u0378"))  # an unassigned code point


def font_for(text: str, size: int) -> ImageFont.FreeTypeFont:
    """The font a string is measured and drawn with: the bundled one, unless the string
    has characters only the installed fallback font can draw."""
    if fallback_font_path() and any(not _has_glyph(ch) and _fallback_has(ch) for ch in text):
        return _fallback_font(size)
    return load_font(size)


# Letters the bundled font lacks that have a plain spelling it does have.
_SPELLINGS = {
    "ß": "ss", "Æ": "AE", "æ": "ae", "Œ": "OE", "œ": "oe", "Ø": "O", "ø": "o", "Ł": "L", "ł": "l",
    "Đ": "D", "đ": "d", "Þ": "Th", "þ": "th", "ı": "i", "–": "-", "—": "-", "€": "EUR", "′": "'", "″": '"',
}  # fmt: skip


@lru_cache(maxsize=1)
def _notdef() -> bytes:
    return bytes(load_font(20).getmask("\ue000"))  # a private-use code point: the missing-glyph box


@lru_cache(maxsize=4096)
def _has_glyph(ch: str) -> bool:
    return ch.isspace() or bytes(load_font(20).getmask(ch)) != _notdef()


def drawable(text: str) -> str:
    """Text the bundled font can draw: the font covers ASCII and a little more, so
    accented letters lose their accents (Café -> Cafe) rather than becoming boxes.
    Scripts it lacks entirely (CJK, Arabic, emoji) still show as boxes."""
    out = []
    for ch in text:
        if _has_glyph(ch):
            out.append(ch)
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", ch) if _has_glyph(c) and not c.isspace())
        out.append(base or _SPELLINGS.get(ch, ch))
    return "".join(out)


_UNIT = 100  # text is measured once at this size and scaled; fonts scale linearly


@lru_cache(maxsize=1)
def line_height_unit() -> float:
    ascent, descent = load_font(_UNIT).getmetrics()
    return (ascent + descent) / _UNIT


@lru_cache(maxsize=4096)
def _width_unit(text: str) -> float:
    return font_for(text, _UNIT).getlength(text) / _UNIT


@lru_cache(maxsize=1024)
def _split(text: str, lines: int) -> tuple[str, ...]:
    """Break text at spaces into `lines` lines with the narrowest widest line."""
    words = text.split(" ")
    if lines <= 1 or len(words) < lines:
        return (text,)
    n = len(words)
    best: dict[tuple[int, int], tuple[float, tuple[int, ...]]] = {}

    def solve(start: int, left: int) -> tuple[float, tuple[int, ...]]:
        if left == 1:
            return _width_unit(" ".join(words[start:])), ()
        key = (start, left)
        if key not in best:
            options = []
            for end in range(start + 1, n - left + 2):
                rest, cuts = solve(end, left - 1)
                options.append((max(_width_unit(" ".join(words[start:end])), rest), (end, *cuts)))
            best[key] = min(options)
        return best[key]

    _, cuts = solve(0, lines)
    bounds = (0, *cuts, n)
    return tuple(" ".join(words[a:b]) for a, b in itertools.pairwise(bounds))


PAD_X, PAD_Y, LINE_GAP = 0.75, 0.5, 0.12  # in units of the font size


def block_unit(lines: tuple[str, ...]) -> tuple[float, float]:
    """Width and height of a sign panel for these lines, per pixel of font size."""
    width = max(_width_unit(line) for line in lines) + 2 * PAD_X
    height = len(lines) * line_height_unit() + (len(lines) - 1) * LINE_GAP + 2 * PAD_Y
    return width, height


def _max_lines(text: str) -> int:
    return min(4, len(text.split(" ")))


# --------------------------------------------------------------------------- layout


@dataclass(frozen=True)
class Layout:
    font_size: float
    rows: int
    cols: int
    items: tuple[str, ...]
    hidden: int = 0  # quoted strings summarised by the last item, "+N more"


def cell_size(box_w: float, box_h: float, rows: int, cols: int, gap: float) -> tuple[float, float]:
    return (box_w - (cols - 1) * gap) / cols, (box_h - (rows - 1) * gap) / rows


def _best_size(text: str, cell_w: float, cell_h: float) -> float:
    best = 0.0
    for k in range(1, _max_lines(text) + 1):
        unit_w, unit_h = block_unit(_split(text, k))
        best = max(best, min(cell_w / unit_w, cell_h / unit_h))
    return best


def _lines_needed(text: str, size: float, cell_w: float, cell_h: float) -> int:
    for k in range(1, _max_lines(text) + 1):
        unit_w, unit_h = block_unit(_split(text, k))
        if unit_w * size <= cell_w and unit_h * size <= cell_h:
            return k
    return _max_lines(text)


def plan_layout(texts: list[str], box_w: float, box_h: float, gap: float, cap: float) -> Layout:
    """The grid and common font size that make the most signs readable in the box."""
    texts = [clip(t, MAX_SIGN_CHARS) for t in texts]
    fallback: Layout | None = None
    for shown in range(min(len(texts), MAX_SIGNS), 0, -1):
        items = tuple(texts[:shown])
        if shown < len(texts):
            items += (f"+{len(texts) - shown} more",)
        count = len(items)
        candidates = []
        for rows in range(1, count + 1):
            cols = math.ceil(count / rows)
            if (rows - 1) * cols >= count:
                continue  # would leave a whole row empty
            cell_w, cell_h = cell_size(box_w, box_h, rows, cols, gap)
            if cell_w <= 0 or cell_h <= 0:
                continue
            size = min([cap] + [_best_size(t, cell_w, cell_h) for t in items])
            lines = sum(_lines_needed(t, size, cell_w, cell_h) for t in items)
            candidates.append((size, lines, rows * cols - count, rows, cols))
        if not candidates:
            continue
        top = max(c[0] for c in candidates)
        # Nearly as large with fewer wrapped lines and empty cells reads better as signage.
        size, _, _, rows, cols = min(
            (c for c in candidates if c[0] >= top * 0.9), key=lambda c: (c[1], c[2], -c[0])
        )
        layout = Layout(size, rows, cols, items, len(texts) - shown)
        if size >= MIN_FONT:
            return layout
        if fallback is None or size > fallback.font_size:
            fallback = layout
    return fallback or Layout(FLOOR_FONT, 1, 1, (texts[0] if texts else "",))


# --------------------------------------------------------------------------- fitting with the real font


def fit_text(text: str, font: ImageFont.FreeTypeFont, max_w: float) -> str:
    if font.getlength(text) <= max_w:
        return text
    while len(text) > 1 and font.getlength(text + "…") > max_w:
        text = text[:-1]
    return text.rstrip() + "…"


def stroke_width(size: int) -> int:
    return round(size * 0.022)  # a touch of weight: the bundled font has no bold face


def lines_for(text: str, size: int, cell_w: float, cell_h: float) -> tuple[str, ...] | None:
    """The fewest lines that fit the cell at this size, measured with the real font."""
    room_w = cell_w - 2 * PAD_X * size - 2 * stroke_width(size)
    for k in range(1, _max_lines(text) + 1):
        lines = _split(text, k)
        if block_unit(lines)[1] * size > cell_h:
            break
        if all(font_for(line, size).getlength(line) <= room_w for line in lines):
            return lines
    return None


def truncated_lines(text: str, size: int, cell_w: float, cell_h: float) -> tuple[str, ...]:
    """Last resort for tiny cells: as many lines as fit, each cut with an ellipsis."""
    rows_fit = max(1, int((cell_h / size - 2 * PAD_Y + LINE_GAP) / (line_height_unit() + LINE_GAP)))
    lines = _split(text, min(rows_fit, _max_lines(text)))
    room_w = max(size, cell_w - 2 * PAD_X * size - 2 * stroke_width(size))
    return tuple(fit_text(line, font_for(line, size), room_w) for line in lines)
