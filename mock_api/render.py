"""Preview pictures for the mock: a tidy card that shows what the prompt asked to be written.

GLM-Image is chosen for text inside images, so the mock's stand-in result draws the
prompt's quoted strings as large signs over a calm background whose colours come from
a hash of prompt and seed. Everything is deterministic: the same spec gives the same
pixels and the same encoded bytes, so recordings and tests can compare them.

Speed: the background is composed at about 96 px and upscaled once; signs and the
caption are drawn straight onto the full-size image; WEBP uses libwebp's fastest method.
"""

from __future__ import annotations

import colorsys
import hashlib
import io
import itertools
import math
import random
import re
import unicodedata
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps

from api_schema.examples import DOCUMENTED_REFERENCE_URLS
from api_schema.limits import FORMAT_MIME, HEIGHT, MODEL_ID, OUTPUT_QUALITY, WIDTH

ASSETS_DIR = Path(__file__).with_name("assets")
# The stand-in picture for each documented reference URL, in the order of the URLs.
STANDIN_FILES = ("standin-herbarium-tabletop.jpg", "standin-transit-hall.jpg")

# A reference image is refused before decoding when its header declares more than this.
MAX_REFERENCE_PIXELS = 40_000_000
MAX_REFERENCE_SIDE = 10_000
_REFERENCE_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP")

_PIL_FORMAT = {"JPG": "JPEG", "PNG": "PNG", "WEBP": "WEBP"}
assert set(_PIL_FORMAT) == set(FORMAT_MIME)

MAX_SIGNS = 8  # more quoted strings than this collapse into a "+N more" chip
MAX_SIGN_CHARS = 80
MIN_FONT = 8  # below this a sign is not worth drawing; fewer signs are shown instead
_FLOOR_FONT = 6  # the last resort for tiny images: truncate the text rather than vanish


@dataclass(frozen=True)
class PreviewSpec:
    prompt: str
    width: int
    height: int
    seed: int
    model: str = MODEL_ID
    reference: bytes | None = None
    label: str = "MOCK PREVIEW"


# --------------------------------------------------------------------------- quoted text

# One left-to-right scan, so a quote nested in another pair is not reported twice.
# A straight single quote only opens after a non-word character and only closes before
# one, which keeps apostrophes ("don't", "Z.ai's", "travelers' maps") out. Empty pairs
# still match, so "" does not shift the pairing of the quotes after it.
_QUOTED = re.compile(
    r'"(?P<dq>[^"\n]{0,200}?)"'
    r"|“(?P<cq>[^”\n]{0,200}?)”"
    r"|‘(?P<cs>(?:(?!’(?!\w))[^\n]){1,200}?)’(?!\w)"
    r"|(?<!\w)'(?=\S)(?P<sq>(?:(?!'(?!\w))[^\n]){2,200}?)(?<=\S)'(?!\w)"
)


def quoted_strings(prompt: str) -> list[str]:
    """The texts the prompt asks to see written, in order, without duplicates."""
    found: list[str] = []
    for match in _QUOTED.finditer(prompt or ""):
        text = _printable(next(g for g in match.groups() if g is not None)).strip(" ,;:")
        if text and text not in found:
            found.append(text)
    return found


def _printable(text: str) -> str:
    """Whitespace collapsed; control, format and lone-surrogate characters removed."""
    kept = "".join(ch for ch in text if ch.isspace() or unicodedata.category(ch) not in ("Cc", "Cf", "Cs"))
    return " ".join(kept.split())


def _excerpt(prompt: str, max_words: int = 9, max_chars: int = 60) -> str:
    words = _printable(prompt or "").split()
    if not words:
        return "(empty prompt)"
    picked: list[str] = []
    for word in words[:max_words]:
        if picked and len(" ".join([*picked, word])) > max_chars:
            break
        picked.append(word)
    text = _clip(" ".join(picked), max_chars)
    return text if len(picked) == len(words) else text.rstrip(".,;:") + "…"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# --------------------------------------------------------------------------- fonts and text


@lru_cache(maxsize=128)
def _font(size: int) -> ImageFont.FreeTypeFont:
    # Pillow's bundled scalable font: present wherever Pillow is, no system fonts needed.
    return ImageFont.load_default(size=size)  # type: ignore[return-value]


