"""The UI's pure logic: the field table, form -> task, presets, snippets. No server, no browser."""

from __future__ import annotations

import ast
import json

import pytest

from api_schema import ImageInferenceResult, limits, load_examples
from demo.ui import fields, presets
from demo.ui.form import (
    FormError,
    build_task,
    describe_errors,
    field_errors,
    result_table,
    split_references,
    total_cost,
)
from demo.ui.snippets import UUID_MARK, curl_snippet, py_literal, python_snippet

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


def task(references=None, task_uuid=None, **values):
    return build_task({"randomize_seed": True, **FORM, **values}, references, task_uuid=task_uuid)


def test_form_builds_the_wire_task_with_ints_from_slider_floats():
    wire = task().to_wire()
    assert wire["taskType"] == "imageInference" and wire["model"] == limits.MODEL_ID
    assert wire["width"] == 1024 and isinstance(wire["width"], int)
    assert wire["steps"] == 40 and isinstance(wire["steps"], int)
    assert wire["CFGScale"] == 7.5
    assert "seed" not in wire  # randomize is the default: the API picks one
    assert "safety" not in wire and "inputs" not in wire and "ttl" not in wire


def test_fixed_seed_and_optional_fields_are_sent_only_when_set():
    wire = task(
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
        task(
            positive_prompt="x",
            width=5000,
            cfg_scale=7.123,
            output_format="GIF",
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
    assert "Advanced › Safety mode: invalidSafetyMode" in text  # a closed panel is named


def test_seed_text_keeps_full_64_bit_precision():
    top = limits.SEED_MAX
    assert task(seed=str(top), randomize_seed=False).seed == top
    assert task(seed=" 7 ", randomize_seed=False).seed == 7
    assert task(seed="", randomize_seed=False).seed is None
    with pytest.raises(FormError) as info:
        task(seed=str(top + 1), randomize_seed=False)
    assert info.value.errors[0].code == "invalidSeed"
    with pytest.raises(FormError) as info:
        task(seed="12abc", randomize_seed=False)
    assert info.value.errors[0].code == "invalidSeed"


def test_fractional_integer_is_an_error_not_silently_rounded():
    with pytest.raises(FormError) as info:
        task(steps=1.5)
    assert [e.parameter for e in info.value.errors] == ["steps"]


@pytest.mark.parametrize("example", load_examples(), ids=lambda e: e.slug)
def test_documented_examples_rebuild_to_their_generation_parameters(example):
    req = example.request
    wire = task(
        positive_prompt=req["positivePrompt"],
        width=req["width"],
        height=req["height"],
        steps=req["steps"],
        cfg_scale=req["CFGScale"],
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
    table = result_table([(item, "JPG", (1024, 768))])
    assert table == {
        "headers": ["#", "seed", "imageUUID", "cost $", "file"],
        "data": [["1", "45732", item.image_uuid, "0.0141", "JPG 1024×768"]],
    }
    checked = item.model_copy(update={"nsfw_content": False})
    table = result_table([(item, "JPG", None), (checked, "PNG", (8, 8))])
    assert table["headers"] == ["#", "seed", "imageUUID", "cost $", "NSFW", "file"]
    assert [row[4] for row in table["data"]] == ["—", "no"] and table["data"][0][5] == "JPG"
    assert total_cost([item, item]) == pytest.approx(0.0282)
    assert total_cost([]) is None


SECRET = "sk-live-0123456789abcdef"


@pytest.mark.parametrize("where", ["here", "mock", "live"])
@pytest.mark.parametrize("delivery", ["sync", "async"])
def test_snippets_repeat_the_request_with_a_key_placeholder(where, delivery):
    request = {**task(delivery_method=delivery).to_wire(), "apiKey": SECRET}
    url = limits.API_URL if where == "live" else "http://127.0.0.1:7860/v1"
    curl = curl_snippet(request, url, where)
    py = python_snippet(request, url, where)
    for text in (curl, py):
        assert SECRET not in text
        assert url in text
        assert ("python -m mock_api" in text) == (where == "mock")
        assert ("served by this app" in text) == (where == "here")
    assert ("$RUNWARE_API_KEY" in curl) == (where == "live")
    body = curl.split("--data-binary @-\n", 1)[1].split("\nJSON\n", 1)[0]
    (sent,) = json.loads(body)
    # The same task, with a fresh taskUUID filled in when it runs.
    assert sent == {**{k: v for k, v in request.items() if k != "apiKey"}, "taskUUID": UUID_MARK}
    assert "uuid.uuid4()" in curl and 'task["taskUUID"] = str(uuid.uuid4())' in py
    ast.parse(py)  # the Python snippet is valid Python
    assert ("getResponse" in py) == (delivery == "async") == ("getResponse" in curl)


def test_the_field_table_places_every_error_and_names_hidden_fields():
    assert fields.for_parameter("inputs.referenceImages[3]").name == "reference_urls"
    # The request lists the uploads first: with two uploaded, [0] and [1] are uploads.
    assert fields.for_parameter("inputs.referenceImages[1]", uploads=2).name == "reference_images"
    assert fields.for_parameter("inputs.referenceImages[2]", uploads=2).name == "reference_urls"
    assert fields.for_parameter("inputs.referenceImages", uploads=2, typed=1).name == "reference_urls"
    assert fields.for_parameter("inputs.referenceImages", uploads=2).name == "reference_images"
    # Runware names the item in the message only.
    said = "Invalid value for 'inputs.referenceImages[1]': picture is too large"
    assert fields.for_parameter("inputs.referenceImages", 1, 1, said).name == "reference_urls"
    assert fields.for_parameter("inputs.referenceImages", 2, 1, said).name == "reference_images"
    assert fields.for_parameter("inputs").name == "reference_urls"
    assert fields.for_parameter("safety").name == "safety_mode"
    assert fields.for_parameter("safety.checkContent").name == "check_content"
    assert fields.for_parameter("CFGScale").name == "cfg_scale"
    assert fields.for_parameter("somethingElse").name == "positive_prompt"
    assert fields.for_parameter(None).name == "positive_prompt"
    assert fields.field("ttl").title == "Advanced › TTL (seconds)"
    assert fields.field("width").title == "Width"
    # Every wire parameter the schema reports on has a field to show it.
    for wire in ("positivePrompt", "width", "height", "seed", "steps", "CFGScale", "numberResults"):
        assert fields.for_parameter(wire).wire == wire
    # Bounds and defaults come from api_schema.limits, not from the UI.
    assert (
        fields.field("width").bounds is limits.WIDTH and fields.field("width").value == limits.WIDTH.default
    )
    assert (
        fields.field("cfg_scale").value == limits.CFG_SCALE.default and not fields.field("cfg_scale").integer
    )


def test_empty_optional_numbers_stay_empty_and_bad_ones_are_named():
    assert "ttl" not in task(ttl="").to_wire() and "ttl" not in task(ttl=None).to_wire()
    assert task(ttl=" 120 ").to_wire()["ttl"] == 120
    assert field_errors({**FORM, "ttl": "0"})["ttl"][0].startswith("invalidTtl:")
    assert field_errors({**FORM, "ttl": "soon"})["ttl"][0].startswith("invalidTtl:")
    # Out of bounds is an error next to the field, never a clamp.
    assert field_errors({**FORM, "width": 5000.0})["width"][0].startswith("invalidWidth:")
    assert "2048" in field_errors({**FORM, "width": 5000.0})["width"][0]


def test_py_literal_round_trips_json_values():
    value = {"a": [1, 2.5, True, None, {"b": 'it\'s "quoted"'}], "c": {}, "d": []}
    assert ast.literal_eval(py_literal(value)) == value


def test_a_field_stays_lenient_in_the_instance_gradio_rebuilds_for_a_session():
    """An event answering a component with an update (gr.skip() is one) makes Gradio keep a
    new instance of it, built from its constructor arguments; a typed 5000 must still
    reach the schema (invalidWidth next to the field), not Gradio's own range check."""
    import gradio as gr

    with gr.Blocks():
        width = fields.field("width").component()
        rebuilt = type(width)(**{**width.constructor_args, "render": False})
    assert width.preprocess(5000) == 5000
    assert rebuilt.preprocess(5000) == 5000
    with gr.Blocks():
        other = gr.Slider(128, 2048, elem_id="someone-elses-slider")
    with pytest.raises(gr.Error):
        other.preprocess(5000)  # only our fields are lenient
