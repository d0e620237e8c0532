"""The launched app through gradio_client, as an API caller would use it (mock backend)."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import httpx
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError, ValidationError
from PIL import Image

from api_schema import DOCUMENTED_REFERENCE_URLS, limits, load_examples
from demo.ui import fields
from mock_api.images.signs import fallback_font_path
from mock_api.testing import spawn_mock
from tests.support.appserver import ROOT, app_env, free_port, run_app
from tests.support.receiver import run_receiver
from tests.support.snippets import run_curl, run_python

pytestmark = pytest.mark.timeout(240)

DEFAULTS = {
    "positive_prompt": 'A shop window with a sign that reads "OPEN DAILY"',
    "width": 1024,
    "height": 768,
    "seed": "",
    "randomize_seed": True,
    "steps": 40,
    "cfg_scale": 7.5,
    "number_results": 1,
    "output_format": "JPG",
    "output_quality": 90,
    "output_type": "URL",
    "reference_images": [],
    "reference_urls": "",
    "delivery_method": "sync",
    "check_content": False,
    "safety_mode": "none",
    "include_cost": True,
    "ttl": None,
    "webhook_url": "",
    "upload_endpoint": "",
    "api_key": "",
}
OUTPUTS = ("gallery", "table", "request", "response", "curl", "python", "status", "seed", "text_check")
# A Latin and a Chinese quoted string, at a size the OCR still reads in the mock's previews.
BILINGUAL = 'A tea shop sign that reads "OPEN DAILY" above a banner "欢迎光临"'


@pytest.fixture(scope="module")
def client(app_url: str) -> Client:
    return Client(app_url, verbose=False, download_files=False)


def generate(client: Client, **overrides) -> dict:
    values = client.predict(**{**DEFAULTS, **overrides}, api_name="/generate")
    out = dict(zip(OUTPUTS, values, strict=True))
    out["rows"] = [dict(zip(out["table"]["headers"], row, strict=True)) for row in out["table"]["data"]]
    checks = out["text_check"]
    out["checks"] = [dict(zip(checks["headers"], row, strict=True)) for row in checks["data"]]
    out["request"] = json.loads(out["request"])
    out["response"] = json.loads(out["response"])
    return out


def fetch_image(url: str) -> Image.Image:
    with httpx.Client(timeout=30, trust_env=False) as http:
        resp = http.get(url)
    resp.raise_for_status()
    img = Image.open(BytesIO(resp.content))
    img.load()
    return img


def image_of(client: Client, gallery_item: dict) -> Image.Image:
    """Download a gallery file through the app, as a browser would."""
    image = gallery_item["image"]
    return fetch_image(image["url"] if isinstance(image, dict) else image)


def response_urls(response) -> list[str]:
    bodies = response if isinstance(response, list) else [response]
    return [i["imageURL"] for b in bodies for i in b.get("data", []) if i.get("imageURL")]


def test_the_generate_signature_is_the_field_table(client: Client):
    """One row per /generate parameter, in table order, with the table's defaults."""
    api = client.view_api(return_format="dict", print_info=False)
    params = api["named_endpoints"]["/generate"]["parameters"]
    assert [p["parameter_name"] for p in params] == list(fields.NAMES)
    for p in params:
        f = fields.field(p["parameter_name"])
        assert p["label"] == f.label and p["parameter_default"] == f.value, f.name
    for name in ("positive_prompt", "width", "height", "seed", "steps", "cfg_scale", "number_results"):
        assert name in fields.NAMES  # Runware's field names in snake_case
    wires = {f.wire for f in fields.FIELDS if f.wire}
    assert {"positivePrompt", "CFGScale", "numberResults", "inputs.referenceImages", "ttl"} <= wires
    # Helper events (presets, badge, selection, the browser's streaming run) are not public.
    assert set(api["named_endpoints"]) == {"/generate"}
    # The signature Python sees is the table's too.
    sig = fields.api_signature([])
    assert list(sig.parameters) == list(fields.NAMES)
    assert sig.parameters["positive_prompt"].default is inspect.Parameter.empty


