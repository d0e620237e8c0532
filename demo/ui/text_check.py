"""The text check on the page, in ``/generate`` and in the MCP tool.

In the browser the check is a follow-up step: the generation's stream shows the images
and hands this module a ``pending`` job (prompt and result files, in a ``gr.State``); a
separate event then reads the pictures on the OCR engine's pool and fills in the line
and the table, image by image. So OCR never delays a picture, a failure of it is a line
("not available: why") and never a failed generation, and a new run or Stop cancels a
check still pending (the stream clears the line when a run starts, so a late answer of an
older check has nowhere to land). ``/generate`` and MCP answer once: they check before
answering (``check_view``).
"""

from __future__ import annotations

import asyncio
import itertools
from collections import OrderedDict
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import gradio as gr

from ..textcheck import TABLE_HEADERS, ImageCheck, RunCheck, TextChecker, asked_strings
from ..textcheck.results import MISS_MARK, OK_MARK
from .generate import View, plural

PREFIX = "Text check:"
# The page's table: the API's columns, the image named "#" as in the result table above it
# (so five columns fit a phone's width).
PAGE_HEADERS = ["#", *TABLE_HEADERS[1:]]
COLUMN_WIDTHS = ["9%", "29%", "29%", "19%", "14%"]


def _line(text: str, run: RunCheck | None = None) -> str:
    """A summary as the page shows it: "**Text check: ✗** 5 of 6 strings written correctly"."""
    rest = text.removeprefix(PREFIX).strip()
    if run is not None and run.total:
        return f"**{PREFIX} {OK_MARK if run.passed == run.total else MISS_MARK}** {rest}"
    return f"**{PREFIX}** {rest}"


def pending_job(view: View) -> dict[str, Any] | None:
    """What the follow-up event needs of a finished run (None: nothing to read)."""
    prompt = (view.request or {}).get("positivePrompt", "")
    if not view.files or not asked_strings(prompt):
        return None
    return {"prompt": prompt, "files": list(view.files)}


def cleared() -> tuple[Any, Any]:
    """Line and table hidden and empty (a run starts, or an older run is brought back)."""
    return gr.Markdown("", visible=False), gr.Dataframe(value=None, visible=False)


MAX_SESSIONS = 10_000


class TextCheckView:
    """The check as the page and the API show it; one per app, around the shared checker."""

    def __init__(self, checker: TextChecker) -> None:
        self.checker = checker
        # Each browser session's latest run: a check of an older one stops reading and
        # says nothing (Gradio's cancel can come too late for a check near its end, and
        # its summary then overwrote the new run's). Bounded: the oldest sessions go first.
        self._latest: OrderedDict[str, int] = OrderedDict()
        self._tokens = itertools.count(1)
        # Each session's check still reading: a new run (or Stop) cancels its reads here.
        # (A Gradio `cancels=` on Generate sent /cancel and /reset with no event_id, two
        # 422s in the console on every run, whenever no check was running.)
        self._reading: dict[str, list[asyncio.Future[Any]]] = {}

    def begin(self, session: str | None) -> int:
        """A run starts in ``session``: the token its check must carry to be shown."""
        token = next(self._tokens)
        self.cancel(session)
        if session:
            self._latest[session] = token
            self._latest.move_to_end(session)
            while len(self._latest) > MAX_SESSIONS:
                self._latest.popitem(last=False)
        return token

    def cancel(self, session: str | None) -> None:
        """Drop the reads of ``session``'s check still running (a new run, or Stop)."""
        for task in self._reading.pop(session, []) if session else []:
            task.cancel()

    def _current(self, pending: dict[str, Any]) -> bool:
        session = pending.get("session")
        return not session or self._latest.get(session) == pending.get("token")

    @property
    def enabled(self) -> bool:
        return self.checker.enabled

    async def check_view(self, view: View) -> RunCheck:
        """The whole check of a finished run, for the answer-once callers (/generate, MCP)."""
        prompt = (view.request or {}).get("positivePrompt", "")
        return await self.checker.check_images(prompt, [r.data for r in view.images])

    def cleared(self) -> tuple[Any, Any]:
        """Line and table when a run starts: hidden until there is something to say."""
        return cleared()

    def started(self, view: View) -> Any:
        """The line once the images are shown: what will be read, or why nothing is."""
        if not self.enabled or not view.files:
            return gr.skip()
        asked = asked_strings((view.request or {}).get("positivePrompt", ""))
        if not asked:
            return gr.Markdown(_line(RunCheck((), ()).summary()), visible=True)
        text = f"reading {plural(len(asked), 'quoted string')} in {plural(len(view.files))}…"
        return gr.Markdown(_line(text), visible=True)

    async def follow_up(self, pending: dict[str, Any] | None) -> AsyncIterator[tuple[Any, Any]]:
        """The browser's follow-up event: line and table, updated as each image is read."""
        if not pending or not self.enabled:
            yield gr.skip(), gr.skip()
            return
        prompt, files = pending["prompt"], pending["files"]
        tasks = [
            asyncio.ensure_future(self.checker.check_image(prompt, Path(f), i))
            for i, f in enumerate(files, start=1)
        ]
        session = pending.get("session")
        if session and self._current(pending):
            self._reading[session] = tasks
        try:
            for done, next_done in enumerate(asyncio.as_completed(tasks), start=1):
                try:
                    await next_done
                except asyncio.CancelledError:
                    if self._current(pending):
                        raise  # Gradio cancelled the event itself
                    return  # a newer run cancelled these reads
                if not self._current(pending):
                    return  # a newer run of this session owns the line now
                if done < len(tasks):
                    read = [t.result() for t in tasks if t.done()]
                    text = f"{done} of {plural(len(tasks))} read…"
                    yield gr.Markdown(_line(text)), self._table(read)
            run = RunCheck(asked_strings(prompt), tuple(t.result() for t in tasks))
            yield gr.Markdown(_line(run.summary(), run)), self._table(list(run.images))
        finally:
            # A Stop or a new run cancels this event: reads not yet started are dropped.
            for task in tasks:
                task.cancel()
            if session and self._reading.get(session) is tasks:
                del self._reading[session]

    @staticmethod
    def _table(checks: list[ImageCheck]) -> Any:
        checks = sorted(checks, key=lambda c: int(c.label))
        rows = [row for check in checks if check.state == "checked" for row in check.table_rows()]
        return gr.Dataframe(value={"headers": PAGE_HEADERS, "data": rows}, visible=bool(rows))
