"""Draw the mock's stand-ins for the two documented reference images.

The model page's image-to-image examples point at pictures on assets.runware.ai; the
mock never fetches them, it uses these drawings instead: a tabletop of jars and plants
("Riverside Herbarium Signboard Tableau") and a transit hall in one-point perspective
("Wayfinding Mural Transit Hall"). Drawn here at twice the size and scaled down, so the
edges are smooth, and written as small JPEGs into mock_api/images/assets/.

Run: python scripts/make_standins.py   (output is deterministic; commit the JPEGs)
"""

from __future__ import annotations

import itertools
import math
import random
import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mock_api.images.references import ASSETS_DIR, STANDIN_FILES  # noqa: E402

W, H = 1024, 768
SS = 2  # supersampling factor


def _vertical_gradient(size: tuple[int, int], top: tuple[int, ...], bottom: tuple[int, ...]) -> Image.Image:
    ramp = Image.linear_gradient("L").resize(size, Image.Resampling.BILINEAR)
    return Image.composite(Image.new("RGB", size, bottom), Image.new("RGB", size, top), ramp)


# --------------------------------------------------------------------------- herbarium table


def _leaf(draw: ImageDraw.ImageDraw, x: float, y: float, length: float, angle: float, colour) -> None:
    """A pointed leaf as a polygon from its base at (x, y)."""
    dx, dy = math.cos(angle), math.sin(angle)
    nx, ny = -dy, dx
    width = length * 0.28
    pts = []
    for i in range(13):
        t = i / 12
        half = width * math.sin(math.pi * t)
        pts.append((x + dx * length * t + nx * half, y + dy * length * t + ny * half))
    for i in range(12, -1, -1):
        t = i / 12
        half = width * math.sin(math.pi * t)
        pts.append((x + dx * length * t - nx * half, y + dy * length * t - ny * half))
    draw.polygon(pts, fill=colour)


def _jar(img: Image.Image, box: tuple[float, float, float, float], rng: random.Random, content: str) -> None:
    x0, y0, x1, y1 = box
    w = x1 - x0
    # Contents on their own layer, clipped to the jar, so the glass tint sits over them.
    inside = Image.new("RGBA", img.size, (0, 0, 0, 0))
    g = ImageDraw.Draw(inside)
    if content == "seeds":
        g.rounded_rectangle(
            (x0 + w * 0.08, y0 + (y1 - y0) * 0.45, x1 - w * 0.08, y1 - w * 0.06),
            w * 0.12,
            fill=(176, 128, 70, 255),
        )
        for _ in range(140):
            sx = x0 + w * (0.12 + 0.76 * rng.random())
            sy = y0 + (y1 - y0) * (0.47 + 0.48 * rng.random())
            r = w * 0.025
            g.ellipse((sx - r, sy - r * 0.7, sx + r, sy + r * 0.7), fill=(120, 80, 40, 255))
    elif content == "leaves":
        for _ in range(18):
            _leaf(
                g,
                x0 + w * (0.2 + 0.6 * rng.random()),
                y1 - w * 0.1,
                w * (0.35 + 0.35 * rng.random()),
                -math.pi / 2 + (rng.random() - 0.5) * 1.6,
                (70 + rng.randint(0, 40), 120 + rng.randint(0, 40), 60, 255),
            )
    else:  # dried flowers
        for _ in range(9):
            sx = x0 + w * (0.25 + 0.5 * rng.random())
            top = y0 + (y1 - y0) * (0.1 + 0.3 * rng.random())
            g.line(
                (sx, y1 - w * 0.08, sx + (rng.random() - 0.5) * w * 0.3, top),
                fill=(96, 120, 70, 255),
                width=5,
            )
            for k in range(6):
                r = w * 0.05
                fy = top + k * r * 1.3
                g.ellipse((sx - r, fy - r, sx + r, fy + r), fill=(150, 110, 190, 255))
    clip = Image.new("L", img.size, 0)
    ImageDraw.Draw(clip).rounded_rectangle((x0 + 6, y0 + 6, x1 - 6, y1 - 6), w * 0.14, fill=255)
    inside.putalpha(Image.composite(inside.getchannel("A"), clip, clip))
    img.alpha_composite(inside)
    glass = Image.new("RGBA", img.size, (0, 0, 0, 0))
    g = ImageDraw.Draw(glass)
    g.rounded_rectangle(box, w * 0.16, fill=(200, 230, 225, 90), outline=(235, 250, 248, 200), width=6)
    g.rounded_rectangle(
        (x0 + w * 0.12, y0 + w * 0.25, x0 + w * 0.22, y1 - w * 0.3), w * 0.05, fill=(255, 255, 255, 110)
    )  # highlight
    lid = (x0 + w * 0.06, y0 - w * 0.16, x1 - w * 0.06, y0 + w * 0.04)
    g.rounded_rectangle(
        lid, w * 0.05, fill=(176, 130, 80, 255) if content != "seeds" else (150, 150, 158, 255)
    )
    # a blank label card: the sign text is the model's job, not the reference's
    ly = y0 + (y1 - y0) * 0.32
    g.rectangle(
        (x0 + w * 0.2, ly, x1 - w * 0.2, ly + w * 0.32),
        fill=(246, 240, 222, 240),
        outline=(150, 120, 90, 255),
        width=3,
    )
    img.alpha_composite(glass)


