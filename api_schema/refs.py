"""Classify an image reference string: UUID, URL, data URI or raw base64."""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from enum import Enum

_DATA_URI = re.compile(r"^data:(?P<mime>image/[a-zA-Z0-9.+-]+);base64,(?P<data>.*)$", re.S)

# Leading bytes of the image formats Runware accepts as input.
_MAGIC = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
)


class RefKind(str, Enum):
    UUID = "uuid"
    URL = "url"
    DATA_URI = "dataURI"
    BASE64 = "base64"


def sniff_mime(head: bytes) -> str | None:
    """The MIME type of image bytes from their signature, or None."""
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    for magic, mime in _MAGIC:
        if head.startswith(magic):
            return mime
    return None


def _b64_head(data: str) -> bytes:
    """Decode just enough of a base64 string to read an image signature."""
    chunk = data[:64]
    chunk = chunk[: len(chunk) - len(chunk) % 4]
    return base64.b64decode(chunk, validate=True)


_B64_BODY = re.compile(r"^[A-Za-z0-9+/]*={0,2}$")


def _check_base64(data: str) -> bytes:
    if not data or len(data) % 4 or not _B64_BODY.match(data):
        raise ValueError("is not valid base64")
    try:
        head = _b64_head(data)
    except (binascii.Error, ValueError):
        raise ValueError("is not valid base64") from None
    return head


def classify_reference(value: str) -> RefKind:
    """Say which of the four documented forms a reference image string has.

    Raises ValueError with a short reason when it is none of them.
    """
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be a non-empty string")
    text = value.strip()
    try:
        uuid.UUID(text)
    except ValueError:
        pass
    else:
        if re.fullmatch(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", text):
            return RefKind.UUID
    lowered = text.lower()
    if lowered.startswith(("http://", "https://")):
        if not re.match(r"^https?://[^\s/?#]+[^\s]*$", text, re.I):
            raise ValueError("is not a valid http(s) URL")
        return RefKind.URL
    if lowered.startswith("data:"):
        m = _DATA_URI.match(text)
        if not m:
            raise ValueError("is a data URI but not of the form data:image/<type>;base64,<data>")
        head = _check_base64(m.group("data"))
        if sniff_mime(head) is None:
            raise ValueError("is a data URI whose bytes are not a JPEG, PNG, WEBP, GIF or BMP image")
        return RefKind.DATA_URI
    if "://" in text:
        raise ValueError("uses an unsupported URL scheme (only http and https)")
    head = _check_base64(text)
    if sniff_mime(head) is None:
        raise ValueError(
            "is not a UUID, an http(s) URL, a data URI or base64 of a JPEG, PNG, WEBP, GIF or BMP image"
        )
    return RefKind.BASE64
