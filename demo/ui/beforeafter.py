"""Before / after of an edit: the base reference next to the result, in one slider.

The base is the first reference image (the one an edit starts from): an upload, a
result of this session named by its imageUUID, inline image data, or a URL the
backend has a stand-in for (the mock's stand-in or grey card; never fetched here).
It is drawn whole at the result's size (letterboxed, as the mock draws a reference
into its preview), so the slider lines the two up.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps

from api_schema import RefKind, classify_reference

from ..client import images
from .form import split_references, uploaded_files

ROOT = Path(tempfile.gettempdir()) / "glm-image-demo" / "before"
MAX_FILES = 256  # the folder keeps the newest; a history entry whose file went shows no slider
MAX_REFERENCE_BYTES = 20 * 1024 * 1024
MAX_PIXELS = 40_000_000


LETTERBOX = (40, 44, 52)


def _bytes_of(
    reference: str, lookup: Callable[[str], str | None], stand_in: Callable[[str], bytes | None]
) -> bytes | None:
    try:
        kind = classify_reference(reference)
    except ValueError:
        return None
    if kind is RefKind.UUID:
        path = lookup(reference.strip())
        return Path(path).read_bytes() if path and Path(path).is_file() else None
    if kind is RefKind.URL:
        return stand_in(reference)
    try:
        if kind is RefKind.DATA_URI:
            return images.decode_data_uri(reference.strip(), max_bytes=MAX_REFERENCE_BYTES)[1]
        return images.decode_base64(reference.strip(), max_bytes=MAX_REFERENCE_BYTES)
    except Exception:
        return None


def base_reference(
    values: dict[str, Any], lookup: Callable[[str], str | None], stand_in: Callable[[str], bytes | None]
) -> bytes | None:
    """The bytes of the run's first reference image, or None (no reference, or unknown)."""
    files = uploaded_files(values)
    if files:
        try:
            return images.read_image_file(Path(files[0]), max_bytes=MAX_REFERENCE_BYTES)
        except Exception:
            return None
    typed = split_references(values.get("reference_urls"))
    return _bytes_of(typed[0], lookup, stand_in) if typed else None


def before_file(data: bytes, result_path: str) -> str | None:
    """A JPEG of the reference fitted to the result's size, or None if either is unusable."""
    try:
        with Image.open(result_path) as result:
            size = result.size
        with Image.open(io.BytesIO(data)) as ref:
            if ref.width * ref.height > MAX_PIXELS:
                return None
            ref.load()
            upright = (ImageOps.exif_transpose(ref) or ref).convert("RGB")
            fitted = ImageOps.pad(upright, size, Image.Resampling.LANCZOS, color=LETTERBOX)
    except Exception:
        return None
    ROOT.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha256(data + f"{size}".encode()).hexdigest()[:24]
    path = ROOT / f"{key}.jpg"
    if not path.exists():
        fitted.save(path, "JPEG", quality=90)
        _prune()
    return str(path)


def _prune() -> None:
    files = sorted(ROOT.glob("*.jpg"), key=lambda p: p.stat().st_mtime)
    for old in files[:-MAX_FILES]:
        old.unlink(missing_ok=True)
