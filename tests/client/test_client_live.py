"""RunwareClient against the live API's URL, answered by respx (no network).

Covers what only a scripted server can show: each error status with Runware's body,
retries and back-off, Retry-After, lost replies, async polling, deadlines, and that
the key never leaks.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import httpx
import pytest
import respx

import api_schema
from api_schema import errors as E
from demo.client import (
    AuthError,
    ImageError,
    Limits,
    NetworkError,
    PaymentRequired,
    PollPolicy,
    ProtocolError,
    RateLimited,
    RequestTimeout,
    RetryPolicy,
    RunwareClient,
    RunwareError,
    ServerError,
    Timeouts,
    ValidationFailed,
    parse_retry_after,
    same_origin,
)
from tests.support.fakes import IMAGE_HOST, LIVE_URL, FakeRunware, envelope_error, tiny_image

KEY = "live-key-0123456789abcdef"
PROMPT = 'A tiny shop sign that reads "OPEN LATE", warm light'


class Sleeps(list):
    """Stands in for asyncio.sleep: records each delay, waits for none."""

    async def __call__(self, delay: float) -> None:
        self.append(delay)
        await asyncio.sleep(0)


@pytest.fixture
def router():
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as r:
        yield r


@pytest.fixture
def fake(router) -> FakeRunware:
    return FakeRunware(KEY).install(router)


@pytest.fixture
async def client():
    async with RunwareClient(
        LIVE_URL,
        KEY,
        retry=RetryPolicy(max_retries=3, backoff_base=0.01),
        polling=PollPolicy(initial=0.01, maximum=0.02),
        timeouts=Timeouts(deadline=30),
    ) as c:
        c._call.sleep = Sleeps()
        yield c


def task(**kw) -> dict:
    return {"positivePrompt": PROMPT, "width": 512, "height": 512, **kw}


# -- documented responses ---------------------------------------------------------------


@pytest.mark.parametrize("example", api_schema.load_examples(), ids=lambda e: e.slug)
async def test_documented_example_gives_documented_values(fake, router, client, example):
    gen = await client.generate(example.request)
    documented = example.response["data"][0]
    assert len(gen) == 1
    img = gen[0]
    assert (img.image_uuid, img.seed, img.cost) == (
        documented["imageUUID"],
        documented["seed"],
        documented["cost"],
    )
    assert img.format == "JPG" and img.data.startswith(b"\xff\xd8")
    assert gen.request == example.request
    assert gen.response == {"data": [documented]}
    api_calls = [c for c in router.calls if c.request.method == "POST"]
    image_calls = [c for c in router.calls if c.request.method == "GET"]
    assert api_calls[0].request.headers["Authorization"] == f"Bearer {KEY}"
    # The key is for the API only, never for the image CDN.
    assert image_calls and all("Authorization" not in c.request.headers for c in image_calls)
    assert all(c.request.url.host == "im.runware.ai" for c in image_calls)


@pytest.mark.parametrize("output_type", api_schema.limits.OUTPUT_TYPES)
@pytest.mark.parametrize("fmt", api_schema.limits.OUTPUT_FORMATS)
async def test_every_output_type_and_format(fake, client, output_type, fmt):
    gen = await client.generate(task(outputType=output_type, outputFormat=fmt, seed=7))
    assert [img.format for img in gen] == [fmt]
    assert gen[0].seed == 7
    assert gen[0].mime == api_schema.limits.FORMAT_MIME[fmt]


async def test_number_results_cost_and_safety(fake, client, tmp_path):
    gen = await client.generate(
        task(numberResults=3, includeCost=True, safety={"checkContent": True}, seed=10, outputFormat="PNG")
    )
    assert len(gen) == 3
    assert [img.seed for img in gen] == [10, 11, 12]
    assert len({img.image_uuid for img in gen}) == 3
    assert all(img.cost is not None and img.cost > 0 for img in gen)
    assert all(img.nsfw_content is False for img in gen)
    assert gen.total_cost == pytest.approx(sum(img.cost for img in gen))
    saved = gen[1].save(tmp_path)
    assert saved.name == f"{gen[1].image_uuid}.png" and saved.read_bytes() == gen[1].data


async def test_task_model_is_accepted(fake, client):
    model = api_schema.ImageInferenceTask(
        task_uuid=api_schema.new_task_uuid(), positive_prompt=PROMPT, width=256, height=256
    )
    gen = await client.generate(model)
    assert gen.task_uuid == model.task_uuid and len(gen) == 1


# -- validation before sending ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "parameter", "code"),
    [
        ({"width": 100}, "width", "invalidWidth"),
        ({"CFGScale": 31.0}, "CFGScale", "invalidCFGScale"),
        ({"cfgScale": 5.0}, "cfgScale", E.UNKNOWN_PARAMETER),
        ({"positivePrompt": "x"}, "positivePrompt", "invalidPositivePrompt"),
        ({"height": None, "width": 512}, "height", "invalidHeight"),
    ],
)
async def test_invalid_task_is_not_sent(router, client, bad, parameter, code):
    raw = task(**bad)
    if raw.get("height") is None:
        raw.pop("height")
    with pytest.raises(ValidationFailed) as info:
        await client.generate(raw)
    err = info.value
    assert err.parameter == parameter and err.code == code
    assert parameter in str(err) and err.status is None and not err.retryable
    assert router.calls.call_count == 0


async def test_a_dict_without_a_size_is_sent_at_1024_square_and_the_wire_requires_one(fake, client):
    gen = await client.generate({"positivePrompt": PROMPT})
    assert (
        (gen.request["width"], gen.request["height"])
        == (1024, 1024)
        == (
            fake.posts[0][0]["width"],
            fake.posts[0][0]["height"],
        )
    )
    # On the wire the size is required: the stand-in refuses a task without it, as the mock does.
    bare = {"taskType": "imageInference", "taskUUID": api_schema.new_task_uuid(), "positivePrompt": PROMPT}
    async with httpx.AsyncClient() as http:
        answer = await http.post(LIVE_URL, json=[{**bare, "model": api_schema.MODEL_ID}], headers=fake_auth())
    assert answer.status_code == 400
    assert [(e["code"], e["parameter"]) for e in answer.json()["errors"]] == [
        ("invalidWidth", "width"),
        ("invalidHeight", "height"),
    ]


def fake_auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {KEY}"}


async def test_all_violations_are_reported(router, client):
    with pytest.raises(ValidationFailed) as info:
        await client.generate(task(width=50, steps=0, outputFormat="GIF"))
    assert {e.parameter for e in info.value.errors} == {"width", "steps", "outputFormat"}
    assert router.calls.call_count == 0


# -- error statuses -------------------------------------------------------------------------


ERROR_CASES = [
    (400, "invalidPositivePrompt", "positivePrompt", ValidationFailed, False),
    (401, E.INVALID_API_KEY, "apiKey", AuthError, False),
    (402, "insufficientCredits", None, PaymentRequired, False),
    (403, "accessDenied", None, AuthError, False),
    (429, E.RATE_LIMITED, None, RateLimited, True),
    (500, E.SERVER_ERROR, None, ServerError, True),
    (503, E.SERVICE_UNAVAILABLE, None, ServerError, True),
    (504, E.TIMEOUT, None, ServerError, True),
]


@pytest.mark.parametrize(("status", "code", "parameter", "cls", "retried"), ERROR_CASES)
async def test_error_status_maps_to_typed_error(router, client, status, code, parameter, cls, retried):
    raw = task(taskUUID=api_schema.new_task_uuid())
    route = router.post(LIVE_URL).mock(
        return_value=envelope_error(
            code,
            f"Runware says {code}.",
            status=status,
            parameter=parameter,
            task_type="imageInference",
            task_uuid=raw["taskUUID"],
        )
    )
    with pytest.raises(cls) as info:
        await client.generate(raw)
    err = info.value
    assert (err.status, err.code, err.parameter, err.task_uuid) == (status, code, parameter, raw["taskUUID"])
    assert err.message == f"Runware says {code}." and err.retryable is retried
    assert str(err).startswith(f"{code}: Runware says {code}.")
    assert route.call_count == (4 if retried else 1)  # 3 retries, or none for a 4xx
    assert len(client._call.sleep) == (3 if retried else 0)


async def test_error_without_a_runware_body(router, client):
    router.post(LIVE_URL).respond(502, text="<html>Bad gateway</html>")
    with pytest.raises(ServerError) as info:
        await client.generate(task())
    assert info.value.status == 502 and "502" in info.value.message


async def test_429_then_200_honours_retry_after(fake, router, client):
    limited = envelope_error(E.RATE_LIMITED, "Queue capacity exceeded.", status=429)
    limited.headers["Retry-After"] = "2"
    route = router.post(LIVE_URL)
    route.side_effect = [limited, fake.api]
    gen = await client.generate(task())
    assert len(gen) == 1 and route.call_count == 2
    assert client._call.sleep == [2.0]  # the server's delay, not the back-off's


async def test_retry_after_beyond_the_deadline_gives_up_at_once(router):
    limited = envelope_error(E.RATE_LIMITED, "Queue capacity exceeded.", status=429)
    limited.headers["Retry-After"] = "120"
    route = router.post(LIVE_URL).mock(return_value=limited)
    async with RunwareClient(
        LIVE_URL, KEY, timeouts=Timeouts(deadline=5), retry=RetryPolicy(backoff_base=0.01)
    ) as c:
        c._call.sleep = Sleeps()
        with pytest.raises(RateLimited) as info:
            await c.generate(task())
    assert info.value.retry_after == 120 and route.call_count == 1 and c._call.sleep == []


async def test_backoff_grows_exponentially_with_jitter(router):
    route = router.post(LIVE_URL).mock(return_value=envelope_error(E.SERVER_ERROR, "Boom.", status=500))
    async with RunwareClient(
        LIVE_URL, KEY, retry=RetryPolicy(max_retries=4, backoff_base=0.1, backoff_max=0.5)
    ) as c:
        c._call.sleep = sleeps = Sleeps()
        with pytest.raises(ServerError):
            await c.generate(task())
    assert route.call_count == 5
    for attempt, delay in enumerate(sleeps):
        base = min(0.5, 0.1 * 2**attempt)
        assert base <= delay <= base + 0.1


async def test_dropped_connection_is_retried(fake, router, client):
    route = router.post(LIVE_URL)
    route.side_effect = [httpx.RemoteProtocolError("peer closed"), httpx.ConnectError("refused"), fake.api]
    gen = await client.generate(task())
    assert len(gen) == 1 and route.call_count == 3


async def test_connection_failures_end_in_network_error(router, client):
    route = router.post(LIVE_URL).mock(side_effect=httpx.ConnectError("connection refused"))
    with pytest.raises(NetworkError) as info:
        await client.generate(task())
    assert route.call_count == 4 and info.value.retryable


async def test_per_call_timeout_is_retried_then_reported(router, client):
    route = router.post(LIVE_URL).mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(RequestTimeout) as info:
        await client.generate(task())
    assert route.call_count == 4 and "timeout" in info.value.message


async def test_lost_reply_then_conflict_collects_results_by_polling(fake, router, client):
    raw = task(taskUUID=api_schema.new_task_uuid(), numberResults=2)

    def received_but_reply_lost(request):
        fake.api(request)  # the server accepted and ran the task...
        raise httpx.ReadError("connection reset")  # ...but the answer never arrived

    route = router.post(LIVE_URL)
    route.side_effect = [received_but_reply_lost, fake.api, fake.api]
    gen = await client.generate(raw)
    assert len(gen) == 2 and gen.task_uuid == raw["taskUUID"]
    sent = [t[0] for t in fake.posts]
    assert [t["taskType"] for t in sent] == ["imageInference", "imageInference", "getResponse"]
    assert {t["taskUUID"] for t in sent} == {raw["taskUUID"]}  # the retry kept its taskUUID


async def test_conflict_on_first_attempt_is_a_validation_error(fake, client):
    raw = task(taskUUID=api_schema.new_task_uuid())
    await client.generate(raw)
    with pytest.raises(ValidationFailed) as info:
        await client.generate(raw)
    assert info.value.code == E.CONFLICT_TASK_UUID and info.value.status == 400


# -- async delivery ------------------------------------------------------------------------


async def test_async_polls_through_processing_partial_and_success(fake, client):
    seen: list[tuple[str, int]] = []

    async def on_result(img):
        seen.append((img.image_uuid, len(fake.posts)))

    gen = await client.generate(task(deliveryMethod="async", numberResults=3), on_result=on_result)
    assert len(gen) == 3 and len({u for u, _ in seen}) == 3  # de-duplicated by imageUUID
    # One new image per poll, each reported right after the poll that brought it.
    assert [n for _, n in seen] == [2, 3, 4]
    kinds = [t[0]["taskType"] for t in fake.posts]
    assert kinds == ["imageInference", "getResponse", "getResponse", "getResponse"]
    assert isinstance(gen.response, list) and len(gen.response) == 4
    statuses = [[i.get("status") for i in body["data"]] for body in gen.response[1:]]
    assert statuses[0] == ["success", "processing", "processing"]
    # First poll after poll_initial, then x1.5 up to poll_max.
    assert client._call.sleep == pytest.approx([0.01, 0.015, 0.02])


async def test_async_poll_intervals_default_schedule(fake):
    async with RunwareClient(LIVE_URL, KEY) as c:
        c._call.sleep = sleeps = Sleeps()
        fake.polls_per_image = 6
        await c.generate(task(deliveryMethod="async"))
    assert sleeps == pytest.approx([1.0, 1.5, 2.25, 3.375, 5.0625, 7.59375])


async def test_async_deadline_gives_clear_timeout_and_keeps_partials(fake):
    fake.stall_after = 1  # one image finishes at once; the second never does
    got = []
    async with RunwareClient(
        LIVE_URL, KEY, timeouts=Timeouts(deadline=0.8), polling=PollPolicy(initial=0.02, maximum=0.05)
    ) as c:
        with pytest.raises(RequestTimeout) as info:
            await c.generate(task(deliveryMethod="async", numberResults=2), on_result=got.append)
    assert "deadline" in info.value.message and "(1 of 2 images arrived)" in info.value.message
    assert len(got) == 1


async def test_async_task_error_is_raised(router, client):
    raw = task(deliveryMethod="async", taskUUID=api_schema.new_task_uuid())
    ack = httpx.Response(200, json={"data": [{"taskType": "imageInference", "taskUUID": raw["taskUUID"]}]})
    failed = envelope_error(E.TIMEOUT, "The provider timed out.", status=200, task_uuid=raw["taskUUID"])
    router.post(LIVE_URL).side_effect = [ack, failed]
    with pytest.raises(RequestTimeout) as info:
        await client.generate(raw)
    assert info.value.code == E.TIMEOUT and info.value.task_uuid == raw["taskUUID"]


async def test_webhook_delivery_returns_the_acknowledgement(router, client):
    raw = task(webhookURL="https://hooks.example.com/glm", taskUUID=api_schema.new_task_uuid())
    ack = {"data": [{"taskType": "imageInference", "taskUUID": raw["taskUUID"]}]}
    router.post(LIVE_URL).respond(200, json=ack)
    gen = await client.generate(raw)
    assert len(gen) == 0 and gen.response == ack


# -- images and contract drift -----------------------------------------------------------


def one_item(raw: dict, **fields) -> httpx.Response:
    item = {
        "taskType": "imageInference",
        "taskUUID": raw["taskUUID"],
        "imageUUID": api_schema.new_task_uuid(),
        "seed": 1,
        **fields,
    }
    return httpx.Response(200, json={"data": [item]})


@pytest.mark.parametrize(
    ("body", "fmt", "code"),
    [
        (tiny_image("JPG"), "PNG", "invalidImage"),  # wrong format
        (tiny_image("PNG")[:40], "PNG", "invalidImage"),  # truncated
        (b"<html>not an image</html>", "JPG", "invalidImage"),
        (tiny_image("PNG", size=(400, 400)) * 50, "PNG", "imageTooLarge"),
    ],
)
async def test_downloaded_bytes_are_checked(router, body, fmt, code):
    raw = task(outputFormat=fmt, taskUUID=api_schema.new_task_uuid())
    router.post(LIVE_URL).mock(return_value=one_item(raw, imageURL=f"{IMAGE_HOST}/x.img"))
    router.get(f"{IMAGE_HOST}/x.img").respond(200, content=body)
    async with RunwareClient(LIVE_URL, KEY, limits=Limits(max_image_bytes=20_000)) as c:
        with pytest.raises(ImageError) as info:
            await c.generate(raw)
    assert info.value.code == code


async def test_expired_image_url(router, client):
    raw = task(taskUUID=api_schema.new_task_uuid())
    router.post(LIVE_URL).mock(return_value=one_item(raw, imageURL=f"{IMAGE_HOST}/gone.jpg"))
    router.get(f"{IMAGE_HOST}/gone.jpg").respond(404)
    with pytest.raises(ImageError) as info:
        await client.generate(raw)
    assert info.value.code == E.IMAGE_NOT_FOUND and info.value.status == 404


async def test_bad_base64_is_an_image_error(router, client):
    raw = task(taskUUID=api_schema.new_task_uuid(), outputType="base64Data")
    router.post(LIVE_URL).mock(return_value=one_item(raw, imageBase64Data="!!!notbase64"))
    with pytest.raises(ImageError):
        await client.generate(raw)


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"imageURL": f"{IMAGE_HOST}/a.jpg", "seed": "many"}, "seed"),
        ({}, "exactly one of"),
        (
            {"imageURL": f"{IMAGE_HOST}/a.jpg", "taskUUID": "3f9c8a9e-1b7d-4e43-9a3e-2f1c5d7e8b90"},
            "names task",
        ),
    ],
)
async def test_response_drift_is_a_protocol_error(router, client, fields, needle):
    raw = task(taskUUID=api_schema.new_task_uuid())
    router.post(LIVE_URL).mock(return_value=one_item(raw, **fields))
    with pytest.raises(ProtocolError) as info:
        await client.generate(raw)
    assert needle in info.value.message


async def test_non_json_success_is_a_protocol_error(router, client):
    router.post(LIVE_URL).respond(200, text="OK")
    with pytest.raises(ProtocolError):
        await client.generate(task())


# -- references, upload, ping ------------------------------------------------------------


async def test_prepare_reference(fake, client, tmp_path):
    url = api_schema.DOCUMENTED_REFERENCE_URLS[0]
    assert await client.prepare_reference(url) == url
    some_uuid = api_schema.new_task_uuid()
    assert await client.prepare_reference(some_uuid) == some_uuid
    png = tiny_image("PNG")
    path = tmp_path / "ref.png"
    path.write_bytes(png)
    uri = await client.prepare_reference(path)
    assert uri == "data:image/png;base64," + base64.b64encode(png).decode()
    assert await client.prepare_reference(str(path)) == uri
    assert (await client.prepare_reference(png)) == uri
    assert fake.posts == []  # all inline, nothing uploaded
    client.limits = Limits(upload_threshold=10)
    uploaded = await client.prepare_reference(png)
    assert uploaded in fake.uploads and fake.posts[0][0]["taskType"] == "imageUpload"
    gen = await client.generate(task(inputs={"referenceImages": [uploaded, uri]}))
    assert len(gen) == 1


async def test_prepare_reference_rejects_non_images(client, tmp_path):
    with pytest.raises(ImageError):
        await client.prepare_reference(b"plain text, not a picture")
    with pytest.raises(ValidationFailed) as info:
        await client.prepare_reference("no-such-file.png")
    assert info.value.parameter == "inputs.referenceImages"


async def test_upload_pil_image(fake, client):
    from PIL import Image

    image_uuid = await client.upload_image(Image.new("RGBA", (10, 10), (1, 2, 3, 128)))
    assert image_uuid in fake.uploads
    assert fake.uploads[image_uuid].startswith(b"data:image/png;base64,")


async def test_ping(fake, client, router):
    assert await client.ping() is True
    async with RunwareClient(LIVE_URL, "wrong-key") as other:
        assert await other.ping() is False


# -- the key never leaks ---------------------------------------------------------------


async def test_key_absent_from_errors_reprs_and_logs(router, caplog):
    caplog.set_level(logging.DEBUG)
    errors: list[RunwareError] = []
    # A server that echoes the key back in its message must not make us leak it.
    echo = envelope_error(E.INVALID_API_KEY, f"Invalid API key: {KEY}", status=401, parameter="apiKey")
    route = router.post(LIVE_URL)
    route.side_effect = [
        echo,
        httpx.ConnectError(f"refused for {KEY}"),
        httpx.ConnectError("refused"),
        envelope_error(E.SERVER_ERROR, "Boom.", status=500),
    ]
    async with RunwareClient(LIVE_URL, KEY, retry=RetryPolicy(max_retries=2, backoff_base=0.001)) as c:
        c._call.sleep = Sleeps()
        for _ in range(2):
            try:
                await c.generate(task())
            except RunwareError as exc:
                errors.append(exc)
        texts = [repr(c), repr(c._call), str(c.__dict__)]
    assert [type(e) for e in errors] == [AuthError, ServerError]
    for err in errors:
        texts += [
            str(err),
            repr(err),
            err.message,
            *(str(a) for a in err.args),
            *(e.message for e in err.errors),
        ]
    texts += [r.getMessage() for r in caplog.records] + [str(r.args) for r in caplog.records]
    assert caplog.records, "the client should log its calls"
    assert errors[0].message == "Invalid API key: [redacted]"
    for text in texts:
        assert KEY not in text


async def test_key_absent_from_httpx_debug_logs(fake, caplog):
    caplog.set_level(logging.DEBUG, logger="httpx")
    caplog.set_level(logging.DEBUG, logger="httpcore")
    caplog.set_level(logging.DEBUG, logger="demo")
    async with RunwareClient(LIVE_URL, KEY) as c:
        await c.generate(task())
    assert caplog.records
    assert all(KEY not in r.getMessage() and "Authorization" not in r.getMessage() for r in caplog.records)


async def test_upload_whose_reply_was_lost_is_sent_again(fake, router, client):
    def received_but_reply_lost(request):
        fake.api(request)
        raise httpx.ReadError("connection reset")

    def conflict(request):
        task = json.loads(request.content)[0]
        return envelope_error(E.CONFLICT_TASK_UUID, "Seen.", status=400, task_uuid=task["taskUUID"])

    router.post(LIVE_URL).side_effect = [received_but_reply_lost, conflict, fake.api]
    image_uuid = await client.upload_image(tiny_image("PNG"))
    assert image_uuid in fake.uploads and len(fake.uploads) == 2


# -- helpers ------------------------------------------------------------------------------


def test_same_origin():
    assert same_origin("https://api.runware.ai/v1", "https://api.runware.ai:443/other")
    assert not same_origin("https://api.runware.ai/v1", "https://im.runware.ai/x.jpg")
    assert not same_origin("https://api.runware.ai/v1", "http://api.runware.ai/v1")
    assert not same_origin("http://127.0.0.1:8808/v1", "http://127.0.0.1:8809/v1")
    assert not same_origin("http://host:99999/v1", "http://host/v1")


def test_parse_retry_after():
    assert parse_retry_after("3") == 3.0 and parse_retry_after("0.5") == 0.5
    assert parse_retry_after("-4") is None  # not "at once": the client backs off instead
    assert (
        parse_retry_after(None) is None
        and parse_retry_after("soon") is None
        and parse_retry_after("nan") is None
    )
    later = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=90), usegmt=True)
    assert 80 < parse_retry_after(later) <= 90
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
