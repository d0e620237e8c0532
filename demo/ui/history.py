"""This session's runs: a strip of thumbnails that brings a run back, and a Compare grid.

Each finished run is recorded after it ends (a ``.then`` of the run event, so the run
path itself is untouched): its form values, the result gallery, table, JSON and
snippets, and the before/after pair of an edit. The history lives in a ``gr.State``,
so it is per browser session, never shared between visitors, and gone with the
session. It is bounded by count and by bytes (the image files it points at plus the
text it holds); the oldest runs go first. The files are the copies Gradio served,
which its cache keeps for a couple of hours: a run whose files went is dropped when
it is next shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr

from api_schema.quotes import printable

from . import beforeafter
from . import fields as F

MAX_RUNS = 12
MAX_BYTES = 64 * 1024 * 1024
MAX_COMPARE_IMAGES = 40
COMPARE_DEFAULT_RUNS = 4
# Every form field but the key comes back with a run.
FORM = tuple(n for n in F.NAMES if n != "api_key")


@dataclass
class Run:
    number: int  # 1, 2, ... within the session
    values: dict[str, Any]  # form field -> value, seed made exact (randomize off)
    gallery: list[tuple[str, str | None]]
    table: dict[str, Any]
    request_json: str
    response_json: str
    curl: str
    python: str
    status: str
    uuids: list[str]
    before_after: tuple[str, str] | None = None
    size: int = 0

    @property
    def seeds(self) -> list[str]:
        return [str(row[1]) for row in self.table.get("data", [])]

    @property
    def label(self) -> str:
        count = len(self.gallery)
        prompt = printable(str(self.values.get("positive_prompt") or ""))
        excerpt = prompt if len(prompt) <= 48 else prompt[:47].rstrip() + "…"
        seed = f"seed {self.seeds[0]}" if self.seeds else "no seed"
        return f"Run {self.number} · {count} image{'' if count == 1 else 's'} · {seed} · {excerpt}"

    def alive(self) -> bool:
        return all(Path(path).is_file() for path, _ in self.gallery)


@dataclass
class History:
    runs: list[Run] = field(default_factory=list)
    count: int = 0

    @property
    def size(self) -> int:
        return sum(r.size for r in self.runs)

    def add(self, run: Run) -> None:
        self.runs.append(run)
        while len(self.runs) > 1 and (len(self.runs) > MAX_RUNS or self.size > MAX_BYTES):
            self.runs.pop(0)

    def prune(self) -> None:
        self.runs = [r for r in self.runs if r.alive()]

    def file_of(self, image_uuid: str) -> str | None:
        for run in reversed(self.runs):
            if image_uuid in run.uuids:
                index = run.uuids.index(image_uuid)
                return run.gallery[index][0] if index < len(run.gallery) else None
        return None


def _table(value: Any) -> dict[str, Any]:
    """The result table as {"headers", "data"}, from the DataFrame Gradio passes in."""
    if value is None:
        return {"headers": [], "data": []}
    if isinstance(value, dict):
        return {
            "headers": list(value.get("headers") or []),
            "data": [list(r) for r in value.get("data") or []],
        }
    headers = [str(c) for c in getattr(value, "columns", [])]
    data = [[str(c) for c in row] for row in value.values.tolist()] if hasattr(value, "values") else []
    return {"headers": headers, "data": [r for r in data if any(c.strip() for c in r)]}


def _gallery(value: Any) -> list[tuple[str, str | None]]:
    out = []
    for item in value or []:
        if isinstance(item, tuple | list) and item:
            out.append((str(item[0]), item[1] if len(item) > 1 else None))
        elif isinstance(item, str):
            out.append((item, None))
    return out


def _size(run: Run) -> int:
    files = sum(Path(p).stat().st_size for p, _ in run.gallery if Path(p).is_file())
    text = sum(len(t) for t in (run.request_json, run.response_json, run.curl, run.python, run.status))
    prompt = len(str(run.values.get("positive_prompt") or ""))
    return files + text + prompt


def make_run(history: History, values: dict[str, Any], outputs: dict[str, Any], stand_in: Any) -> Run | None:
    """The record of a finished run, or None when nothing came back (failed, stopped, webhook)."""
    gallery = _gallery(outputs.get("gallery"))
    status = str(outputs.get("status") or "")
    if not gallery or not status.startswith("**Done"):
        return None
    table = _table(outputs.get("table"))
    uuids = [str(row[2]) for row in table["data"] if len(row) > 2]
    kept = {k: v for k, v in values.items() if k in FORM}
    seeds = [row[1] for row in table["data"] if len(row) > 1]
    if seeds:
        kept.update(seed=str(seeds[0]), randomize_seed=False)  # bring back exactly this run
    pair = None
    base = beforeafter.base_reference(values, history.file_of, stand_in)
    if base is not None:
        before = beforeafter.before_file(base, gallery[0][0])
        pair = (before, gallery[0][0]) if before else None
    run = Run(
        number=history.count + 1,
        values=kept,
        gallery=gallery,
        table=table,
        request_json=str(outputs.get("request_json") or ""),
        response_json=str(outputs.get("response_json") or ""),
        curl=str(outputs.get("curl") or ""),
        python=str(outputs.get("python") or ""),
        status=status,
        uuids=uuids,
        before_after=pair,
    )
    run.size = _size(run)
    return run


# --------------------------------------------------------------------------- components


@dataclass
class HistoryView:
    state: gr.State
    box: gr.Column
    strip: gr.Gallery
    pick: gr.CheckboxGroup
    grid: gr.Gallery


def build() -> HistoryView:
    state = gr.State(History())
    with gr.Column(visible=False, elem_id="history") as box:
        gr.Markdown(
            f"**This session's runs** (the last {MAX_RUNS}, kept for this tab only): "
            "click one to bring back its settings and results.",
            elem_id="history-heading",
        )
        strip = gr.Gallery(
            label="This session's runs",
            show_label=False,
            columns=6,
            height="auto",
            object_fit="contain",
            allow_preview=False,
            interactive=False,
            buttons=[],
            elem_id="history-strip",
        )
        with gr.Accordion("Compare runs side by side", open=False, elem_id="compare"):
            pick = gr.CheckboxGroup(
                label="Runs to compare",
                info=f"Every image of the runs you tick, in one grid (up to {MAX_COMPARE_IMAGES} images)",
                elem_id="compare-pick",
            )
            grid = gr.Gallery(
                label="Compared images",
                show_label=False,
                columns=4,
                height="auto",
                object_fit="contain",
                interactive=False,
                buttons=["download", "fullscreen"],
                elem_id="compare-grid",
            )
    return HistoryView(state, box, strip, pick, grid)


def strip_value(history: History) -> list[tuple[str, str]]:
    return [(r.gallery[0][0], f"Run {r.number}") for r in history.runs]


def compare_value(history: History, labels: list[str] | None) -> list[tuple[str, str]]:
    chosen = set(labels or [])
    out: list[tuple[str, str]] = []
    for run in history.runs:
        if run.label not in chosen:
            continue
        for i, (path, _) in enumerate(run.gallery):
            seed = run.seeds[i] if i < len(run.seeds) else "?"
            out.append((path, f"Run {run.number} · #{i + 1} · seed {seed}"))
    return out[:MAX_COMPARE_IMAGES]


def _default_pick(history: History) -> list[str]:
    return [r.label for r in history.runs[-COMPARE_DEFAULT_RUNS:]]


def shown(history: History, pick: list[str] | None = None) -> tuple[Any, ...]:
    """Box, strip, pick and grid for this history."""
    labels = [r.label for r in history.runs]
    chosen = [p for p in (pick or _default_pick(history)) if p in labels]
    return (
        gr.Column(visible=bool(history.runs)),
        strip_value(history),
        gr.CheckboxGroup(choices=labels, value=chosen),
        gr.Gallery(value=compare_value(history, chosen), columns=compare_columns(len(chosen))),
    )


def compare_columns(runs: int) -> int:
    return max(2, min(4, runs or 1))


def slider_update(pair: tuple[str, str] | None) -> Any:
    if pair is None or not all(Path(p).is_file() for p in pair):
        return gr.ImageSlider(value=None, visible=False)
    return gr.ImageSlider(value=pair, visible=True)


def pick(history: History, index: int) -> Run | None:
    """Run ``index`` of the strip, if its files are still there."""
    if not 0 <= index < len(history.runs):
        return None
    run = history.runs[index]
    return run if run.alive() else None
