"""What happens on each click: generate (streamed to the browser, once for the API),
stop, select, use as reference, presets, examples, the key badge.

Two events run a generation. The browser's (private) streams a view per image so
results appear as they finish; the public ``/generate`` returns only the final view,
one file per image (re-sending the whole gallery on every partial result made a
gradio_client call ten times slower). Both run ``GenerateHandler.run``. In the browser
the text check is a follow-up event of its own (``text_check``); ``/generate`` checks
before it answers.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from typing import Any

import gradio as gr

from api_schema import limits, load_examples

from . import fields as F
from . import presets
from .generate import GenerateHandler, View, public_base, to_json
from .layout import NOTHING_SELECTED, READY, Page
from .text_check import TextCheckView, pending_job

CONCURRENCY = 8  # generation is I/O-bound: the backend does the work

_REQUEST = [
    inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None, annotation=gr.Request)
]


def columns_for(count: int) -> int:
    """Gallery columns for a run of ``count`` images: each image large, all in view."""
    if count <= 1:
        return 1
    if count <= 4:
        return 2
    if count <= 9:
        return 3
    return 4


def results_gallery(value: Any, count: int, *, webhook: bool = False) -> gr.Gallery:
    """The results gallery laid out for ``count`` images (one whole, or a grid)."""
    columns = columns_for(count)
    classes = ["single"] if columns == 1 else ["grid", f"cols-{columns}"]
    if webhook:
        classes.append("webhook")  # the empty gallery says where the images went
    return gr.Gallery(value=value, columns=columns, elem_classes=classes, selected_index=None)


def _gallery(view: View) -> gr.Gallery:
    webhook = bool(view.request and view.request.get("webhookURL") and not view.images)
    return results_gallery(view.gallery(), view.expected, webhook=webhook)


def _split(args: tuple[Any, ...]) -> tuple[dict[str, Any], Any]:
    """(form values by /generate name, the gr.Request Gradio appended)."""
    *values, request = args
    return dict(zip(F.NAMES, values, strict=True)), request


def api_outputs(view: View) -> tuple[Any, ...]:
    """The public /generate outputs but the text check: gallery, table, request, response,
    curl, python, status, seed."""
    return (
        view.gallery(),
        view.table(),
        to_json(view.request) if view.request is not None else "",
        to_json(view.response) if view.response is not None else "",
        view.curl,
        view.python,
        view.status,
        view.seed,
    )


class _Changes:
    """Skips an output whose value the browser already has (the snippets can be large)."""

    def __init__(self) -> None:
        self.sent: dict[str, Any] = {}

    def __call__(self, key: str, value: Any) -> Any:
        if key in self.sent and self.sent[key] == value:
            return gr.skip()
        self.sent[key] = value
        return value


def wire_events(page: Page, handler: GenerateHandler, badge_for: Any, text: TextCheckView) -> list[Any]:
    """Attach every event; call inside the ``gr.Blocks`` that holds ``page``.

    Returns the events that run a generation (to chain on, or cancel)."""
    uuids = gr.State([])  # imageUUIDs of the results on the page, in order
    selected = gr.State(None)  # index of the selected result, or None
    expected = gr.State(0)  # images the running generation asked for
    pending = gr.State(None)  # the finished run's text check, for the follow-up event
    page.states.update(uuids=uuids, selected=selected, expected=expected)
    inputs = page.input_list
    seed_box = page["seed"]

    async def stream(*args: Any) -> AsyncIterator[tuple[Any, ...]]:
        values, request = _split(args)
        randomize = bool(values.get("randomize_seed"))
        changed = _Changes()
        first = True
        session = getattr(request, "session_hash", None)
        token = text.begin(session)
        async for view in handler.run(values, public_base(request)):
            _, table, req, resp, curl, python, status, seed = api_outputs(view)
            # Randomize off: the seed box keeps what the visitor typed.
            seed_out = seed if randomize and seed else gr.skip()
            # A new run clears the last run's text check (a late answer finds it cleared);
            # the final view also says what the follow-up event will read. (Not in a yield
            # of its own: a last yield of skips lost the final view's gallery and buttons in
            # Chromium about one run in ten.)
            text_line, text_table = text.cleared() if first else (gr.skip(), gr.skip())
            job = None if first else gr.skip()
            if view.finished:
                text_line, job = text.started(view), pending_job(view) if text.enabled else None
                if job is not None:
                    job.update(session=session, token=token)
            yield (
                _gallery(view),
                table,
                changed("request", req),
                changed("response", resp),
                changed("curl", curl),
                changed("python", python),
                status,
                seed_out,
                text_table,
                view.uuids,
                None if first else gr.skip(),
                NOTHING_SELECTED if first else gr.skip(),
                view.expected,
                gr.Button(interactive=not view.running),
                gr.Button(visible=view.running),
                text_line,
                job,
            )
            first = False

    async def generate(*args: Any) -> tuple[Any, ...]:
        values, request = _split(args)
        views = [view async for view in handler.run(values, public_base(request))]
        checked = await text.check_view(views[-1])
        return (*api_outputs(views[-1]), checked.table())

    F.with_signature(stream, _REQUEST)
    F.with_signature(generate, _REQUEST)
    # Gradio serves every public endpoint as an MCP tool unless its function is marked as
    # another kind (the attribute gr.mcp.resource and gr.mcp.prompt set): /generate's twenty
    # form fields are for programs; an agent gets generate_image (demo/ui/mcp.py).
    generate._mcp_type = "api"  # type: ignore[attr-defined]

    api_out = [
        page.gallery,
        page.table,
        page.request_json,
        page.response_json,
        page.curl,
        page.python,
        page.status,
        seed_box,
        page.text_table,
    ]
    browser_out = [
        *api_out,
        uuids,
        selected,
        page.selected_info,
        expected,
        page.generate_btn,
        page.stop_btn,
        page.text_line,
        pending,
    ]
    run: dict[str, Any] = {
        "fn": stream,
        "inputs": inputs,
        "outputs": browser_out,
        "validator": handler.validate,
        "show_progress": "minimal",
        "show_progress_on": [page.status],
        "concurrency_limit": CONCURRENCY,
        "concurrency_id": "generate",
        "api_visibility": "private",
    }
    runs = [gr.on([page.generate_btn.click, page["positive_prompt"].submit], **run)]
    page.api_trigger.click(
        generate,
        inputs=inputs,
        outputs=api_out,
        validator=handler.validate,
        api_name="generate",
        api_description=(
            "Generate images with GLM-Image; answers once, with one file per image and the text check."
        ),
        concurrency_limit=CONCURRENCY,
        concurrency_id="generate",
    )

    example_outputs = [
        *inputs,
        page.size_preset,
        page.grid_note,
        page.panels["references"],
        page.reference_note,
        page.examples,
    ]
    fill = page.examples.select(
        pick_example,
        inputs=None,
        outputs=example_outputs,
        api_visibility="private",
        queue=False,
    )
    runs.append(fill.then(**run))
    # The text check follows a run that finished; its reads are bounded by the OCR pool.
    checks = [
        r.success(
            text.follow_up,
            inputs=pending,
            outputs=[page.text_line, page.text_table],
            show_progress="hidden",
            concurrency_limit=CONCURRENCY,
            concurrency_id="text-check",
            api_visibility="private",
        )
        for r in runs
    ]
    # A new run cancels a check still reading the last one: the run's own start does it
    # (TextCheckView.begin), not a `cancels=` here, which posted /cancel and /reset with no
    # event_id (two 422s in the console) on every Generate when no check was running.

    def stop(uuids_now: list[str] | None, wanted: int | None, request: gr.Request) -> tuple[Any, ...]:
        text.cancel(getattr(request, "session_hash", None))
        return stopped(uuids_now, wanted)

    page.stop_btn.click(
        stop,
        inputs=[uuids, expected],
        outputs=[page.status, page.generate_btn, page.stop_btn],
        cancels=runs + checks,
        api_visibility="private",
        queue=False,
    )

    page.size_preset.input(
        on_preset, page.size_preset, [page["width"], page["height"], page.grid_note], api_visibility="private"
    )
    for name in ("width", "height"):
        page[name].input(
            on_size,
            [page["width"], page["height"]],
            [page.size_preset, page.grid_note],
            api_visibility="private",
        )
    page["check_content"].input(
        lambda on: "fast" if on else "none",
        page["check_content"],
        page["safety_mode"],
        api_visibility="private",
    )
    page["api_key"].change(badge_for, page["api_key"], page.header, api_visibility="private", queue=False)
    page.gallery.select(
        on_select, uuids, [selected, page.selected_info], api_visibility="private", queue=False
    )
    page.use_ref_btn.click(
        use_as_reference,
        [selected, uuids],
        [
            page["reference_urls"],
            page["reference_images"],
            page.panels["references"],
            page.reference_note,
            page.selected_info,
        ],
        api_visibility="private",
        queue=False,
    )
    return runs


def stopped(uuids: list[str] | None, expected: int | None) -> tuple[Any, ...]:
    got, wanted = len(uuids or []), int(expected or 0)
    kept = f" {got} of {wanted} arrived and are kept below." if got else " No image had arrived."
    return f"**Stopped.**{kept}", gr.Button(interactive=True), gr.Button(visible=False)


def fill_example(index: int | None) -> tuple[Any, ...]:
    """Form values of a documented example (its references go in the URL field); the
    fields it does not mention keep what the visitor set."""
    examples = load_examples()
    if index is None or not 0 <= int(index) < len(examples):
        raise gr.Error("Unknown example.", print_exception=False)
    req = examples[int(index)].request
    refs = (req.get("inputs") or {}).get("referenceImages") or []
    values: dict[str, Any] = {f.name: req[f.wire] for f in F.FIELDS if f.wire and f.wire in req}
    values["seed"] = str(req["seed"]) if "seed" in req else ""
    values["randomize_seed"] = "seed" not in req
    values["reference_urls"] = "\n".join(refs)
    values["reference_images"] = None
    width = req.get("width", limits.WIDTH.default)
    height = req.get("height", limits.HEIGHT.default)
    values.update(width=width, height=height)
    form = tuple(values.get(name, gr.skip()) for name in F.NAMES)
    note = "**Reference now:** the example's reference picture." if refs else ""
    return (
        *form,
        presets.label_for(width, height),
        presets.grid_note(width, height),
        gr.Accordion(open=bool(refs)),
        note,
    )


def pick_example(evt: gr.SelectData) -> tuple[Any, ...]:
    """A showcase click: the example's form values; the showcase lets go of the selection
    so the same example can be clicked again."""
    return (*fill_example(evt.index), gr.Gallery(selected_index=None))


def on_preset(label: str) -> tuple[Any, Any, str]:
    size = presets.size_of(label)
    if size is None:
        return gr.skip(), gr.skip(), gr.skip()
    return size[0], size[1], presets.grid_note(*size)


def on_size(width: float, height: float) -> tuple[str, str]:
    return presets.label_for(width, height), presets.grid_note(width, height)


def on_select(uuids: list[str] | None, evt: gr.SelectData) -> tuple[Any, str]:
    index = evt.index if isinstance(evt.index, int) else (evt.index or [0])[0]
    uuids = uuids or []
    if not 0 <= index < len(uuids):
        return None, NOTHING_SELECTED
    return index, f"Selected image {index + 1} of {len(uuids)}: `{uuids[index]}`"


def use_as_reference(selected: int | None, uuids: list[str] | None) -> tuple[Any, ...]:
    """The selected result becomes the reference of the next edit, replacing the last one."""
    uuids = uuids or []
    if selected is None and len(uuids) == 1:
        selected = 0
    if not uuids or selected is None or not 0 <= selected < len(uuids):
        if uuids:
            message = (
                f"**Select an image first:** click one of the {len(uuids)} results, "
                "then press Use as reference."
            )
        else:
            message = "**Generate an image first**, then press Use as reference to edit it."
        return gr.skip(), gr.skip(), gr.skip(), gr.skip(), message
    uuid = uuids[selected]
    note = (
        f"**Reference now:** image {selected + 1} of the last run (`{uuid}`). "
        "It replaces any earlier reference: describe the edit and press Generate."
    )
    return uuid, None, gr.Accordion(open=True), note, note


__all__ = ["CONCURRENCY", "READY", "columns_for", "wire_events"]
