"""Reference images for the mock: safe decoding of caller bytes and the local stand-ins.

A reference is refused before decoding when its header declares too many pixels, then
decoded once to prove it whole, and flattened to RGB with EXIF orientation applied
when a preview is drawn from it. The documented example URLs are never
fetched: each has a stand-in JPEG in mock_api/images/assets.
"""

from __future__ import annotations

import io
import warnings
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageFilter, ImageOps

from api_schema.examples import DOCUMENTED_REFERENCE_URLS

from ..config import DEFAULTS, MAX_PICTURE_SIDE

ASSETS_DIR = Path(__file__).with_name("assets")
# The stand-in picture for each documented reference URL, in the order of the URLs.
STANDIN_FILES = ("standin-herbarium-tabletop.jpg", "standin-transit-hall.jpg")

# No picture wider or taller than this is decoded, whatever the pixel limit. Pictures
# the mock is given are refused beyond ``MockConfig.max_reference_pixels`` (checked from
# the header, before decoding); what it renders from was checked when it came in.
MAX_REFERENCE_SIDE = MAX_PICTURE_SIDE
MAX_PIXELS_ANY = MAX_REFERENCE_SIDE * MAX_REFERENCE_SIDE
_REFERENCE_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP")


class PictureTooLarge(ValueError):
    """A picture whose header declares more pixels than allowed (nothing was decoded)."""


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1_000_000:.3g}"


def too_large_message(max_pixels: int, size: str = "") -> str:
    return (
        f"picture is too large{size}: at most {MAX_REFERENCE_SIDE} px a side "
        f"and {_megapixels(max_pixels)} megapixels (the mock's limit)"
    )


def webp_size(data: bytes) -> tuple[int, int] | None:
    """The canvas size a WEBP declares, read from its first chunk; None when not a WEBP.

    Pillow hands a WEBP to libwebp's animation decoder as it opens it, which sets up
    the whole canvas (up to 16383 x 16383 x 4 bytes) before anyone can look at the size:
    so the mock reads the size itself first.
    """
    if len(data) < 30 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return None
    kind = data[12:16]
    if kind == b"VP8X":  # extended: 24-bit canvas width and height, minus one
        return 1 + int.from_bytes(data[24:27], "little"), 1 + int.from_bytes(data[27:30], "little")
    if kind == b"VP8L" and data[20] == 0x2F:  # lossless: 14-bit width and height, minus one
        bits = int.from_bytes(data[21:25], "little")
        return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    if kind == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":  # lossy: 14-bit width and height
        return int.from_bytes(data[26:28], "little") & 0x3FFF, int.from_bytes(data[28:30], "little") & 0x3FFF
    raise ValueError("reference image header is unreadable (not a WEBP the mock knows)")


def _check_size(w: int, h: int, max_pixels: int) -> None:
    if w < 1 or h < 1:
        raise ValueError("reference image has no pixels")
    if w > MAX_REFERENCE_SIDE or h > MAX_REFERENCE_SIDE or w * h > max_pixels:
        raise PictureTooLarge(too_large_message(max_pixels, f" ({w}x{h})"))


def open_checked(data: bytes, max_pixels: int = DEFAULTS.max_reference_pixels) -> Image.Image:
    """Open image bytes lazily after checking the size their header declares; ValueError otherwise.

    Nothing is decoded: an 82-byte GIF or a 1 KB JPEG claiming 9999x4000 costs nothing.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ValueError("reference image must be bytes")
    if not data:
        raise ValueError("reference image is empty")
    declared = webp_size(bytes(data[:30]))
    if declared is not None:
        _check_size(*declared, max_pixels)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(bytes(data)), formats=_REFERENCE_FORMATS)
    except Image.UnidentifiedImageError:
        raise ValueError("reference is not a JPEG, PNG, WEBP, GIF or BMP image") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PictureTooLarge(too_large_message(max_pixels)) from None
    except Exception as exc:
        raise ValueError(f"reference image header is unreadable ({type(exc).__name__})") from None
    _check_size(*img.size, max_pixels)
    return img


def check_picture(data: bytes, max_pixels: int = DEFAULTS.max_reference_pixels) -> tuple[int, int]:
    """Decode the picture once to prove it whole (a truncated one fails here, not in a render);
    returns its size. The pixels are thrown away: JPEG decodes at 1/8 scale, which still
    reads every block, and nothing is converted."""
    img = open_checked(data, max_pixels)
    size = img.size
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            if img.format == "JPEG":
                img.draft(img.mode, (max(1, size[0] // 8), max(1, size[1] // 8)))
            img.load()
    except Exception as exc:
        raise ValueError(f"reference image is truncated or corrupt ({type(exc).__name__})") from None
    finally:
        img.close()
    return size


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


def load_reference(data: bytes, max_pixels: int = DEFAULTS.max_reference_pixels) -> Image.Image:
    """Decode reference image bytes to RGB; ValueError with a short reason when unusable."""
    return _to_rgb(open_checked(data, max_pixels))


# Two, like the renders that may run at once: more would keep pictures out of every budget.
@lru_cache(maxsize=2)
def reference_fit(data: bytes, width: int, height: int) -> Image.Image:
    """The reference whole at width x height: scaled to fit, over a blurred cover of itself.

    An edit shows its whole base (a cropped one would hide what was there, and cut the
    text of a stand-in card); where the aspect ratios differ, a blurred copy fills the rest.
    """
    img = open_checked(data, MAX_PIXELS_ANY)  # checked against the config's limit when it came in
    if img.format == "JPEG":
        img.draft("RGB", (width, height))  # decode at a reduced scale when it still covers
    rgb = _to_rgb(img)
    size = (width, height)
    # ImageOps.contain, but never 0 pixels on a side: a 300x1 reference fitted into 128x128
    # made it raise (a 500 on every fetch of the picture).
    scale = min(width / rgb.width, height / rgb.height)
    fitted = (max(1, min(width, round(rgb.width * scale))), max(1, min(height, round(rgb.height * scale))))
    front = rgb if rgb.size == fitted else rgb.resize(fitted, Image.Resampling.BILINEAR)
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