# Letters the bundled font lacks that have a plain spelling it does have.
_SPELLINGS = {
    "ß": "ss", "Æ": "AE", "æ": "ae", "Œ": "OE", "œ": "oe", "Ø": "O", "ø": "o", "Ł": "L", "ł": "l",
    "Đ": "D", "đ": "d", "Þ": "Th", "þ": "th", "ı": "i", "–": "-", "—": "-", "€": "EUR", "′": "'", "″": '"',
}  # fmt: skip


@lru_cache(maxsize=1)
def _notdef() -> bytes:
    return bytes(_font(20).getmask("\ue000"))  # a private-use code point: the missing-glyph box


@lru_cache(maxsize=4096)
def _has_glyph(ch: str) -> bool:
    return ch.isspace() or bytes(_font(20).getmask(ch)) != _notdef()


def _drawable(text: str) -> str:
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
def _line_height_unit() -> float:
    ascent, descent = _font(_UNIT).getmetrics()
    return (ascent + descent) / _UNIT


@lru_cache(maxsize=4096)
def _width_unit(text: str) -> float:
    return _font(_UNIT).getlength(text) / _UNIT


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


_PAD_X, _PAD_Y, _LINE_GAP = 0.75, 0.5, 0.12  # in units of the font size


def _block_unit(lines: tuple[str, ...]) -> tuple[float, float]:
    """Width and height of a sign panel for these lines, per pixel of font size."""
    width = max(_width_unit(line) for line in lines) + 2 * _PAD_X
    height = len(lines) * _line_height_unit() + (len(lines) - 1) * _LINE_GAP + 2 * _PAD_Y
    return width, height


def _max_lines(text: str) -> int:
    return min(4, len(text.split(" ")))


# --------------------------------------------------------------------------- layout


@dataclass(frozen=True)
class _Layout:
    font_size: float
    rows: int
    cols: int
    items: tuple[str, ...]
    hidden: int = 0  # quoted strings summarised by the last item, "+N more"


def _cell(box_w: float, box_h: float, rows: int, cols: int, gap: float) -> tuple[float, float]:
    return (box_w - (cols - 1) * gap) / cols, (box_h - (rows - 1) * gap) / rows


def _best_size(text: str, cell_w: float, cell_h: float) -> float:
    best = 0.0
    for k in range(1, _max_lines(text) + 1):
        unit_w, unit_h = _block_unit(_split(text, k))
        best = max(best, min(cell_w / unit_w, cell_h / unit_h))
    return best


def _lines_needed(text: str, size: float, cell_w: float, cell_h: float) -> int:
    for k in range(1, _max_lines(text) + 1):
        unit_w, unit_h = _block_unit(_split(text, k))
        if unit_w * size <= cell_w and unit_h * size <= cell_h:
            return k
    return _max_lines(text)


def _plan(texts: list[str], box_w: float, box_h: float, gap: float, cap: float) -> _Layout:
    """The grid and common font size that make the most signs readable in the box."""
    texts = [_clip(t, MAX_SIGN_CHARS) for t in texts]
    fallback: _Layout | None = None
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
            cell_w, cell_h = _cell(box_w, box_h, rows, cols, gap)
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
        layout = _Layout(size, rows, cols, items, len(texts) - shown)
        if size >= MIN_FONT:
            return layout
        if fallback is None or size > fallback.font_size:
            fallback = layout
    return fallback or _Layout(_FLOOR_FONT, 1, 1, (texts[0] if texts else "",))


# --------------------------------------------------------------------------- colour


def _hsv(h: float, s: float, v: float) -> tuple[int, int, int]:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, min(max(s, 0.0), 1.0), min(max(v, 0.0), 1.0))
    return round(r * 255), round(g * 255), round(b * 255)


def _luma(rgb: tuple[int, int, int]) -> float:
    return 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]


@dataclass(frozen=True)
class _Style:
    fill: tuple[int, int, int]
    ink: tuple[int, int, int]
    rule: tuple[int, int, int]


