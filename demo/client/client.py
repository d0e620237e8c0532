"""RunwareClient: one async httpx client for the live Runware API and the mock.

The client does not know which backend it talks to; base URL, key and transport are
all that differ. Requests are validated with ``api_schema`` before they are sent and
responses after they arrive, so a server that drifts from the contract fails loudly.
The key only ever travels in the Authorization header of requests to the API's own
origin; it is redacted from any text that reaches an error or a log line.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

import httpx
from PIL import Image
from pydantic import SecretStr, ValidationError

import api_schema
from api_schema import (
    ImageInferenceResult,
    ImageInferenceTask,
    ImageUploadResult,
    PingResult,
    classify_reference,
    limits,
    new_task_uuid,
    parse_task,
)
from api_schema import errors as codes

from . import images
from .contract import check_ack, parse_model, parse_result, raise_task_errors
from .errors import ImageError, ProtocolError, RequestTimeout, RunwareError, ValidationFailed
from .policies import Limits, PollPolicy, RetryPolicy, Timeouts
from .polling import poll
from .results import Generation, ImageResult
from .transport import Caller, as_list, check_key, within

log = logging.getLogger("demo.client")

OnResult = Callable[[ImageResult], "Awaitable[None] | None"]
# Images fetched at once per task: enough to overlap latency, few enough to be polite.
DOWNLOADS_AT_ONCE = 4


class Observer(Protocol):
    """Told about each finished generation (the recorder is one)."""

    def on_generation(self, generation: Generation) -> None: ...


class RunwareClient:
    """Async client for the Runware REST API (``POST <base_url>`` with a task array)."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeouts: Timeouts = Timeouts(),
        retry: RetryPolicy = RetryPolicy(),
        polling: PollPolicy = PollPolicy(),
        limits: Limits = Limits(),
        observers: Iterable[Observer] = (),
    ) -> None:
        self.base_url = base_url
        self.timeouts, self.retry, self.polling, self.limits = timeouts, retry, polling, limits
        self.observers = list(observers)
        key = (api_key or "").strip()
        check_key(key)
        self._key = SecretStr(key) if key else None
        self._http = httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(timeouts.call),
            follow_redirects=False,
            headers={"Accept": "application/json", "User-Agent": "glm-image-demo"},
        )
        self._call = Caller(
            self._http,
            base_url,
            self._key,
            timeout=timeouts.call,
            retry=retry,
            max_answer_bytes=limits.max_answer_bytes,
        )

    def __repr__(self) -> str:
        return f"RunwareClient(base_url={self.base_url!r}, api_key={'set' if self._key else 'unset'})"

    @property
    def has_key(self) -> bool:
        return self._key is not None

    async def __aenter__(self) -> RunwareClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- tasks ------------------------------------------------------------------

    async def generate(
        self, task: ImageInferenceTask | dict[str, Any], *, on_result: OnResult | None = None
    ) -> Generation:
        """Run one imageInference task; one ImageResult per generated image.

        Raises ValidationFailed before sending anything when the task is invalid.
        """
        wire = self.validate(task)
        deadline_at = time.monotonic() + self.timeouts.deadline
        try:
            return await within(self._generate(wire, on_result, deadline_at), self.timeouts.deadline + 1.0)
        except asyncio.TimeoutError:
            raise self._deadline_error(wire["taskUUID"]) from None

    @staticmethod
    def validate(task: ImageInferenceTask | dict[str, Any]) -> dict[str, Any]:
        """The wire form of a task, checked against the schema (ValidationFailed if not)."""
        if isinstance(task, ImageInferenceTask):
            try:
                raw: Any = task.to_wire()
            except Exception as exc:  # a model_construct()ed task may not even serialize
                raise ValidationFailed(f"The task cannot be serialized: {exc}") from None
        elif isinstance(task, dict):
            raw = {"taskType": "imageInference", "model": limits.MODEL_ID, **task}
            raw.setdefault("taskUUID", new_task_uuid())
            if "width" not in raw and "height" not in raw:  # required on the wire; 1024x1024 for a dict
                raw.update(width=int(limits.WIDTH.default or 1024), height=int(limits.HEIGHT.default or 1024))
        else:
            raise ValidationFailed(
                f"A task must be an ImageInferenceTask or a dict, not {type(task).__name__}."
            )
        parsed, errors = parse_task(raw)
        if errors or not isinstance(parsed, ImageInferenceTask):
            first = errors[0] if errors else None
            raise ValidationFailed(
                first.message if first else "Not an imageInference task.",
                code=first.code if first else codes.UNKNOWN_TASK_TYPE,
                parameter=first.parameter if first else "taskType",
                task_uuid=raw.get("taskUUID") if isinstance(raw.get("taskUUID"), str) else None,
                errors=errors,
            )
        return parsed.to_wire()

    async def _generate(
        self, wire: dict[str, Any], on_result: OnResult | None, deadline_at: float
    ) -> Generation:
        uuid = wire["taskUUID"]
        fmt = wire.get("outputFormat", limits.DEFAULT_OUTPUT_FORMAT)
        expected = wire.get("numberResults", 1)
        inline = wire.get("outputType", limits.DEFAULT_OUTPUT_TYPE) != "URL"
        # An answer may hold every image inline; a poll's answer too (it is cumulative).
        answer_cap = self.limits.answer_bytes(expected if inline else 0)
        log.info(
            "imageInference %s: sending (%d result(s), %s)",
            uuid,
            expected,
            wire.get("deliveryMethod", "sync"),
        )

        async def fetch(items: list[tuple[int, ImageInferenceResult]]) -> list[ImageResult]:
            return await self._materialize(items, fmt, on_result, deadline_at)

        def collect() -> Awaitable[tuple[list[dict[str, Any]], list[ImageResult]]]:
            late = lambda got: self._deadline_error(uuid, got=got, expected=expected)  # noqa: E731
            return poll(self._call, uuid, expected, self.polling, deadline_at, fetch, late, answer_cap)

        reply = await self._call.post([wire], deadline_at, task_uuid=uuid, max_bytes=answer_cap)
        if reply.conflict:
            log.warning("imageInference %s: reply lost, collecting the results with getResponse", uuid)
            bodies, results = await collect()
            gen = Generation(wire, bodies, results)
        else:
            body = reply.body
            raise_task_errors(self._call, body, uuid)
            items = [it for it in as_list(body.get("data")) if isinstance(it, dict)]
            if wire.get("deliveryMethod") == "async" or (items and all("imageUUID" not in i for i in items)):
                check_ack(items, uuid)
                if wire.get("deliveryMethod") != "async":
                    # Webhook delivery: the results go to webhookURL, not to us.
                    return self._finished(Generation(wire, body, []))
                bodies, results = await collect()
                gen = Generation(wire, [body, *bodies], results)
            else:
                if len(items) > expected:
                    # Only what was asked for is downloaded and kept.
                    log.warning("imageInference %s: %d items for %d result(s)", uuid, len(items), expected)
                parsed = [parse_result(it, uuid) for it in items[:expected]]
                if not parsed:
                    raise ProtocolError("The answer holds no image for the task.", task_uuid=uuid)
                results = await fetch(list(enumerate(parsed)))
                gen = Generation(wire, body, results)
        log.info("imageInference %s: %d image(s) received", uuid, len(gen.images))
        return self._finished(gen)

    def _finished(self, gen: Generation) -> Generation:
        for observer in self.observers:
            try:
                observer.on_generation(gen)
            except Exception as exc:  # an observer must not cost the user the images
                log.warning("observer %s failed: %s", type(observer).__name__, type(exc).__name__)
        return gen

    async def _materialize(
        self,
        items: list[tuple[int, ImageInferenceResult]],
        fmt: str,
        on_result: OnResult | None,
        deadline_at: float,
    ) -> list[ImageResult]:
        """Fetch or decode each item's bytes (concurrently), reporting each as it is ready;
        returned in request order whatever order they finish in."""
        sem = asyncio.Semaphore(DOWNLOADS_AT_ONCE)

        async def one(index: int, item: ImageInferenceResult) -> ImageResult:
            async with sem:
                data = await self._image_bytes(item, deadline_at)
            mime = images.check_image(data, fmt)
            result = ImageResult(item=item, data=data, format=images.format_of(mime), index=index)
            if on_result is not None:
                ret = on_result(result)
                if inspect.isawaitable(ret):
                    await ret
            return result

        done = await asyncio.gather(*(one(i, it) for i, it in items))
        return sorted(done, key=lambda r: r.index)

    async def _image_bytes(self, item: ImageInferenceResult, deadline_at: float) -> bytes:
        if item.image_base64_data is not None:
            return images.decode_base64(item.image_base64_data, max_bytes=self.limits.max_image_bytes)
        if item.image_data_uri is not None:
            return images.decode_data_uri(item.image_data_uri, max_bytes=self.limits.max_image_bytes)[1]
        url = item.image_url or ""
        if not url.lower().startswith(("http://", "https://")):
            raise ProtocolError(f"imageURL is not an http(s) URL: {url[:80]!r}", task_uuid=item.task_uuid)
        return await self._call.download(url, self.limits.max_image_bytes, deadline_at)

    async def upload_image(self, image: bytes | str | Path | Image.Image) -> str:
        """Upload an image with the imageUpload task; returns its imageUUID."""
        data, mime = self._local_image(image)
        uri = images.data_uri(data, mime)
        deadline_at = time.monotonic() + self.timeouts.deadline
        for _ in range(2):
            uuid = new_task_uuid()
            reply = await self._call.post(
                [{"taskType": "imageUpload", "taskUUID": uuid, "image": uri}], deadline_at, task_uuid=uuid
            )
            # An upload whose reply was lost cannot be looked up: upload again under a new taskUUID.
            if not reply.conflict:
                break
        body = reply.body
        raise_task_errors(self._call, body, uuid)
        for raw in as_list(body.get("data")):
            if isinstance(raw, dict) and raw.get("taskUUID") == uuid:
                result = parse_model(ImageUploadResult, raw, uuid)
                log.info("imageUpload %s: stored as %s", uuid, result.image_uuid)
                return result.image_uuid
        raise ProtocolError("The imageUpload answer holds no item for the task.", task_uuid=uuid)

    async def prepare_reference(self, ref: bytes | str | Path | Image.Image) -> str:
        """A string for ``inputs.referenceImages``.

        URLs, UUIDs, data URIs and base64 pass through; a local file, bytes or a PIL
        image becomes a data URI, or an uploaded imageUUID when over the threshold.
        """
        if isinstance(ref, str):
            try:
                classify_reference(ref)
                return ref.strip()
            except ValueError as exc:
                if not Path(ref).is_file():
                    raise ValidationFailed(
                        f"Reference image {ref[:60]!r} {exc}, and is not a file.",
                        code=api_schema.PARAMS["inputs.referenceImages"].code,
                        parameter="inputs.referenceImages",
                    ) from None
        data, mime = self._local_image(ref)
        if len(data) > self.limits.upload_threshold:
            return await self.upload_image(data)
        return images.data_uri(data, mime)

    def _local_image(self, image: bytes | str | Path | Image.Image) -> tuple[bytes, str]:
        if isinstance(image, Image.Image):
            data, _ = images.image_to_bytes(image)
        elif isinstance(image, (str, Path)):
            data = images.read_image_file(Path(image), max_bytes=self.limits.max_image_bytes)
        elif isinstance(image, (bytes, bytearray, memoryview)):
            data = bytes(image)
        else:
            raise ImageError(f"Cannot use a {type(image).__name__} as an image.")
        if len(data) > self.limits.max_image_bytes:
            raise ImageError(
                f"The image is larger than the {self.limits.max_image_bytes}-byte limit.",
                code="imageTooLarge",
            )
        return data, images.check_image(data, allowed=images.INPUT_MIMES)

    async def ping(self) -> bool:
        """True when the API answers a ping; False on any failure (no retries)."""
        try:
            reply = await self._call.post(
                [{"taskType": "ping", "ping": True}], time.monotonic() + self._call.timeout, retries=0
            )
            items = [
                PingResult.model_validate(it)
                for it in as_list(reply.body.get("data"))
                if it.get("taskType") == "ping"
            ]
        except (RunwareError, ValidationError, AttributeError) as exc:
            log.info("ping failed: %s", type(exc).__name__)
            return False
        return any(it.pong for it in items)

    # -- errors -------------------------------------------------------------------

    def _deadline_error(self, uuid: str, got: int = 0, expected: int = 0) -> RequestTimeout:
        extra = f" ({got} of {expected} images arrived)" if expected else ""
        return RequestTimeout(
            f"The generation did not finish within the {self.timeouts.deadline:g} s deadline{extra}.",
            task_uuid=uuid,
        )


__all__ = ["Observer", "OnResult", "RunwareClient"]
