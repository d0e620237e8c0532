"""Reference images for the mock: safe decoding of caller bytes and the local stand-ins.

A reference is refused before decoding when its header declares too many pixels, then
flattened to RGB with EXIF orientation applied. The documented example URLs are never
fetched: each has a stand-in JPEG in mock_api/images/assets.
"""

from __future__ import annotations

import io
import warnings
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageFilter, ImageOps

from api_schema.examples import DOCUMENTED_REFERENCE_URLS

ASSETS_DIR = Path(__file__).with_name("assets")
# The stand-in picture for each documented reference URL, in the order of the URLs.
STANDIN_FILES = ("standin-herbarium-tabletop.jpg", "standin-transit-hall.jpg")

# A reference image is refused before decoding when its header declares more than this.
MAX_REFERENCE_PIXELS = 40_000_000
MAX_REFERENCE_SIDE = 10_000
_REFERENCE_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP")


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
def reference_fit(data: bytes, width: int, height: int) -> Image.Image:
    """The reference whole at width x height: scaled to fit, over a blurred cover of itself.

    An edit shows its whole base (a cropped one would hide what was there, and cut the
    text of a stand-in card); where the aspect ratios differ, a blurred copy fills the rest.
    """
    img = _open_checked(data)
    if img.format == "JPEG":
        img.draft("RGB", (width, height))  # decode at a reduced scale when it still covers
    rgb = _to_rgb(img)
    size = (width, height)
    front = ImageOps.contain(rgb, size, Image.Resampling.BILINEAR)
    if front.size == size:
        return front
    # A wash of its colours, not a blurred copy: blurred words would read as content.
    scale = 24 / max(width, height)
    small = (max(2, round(width * scale)), max(2, round(height * scale)))
    back = ImageOps.fit(rgb, small, Image.Resampling.BOX).filter(ImageFilter.GaussianBlur(1.5))
    back = back.resize(size, Image.Resampling.BILINEAR)
    back.paste(front, ((width - front.width) // 2, (height - front.height) // 2))
    return back


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
