"""Inline results (base64Data, dataURI) and the memory they hold.

Before: every inline picture was kept as base64 text in the job store for an hour,
outside the 64 MB image cache (12 requests of 4 x 2048 px PNG took RSS from 431 MB to
1.3 GB), a sync answer was built whole in memory three times over (pictures, text,
bytes), and a stored request kept its inline reference pictures for getTaskDetails.
Now an inline field is kept as what it is made from and rendered when sent, a REST
answer streams its pictures one at a time, and a kept request keeps short strings only.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator

import httpx
import pytest
from PIL import Image

from mock_api.testing import AUTH, Server, spawn_mock, task
from tests.support.hostile import RssWatch, data_uri, noisy_png

MB = 1024 * 1024


@pytest.fixture(scope="module")
def mock() -> Iterator[Server]:
    with spawn_mock("--speed", "0") as server:
        yield server


@pytest.fixture(scope="module")
def noisy_reference() -> str:
    return data_uri(noisy_png(1024, 1024), "image/png")  # makes every preview a big PNG


def heavy(reference: str, **fields) -> dict:
    base = {
        "width": 2048,
        "height": 2048,
        "outputType": "base64Data",
        "outputFormat": "PNG",
        "numberResults": 4,
        "inputs": {"referenceImages": [reference]},
    }
    return task(**{**base, **fields})


def post(server: Server, tasks: list[dict]) -> httpx.Response:
    return httpx.post(server.url + "/v1", json=tasks, headers=AUTH, timeout=300)


def pictures(items: list[dict]) -> list[Image.Image]:
    out = []
    for item in items:
        text = item.get("imageBase64Data") or item["imageDataURI"].split(",", 1)[1]
        out.append(Image.open(io.BytesIO(base64.b64decode(text))))
    return out


def test_twelve_async_inline_answers_are_not_kept_as_text(mock: Server, noisy_reference: str) -> None:
    with RssWatch(mock.proc.pid) as watch:
        sent = [heavy(noisy_reference, deliveryMethod="async", seed=n) for n in range(12)]
        for one in sent:
            assert post(mock, [one]).status_code == 200
        settled = watch.sample()
        first = post(mock, [{"taskType": "getResponse", "taskUUID": sent[0]["taskUUID"]}])
        again = post(mock, [{"taskType": "getResponse", "taskUUID": sent[0]["taskUUID"]}])
    assert not watch.killed
    # 48 pictures of several MB each were made; the store keeps only what they are made from.
    assert (settled - watch.start) / MB < 250, str(watch)
    assert watch.growth_mb < 350, str(watch)
    items = first.json()["data"]
    assert [i["status"] for i in items] == ["success"] * 4
    assert [p.size for p in pictures(items)] == [(2048, 2048)] * 4
    assert again.json() == first.json()  # rendered again, byte for byte


def test_a_sync_answer_of_many_big_pictures_streams_in_bounded_memory(
    mock: Server, noisy_reference: str
) -> None:
    with RssWatch(mock.proc.pid) as watch:
        answer = post(mock, [heavy(noisy_reference, numberResults=8, outputType="dataURI", seed=99)])
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert len(answer.content) > 30 * MB  # a big answer: noise does not compress
    assert [p.size for p in pictures(body["data"])] == [(2048, 2048)] * 8
    assert all(i["imageDataURI"].startswith("data:image/png;base64,") for i in body["data"])
    assert not watch.killed and watch.growth_mb < 250, str(watch)


def test_inline_and_url_answers_carry_the_same_picture(mock: Server) -> None:
    sent = task(outputType="base64Data", outputFormat="PNG", seed=5)
    inline = post(mock, [sent]).json()["data"][0]
    via_url = post(mock, [{**sent, "taskUUID": task()["taskUUID"], "outputType": "URL"}]).json()["data"][0]
    picture = httpx.get(via_url["imageURL"], timeout=30).content
    assert base64.b64decode(inline["imageBase64Data"]) == picture


def test_a_kept_request_keeps_no_inline_picture(mock: Server) -> None:
    reference = data_uri(noisy_png(1200, 1200, seed=3), "image/png")  # about 5.7 MB of text
    sent = task(inputs={"referenceImages": [reference]})
    assert post(mock, [sent]).status_code == 200
    details = post(mock, [{"taskType": "getTaskDetails", "taskUUID": sent["taskUUID"]}])
    assert len(details.content) < 64 * 1024
    (kept,) = details.json()["data"][0]["request"][0]["inputs"]["referenceImages"]
    assert kept.startswith(reference[:64]) and "not kept by the mock" in kept
    assert details.json()["data"][0]["request"][0]["positivePrompt"] == sent["positivePrompt"]


def test_a_streamed_answer_is_one_valid_envelope_with_errors_too(mock: Server) -> None:
    batch = [task(outputType="base64Data", seed=7), task(width=5), task(outputType="dataURI", seed=8)]
    answer = post(mock, batch)
    body = json.loads(answer.content)
    assert (
        answer.status_code == 200 and len(body["data"]) == 2 and body["errors"][0]["code"] == "invalidWidth"
    )
