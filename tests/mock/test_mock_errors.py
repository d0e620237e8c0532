"""Bad input to the mock: every case gets a Runware error item, never a 500."""

from __future__ import annotations

import base64
import json
import uuid

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mock_api import MockConfig
from mock_api.testing import run_mock_server

AUTH = {"Authorization": "Bearer test-key"}
GOOD_UUID = "9b2f5a3c-4d1e-4f6a-8b7c-1d2e3f4a5b6c"
# PNG signature followed by junk: passes the schema's sniffing, fails decoding.
FAKE_PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40).decode()
MISSING = object()


def task(**fields):
    base = {
        "taskType": "imageInference",
        "taskUUID": GOOD_UUID,
        "model": "runware:glm-image@0",
        "positivePrompt": "a lighthouse at dusk",
        "width": 256,
        "height": 256,
    }
    for name, value in fields.items():
        if value is MISSING:
            base.pop(name, None)
        else:
            base[name] = value
    return base


def refs(*values):
    return {"inputs": {"referenceImages": list(values)}}


# (id, task, expected codes in order, expected parameters in order)
BAD_TASKS = [
    ("width-low", task(width=127), ["invalidWidth"], ["width"]),
    ("width-high", task(width=2049), ["invalidWidth"], ["width"]),
    ("width-float", task(width=256.0), ["invalidWidth"], ["width"]),
    ("width-string", task(width="256"), ["invalidWidth"], ["width"]),
    ("height-without-width", task(width=MISSING), ["invalidWidth"], ["width"]),
    ("width-without-height", task(height=MISSING), ["invalidHeight"], ["height"]),
    # Both are "Required: true" on the model page: no 1024x1024 default on the wire.
    (
        "size-missing",
        task(width=MISSING, height=MISSING),
        ["invalidWidth", "invalidHeight"],
        ["width", "height"],
    ),
    ("width-null", task(width=None), ["invalidWidth"], ["width"]),
    ("height-zero", task(height=0), ["invalidHeight"], ["height"]),
    ("prompt-short", task(positivePrompt="a"), ["invalidPositivePrompt"], ["positivePrompt"]),
    ("prompt-long", task(positivePrompt="x" * 3001), ["invalidPositivePrompt"], ["positivePrompt"]),
    ("prompt-blank", task(positivePrompt="   "), ["invalidPositivePrompt"], ["positivePrompt"]),
    ("prompt-missing", task(positivePrompt=MISSING), ["invalidPositivePrompt"], ["positivePrompt"]),
    ("prompt-number", task(positivePrompt=42), ["invalidPositivePrompt"], ["positivePrompt"]),
    ("seed-negative", task(seed=-1), ["invalidSeed"], ["seed"]),
    ("seed-too-big", task(seed=2**63), ["invalidSeed"], ["seed"]),
    ("steps-zero", task(steps=0), ["invalidSteps"], ["steps"]),
    ("steps-1000", task(steps=1000), ["invalidSteps"], ["steps"]),
    ("cfg-low", task(CFGScale=0.99), ["invalidCFGScale"], ["CFGScale"]),
    ("cfg-high", task(CFGScale=30.01), ["invalidCFGScale"], ["CFGScale"]),
    ("cfg-step", task(CFGScale=7.555), ["invalidCFGScale"], ["CFGScale"]),
    ("cfg-string", task(CFGScale="7.5"), ["invalidCFGScale"], ["CFGScale"]),
    ("results-zero", task(numberResults=0), ["invalidNumberResults"], ["numberResults"]),
    ("results-21", task(numberResults=21), ["invalidNumberResults"], ["numberResults"]),
    ("output-type", task(outputType="PNG"), ["invalidOutputType"], ["outputType"]),
    ("output-format", task(outputFormat="GIF"), ["invalidOutputFormat"], ["outputFormat"]),
    ("quality-low", task(outputQuality=19), ["invalidOutputQuality"], ["outputQuality"]),
    ("quality-high", task(outputQuality=100), ["invalidOutputQuality"], ["outputQuality"]),
    ("ttl-short", task(ttl=59), ["invalidTtl"], ["ttl"]),
    ("model", task(model="runware:other@1"), ["invalidModel"], ["model"]),
    ("model-missing", task(model=MISSING), ["invalidModel"], ["model"]),  # required on the wire
    ("task-uuid", task(taskUUID="not-a-uuid"), ["invalidTaskUUID"], ["taskUUID"]),
    (
        "task-uuid-v1",
        task(taskUUID="c232ab00-9414-11ec-b3c8-9f6bdeced846"),
        ["invalidTaskUUID"],
        ["taskUUID"],
    ),
    ("task-uuid-missing", task(taskUUID=MISSING), ["invalidTaskUUID"], ["taskUUID"]),
    ("delivery", task(deliveryMethod="later"), ["invalidDeliveryMethod"], ["deliveryMethod"]),
    ("webhook-scheme", task(webhookURL="ftp://example.com/x"), ["invalidWebhookURL"], ["webhookURL"]),
    ("safety-mode", task(safety={"mode": "slow"}), ["invalidSafetyMode"], ["safety.mode"]),
    ("safety-type", task(safety=True), ["invalidSafety"], ["safety"]),
    ("include-cost", task(includeCost="yes"), ["invalidIncludeCost"], ["includeCost"]),
    ("typo", task(cfgScale=7.5), ["unsupportedParameter"], ["cfgScale"]),
    ("ref-garbage", task(**refs("not an image")), ["invalidReferenceImages"], ["inputs.referenceImages"]),
    ("ref-not-list", task(**refs()) | {"inputs": {"referenceImages": "x"}}, ["invalidReferenceImages"], None),
    ("ref-unknown-uuid", task(**refs(str(uuid.UUID(int=7, version=4)))), ["invalidReferenceImages"], None),
    ("ref-undecodable", task(**refs(FAKE_PNG)), ["invalidReferenceImages"], ["inputs.referenceImages"]),
    ("ref-scheme", task(**refs("ftp://example.com/a.png")), ["invalidReferenceImages"], None),
    ("two-violations", task(width=1, steps=0), ["invalidWidth", "invalidSteps"], ["width", "steps"]),
    (
        "task-type-unknown",
        {"taskType": "imageMagic", "taskUUID": GOOD_UUID},
        ["invalidTaskType"],
        ["taskType"],
    ),
    ("task-type-missing", {"taskUUID": GOOD_UUID}, ["invalidTaskType"], ["taskType"]),
    ("task-not-object", 5, ["invalidRequestBody"], [None]),
    (
        "upload-bad",
        {"taskType": "imageUpload", "taskUUID": GOOD_UUID, "image": FAKE_PNG},
        ["invalidImage"],
        ["image"],
    ),
    (  # a URL is one of the documented forms (never fetched): accepted
        "upload-url",
        {"taskType": "imageUpload", "taskUUID": GOOD_UUID, "image": "https://x.org/a.png"},
        [],
        None,
    ),
    (
        "upload-uuid",
        {"taskType": "imageUpload", "taskUUID": GOOD_UUID, "image": GOOD_UUID},
        ["invalidImage"],
        ["image"],
    ),
    ("ping-type", {"taskType": "ping", "ping": "yes"}, ["invalidPing"], ["ping"]),
]


