"""The UI's pure logic: form -> task, presets, snippets. No Gradio, no server."""

from __future__ import annotations

import ast
import json

import pytest

from api_schema import ImageInferenceResult, limits, load_examples
from demo import presets
from demo.snippets import curl_snippet, py_literal, python_snippet
from demo.ui_form import (
    FormError,
    add_reference,
    build_task,
    describe_errors,
    result_row,
    split_references,
    total_cost,
)

FORM = {
    "positive_prompt": 'A shop sign that reads "OPEN"',
    "width": 1024.0,
    "height": 768.0,
    "steps": 40.0,
    "cfg_scale": 7.5,
    "number_results": 1.0,
    "output_format": "JPG",
    "output_quality": 95.0,
    "output_type": "URL",
    "delivery_method": "sync",
}


def test_form_builds_the_wire_task_with_ints_from_slider_floats():
    wire = build_task(**FORM).to_wire()
    assert wire["taskType"] == "imageInference" and wire["model"] == limits.MODEL_ID
    assert wire["width"] == 1024 and isinstance(wire["width"], int)
    assert wire["steps"] == 40 and isinstance(wire["steps"], int)
    assert wire["CFGScale"] == 7.5
    assert "seed" not in wire  # randomize is the default: the API picks one
    assert "safety" not in wire and "inputs" not in wire and "ttl" not in wire


def test_fixed_seed_and_optional_fields_are_sent_only_when_set():
    wire = build_task(
        **FORM,
        seed=42.0,
        randomize_seed=False,
        ttl=120,
        webhook_url="  http://127.0.0.1:9/hook ",
        upload_endpoint="",
        check_content=True,
        safety_mode="fast",
        references=["https://example.com/a.jpg"],
    ).to_wire()
    assert wire["seed"] == 42
    assert wire["ttl"] == 120
    assert wire["webhookURL"] == "http://127.0.0.1:9/hook"
    assert "uploadEndpoint" not in wire
    assert wire["safety"] == {"checkContent": True, "mode": "fast"}
    assert wire["inputs"] == {"referenceImages": ["https://example.com/a.jpg"]}


def test_every_bad_field_is_reported_with_its_label_and_runware_code():
    with pytest.raises(FormError) as info:
        build_task(
            **{**FORM, "positive_prompt": "x", "width": 5000, "cfg_scale": 7.123, "output_format": "GIF"},
            safety_mode="slow",
            references=["not-a-reference"],
        )
    by_param = {e.parameter: e for e in info.value.errors}
    assert by_param["positivePrompt"].code == "invalidPositivePrompt"
    assert by_param["width"].code == "invalidWidth"
    assert "2048" in by_param["width"].message
    assert by_param["CFGScale"].code == "invalidCFGScale"
    assert by_param["outputFormat"].code == "invalidOutputFormat"
    assert by_param["safety.mode"].code == "invalidSafetyMode"
    assert by_param["inputs.referenceImages"].code == "invalidReferenceImages"
    text = describe_errors(info.value.errors)
    assert text.splitlines()[0].startswith("Prompt: invalidPositivePrompt:")
    assert "Width: invalidWidth" in text


def test_seed_text_keeps_full_64_bit_precision():
    top = limits.SEED_MAX
    assert build_task(**FORM, seed=str(top), randomize_seed=False).seed == top
    assert build_task(**FORM, seed=" 7 ", randomize_seed=False).seed == 7
    assert build_task(**FORM, seed="", randomize_seed=False).seed is None
    with pytest.raises(FormError) as info:
        build_task(**FORM, seed=str(top + 1), randomize_seed=False)
    assert info.value.errors[0].code == "invalidSeed"
    with pytest.raises(FormError) as info:
        build_task(**FORM, seed="12abc", randomize_seed=False)
    assert info.value.errors[0].code == "invalidSeed"


def test_fractional_integer_is_an_error_not_silently_rounded():
    with pytest.raises(FormError) as info:
        build_task(**{**FORM, "steps": 1.5})
    assert [e.parameter for e in info.value.errors] == ["steps"]


