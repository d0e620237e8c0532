"""One generation as a sequence of views: validate, send, collect, report.

``GenerateHandler.run`` yields a ``View`` when the request goes out, one per image
that arrives (in request order, whatever order they finish in) and a final one. The
browser's private event streams every view; the public ``/generate`` answers once,
with the final view (one file per image).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import secrets
import shutil
import tempfile
import threading
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr
from PIL import Image

from api_schema.limits import RANDOM_SEED_MAX

from ..backend import Backend, backend_for_key
from ..client import ImageResult, Limits, RunwareError, ValidationFailed, images
from ..settings import Settings
from . import fields as F
from .disk import DiskBudget
from .form import (
    FormError,
    Namer,
    build_task,
    describe_errors,
    describe_problems,
    field_errors,
    page_title,
    result_table,
    split_references,
    total_cost,
    uploaded_files,
)
from .snippets import Where, curl_snippet, python_snippet

log = logging.getLogger("demo.ui")

GENERIC_FAILURE = "Something went wrong while generating. Please try again."

# Per-request folders for result files; the oldest are removed past this count.
_KEEP_DIRS = 64
# Image payloads (data URIs of uploaded references, base64 output) are cut in the JSON
# views so the page stays light; prose such as the prompt is always shown whole.
# The snippets carry them in full.
_SHOW_CHARS = 160


def _is_blob(text: str) -> bool:
    return len(text) > _SHOW_CHARS and (text.startswith("data:") or not any(c.isspace() for c in text))


def shorten(value: Any) -> Any:
    """A JSON value with image payload strings cut."""
    if isinstance(value, str) and _is_blob(value):
        return f"{value[:_SHOW_CHARS]}… ({len(value):,} characters)"
    if isinstance(value, dict):
        return {k: shorten(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shorten(v) for v in value]
    return value


def to_json(value: Any) -> str:
    return json.dumps(shorten(value), indent=2, ensure_ascii=False)


def plural(count: int, noun: str = "image") -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _size_of(data: bytes) -> tuple[int, int] | None:
    try:
        with Image.open(io.BytesIO(data)) as img:
            return img.size
    except Exception:
        return None


# What a visitor can do about an error of the account or the key (Runware's words come first).
ACCOUNT_HINTS = {
    402: "Your Runware balance does not cover this run: top it up at https://my.runware.ai, "
    "or clear the API key to use the mock backend (no credits used).",
    403: "This API key is not allowed to run this model: check its permissions at "
    "https://my.runware.ai, or clear the key to use the mock backend.",
    401: "Check the API key (get one at https://my.runware.ai/signup), or clear it to use the mock backend.",
}


def _error_text(exc: RunwareError, uploads: int, typed: int, name: Namer) -> str:
    if isinstance(exc, ValidationFailed) and exc.errors:
        return describe_errors(exc.errors, uploads, typed, name)
    hint = ACCOUNT_HINTS.get(exc.status or 0)
    return f"{exc}\n{hint}" if hint else str(exc)


@dataclass
class View:
    """The result area at one moment: gallery, table, JSON, snippets and status together."""

    status: str
    expected: int
    images: list[ImageResult] = field(default_factory=list)  # request order
    files: list[str] = field(default_factory=list)  # one saved file per image, same order
    request: dict[str, Any] | None = None  # the wire task as sent (no key)
    response: Any = None
    curl: str = ""
    python: str = ""
    running: bool = True
    finished: bool = False  # the last view of a run that succeeded (its images are final)

    @property
    def seed(self) -> str:
        """The first image's seed (image i has seed + i), or '' before any arrived."""
        return str(self.images[0].seed) if self.images else ""

    @property
    def uuids(self) -> list[str]:
        return [r.image_uuid for r in self.images]

    def gallery(self) -> list[tuple[str, str]]:
        """(file, caption) per image; small thumbnails get only their number (the table has the rest)."""
        pairs = zip(self.images, self.files, strict=True)
        if self.expected > 4:
            return [(path, f"#{i + 1}") for i, (_, path) in enumerate(pairs)]
        return [(path, f"#{i + 1} · seed {r.seed}") for i, (r, path) in enumerate(pairs)]

    def table(self) -> dict[str, Any]:
        return result_table([(r.item, r.format, _size_of(r.data)) for r in self.images])


