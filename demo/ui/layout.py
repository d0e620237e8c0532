"""Where everything sits: header, compose (prompt + Generate), results, settings.

Phone first: the page is one grid with three areas (see ``theme.CSS``). On a phone
they stack as compose, results, settings, so the result appears right under
Generate; from ~900 px the results take the right-hand column. The form's inputs
come from the field table, panel by panel; this module only places them.

Under the result table sits the text check (a line and a table, hidden until a run
has something to say, see ``text_check``); the Developer accordion holds the raw JSON
and snippets, and can take more tabs. Around the results sit the edit's before/after
slider, this session's runs (``history``) and the showcase of the documented examples
(``showcase``); the badge and the key panel share the top row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from api_schema import limits

from . import fields as F
from . import history, presets, pricing, showcase
from .form import RESULT_HEADERS
from .text_check import COLUMN_WIDTHS, PAGE_HEADERS
from .theme import badge_html, header_html, key_help

READY = "Ready. Write a prompt or pick an example, then press **Generate**."
NOTHING_SELECTED = "Click an image to select it."


@dataclass
class Page:
    """The components events read and write, by role."""

    header: gr.HTML  # the backend badge (the title is static)
    inputs: dict[str, Any]  # /generate parameter -> component, in table order
    panels: dict[str, gr.Accordion]
    size_preset: gr.Dropdown
    grid_note: gr.Markdown
    examples: gr.Gallery  # the showcase of the documented examples
    generate_btn: gr.Button
    stop_btn: gr.Button
    api_trigger: gr.Button
    status: gr.Markdown
    gallery: gr.Gallery
    selected_info: gr.Markdown
    use_ref_btn: gr.Button
    reference_note: gr.Markdown
    table: gr.Dataframe
    text_line: gr.Markdown
    text_table: gr.Dataframe
    request_json: gr.Code
    response_json: gr.Code
    curl: gr.Code
    python: gr.Code
    price: gr.Markdown
    share_btn: gr.Button
    share_note: gr.Markdown
    link_note: gr.Markdown
    before_after: gr.ImageSlider
    runs: history.HistoryView
    states: dict[str, gr.State] = field(default_factory=dict)

    @property
    def input_list(self) -> list[Any]:
        return [self.inputs[name] for name in F.NAMES]

    def __getitem__(self, name: str) -> Any:
        return self.inputs[name]


def _panel_fields(panel: str, inputs: dict[str, Any]) -> None:
    for row in F.in_panel(panel):
        if len(row) == 1:
            inputs[row[0].name] = row[0].component()
            continue
        with gr.Row(equal_height=True):
            for f in row:
                inputs[f.name] = f.component()


def _compose(inputs: dict[str, Any], backend_kind: str) -> dict[str, Any]:
    parts: dict[str, Any] = {}
    parts["link_note"] = gr.Markdown("", elem_id="link-note", visible=False)  # shown for a shared link
    _panel_fields("prompt", inputs)
    with gr.Row(elem_id="actions"):
        parts["generate_btn"] = gr.Button("Generate", variant="primary", elem_id="generate-btn", scale=4)
        parts["stop_btn"] = gr.Button(
            "Stop", variant="stop", elem_id="stop-btn", scale=1, min_width=90, visible=False
        )
    with gr.Row(elem_id="price-row"):
        width, height, number = (F.field(n).value for n in ("width", "height", "number_results"))
        parts["price"] = gr.Markdown(pricing.price_line(backend_kind, width, height, number), elem_id="price")
        parts["share_btn"] = gr.Button("Copy link", size="sm", elem_id="share-btn", scale=0, min_width=100)
    parts["share_note"] = gr.Markdown("", elem_id="share-note")
    return parts


def _results() -> dict[str, Any]:
    parts: dict[str, Any] = {}
    parts["status"] = gr.Markdown(READY, elem_id="status")
    parts["gallery"] = gr.Gallery(
        label="Results",
        show_label=False,  # the status line above says what is shown; a label would cover image 1
        columns=1,
        fit_columns=False,  # the first of 4 results keeps its place in the grid, not the whole width
        height="auto",
        object_fit="contain",
        interactive=False,
        buttons=["download", "download_all", "fullscreen"],
        elem_id="results-gallery",
        elem_classes=["single"],
    )
    with gr.Row(elem_id="selection"):
        parts["selected_info"] = gr.Markdown(NOTHING_SELECTED, elem_id="selected-info")
        parts["use_ref_btn"] = gr.Button("Use as reference", size="sm", elem_id="use-as-reference", scale=0)
    parts["table"] = gr.Dataframe(
        headers=RESULT_HEADERS,
        value=None,
        label="Result metadata",
        interactive=False,
        wrap=False,  # on a phone the table scrolls inside its own box
        elem_id="result-table",
    )
    parts["text_line"] = gr.Markdown("", visible=False, elem_id="text-check")
    parts["text_table"] = gr.Dataframe(
        headers=PAGE_HEADERS,
        value=None,
        label="Quoted text, as read back from each image",
        interactive=False,
        wrap=True,
        column_widths=COLUMN_WIDTHS,
        visible=False,
        elem_id="text-check-table",
    )
    developer = gr.Accordion("Developer: request, response and code", open=False, elem_id="developer")
    with developer, gr.Tabs():
        with gr.Tab("Request"):
            parts["request_json"] = gr.Code(
                language="json", label="Request sent (no key)", lines=12, max_lines=40, wrap_lines=True
            )
        with gr.Tab("Response"):
            parts["response_json"] = gr.Code(
                language="json", label="Raw response", lines=12, max_lines=40, wrap_lines=True
            )
        with gr.Tab("curl"):
            parts["curl"] = gr.Code(
                language="shell", label="Repeat with curl", lines=12, max_lines=40, wrap_lines=True
            )
        with gr.Tab("Python"):
            parts["python"] = gr.Code(
                language="python",
                label="Repeat with Python (httpx)",
                lines=12,
                max_lines=40,
                wrap_lines=True,
            )
    return parts


def _settings(inputs: dict[str, Any]) -> dict[str, Any]:
    parts: dict[str, Any] = {"panels": {}}
    with gr.Group():
        parts["size_preset"] = gr.Dropdown(
            choices=list(presets.PRESET_CHOICES),
            value=presets.default_label(),
            label="Size",
            info="Documented and Z.ai-recommended sizes, or Custom",
            elem_id="size-preset",
        )
        _panel_fields("main", inputs)
    parts["grid_note"] = gr.Markdown("", elem_id="grid-note")
    for key, panel in F.PANELS.items():
        if not panel.collapsed or key == "key":  # the key panel sits at the top, by the badge
            continue
        with gr.Accordion(panel.title, open=False, elem_id=f"panel-{key}") as box:
            if key == "references":
                parts["reference_note"] = gr.Markdown("", elem_id="reference-note")
            _panel_fields(key, inputs)
        parts["panels"][key] = box
    return parts


def _top(inputs: dict[str, Any], backend_kind: str, backend_label: str) -> gr.HTML:
    """Title and pitch on the left; the backend badge and the key panel together on the right."""
    with gr.Row(elem_id="top", equal_height=False):
        gr.HTML(header_html(), elem_id="header")
        with gr.Column(elem_id="backend-box", scale=0, min_width=0):
            badge = gr.HTML(badge_html(backend_kind, backend_label), elem_id="badge-box")
            panel = F.PANELS["key"]
            with gr.Accordion(panel.title, open=False, elem_id="panel-key"):
                gr.Markdown(key_help(backend_kind), elem_id="key-help")
                _panel_fields("key", inputs)
    return badge


def build_page(backend_kind: str, backend_label: str, pictures: showcase.Pictures | None = None) -> Page:
    """Create the page's components inside the current ``gr.Blocks``."""
    inputs: dict[str, Any] = {}
    header = _top(inputs, backend_kind, backend_label)
    with gr.Row(elem_id="workspace", equal_height=False):
        with gr.Column(elem_id="compose", min_width=0):
            compose = _compose(inputs, backend_kind)
        with gr.Column(elem_id="results", min_width=0):
            # Shown (after the status line, see theme.CSS) when a run had a reference image.
            before_after = gr.ImageSlider(
                label="Before / after: drag the handle to compare the reference with the result",
                type="filepath",
                visible=False,
                interactive=False,
                max_height=900,
                buttons=["fullscreen"],
                elem_id="before-after",
            )
            results = _results()
            runs = history.build()
            shown = showcase.build(backend_kind, pictures or showcase.Pictures())
        with gr.Column(elem_id="settings", min_width=0):
            settings = _settings(inputs)
    gr.Markdown(
        f"GLM-Image on Runware: [model page]({limits.DOCS_URL}) · "
        "The mock backend replays the documented examples and renders labelled previews; "
        "set `RUNWARE_API_KEY` (or enter your own key) for real images.",
        elem_classes=["hint"],
    )
    # The public /generate has no button of its own: the browser uses a streaming event.
    api_trigger = gr.Button(visible=False)
    ordered = {name: inputs[name] for name in F.NAMES}
    return Page(
        header=header,
        inputs=ordered,
        panels=settings["panels"],
        size_preset=settings["size_preset"],
        grid_note=settings["grid_note"],
        examples=shown.gallery,
        api_trigger=api_trigger,
        reference_note=settings["reference_note"],
        before_after=before_after,
        runs=runs,
        **compose,
        **{k: v for k, v in results.items()},
    )
