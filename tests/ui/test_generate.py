"""GenerateHandler.run, the one code path of the browser's stream and the public /generate:
its views in order, and a Stop (the event's task cancelled) that ends the polling too; the
browser's text-check step, image by image, and a cancel of it that drops the reads left."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from demo.backend import IN_PROCESS_URL, Backend, make_backend
from demo.client import PollPolicy, RunwareClient
from demo.settings import Settings
from demo.textcheck import OcrEngine, TextChecker
from demo.textcheck.engine import WORKERS
from demo.ui import fields
from demo.ui.generate import GenerateHandler, View
from demo.ui.text_check import TextCheckView
from mock_api.images.render import PreviewSpec, render_bytes

PROMPT = 'A sign that reads "PATIENCE"'


class Counting(httpx.AsyncBaseTransport):
    """Counts the getResponse polls going through to the mock."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner, self.polls = inner, 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and b"getResponse" in request.content:
            self.polls += 1
        return await self.inner.handle_async_request(request)


class SlowMock(Backend):
    """The in-process mock at a crawl (images take minutes), reached through ``Counting``."""

    transport: Counting

    def client(self, api_key: str | None = None, *, public_base: str | None = None) -> RunwareClient:
        self.transport = Counting(httpx.ASGITransport(app=self.mock_app()))
        polling = PollPolicy(initial=0.01, maximum=0.01)
        return RunwareClient(IN_PROCESS_URL, "k", transport=self.transport, polling=polling)


def values(**overrides: Any) -> dict[str, Any]:
    return {**{f.name: f.value for f in fields.FIELDS}, "positive_prompt": PROMPT, **overrides}


async def collect(views: AsyncIterator[View]) -> list[View]:
    return [v async for v in views]


async def test_a_run_is_announced_at_once_then_fills_in_request_order():
    settings = Settings(backend="mock", api_key=None, mock_api_url=None, mock_speed=0)
    handler = GenerateHandler(settings, make_backend(settings))
    views = await collect(handler.run(values(number_results=3, seed="42", randomize_seed=False, width=256)))
    first, *partial, final = views
    assert first.status == "**Generating 3 images…**" and first.images == [] and first.running
    assert first.request is not None and first.request["seed"] == 42  # the request is shown at once
    assert [len(v.images) for v in partial] == [1, 2, 3]
    for view in partial:  # whatever order they arrive in, each view is in request order
        seeds = [r.seed for r in view.images]
        assert seeds == sorted(seeds)
    assert [r.seed for r in final.images] == [42, 43, 44] and final.seed == "42"
    assert not final.running and final.status.startswith("**Done:** 3 images")
    assert final.finished and not any(v.finished for v in views[:-1])  # the text check starts here
    assert len(final.files) == 3 and final.table()["data"][2][1] == "44"


async def test_a_stop_ends_the_polling_too():
    settings = Settings(backend="mock", api_key=None, mock_api_url=None, mock_speed=100)
    backend = SlowMock("mock", "slow", IN_PROCESS_URL, settings)
    views = GenerateHandler(settings, backend).run(values(delivery_method="async", steps=999))
    assert (await anext(views)).running
    waiting = asyncio.ensure_future(anext(views))  # no image comes: it polls on
    for _ in range(500):
        if getattr(backend, "transport", None) and backend.transport.polls >= 3:
            break
        await asyncio.sleep(0.01)
    assert backend.transport.polls >= 3
    waiting.cancel()  # what Gradio does to the event's task on Stop
    with pytest.raises(asyncio.CancelledError):
        await waiting
    polls = backend.transport.polls
    await asyncio.sleep(0.2)  # twenty poll intervals: none may happen now
    assert backend.transport.polls == polls
    left = [t for t in asyncio.all_tasks() if "RunwareClient.generate" in repr(t.get_coro())]
    assert left == []


# --- the text check's follow-up step (the browser's), with the real OCR -----------------

CHECKED = 'A bakery sign that reads "FRESH BREAD"'


def previews(folder: Path, count: int) -> list[str]:
    """Result files as the page keeps them: the mock's previews of CHECKED."""
    paths = []
    for i in range(count):
        path = folder / f"result-{i}.jpg"
        path.write_bytes(render_bytes(PreviewSpec(CHECKED, 384, 256, seed=i), "JPG", 90))
        paths.append(str(path))
    return paths


async def test_the_follow_up_fills_in_image_by_image(tmp_path: Path):
    text = TextCheckView(TextChecker())
    steps = [step async for step in text.follow_up({"prompt": CHECKED, "files": previews(tmp_path, 3)})]
    lines = [line.value for line, _ in steps]
    assert lines == [
        "**Text check:** 1 of 3 images read…",
        "**Text check:** 2 of 3 images read…",
        "**Text check: ✓** 3 of 3 strings written correctly",
    ]
    table = steps[-1][1].value
    assert table["headers"] == ["#", "asked for", "read", "score", "ok"]
    assert [(row[0], row[1], row[4]) for row in table["data"]] == [(i, "FRESH BREAD", "✓") for i in (1, 2, 3)]


async def test_a_cancelled_check_drops_the_reads_not_yet_started(tmp_path: Path):
    """What a Stop or a new run does to the follow-up event: its task is cancelled."""
    engine = OcrEngine()
    text = TextCheckView(TextChecker(engine))
    files = previews(tmp_path, 6)
    reads: list[object] = []
    gate = threading.Event()
    read = engine.read

    def gated_read(image):
        reads.append(image)
        if len(reads) > 1:  # the first read goes through; the others wait for the gate
            gate.wait(60)
        return read(image)

    engine.read = gated_read  # type: ignore[method-assign]
    steps = text.follow_up({"prompt": CHECKED, "files": files})
    first_line, _ = await anext(steps)
    assert first_line.value == "**Text check:** 1 of 6 images read…"
    waiting = asyncio.ensure_future(anext(steps))
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    gate.set()
    # Every read still queued has run or been dropped once the pool has done this much.
    drained = [engine.executor.submit(lambda: None) for _ in range(WORKERS)]
    await asyncio.gather(*(asyncio.wrap_future(f) for f in drained))
    assert len(reads) <= 1 + WORKERS < len(files), reads  # the running reads finish, the rest never start
