"""Async delivery, getResponse, getTaskDetails, conflictTaskUUID, uploads as references.

Timing is never asserted: the simulated clock is moved with POST /__admin/clock,
so "the first image is done, the second is not" is a fact, not a race.
"""

from __future__ import annotations

import base64
import io
import uuid
from collections.abc import Iterator

import httpx
import pytest
from PIL import Image

from api_schema import GetResponseItem, ImageInferenceResult, TaskAck
from mock_api import MockConfig
from mock_api.jobs import Clock, JobStore, per_image_seconds
from mock_api.testing import AUTH, run_mock_server, task

# --- the job store on its own --------------------------------------------------


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_processing_time_grows_with_steps_and_pixels_and_scales_with_speed() -> None:
    small = per_image_seconds(512, 512, 10, 1.0)
    assert per_image_seconds(1024, 1024, 10, 1.0) > small
    assert per_image_seconds(512, 512, 100, 1.0) > small
    assert per_image_seconds(512, 512, 10, 2.0) == pytest.approx(2 * small)
    assert per_image_seconds(2048, 2048, 999, 0.0) == 0.0


async def test_images_are_revealed_one_by_one_on_the_clock() -> None:
    fake = FakeTime()
    jobs = JobStore(speed=1.0, clock=Clock(fake))
    items = [{"taskType": "imageInference", "taskUUID": "t", "imageUUID": f"i{n}"} for n in range(3)]

    async def produce():
        return items, []

    assert jobs.claim("t")
    job = await jobs.start(
        task_uuid="t",
        task_type="imageInference",
        request={},
        count=3,
        width=1024,
        height=1024,
        steps=100,
        produce=produce,
    )
    await jobs.wait_pushed(job)
    step = per_image_seconds(1024, 1024, 100, 1.0)
    statuses = lambda: [i["status"] for i in jobs.get_response(job)[0]]  # noqa: E731
    assert statuses() == ["processing"] * 3
    fake.now += step
    assert statuses() == ["success", "processing", "processing"]
    fake.now += 2 * step
    data, errors = jobs.get_response(job)
    assert [i["imageUUID"] for i in data] == ["i0", "i1", "i2"] and errors == []
    # Expiry: the job and its taskUUID are forgotten ttl after the last image.
    assert not jobs.claim("t") and jobs.get("t") is not None
    fake.now += jobs.ttl_s + 1
    assert jobs.get("t") is None and jobs.claim("t")


async def test_a_failing_producer_becomes_an_error_item_not_an_exception() -> None:
    jobs = JobStore(speed=0)

    async def produce():
        raise RuntimeError("boom")

    job = await jobs.start(
        task_uuid="u",
        task_type="imageInference",
        request={},
        count=1,
        width=1,
        height=1,
        steps=1,
        produce=produce,
    )
    data, errors = jobs.get_response(job)
    assert data[0]["status"] == "error" and errors[0]["code"] == "internalServerError"


def test_the_store_is_bounded() -> None:
    jobs = JobStore(max_jobs=3, max_seen=5)
    for n in range(10):
        assert jobs.claim(f"id-{n}")
        jobs.record_finished(task_uuid=f"id-{n}", task_type="imageInference", request={}, items=[], errors=[])
    assert len(jobs) == 3 and len(jobs._seen) == 5


async def test_jobs_in_progress_are_never_evicted_and_the_store_says_when_it_is_full() -> None:
    fake = FakeTime()
    jobs = JobStore(speed=1.0, max_jobs=2, clock=Clock(fake))

    async def produce():
        return [{"imageUUID": "x"}], []

    for name in ("a", "b"):
        await jobs.start(
            task_uuid=name, task_type="t", request={}, count=1, width=64, height=64, steps=1, produce=produce
        )
    assert not jobs.has_room()
    for n in range(5):  # sync traffic: finished jobs come and go, the pending ones stay
        jobs.record_finished(task_uuid=f"s{n}", task_type="t", request={}, items=[], errors=[])
    assert jobs.get("a") is not None and jobs.get("b") is not None and len(jobs) == 3
    fake.now += 60  # both done: their slots can be reused
    await jobs.wait_pushed(jobs.get("a"))
    assert jobs.has_room()


# --- through the real server ---------------------------------------------------


@pytest.fixture(scope="module")
def slow_url() -> Iterator[str]:
    # speed 100: a 256x256, 4-step image takes about a minute of simulated time.
    with run_mock_server(MockConfig(random_seed=7, speed=100.0)) as url:
        yield url


@pytest.fixture(scope="module")
def instant_url() -> Iterator[str]:
    with run_mock_server(MockConfig(random_seed=8, speed=0.0)) as url:
        yield url


def post(url: str, *tasks: dict, headers: dict | None = None) -> httpx.Response:
    return httpx.post(url + "/v1", json=list(tasks), headers=headers or AUTH, timeout=30)


def get_response(url: str, task_uuid: str) -> httpx.Response:
    return post(url, {"taskType": "getResponse", "taskUUID": task_uuid})


def advance(url: str, seconds: float) -> None:
    httpx.post(url + "/__admin/clock", json={"advance": seconds}, timeout=10).raise_for_status()