@pytest.mark.parametrize("example", load_examples(), ids=lambda e: e.slug)
def test_documented_examples_rebuild_to_their_generation_parameters(example):
    req = example.request
    wire = build_task(
        **{
            **FORM,
            "positive_prompt": req["positivePrompt"],
            "width": req["width"],
            "height": req["height"],
            "steps": req["steps"],
            "cfg_scale": req["CFGScale"],
        },
        seed=req["seed"],
        randomize_seed=False,
        references=req.get("inputs", {}).get("referenceImages"),
        task_uuid=req["taskUUID"],
    ).to_wire()
    for key in ("positivePrompt", "width", "height", "seed", "steps", "CFGScale", "model", "taskUUID"):
        assert wire[key] == req[key]
    assert wire.get("inputs") == req.get("inputs")


UUID = "3f1c9a52-3a4b-4c5d-8e6f-0123456789ab"


def test_references_split_on_whitespace_but_not_commas():
    text = " https://a.example/x.jpg\n\n data:image/png;base64,iVBORw0KGgo=  " + UUID
    assert split_references(text) == [
        "https://a.example/x.jpg",
        "data:image/png;base64,iVBORw0KGgo=",
        "3f1c9a52-3a4b-4c5d-8e6f-0123456789ab",
    ]
    assert split_references(None) == []
    uuid = UUID
    assert add_reference("", uuid) == uuid
    assert add_reference(uuid, uuid) == uuid
    assert add_reference("https://a.example/x.jpg", uuid) == f"https://a.example/x.jpg\n{uuid}"


def test_presets_cover_the_schema_sizes_and_map_back():
    assert len(presets.PRESET_LABELS) == len(limits.SIZE_PRESETS)
    assert presets.PRESET_CHOICES[-1] == presets.CUSTOM
    for label, size in zip(presets.PRESET_LABELS, limits.SIZE_PRESETS, strict=True):
        assert presets.size_of(label) == size
        assert presets.label_for(*size) == label
    assert presets.label_for(1000, 1000) == presets.CUSTOM
    assert presets.size_of(presets.CUSTOM) is None
    assert presets.default_label() == presets.label_for(1024, 1024)
    assert presets.aspect_label(1024, 768) == "4:3"
    assert presets.aspect_label(1728, 960) == "≈16:9"


def test_grid_note_only_off_the_native_grid():
    assert presets.grid_note(1024, 768) == ""
    note = presets.grid_note(1000, 768)
    assert "width 1000" in note and str(limits.SIZE_GRID) in note and "992 × 768" in note
    assert "height" not in note.split("Nearest")[0]


def test_result_rows_and_total_cost():
    item = ImageInferenceResult.model_validate(load_examples()[0].response["data"][0])
    row = result_row(item, "JPG", (1024, 768))
    assert row == ["45732", item.image_uuid, "0.0141", "—", "JPG 1024×768"]
    assert total_cost([item, item]) == pytest.approx(0.0282)
    assert total_cost([]) is None


SECRET = "sk-live-0123456789abcdef"


@pytest.mark.parametrize("kind", ["mock", "live"])
@pytest.mark.parametrize("delivery", ["sync", "async"])
def test_snippets_repeat_the_request_with_a_key_placeholder(kind, delivery):
    request = {**build_task(**{**FORM, "delivery_method": delivery}).to_wire(), "apiKey": SECRET}
    url = "http://127.0.0.1:8808/v1" if kind == "mock" else limits.API_URL
    curl = curl_snippet(request, url, kind)
    py = python_snippet(request, url, kind)
    for text in (curl, py):
        assert SECRET not in text
        assert url in text
        assert ("python -m mock_api" in text) == (kind == "mock")
    assert "$RUNWARE_API_KEY" in curl or "${RUNWARE_API_KEY" in curl
    body = curl.split("<<'JSON'\n", 1)[1].rsplit("JSON", 1)[0]
    sent = json.loads(body)[0]
    assert sent == {k: v for k, v in request.items() if k != "apiKey"}
    ast.parse(py)  # the Python snippet is valid Python
    assert ("getResponse" in py) == (delivery == "async")


def test_py_literal_round_trips_json_values():
    value = {"a": [1, 2.5, True, None, {"b": 'it\'s "quoted"'}], "c": {}, "d": []}
    assert ast.literal_eval(py_literal(value)) == value
