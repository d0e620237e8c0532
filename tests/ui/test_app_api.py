"""The launched app through gradio_client, as an API caller would use it (mock backend)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError, ValidationError
from PIL import Image

from api_schema import DOCUMENTED_REFERENCE_URLS, limits, load_examples
from tests.support.appserver import ROOT, app_env, free_port, run_app

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
OUTPUTS = ("gallery", "table", "request", "response", "curl", "python", "status", "seed")


@pytest.fixture(scope="module")
def client(app_url: str) -> Client:
    return Client(app_url, verbose=False, download_files=False)


def generate(client: Client, **overrides) -> dict:
    values = client.predict(**{**DEFAULTS, **overrides}, api_name="/generate")
    out = dict(zip(OUTPUTS, values, strict=True))
    out["rows"] = [dict(zip(out["table"]["headers"], row, strict=True)) for row in out["table"]["data"]]
    out["request"] = json.loads(out["request"])
    out["response"] = json.loads(out["response"])
    return out


def image_of(client: Client, gallery_item: dict) -> Image.Image:
    """Download a gallery file through the app, as a browser would."""
    import httpx

    image = gallery_item["image"]
    url = image["url"] if isinstance(image, dict) else image
    with httpx.Client(timeout=30, trust_env=False) as http:
        resp = http.get(url)
    resp.raise_for_status()
    from io import BytesIO

    img = Image.open(BytesIO(resp.content))
    img.load()
    return img


def test_api_exposes_generate_with_runware_field_names(client: Client):
    api = client.view_api(return_format="dict", print_info=False)
    names = [p["parameter_name"] for p in api["named_endpoints"]["/generate"]["parameters"]]
    for name in ("positive_prompt", "width", "height", "seed", "steps", "cfg_scale", "number_results"):
        assert name in names
    for name in ("output_format", "output_quality", "output_type", "reference_images", "delivery_method"):
        assert name in names
    # Helper events (presets, badge, selection) are not part of the public API.
    assert set(api["named_endpoints"]) == {"/generate"}


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
    assert "127.0.0.1:8808/v1" in out["curl"] and "python -m mock_api" in out["curl"]
    assert out["request"]["taskUUID"] in out["python"]


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
    ],
)
def test_a_bad_field_is_reported_by_name_before_any_request(client: Client, overrides, code, wire):
    with pytest.raises(ValidationError) as info:
        generate(client, **overrides)
    message = str(info.value)
    (param,) = overrides
    # gradio_client names the API parameter; the message is Runware's, naming the wire field.
    assert f"- {param}: {code}: " in message
    assert f"'{wire}" in message
    assert "Traceback" not in message


def test_number_results_gives_that_many_distinct_images(client: Client):
    out = generate(client, number_results=3, seed="500", randomize_seed=False, output_format="WEBP")
    assert len(out["gallery"]) == 3
    uuids = [r["imageUUID"] for r in out["rows"]]
    assert len(set(uuids)) == 3
    assert sorted(int(r["seed"]) for r in out["rows"]) == [500, 501, 502]
    assert {image_of(client, g).format for g in out["gallery"]} == {"WEBP"}
    assert out["request"]["numberResults"] == 3


@pytest.mark.parametrize("output_type", [t for t in limits.OUTPUT_TYPES if t != "URL"])
def test_inline_output_types_are_decoded(client: Client, output_type: str):
    out = generate(client, output_type=output_type, output_format="PNG", width=256, height=256)
    assert image_of(client, out["gallery"][0]).format == "PNG"
    field = "imageBase64Data" if output_type == "base64Data" else "imageDataURI"
    assert field in out["response"]["data"][0]


def test_image_to_image_with_an_uploaded_file(client: Client, tmp_path: Path):
    ref = tmp_path / "reference.png"
    Image.new("RGB", (320, 240), (200, 40, 40)).save(ref)
    out = generate(
        client,
        positive_prompt='Turn the red card into a poster that reads "SALE"',
        reference_images=[handle_file(str(ref))],
        width=512,
        height=384,
    )
    refs = out["request"]["inputs"]["referenceImages"]
    assert len(refs) == 1 and refs[0].startswith("data:image/png;base64,")
    assert image_of(client, out["gallery"][0]).size == (512, 384)


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


def test_a_bad_setting_exits_with_code_2_and_a_clear_message():
    env = app_env(free_port(), GLM_IMAGE_BACKEND="sideways")
    proc = subprocess.run(
        [sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2
    assert "GLM_IMAGE_BACKEND" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


@pytest.mark.skipif(importlib.util.find_spec("mcp") is not None, reason="gradio[mcp] is installed here")
def test_the_mcp_switch_without_its_extra_is_a_clear_start_up_error():
    env = app_env(free_port(), GLM_IMAGE_MCP="1")
    proc = subprocess.run(
        [sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
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
        for value in out.values():
            assert secret not in json.dumps(value, default=str)
    text = log.read_text(errors="replace")
    assert "Live Runware API" not in text.splitlines()[0]  # the app itself started on the mock
    assert secret not in text and wrong not in text


def test_async_results_appear_one_by_one(client: Client):
    """With async delivery the gallery grows as images finish, not all at the end."""
    # ~2 s of simulated work per image at the in-process mock's default pace.
    job = client.submit(
        **{
            **DEFAULTS,
            "delivery_method": "async",
            "number_results": 3,
            "steps": 300,
            "width": 1024,
            "height": 1024,
        },
        api_name="/generate",
    )
    job.result(timeout=120)
    counts = [len(out[0] or []) for out in job.outputs()]
    assert counts[-1] == 3
    assert 1 in counts or 2 in counts, counts  # an update showed part of the results
    assert counts == sorted(counts), counts


def test_async_delivery_streams_until_every_image_arrives(client: Client):
    out = generate(client, delivery_method="async", number_results=2, width=256, height=256)
    assert len(out["gallery"]) == 2
    assert out["request"]["deliveryMethod"] == "async"
    assert isinstance(out["response"], list)  # the acknowledgement, then each poll
    assert "getResponse" in out["python"]
