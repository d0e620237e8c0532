"""api_schema: every documented bound at its edge and one step past it."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

import api_schema as A
from api_schema import limits as L

UUID = "03ada9c5-16e0-409a-b2b7-9c77d7b51757"


def base(**extra):
    task = {
        "taskType": "imageInference",
        "taskUUID": UUID,
        "model": "runware:glm-image@0",
        "positivePrompt": 'a sign that reads "HELLO"',
        "width": 1024,
        "height": 1024,
    }
    task.update(extra)
    return task


def errors_of(task):
    parsed, errs = A.parse_task(task)
    assert (parsed is None) == bool(errs)
    return errs


def png_bytes(fmt="PNG"):
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buf, fmt)
    return buf.getvalue()


# (wire field, accepted edge values, rejected values, code)
BOUNDS = [
    ("width", [128, 2048], [127, 2049], "invalidWidth"),
    ("height", [128, 2048], [127, 2049], "invalidHeight"),
    ("seed", [0, 2**63 - 1], [-1, 2**63], "invalidSeed"),
    ("steps", [1, 999], [0, 1000], "invalidSteps"),
    ("CFGScale", [1, 30, 1.0, 29.99, 7.5], [0.99, 30.01], "invalidCFGScale"),
    ("numberResults", [1, 20], [0, 21], "invalidNumberResults"),
    ("outputQuality", [20, 99], [19, 100], "invalidOutputQuality"),
    ("ttl", [60, 86400], [59, 0], "invalidTtl"),
]


def _with(field, value):
    if field in ("width", "height"):
        return base(width=value if field == "width" else 1024, height=value if field == "height" else 1024)
    return base(**{field: value})


@pytest.mark.parametrize(("field", "ok", "bad", "code"), BOUNDS)
def test_numeric_bounds(field, ok, bad, code):
    for value in ok:
        assert errors_of(_with(field, value)) == [], (field, value)
    for value in bad:
        errs = errors_of(_with(field, value))
        assert len(errs) == 1, (field, value, errs)
        err = errs[0]
        assert err.code == code and err.parameter == field
        assert field in err.message
        rng = {
            "width": L.WIDTH,
            "height": L.HEIGHT,
            "seed": L.SEED,
            "steps": L.STEPS,
            "CFGScale": L.CFG_SCALE,
            "numberResults": L.NUMBER_RESULTS,
            "outputQuality": L.OUTPUT_QUALITY,
            "ttl": L.TTL,
        }[field]
        assert str(int(rng.minimum)) in err.message
        assert err.task_uuid == UUID and err.task_type == "imageInference"
        assert err.documentation.startswith(L.DOCS_URL)


def test_prompt_length_edges():
    assert errors_of(base(positivePrompt="ab")) == []
    assert errors_of(base(positivePrompt="a" * 3000)) == []
    for bad in ("a", "a" * 3001, "", "   "):
        (err,) = errors_of(base(positivePrompt=bad))
        assert err.code == "invalidPositivePrompt" and err.parameter == "positivePrompt"
    (err,) = errors_of(base(positivePrompt="a" * 3001))
    assert "3000" in err.message and "3001" in err.message


def test_seed_max_is_2_63_minus_1_not_the_rounded_float():
    assert errors_of(base(seed=9223372036854775807)) == []
    (err,) = errors_of(base(seed=9223372036854776000))
    assert err.code == "invalidSeed"


def test_cfg_scale_step_is_hundredths():
    assert errors_of(base(CFGScale=7.55)) == []
    (err,) = errors_of(base(CFGScale=7.555))
    assert err.code == "invalidCFGScale" and "0.01" in err.message


def test_defaults_match_the_model_page():
    t = A.ImageInferenceTask(task_uuid=UUID, positive_prompt="hi there")
    assert (t.steps, t.cfg_scale, t.number_results, t.output_quality) == (100, 10, 1, 95)
    assert (t.output_type, t.output_format, t.delivery_method) == ("URL", "JPG", "sync")
    assert (t.effective_width, t.effective_height) == (1024, 1024)
    assert t.include_cost is False and t.safety is None and t.seed is None
    assert not t.safety_enabled


@pytest.mark.parametrize("missing", ["width", "height"])
def test_width_and_height_are_required_on_the_wire(missing):
    # The model page marks both "Required: true": a task without one is refused, not answered at 1024.
    (err,) = errors_of({k: v for k, v in base().items() if k != missing})
    assert err.parameter == missing and err.code == f"invalid{missing.title()}"
    assert err.message == f"Missing required parameter '{missing}'."
    (err,) = errors_of(base(**{missing: None}))  # a JSON null is no value either
    assert err.parameter == missing and "Missing" in err.message
    errs = errors_of({k: v for k, v in base().items() if k not in ("width", "height")})
    assert [(e.code, e.parameter) for e in errs] == [("invalidWidth", "width"), ("invalidHeight", "height")]


@pytest.mark.parametrize(("given", "missing"), [({"width": 1024}, "height"), ({"height": 768}, "width")])
def test_python_code_may_leave_out_both_but_not_one(given, missing):
    wire = A.ImageInferenceTask(task_uuid=UUID, positive_prompt="hi there").to_wire()
    assert (wire["width"], wire["height"]) == (1024, 1024)
    assert errors_of(wire) == []
    with pytest.raises(ValueError, match="together"):
        A.ImageInferenceTask(task_uuid=UUID, positive_prompt="hi there", **given)


@pytest.mark.parametrize(
    ("field", "values", "code"),
    [
        ("outputType", ["URL", "base64Data", "dataURI"], "invalidOutputType"),
        ("outputFormat", ["JPG", "PNG", "WEBP"], "invalidOutputFormat"),
        ("deliveryMethod", ["sync", "async"], "invalidDeliveryMethod"),
    ],
)
def test_enums(field, values, code):
    for value in values:
        assert errors_of(base(**{field: value})) == []
    (err,) = errors_of(base(**{field: "TIFF"}))
    assert err.code == code and all(v in err.message for v in values)


def test_model_and_task_uuid():
    (err,) = errors_of(base(model="runware:flux@1"))
    assert err.code == "invalidModel" and "runware:glm-image@0" in err.message
    for bad in ("not-a-uuid", "03ada9c5-16e0-109a-b2b7-9c77d7b51757", 42):
        (err,) = errors_of(base(taskUUID=bad))
        assert err.code == "invalidTaskUUID"
    (err,) = errors_of({k: v for k, v in base().items() if k != "taskUUID"})
    assert err.code == "invalidTaskUUID" and "Missing" in err.message


def test_required_fields():
    errs = errors_of({"taskType": "imageInference"})
    assert {e.parameter for e in errs} == {"taskUUID", "positivePrompt", "model", "width", "height"}


def test_safety_and_flags():
    assert errors_of(base(safety={"checkContent": True})) == []
    t = A.ImageInferenceTask.model_validate(base(safety={"checkContent": True}))
    assert t.safety.effective_mode == "fast" and t.safety_enabled
    t = A.ImageInferenceTask.model_validate(base(safety={"checkContent": True, "mode": "none"}))
    assert not t.safety_enabled
    (err,) = errors_of(base(safety={"mode": "slow"}))
    assert err.code == "invalidSafetyMode" and err.parameter == "safety.mode"
    (err,) = errors_of(base(safety={"checkContent": "yes"}))
    assert err.parameter == "safety.checkContent"
    (err,) = errors_of(base(includeCost="true"))
    assert err.code == "invalidIncludeCost"


def test_uris():
    assert errors_of(base(webhookURL="https://example.com/hook?token=1")) == []
    assert errors_of(base(uploadEndpoint="http://127.0.0.1:9000/put")) == []
    for field in ("webhookURL", "uploadEndpoint"):
        for bad in ("not a url", "ftp://x.org/a", "/relative"):
            (err,) = errors_of(base(**{field: bad}))
            assert err.code == f"invalid{field[0].upper()}{field[1:]}" and err.parameter == field


def test_unknown_fields_are_named_with_a_hint():
    (err,) = errors_of(base(cfgScale=7))
    assert err.code == "unsupportedParameter" and err.parameter == "cfgScale"
    assert "CFGScale" in err.message
    (err,) = errors_of(base(inputs={"referenceImage": []}))
    assert err.parameter == "inputs.referenceImage" and "referenceImages" in err.message
    # snake_case names are Python-side only, never accepted from the wire
    (err,) = errors_of(base(positive_prompt="xy"))
    assert err.parameter == "positive_prompt"


def test_types_are_not_coerced():
    for field, value in [("width", "1024"), ("steps", 40.0), ("numberResults", True), ("seed", "1")]:
        task = base(**{field: value})
        if field == "width":
            task["height"] = 1024
        errs = errors_of(task)
        assert [e.parameter for e in errs] == [field]


def test_reference_image_forms():
    raw = base64.b64encode(png_bytes()).decode()
    cases = {
        "https://assets.runware.ai/assets/inputs/298877df-be25-4bd9-8813-1990e7d9e8f4.jpg": A.RefKind.URL,
        "bb7d4356-03ae-481b-b687-68f3c4f7a00f": A.RefKind.UUID,
        f"data:image/png;base64,{raw}": A.RefKind.DATA_URI,
        raw: A.RefKind.BASE64,
        base64.b64encode(png_bytes("WEBP")).decode(): A.RefKind.BASE64,
        base64.b64encode(png_bytes("JPEG")).decode(): A.RefKind.BASE64,
    }
    for value, kind in cases.items():
        assert A.classify_reference(value) is kind
    assert errors_of(base(inputs={"referenceImages": list(cases)})) == []


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "   ",
        "not an image",
        "ftp://host/a.jpg",
        "https://",
        "data:image/png;base64,@@@@",
        "data:text/plain;base64,aGVsbG8=",
        "data:image/png;base64," + base64.b64encode(b"not an image at all").decode(),
        base64.b64encode(b"plain text, not an image").decode(),
        "bb7d4356-03ae-481b-b687",
    ],
)
def test_malformed_reference_images(bad):
    (err,) = errors_of(base(inputs={"referenceImages": ["bb7d4356-03ae-481b-b687-68f3c4f7a00f", bad]}))
    assert err.code == "invalidReferenceImages" and err.parameter == "inputs.referenceImages"
    assert "referenceImages[1]" in err.message


def test_reference_images_must_be_a_list_of_strings():
    for bad in ("https://x.org/a.jpg", [1], {"a": 1}):
        (err,) = errors_of(base(inputs={"referenceImages": bad}))
        assert err.parameter == "inputs.referenceImages"


def test_every_violation_is_reported():
    errs = errors_of(base(width=1, height=99999, steps=0, CFGScale=50, outputFormat="GIF", bogus=1))
    assert {e.parameter for e in errs} == {"width", "height", "steps", "CFGScale", "outputFormat", "bogus"}


@pytest.mark.parametrize(
    "value",
    [None, 1, 1.5, "x", [], [1, 2], True, {}, {"taskType": 5}, {"taskType": "nope"}, {"taskType": None}],
)
def test_any_json_value_gives_error_items_not_exceptions(value):
    parsed, errs = A.parse_task(value)
    assert parsed is None and errs and all(e.code and e.message for e in errs)


def test_unknown_task_type_is_named():
    (err,) = errors_of({"taskType": "videoInference", "taskUUID": UUID})
    assert err.parameter == "taskType" and "videoInference" in err.message


def test_other_tasks():
    assert errors_of({"taskType": "authentication", "apiKey": "k"}) == []
    assert errors_of({"taskType": "authentication", "apiKey": ""})[0].code == "invalidApiKey"
    assert errors_of({"taskType": "ping", "ping": True}) == []
    assert errors_of({"taskType": "getResponse", "taskUUID": UUID}) == []
    assert errors_of({"taskType": "getTaskDetails", "taskUUID": UUID}) == []
    data_uri = "data:image/png;base64," + base64.b64encode(png_bytes()).decode()
    assert errors_of({"taskType": "imageUpload", "taskUUID": UUID, "image": data_uri}) == []
    # "Image to upload (URL, Data URI, or Base64)": a URL is fine, a UUID is not an image.
    assert errors_of({"taskType": "imageUpload", "taskUUID": UUID, "image": "https://x.org/a.png"}) == []
    (err,) = errors_of({"taskType": "imageUpload", "taskUUID": UUID, "image": UUID})
    assert err.code == "invalidImage"


def test_media_storage_and_account_management_tasks():
    def media(**fields):
        return errors_of({"taskType": "mediaStorage", "taskUUID": UUID, **fields})

    assert media(operation="upload", media="https://x.org/a.png") == []
    assert media(operation="delete", mediaUUID=UUID) == []
    for fields, code, parameter in [
        ({"operation": "upload"}, "invalidMedia", "media"),
        ({"operation": "delete"}, "invalidMediaUUID", "mediaUUID"),
        ({"operation": "delete", "mediaUUID": "x"}, "invalidMediaUUID", "mediaUUID"),
        ({"operation": "move", "mediaUUID": UUID}, "invalidOperation", "operation"),
        ({"media": "https://x.org/a.png"}, "invalidOperation", "operation"),
    ]:
        (err,) = media(**fields)
        assert (err.code, err.parameter) == (code, parameter), fields
    (err,) = media(operation="move")
    assert "upload, delete" in err.message
    assert errors_of({"taskType": "accountManagement", "taskUUID": UUID, "operation": "getDetails"}) == []
    (err,) = errors_of({"taskType": "accountManagement", "taskUUID": UUID, "operation": "getUsageActivity"})
    assert err.code == "invalidOperation" and "getDetails" in err.message
    assert set(A.TASK_MODELS) >= {"mediaStorage", "accountManagement"}


def test_api_key_is_not_in_repr():
    task = A.AuthenticationTask(api_key="sekret-key-123")
    assert "sekret-key-123" not in repr(task) and "sekret-key-123" not in str(task)


def test_round_trip_keeps_only_what_was_sent():
    for ex in A.load_examples():
        assert ex.task.to_wire() == ex.request


def test_response_items():
    ok = {"taskType": "imageInference", "taskUUID": UUID, "imageUUID": UUID, "seed": 1}
    for field in ("imageURL", "imageBase64Data", "imageDataURI"):
        item = A.ImageInferenceResult.model_validate({**ok, field: "x"})
        assert item.to_wire()[field] == "x"
    with pytest.raises(ValueError):
        A.ImageInferenceResult.model_validate(ok)
    with pytest.raises(ValueError):
        A.ImageInferenceResult.model_validate({**ok, "imageURL": "a", "imageDataURI": "b"})
    item = A.ImageInferenceResult.model_validate({**ok, "imageURL": "u", "NSFWContent": False, "cost": 0.01})
    assert item.nsfw_content is False and item.cost == 0.01
    pending = A.GetResponseItem.model_validate(
        {"taskType": "imageInference", "taskUUID": UUID, "status": "processing"}
    )
    assert pending.status == "processing"
    done = A.GetResponseItem.model_validate({**ok, "imageURL": "u", "status": "success"})
    assert done.result().image_url == "u"


def test_envelope():
    env = A.Envelope.model_validate({"data": [{"a": 1}], "errors": [{"code": "c", "message": "m"}]})
    assert env.to_wire() == {"data": [{"a": 1}], "errors": [{"code": "c", "message": "m"}]}
    assert A.Envelope().to_wire() == {"data": []}


def test_documented_examples_parse_and_match_the_docs():
    examples = A.load_examples()
    assert [e.kind for e in examples] == ["text-to-image"] * 2 + ["image-to-image"] * 2
    for ex in examples:
        assert A.parse_task(ex.request)[1] == []
        res = ex.result
        assert res.task_uuid == ex.request["taskUUID"] and res.seed == ex.request["seed"]
        assert res.cost is not None and res.image_url.startswith("https://im.runware.ai/")
    refs = [e.request["inputs"]["referenceImages"][0] for e in examples[2:]]
    assert tuple(refs) == A.DOCUMENTED_REFERENCE_URLS
    # Loaders hand out copies: changing one does not change the next load.
    examples[0].request["seed"] = 1
    assert A.load_examples()[0].request["seed"] == 45732


def test_examples_are_verbatim_from_the_model_page():
    docs = Path(__file__).resolve().parents[3] / "shared/reference/runware-glm-image-docs.md"
    if not docs.exists():
        pytest.skip("the shared reference folder is not beside this checkout")
    text = docs.read_text()
    for ex in A.load_examples():
        assert json.dumps(ex.request, indent=2, ensure_ascii=False) in text
        assert json.dumps(ex.response["data"][0], indent=2, ensure_ascii=False) in text


def test_corrupt_exchange_file_is_named(tmp_path):
    bad = tmp_path / "exchange.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match=str(bad)):
        A.load_exchange(bad)


def test_json_schema_cli():
    out = subprocess.run(
        [sys.executable, "-m", "api_schema"], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    schema = json.loads(out)
    props = schema["properties"]
    assert props["width"]["maximum"] == 2048 and props["width"]["type"] == "integer"
    assert "default" not in props["width"] and "anyOf" not in props["height"]
    assert props["CFGScale"]["maximum"] == 30 and schema["additionalProperties"] is False
    assert set(schema["required"]) >= {"taskType", "taskUUID", "model", "positivePrompt", "width", "height"}


def test_json_schema_cli_reader_gone_is_not_a_traceback():
    # `python -m api_schema | head` closes the pipe early; a pipe without a reader
    # makes the very first write fail the same way, every time.
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "api_schema"], stdout=write_end, stderr=subprocess.PIPE, timeout=60
        )
    finally:
        os.close(write_end)
    assert b"Traceback" not in proc.stderr, proc.stderr.decode()
    assert proc.returncode == 1


def test_cost_rule():
    assert L.estimate_cost(1024, 1024) == 0.0225
    assert L.estimate_cost(512, 512, 2) == pytest.approx(0.0225 / 2)


def test_model_is_required_on_the_wire_though_python_gets_a_default():
    (err,) = errors_of({k: v for k, v in base().items() if k != "model"})
    assert err.code == "invalidModel" and err.parameter == "model" and "Missing" in err.message
    assert A.ImageInferenceTask(task_uuid=UUID, positive_prompt="hi").to_wire()["model"] == L.MODEL_ID
    assert {"taskType", "model"} <= set(A.ImageInferenceTask.model_json_schema(by_alias=True)["required"])
