"""Valid requests at the far edge of what the schema allows.

Before: ``ttl`` of 10**309 (no documented maximum) overflowed the store's float clock (a
500 with OverflowError); a 300x1 reference fitted into 128x128 had a side of 0 pixels, so
every fetch of the picture answered 500; a reference URL with a 400 KB "host" name was
wrapped, measured and drawn line by line on the event loop (15 s, /health unanswered).
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator

import httpx
import pytest
from PIL import Image

from mock_api.engine.references import MAX_SHOWN_HOST, placeholder_reference
from mock_api.testing import AUTH, Server, spawn_mock, task
from tests.support.hostile import data_uri


@pytest.fixture(scope="module")
def mock() -> Iterator[Server]:
    with spawn_mock("--speed", "0") as server:
        yield server


def generate(mock: Server, **fields) -> dict:
    answer = httpx.post(mock.url + "/v1", json=[task(**fields)], headers=AUTH, timeout=60)
    assert answer.status_code == 200, answer.text
    (item,) = answer.json()["data"]
    return item


def picture(mock: Server, item: dict) -> Image.Image:
    if "imageURL" in item:
        answer = httpx.get(item["imageURL"], timeout=30)
        assert answer.status_code == 200, answer.text
        return Image.open(io.BytesIO(answer.content))
    return Image.open(io.BytesIO(base64.b64decode(item["imageBase64Data"])))


def test_a_ttl_past_any_clock_is_kept_as_long_as_the_store_keeps_anything(mock: Server) -> None:
    item = generate(mock, ttl=10**309)
    assert picture(mock, item).size == (256, 256)


@pytest.mark.parametrize("output_type", ["URL", "base64Data"])
@pytest.mark.parametrize("side", [(300, 1), (1, 300)])
def test_a_reference_one_pixel_thin_is_fitted_not_refused_with_a_500(
    mock: Server, output_type: str, side: tuple[int, int]
) -> None:
    buf = io.BytesIO()
    Image.new("RGB", side, (200, 40, 40)).save(buf, "PNG")
    reference = data_uri(buf.getvalue(), "image/png")
    item = generate(
        mock, width=128, height=128, outputType=output_type, inputs={"referenceImages": [reference]}
    )
    assert picture(mock, item).size == (128, 128)


def test_a_reference_host_longer_than_dns_allows_is_shown_cut(mock: Server) -> None:
    huge = ("a" * 29 + ".") * 13_333 + "x.example"  # 400 KB
    url = f"http://{huge}/p.png"
    cut = huge[: MAX_SHOWN_HOST - 3] + "..."
    # The card names as much of the host as a real one can be long, and no more.
    assert placeholder_reference(url) == placeholder_reference(f"http://{cut}/p.png")
    item = generate(mock, inputs={"referenceImages": [url]})
    assert picture(mock, item).size == (256, 256)
