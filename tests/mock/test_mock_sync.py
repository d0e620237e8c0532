"""The mock's sync behaviour, through a real uvicorn server and httpx."""

from __future__ import annotations

import base64
import io
import re
import uuid

import httpx
import pytest
from PIL import Image, ImageStat

from api_schema import ImageInferenceResult, ImageUploadResult, limits, load_examples
from api_schema.limits import FORMAT_EXT, FORMAT_MIME, RANDOM_SEED_MAX, estimate_cost
from mock_api import MockConfig, create_app
from mock_api.testing import run_mock_server

AUTH = {"Authorization": "Bearer test-key"}
PIL_NAME = {"JPG": "JPEG", "PNG": "PNG", "WEBP": "WEBP"}
EXAMPLES = load_examples()


def task(**fields):
    base = {
        "taskType": "imageInference",
        "taskUUID": str(uuid.uuid4()),
        "model": "runware:glm-image@0",
        "positivePrompt": 'A tiny shop sign that reads "OPEN"',
        "width": 256,
        "height": 192,
    }
    base.update(fields)
    return base


def post(url: str, tasks, headers=AUTH) -> httpx.Response:
    return httpx.post(url + "/v1", json=tasks, headers=headers, timeout=30)


def image_of(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.slug for e in EXAMPLES])
def test_documented_example_replays_documented_values(mock_url, example):
    response = post(mock_url, [example.request])
    assert response.status_code == 200
    [item] = response.json()["data"]
    documented = example.response["data"][0]
    assert item["taskUUID"] == example.request["taskUUID"]
    for name in ("taskType", "imageUUID", "seed", "cost"):
        assert item[name] == documented[name], name
    ImageInferenceResult.model_validate(item)
    # Same path as documented, served by the mock itself.
    documented_path = httpx.URL(documented["imageURL"]).path
    assert item["imageURL"] == mock_url + documented_path

    image = httpx.get(item["imageURL"], timeout=30)
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/jpeg"
    img = image_of(image.content)
    assert img.format == "JPEG"
    assert img.size == (example.request["width"], example.request["height"])


def test_replay_echoes_a_new_task_uuid(mock_url):
    request = dict(EXAMPLES[0].request, taskUUID=str(uuid.uuid4()))
    [item] = post(mock_url, [request]).json()["data"]
    assert item["taskUUID"] == request["taskUUID"]
    assert item["imageUUID"] == EXAMPLES[0].response["data"][0]["imageUUID"]


@pytest.mark.parametrize(("include_cost", "has_cost"), [(None, True), (True, True), (False, False)])
def test_a_replay_drops_its_recorded_cost_when_asked_for_none(mock_url, include_cost, has_cost):
    # The documented examples show cost without includeCost, so a replay keeps it then; an
    # explicit includeCost: false still got it (a synthesized answer never did).
    extra = {} if include_cost is None else {"includeCost": include_cost}
    request = dict(EXAMPLES[0].request, taskUUID=str(uuid.uuid4()), **extra)
    [item] = post(mock_url, [request]).json()["data"]
    assert item["imageUUID"] == EXAMPLES[0].response["data"][0]["imageUUID"]  # replayed
    assert ("cost" in item) is has_cost


@pytest.mark.parametrize("fmt", ["JPG", "PNG", "WEBP"])
@pytest.mark.parametrize("output_type", ["URL", "base64Data", "dataURI"])
def test_every_output_type_and_format(mock_url, output_type, fmt):
    request = task(outputType=output_type, outputFormat=fmt, outputQuality=80, seed=7)
    response = post(mock_url, [request])
    assert response.status_code == 200, response.text
    [item] = response.json()["data"]
    result = ImageInferenceResult.model_validate(item)
    assert result.output_type == output_type
    if output_type == "URL":
        assert item["imageURL"].endswith("." + FORMAT_EXT[fmt])
        got = httpx.get(item["imageURL"], timeout=30)
        assert got.status_code == 200
        assert got.headers["content-type"] == FORMAT_MIME[fmt]
        data = got.content
    elif output_type == "base64Data":
        data = base64.b64decode(item["imageBase64Data"], validate=True)
    else:
        prefix = f"data:{FORMAT_MIME[fmt]};base64,"
        assert item["imageDataURI"].startswith(prefix)
        data = base64.b64decode(item["imageDataURI"][len(prefix) :], validate=True)
    img = image_of(data)
    assert img.format == PIL_NAME[fmt]
    assert img.size == (256, 192)


def test_same_parameters_and_seed_give_identical_bytes(mock_url):
    first = post(mock_url, [task(seed=99, outputType="base64Data", outputFormat="PNG")]).json()["data"][0]
    second = post(mock_url, [task(seed=99, outputType="base64Data", outputFormat="PNG")]).json()["data"][0]
    other = post(mock_url, [task(seed=100, outputType="base64Data", outputFormat="PNG")]).json()["data"][0]
    assert first["imageBase64Data"] == second["imageBase64Data"]
    assert first["imageUUID"] != second["imageUUID"]
    assert first["seed"] == second["seed"] == 99
    assert other["seed"] == 100


