"""One OCR engine for the whole session: its models load once (about a second)."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageDraw, ImageFont

from demo.textcheck import OcrEngine, TextChecker, shared_engine
from mock_api.images.render import PreviewSpec, render_bytes
from mock_api.images.signs import fallback_font_path


@pytest.fixture(scope="session")
def engine() -> OcrEngine:
    engine = shared_engine()
    engine.load()
    return engine


@pytest.fixture(scope="session")
def checker(engine: OcrEngine) -> TextChecker:
    return TextChecker(engine)


def lettering(lines: list[str], size: tuple[int, int] = (640, 400), fmt: str = "PNG") -> bytes:
    """A plain picture with these lines in large type (Pillow's bundled font)."""
    img = Image.new("RGB", size, (250, 248, 240))
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=64)
    for i, line in enumerate(lines):
        draw.text((40, 50 + 110 * i), line, font=font, fill=(20, 20, 30))
    buf = io.BytesIO()
    img.save(buf, fmt, **({"quality": 92} if fmt == "JPEG" else {}))
    return buf.getvalue()


def preview(prompt: str, width: int = 768, height: int = 512, fmt: str = "JPG") -> bytes:
    """The mock's preview picture of this prompt, as the mock serves it."""
    return render_bytes(PreviewSpec(prompt, width, height, seed=11), fmt, 90)


def has_cjk_font() -> bool:
    return fallback_font_path() is not None