def test_generate_returns_an_image_in_the_requested_format_with_its_metadata(client: Client):
    out = generate(client, output_format="PNG", seed=1234, randomize_seed=False)
    assert len(out["gallery"]) == 1
    img = image_of(client, out["gallery"][0])
    assert img.format == "PNG" and img.size == (1024, 768)
    row = out["rows"][0]
    assert row["seed"] == "1234" and row["file"] == "PNG 1024×768"
    item = out["response"]["data"][0]
    assert row["imageUUID"] == item["imageUUID"]
    assert float(row["cost $"]) == pytest.approx(item["cost"], abs=1e-4)
    assert out["request"]["seed"] == 1234 and out["request"]["outputFormat"] == "PNG"
    assert out["request"]["includeCost"] is True and "apiKey" not in out["request"]
    assert out["seed"] == "1234"
    assert "1 image" in out["status"]


def test_generate_returns_the_text_check_of_every_image(client: Client):
    """One row per quoted string per image, checked before /generate answers."""
    if fallback_font_path() is None:
        pytest.skip("no CJK font for the mock's previews (apt-get install fonts-wqy-zenhei)")
    out = generate(client, positive_prompt=BILINGUAL, number_results=2, width=512, height=384)
    assert out["text_check"]["headers"] == ["image", "asked for", "read", "score", "ok"]
    assert [(r["image"], r["asked for"], r["ok"]) for r in out["checks"]] == [
        (1, "OPEN DAILY", "✓"),
        (1, "欢迎光临", "✓"),
        (2, "OPEN DAILY", "✓"),
        (2, "欢迎光临", "✓"),
    ]
    assert all(isinstance(r["score"], int) and r["score"] >= 90 for r in out["checks"])
    assert [r["read"] for r in out["checks"]][1] == "欢迎光临"
    # A prompt that quotes nothing has nothing to check.
    assert generate(client, positive_prompt="A quiet harbour at dawn", width=256, height=256)["checks"] == []


def test_response_urls_and_snippets_name_the_app_itself(client: Client, app_url: str):
    """The in-process mock is served on the app's own address: what the page shows works there."""
    out = generate(client, number_results=2, width=512, height=384)
    urls = response_urls(out["response"])
    assert len(urls) == 2
    for url in urls:
        assert url.startswith(app_url + "/image/")
        assert fetch_image(url).size == (512, 384)
    assert f"curl -sS {app_url}/v1" in out["curl"] and "served by this app" in out["curl"]
    assert f'URL = "{app_url}/v1"' in out["python"]
    answer = run_curl(out["curl"])
    assert [i["seed"] for i in answer["data"]] != [] and answer["data"][0]["taskUUID"] != out["request"][
        "taskUUID"
    ]
    printed = run_python(out["python"])
    assert len(printed) == 2 and all(fetch_image(i["url"]).size == (512, 384) for i in printed)
    # Only the API is served there: the mock's admin surface is not.
    with httpx.Client(timeout=10, trust_env=False) as http:
        assert "requests" not in http.get(app_url + "/__admin/requests").text
        assert http.post(app_url + "/__admin/reset").status_code in (404, 405)


@pytest.mark.parametrize("example", load_examples(), ids=lambda e: e.slug)
def test_each_documented_example_reproduces_its_documented_values(client: Client, example):
    req = example.request
    documented = example.response["data"][0]
    refs = (req.get("inputs") or {}).get("referenceImages") or []
    out = generate(
        client,
        positive_prompt=req["positivePrompt"],
        width=req["width"],
        height=req["height"],
        seed=req["seed"],
        randomize_seed=False,
        steps=req["steps"],
        cfg_scale=req["CFGScale"],
        reference_urls="\n".join(refs),
    )
    assert len(out["rows"]) == 1
    row = out["rows"][0]
    assert row["imageUUID"] == documented["imageUUID"]
    assert row["seed"] == str(documented["seed"])
    assert row["cost $"] == f"{documented['cost']:.4f}"
    sent = out["request"]
    for key in ("positivePrompt", "width", "height", "seed", "steps", "CFGScale", "model"):
        assert sent[key] == req[key]
    assert sent.get("inputs") == req.get("inputs")
    if refs:
        assert refs[0] in DOCUMENTED_REFERENCE_URLS
    assert image_of(client, out["gallery"][0]).size == (req["width"], req["height"])