def test_url_and_inline_outputs_carry_the_same_picture(mock_url):
    inline = post(mock_url, [task(seed=5, outputType="base64Data")]).json()["data"][0]
    url = post(mock_url, [task(seed=5)]).json()["data"][0]
    assert httpx.get(url["imageURL"], timeout=30).content == base64.b64decode(inline["imageBase64Data"])


def test_number_results_gives_consecutive_seeds_and_distinct_uuids(mock_url):
    response = post(mock_url, [task(seed=1000, numberResults=4, includeCost=True)])
    items = response.json()["data"]
    assert [i["seed"] for i in items] == [1000, 1001, 1002, 1003]
    assert len({i["imageUUID"] for i in items}) == 4
    assert all(uuid.UUID(i["imageUUID"]).version == 4 for i in items)
    assert {i["cost"] for i in items} == {estimate_cost(256, 192, 1)}
    for item in items:
        assert httpx.get(item["imageURL"], timeout=30).status_code == 200


def test_random_seed_is_unsigned_32_bit_and_cost_only_when_asked(mock_url):
    items = post(mock_url, [task(numberResults=3)]).json()["data"]
    assert all(0 <= i["seed"] <= RANDOM_SEED_MAX for i in items)
    assert all("cost" not in i and "NSFWContent" not in i for i in items)


def test_documented_price_at_1024_square():
    with run_mock_server(MockConfig(random_seed=3)) as url:
        request = task(includeCost=True, safety={"checkContent": True}, width=1024, height=1024)
        [item] = post(url, [request]).json()["data"]
        assert item["cost"] == 0.0225
        assert item["NSFWContent"] is False
        assert image_of(httpx.get(item["imageURL"], timeout=30).content).size == (1024, 1024)


def test_fixed_random_seed_makes_runs_reproducible():
    answers = []
    for _ in range(2):
        with run_mock_server(MockConfig(random_seed=42)) as url:
            request = task(taskUUID="5b1c2a51-2f5e-4d7e-9d7e-2f1f6a3f4b10", numberResults=2)
            answers.append(post(url, [request]).json()["data"])
    assert [(i["imageUUID"], i["seed"]) for i in answers[0]] == [
        (i["imageUUID"], i["seed"]) for i in answers[1]
    ]
    assert answers[0][0]["imageURL"].rsplit("/", 1)[-1] == answers[0][0]["imageUUID"] + ".jpg"


def test_ttl_expiry_makes_urls_404():
    # Move the store's clock instead of sleeping: the smallest documented ttl is 60 s.
    app = create_app(MockConfig(random_seed=1))
    now = [1000.0]
    app.state.mock.store.clock = lambda: now[0]
    with run_mock_server(app=app) as url:
        [item] = post(url, [task(ttl=60, seed=1)]).json()["data"]
        [lasting] = post(url, [task(seed=2)]).json()["data"]
        assert httpx.get(item["imageURL"], timeout=30).status_code == 200
        now[0] += 59
        assert httpx.get(item["imageURL"], timeout=30).status_code == 200
        now[0] += 2
        gone = httpx.get(item["imageURL"], timeout=30)
        assert gone.status_code == 404
        assert gone.json()["errors"][0]["code"] == "imageNotFound"
        assert httpx.get(lasting["imageURL"], timeout=30).status_code == 200


def test_unknown_image_url_is_404(mock_url):
    response = httpx.get(mock_url + f"/image/ws/2/ii/{uuid.uuid4()}.jpg", timeout=30)
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "imageNotFound"


def test_evicted_image_is_rendered_again_identically():
    with run_mock_server(MockConfig(random_seed=1, cache_max_bytes=1)) as url:
        [item] = post(url, [task(seed=11, outputFormat="PNG")]).json()["data"]
        first = httpx.get(item["imageURL"], timeout=30).content
        second = httpx.get(item["imageURL"], timeout=30).content
        assert first == second and image_of(first).size == (256, 192)


