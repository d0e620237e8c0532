"""The generate handler: validate the form, call the backend, stream results to the UI.

Its parameters are the public ``/generate`` API (named after Runware's fields in
snake_case), so ``gradio_client`` callers and the browser share one code path.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import shutil
import tempfile
import time
from collections import deque
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import gradio as gr
from PIL import Image

from api_schema import sniff_mime

from .backend import Backend, backend_for_key
from .client import ImageResult
from .errors import RunwareError, ValidationFailed
from .settings import Settings
from .snippets import curl_snippet, python_snippet
from .ui_form import (
    RESULT_HEADERS,
    FormError,
    build_task,
    describe_errors,
    result_row,
    split_references,
    total_cost,
)

log = logging.getLogger("demo.ui")

GENERIC_FAILURE = "Something went wrong while generating. Please try again."

# The /generate parameters, in order: Runware's field names in snake_case.
PARAMS = (
    "positive_prompt",
    "width",
    "height",
    "seed",
    "randomize_seed",
    "steps",
    "cfg_scale",
    "number_results",
    "output_format",
    "output_quality",
    "output_type",
    "reference_images",
    "reference_urls",
    "delivery_method",
    "check_content",
    "safety_mode",
    "include_cost",
    "ttl",
    "webhook_url",
    "upload_endpoint",
    "api_key",
)
_NOT_TASK = {"reference_images", "reference_urls", "api_key"}
# Where a Runware parameter's error is shown.
WIRE_TO_INPUT = {
    "positivePrompt": "positive_prompt",
    "width": "width",
    "height": "height",
    "seed": "seed",
    "steps": "steps",
    "CFGScale": "cfg_scale",
    "numberResults": "number_results",
    "outputFormat": "output_format",
    "outputQuality": "output_quality",
    "outputType": "output_type",
    "inputs": "reference_urls",
    "inputs.referenceImages": "reference_urls",
    "deliveryMethod": "delivery_method",
    "safety": "safety_mode",
    "safety.checkContent": "check_content",
    "safety.mode": "safety_mode",
    "includeCost": "include_cost",
    "ttl": "ttl",
    "webhookURL": "webhook_url",
    "uploadEndpoint": "upload_endpoint",
}
FIELD_TITLES = {
    "positive_prompt": "Prompt",
    "width": "Width",
    "height": "Height",
    "seed": "Seed",
    "randomize_seed": "Randomize seed",
    "steps": "Steps",
    "cfg_scale": "CFG scale",
    "number_results": "Number of results",
    "output_format": "Output › Format",
    "output_quality": "Output › Quality",
    "output_type": "Output › Type",
    "reference_images": "Reference images › Upload",
    "reference_urls": "Reference images › URLs or imageUUIDs",
    "delivery_method": "Advanced › Delivery method",
    "check_content": "Advanced › Safety check",
    "safety_mode": "Advanced › Safety mode",
    "include_cost": "Advanced › Include cost",
    "ttl": "Advanced › TTL",
    "webhook_url": "Advanced › Webhook URL",
    "upload_endpoint": "Advanced › Upload endpoint",
    "api_key": "API key",
}
# Inputs that sit in accordions, closed by default.
COLLAPSED = set(PARAMS[8:]) - {"randomize_seed"}

# Per-request folders for result files; the oldest are removed past this count.
_KEEP_DIRS = 64
# Image payloads (data URIs of uploaded references, base64 output) are cut in the JSON
# views so the page stays light; prose such as the prompt is always shown whole.
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


def _size_of(data: bytes) -> tuple[int, int] | None:
    try:
        with Image.open(io.BytesIO(data)) as img:
            return img.size
    except Exception:
        return None


def _error_text(exc: RunwareError) -> str:
    if isinstance(exc, ValidationFailed) and exc.errors:
        return describe_errors(exc.errors)
    return str(exc)


class GenerateHandler:
    """Holds what outlives one request: settings, the shared backend, the file folder."""

    def __init__(self, settings: Settings, backend: Backend) -> None:
        self.settings = settings
        self.backend = backend
        self.root = Path(tempfile.gettempdir()) / "glm-image-demo"
        self._dirs: deque[Path] = deque()

    def backend_for(self, api_key: str | None) -> Backend:
        # The shared backend keeps the in-process mock's state (uploads, generated
        # imageUUIDs usable as references) across requests; a visitor key means live.
        if api_key and api_key.strip():
            return backend_for_key(self.settings, api_key)
        return self.backend

    def _request_dir(self) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        path = Path(tempfile.mkdtemp(prefix="req-", dir=self.root))
        self._dirs.append(path)
        while len(self._dirs) > _KEEP_DIRS:
            shutil.rmtree(self._dirs.popleft(), ignore_errors=True)
        return path

    def validate(self, *args: Any) -> list[Any]:
        """The event validator: one gr.validate per input, the message beside its field.

        Fields inside closed accordions would hide their message, so the prompt's
        message also lists them.
        """
        values = dict(zip(PARAMS, args, strict=False))
        problems = field_errors(values)
        hidden = {k: v for k, v in problems.items() if k in COLLAPSED}
        out = []
        for name in PARAMS[: len(args)]:
            messages = list(problems.get(name, []))
            if name == "positive_prompt" and hidden:
                messages += [f"{FIELD_TITLES[k]}: {m}" for k, ms in hidden.items() for m in ms]
            out.append(gr.validate(not messages, "\n".join(messages)))
        return out

    async def generate(
        self,
        positive_prompt: str,
        width: float,
        height: float,
        seed: str | int | None = None,
        randomize_seed: bool | None = None,
        steps: float | None = None,
        cfg_scale: float | None = None,
        number_results: float | None = None,
        output_format: str | None = None,
        output_quality: float | None = None,
        output_type: str | None = None,
        reference_images: list[str] | None = None,
        reference_urls: str | None = None,
        delivery_method: str | None = None,
        check_content: bool | None = None,
        safety_mode: str | None = None,
        include_cost: bool | None = None,
        ttl: float | None = None,
        webhook_url: str | None = None,
        upload_endpoint: str | None = None,
        api_key: str | None = None,
        progress: gr.Progress = gr.Progress(),
    ) -> AsyncIterator[tuple[Any, ...]]:
        given = dict(locals())
        values = {k: given[k] for k in PARAMS}
        form, files, typed_refs = _split_form(values)
        # Validate everything before any request (the event's validator did too, but an
        # API caller may reach here another way); files stand in until prepared.
        problems = field_errors(values)
        if problems:
            raise gr.Error(_join(problems), title="Check the form", print_exception=False)
        task = build_task(**form, references=typed_refs)

        backend = self.backend_for(api_key)
        out_dir = self._request_dir()
        number = task.number_results
        started = time.monotonic()
        shown: list[ImageResult] = []
        saved: dict[str, str] = {}  # imageUUID -> file, written once
        queue: asyncio.Queue[ImageResult] = asyncio.Queue()

        def view(status: str, gen_request: Any = None, response: Any = None) -> tuple[Any, ...]:
            for r in shown:
                if r.image_uuid not in saved:
                    saved[r.image_uuid] = str(r.save(out_dir))
            gallery = [(saved[r.image_uuid], f"seed {r.seed}") for r in shown]
            rows = [result_row(r.item, r.format, _size_of(r.data)) for r in shown]
            request = gen_request if gen_request is not None else task.to_wire()
            return (
                gallery,
                {"headers": RESULT_HEADERS, "data": rows},
                to_json(request),
                to_json(response) if response is not None else "",
                curl_snippet(shorten(request), backend.base_url, backend.kind),
                python_snippet(shorten(request), backend.base_url, backend.kind),
                status,
                str(shown[0].seed) if shown else seed,
                [r.image_uuid for r in shown],
            )

        progress(0.02, desc="Sending request")
        try:
            async with backend.client(api_key=api_key if api_key and api_key.strip() else None) as client:
                refs = [await client.prepare_reference(Path(f)) for f in files]
                if refs:
                    task = build_task(**form, references=refs + typed_refs, task_uuid=task.task_uuid)

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
                        if result.image_uuid in {r.image_uuid for r in shown}:
                            continue
                        shown.append(result)
                        progress(len(shown) / number, desc=f"{len(shown)} of {number} images")
                        yield view(f"**Working:** {len(shown)} of {number} images ready…")
                    generation = job.result()
                finally:
                    job.cancel()
        except FormError as exc:
            failure = gr.Error(describe_errors(exc.errors), title="Check the form", print_exception=False)
        except RunwareError as exc:
            failure = gr.Error(_error_text(exc), title="Runware API error", print_exception=False)
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
            yield view(f"**Failed:** {failure.message}")
            raise failure

        known = {r.image_uuid for r in shown}
        shown.extend(r for r in generation.images if r.image_uuid not in known)
        elapsed = time.monotonic() - started
        yield view(_summary(shown, elapsed, backend), generation.request, generation.response)


def _summary(images: list[ImageResult], elapsed: float, backend: Backend) -> str:
    count = f"{len(images)} image{'s' if len(images) != 1 else ''}"
    where = "mock backend" if backend.kind == "mock" else "live API"
    parts = [f"**Done:** {count} in {elapsed:.1f} s", where]
    cost = total_cost([r.item for r in images])
    if cost is not None:
        parts.append(f"cost ${cost:.4f}")
    seeds = ", ".join(str(r.seed) for r in images[:4]) + (" …" if len(images) > 4 else "")
    if seeds:
        parts.append(f"seed {seeds}")
    return " · ".join(parts)


def _split_form(values: dict[str, Any]) -> tuple[dict[str, Any], list[str], list[str]]:
    """(build_task kwargs, uploaded file paths, typed references) from the inputs."""
    form = {k: values.get(k) for k in PARAMS if k not in _NOT_TASK}
    for flag in ("randomize_seed", "check_content", "include_cost"):
        form[flag] = bool(form[flag])
    files = [str(f) for f in (values.get("reference_images") or []) if f]
    return form, files, split_references(values.get("reference_urls"))


def field_errors(values: dict[str, Any]) -> dict[str, list[str]]:
    """Input name -> Runware-worded messages ('code: message'); empty when valid."""
    form, files, typed_refs = _split_form(values)
    problems: dict[str, list[str]] = {}
    try:
        build_task(**form, references=typed_refs)
    except FormError as exc:
        for err in exc.errors:
            name = WIRE_TO_INPUT.get(err.parameter or "", "positive_prompt")
            problems.setdefault(name, []).append(f"{err.code}: {err.message}")
    for path in files:
        if msg := _check_file(path):
            problems.setdefault("reference_images", []).append(msg)
    return problems


def _join(problems: dict[str, list[str]]) -> str:
    return "\n".join(f"{FIELD_TITLES[k]}: {m}" for k, ms in problems.items() for m in ms)


def _check_file(path: str) -> str:
    """'' when the uploaded file looks like an image the API accepts, else a message."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(64)
    except OSError:
        return f"invalidReferenceImages: the uploaded file {Path(path).name!r} could not be read."
    if sniff_mime(head) is None:
        return (
            f"invalidReferenceImages: the file {Path(path).name!r} is not a JPEG, PNG, WEBP, GIF "
            "or BMP image."
        )
    return ""
