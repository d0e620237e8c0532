"""The Gradio UI: inputs left, results right, the backend badge always in view.

``build_ui(settings)`` returns the Blocks; ``launch_kwargs()`` holds what Gradio 6
wants at launch (theme, CSS, upload limit). Ranges and defaults come from
``api_schema.limits``; nothing here repeats a bound.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from api_schema import limits, load_examples

from . import presets
from .backend import Backend, backend_for_key, make_backend
from .settings import Settings
from .theme import CSS, badge_html, header_html, make_theme
from .ui_fields import FieldDropdown, FieldNumber, FieldRadio, lenient, range_slider
from .ui_form import RESULT_HEADERS, add_reference
from .ui_generate import GenerateHandler

CONCURRENCY = 8  # generation is I/O-bound: the backend does the work
QUEUE_SIZE = 64
MAX_FILE_SIZE = "20mb"

PROMPT_HINT = 'Put any text to draw in "quotes", e.g. a sign that reads "OPEN DAILY". Enter generates.'


def _example_rows() -> list[list[str]]:
    rows = []
    for ex in load_examples():
        kind = "image → image" if ex.kind == "image-to-image" else "text → image"
        rows.append([ex.title, kind])
    return rows


def _fill_example(index: int | None) -> tuple[Any, ...]:
    """Form values of a documented example; its references go in the URL field."""
    examples = load_examples()
    if index is None or not 0 <= int(index) < len(examples):
        raise gr.Error("Unknown example.", print_exception=False)
    req = examples[int(index)].request
    refs = (req.get("inputs") or {}).get("referenceImages") or []
    width, height = req.get("width", limits.WIDTH.default), req.get("height", limits.HEIGHT.default)
    return (
        req["positivePrompt"],
        presets.label_for(width, height),
        width,
        height,
        "",
        str(req.get("seed", "")),
        "seed" not in req,
        req.get("steps", limits.STEPS.default),
        req.get("CFGScale", limits.CFG_SCALE.default),
        req.get("numberResults", limits.NUMBER_RESULTS.default),
        None,
        "\n".join(refs),
        gr.Accordion(open=bool(refs)),
    )


def _on_preset(label: str) -> tuple[Any, Any, str]:
    size = presets.size_of(label)
    if size is None:
        return gr.update(), gr.update(), ""
    return size[0], size[1], presets.grid_note(*size)


def _on_size(width: float, height: float) -> tuple[str, str]:
    return presets.label_for(width, height), presets.grid_note(width, height)


def _on_select(uuids: list[str], evt: gr.SelectData) -> tuple[str, str]:
    index = evt.index if isinstance(evt.index, int) else (evt.index or [0])[0]
    if not uuids or not 0 <= index < len(uuids):
        return "", ""
    uuid = uuids[index]
    return uuid, f"Selected image {index + 1}: `{uuid}`"


def _use_as_reference(selected: str, refs: str, uuids: list[str]) -> tuple[Any, Any, str]:
    uuid = selected or (uuids[0] if uuids and len(uuids) == 1 else "")
    if not uuid:
        raise gr.Error("Select an image in the Results gallery first.", print_exception=False)
    note = f"Added `{uuid}` as a reference image: describe the edit and generate again."
    return add_reference(refs, uuid), gr.Accordion(open=True), note


def build_ui(settings: Settings, backend: Backend | None = None) -> gr.Blocks:
    backend = backend or make_backend(settings)
    handler = GenerateHandler(settings, backend)

    def badge_for(api_key: str | None) -> str:
        active = backend_for_key(settings, api_key) if api_key and api_key.strip() else backend
        return header_html(badge_html(active.kind, active.label))

    with gr.Blocks(title="GLM-Image · Runware", analytics_enabled=False, delete_cache=(3600, 7200)) as demo:
        header = gr.HTML(header_html(badge_html(backend.kind, backend.label)), elem_id="header")
        with gr.Row(equal_height=False):
            with gr.Column(scale=5, min_width=380):
                prompt = gr.Textbox(
                    label="Prompt",
                    lines=1,  # Gradio submits on Enter only for a one-line box; CSS gives it room
                    max_lines=12,
                    placeholder='A bakery at dawn with a hand-painted sign that reads "FRESH BREAD"',
                    info=PROMPT_HINT,
                    elem_id="prompt",
                )
                generate_btn = gr.Button("Generate", variant="primary", elem_id="generate-btn")
                examples = gr.Dataset(
                    label="Documented examples: one click fills the form and generates",
                    components=[gr.Textbox(visible=False), gr.Textbox(visible=False)],
                    headers=["Example", "Kind"],
                    samples=_example_rows(),
                    type="index",
                    layout="table",
                    elem_id="examples-box",
                )
                with gr.Group():
                    size_preset = gr.Dropdown(
                        choices=list(presets.PRESET_CHOICES),
                        value=presets.default_label(),
                        label="Size",
                        info="Documented and Z.ai-recommended sizes, or Custom",
                        elem_id="size-preset",
                    )
                    with gr.Row():
                        width = range_slider(limits.WIDTH, "Width", step=limits.SIZE_GRID, elem_id="width")
                        height = range_slider(
                            limits.HEIGHT, "Height", step=limits.SIZE_GRID, elem_id="height"
                        )
                grid_note = gr.Markdown("", elem_id="grid-note")
                with gr.Row():
                    # Text, not gr.Number: seeds go up to 2^63-1, past what a browser
                    # number holds exactly.
                    seed = lenient(
                        gr.Textbox(
                            value="",
                            placeholder="random",
                            label="Seed",
                            max_lines=1,
                            info=f"{int(limits.SEED.minimum)} to {limits.SEED_MAX}; "
                            "the last result's seed shows here",
                            elem_id="seed",
                        )
                    )
                    randomize = gr.Checkbox(value=True, label="Randomize seed", elem_id="randomize-seed")
                with gr.Row():
                    steps = range_slider(limits.STEPS, "Steps", elem_id="steps")
                    cfg = range_slider(limits.CFG_SCALE, "CFG scale", elem_id="cfg-scale")
                number = range_slider(limits.NUMBER_RESULTS, "Number of results", elem_id="number-results")
                with gr.Accordion("Reference images (image to image)", open=False) as refs_box:
                    ref_files = gr.File(
                        label="Upload reference images",
                        height=140,
                        file_count="multiple",
                        file_types=["image"],
                        elem_id="reference-files",
                    )
                    ref_urls = gr.Textbox(
                        value="",
                        label="Reference URLs or imageUUIDs",
                        lines=2,
                        placeholder="One per line: https://…/photo.jpg or an imageUUID from a result",
                        elem_id="reference-urls",
                    )
                with gr.Accordion("Output", open=False):
                    out_format = FieldRadio(
                        list(limits.OUTPUT_FORMATS),
                        value=limits.DEFAULT_OUTPUT_FORMAT,
                        label="Format",
                        elem_id="output-format",
                    )
                    out_quality = range_slider(limits.OUTPUT_QUALITY, "Quality")
                    out_type = FieldRadio(
                        list(limits.OUTPUT_TYPES),
                        value=limits.DEFAULT_OUTPUT_TYPE,
                        label="Type",
                        info="How the API returns the image: a URL, base64 data or a data URI",
                    )
                with gr.Accordion("Advanced", open=False):
                    delivery = FieldRadio(
                        list(limits.DELIVERY_METHODS),
                        value=limits.DEFAULT_DELIVERY_METHOD,
                        label="Delivery method",
                        info="async: results appear one by one as they finish",
                    )
                    with gr.Row():
                        check_content = gr.Checkbox(value=False, label="Safety check")
                        safety_mode = FieldDropdown(
                            list(limits.SAFETY_MODES), value=limits.SAFETY_MODES[0], label="Safety mode"
                        )
                    include_cost = gr.Checkbox(value=True, label="Include cost in the response")
                    ttl = FieldNumber(
                        value=None,
                        label="TTL (seconds)",
                        precision=0,
                        info=f"{limits.TTL.describe().capitalize()}; URL output only",
                    )
                    webhook = gr.Textbox(value="", label="Webhook URL", placeholder="https://…")
                    upload = gr.Textbox(value="", label="Upload endpoint", placeholder="https://… (HTTP PUT)")
                with gr.Accordion("Your Runware API key (optional)", open=False):
                    api_key = gr.Textbox(
                        value="",
                        label="API key",
                        type="password",
                        placeholder="Used for your session only; never stored or logged",
                        info="With a key this session uses the live Runware API and your credits.",
                        elem_id="api-key",
                    )

            with gr.Column(scale=7, min_width=480):
                status = gr.Markdown(
                    "Ready. Write a prompt or pick an example.", label="Status", elem_id="status"
                )
                gallery = gr.Gallery(
                    label="Results",
                    columns=2,
                    height=560,
                    object_fit="contain",
                    preview=False,
                    interactive=False,
                    buttons=["download", "download_all", "fullscreen"],
                    elem_id="results-gallery",
                )
                with gr.Row(equal_height=True):
                    selected_info = gr.Markdown("Click an image to select it.", elem_id="selected-info")
                    use_ref_btn = gr.Button(
                        "Use as reference", size="sm", elem_id="use-as-reference", scale=0
                    )
                meta = gr.Dataframe(
                    headers=RESULT_HEADERS,
                    value=None,
                    label="Result metadata",
                    interactive=False,
                    wrap=True,
                    column_widths=["15%", "47%", "11%", "9%", "18%"],
                    elem_id="result-table",
                )
                with gr.Tabs():
                    with gr.Tab("Request JSON"):
                        request_json = gr.Code(
                            language="json",
                            label="Request sent (no key)",
                            lines=14,
                            max_lines=40,
                        )
                    with gr.Tab("Response JSON"):
                        response_json = gr.Code(
                            language="json",
                            label="Raw response",
                            lines=14,
                            max_lines=40,
                        )
                    with gr.Tab("curl"):
                        curl_code = gr.Code(
                            language="shell", label="Repeat with curl", lines=14, max_lines=40
                        )
                    with gr.Tab("Python"):
                        python_code = gr.Code(
                            language="python", label="Repeat with Python (httpx)", lines=14, max_lines=40
                        )
        gr.Markdown(
            f"GLM-Image on Runware: [model page]({limits.DOCS_URL}) · "
            "The mock backend replays the documented examples and renders labelled previews; "
            "set `RUNWARE_API_KEY` (or enter your own key) for real images.",
            elem_classes=["hint"],
        )

        uuids = gr.State([])
        selected = gr.State("")
        form_inputs = [
            prompt,
            width,
            height,
            seed,
            randomize,
            steps,
            cfg,
            number,
            out_format,
            out_quality,
            out_type,
            ref_files,
            ref_urls,
            delivery,
            check_content,
            safety_mode,
            include_cost,
            ttl,
            webhook,
            upload,
            api_key,
        ]
        outputs = [gallery, meta, request_json, response_json, curl_code, python_code, status, seed, uuids]
        run: dict[str, Any] = {
            "fn": handler.generate,
            "inputs": form_inputs,
            "outputs": outputs,
            "validator": handler.validate,
            "show_progress_on": [gallery],
            "concurrency_limit": CONCURRENCY,
            "concurrency_id": "generate",
        }
        generate_btn.click(api_name="generate", **run)
        prompt.submit(api_name="generate_submit", api_visibility="undocumented", **run)

        examples.click(
            _fill_example,
            inputs=examples,
            outputs=[
                prompt,
                size_preset,
                width,
                height,
                grid_note,
                seed,
                randomize,
                steps,
                cfg,
                number,
                ref_files,
                ref_urls,
                refs_box,
            ],
            api_name="fill_example",
            api_visibility="undocumented",
            queue=False,
        ).then(api_name="generate_example", api_visibility="undocumented", **run)

        size_preset.input(
            _on_preset, size_preset, [width, height, grid_note], api_visibility="private", queue=False
        )
        for slider in (width, height):
            slider.input(
                _on_size, [width, height], [size_preset, grid_note], api_visibility="private", queue=False
            )
        check_content.input(
            lambda on: "fast" if on else "none",
            check_content,
            safety_mode,
            api_visibility="private",
            queue=False,
        )
        api_key.change(badge_for, api_key, header, api_visibility="private", queue=False)
        gallery.select(_on_select, uuids, [selected, selected_info], api_visibility="private", queue=False)
        use_ref_btn.click(
            _use_as_reference,
            [selected, ref_urls, uuids],
            [ref_urls, refs_box, selected_info],
            api_visibility="private",
            queue=False,
        )
    demo.queue(max_size=QUEUE_SIZE, default_concurrency_limit=CONCURRENCY)
    return demo


def launch_kwargs() -> dict[str, Any]:
    """What Gradio 6 takes at launch rather than in Blocks()."""
    return {
        "theme": make_theme(),
        "css": CSS,
        "max_file_size": MAX_FILE_SIZE,
        "show_error": True,
        "footer_links": ["api", "gradio"],
    }
