"""Pictures that lie about their size, bombs, and many copies, against a real mock process
whose memory is watched (and killed past a few GB, so a regression fails the test
instead of the machine).

Before: an 82-byte GIF declaring 9999x4000 took +130-360 MB per request, 8 at once
peaked at 3.65 GB (the decodes ran outside the two-renders-at-a-time limit); a 1 KB
JPEG claiming 9999x3999 and a 140 KB PNG that decompresses to 6000x6000 did the same;
50 copies of one reference were decoded 50 times. Now every decode takes one of the
two picture slots, the header is checked against 16.8 megapixels before decoding,
a task carries at most 16 references, and a picture is decoded once.
"""

from __future__ import annotations

import io
import json
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from PIL import Image

from mock_api.testing import AUTH, Server, spawn_mock, task
from tests.support.hostile import (
    RssWatch,
    animated_gif,
    data_uri,
    gif_header,
    jpeg_header,
    png,
    png_bomb,
    png_with_chunk,
    webp_header,
)

LIARS: dict[str, Callable[[], tuple[bytes, str]]] = {
    "gif-82-bytes-9999x4000": lambda: (gif_header(9999, 4000), "image/gif"),
    "jpeg-1kb-9999x3999": lambda: (jpeg_header(9999, 3999), "image/jpeg"),
    "png-bomb-6000x6000": lambda: (png_bomb(6000), "image/png"),
    "webp-16383x16383": lambda: (webp_header(16383, 16383), "image/webp"),
    "png-header-60000x60000": lambda: (png(60000, 60000), "image/png"),
}


@pytest.fixture(scope="module")
def mock() -> Iterator[Server]:
    with spawn_mock("--speed", "0") as server:
        yield server


def post(server: Server, tasks: list[dict], timeout: float = 120) -> httpx.Response:
    return httpx.post(server.url + "/v1", json=tasks, headers=AUTH, timeout=timeout)


def with_refs(*refs: str, **fields) -> dict:
    return task(inputs={"referenceImages": list(refs)}, **fields)


def upload(image: str) -> dict:
    return {"taskType": "imageUpload", "taskUUID": task()["taskUUID"], "image": image}


def jpeg(width: int, height: int, seed: int = 0) -> bytes:
    """A flat picture (small as a file, ``width * height`` pixels when decoded)."""
    img = Image.new("RGB", (width, height), (seed * 37 % 256, 90, 160))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def the_error(answer: httpx.Response) -> dict:
    assert answer.status_code == 400, answer.text[:500]
    (error,) = answer.json()["errors"]
    return error


@pytest.mark.parametrize("name", list(LIARS))
def test_a_picture_claiming_too_many_pixels_is_refused_from_its_header(mock: Server, name: str) -> None:
    data, mime = LIARS[name]()
    with RssWatch(mock.proc.pid) as watch:
        as_reference = the_error(post(mock, [with_refs(data_uri(data, mime))]))
        as_upload = the_error(post(mock, [upload(data_uri(data, mime))]))
    assert as_reference["code"] == "invalidReferenceImages"
    assert "too large" in as_reference["message"] and "megapixels" in as_reference["message"]
    assert as_upload["code"] == "invalidImage" and "too large" in as_upload["message"]
    assert watch.growth_mb < 40, str(watch)


def test_eight_liars_at_once_stay_small(mock: Server) -> None:
    refs = [data_uri(*LIARS[name]()) for name in LIARS]
    with RssWatch(mock.proc.pid) as watch, ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda i: post(mock, [with_refs(refs[i % len(refs)])]), range(8)))
    assert {a.status_code for a in answers} == {400}
    assert watch.growth_mb < 60, str(watch)


def test_eight_real_large_decodes_at_once_share_the_two_picture_slots() -> None:
    # Valid 4096x4096 PNGs (16.8 MP, the limit), about 50 KB each: 50 MB each decoded.
    # Eight at once were decoded eight at once (+863 MB here); now two at a time (+146 MB).
    # A fresh mock: memory freed by earlier tests would hide growth.
    refs = [data_uri(png_bomb(4096 - n), "image/png") for n in range(8)]
    with spawn_mock("--speed", "0") as fresh:
        with RssWatch(fresh.proc.pid) as watch, ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda ref: post(fresh, [with_refs(ref, width=256, height=256)]), refs))
        assert [a.status_code for a in answers] == [200] * 8, answers[0].text[:300]
        assert not watch.killed and watch.growth_mb < 350, str(watch)
        assert httpx.get(fresh.url + "/health", timeout=10).status_code == 200