def draw_herbarium() -> Image.Image:
    size = (W * SS, H * SS)
    sw, sh = size
    rng = random.Random(1874)
    img = _vertical_gradient(size, (214, 200, 172), (238, 226, 200)).convert("RGBA")
    d = ImageDraw.Draw(img)
    # a window with soft daylight on the wall
    d.rectangle((sw * 0.62, sh * 0.06, sw * 0.92, sh * 0.44), fill=(250, 246, 232))
    d.rectangle((sw * 0.62, sh * 0.06, sw * 0.92, sh * 0.44), outline=(150, 120, 92), width=14)
    d.line((sw * 0.77, sh * 0.06, sw * 0.77, sh * 0.44), fill=(150, 120, 92), width=10)
    d.line((sw * 0.62, sh * 0.25, sw * 0.92, sh * 0.25), fill=(150, 120, 92), width=10)
    # the table: planks that run towards the viewer
    top_y = sh * 0.58
    d.rectangle((0, top_y, sw, sh), fill=(150, 98, 58))
    for i in range(9):
        y = top_y + (sh - top_y) * (i / 8) ** 1.4
        d.line((0, y, sw, y), fill=(118, 74, 42), width=4)
    d.rectangle((0, top_y - 10, sw, top_y + 8), fill=(112, 70, 40))
    # a folded field journal, lying flat
    d.polygon(
        [(sw * 0.05, sh * 0.86), (sw * 0.30, sh * 0.80), (sw * 0.36, sh * 0.95), (sw * 0.09, sh * 0.99)],
        fill=(70, 92, 70),
    )
    d.polygon(
        [(sw * 0.07, sh * 0.855), (sw * 0.29, sh * 0.805), (sw * 0.33, sh * 0.90), (sw * 0.10, sh * 0.95)],
        fill=(244, 236, 214),
    )
    for k in range(5):
        t = 0.2 + 0.14 * k
        d.line(
            (sw * (0.09 + 0.02 * t), sh * (0.87 + 0.07 * t), sw * (0.27 + 0.05 * t), sh * (0.82 + 0.07 * t)),
            fill=(150, 140, 120),
            width=3,
        )
    # jars of several sizes along the table
    jars = [
        ((0.07, 0.30, 0.21, 0.66), "flowers"),
        ((0.25, 0.40, 0.36, 0.67), "seeds"),
        ((0.40, 0.26, 0.55, 0.66), "leaves"),
        ((0.59, 0.44, 0.68, 0.68), "seeds"),
    ]
    for (a, b, c, e), content in jars:
        _jar(img, (sw * a, sh * b, sw * c, sh * e), rng, content)
    d = ImageDraw.Draw(img)
    # a potted plant on the right
    px, py = sw * 0.83, sh * 0.70
    for _ in range(26):
        ang = -math.pi / 2 + (rng.random() - 0.5) * 2.4
        _leaf(
            d,
            px,
            py - sh * 0.08,
            sh * (0.16 + 0.14 * rng.random()),
            ang,
            (50 + rng.randint(0, 50), 110 + rng.randint(0, 50), 55 + rng.randint(0, 20)),
        )
    d.polygon(
        [
            (px - sw * 0.09, py - sh * 0.1),
            (px + sw * 0.09, py - sh * 0.1),
            (px + sw * 0.07, py + sh * 0.1),
            (px - sw * 0.07, py + sh * 0.1),
        ],
        fill=(186, 98, 60),
    )
    d.rectangle((px - sw * 0.095, py - sh * 0.12, px + sw * 0.095, py - sh * 0.08), fill=(170, 86, 52))
    # a bundle of lavender lying in front, tied with twine
    for k in range(12):
        x0, y0 = sw * (0.42 + 0.006 * k), sh * (0.95 - 0.004 * k)
        x1, y1 = sw * (0.64 + 0.008 * k), sh * (0.76 - 0.012 * k)
        d.line((x0, y0, x1, y1), fill=(98, 122, 74), width=7)
        for t in range(14):
            fx = x1 - (x1 - x0) * t * 0.028
            fy = y1 - (y1 - y0) * t * 0.028
            r = 13 - t * 0.4
            d.ellipse((fx - r, fy - r, fx + r, fy + r), fill=(142 - t * 2, 108, 190 - t))
    d.polygon(
        [(sw * 0.505, sh * 0.86), (sw * 0.525, sh * 0.85), (sw * 0.535, sh * 0.90), (sw * 0.515, sh * 0.91)],
        fill=(196, 150, 90),
    )
    img = img.convert("RGB").filter(ImageFilter.GaussianBlur(1.2))
    return img.resize((W, H), Image.Resampling.LANCZOS)