@pytest.mark.parametrize(
    ("raw", "codes", "params"), [c[1:] for c in BAD_TASKS], ids=[c[0] for c in BAD_TASKS]
)
def test_bad_task_table(mock_url, raw, codes, params):
    if isinstance(raw, dict) and raw.get("taskUUID") == GOOD_UUID:
        raw = {**raw, "taskUUID": str(uuid.uuid4())}  # a reused taskUUID would be a conflict
    response = httpx.post(mock_url + "/v1", json=[raw], headers=AUTH, timeout=30)
    body = response.json()
    if not codes:
        assert response.status_code == 200, body
        return
    assert response.status_code == 400, body
    assert "data" not in body
    assert [e["code"] for e in body["errors"]] == codes
    if params is not None:
        assert [e.get("parameter") for e in body["errors"]] == params
    for error in body["errors"]:
        assert error["message"]
        if isinstance(raw, dict) and isinstance(raw.get("taskUUID"), str):
            assert error["taskUUID"] == raw["taskUUID"]


def test_reference_error_names_the_index(mock_url):
    raw = task(**refs("https://example.com/fine.png", FAKE_PNG), taskUUID=str(uuid.uuid4()))
    body = httpx.post(mock_url + "/v1", json=[raw], headers=AUTH, timeout=30).json()
    [error] = body["errors"]
    assert "inputs.referenceImages[1]" in error["message"]


