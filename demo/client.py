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
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from PIL import Image
from pydantic import BaseModel, SecretStr, ValidationError

import api_schema
from api_schema import (
    GetResponseItem,
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
from .errors import ImageError, ProtocolError, RequestTimeout, RunwareError, ValidationFailed, from_items
from .recorder import record_exchange
from .results import Generation, ImageResult
from .transport import Caller, as_list, same_origin

log = logging.getLogger("demo.client")

# References larger than this go through imageUpload instead of inline data URIs.
UPLOAD_THRESHOLD = 2 * 1024 * 1024

OnResult = Callable[[ImageResult], "Awaitable[None] | None"]


class RunwareClient:
    """Async client for the Runware REST API (``POST <base_url>`` with a task array)."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 30.0,
        deadline: float = 300.0,
        max_retries: int = 3,
        backoff_base: float = 1.0,
        backoff_max: float = 30.0,
        poll_initial: float = 1.0,
        poll_factor: float = 1.5,
        poll_max: float = 10.0,
        max_image_bytes: int = 50 * 1024 * 1024,
        record_dir: str | Path | None = None,
        upload_threshold: int = UPLOAD_THRESHOLD,
    ) -> None:
        self.base_url = base_url
        self.deadline = deadline
        self.poll_initial, self.poll_factor, self.poll_max = poll_initial, poll_factor, poll_max
        self.max_image_bytes = max_image_bytes
        self.record_dir = Path(record_dir) if record_dir else None
        self.upload_threshold = upload_threshold
        key = (api_key or "").strip()
        self._key = SecretStr(key) if key else None
        self._http = httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            headers={"Accept": "application/json", "User-Agent": "glm-image-demo"},
        )
        self._call = Caller(
            self._http,
            base_url,
            self._key,
            timeout=timeout,
            max_retries=max_retries,
            backoff_base=backoff_base,
            backoff_max=backoff_max,
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
        deadline_at = time.monotonic() + self.deadline
        try:
            return await asyncio.wait_for(self._generate(wire, on_result, deadline_at), self.deadline + 1.0)
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
        log.info(
            "imageInference %s: sending (%d result(s), %s)",
            uuid,
            expected,
            wire.get("deliveryMethod", "sync"),
        )
        reply = await self._call.post([wire], deadline_at, task_uuid=uuid)
        if reply.conflict:
            log.warning("imageInference %s: reply lost, collecting the results with getResponse", uuid)
            bodies, results = await self._poll(uuid, expected, fmt, on_result, deadline_at)
            gen = Generation(wire, bodies, results)
        else:
            body = reply.body
            self._raise_task_errors(body, uuid)
            items = [it for it in as_list(body.get("data")) if isinstance(it, dict)]
            if wire.get("deliveryMethod") == "async" or (items and all("imageUUID" not in i for i in items)):
                self._check_ack(items, uuid)
                if wire.get("deliveryMethod") != "async":
                    # Webhook delivery: the results go to webhookURL, not to us.
                    return Generation(wire, body, [])
                bodies, results = await self._poll(uuid, expected, fmt, on_result, deadline_at)
                gen = Generation(wire, [body, *bodies], results)
            else:
                parsed = [self._parse_result(it, uuid) for it in items]
                if not parsed:
                    raise ProtocolError("The answer holds no image for the task.", task_uuid=uuid)
                results = await self._materialize(parsed, fmt, on_result, deadline_at)
                gen = Generation(wire, body, results)
        log.info("imageInference %s: %d image(s) received", uuid, len(gen.images))
        if self.record_dir is not None:
            record_exchange(self.record_dir, gen)
        return gen

    async def _poll(
        self, uuid: str, expected: int, fmt: str, on_result: OnResult | None, deadline_at: float
    ) -> tuple[list[dict[str, Any]], list[ImageResult]]:
        """Poll getResponse until ``expected`` images succeeded; report each new one at once."""
        bodies: list[dict[str, Any]] = []
        seen: dict[str, ImageResult] = {}
        interval = self.poll_initial
        while len(seen) < expected:
            remaining = deadline_at - time.monotonic()
            if remaining <= interval:
                await self._call.sleep(max(0.0, remaining))
                raise self._deadline_error(uuid, got=len(seen), expected=expected)
            await self._call.sleep(interval)
            interval = min(self.poll_max, interval * self.poll_factor)
            body = (await self._call.post([{"taskType": "getResponse", "taskUUID": uuid}], deadline_at)).body
            bodies.append(body)
            self._raise_task_errors(body, uuid)
            fresh: list[ImageInferenceResult] = []
            for raw in as_list(body.get("data")):
                item = self._parse_model(GetResponseItem, raw, uuid)
                if item.task_uuid != uuid:
                    continue
                if item.status == "error":
                    raise RunwareError(
                        "The task failed on the server.", code="taskFailed", task_uuid=uuid, status=None
                    )
                if item.status == "success" and item.image_uuid not in seen:
                    result = self._parse_result({k: v for k, v in raw.items() if k != "status"}, uuid)
                    if result.image_uuid not in {r.image_uuid for r in fresh}:
                        fresh.append(result)
            for got in await self._materialize(fresh, fmt, on_result, deadline_at):
                seen[got.image_uuid] = got
            log.debug("getResponse %s: %d/%d image(s)", uuid, len(seen), expected)
        return bodies, list(seen.values())

    async def _materialize(
        self, items: list[ImageInferenceResult], fmt: str, on_result: OnResult | None, deadline_at: float
    ) -> list[ImageResult]:
        """Fetch or decode each item's bytes (concurrently), reporting each as it is ready."""
        sem = asyncio.Semaphore(4)

        async def one(item: ImageInferenceResult) -> ImageResult:
            async with sem:
                data = await self._image_bytes(item, deadline_at)
            mime = images.check_image(data, fmt)
            result = ImageResult(item=item, data=data, format=images.format_of(mime))
            if on_result is not None:
                ret = on_result(result)
                if inspect.isawaitable(ret):
                    await ret
            return result

        return list(await asyncio.gather(*(one(it) for it in items)))

    async def _image_bytes(self, item: ImageInferenceResult, deadline_at: float) -> bytes:
        if item.image_base64_data is not None:
            return images.decode_base64(item.image_base64_data, max_bytes=self.max_image_bytes)
        if item.image_data_uri is not None:
            return images.decode_data_uri(item.image_data_uri, max_bytes=self.max_image_bytes)[1]
        url = item.image_url or ""
        if not url.lower().startswith(("http://", "https://")):
            raise ProtocolError(f"imageURL is not an http(s) URL: {url[:80]!r}", task_uuid=item.task_uuid)
        return await self._call.download(url, self.max_image_bytes, deadline_at)

    async def upload_image(self, image: bytes | str | Path | Image.Image) -> str:
        """Upload an image with the imageUpload task; returns its imageUUID."""
        data, mime = self._local_image(image)
        uri = images.data_uri(data, mime)
        deadline_at = time.monotonic() + self.deadline
        for _ in range(2):
            uuid = new_task_uuid()
            reply = await self._call.post(
                [{"taskType": "imageUpload", "taskUUID": uuid, "image": uri}], deadline_at, task_uuid=uuid
            )
            # An upload whose reply was lost cannot be looked up: upload again under a new taskUUID.
            if not reply.conflict:
                break
        body = reply.body
        self._raise_task_errors(body, uuid)
        for raw in as_list(body.get("data")):
            if isinstance(raw, dict) and raw.get("taskUUID") == uuid:
                result = self._parse_model(ImageUploadResult, raw, uuid)
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
        if len(data) > self.upload_threshold:
            return await self.upload_image(data)
        return images.data_uri(data, mime)

    def _local_image(self, image: bytes | str | Path | Image.Image) -> tuple[bytes, str]:
        if isinstance(image, Image.Image):
            data, _ = images.image_to_bytes(image)
        elif isinstance(image, (str, Path)):
            data = images.read_image_file(Path(image), max_bytes=self.max_image_bytes)
        elif isinstance(image, (bytes, bytearray, memoryview)):
            data = bytes(image)
        else:
            raise ImageError(f"Cannot use a {type(image).__name__} as an image.")
        if len(data) > self.max_image_bytes:
            raise ImageError(
                f"The image is larger than the {self.max_image_bytes}-byte limit.", code="imageTooLarge"
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

    # -- checks -------------------------------------------------------------------

    def _raise_task_errors(self, body: dict[str, Any], uuid: str) -> None:
        errs = self._call.error_items(body)
        mine = [e for e in errs if e.task_uuid in (None, uuid)]
        if mine:
            raise from_items(mine, task_uuid=uuid)

    @staticmethod
    def _check_ack(items: list[dict[str, Any]], uuid: str) -> None:
        for raw in items:
            ack = RunwareClient._parse_model(api_schema.TaskAck, raw, uuid)
            if ack.task_uuid == uuid:
                return
        raise ProtocolError("The acknowledgement does not name the task.", task_uuid=uuid)

    @staticmethod
    def _parse_model(model: type[BaseModel], raw: Any, uuid: str) -> Any:
        try:
            return model.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in first["loc"]) or "item"
            raise ProtocolError(
                f"The server's {model.__name__} does not match the contract: {where}: {first['msg']}.",
                task_uuid=uuid,
            ) from None

    def _parse_result(self, raw: Any, uuid: str) -> ImageInferenceResult:
        result: ImageInferenceResult = self._parse_model(ImageInferenceResult, raw, uuid)
        if result.task_uuid != uuid:
            raise ProtocolError(
                f"A result names task {result.task_uuid!r}, not the one sent.", task_uuid=uuid
            )
        return result

    def _deadline_error(self, uuid: str, got: int = 0, expected: int = 0) -> RequestTimeout:
        extra = f" ({got} of {expected} images arrived)" if expected else ""
        return RequestTimeout(
            f"The generation did not finish within the {self.deadline:g} s deadline{extra}.",
            task_uuid=uuid,
        )


__all__ = ["Generation", "ImageResult", "RunwareClient", "same_origin"]
