"""Image bytes in and out: decode base64 / data URIs, check bytes really are an image.

Pure functions (no network): the client downloads, these check. Every failure is an
``ImageError`` with a message a user can act on.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from api_schema import limits, sniff_mime

from .errors import ImageError

# Formats Runware accepts as input images; generated images are JPG/PNG/WEBP only.
INPUT_MIMES = ("image/jpeg", "image/png", "image/webp", "image/gif", "image/bmp")
MIME_FORMAT = {mime: fmt for fmt, mime in limits.FORMAT_MIME.items()}

_DATA_URI = re.compile(r"^data:(?P<mime>[\w.+/-]+);base64,(?P<data>.*)$", re.S)
_PIL_FORMATS = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/webp": "WEBP",
    "image/gif": "GIF",
    "image/bmp": "BMP",
}


def decoded_size(b64: str) -> int:
    """Bytes a base64 string decodes to, without decoding it."""
    text = b64.strip()
    return len(text) * 3 // 4 - text[-2:].count("=")


def decode_base64(data: str, *, max_bytes: int, what: str = "image") -> bytes:
    if decoded_size(data) > max_bytes:
        raise ImageError(f"The {what} is larger than the {max_bytes}-byte limit.", code="imageTooLarge")
    try:
        return base64.b64decode("".join(data.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ImageError(f"The {what} is not valid base64.") from None


def decode_data_uri(uri: str, *, max_bytes: int) -> tuple[str, bytes]:
    """(MIME type, bytes) of a ``data:<mime>;base64,<data>`` URI."""
    m = _DATA_URI.match(uri.strip())
    if not m:
        raise ImageError("The image data URI is not of the form data:image/<type>;base64,<data>.")
    return m.group("mime").lower(), decode_base64(m.group("data"), max_bytes=max_bytes, what="data URI")


def check_image(data: bytes, expected_format: str | None = None, *, allowed: tuple[str, ...] = ()) -> str:
    """Check ``data`` is a whole image; return its MIME type.

    ``expected_format`` ("JPG" | "PNG" | "WEBP") pins the format; else ``allowed``
    MIME types (default: the three output formats) bound it.
    """
    if not data:
        raise ImageError("The image is empty (0 bytes).")
    mime = sniff_mime(data[:32])
    if expected_format is not None:
        want = limits.FORMAT_MIME.get(expected_format.upper())
        if mime != want:
            got = MIME_FORMAT.get(mime or "", mime or "not an image")
            raise ImageError(f"Expected a {expected_format} image but the bytes are {got}.")
    elif mime not in (allowed or tuple(MIME_FORMAT)):
        raise ImageError(f"Unsupported image type: {mime or 'the bytes are not an image'}.")
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.format != _PIL_FORMATS.get(mime or ""):
                raise ImageError(f"The image header says {mime} but Pillow reads {img.format}.")
            img.verify()
    except ImageError:
        raise
    except Image.DecompressionBombError:
        raise ImageError(
            "The image's pixel dimensions are implausibly large.", code="imageTooLarge"
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageError(
            f"The {MIME_FORMAT.get(mime or '', mime)} image is corrupt or truncated ({exc})."
        ) from None
    return mime  # type: ignore[return-value]


def format_of(mime: str) -> str:
    return MIME_FORMAT[mime]


def data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def image_to_bytes(img: Image.Image) -> tuple[bytes, str]:
    """Encode a PIL image for upload: keep JPEG/WEBP as they are, else lossless PNG."""
    fmt = img.format if img.format in ("JPEG", "WEBP") else "PNG"
    if fmt == "JPEG" and img.mode not in ("RGB", "L"):
        fmt = "PNG"
    buf = io.BytesIO()
    img.save(buf, fmt, **({"quality": 95} if fmt != "PNG" else {}))
    return buf.getvalue(), f"image/{fmt.lower()}"


def read_image_file(path: Path, *, max_bytes: int) -> bytes:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise ImageError(f"{path.name} is larger than the {max_bytes}-byte limit.", code="imageTooLarge")
        return path.read_bytes()
    except OSError as exc:
        raise ImageError(f"Cannot read the image file {path.name}: {exc.strerror or exc}.") from None