def public_base(request: gr.Request | None) -> str | None:
    """The page's public address (``http://127.0.0.1:7860``), proxies included."""
    raw = getattr(request, "request", None) if request is not None else None
    if raw is None:
        return None
    from gradio.route_utils import get_root_url

    try:
        return get_root_url(request=raw, route_path=raw.url.path, root_path=None)
    except Exception:
        return None


class GenerateHandler:
    """Holds what outlives one request: settings, the shared backend, the file folder."""

    def __init__(self, settings: Settings, backend: Backend) -> None:
        self.settings = settings
        self.backend = backend
        self.root = Path(tempfile.gettempdir()) / "glm-image-demo"
        self._dirs: deque[Path] = deque()
        # Gradio copies every result (and upload) into its own cache: both count.
        cache = Path(gr.utils.get_upload_folder())
        self.disk = DiskBudget([self.root, cache], max_bytes=settings.disk_mb * 1024 * 1024)

    def backend_for(self, api_key: str | None) -> Backend:
        # The shared backend keeps the in-process mock's state (uploads, generated
        # imageUUIDs usable as references) across requests; a visitor key means live.
        if api_key and api_key.strip():
            return backend_for_key(self.settings, api_key)
        return self.backend

    def _request_dir(self) -> Path:
        # Make room before a run adds files; in a thread, so a big sweep never stalls the page.
        threading.Thread(target=self.disk.enforce, name="disk-budget", daemon=True).start()
        self.root.mkdir(parents=True, exist_ok=True)
        path = Path(tempfile.mkdtemp(prefix="req-", dir=self.root))
        self._dirs.append(path)
        while len(self._dirs) > _KEEP_DIRS:
            shutil.rmtree(self._dirs.popleft(), ignore_errors=True)
        return path

    def validate(self, *args: Any) -> list[Any]:
        """The event validator: one gr.validate per input, the message beside its field.

        A field in a closed panel would hide its message, so the prompt's message also
        names those ("Advanced › TTL: invalidTtl: ...").
        """
        values = dict(zip(F.NAMES, args, strict=False))
        problems = field_errors(values)
        hidden = {k: v for k, v in problems.items() if F.field(k).collapsed}
        out = []
        for name in F.NAMES[: len(args)]:
            messages = list(problems.get(name, []))
            if name == F.PROMPT.name and hidden:
                messages += [f"{F.field(k).title}: {m}" for k, ms in hidden.items() for m in ms]
            out.append(gr.validate(not messages, "\n".join(messages)))
        return out

    async def run(
        self, values: dict[str, Any], base: str | None = None, *, name: Namer = page_title
    ) -> AsyncIterator[View]:
        """Views of one generation; raises gr.Error (after a 'Failed' view) when it fails.

        ``name`` says how a message names a field (the MCP tool names its parameters)."""
        # Validate everything before any request (the event's validator did too, but an
        # API caller may arrive another way).
        problems = field_errors(values)
        if problems:
            raise gr.Error(describe_problems(problems, name), title="Check the form", print_exception=False)
        if values.get("randomize_seed", True):
            # The app picks the seed, in the API's own random range: left to the API, each
            # image of a run got an unrelated seed, so the seed box (the first one) repeated
            # image 1 only. Sent, image i uses seed + i and the whole run can be repeated.
            values = {**values, "seed": str(secrets.randbelow(RANDOM_SEED_MAX + 1)), "randomize_seed": False}
        typed = split_references(values.get("reference_urls"))
        task = build_task(values, typed)
        api_key = (values.get("api_key") or "").strip() or None
        backend = self.backend_for(api_key)
        endpoint = backend.endpoint(base)
        where: Where = "live" if backend.kind == "live" else "mock"
        if backend.in_process and base:
            where = "here"
        number = task.number_results
        view = View(status=_starting(task.to_wire()), expected=number, request=task.to_wire())
        yield view

        out_dir = self._request_dir()
        started = time.monotonic()
        arrived: dict[int, ImageResult] = {}
        queue: asyncio.Queue[ImageResult] = asyncio.Queue()

        def snapshot(
            status: str, *, response: Any = None, running: bool = True, finished: bool = False
        ) -> View:
            ordered = [arrived[i] for i in sorted(arrived)]
            return View(
                status,
                number,
                images=ordered,
                files=[str(out_dir / r.filename) for r in ordered],
                request=view.request,
                response=response,
                curl=view.curl,
                python=view.python,
                running=running,
                finished=finished,
            )

        files = uploaded_files(values)
        try:
            async with backend.client(api_key, public_base=base) as client:
                if files:
                    refs = [await client.prepare_reference(Path(f)) for f in files]
                    task = build_task(values, refs + typed, task_uuid=task.task_uuid)
                wire = task.to_wire()
                shown = _with_full_uploads(wire, files, len(typed))
                view.request = wire
                view.curl = curl_snippet(shown, endpoint, where)
                view.python = python_snippet(shown, endpoint, where)

                async def on_result(result: ImageResult) -> None:
                    await queue.put(result)

                job = asyncio.ensure_future(client.generate(task, on_result=on_result))
                try:
                    while not job.done() or not queue.empty():
                        getter = asyncio.ensure_future(queue.get())
                        await asyncio.wait({job, getter}, return_when=asyncio.FIRST_COMPLETED)
                        if not getter.done():
                            getter.cancel()
                            continue
                        result = getter.result()
                        result.save(out_dir)
                        arrived[result.index] = result
                        yield snapshot(f"**Generating:** {len(arrived)} of {plural(number)} ready…")
                    generation = job.result()
                finally:
                    # A Stop (the event is cancelled) or a failure ends the polling too.
                    job.cancel()
                    with contextlib.suppress(BaseException):
                        await job
        except FormError as exc:
            text = describe_errors(exc.errors, len(files), len(typed), name)
            failure = gr.Error(text, title="Check the form", print_exception=False)
        except RunwareError as exc:
            text = _error_text(exc, len(files), len(typed), name)
            failure = gr.Error(text, title="Runware API error", print_exception=False)
        except gr.Error as exc:
            failure = exc
        except Exception as exc:
            # Anything unexpected: a short server-side line (no inputs, so no key), no traceback to the user.
            log.error("generation failed: %s", type(exc).__name__)
            failure = gr.Error(GENERIC_FAILURE, print_exception=False)
        else:
            failure = None
        if failure is not None:
            # Keep what was sent (and any image that did arrive) on the page, then report.
            yield snapshot(f"**Failed:** {failure.message}", running=False)
            raise failure

        arrived.clear()
        for result in generation.images:
            if not (out_dir / result.filename).exists():
                result.save(out_dir)
            arrived[result.index] = result
        summary = _summary(generation.request, generation.images, time.monotonic() - started, backend)
        yield snapshot(summary, response=generation.response, running=False, finished=True)


