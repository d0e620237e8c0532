"""Preview rendering for the mock (placeholder; a full renderer replaces this).

Interface the server relies on:
- PreviewSpec: what to draw.
- render_preview(spec) -> PIL.Image (RGB, exactly width x height, deterministic).
- encode_image(img, output_format, quality) -> bytes (JPG/PNG/WEBP, deterministic).
- render_bytes(spec, output_format, quality) -> bytes.
- load_reference(data) -> PIL.Image, ValueError with a clear reason when unusable.
- standin_reference(url) -> bytes | None for the two documented reference URLs.
- quoted_strings(prompt) -> the texts the prompt asks to draw.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass

from PIL import Image

from api_schema.limits import MODEL_ID

_PIL_FORMAT = {"JPG": "JPEG", "PNG": "PNG", "WEBP": "WEBP"}


@dataclass(frozen=True)
class PreviewSpec:
    prompt: str
    width: int
    height: int
    seed: int
    model: str = MODEL_ID
    reference: bytes | None = None
    label: str = "MOCK PREVIEW"


def quoted_strings(prompt: str) -> list[str]:
    return [m.group(2) for m in re.finditer(r"([\"'“])(.+?)([\"'”])", prompt)]


def render_preview(spec: PreviewSpec) -> Image.Image:
    digest = hashlib.sha256(f"{spec.prompt}|{spec.seed}".encode()).digest()
    return Image.new("RGB", (spec.width, spec.height), tuple(digest[:3]))


def encode_image(img: Image.Image, output_format: str, quality: int) -> bytes:
    buf = io.BytesIO()
    img.save(buf, _PIL_FORMAT[output_format], quality=quality)
    return buf.getvalue()


def render_bytes(spec: PreviewSpec, output_format: str, quality: int) -> bytes:
    return encode_image(render_preview(spec), output_format, quality)


def load_reference(data: bytes) -> Image.Image:
    try:
        img = Image.open(io.BytesIO(data))
        img.load()
    except Exception as exc:
        raise ValueError(f"not a readable image ({exc})") from None
    return img.convert("RGB")


def standin_reference(url: str) -> bytes | None:
    return None
