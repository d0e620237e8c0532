"""Image helpers: decoding and checking bytes before anyone shows them."""

from __future__ import annotations

import base64
import io
import struct
import zlib

import pytest
from PIL import Image

from demo.client import ImageError, images
from tests.support.fakes import tiny_image


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def png_claiming(width: int, height: int) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b""))
        + _chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("fmt", ["JPG", "PNG", "WEBP"])
def test_check_image_accepts_the_stated_format(fmt):
    data = tiny_image(fmt)
    assert images.check_image(data, fmt) == images.limits.FORMAT_MIME[fmt]
    other = "PNG" if fmt != "PNG" else "JPG"
    with pytest.raises(ImageError, match=f"Expected a {other} image"):
        images.check_image(data, other)


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "invalidImage"),
        (b"GIF89a" + b"\0" * 20, "invalidImage"),  # not an output format
        (tiny_image("JPG")[:30], "invalidImage"),  # truncated
        (png_claiming(100_000, 100_000), "imageTooLarge"),  # decompression bomb
    ],
)
def test_check_image_rejects(data, code):
    with pytest.raises(ImageError) as info:
        images.check_image(data)
    assert info.value.code == code


def test_decode_base64_and_data_uri():
    data = tiny_image("PNG")
    b64 = base64.b64encode(data).decode()
    assert images.decode_base64(b64, max_bytes=10_000) == data
    assert images.decode_data_uri(f"data:image/png;base64,{b64}", max_bytes=10_000) == ("image/png", data)
    assert images.decoded_size(b64) == len(data)
    with pytest.raises(ImageError, match="limit"):
        images.decode_base64(b64, max_bytes=10)
    with pytest.raises(ImageError, match="base64"):
        images.decode_base64("@@@@", max_bytes=10_000)
    with pytest.raises(ImageError, match="data URI"):
        images.decode_data_uri("data:text/plain,hello", max_bytes=10_000)


@pytest.mark.parametrize(
    ("mode", "fmt", "mime"), [("RGBA", None, "image/png"), ("RGB", "JPEG", "image/jpeg")]
)
def test_image_to_bytes(mode, fmt, mime):
    img = Image.new(mode, (4, 4))
    if fmt:
        buf = io.BytesIO()
        img.save(buf, fmt)
        img = Image.open(io.BytesIO(buf.getvalue()))
    data, got = images.image_to_bytes(img)
    assert got == mime and images.check_image(data, allowed=images.INPUT_MIMES) == mime


def test_read_image_file_limits(tmp_path):
    path = tmp_path / "big.png"
    path.write_bytes(tiny_image("PNG"))
    with pytest.raises(ImageError, match="limit"):
        images.read_image_file(path, max_bytes=10)
    with pytest.raises(ImageError, match="Cannot read"):
        images.read_image_file(tmp_path / "missing.png", max_bytes=10)