def _styles(hue: float) -> list[_Style]:
    accent = (hue + 0.5) % 1.0
    return [
        _Style(_hsv(hue, 0.07, 0.98), _hsv(hue, 0.65, 0.22), _hsv(hue, 0.35, 0.55)),  # cream plaque
        _Style(_hsv(hue + 0.04, 0.55, 0.24), _hsv(hue, 0.06, 0.98), _hsv(hue, 0.25, 0.75)),  # dark board
        _Style(_hsv(accent, 0.55, 0.9), _hsv(accent, 0.8, 0.18), _hsv(accent, 0.6, 0.45)),  # bright card
    ]


def _rng(spec: PreviewSpec) -> random.Random:
    digest = hashlib.sha256(f"{spec.prompt}\x00{spec.seed}".encode("utf-8", "surrogatepass")).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


# --------------------------------------------------------------------------- background


def _small_size(width: int, height: int) -> tuple[int, int]:
    """Size of the low-resolution canvas the background and shadows are composed on."""
    # ~192 px on the long side, but at least 24 px on the short one so banners keep detail.
    scale = min(1.0, max(192 / max(width, height), 24 / min(width, height)))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _background(small: tuple[int, int], rng: random.Random, hue: float) -> Image.Image:
    """The gradient, soft blobs and vignette, at low resolution (blurred, so it upscales well)."""
    c1 = _hsv(hue, 0.45 + 0.2 * rng.random(), 0.62 + 0.2 * rng.random())
    c2 = _hsv(hue + 0.1 + 0.15 * rng.random(), 0.35 + 0.2 * rng.random(), 0.85 + 0.15 * rng.random())
    ramp = Image.linear_gradient("L").rotate(
        360 * rng.random(), resample=Image.Resampling.BILINEAR, expand=False
    )
    ramp = ramp.crop((48, 48, 208, 208)).resize(small, Image.Resampling.BILINEAR)
    base = Image.composite(Image.new("RGB", small, c2), Image.new("RGB", small, c1), ramp).convert("RGBA")
    blobs = Image.new("RGBA", small, (0, 0, 0, 0))
    draw = ImageDraw.Draw(blobs)
    for i in range(5):
        r = (0.18 + 0.3 * rng.random()) * max(small)
        cx, cy = rng.random() * small[0], rng.random() * small[1]
        light = i % 2 == 0
        colour = _hsv(
            hue + (0.5 if i == 3 else 0.1 * rng.random()), 0.3 if light else 0.6, 1.0 if light else 0.45
        )
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(*colour, 70 + round(50 * rng.random())))
    base.alpha_composite(blobs)
    base = base.convert("RGB").filter(ImageFilter.GaussianBlur(max(small) / 14))
    # A soft vignette keeps the eye on the signs.
    shade = Image.radial_gradient("L").resize(small, Image.Resampling.BILINEAR).point(lambda p: p * 90 // 255)
    base.paste(_hsv(hue, 0.6, 0.15), (0, 0, *small), shade)
    return base


def _shadow_mask(small: tuple[int, int], scale: float, signs: list[_Sign]) -> Image.Image:
    """Soft drop shadows of all signs, drawn and blurred once at low resolution."""
    mask = Image.new("L", small, 0)
    draw = ImageDraw.Draw(mask)
    blur = 0.0
    for sign in signs:
        x0, y0, x1, y1 = sign.box
        off = max(1.0, sign.size * 0.12)
        draw.rounded_rectangle(
            ((x0 + off) * scale, (y0 + 2 * off) * scale, (x1 + off) * scale, (y1 + 2 * off) * scale),
            max(1.0, sign.radius * scale),
            fill=120,
        )
        blur = max(blur, off * 1.4 * scale)
    return mask.filter(ImageFilter.GaussianBlur(max(0.6, blur)))


# --------------------------------------------------------------------------- reference


def _open_checked(data: bytes) -> Image.Image:
    """Open image bytes lazily after checking the declared size; ValueError otherwise."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ValueError("reference image must be bytes")
    if not data:
        raise ValueError("reference image is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(bytes(data)), formats=_REFERENCE_FORMATS)
    except Image.UnidentifiedImageError:
        raise ValueError("reference is not a JPEG, PNG, WEBP, GIF or BMP image") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValueError(_too_large_message()) from None
    except Exception as exc:
        raise ValueError(f"reference image header is unreadable ({type(exc).__name__})") from None
    w, h = img.size
    if w < 1 or h < 1:
        raise ValueError("reference image has no pixels")
    if w > MAX_REFERENCE_SIDE or h > MAX_REFERENCE_SIDE or w * h > MAX_REFERENCE_PIXELS:
        raise ValueError(_too_large_message(f" ({w}x{h})"))
    return img


def _too_large_message(size: str = "") -> str:
    return (
        f"reference image is too large{size}; at most {MAX_REFERENCE_SIDE} px a side "
        f"and {MAX_REFERENCE_PIXELS // 1_000_000} megapixels"
    )


def _to_rgb(img: Image.Image) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img.load()
            img = ImageOps.exif_transpose(img) or img
            if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
                rgba = img.convert("RGBA")
                flat = Image.new("RGB", rgba.size, (238, 238, 238))
                flat.paste(rgba, mask=rgba.getchannel("A"))
                img = flat
            else:
                img = img.convert("RGB")
    except Exception as exc:
        raise ValueError(f"reference image is truncated or corrupt ({type(exc).__name__})") from None
    img.info = {}
    return img


def load_reference(data: bytes) -> Image.Image:
    """Decode reference image bytes to RGB; ValueError with a short reason when unusable."""
    return _to_rgb(_open_checked(data))


@lru_cache(maxsize=4)
def _reference_cover(data: bytes, width: int, height: int) -> Image.Image:
    img = _open_checked(data)
    if img.format == "JPEG":
        img.draft("RGB", (width, height))  # decode at a reduced scale when it still covers
    rgb = _to_rgb(img)
    return ImageOps.fit(rgb, (width, height), Image.Resampling.BILINEAR)


@lru_cache(maxsize=2)
def _standin_bytes(index: int) -> bytes:
    return (ASSETS_DIR / STANDIN_FILES[index]).read_bytes()


def standin_reference(url: str) -> bytes | None:
    """Local JPEG bytes standing in for a documented reference URL, else None."""
    try:
        index = DOCUMENTED_REFERENCE_URLS.index((url or "").strip())
    except ValueError:
        return None
    return _standin_bytes(index)


# --------------------------------------------------------------------------- drawing


def _fit_text(text: str, font: ImageFont.FreeTypeFont, max_w: float) -> str:
    if font.getlength(text) <= max_w:
        return text
    while len(text) > 1 and font.getlength(text + "…") > max_w:
        text = text[:-1]
    return text.rstrip() + "…"


@dataclass(frozen=True)
class _Sign:
    box: tuple[int, int, int, int]
    lines: tuple[str, ...]
    size: int
    style: _Style

    @property
    def radius(self) -> int:
        return max(2, round(self.size * 0.35))


def _place_sign(cx: float, cy: float, lines: tuple[str, ...], size: int, style: _Style) -> _Sign:
    font = _font(size)
    text_w = max(font.getlength(line) for line in lines) + 2 * _stroke(size)
    w = text_w + 2 * _PAD_X * size
    h = _block_unit(lines)[1] * size
    box = (round(cx - w / 2), round(cy - h / 2), round(cx + w / 2), round(cy + h / 2))
    return _Sign(box, lines, size, style)


def _draw_sign(img: Image.Image, sign: _Sign) -> None:
    x0, y0, x1, y1 = sign.box
    size, style = sign.size, sign.style
    draw = ImageDraw.Draw(img)
    draw.rounded_rectangle(sign.box, sign.radius, fill=style.fill)
    inset = max(2, round(size * 0.18))
    if size >= 14:
        draw.rounded_rectangle(
            (x0 + inset, y0 + inset, x1 - inset, y1 - inset),
            max(1, sign.radius - inset // 2),
            outline=style.rule,
            width=max(1, round(size * 0.045)),
        )
    font, stroke = _font(size), _stroke(size)
    cx = (x0 + x1) / 2
    y = y0 + _PAD_Y * size
    for line in sign.lines:
        draw.text(
            (cx, y), line, font=font, fill=style.ink, anchor="ma", stroke_width=stroke, stroke_fill=style.ink
        )
        y += (_line_height_unit() + _LINE_GAP) * size


def _draw_caption(img: Image.Image, spec: PreviewSpec, strip_h: int, accent: tuple[int, int, int]) -> None:
    W, H = img.size
    band = img.crop((0, H - strip_h, W, H))
    img.paste(Image.blend(band, Image.new("RGB", band.size, (12, 14, 18)), 0.62), (0, H - strip_h))
    size = max(_FLOOR_FONT, round(strip_h * 0.5))
    font = _font(size)
    draw = ImageDraw.Draw(img)
    pad = max(3, round(strip_h * 0.35))
    mid = H - strip_h / 2
    label = _drawable(_clip(_printable(spec.label), 40))
    if label:
        label = _fit_text(label, font, W * 0.6 - 2 * pad)
    label_w = font.getlength(label) + 2 * pad if label else 0
    if label_w:
        lx0 = W - pad // 2 - label_w
        draw.rounded_rectangle(
            (lx0, mid - size * 0.75, W - pad // 2, mid + size * 0.75), round(size * 0.5), fill=accent
        )
        ink = (20, 20, 24) if _luma(accent) > 140 else (250, 250, 250)
        draw.text((lx0 + pad, mid), label, font=font, fill=ink, anchor="lm")
    room = W - label_w - 2 * pad
    for info in (
        f"{_drawable(_printable(spec.model))}  ·  {spec.width}x{spec.height}  ·  seed {spec.seed}",
        f"{spec.width}x{spec.height}  ·  seed {spec.seed}",
        f"{spec.width}x{spec.height}",
    ):
        if font.getlength(info) <= room:
            draw.text((pad, mid), info, font=font, fill=(236, 238, 242), anchor="lm")
            break


def render_preview(spec: PreviewSpec) -> Image.Image:
    """The preview picture: RGB, exactly spec.width x spec.height, same spec -> same pixels."""
    W, H = spec.width, spec.height
    for name, value, bound in (("width", W, WIDTH), ("height", H, HEIGHT)):
        if not isinstance(value, int) or not bound.minimum <= value <= (bound.maximum or value):
            raise ValueError(f"{name} must be an integer {bound.describe()}")
    rng = _rng(spec)
    hue = rng.random()
    short = min(W, H)
    # Banners get a slightly taller strip so the caption stays readable along the long side.
    strip_h = min(44, max(12, round(max(short * 0.05, min(short * 0.12, max(W, H) * 0.015)))))
    margin = max(4, round(short * 0.06))
    gap = max(3, round(margin * 0.6))
    box = (margin, margin, W - margin, H - strip_h - margin)
    box_w, box_h = box[2] - box[0], box[3] - box[1]
    texts = quoted_strings(spec.prompt)
    # Signs are the point of the picture; an excerpt is only a note, and over a
    # reference the signs stay smaller so the reference keeps showing.
    # The cap follows the area, not the short side, so banners still get big letters.
    cap = math.sqrt(W * H) * (0.07 if spec.reference is not None else 0.15 if texts else 0.08)
    texts = [_drawable(t) for t in texts or [_excerpt(spec.prompt)]]
    plan = _plan(texts, box_w, box_h, gap, cap)
    cell_w, cell_h = _cell(box_w, box_h, plan.rows, plan.cols, gap)
    # Glyph widths do not scale exactly linearly (hinting, the faux-bold stroke): check
    # each sign with the real font and step the size down until every one fits.
    size = max(_FLOOR_FONT, math.floor(plan.font_size))
    while True:
        blocks = [_lines_for(text, size, cell_w, cell_h) for text in plan.items]
        if all(b is not None for b in blocks) or size <= _FLOOR_FONT:
            break
        size = max(_FLOOR_FONT, size - max(1, size // 25))
    styles = _styles(hue)
    first_style = int(rng.random() * 2)
    signs = []
    for i, (text, lines) in enumerate(zip(plan.items, blocks, strict=True)):
        row, col = divmod(i, plan.cols)
        in_row = min(plan.cols, len(plan.items) - row * plan.cols)
        # Centre a short last row instead of leaving it ragged on the left.
        x_off = (plan.cols - in_row) * (cell_w + gap) / 2
        cx = box[0] + x_off + col * (cell_w + gap) + cell_w / 2
        cy = box[1] + row * (cell_h + gap) + cell_h / 2
        more = plan.hidden > 0 and i == len(plan.items) - 1
        style = styles[2] if more else styles[(first_style + i) % 2]
        signs.append(_place_sign(cx, cy, lines or _truncated(text, size, cell_w, cell_h), size, style))

    # Background and shadows are composed small and upscaled once (bilinear is enough:
    # everything there is blurred); only the signs are drawn at full resolution.
    small = _small_size(W, H)
    base = _background(small, rng, hue)
    shadows = _shadow_mask(small, small[0] / W, signs)
    if spec.reference is None:
        base.paste((0, 0, 0), (0, 0, *small), shadows)
        img = base.resize((W, H), Image.Resampling.BILINEAR)
    else:
        # The reference stays the visible base; a light wash ties it to the palette.
        wash = base.resize((W, H), Image.Resampling.BILINEAR)
        img = Image.blend(_reference_cover(bytes(spec.reference), W, H), wash, 0.18)
        img.paste((0, 0, 0), (0, 0, W, H), shadows.resize((W, H), Image.Resampling.BILINEAR))
    for sign in signs:
        _draw_sign(img, sign)
    _draw_caption(img, spec, strip_h, styles[2].fill)
    img.info = {}
    return img


def _stroke(size: int) -> int:
    return round(size * 0.022)  # a touch of weight: the bundled font has no bold face


def _lines_for(text: str, size: int, cell_w: float, cell_h: float) -> tuple[str, ...] | None:
    """The fewest lines that fit the cell at this size, measured with the real font."""
    font = _font(size)
    room_w = cell_w - 2 * _PAD_X * size - 2 * _stroke(size)
    for k in range(1, _max_lines(text) + 1):
        lines = _split(text, k)
        if _block_unit(lines)[1] * size > cell_h:
            break
        if all(font.getlength(line) <= room_w for line in lines):
            return lines
    return None


def _truncated(text: str, size: int, cell_w: float, cell_h: float) -> tuple[str, ...]:
    """Last resort for tiny cells: as many lines as fit, each cut with an ellipsis."""
    font = _font(size)
    rows_fit = max(1, int((cell_h / size - 2 * _PAD_Y + _LINE_GAP) / (_line_height_unit() + _LINE_GAP)))
    lines = _split(text, min(rows_fit, _max_lines(text)))
    room_w = max(size, cell_w - 2 * _PAD_X * size - 2 * _stroke(size))
    return tuple(_fit_text(line, font, room_w) for line in lines)


# --------------------------------------------------------------------------- encoding


def encode_image(img: Image.Image, output_format: str, quality: int) -> bytes:
    """Encode to JPG, PNG or WEBP bytes with no metadata, so equal pixels give equal bytes."""
    fmt = str(output_format).upper()
    fmt = "JPG" if fmt == "JPEG" else fmt
    if fmt not in _PIL_FORMAT:
        raise ValueError(f"output format must be one of {', '.join(_PIL_FORMAT)}")
    if isinstance(quality, bool) or not isinstance(quality, int):
        raise ValueError("quality must be an integer")
    if not OUTPUT_QUALITY.minimum <= quality <= (OUTPUT_QUALITY.maximum or quality):
        raise ValueError(f"quality must be {OUTPUT_QUALITY.describe()}")
    if (fmt == "JPG" and img.mode != "RGB") or img.mode not in ("RGB", "RGBA"):
        img = img.convert("RGB")  # PNG and WEBP keep an alpha channel; JPEG cannot
    elif img.info:
        img = img.copy()  # never change the caller's image
    img.info = {}  # no EXIF/ICC/text chunks: equal pixels give equal bytes
    buf = io.BytesIO()
    if fmt == "JPG":
        img.save(buf, "JPEG", quality=quality)
    elif fmt == "WEBP":
        # method=0 is libwebp's fastest; at 2048x2048 it is several times quicker than 4.
        img.save(buf, "WEBP", quality=quality, method=0)
    else:
        # Level 3 halves the encode time of the default 6 for ~20% larger files.
        img.save(buf, "PNG", compress_level=3)
    return buf.getvalue()


def render_bytes(spec: PreviewSpec, output_format: str, quality: int) -> bytes:
    return encode_image(render_preview(spec), output_format, quality)