def test_async_is_acknowledged_at_once_and_results_arrive_one_by_one(slow_url: str) -> None:
    t = task(deliveryMethod="async", numberResults=2, includeCost=True)
    ack = post(slow_url, t)
    assert ack.status_code == 200
    (item,) = ack.json()["data"]
    assert TaskAck.model_validate(item).task_uuid == t["taskUUID"] and "imageUUID" not in item

    first = get_response(slow_url, t["taskUUID"]).json()["data"]
    assert [GetResponseItem.model_validate(i).status for i in first] == ["processing", "processing"]

    step = per_image_seconds(256, 256, 4, 100.0)
    advance(slow_url, step)
    partial = get_response(slow_url, t["taskUUID"]).json()["data"]
    assert sorted(i["status"] for i in partial) == ["processing", "success"]
    done = [GetResponseItem.model_validate(i) for i in partial if i["status"] == "success"]
    result = done[0].result()
    assert result.cost is not None and result.image_url

    advance(slow_url, step)
    final = get_response(slow_url, t["taskUUID"]).json()["data"]
    assert [i["status"] for i in final] == ["success", "success"]
    # Cumulative: the image finished first is still there, with the same identity.
    uuids = [i["imageUUID"] for i in final]
    assert uuids[0] == result.image_uuid and len(set(uuids)) == 2
    seeds = [ImageInferenceResult.model_validate(i).seed for i in final]
    assert len(set(seeds)) == 2
    image = httpx.get(final[1]["imageURL"], timeout=30)
    assert image.status_code == 200 and Image.open(io.BytesIO(image.content)).size == (256, 256)


def test_get_task_details_returns_the_request_and_the_response(slow_url: str) -> None:
    t = task(deliveryMethod="async")
    post(slow_url, t).raise_for_status()
    details = post(slow_url, {"taskType": "getTaskDetails", "taskUUID": t["taskUUID"]}).json()["data"][0]
    assert details["taskType"] == "getTaskDetails" and details["status"] == "processing"
    assert details["request"] == [t]
    advance(slow_url, per_image_seconds(256, 256, 4, 100.0))
    details = post(slow_url, {"taskType": "getTaskDetails", "taskUUID": t["taskUUID"]}).json()["data"][0]
    assert details["status"] == "success"
    assert details["response"]["data"][0]["taskUUID"] == t["taskUUID"]


def test_sync_tasks_are_remembered_for_get_response_and_details(instant_url: str) -> None:
    t = task(numberResults=2)
    sync = post(instant_url, t).json()["data"]
    polled = get_response(instant_url, t["taskUUID"]).json()["data"]
    assert [i["imageUUID"] for i in polled] == [i["imageUUID"] for i in sync]
    assert {i["status"] for i in polled} == {"success"}


def test_speed_zero_finishes_before_the_first_poll(instant_url: str) -> None:
    t = task(deliveryMethod="async", numberResults=3)
    post(instant_url, t).raise_for_status()
    data = get_response(instant_url, t["taskUUID"]).json()["data"]
    assert [i["status"] for i in data] == ["success"] * 3


@pytest.mark.parametrize("delivery", ["sync", "async"])
def test_a_reused_task_uuid_gets_conflict(instant_url: str, delivery: str) -> None:
    t = task(deliveryMethod=delivery)
    assert post(instant_url, t).status_code == 200
    again = post(instant_url, {**t, "positivePrompt": "something else entirely"})
    assert again.status_code == 400
    (error,) = again.json()["errors"]
    assert error["code"] == "conflictTaskUUID" and error["taskUUID"] == t["taskUUID"]
    assert error["parameter"] == "taskUUID"


def test_image_upload_uuid_is_unique_and_works_as_a_reference(instant_url: str) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buf, "PNG")
    upload = {
        "taskType": "imageUpload",
        "taskUUID": str(uuid.uuid4()),
        "image": "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode(),
    }
    uploaded = post(instant_url, upload).json()["data"][0]
    assert post(instant_url, upload).json()["errors"][0]["code"] == "conflictTaskUUID"

    t = task(deliveryMethod="async", inputs={"referenceImages": [uploaded["imageUUID"]]})
    post(instant_url, t).raise_for_status()
    (item,) = get_response(instant_url, t["taskUUID"]).json()["data"]
    assert item["status"] == "success"


def test_an_async_task_that_fails_reports_status_error(instant_url: str) -> None:
    missing = str(uuid.uuid4())
    t = task(deliveryMethod="async", inputs={"referenceImages": [missing]})
    assert post(instant_url, t).status_code == 200  # acknowledged; the failure comes with the results
    body = get_response(instant_url, t["taskUUID"]).json()
    assert body["data"][0]["status"] == "error"
    assert body["data"][0]["error"]["code"] == body["errors"][0]["code"] == "invalidReferenceImages"
    assert body["errors"][0]["taskUUID"] == t["taskUUID"]


def test_unknown_task_uuid_is_not_found(instant_url: str) -> None:
    for kind in ("getResponse", "getTaskDetails"):
        answer = post(instant_url, {"taskType": kind, "taskUUID": str(uuid.uuid4())})
        assert answer.status_code == 404
        assert answer.json()["errors"][0]["code"] == "taskNotFound"


def test_a_full_store_answers_429_for_new_async_work_and_keeps_serving_sync() -> None:
    with run_mock_server(MockConfig(random_seed=9, speed=100.0, max_jobs=2)) as base:
        assert post(base, task(deliveryMethod="async")).status_code == 200
        assert post(base, task(deliveryMethod="async")).status_code == 200
        full = post(base, task(deliveryMethod="async"))
        assert full.status_code == 429 and full.json()["errors"][0]["code"] == "rateLimitExceeded"
        assert post(base, task()).status_code == 200  # sync work needs no slot