# --------------------------------------------------------------------------- transit hall


def draw_transit_hall() -> Image.Image:
    size = (W * SS, H * SS)
    sw, sh = size
    vx, vy, focal = sw * 0.5, sh * 0.46, sw * 0.55
    eye, ceiling, half = 1.7, 9.0, 8.0  # metres: camera height, ceiling, half width
    far = 42.0

    def p(x: float, y: float, z: float) -> tuple[float, float]:
        return vx + focal * x / z, vy - focal * (y - eye) / z

    img = Image.new("RGB", size, (60, 60, 64))
    d = ImageDraw.Draw(img)
    near = 0.9
    # ceiling, walls and floor as four trapezoids meeting the far wall
    floor = [p(-half, 0, near), p(half, 0, near), p(half, 0, far), p(-half, 0, far)]
    ceil = [p(-half, ceiling, near), p(half, ceiling, near), p(half, ceiling, far), p(-half, ceiling, far)]
    left = [p(-half, 0, near), p(-half, ceiling, near), p(-half, ceiling, far), p(-half, 0, far)]
    right = [p(half, 0, near), p(half, ceiling, near), p(half, ceiling, far), p(half, 0, far)]
    d.polygon(ceil, fill=(196, 200, 204))
    d.polygon(left, fill=(178, 168, 152))
    d.polygon(right, fill=(164, 154, 140))
    d.polygon(floor, fill=(150, 146, 140))
    # far wall: a glazed end with daylight
    fw = [p(-half, 0, far), p(half, 0, far), p(half, ceiling, far), p(-half, ceiling, far)]
    d.polygon(fw, fill=(226, 236, 242))
    (ax, ay), (bx, by) = p(-half, 0, far), p(half, ceiling, far)
    for k in range(1, 8):
        x = ax + (bx - ax) * k / 8
        d.line((x, ay, x, by), fill=(120, 130, 140), width=5)
    d.line((ax, (ay + by) / 2, bx, (ay + by) / 2), fill=(120, 130, 140), width=5)
    # floor tiles: lines to the vanishing point and rows that close in with depth
    for k in range(-8, 9, 2):
        d.line((*p(k, 0, near), *p(k, 0, far)), fill=(126, 122, 118), width=4)
    z = near
    while z < far:
        d.line((*p(-half, 0, z), *p(half, 0, z)), fill=(126, 122, 118), width=max(2, round(10 / z)))
        z *= 1.22
    # a tactile guide strip down the middle
    d.polygon(
        [p(-0.18, 0.001, near), p(0.18, 0.001, near), p(0.18, 0.001, far), p(-0.18, 0.001, far)],
        fill=(226, 184, 60),
    )
    # skylight strips and ceiling beams
    d.polygon(
        [p(-2.5, ceiling, near), p(2.5, ceiling, near), p(2.5, ceiling, far), p(-2.5, ceiling, far)],
        fill=(236, 242, 246),
    )
    for zb in [1.5 * 1.3**k for k in range(12)]:
        if zb < far:
            d.line(
                (*p(-half, ceiling, zb), *p(half, ceiling, zb)),
                fill=(120, 124, 130),
                width=max(2, round(40 / zb)),
            )
    # columns and arches along both walls, far to near so near ones overlap
    depths = [z for z in (2.2, 4.0, 6.5, 10.0, 15.0, 22.0, 32.0) if z < far]
    for z in reversed(depths):
        for side in (-1, 1):
            x = side * (half - 0.6)
            col = [
                p(x - 0.5, 0, z),
                p(x + 0.5, 0, z),
                p(x + 0.5, ceiling * 0.72, z),
                p(x - 0.5, ceiling * 0.72, z),
            ]
            shade = (206, 198, 184) if side < 0 else (190, 182, 168)
            d.polygon(col, fill=shade)
            d.line((*col[3], *col[2]), fill=(120, 112, 100), width=max(2, round(30 / z)))
    for a, b in itertools.pairwise(depths):
        for side in (-1, 1):
            x = side * half
            pts = []
            for i in range(21):
                t = i / 20
                zz = a + (b - a) * t
                yy = ceiling * 0.72 + (ceiling * 0.2) * math.sin(math.pi * t)
                pts.append(p(x, yy, zz))
            d.line(pts, fill=(132, 124, 112), width=max(3, round(60 / a)))
    # benches and a few traveller silhouettes for scale
    for z, x in ((5.0, -4.0), (8.5, 3.6), (13.0, -3.8)):
        top = [p(x - 1.3, 0.45, z), p(x + 1.3, 0.45, z), p(x + 1.3, 0.55, z), p(x - 1.3, 0.55, z)]
        d.polygon(top, fill=(110, 78, 52))
        for lx in (x - 1.1, x + 1.1):
            d.line((*p(lx, 0, z), *p(lx, 0.45, z)), fill=(60, 60, 64), width=max(2, round(30 / z)))
    for z, x in ((7.0, 1.5), (11.0, -1.2), (18.0, 2.5), (25.0, -2.0)):
        (hx, hy), (_, fy) = p(x, 1.72, z), p(x, 0, z)
        r = focal * 0.12 / z
        d.ellipse((hx - r, hy - r, hx + r, hy + r), fill=(52, 56, 64))
        d.rounded_rectangle((hx - r * 1.6, hy + r, hx + r * 1.6, fy), r, fill=(52, 56, 64))
    img = img.filter(ImageFilter.GaussianBlur(1.0))
    return img.resize((W, H), Image.Resampling.LANCZOS)


def main() -> None:
    ASSETS_DIR.mkdir(parents=True, exist_ok=True)
    for name, picture in zip(STANDIN_FILES, (draw_herbarium(), draw_transit_hall()), strict=True):
        path = ASSETS_DIR / name
        picture.save(path, "JPEG", quality=82, optimize=True, progressive=False)
        print(f"{path.relative_to(ROOT)}: {path.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