def png_bytes(size=(64, 48), color=(200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()


def test_image_upload_then_use_as_reference(mock_url):
    data_uri = "data:image/png;base64," + base64.b64encode(png_bytes()).decode()
    upload = {"taskType": "imageUpload", "taskUUID": str(uuid.uuid4()), "image": data_uri}
    response = post(mock_url, [upload])
    assert response.status_code == 200, response.text
    [item] = response.json()["data"]
    result = ImageUploadResult.model_validate(item)
    assert result.task_uuid == upload["taskUUID"]
    served = httpx.get(item["imageURL"], timeout=30)
    assert served.status_code == 200 and served.content == png_bytes()

    request = task(seed=3, inputs={"referenceImages": [item["imageUUID"]]})
    response = post(mock_url, [request])
    assert response.status_code == 200, response.text
    # A generated image's UUID works as a reference too.
    generated = response.json()["data"][0]["imageUUID"]
    again = post(mock_url, [task(seed=4, inputs={"referenceImages": [generated]})])
    assert again.status_code == 200, again.text


def test_inline_reference_images_are_accepted(mock_url):
    raw = base64.b64encode(png_bytes()).decode()
    for ref in (raw, "data:image/png;base64," + raw, "https://example.com/not-fetched.png"):
        response = post(mock_url, [task(seed=1, inputs={"referenceImages": [ref]})])
        assert response.status_code == 200, response.text


def test_ping_and_authentication_tasks(mock_url):
    response = post(
        mock_url, [{"taskType": "authentication", "apiKey": "k"}, {"taskType": "ping", "ping": True}], {}
    )
    assert response.status_code == 200
    auth, pong = response.json()["data"]
    assert auth["taskType"] == "authentication"
    assert uuid.UUID(auth["connectionSessionUUID"]).version == 4
    assert pong == {"taskType": "ping", "pong": True}


def test_good_and_bad_tasks_share_one_envelope(mock_url):
    bad = task(width=1, taskUUID=str(uuid.uuid4()))
    good = task(seed=1)
    response = post(mock_url, [good, bad])
    body = response.json()
    assert response.status_code == 200
    assert [i["taskUUID"] for i in body["data"]] == [good["taskUUID"]]
    assert [(e["code"], e["taskUUID"]) for e in body["errors"]] == [("invalidWidth", bad["taskUUID"])]


def test_health_and_openapi(mock_url):
    assert httpx.get(mock_url + "/health", timeout=10).json()["status"] == "ok"
    spec = httpx.get(mock_url + "/openapi.json", timeout=10).json()
    body = spec["paths"]["/v1"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["type"] == "array"
    inference = spec["components"]["schemas"]["ImageInferenceTask"]
    assert inference["properties"]["CFGScale"]["maximum"] == 30
    assert "positivePrompt" in inference["required"]


def test_inline_results_render_in_order(mock_url):
    many = post(mock_url, [task(seed=500, numberResults=3, outputType="dataURI", outputFormat="WEBP")])
    items = many.json()["data"]
    for n, item in enumerate(items):
        [single] = post(mock_url, [task(seed=500 + n, outputType="dataURI", outputFormat="WEBP")]).json()[
            "data"
        ]
        assert item["seed"] == 500 + n
        assert item["imageDataURI"] == single["imageDataURI"]
    assert len({i["imageDataURI"] for i in items}) == 3


def test_reference_picture_is_the_visible_base(mock_url):
    red = base64.b64encode(png_bytes((300, 200), (220, 20, 20))).decode()
    with_ref = post(mock_url, [task(seed=9, outputType="base64Data", inputs={"referenceImages": [red]})])
    without = post(mock_url, [task(seed=9, outputType="base64Data")])
    red_mean, plain_mean = (
        ImageStat.Stat(image_of(base64.b64decode(r.json()["data"][0]["imageBase64Data"]))).mean
        for r in (with_ref, without)
    )
    assert red_mean[0] > red_mean[1] + 60 and red_mean[0] > red_mean[2] + 60
    assert red_mean != plain_mean


def test_documented_reference_urls_use_local_standins(mock_url):
    example = next(e for e in EXAMPLES if e.kind == "image-to-image")
    request = dict(example.request, taskUUID=str(uuid.uuid4()), outputType="base64Data")
    [item] = post(mock_url, [request]).json()["data"]
    other = dict(
        request, taskUUID=str(uuid.uuid4()), inputs={"referenceImages": ["https://example.org/x.jpg"]}
    )
    [placeholder] = post(mock_url, [other]).json()["data"]
    assert item["imageBase64Data"] != placeholder["imageBase64Data"]


def test_head_on_an_image_url(mock_url):
    [item] = post(mock_url, [task(seed=21)]).json()["data"]
    head = httpx.head(item["imageURL"], timeout=30)
    assert head.status_code == 200 and head.headers["content-type"] == "image/jpeg"


def test_openapi_task_uuids_are_v4_patterns(mock_url):
    spec = httpx.get(mock_url + "/openapi.json", timeout=10).json()
    pattern = spec["components"]["schemas"]["ImageInferenceTask"]["properties"]["taskUUID"]["pattern"]
    assert re.fullmatch(pattern, EXAMPLES[0].request["taskUUID"])
    assert not re.fullmatch(pattern, "c232ab00-9414-11ec-b3c8-9f6bdeced846")  # a v1 UUID


def test_seeds_count_up_from_the_given_one_and_wrap_at_the_maximum(mock_url):
    top = limits.SEED_MAX
    items = post(mock_url, [task(seed=top - 1, numberResults=3)]).json()["data"]
    assert [i["seed"] for i in items] == [top - 1, top, 0]
    assert all(0 <= i["seed"] <= top for i in items)