@pytest.mark.parametrize(
    ("overrides", "code", "wire"),
    [
        ({"positive_prompt": "x"}, "invalidPositivePrompt", "positivePrompt"),
        ({"width": 5000}, "invalidWidth", "width"),
        ({"cfg_scale": 0.5}, "invalidCFGScale", "CFGScale"),
        ({"number_results": 21}, "invalidNumberResults", "numberResults"),
        ({"output_format": "GIF"}, "invalidOutputFormat", "outputFormat"),
        ({"reference_urls": "ftp://example.com/a.png"}, "invalidReferenceImages", "inputs.referenceImages"),
        ({"webhook_url": "not a url"}, "invalidWebhookURL", "webhookURL"),
        # Python itself refuses to convert so many digits; the visitor still gets invalidSeed.
        ({"seed": "9" * 4301, "randomize_seed": False}, "invalidSeed", "seed"),
        ({"ttl": "1" * 5000}, "invalidTtl", "ttl"),
    ],
)
def test_a_bad_field_is_reported_by_name_before_any_request(client: Client, overrides, code, wire):
    with pytest.raises(ValidationError) as info:
        generate(client, **overrides)
    message = str(info.value)
    param = next(iter(overrides))
    assert "Exceeds the limit" not in message
    # gradio_client names the API parameter; the message is Runware's, naming the wire field.
    assert f"- {param}: {code}: " in message
    assert f"'{wire}" in message
    assert "Traceback" not in message


def test_number_results_gives_that_many_distinct_images(client: Client):
    out = generate(client, number_results=3, seed="500", randomize_seed=False, output_format="WEBP")
    assert len(out["gallery"]) == 3
    uuids = [r["imageUUID"] for r in out["rows"]]
    assert len(set(uuids)) == 3
    assert [r["seed"] for r in out["rows"]] == ["500", "501", "502"]  # request order
    assert {image_of(client, g).format for g in out["gallery"]} == {"WEBP"}
    assert out["request"]["numberResults"] == 3


@pytest.mark.parametrize("output_type", [t for t in limits.OUTPUT_TYPES if t != "URL"])
def test_inline_output_types_are_decoded(client: Client, output_type: str):
    out = generate(client, output_type=output_type, output_format="PNG", width=256, height=256)
    assert image_of(client, out["gallery"][0]).format == "PNG"
    field = "imageBase64Data" if output_type == "base64Data" else "imageDataURI"
    assert field in out["response"]["data"][0]


def test_an_uploaded_file_that_is_not_an_image_is_refused(client: Client, tmp_path: Path):
    bogus = tmp_path / "notes.png"
    bogus.write_text("not an image")
    with pytest.raises(ValidationError) as info:
        generate(client, reference_images=[handle_file(str(bogus))])
    assert "- reference_images: invalidReferenceImages: " in str(info.value)


def test_a_generated_image_can_be_the_next_reference(client: Client):
    first = generate(client, width=512, height=512)
    uuid = first["rows"][0]["imageUUID"]
    second = generate(client, reference_urls=uuid, positive_prompt='Add a banner that reads "STEP 2"')
    assert second["request"]["inputs"]["referenceImages"] == [uuid]
    assert len(second["gallery"]) == 1
    # The imageUUID lives in the app's in-process mock, which the snippet names: it runs as printed.
    assert "errors" not in run_curl(second["curl"])


