"""One behavioural suite, three backends: both are held to the same contract.

- ``live``: the live URL answered by respx (tests/support/fakes.py);
- ``inprocess``: the real mock app through httpx.ASGITransport (the demo's default);
- ``http``: the real mock served by uvicorn on 127.0.0.1 (mock_api.testing.run_mock_server).

Clients come from ``demo.backend.make_backend`` so the factory is exercised too.
"""

from __future__ import annotations

import io
import logging
import time

import httpx
import pytest
import respx
from PIL import Image

import api_schema
from api_schema import limits
from demo.backend import Backend, make_backend
from demo.client import AuthError, PollPolicy, RetryPolicy, RunwareClient, ValidationFailed
from demo.settings import Settings
from mock_api import MockConfig, create_app
from mock_api.server.dispatch import HANDLERS
from mock_api.testing import run_mock_server
from tests.support.fakes import FakeRunware, tiny_image

KEY = "contract-key-9f8e7d6c5b4a"
PROMPT = 'A bakery window with a chalkboard that reads "FRESH BREAD"'
BACKENDS = ["live", "inprocess", "http"]


@pytest.fixture(scope="module")
def mock_http_url():
    with run_mock_server(MockConfig(random_seed=3)) as url:
        yield url


def _settings(**kw) -> Settings:
    base = {"backend": "auto", "api_key": None, "mock_api_url": None, "record_dir": None}
    return Settings(**{**base, **kw})


@pytest.fixture(params=BACKENDS)
def backend(request) -> Backend:
    kind = request.param
    if kind == "live":
        with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
            FakeRunware(KEY).install(router)
            b = make_backend(_settings(api_key=KEY))
            assert b.kind == "live"
            yield b
        return
    if kind == "inprocess":
        b = make_backend(_settings())
        assert b.in_process
    else:
        b = make_backend(_settings(mock_api_url=request.getfixturevalue("mock_http_url") + "/v1"))
        assert not b.in_process
    assert b.kind == "mock"
    yield b


@pytest.fixture
async def client(backend):
    async with backend.client() as c:
        c.poll_initial, c.poll_max = 0.02, 0.05
        yield c


def check_picture(img, fmt: str) -> Image.Image:
    assert img.format == fmt
    with Image.open(io.BytesIO(img.data)) as pic:
        pic.load()
        assert pic.format == {"JPG": "JPEG"}.get(fmt, fmt)
        return pic


@pytest.mark.parametrize("example", api_schema.load_examples(), ids=lambda e: e.slug)
async def test_documented_examples(client, example):
    gen = await client.generate(example.request)
    documented = example.response["data"][0]
    assert len(gen) == 1
    img = gen[0]
    assert (img.image_uuid, img.seed, img.cost) == (
        documented["imageUUID"],
        documented["seed"],
        documented["cost"],
    )
    assert img.item.task_uuid == example.request["taskUUID"]
    check_picture(img, "JPG")


async def test_new_task_uuid_still_replays_documented_values(client):
    example = api_schema.load_examples()[1]
    raw = dict(example.request, taskUUID=api_schema.new_task_uuid())
    gen = await client.generate(raw)
    assert gen[0].image_uuid == example.response["data"][0]["imageUUID"]
    assert gen[0].item.task_uuid == raw["taskUUID"]  # echoes the request


@pytest.mark.parametrize("output_type", limits.OUTPUT_TYPES)
async def test_synthesized_results(client, backend, output_type):
    raw = {
        "positivePrompt": PROMPT,
        "width": 256,
        "height": 192,
        "seed": 41,
        "numberResults": 2,
        "includeCost": True,
        "outputType": output_type,
        "outputFormat": "PNG",
    }
    arrived = []
    gen = await client.generate(raw, on_result=arrived.append)
    assert [img.seed for img in gen] == [41, 42]
    assert len({img.image_uuid for img in gen}) == 2
    assert sorted(a.image_uuid for a in arrived) == sorted(img.image_uuid for img in gen)
    for img in gen:
        assert img.cost == pytest.approx(limits.estimate_cost(256, 192))
        pic = check_picture(img, "PNG")
        if backend.kind == "mock":
            assert pic.size == (256, 192)
    assert gen.request["outputType"] == output_type


async def test_safety_flag(client):
    gen = await client.generate(
        {"positivePrompt": PROMPT, "width": 128, "height": 128, "safety": {"checkContent": True}}
    )
    assert gen[0].nsfw_content is False


async def test_image_to_image_with_local_png(client, tmp_path):
    ref = tmp_path / "sketch.png"
    ref.write_bytes(tiny_image("PNG", size=(64, 48), color="purple"))
    uri = await client.prepare_reference(ref)
    assert uri.startswith("data:image/png;base64,")
    uploaded = await client.upload_image(ref)
    gen = await client.generate(
        {
            "positivePrompt": "Turn the sketch into a watercolor",
            "width": 128,
            "height": 128,
            "inputs": {"referenceImages": [uri, uploaded]},
            "outputFormat": "WEBP",
        }
    )
    assert len(gen) == 1
    check_picture(gen[0], "WEBP")


