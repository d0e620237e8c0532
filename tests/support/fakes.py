"""A stand-in for the live Runware API behind respx, for the client's tests.

It answers at ``https://api.runware.ai/v1`` the way the live API documents:
the documented examples verbatim, synthesized results otherwise, async delivery with
getResponse, imageUpload, ping, Runware-shaped errors; images at ``im.runware.ai``.
Small on purpose: the real mock (mock_api) is tested on its own; this one lets the
client's behaviour be pinned without a network.
"""

from __future__ import annotations

import base64
import io
import json
import uuid as uuid_mod
from typing import Any

import httpx
import respx
from PIL import Image

import api_schema
from api_schema import errors as E
from api_schema import limits

LIVE_URL = limits.API_URL
IMAGE_HOST = "https://im.runware.ai"
PIL_FORMAT = {"JPG": "JPEG", "PNG": "PNG", "WEBP": "WEBP"}


def tiny_image(fmt: str = "JPG", size: tuple[int, int] = (8, 6), color: str = "teal") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, PIL_FORMAT[fmt])
    return buf.getvalue()


def envelope_error(
    code: str, message: str, *, status: int, parameter: str | None = None, **kw: Any
) -> httpx.Response:
    item = E.make_error(code, message, parameter=parameter, **kw).to_wire()
    return httpx.Response(status, json={"errors": [item]})


def _gen_params(req: dict[str, Any]) -> tuple:
    keys = ("model", "positivePrompt", "width", "height", "seed", "steps", "CFGScale", "inputs")
    return tuple(json.dumps(req.get(k), sort_keys=True) for k in keys)