def test_a_bad_setting_exits_with_code_2_and_a_clear_message():
    env = app_env(free_port(), GLM_IMAGE_BACKEND="sideways")
    proc = subprocess.run(
        [sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2
    assert "GLM_IMAGE_BACKEND" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_the_mcp_switch_without_its_extra_is_a_clear_start_up_error():
    env = app_env(free_port(), GLM_IMAGE_MCP="1")
    # A machine without gradio[mcp]: the mcp package cannot be imported.
    without_mcp = (
        "import runpy, sys; sys.modules['mcp'] = None; runpy.run_path('app.py', run_name='__main__')"
    )
    proc = subprocess.run(
        [sys.executable, "-c", without_mcp], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2
    assert "gradio[mcp]" in proc.stderr and "Traceback" not in proc.stderr


def test_a_visitor_key_goes_to_the_live_url_only_and_is_never_echoed(tmp_path: Path):
    """A visitor key switches the session to 'live'; here live is a local mock that checks keys."""
    from mock_api import MockConfig
    from mock_api.testing import run_mock_server

    secret = "sk-visitor-0123456789abcdef"
    wrong = "sk-wrong-key-fedcba9876543210"
    log = tmp_path / "app.log"
    checked = MockConfig(require_key=secret)
    with run_mock_server(checked) as mock, run_app(log, RUNWARE_API_URL=f"{mock}/v1") as url:
        client = Client(url, verbose=False, download_files=False)
        # A rejected key: Runware's code and message, no traceback, no key.
        with pytest.raises(AppError) as info:
            generate(client, api_key=wrong)
        assert "invalidApiKey" in str(info.value)
        assert wrong not in str(info.value) and "Traceback" not in str(info.value)

        out = generate(client, api_key=secret)
        assert len(out["gallery"]) == 1
        assert "live API" in out["status"]
        assert f"{mock}/v1" in out["curl"] and "$RUNWARE_API_KEY" in out["curl"]
        assert "uses your credits" in out["curl"]
        for value in out.values():
            assert secret not in json.dumps(value, default=str)
    text = log.read_text(errors="replace")
    assert "Live Runware API" not in text.splitlines()[0]  # the app itself started on the mock
    assert secret not in text and wrong not in text


@pytest.mark.parametrize("bad", ["upload", "typed"])
def test_a_rejected_reference_is_blamed_on_the_field_it_came_from(client: Client, tmp_path: Path, bad: str):
    """The request lists the uploads, then the typed references: the index tells which."""
    huge, small = tmp_path / "huge.png", tmp_path / "small.png"
    Image.new("RGB", (8000, 8000), "white").save(huge)  # past the mock's 8192 px / 16.8 MP limit
    Image.new("RGB", (256, 256), "white").save(small)
    unknown = "3f1c9a52-3a4b-4c5d-8e6f-0123456789ab"  # a valid UUID v4, never uploaded
    typed = unknown if bad == "typed" else ""
    upload = small if bad == "typed" else huge
    with pytest.raises(AppError) as info:
        generate(client, reference_images=[handle_file(str(upload))], reference_urls=typed)
    text = str(info.value)
    assert "invalidReferenceImages" in text
    if bad == "upload":
        assert "Reference images › Upload reference images:" in text and "Reference URLs" not in text
    else:
        assert "Reference images › Reference URLs or imageUUIDs:" in text and unknown in text
        assert "Upload reference images" not in text


@pytest.mark.parametrize(
    ("config", "code", "hint"),
    [
        ({"account_balance": 0.0}, "insufficientCredits", "top it up"),
        ({"fault_rate": 1.0, "fault_kinds": ["403"]}, "insufficientPermissions", "permissions"),
    ],
)
def test_an_empty_balance_or_a_key_without_permission_says_what_to_do(config, code, hint):
    """402 and 403 are final: Runware's code and message, then what the visitor can do."""
    from mock_api import MockConfig
    from mock_api.testing import run_mock_server

    with run_mock_server(MockConfig(**config)) as mock, run_app(RUNWARE_API_URL=f"{mock}/v1") as url:
        client = Client(url, verbose=False, download_files=False)
        with pytest.raises(AppError) as info:
            generate(client, api_key="sk-visitor-with-no-money")
    text = str(info.value)
    assert code in text and hint in text and "mock backend" in text
    assert "sk-visitor-with-no-money" not in text


@pytest.mark.parametrize("delivery", ["sync", "async"])
def test_generate_answers_once_with_one_file_per_image(app_url: str, delivery: str):
    """The public API is not a stream: one output, 20 files (partial views are the browser's).

    Streaming every partial gallery made a default gradio_client call download each
    file again per update (~250 downloads for 20 images); one answer downloads 20.
    """
    downloading = Client(app_url, verbose=False)  # download_files on, as callers get it
    job = downloading.submit(
        **{**DEFAULTS, "number_results": 20, "width": 256, "height": 256, "delivery_method": delivery},
        api_name="/generate",
    )
    job.result(timeout=180)
    outputs = job.outputs()
    assert len(outputs) == 1
    gallery = outputs[0][0]
    assert len(gallery) == 20
    assert all(Path(item["image"]).is_file() for item in gallery)


@pytest.mark.parametrize("randomize", [False, True])
def test_seeds_come_back_in_request_order(client: Client, randomize: bool):
    """Seed 42 x4, twice: 42..45 both times, and /generate returns the first image's seed."""
    runs = [generate(client, seed="42", randomize_seed=randomize, number_results=4) for _ in range(2)]
    for out in runs:
        seeds = [int(r["seed"]) for r in out["rows"]]
        assert out["seed"] == str(seeds[0])
        assert seeds == [s["seed"] for s in out["response"]["data"]]  # as the API listed them
        # Randomized, the app picks one seed and sends it: image i has seed + i, as the Seed
        # hint says, so the first seed repeats the whole run.
        first = 42 if not randomize else out["request"]["seed"]
        assert seeds == [first + i for i in range(4)]
    if randomize:
        assert runs[0]["seed"] != runs[1]["seed"]
        assert 0 <= int(runs[0]["seed"]) <= limits.RANDOM_SEED_MAX  # the API's own random range


def test_the_largest_seed_is_shown_as_the_api_returns_it(client: Client):
    out = generate(client, seed=str(limits.SEED_MAX), randomize_seed=False, number_results=3)
    seeds = [int(r["seed"]) for r in out["rows"]]
    assert seeds == [s["seed"] for s in out["response"]["data"]]
    assert seeds[0] == limits.SEED_MAX and out["seed"] == str(limits.SEED_MAX)


def test_an_upload_run_has_snippets_that_run_anywhere(client: Client, app_url: str, tmp_path: Path):
    """The uploaded reference is in the snippets in full: they run against a fresh
    `python -m mock_api` and against the app's own /v1; every Response JSON URL resolves."""
    ref = tmp_path / "reference.png"
    Image.effect_noise((160, 120), 60).convert("RGB").save(ref)  # ~20 KB: no shortcut through a tiny file
    out = generate(
        client,
        positive_prompt='Turn the card into a poster that reads "SALE"',
        reference_images=[handle_file(str(ref))],
        width=256,
        height=256,
    )
    refs = out["request"]["inputs"]["referenceImages"]
    assert len(refs) == 1 and refs[0].startswith("data:image/png;base64,")
    assert image_of(client, out["gallery"][0]).size == (256, 256)
    assert "characters)" in json.dumps(out["request"])  # the page's JSON view is shortened...
    for snippet in (out["curl"], out["python"]):
        assert "characters)" not in snippet and "…" not in snippet  # ...the snippets are not
    for url in response_urls(out["response"]):
        assert fetch_image(url).size == (256, 256)
    with spawn_mock() as mock:
        for endpoint in (f"{mock.url}/v1", None):  # None: as printed, the app's own /v1
            answer = run_curl(out["curl"], endpoint)
            assert "errors" not in answer, answer
            assert fetch_image(answer["data"][0]["imageURL"]).size == (256, 256)
            (printed,) = run_python(out["python"], endpoint)
            assert fetch_image(printed["url"]).size == (256, 256)


@pytest.fixture(scope="module")
def delivering_client() -> Iterator[Client]:
    """An app whose in-process mock may deliver to this machine (off by default)."""
    with run_app(GLM_IMAGE_MOCK_OUTBOUND="1") as url:
        yield Client(url, verbose=False, download_files=False)


def test_a_webhook_run_says_where_the_results_went(delivering_client: Client):
    client = delivering_client
    with run_receiver() as hook:
        out = generate(client, webhook_url=f"{hook.url}/hook", number_results=2, width=256, height=256)
        hits = hook.wait_for(2)
    assert len([h for h in hits if h.method == "POST"]) == 2
    assert "Sent to your webhook" in out["status"] and f"{hook.url}/hook" in out["status"]
    assert "2 results" in out["status"] and "0 images" not in out["status"]
    assert out["gallery"] == [] and out["rows"] == [] and out["checks"] == []


def test_an_upload_endpoint_run_says_so(delivering_client: Client):
    client = delivering_client
    with run_receiver() as bucket:
        out = generate(client, upload_endpoint=f"{bucket.url}/put", width=256, height=256)
        (hit,) = bucket.wait_for(1)
    assert hit.method == "PUT" and hit.body
    assert "Done" in out["status"] and "HTTP PUT" in out["status"] and f"{bucket.url}/put" in out["status"]


def test_async_delivery_streams_until_every_image_arrives(client: Client):
    out = generate(client, delivery_method="async", number_results=2, width=256, height=256)
    assert len(out["gallery"]) == 2
    assert out["request"]["deliveryMethod"] == "async"
    assert isinstance(out["response"], list)  # the acknowledgement, then each poll
    assert "getResponse" in out["python"]