def test_reference_too_large_is_refused():
    with run_mock_server(MockConfig(max_reference_bytes=1000)) as url:
        big = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 4000).decode()
        response = httpx.post(url + "/v1", json=[task(**refs(big))], headers=AUTH, timeout=30)
        assert response.status_code == 400
        assert "limit" in response.json()["errors"][0]["message"]


def raw_post(url: str, content: bytes, content_type: str | None = "application/json", headers=AUTH):
    hdrs = dict(headers)
    if content_type is not None:
        hdrs["Content-Type"] = content_type
    return httpx.post(url + "/v1", content=content, headers=hdrs, timeout=30)


BAD_BODIES = [
    ("not-json", b"[{", "application/json", "not valid JSON"),
    ("object", b'{"taskType": "ping"}', "application/json", "JSON array"),
    ("string", b'"ping"', "application/json", "JSON array"),
    ("empty-array", b"[]", "application/json", "empty array"),
    ("empty-body", b"", "application/json", "empty"),
    ("nan", b'[{"taskType": "ping", "ping": NaN}]', "application/json", "not valid JSON"),
    ("not-utf8", b"[\xff\xfe\xfa]", "application/json", "not valid JSON"),
    ("deep-nesting", b"[" * 100_000 + b"]" * 100_000, "application/json", "not valid JSON"),
    ("text-plain", b'[{"taskType": "ping"}]', "text/plain", "Content-Type"),
    ("form", b"a=b", "application/x-www-form-urlencoded", "Content-Type"),
    ("too-many-tasks", json.dumps([{"taskType": "ping"}] * 101).encode(), "application/json", "At most"),
]


@pytest.mark.parametrize(
    ("content", "ctype", "words"), [b[1:] for b in BAD_BODIES], ids=[b[0] for b in BAD_BODIES]
)
def test_malformed_bodies_are_400(mock_url, content, ctype, words):
    response = raw_post(mock_url, content, ctype)
    assert response.status_code == 400, response.text
    [error] = response.json()["errors"]
    assert error["code"] == "invalidRequestBody"
    assert words in error["message"]


def test_missing_content_type_is_accepted(mock_url):
    response = raw_post(mock_url, b'[{"taskType": "ping", "ping": true}]', None)
    assert response.status_code == 200


def test_body_over_the_limit_is_413():
    with run_mock_server(MockConfig(max_body_bytes=10_000)) as url:
        prompt = "x" * 20_000
        response = raw_post(url, json.dumps([task(positivePrompt=prompt)]).encode())
        assert response.status_code == 413
        assert response.json()["errors"][0]["code"] == "requestTooLarge"

        def chunks():  # no Content-Length: the limit holds while streaming too
            for _ in range(20):
                yield b" " * 1000

        streamed = httpx.post(
            url + "/v1", content=chunks(), headers={**AUTH, "Content-Type": "application/json"}, timeout=30
        )
        assert streamed.status_code == 413
        # The server is still fine afterwards.
        assert raw_post(url, b'[{"taskType": "ping", "ping": true}]').status_code == 200


@pytest.mark.parametrize(
    ("headers", "tasks"),
    [
        ({}, [{"taskType": "ping", "ping": True}]),
        ({"Authorization": "Bearer"}, [{"taskType": "ping", "ping": True}]),
        ({"Authorization": "Basic abc"}, [{"taskType": "ping", "ping": True}]),
        ({}, [{"taskType": "authentication", "apiKey": ""}]),
        ({}, [{"taskType": "authentication", "apiKey": 123}]),
    ],
    ids=["none", "empty-bearer", "basic", "empty-auth-task", "non-string-key"],
)
def test_missing_key_is_401(mock_url, headers, tasks):
    response = httpx.post(mock_url + "/v1", json=tasks, headers=headers, timeout=30)
    assert response.status_code == 401
    [error] = response.json()["errors"]
    assert error["code"] == "invalidApiKey"
    assert error["parameter"] == "apiKey"