def test_fifty_references_are_refused_by_count(mock: Server) -> None:
    ref = data_uri(jpeg(64, 64), "image/jpeg")
    error = the_error(post(mock, [with_refs(*[ref] * 50)]))
    assert error["code"] == "invalidReferenceImages" and "at most 16 reference images" in error["message"]


def test_copies_of_one_picture_are_decoded_once(mock: Server) -> None:
    # 16 copies of a 9 MP picture: 144 MP if each were decoded, over the 50 MP a task's
    # inline references may hold together. Decoded once, it is 9 MP and accepted.
    ref = data_uri(jpeg(3000, 3000), "image/jpeg")
    answer = post(mock, [with_refs(*[ref] * 16)])
    assert answer.status_code == 200, answer.text[:300]
    # Six different ones do not fit.
    many = [data_uri(jpeg(3000, 3000, seed=n), "image/jpeg") for n in range(1, 7)]  # none sent before
    error = the_error(post(mock, [with_refs(*many)]))
    assert "megapixels together" in error["message"] and "inputs.referenceImages'" in error["message"]


def test_pixels_together_are_refused_before_any_is_decoded(mock: Server) -> None:
    refs = [data_uri(png_bomb(4000 - n), "image/png") for n in range(4)]  # 4 x 16 MP, never sent before
    with RssWatch(mock.proc.pid) as watch:
        error = the_error(post(mock, [with_refs(*refs)]))
    assert "megapixels together" in error["message"]
    assert watch.growth_mb < 60, str(watch)


BOMB = zlib.compress(b"\0" * (200 * 1024 * 1024), 9)  # 200 MB of zeros in ~200 KB
ODD_PICTURES: dict[str, Callable[[], tuple[bytes, str]]] = {
    "png-iccp-bomb": lambda: (png_with_chunk(b"iCCP", b"profile\x00\x00" + BOMB), "image/png"),
    "png-ztxt-bomb": lambda: (png_with_chunk(b"zTXt", b"comment\x00\x00" + BOMB), "image/png"),
    "png-8mb-text-chunk": lambda: (
        png_with_chunk(b"tEXt", b"comment\x00" + b"x" * (8 * 1024 * 1024)),
        "image/png",
    ),
    "gif-5000-frames": lambda: (animated_gif(5000), "image/gif"),
    "truncated-png-bomb": lambda: (png_bomb(4000)[:30_000], "image/png"),
}


@pytest.mark.parametrize("name", list(ODD_PICTURES))
def test_odd_pictures_get_a_clear_answer_in_bounded_memory(mock: Server, name: str) -> None:
    data, mime = ODD_PICTURES[name]()
    with RssWatch(mock.proc.pid) as watch:
        answers = [post(mock, [with_refs(data_uri(data, mime))]), post(mock, [upload(data_uri(data, mime))])]
    for answer in answers:
        assert answer.status_code in (200, 400), answer.text[:300]
        if answer.status_code == 400:
            (error,) = answer.json()["errors"]
            assert error["code"] in ("invalidReferenceImages", "invalidImage") and len(error["message"]) < 400
    assert watch.growth_mb < 150, str(watch)
    assert "Traceback" not in mock.log_text()


def test_a_data_uri_with_line_breaks_or_only_whitespace_is_refused_clearly(mock: Server) -> None:
    uri = data_uri(jpeg(64, 64), "image/jpeg")
    head, body = uri.split(",", 1)
    wrapped = head + "," + "\n".join(body[i : i + 76] for i in range(0, len(body), 76))
    for ref in (wrapped, "data:image/png;base64," + " " * 1_000_000):
        error = the_error(post(mock, [with_refs(ref)]))
        assert error["code"] == "invalidReferenceImages" and "base64" in error["message"]
        assert len(json.dumps(error)) < 600  # the value is never echoed back
