"""The events around a run: the price as the form changes, the shareable link, this
session's history (record, restore, compare) and an edit's before/after.

None of these touch the run path: they listen to the form, or follow a run event with
``.then`` and read what it left on the page.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from . import fields as F
from . import history, links, presets, pricing, text_check
from .events import results_gallery
from .form import field_errors
from .generate import GenerateHandler
from .layout import NOTHING_SELECTED, Page

# What a finished run left on the page, read back for the history.
_RESULT_KEYS = ("gallery", "table", "request_json", "response_json", "curl", "python", "status")


def wire(page: Page, handler: GenerateHandler, runs: list[Any], demo: gr.Blocks) -> None:
    _wire_price(page, handler)
    _wire_links(page, handler, runs, demo)
    _wire_history(page, handler, runs)


# --------------------------------------------------------------------------- price


def _wire_price(page: Page, handler: GenerateHandler) -> None:
    def price(width: Any, height: Any, number: Any, api_key: str | None) -> str:
        return pricing.price_line(handler.backend_for(api_key).kind, width, height, number)

    watched = [page["width"], page["height"], page["number_results"], page["api_key"]]
    # .change, not .input: a preset, an example, a link or a restored run moves them too.
    gr.on(
        [c.change for c in watched],
        price,
        inputs=watched,
        outputs=page.price,
        api_visibility="private",
        queue=False,
        show_progress="hidden",
    )


# --------------------------------------------------------------------------- links


def _wire_links(page: Page, handler: GenerateHandler, runs: list[Any], demo: gr.Blocks) -> None:
    link_inputs = [page[name] for name in links.LINK_FIELDS]
    fill_outputs = [*link_inputs, page["randomize_seed"], page.size_preset, page.grid_note, page.link_note]

    def open_link(request: gr.Request) -> tuple[Any, ...]:
        params = getattr(request, "query_params", None) or {}
        link = links.read(params)
        values = link.values
        # Only what the link names: the load event can arrive after a visitor (or a test)
        # has started typing, and must not wipe the form back to its defaults.
        out: list[Any] = [values.get(name, gr.skip()) for name in links.LINK_FIELDS]
        out.append(values.get("randomize_seed", gr.skip()))
        if "width" in values or "height" in values:
            width = values.get("width", F.field("width").value)
            height = values.get("height", F.field("height").value)
            out += [presets.label_for(width, height), presets.grid_note(width, height)]
        else:
            out += [gr.skip(), gr.skip()]
        # What the API would refuse is said at once; Generate reports it next to its field.
        form = {f.name: f.value for f in F.FIELDS} | values
        problems = {k: v for k, v in field_errors(form).items() if k in values}
        note = links.note_markdown(link, problems)
        out.append(gr.Markdown(note, visible=bool(note)))
        return tuple(out)

    demo.load(open_link, inputs=None, outputs=fill_outputs, api_visibility="private", queue=False)
    page.share_btn.click(
        None, inputs=link_inputs, outputs=page.share_note, js=links.COPY_JS, api_visibility="private"
    )
    # After each run the address bar holds the link to what is on screen.
    for event in runs:
        event.then(None, inputs=link_inputs, outputs=None, js=links.LINK_JS, api_visibility="private")


# --------------------------------------------------------------------------- history


def _wire_history(page: Page, handler: GenerateHandler, runs: list[Any]) -> None:
    view = page.runs
    form = [page[name] for name in F.NAMES]
    results = [getattr(page, key) for key in _RESULT_KEYS]
    shown_outputs = [view.box, view.strip, view.pick, view.grid]

    def record(*args: Any) -> tuple[Any, ...]:
        *rest, past = args
        values = dict(zip(F.NAMES, rest[: len(F.NAMES)], strict=True))
        outputs = dict(zip(_RESULT_KEYS, rest[len(F.NAMES) :], strict=True))
        past = past if isinstance(past, history.History) else history.History()
        stand_in = handler.backend_for(values.get("api_key")).reference_stand_in
        run = history.make_run(past, values, outputs, stand_in)
        if run is None:
            return (past, *history.shown(past), gr.skip())
        past.count += 1
        past.add(run)
        return (past, *history.shown(past), history.slider_update(run.before_after))

    for event in runs:
        event.then(
            record,
            inputs=[*form, *results, view.state],
            outputs=[view.state, *shown_outputs, page.before_after],
            api_visibility="private",
            show_progress="hidden",
        )

    restore_outputs = [
        *[page[name] for name in history.FORM],
        page.size_preset,
        page.grid_note,
        page.gallery,
        page.table,
        page.request_json,
        page.response_json,
        page.curl,
        page.python,
        page.status,
        page.states["uuids"],
        page.states["selected"],
        page.before_after,
        page.text_line,
        page.text_table,
    ]

    def restore(past: history.History, evt: gr.SelectData) -> tuple[Any, ...]:
        index = evt.index if isinstance(evt.index, int) else (evt.index or [0])[0]
        run = history.pick(past, int(index))
        if run is None:
            past.prune()
            skipped = [gr.skip()] * len(restore_outputs)
            skipped[restore_outputs.index(page.status)] = (
                "**That run's files are gone** (the server keeps them a couple of hours); it was "
                "removed from the history."
            )
            return (*skipped, NOTHING_SELECTED, past, *history.shown(past))
        return (*restored(run), NOTHING_SELECTED, past, *history.shown(past))

    view.strip.select(
        restore,
        inputs=view.state,
        outputs=[*restore_outputs, page.selected_info, view.state, *shown_outputs],
        api_visibility="private",
        queue=False,
    )
    view.pick.input(
        lambda past, pick: gr.Gallery(
            value=history.compare_value(past, pick), columns=history.compare_columns(len(pick or []))
        ),
        inputs=[view.state, view.pick],
        outputs=view.grid,
        api_visibility="private",
        queue=False,
    )


def restored(run: history.Run) -> tuple[Any, ...]:
    """The form, the results and the selection as they were after ``run``."""
    values = run.values
    width, height = values.get("width"), values.get("height")
    return (
        *(values.get(name, gr.skip()) for name in history.FORM),
        presets.label_for(width, height),
        presets.grid_note(width, height),
        results_gallery(run.gallery, len(run.gallery)),
        run.table,
        run.request_json,
        run.response_json,
        run.curl,
        run.python,
        f"**Restored run {run.number}** from this session's history. {run.status}",
        list(run.uuids),
        None,
        history.slider_update(run.before_after),
        # The check on the page belongs to the latest run, not this one: hidden, not mixed.
        *text_check.cleared(),
    )
