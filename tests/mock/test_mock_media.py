"""Pictures in: imageUpload with a URL, and mediaStorage upload and delete, over REST and WebSocket.

The docs let imageUpload's ``image`` (and mediaStorage's ``media``) be a URL, a data URI or
base64. The mock never fetches a URL: the two documented asset URLs get their stand-ins, any
other URL the labelled placeholder card reference images get. A mediaUUID works wherever an
imageUUID does: as a reference image, and its URL serves the picture, until it is deleted.
"""

from __future__ import annotations

import base64
import io
import uuid
from collections.abc import Iterator

import httpx
import pytest
from PIL import Image

from api_schema import DOCUMENTED_REFERENCE_URLS, ImageUploadResult, MediaStorageResult
from mock_api import MockConfig
from mock_api.engine.references import placeholder_reference
from mock_api.images.references import standin_reference
from mock_api.testing import run_mock_server, task
from tests.support.receiver import run_receiver
from tests.support.wire import TRANSPORTS, call

pytestmark = pytest.mark.parametrize("transport", TRANSPORTS)


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with run_mock_server(MockConfig(random_seed=8, speed=0.0)) as base:
        yield base


def fresh() -> str:
    return str(uuid.uuid4())


def png_data_uri(color: str = "purple") -> str:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), color).save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def media(operation: str, **fields: str) -> dict[str, str]:
    return {"taskType": "mediaStorage", "taskUUID": fresh(), "operation": operation, **fields}


def served(image_url: str) -> bytes:
    response = httpx.get(image_url, timeout=30)
    assert response.status_code == 200, response.text
    return response.content


async def test_image_upload_takes_a_url_and_never_fetches_it(url: str, transport: str) -> None:
    with run_receiver() as receiver:
        elsewhere = receiver.url + "/photos/cat.png"
        documented = await call(
            transport,
            url,
            {"taskType": "imageUpload", "taskUUID": fresh(), "image": DOCUMENTED_REFERENCE_URLS[0]},
        )
        other = await call(
            transport, url, {"taskType": "imageUpload", "taskUUID": fresh(), "image": elsewhere}
        )
        assert receiver.hits == []  # the URL's own server never heard of it
    [stand_in] = [ImageUploadResult.model_validate(i) for i in documented.data]
    [card] = [ImageUploadResult.model_validate(i) for i in other.data]
    assert documented.status in (200, None) and not documented.errors + other.errors
    assert served(stand_in.image_url or "") == standin_reference(DOCUMENTED_REFERENCE_URLS[0])
    assert served(card.image_url or "") == placeholder_reference(elsewhere)
    # An uploaded URL is a reference like any other picture.
    generated = await call(transport, url, task(inputs={"referenceImages": [card.image_uuid]}))
    assert [i["taskType"] for i in generated.data] == ["imageInference"] and not generated.errors


async def test_image_upload_refuses_what_is_not_a_picture(url: str, transport: str) -> None:
    answer = await call(transport, url, {"taskType": "imageUpload", "taskUUID": fresh(), "image": fresh()})
    assert answer.codes == ["invalidImage"] and answer.status in (400, None)
    assert "URL, a data URI or a base64" in answer.errors[0]["message"]


async def test_media_storage_upload_then_use_then_delete(url: str, transport: str) -> None:
    sent = media("upload", media=png_data_uri())
    uploaded = await call(transport, url, sent)
    [item] = [MediaStorageResult.model_validate(i) for i in uploaded.data]
    assert item.operation == "upload" and item.media_url and item.media_url.startswith(url + "/image/")
    assert item.task_uuid == sent["taskUUID"] and uploaded.status in (200, None)
    assert Image.open(io.BytesIO(served(item.media_url))).size == (40, 30)

    # The mediaUUID is an imageUUID: it works as a reference image.
    used = await call(transport, url, task(inputs={"referenceImages": [item.media_uuid]}))
    assert not used.errors and used.data[0]["imageUUID"] != item.media_uuid

    deleted = await call(transport, url, media("delete", mediaUUID=item.media_uuid))
    assert deleted.data == [
        {
            "taskType": "mediaStorage",
            "taskUUID": deleted.data[0]["taskUUID"],
            "operation": "delete",
            "mediaUUID": item.media_uuid,
        }
    ]
    assert httpx.get(item.media_url, timeout=30).status_code == 404
    refused = await call(transport, url, task(inputs={"referenceImages": [item.media_uuid]}))
    assert refused.codes == ["invalidReferenceImages"]
    again = await call(transport, url, media("delete", mediaUUID=item.media_uuid))
    assert again.codes == ["mediaNotFound"] and again.status in (404, None)
    assert again.errors[0]["parameter"] == "mediaUUID"


async def test_media_storage_takes_urls_like_image_upload(url: str, transport: str) -> None:
    elsewhere = "https://media.example.com/uploads/poster.webp"
    for value, expected in (
        (DOCUMENTED_REFERENCE_URLS[1], standin_reference(DOCUMENTED_REFERENCE_URLS[1])),
        (elsewhere, placeholder_reference(elsewhere)),
    ):
        answer = await call(transport, url, media("upload", media=value))
        assert served(answer.data[0]["mediaURL"]) == expected


async def test_media_storage_refusals(url: str, transport: str) -> None:
    generated = await call(transport, url, task())
    # Only stored media can be deleted, not a generated image.
    not_media = await call(transport, url, media("delete", mediaUUID=generated.data[0]["imageUUID"]))
    assert not_media.codes == ["mediaNotFound"]
    assert (await call(transport, url, media("upload"))).codes == ["invalidMedia"]
    assert (await call(transport, url, media("delete"))).codes == ["invalidMediaUUID"]
    assert (await call(transport, url, media("rename", mediaUUID=fresh()))).codes == ["invalidOperation"]
    assert (await call(transport, url, media("upload", media="not a picture"))).codes == ["invalidMedia"]
    # A taskUUID is used once, as for imageUpload.
    once = media("upload", media=png_data_uri("teal"))
    assert not (await call(transport, url, once)).errors
    assert (await call(transport, url, once)).codes == ["conflictTaskUUID"]