def _with_full_uploads(wire: dict[str, Any], files: list[str], typed: int) -> dict[str, Any]:
    """The task as a snippet should send it: uploaded references as full data URIs.

    The client may have sent a large upload through imageUpload; that imageUUID only
    exists where it was uploaded, a data URI works against any backend.
    """
    refs = (wire.get("inputs") or {}).get("referenceImages") or []
    if not files or len(refs) != len(files) + typed:
        return wire
    inline = []
    for path in files:
        data = images.read_image_file(Path(path), max_bytes=Limits().max_image_bytes)
        inline.append(images.data_uri(data, images.check_image(data, allowed=images.INPUT_MIMES)))
    return {**wire, "inputs": {**wire["inputs"], "referenceImages": inline + refs[len(files) :]}}


def _starting(wire: dict[str, Any]) -> str:
    number = wire.get("numberResults", 1)
    if wire.get("webhookURL") and wire.get("deliveryMethod") != "async":
        return f"**Sending:** {plural(number)} to be delivered to your webhook…"
    return f"**Generating {plural(number)}…**"


def _summary(request: dict[str, Any], results: list[ImageResult], elapsed: float, backend: Backend) -> str:
    where = "mock backend" if backend.kind == "mock" else "live API"
    number = request.get("numberResults", 1)
    if not results and request.get("webhookURL"):
        return (
            f"**Sent to your webhook:** the API POSTs each of the {plural(number, 'result')} to "
            f"`{request['webhookURL']}` as it finishes (one POST per image); none come back to this page. "
            f"· {where}"
        )
    parts = [f"**Done:** {plural(len(results))} in {elapsed:.1f} s", where]
    cost = total_cost([r.item for r in results])
    if cost is not None:
        parts.append(f"cost ${cost:.4f}")
    seeds = [r.seed for r in results]
    if len(seeds) == 1:
        parts.append(f"seed {seeds[0]}")
    elif seeds:
        parts.append(f"seeds {', '.join(str(s) for s in seeds[:3])}{' …' if len(seeds) > 3 else ''}")
    if request.get("uploadEndpoint"):
        parts.append(f"each image also sent with HTTP PUT to `{request['uploadEndpoint']}`")
    return " · ".join(parts)