class FakeRunware:
    """Stateful respx side effect; ``install(router)`` adds its routes."""

    def __init__(self, api_key: str = "live-key-0123456789abcdef", *, polls_per_image: int = 1) -> None:
        self.api_key = api_key
        self.polls_per_image = polls_per_image
        self.stall_after: int | None = None  # async jobs stop finishing images after this many
        self.images: dict[str, tuple[bytes, str]] = {}  # path -> (bytes, mime)
        self.jobs: dict[str, dict[str, Any]] = {}  # taskUUID -> {"items": [...], "polls": int}
        self.seen: set[str] = set()
        self.uploads: dict[str, bytes] = {}
        self.examples = {_gen_params(ex.request): ex for ex in api_schema.load_examples()}
        self.posts: list[list[dict[str, Any]]] = []

    def install(self, router: respx.MockRouter) -> FakeRunware:
        router.post(LIVE_URL).mock(side_effect=self.api)
        router.get(url__startswith=IMAGE_HOST).mock(side_effect=self.image)
        return self

    # -- image host -----------------------------------------------------------------

    def image(self, request: httpx.Request) -> httpx.Response:
        found = self.images.get(request.url.path)
        if found is None:
            return httpx.Response(
                404, json={"errors": [{"code": E.IMAGE_NOT_FOUND, "message": "Unknown image."}]}
            )
        return httpx.Response(200, content=found[0], headers={"Content-Type": found[1]})

    def _deliver(self, item: dict[str, Any], fmt: str, output_type: str) -> dict[str, Any]:
        data = tiny_image(fmt, color="orange")
        mime = limits.FORMAT_MIME[fmt]
        if output_type == "base64Data":
            item["imageBase64Data"] = base64.b64encode(data).decode()
        elif output_type == "dataURI":
            item["imageDataURI"] = f"data:{mime};base64,{base64.b64encode(data).decode()}"
        else:
            path = f"/image/ws/2/ii/{item['imageUUID']}.{limits.FORMAT_EXT[fmt]}"
            self.images[path] = (data, mime)
            item["imageURL"] = IMAGE_HOST + path
        return item

    # -- API --------------------------------------------------------------------------

    def api(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return envelope_error(
                E.INVALID_API_KEY,
                E.INVALID_API_KEY_MESSAGE,
                status=401,
                parameter="apiKey",
                task_type="authentication",
            )
        try:
            tasks = json.loads(request.content)
        except ValueError:
            return envelope_error(E.INVALID_REQUEST_BODY, "Body is not JSON.", status=400)
        self.posts.append(tasks)
        data: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for raw in tasks:
            task, errs = api_schema.parse_task(raw)
            if errs:
                errors += [e.to_wire() for e in errs]
                continue
            handler = getattr(self, "_" + raw["taskType"])
            out, err = handler(task, raw)
            data += out
            errors += err
        body: dict[str, Any] = {"data": data}
        if errors:
            body["errors"] = errors
        return httpx.Response(400 if errors and not data else 200, json=body)

    def _ping(self, task: Any, raw: dict[str, Any]) -> tuple[list, list]:
        return [{"taskType": "ping", "pong": True}], []

    def _imageUpload(self, task: Any, raw: dict[str, Any]) -> tuple[list, list]:
        image_uuid = str(uuid_mod.uuid4())
        self.uploads[image_uuid] = raw["image"].encode()
        item = {"taskType": "imageUpload", "taskUUID": task.task_uuid, "imageUUID": image_uuid}
        return [item | {"imageURL": f"{IMAGE_HOST}/image/upload/{image_uuid}.png"}], []

    def _imageInference(self, task: api_schema.ImageInferenceTask, raw: dict[str, Any]) -> tuple[list, list]:
        if task.task_uuid in self.seen:
            err = E.make_error(
                E.CONFLICT_TASK_UUID,
                "A task with this taskUUID was already received.",
                parameter="taskUUID",
                task_type="imageInference",
                task_uuid=task.task_uuid,
            )
            return [], [err.to_wire()]
        self.seen.add(task.task_uuid)
        for ref in task.reference_images:
            kind = api_schema.classify_reference(ref)
            if kind is api_schema.RefKind.UUID and ref not in self.uploads:
                err = E.make_error(
                    "invalidReferenceImages", "Unknown imageUUID.", parameter="inputs.referenceImages"
                )
                return [], [err.to_wire()]
        items = self._results(task, raw)
        if task.delivery_method == "async":
            self.jobs[task.task_uuid] = {"items": items, "polls": 0}
            return [{"taskType": "imageInference", "taskUUID": task.task_uuid}], []
        self.jobs[task.task_uuid] = {"items": items, "polls": 10**6}
        return items, []

    def _results(self, task: api_schema.ImageInferenceTask, raw: dict[str, Any]) -> list[dict[str, Any]]:
        ex = self.examples.get(_gen_params(raw))
        fmt, kind = task.output_format, task.output_type
        if ex is not None:
            item = dict(ex.response["data"][0], taskUUID=task.task_uuid)
            path = httpx.URL(item["imageURL"]).path
            self.images[path] = (tiny_image("JPG", color="navy"), "image/jpeg")
            return [item]
        items = []
        for i in range(task.number_results):
            item: dict[str, Any] = {
                "taskType": "imageInference",
                "taskUUID": task.task_uuid,
                "imageUUID": str(uuid_mod.uuid4()),
                "seed": (task.seed + i) if task.seed is not None else 1234 + i,
            }
            if task.include_cost:
                item["cost"] = limits.estimate_cost(task.effective_width, task.effective_height)
            if task.safety_enabled:
                item["NSFWContent"] = False
            items.append(self._deliver(item, fmt, kind))
        return items

    def _getResponse(self, task: Any, raw: dict[str, Any]) -> tuple[list, list]:
        job = self.jobs.get(task.task_uuid)
        if job is None:
            err = E.make_error(E.TASK_NOT_FOUND, "Unknown taskUUID.", parameter="taskUUID")
            return [], [err.to_wire()]
        job["polls"] += 1
        done = job["polls"] // self.polls_per_image
        if self.stall_after is not None:
            done = min(done, self.stall_after)
        out = []
        for i, item in enumerate(job["items"]):
            if i < done:
                out.append(item | {"status": "success"})
            else:
                out.append({"taskType": "imageInference", "taskUUID": task.task_uuid, "status": "processing"})
        return out, []
