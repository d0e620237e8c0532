"""Preview pictures for the mock: a tidy card that shows what the prompt asked to be written.

GLM-Image is chosen for text inside images, so the mock's stand-in result draws the
prompt's quoted strings as large signs over a calm background whose colours come from
a hash of prompt and seed. Everything is deterministic: the same spec gives the same
pixels and the same encoded bytes, so recordings and tests can compare them.

This module composes and encodes the picture; what the signs say and how they are laid
out is in mock_api.images.signs, reference decoding and the stand-ins in mock_api.images.references.

Speed: the background is composed at about 96 px and upscaled once; signs and the
caption are drawn straight onto the full-size image; WEBP uses libwebp's fastest method.
"""

from __future__ import annotations

import colorsys
import hashlib
import io
import math
import random
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFilter

from api_schema.limits import FORMAT_MIME, HEIGHT, MODEL_ID, OUTPUT_QUALITY, WIDTH
from api_schema.quotes import quoted_strings

from .calm import calm_box
from .references import reference_fit
from .signs import (
    FLOOR_FONT,
    LINE_GAP,
    PAD_X,
    PAD_Y,
    block_unit,
    cell_size,
    clip,
    drawable,
    excerpt,
    fit_text,
    font_for,
    line_height_unit,
    lines_for,
    load_font,
    plan_layout,
    printable,
    stroke_width,
    truncated_lines,
)

_PIL_FORMAT = {"JPG": "JPEG", "PNG": "PNG", "WEBP": "WEBP"}
assert set(_PIL_FORMAT) == set(FORMAT_MIME)


@dataclass(frozen=True)
class PreviewSpec:
    prompt: str
    width: int
    height: int
    seed: int
    model: str = MODEL_ID
    reference: bytes | None = None
    label: str = "MOCK PREVIEW"


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


# --------------------------------------------------------------------------- drawing


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
    text_w = max(font_for(line, size).getlength(line) for line in lines) + 2 * stroke_width(size)
    w = text_w + 2 * PAD_X * size
    h = block_unit(lines)[1] * size
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
    stroke = stroke_width(size)
    cx = (x0 + x1) / 2
    y = y0 + PAD_Y * size
    for line in sign.lines:
        font = font_for(line, size)
        draw.text(
            (cx, y), line, font=font, fill=style.ink, anchor="ma", stroke_width=stroke, stroke_fill=style.ink
        )
        y += (line_height_unit() + LINE_GAP) * size


def _draw_caption(img: Image.Image, spec: PreviewSpec, strip_h: int, accent: tuple[int, int, int]) -> None:
    W, H = img.size
    band = img.crop((0, H - strip_h, W, H))
    # Over a reference the strip is nearly opaque: an earlier preview's caption must not show through.
    shade = 0.62 if spec.reference is None else 0.9
    img.paste(Image.blend(band, Image.new("RGB", band.size, (12, 14, 18)), shade), (0, H - strip_h))
    size = max(FLOOR_FONT, round(strip_h * 0.5))
    font = load_font(size)
    draw = ImageDraw.Draw(img)
    pad = max(3, round(strip_h * 0.35))
    mid = H - strip_h / 2
    label = drawable(clip(printable(spec.label), 40))
    if label:
        label = fit_text(label, font, W * 0.6 - 2 * pad)
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
        f"{drawable(printable(spec.model))}  ·  {spec.width}x{spec.height}  ·  seed {spec.seed}",
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
    base_ref = None
    if spec.reference is not None:
        # An edit adds to its base: the signs go in its calmest band, not over what it shows.
        base_ref = reference_fit(bytes(spec.reference), W, H)
        box = calm_box(base_ref, box)
    box_w, box_h = box[2] - box[0], box[3] - box[1]
    texts = quoted_strings(spec.prompt)
    # Signs are the point of the picture; an excerpt is only a note, and over a
    # reference the signs stay smaller so the reference keeps showing.
    # The cap follows the area, not the short side, so banners still get big letters.
    cap = math.sqrt(W * H) * (0.07 if spec.reference is not None else 0.15 if texts else 0.08)
    texts = [drawable(t) for t in texts or [excerpt(spec.prompt)]]
    plan = plan_layout(texts, box_w, box_h, gap, cap)
    cell_w, cell_h = cell_size(box_w, box_h, plan.rows, plan.cols, gap)
    # Glyph widths do not scale exactly linearly (hinting, the faux-bold stroke): check
    # each sign with the real font and step the size down until every one fits.
    size = max(FLOOR_FONT, math.floor(plan.font_size))
    while True:
        blocks = [lines_for(text, size, cell_w, cell_h) for text in plan.items]
        if all(b is not None for b in blocks) or size <= FLOOR_FONT:
            break
        size = max(FLOOR_FONT, size - max(1, size // 25))
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
        signs.append(_place_sign(cx, cy, lines or truncated_lines(text, size, cell_w, cell_h), size, style))

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
        assert base_ref is not None
        img = Image.blend(base_ref, wash, 0.18)
        img.paste((0, 0, 0), (0, 0, W, H), shadows.resize((W, H), Image.Resampling.BILINEAR))
    for sign in signs:
        _draw_sign(img, sign)
    _draw_caption(img, spec, strip_h, styles[2].fill)
    img.info = {}
    return img


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