def test_require_key_checks_header_and_auth_task():
    secret = "s3cret-key-value"
    with run_mock_server(MockConfig(require_key=secret)) as url:
        ping = [{"taskType": "ping", "ping": True}]
        ok = httpx.post(url + "/v1", json=ping, headers={"Authorization": f"Bearer {secret}"}, timeout=30)
        assert ok.status_code == 200
        wrong = httpx.post(url + "/v1", json=ping, headers={"Authorization": "Bearer nope-key"}, timeout=30)
        assert wrong.status_code == 401
        assert "nope-key" not in wrong.text and secret not in wrong.text
        by_task = httpx.post(
            url + "/v1", json=[{"taskType": "authentication", "apiKey": secret}, *ping], timeout=30
        )
        assert by_task.status_code == 200
        assert [i["taskType"] for i in by_task.json()["data"]] == ["authentication", "ping"]
        bad_task = httpx.post(
            url + "/v1", json=[{"taskType": "authentication", "apiKey": "other"}], timeout=30
        )
        assert bad_task.status_code == 401
        assert "other" not in bad_task.text
        assert secret not in repr(MockConfig(require_key=secret))


def test_unknown_route_and_method_are_runware_shaped(mock_url):
    missing = httpx.get(mock_url + "/v2", timeout=10)
    assert missing.status_code == 404 and missing.json()["errors"][0]["code"] == "notFound"
    wrong = httpx.get(mock_url + "/v1", timeout=10)
    assert wrong.status_code == 405 and wrong.json()["errors"][0]["code"] == "methodNotAllowed"
    assert wrong.headers["allow"] == "POST"


# Any code point, lone surrogates included: JSON carries them as \\u escapes.
any_text = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=20)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | any_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4),
    max_leaves=12,
)
FIELDS = ["taskType", "taskUUID", "model", "positivePrompt", "width", "height", "seed", "steps", "CFGScale"]
FIELDS += ["numberResults", "outputType", "outputFormat", "outputQuality", "ttl", "includeCost", "inputs"]
FIELDS += ["safety", "deliveryMethod", "image", "apiKey", "ping"]


@st.composite
def mutated_tasks(draw):
    raw = task(taskUUID=str(uuid.uuid4()))
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=3)):
        raw[name] = draw(json_values)
    if draw(st.booleans()):
        raw["taskType"] = draw(st.sampled_from(["imageInference", "imageUpload", "ping", "authentication"]))
    return raw


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=st.one_of(json_values, st.lists(mutated_tasks(), min_size=1, max_size=3)))
def test_no_input_gives_a_500(mock_url, body):
    content = json.dumps(body).encode()  # ASCII, so lone surrogates travel as escapes
    headers = {**AUTH, "Content-Type": "application/json"}
    response = httpx.post(mock_url + "/v1", content=content, headers=headers, timeout=30)
    assert response.status_code in (200, 400, 401), response.text
    payload = response.json()
    assert set(payload) <= {"data", "errors"} and payload
    for error in payload.get("errors", []):
        assert error["code"] and error["message"]


@pytest.mark.parametrize(
    "body",
    [
        [{"taskType": "authentication", "apiKey": "\ud800"}],
        [{"taskType": "\ud800"}],
        [task(taskUUID="\udfff")],
        [task(positivePrompt='a sign "\ud800"')],
        [{**task(), "\ud800": 1}],
    ],
    ids=["api-key", "task-type", "task-uuid", "prompt", "field-name"],
)
def test_lone_surrogates_are_answered_not_crashed_on(body):
    with run_mock_server(MockConfig(require_key="right-key")) as url:
        content = json.dumps(body).encode()
        headers = {"Authorization": "Bearer right-key", "Content-Type": "application/json"}
        if body[0].get("taskType") == "authentication":
            del headers["Authorization"]
        response = httpx.post(url + "/v1", content=content, headers=headers, timeout=30)
        assert response.status_code in (400, 401), response.text
        assert response.json()["errors"][0]["code"]