async def test_server_side_validation_speaks_the_same_errors(client):
    """A task the client would refuse, sent raw: both servers answer alike."""
    bad = {
        "taskType": "imageInference",
        "taskUUID": api_schema.new_task_uuid(),
        "model": limits.MODEL_ID,
        "positivePrompt": PROMPT,
        "width": 100,
        "height": 512,
    }
    with pytest.raises(ValidationFailed) as info:
        await client._call.post([bad], time.monotonic() + 10, task_uuid=bad["taskUUID"])
    err = info.value
    assert (err.status, err.code, err.parameter) == (400, "invalidWidth", "width")
    assert not err.retryable


async def test_ping(client):
    assert await client.ping() is True


async def test_async_delivery_with_partial_results(client, backend):
    if backend.kind == "mock" and "getResponse" not in _mock_handlers():
        pytest.skip("the mock does not serve deliveryMethod=async yet (mock_api/jobs.py not wired)")
    arrived = []
    gen = await client.generate(
        {
            "positivePrompt": PROMPT,
            "width": 128,
            "height": 128,
            "numberResults": 3,
            "deliveryMethod": "async",
        },
        on_result=arrived.append,
    )
    assert len(gen) == 3 and len({a.image_uuid for a in arrived}) == 3
    assert isinstance(gen.response, list) and len(gen.response) >= 2


def _mock_handlers() -> set[str]:
    return set(HANDLERS)


# -- auth: a wrong key is refused alike ---------------------------------------------------


@pytest.fixture(params=BACKENDS)
def strict_client_factory(request):
    kind = request.param
    if kind == "live":
        with respx.mock(assert_all_called=False) as router:
            FakeRunware(KEY).install(router)
            yield lambda key: RunwareClient(limits.API_URL, key)
        return
    config = MockConfig(require_key=KEY)
    if kind == "inprocess":
        app = create_app(config)
        yield lambda key: RunwareClient(
            "http://mock.local/v1",
            key,
            transport=httpx.ASGITransport(app=app),
            retry=RetryPolicy(max_retries=0),
        )
    else:
        with run_mock_server(config) as url:
            yield lambda key: RunwareClient(url + "/v1", key, retry=RetryPolicy(max_retries=0))


@pytest.mark.parametrize("key", ["wrong-key", None])
async def test_wrong_or_missing_key_is_an_auth_error(strict_client_factory, key):
    async with strict_client_factory(key) as c:
        with pytest.raises(AuthError) as info:
            await c.generate({"positivePrompt": PROMPT, "width": 128, "height": 128})
    err = info.value
    assert err.status == 401 and err.code == api_schema.errors.INVALID_API_KEY and not err.retryable
    async with strict_client_factory(KEY) as c:
        assert len(await c.generate({"positivePrompt": PROMPT, "width": 128, "height": 128})) == 1


async def test_key_absent_from_debug_logs_over_real_http(mock_http_url, caplog):
    """httpx/httpcore at DEBUG over a real socket: no key, no Authorization header."""
    for name in ("httpx", "httpcore", "demo"):
        caplog.set_level(logging.DEBUG, logger=name)
    async with RunwareClient(mock_http_url + "/v1", KEY) as c:
        gen = await c.generate({"positivePrompt": PROMPT, "width": 128, "height": 128})
        assert len(gen) == 1
    messages = [r.getMessage() for r in caplog.records]
    assert any(r.name.startswith("httpcore") for r in caplog.records)  # the debug logs did run
    assert all(KEY not in m and "authorization" not in m.lower() for m in messages)


class LoseFirstReply(httpx.AsyncBaseTransport):
    """Delivers the first POST to the server, then drops its answer (a lost reply)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner, self.lost = inner, 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.method == "POST" and self.lost == 0:
            self.lost += 1
            await response.aread()
            raise httpx.ReadError("connection reset after the server answered")
        return response


@pytest.mark.parametrize("delivery", ["sync", "async"])
async def test_lost_reply_is_recovered_through_get_response_on_the_mock(delivery):
    transport = LoseFirstReply(httpx.ASGITransport(app=create_app(MockConfig(random_seed=5))))
    async with RunwareClient(
        "http://mock.local/v1",
        KEY,
        transport=transport,
        retry=RetryPolicy(backoff_base=0.01),
        polling=PollPolicy(initial=0.02, maximum=0.05),
    ) as c:
        gen = await c.generate(
            {
                "positivePrompt": PROMPT,
                "width": 128,
                "height": 128,
                "numberResults": 2,
                "deliveryMethod": delivery,
            }
        )
    assert transport.lost == 1 and len(gen) == 2
    assert all(img.item.task_uuid == gen.task_uuid for img in gen)
