"""Where an edit's new signs go: the calmest band of the base picture.

An edit keeps its base picture and adds to it, so its signs must not land on what the
base already shows (a sign of the previous step, a face, a shop front). The base is
measured at low resolution (edge strength, row by row and column by column); each
side of the sign area offers a band that reaches inward while the picture stays calm,
between a fifth and a half of the area deep; the band with the least detail wins.
A flat base gets the widest band; a busy one its quietest side. Deterministic: the
same picture gives the same band.
"""

from __future__ import annotations

from PIL import Image, ImageFilter

Box = tuple[int, int, int, int]

_PROBE = 96  # long side of the measured picture, in pixels...
_PROBE_SHORT = 32  # ...unless the short side would get fewer (a 2048x128 banner)
MIN_DEPTH, MAX_DEPTH = 0.22, 0.48  # of the sign area's height (top, bottom) or width (sides)
_CALM = 0.6  # a row or column is calm below this share of the area's mean detail
_FLOOR = 2.0  # ...or below this absolute edge strength (0-255): flat pictures are calm throughout
_BUSY = 1.5  # a probe pixel this many times the mean detail is something a sign must not cover


def _detail(picture: Image.Image, box: Box) -> tuple[list[list[float]], float, float]:
    """Edge strength per probe pixel inside ``box``, and the probe's scale in x and y."""
    W, H = picture.size
    scale = max(_PROBE / max(W, H), min(1.0, _PROBE_SHORT / min(W, H)))
    size = (max(8, round(W * scale)), max(8, round(H * scale)))
    probe = picture.convert("L").resize(size, Image.Resampling.BILINEAR).filter(ImageFilter.FIND_EDGES)
    # Spread: a lone line (a border) weakens, a block of strokes (words, a sign) stays strong.
    probe = probe.filter(ImageFilter.BoxBlur(1))
    sx, sy = size[0] / W, size[1] / H
    x0, y0 = max(1, int(box[0] * sx)), max(1, int(box[1] * sy))
    x1, y1 = min(size[0] - 1, max(x0 + 1, int(box[2] * sx))), min(size[1] - 1, max(y0 + 1, int(box[3] * sy)))
    pixels = probe.load()
    grid = [[float(pixels[x, y]) for x in range(x0, x1)] for y in range(y0, y1)]
    return grid, sx, sy


def _calm_run(profile: list[float], limit: float) -> int:
    run = 0
    for value in profile:
        if value > limit:
            break
        run += 1
    return run


def calm_box(picture: Image.Image, box: Box) -> Box:
    """The band of ``box`` (in ``picture``'s pixels) where new signs cover least."""
    grid, _, _ = _detail(picture, box)
    columns = [list(c) for c in zip(*grid, strict=True)]
    rows = [sum(r) / len(r) for r in grid]
    cols = [sum(c) / len(c) for c in columns]
    mean = sum(rows) / len(rows)
    limit = max(_FLOOR, mean * _CALM)
    busy = max(_FLOOR * 4, mean * _BUSY)
    x0, y0, x1, y1 = box
    bw, bh = x1 - x0, y1 - y0
    candidates = []
    for side, lines, profile, extent in (
        ("top", grid, rows, bh),
        ("bottom", grid[::-1], rows[::-1], bh),
        ("left", columns, cols, bw),
        ("right", columns[::-1], cols[::-1], bw),
    ):
        # Two probe rows short of the first busy one: the probe is coarse and the blur spreads.
        share = max(0, _calm_run(profile, limit) - 2) / len(profile)
        depth = min(MAX_DEPTH, max(MIN_DEPTH, share))
        cells = [v for line in lines[: max(1, round(depth * len(lines)))] for v in line]
        # Covering a little strong detail (a sign, a word) is worse than a lot of texture.
        hits = sum(v > busy for v in cells) / len(cells)
        span = round(extent * depth)
        band = {
            "top": (x0, y0, x1, y0 + span),
            "bottom": (x0, y1 - span, x1, y1),
            "left": (x0, y0, x0 + span, y1),
            "right": (x1 - span, y0, x1, y1),
        }[side]
        area = (band[2] - band[0]) * (band[3] - band[1])
        # Fewest busy cells, then least detail, then the larger band, then a fixed side order.
        candidates.append((round(hits, 2), round(sum(cells) / len(cells), 1), -area, len(candidates), band))
    return min(candidates)[-1]
