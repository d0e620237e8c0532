"""The form's one field table: every input of the page and of ``/generate``, once.

A row says which ``/generate`` parameter it is, which Runware wire field it fills,
its label, the kind of component, its default and bounds (read from
``api_schema.limits``) and the panel it lives in. The component list, the
``/generate`` signature, the wire mapping, the labels in messages, where an error is
shown and which panels start closed all come from here.

Components leave range and choice checks to ``api_schema``: Gradio's own checks fire
before the handler with messages such as "Value 5000 is greater than maximum value
2048." that name no field, and its sliders clamp a typed value on blur (the page's
script stops that, see ``theme.NO_CLAMP_JS``). A bad value reaches the validator,
which answers next to the field in Runware's words.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import gradio as gr

from api_schema import limits
from api_schema.limits import NumberRange

Kind = Literal[
    "prompt", "slider", "optional_int", "checkbox", "radio", "dropdown", "text", "lines", "files", "secret"
]


@dataclass(frozen=True)
class Panel:
    key: str
    title: str  # "" for the always-open parts of the form
    collapsed: bool = False


PANELS: dict[str, Panel] = {
    p.key: p
    for p in (
        Panel("prompt", ""),
        Panel("main", ""),
        Panel("references", "Reference images (image to image)", collapsed=True),
        Panel("output", "Output", collapsed=True),
        Panel("advanced", "Advanced", collapsed=True),
        Panel("key", "Your Runware API key (optional)", collapsed=True),
    )
}

# Component kind -> the Python type a /generate caller passes.
_API_TYPES: dict[str, Any] = {
    "prompt": str,
    "slider": float,
    "optional_int": str | int | None,
    "checkbox": bool,
    "radio": str,
    "dropdown": str,
    "text": str | None,
    "lines": str | None,
    "files": list[str] | None,
    "secret": str | None,
}


@dataclass(frozen=True)
class Field:
    name: str  # the /generate parameter (Runware's name in snake_case)
    label: str
    kind: Kind
    panel: str
    wire: str | None = None  # the Runware parameter it fills; None: shapes the request otherwise
    also: tuple[str, ...] = ()  # other wire paths whose errors are shown here
    bounds: NumberRange | None = None
    choices: tuple[str, ...] = ()
    default: Any = None
    info: str = ""
    placeholder: str = ""
    step: float | None = None
    row: str | None = None  # fields of one panel sharing a row key sit side by side
    required: bool = False

    @property
    def elem_id(self) -> str:
        return self.name.replace("_", "-")

    @property
    def integer(self) -> bool:
        """Whether the API wants a whole number (CFG scale moves in steps of 0.01)."""
        return self.bounds is not None and self.bounds.step is None

    @property
    def value(self) -> Any:
        """The starting value: the component shows it, /generate defaults to it."""
        if self.default is not None:
            return self.default
        if self.kind in ("prompt", "optional_int", "text", "lines", "secret"):
            return ""
        if self.bounds is None:
            return None
        default = self.bounds.default
        return int(default) if default is not None and self.integer else default

    @property
    def title(self) -> str:
        """The label with its panel, as a message about a hidden field names it."""
        panel = PANELS[self.panel]
        return f"{panel.title.split(' (')[0]} › {self.label}" if panel.collapsed else self.label

    @property
    def collapsed(self) -> bool:
        return PANELS[self.panel].collapsed

    def component(self) -> gr.components.Component:
        """The Gradio component of this row, created in the current layout context."""
        common: dict[str, Any] = {"label": self.label, "elem_id": self.elem_id}
        if self.info:
            common["info"] = self.info
        kind = self.kind
        if kind == "prompt":
            return gr.Textbox(
                value=self.value,
                lines=1,  # Gradio submits on Enter only for a one-line box; CSS gives it room
                max_lines=12,
                placeholder=self.placeholder,
                **common,
            )
        if kind == "slider":
            rng = self.bounds
            assert rng is not None and rng.maximum is not None
            step = self.step or rng.step or 1
            slider = gr.Slider(rng.minimum, rng.maximum, value=self.value, step=step, **common)
            slider.elem_classes = ["no-clamp"]
            return lenient(slider)
        if kind == "optional_int":
            # Text, not gr.Number: an empty gr.Number comes back as 0 once shown, and a
            # seed goes up to 2^63-1, past what a browser number holds exactly.
            box = gr.Textbox(value=self.value, placeholder=self.placeholder, max_lines=1, **common)
            return lenient(box)
        if kind == "checkbox":
            return gr.Checkbox(value=bool(self.value), **common)
        if kind == "radio":
            return lenient(gr.Radio(list(self.choices), value=self.value, **common))
        if kind == "dropdown":
            return lenient(gr.Dropdown(list(self.choices), value=self.value, **common))
        if kind in ("text", "secret"):
            extra = {"type": "password"} if kind == "secret" else {}
            return gr.Textbox(value=self.value, placeholder=self.placeholder, max_lines=1, **extra, **common)
        if kind == "lines":
            return gr.Textbox(value=self.value, placeholder=self.placeholder, lines=2, **common)
        if kind == "files":
            return gr.File(file_count="multiple", file_types=["image"], height=140, **common)
        raise ValueError(f"unknown field kind {kind!r}")


def _passthrough(payload: Any) -> Any:
    return payload


# elem_ids of the components whose values pass unchecked, in any instance of them.
_LENIENT_IDS: set[str] = set()
_PATCHED: set[type] = set()


def lenient(component: Any) -> Any:
    """Let a value through unchecked: the schema checks it and names the field.

    Per instance, and by elem_id on its class: an event that answers a component with an
    update (``gr.skip()`` is one) makes Gradio keep a new instance of it for the session,
    built from its constructor arguments, and an instance attribute alone would be lost
    there (a typed 5000 then met Gradio's own "greater than maximum" instead of the
    schema's invalidWidth). Not by subclassing: a component subclass makes Gradio write a
    .pyi stub next to this file at import time.
    """
    component.preprocess = _passthrough
    if component.elem_id:
        _LENIENT_IDS.add(component.elem_id)
        _patch_class(type(component))
    return component


def _patch_class(cls: type) -> None:
    if cls in _PATCHED:
        return
    original = cls.preprocess

    def preprocess(self: Any, payload: Any) -> Any:
        if self.elem_id in _LENIENT_IDS:
            return payload
        return original(self, payload)

    cls.preprocess = preprocess  # type: ignore[method-assign]
    _PATCHED.add(cls)


def _range_info(rng: NumberRange, unit: str = "") -> str:
    return f"{rng.describe().capitalize()}{unit}"


# The app's built-in mock sends no request anywhere unless the server says so (SSRF).
MOCK_SENDS_NOTHING = "The built-in mock sends nothing (GLM_IMAGE_MOCK_OUTBOUND=1: to this machine only)."
PROMPT_HINT = 'Put any text to draw in "quotes", e.g. a sign that reads "OPEN DAILY". Enter generates.'

FIELDS: tuple[Field, ...] = (
    Field(
        "positive_prompt",
        "Prompt",
        "prompt",
        "prompt",
        wire="positivePrompt",
        placeholder='A bakery at dawn with a hand-painted sign that reads "FRESH BREAD"',
        info=PROMPT_HINT,
        required=True,
    ),
    Field(
        "width",
        "Width",
        "slider",
        "main",
        wire="width",
        bounds=limits.WIDTH,
        step=limits.SIZE_GRID,
        row="size",
    ),
    Field(
        "height",
        "Height",
        "slider",
        "main",
        wire="height",
        bounds=limits.HEIGHT,
        step=limits.SIZE_GRID,
        row="size",
    ),
    Field(
        "seed",
        "Seed",
        "optional_int",
        "main",
        wire="seed",
        bounds=limits.SEED,
        placeholder="random",
        info=f"{int(limits.SEED.minimum)} to {limits.SEED_MAX}; image i of a run uses seed + i",
        row="seed",
    ),
    Field("randomize_seed", "Randomize seed", "checkbox", "main", default=True, row="seed"),
    Field("steps", "Steps", "slider", "main", wire="steps", bounds=limits.STEPS, row="sampling"),
    Field(
        "cfg_scale", "CFG scale", "slider", "main", wire="CFGScale", bounds=limits.CFG_SCALE, row="sampling"
    ),
    Field(
        "number_results",
        "Number of results",
        "slider",
        "main",
        wire="numberResults",
        bounds=limits.NUMBER_RESULTS,
    ),
    Field(
        "output_format",
        "Format",
        "radio",
        "output",
        wire="outputFormat",
        choices=limits.OUTPUT_FORMATS,
        default=limits.DEFAULT_OUTPUT_FORMAT,
    ),
    Field(
        "output_quality", "Quality", "slider", "output", wire="outputQuality", bounds=limits.OUTPUT_QUALITY
    ),
    Field(
        "output_type",
        "Type",
        "radio",
        "output",
        wire="outputType",
        choices=limits.OUTPUT_TYPES,
        default=limits.DEFAULT_OUTPUT_TYPE,
        info="How the API returns the image: a URL, base64 data or a data URI",
    ),
    Field(
        "reference_images", "Upload reference images", "files", "references", wire="inputs.referenceImages"
    ),
    Field(
        "reference_urls",
        "Reference URLs or imageUUIDs",
        "lines",
        "references",
        wire="inputs.referenceImages",
        also=("inputs",),
        placeholder="One per line: https://…/photo.jpg or an imageUUID from a result",
    ),
    Field(
        "delivery_method",
        "Delivery method",
        "radio",
        "advanced",
        wire="deliveryMethod",
        choices=limits.DELIVERY_METHODS,
        default=limits.DEFAULT_DELIVERY_METHOD,
        info="async: the API answers at once and the results are polled; they appear one by one",
    ),
    Field(
        "check_content",
        "Safety check",
        "checkbox",
        "advanced",
        wire="safety.checkContent",
        default=False,
        row="safety",
    ),
    Field(
        "safety_mode",
        "Safety mode",
        "dropdown",
        "advanced",
        wire="safety.mode",
        also=("safety",),
        choices=limits.SAFETY_MODES,
        default=limits.SAFETY_MODES[0],
        row="safety",
    ),
    Field(
        "include_cost",
        "Include cost in the response",
        "checkbox",
        "advanced",
        wire="includeCost",
        default=True,
    ),
    Field(
        "ttl",
        "TTL (seconds)",
        "optional_int",
        "advanced",
        wire="ttl",
        bounds=limits.TTL,
        placeholder="empty: the API's default",
        info=f"{_range_info(limits.TTL)}; how long an image URL lives (URL output only)",
    ),
    Field(
        "webhook_url",
        "Webhook URL",
        "text",
        "advanced",
        wire="webhookURL",
        placeholder="https://…",
        info=f"The API POSTs each result there. {MOCK_SENDS_NOTHING}",
    ),
    Field(
        "upload_endpoint",
        "Upload endpoint",
        "text",
        "advanced",
        wire="uploadEndpoint",
        placeholder="https://… (each image is sent there with HTTP PUT)",
        info=f"The API PUTs each image there. {MOCK_SENDS_NOTHING}",
    ),
    Field(
        "api_key",
        "API key",
        "secret",
        "key",
        placeholder="Used for your session only; never stored or logged",
        info="With a key this session uses the live Runware API and your credits.",
    ),
)

BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}
NAMES: tuple[str, ...] = tuple(f.name for f in FIELDS)
PROMPT = BY_NAME["positive_prompt"]


def field(name: str) -> Field:
    return BY_NAME[name]


def in_panel(panel: str) -> Iterator[list[Field]]:
    """The panel's fields in table order, grouped into rows (consecutive equal ``row`` keys)."""
    group: list[Field] = []
    for f in (f for f in FIELDS if f.panel == panel):
        if group and (f.row is None or f.row != group[-1].row):
            yield group
            group = []
        group.append(f)
    if group:
        yield group


_INDEX = re.compile(r"\[(\d+)\]")
_REFERENCES = "inputs.referenceImages"
# Runware names the list in ``parameter`` and the item only in the message
# ("Invalid value for 'inputs.referenceImages[0]': ...").
_REFERENCE_IN_MESSAGE = re.compile(r"inputs\.referenceImages\[(\d+)\]")
# Uploads are checked on their own too (form.check_file); by default an error about a
# reference names what the visitor typed, so the typed field comes first.
_ERROR_ORDER = sorted(FIELDS, key=lambda f: f.kind == "files")


def for_parameter(parameter: str | None, uploads: int = 0, typed: int = 0, message: str = "") -> Field:
    """The field where an error about a wire parameter is shown (the prompt if none fits).

    ``inputs.referenceImages[2]`` and ``safety.mode`` find their field. A reference goes
    where it came from: the request lists the ``uploads`` uploaded pictures first, then the
    ``typed`` references (generate.py), so item i < uploads is an upload; the item is
    read from the parameter, else from the message. An error about the list as a whole
    goes to the uploads only when nothing was typed.
    """
    path = _INDEX.sub("", parameter or "")
    if path == _REFERENCES and uploads:
        found = _INDEX.search(parameter or "") or _REFERENCE_IN_MESSAGE.search(message)
        if (int(found.group(1)) < uploads) if found else not typed:
            return BY_NAME["reference_images"]
    while path:
        for f in _ERROR_ORDER:
            if path == f.wire or path in f.also:
                return f
        path = path.rpartition(".")[0]
    return PROMPT


def api_signature(extra: list[inspect.Parameter]) -> inspect.Signature:
    """The ``/generate`` signature: one parameter per row, in table order, then ``extra``."""
    params = [
        inspect.Parameter(
            f.name,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            default=inspect.Parameter.empty if f.required else f.value,
            annotation=_API_TYPES[f.kind],
        )
        for f in FIELDS
    ]
    return inspect.Signature(params + extra)


def with_signature(fn: Callable[..., Any], extra: list[inspect.Parameter]) -> Callable[..., Any]:
    """Give ``fn(*values, ...)`` the table's signature, so Gradio names the API parameters."""
    signature = api_signature(extra)
    fn.__signature__ = signature  # type: ignore[attr-defined]
    fn.__annotations__ = {p.name: p.annotation for p in signature.parameters.values()}
    return fn
