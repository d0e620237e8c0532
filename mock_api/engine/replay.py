"""The replay store: recorded exchanges (the documented examples and recordings).

A recording is a folder of exchange folders, each holding ``exchange.json``
(``{"title"?, "request", "response": {"data": [...]}, "images"?: {imageUUID: file},
"recordedAt"?}``) and the image files it names. The built-in examples in
``api_schema/examples`` are the same format without image files: their pictures
are rendered previews. Everything is checked at load time, so a broken recording
fails at start-up with its path named, never in the middle of a request.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from api_schema import ImageInferenceResult, ImageInferenceTask
from api_schema.examples import EXAMPLES_DIR, parse_exchange
from api_schema.limits import FORMAT_EXT
from api_schema.responses import IMAGE_FIELDS

from ..config import DEFAULTS
from ..images.files import MAX_EXCHANGE_BYTES, MAX_EXCHANGE_VALUES, check_not_link, read_regular_file
from ..images.references import MAX_PIXELS_ANY, PictureTooLarge, check_picture
from ..images.store import FileSource, ImageRecord, ImageStore, picture_format
from ..jsontext import value_marks
from .items import image_field, render_source
from .synth import synthesize

# The parameters that decide whether a request matches a recording, in order.
KEY_FIELDS = ("model", "positivePrompt", "width", "height", "seed", "steps", "CFGScale", "referenceImages")


def match_key(task: ImageInferenceTask) -> tuple[Any, ...]:
    return (
        task.model,
        task.positive_prompt,
        task.effective_width,
        task.effective_height,
        task.seed,
        task.steps,
        float(task.cfg_scale),
        tuple(task.reference_images),
    )


# The fields of a replayed item that come from the request and the mock, not the recording.
_ANSWERED_FIELDS = ("taskType", "taskUUID", "imageUUID")


@dataclass(frozen=True)
class RecordedImage:
    item: dict[str, Any]  # the recorded response item, image field removed
    url_path: str  # URL path without extension, e.g. /image/os/a13d12/ws/2/ii/<uuid>
    file: FileSource | None  # the recorded picture, or None to render a preview

    @functools.cached_property  # the recording never changes: worked out once, not per answer
    def rest(self) -> dict[str, Any]:
        """The recorded fields a replayed item copies as they are, in their recorded order."""
        return {k: v for k, v in self.item.items() if k not in _ANSWERED_FIELDS}

    @property
    def image_uuid(self) -> str:
        return self.item["imageUUID"]

    @property
    def seed(self) -> int:
        return self.item["seed"]

    def path_for(self, fmt: str) -> str:
        return f"{self.url_path}.{FORMAT_EXT[fmt]}"


@dataclass(frozen=True)
class Recording:
    origin: Path  # the exchange.json it came from
    title: str
    key: tuple[Any, ...]
    images: tuple[RecordedImage, ...]
    builtin: bool = False

    @functools.cached_property  # asked on every replayed answer; the images never change
    def has_files(self) -> bool:
        return all(img.file is not None for img in self.images)


def _url_path(item: dict[str, Any]) -> str:
    url = item.get("imageURL")
    path = urlsplit(url).path if isinstance(url, str) else ""
    if path.startswith("/image/") and "." in path.rsplit("/", 1)[-1] and ".." not in path:
        return path.rsplit(".", 1)[0]
    return f"/image/ws/2/ii/{item['imageUUID']}"


def _image_file(folder: Path, name: Any, origin: Path, max_bytes: int) -> FileSource:
    if not isinstance(name, str) or not name or Path(name).name != name:
        raise ValueError(f"{origin}: image file name {name!r} must be a plain file name in the same folder")
    path = folder / name
    if not path.exists() and not path.is_symlink():
        raise ValueError(f"{path}: image file named in {origin.name} is missing or unreadable")
    data = read_regular_file(path, max_bytes)  # UnsafeFile (a ValueError) naming the file
    try:
        check_picture(data, MAX_PIXELS_ANY)  # the size from the header first, then one decode
    except PictureTooLarge as exc:
        raise ValueError(f"{path}: {exc}") from None
    except ValueError:
        fmt = None
    else:
        fmt = picture_format(data)
    if fmt is None:
        raise ValueError(f"{path}: not a decodable JPG, PNG or WEBP image")
    return FileSource(path=path.resolve(), fmt=fmt)


def load_recording(
    exchange_json: Path, *, builtin: bool = False, max_image_bytes: int = DEFAULTS.max_recorded_image_bytes
) -> Recording | None:
    """One exchange; ValueError naming the file when anything in it is unusable.

    None for an exchange of another task type (an imageUpload, say): there is
    nothing to match it against, so it is not replayed.
    """
    raw = read_regular_file(exchange_json, MAX_EXCHANGE_BYTES)  # what is checked is what is read
    if value_marks(raw) > MAX_EXCHANGE_VALUES:  # before decoding: each value costs ~70 bytes decoded
        raise ValueError(f"{exchange_json}: holds over {MAX_EXCHANGE_VALUES} JSON values (no exchange does)")
    data = parse_exchange(raw, exchange_json)
    folder = exchange_json.parent
    if data["request"].get("taskType", "imageInference") != "imageInference":
        return None
    try:
        task = ImageInferenceTask.model_validate(data["request"], by_alias=True, by_name=False)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "request"
        raise ValueError(
            f"{exchange_json}: the recorded request is not a valid imageInference ({where}: {first['msg']})"
        ) from None
    images_map = data.get("images") or {}
    if not isinstance(images_map, dict):
        raise ValueError(f"{exchange_json}: 'images' must be an object of imageUUID -> file name")
    items = data["response"]["data"]
    if not items:
        raise ValueError(f"{exchange_json}: the recorded response has no data items")
    images = []
    for n, raw in enumerate(items):
        try:
            ImageInferenceResult.model_validate(raw)
        except ValidationError as exc:
            msg = exc.errors(include_url=False)[0]["msg"]
            raise ValueError(
                f"{exchange_json}: response item {n} is not an imageInference result ({msg})"
            ) from None
        item = {k: v for k, v in raw.items() if k not in IMAGE_FIELDS}
        file_name = images_map.get(item["imageUUID"])
        file = None
        if file_name is not None:
            file = _image_file(folder, file_name, exchange_json, max_image_bytes)
        images.append(RecordedImage(item=item, url_path=_url_path(raw), file=file))
    title = data.get("title")
    return Recording(
        origin=exchange_json,
        title=title if isinstance(title, str) and title else folder.name,
        key=match_key(task),
        images=tuple(images),
        builtin=builtin,
    )


def find_exchanges(directory: Path) -> list[Path]:
    """The exchange.json files of a recording folder (or of one exchange folder)."""
    if not directory.is_dir():
        raise ValueError(f"{directory}: replay folder does not exist")
    if (directory / "exchange.json").exists() or (directory / "exchange.json").is_symlink():
        return [directory / "exchange.json"]
    found = []
    for sub in sorted(directory.iterdir()):
        # Hidden folders are the recorder's unfinished temp folders.
        if sub.name.startswith(".") or not (sub.is_dir() or sub.is_symlink()):
            continue
        check_not_link(sub)  # an exchange folder linked from elsewhere is not part of the recording
        exchange = sub / "exchange.json"
        if not (exchange.exists() or exchange.is_symlink()):
            raise ValueError(f"{exchange}: missing (every exchange folder needs an exchange.json)")
        found.append(exchange)
    if not found:
        raise ValueError(f"{directory}: no exchange folders (<name>/exchange.json) found")
    return found


@dataclass
class ReplayStore:
    recordings: dict[tuple[Any, ...], Recording] = field(default_factory=dict)

    @classmethod
    def load(
        cls, replay_dirs: list[Path], *, max_image_bytes: int = DEFAULTS.max_recorded_image_bytes
    ) -> ReplayStore:
        """The built-in examples, then each replay folder; later ones win a tie."""
        store = cls()
        for path in sorted(EXAMPLES_DIR.glob("*/exchange.json")):
            store.add(load_recording(path, builtin=True))
        for directory in replay_dirs:
            for path in find_exchanges(Path(directory)):
                store.add(load_recording(path, max_image_bytes=max_image_bytes))
        return store

    def add(self, recording: Recording | None) -> None:
        if recording is not None:
            self.recordings[recording.key] = recording

    def match(self, task: ImageInferenceTask) -> Recording | None:
        return self.recordings.get(match_key(task))

    def explain_miss(self, task: ImageInferenceTask) -> str:
        """Which key fields differ from the closest recording, for --strict errors."""
        key = match_key(task)
        best: tuple[int, Recording] | None = None
        for rec in self.recordings.values():
            diff = sum(a != b for a, b in zip(key, rec.key, strict=True))
            if best is None or diff < best[0]:
                best = (diff, rec)
        if best is None:
            return "no recordings are loaded"
        rec = best[1]
        differing = [name for name, a, b in zip(KEY_FIELDS, key, rec.key, strict=True) if a != b]
        return f"closest recording '{rec.title}' differs in {', '.join(differing)}"

    def __len__(self) -> int:
        return len(self.recordings)


async def replay_items(
    recording: Recording,
    task: ImageInferenceTask,
    digests: list[str],
    *,
    rng: random.Random,
    store: ImageStore,
    base_url: str,
) -> list[dict[str, Any]]:
    """The recorded items for a matching request: recorded imageUUID, seed and cost,
    taskUUID echoing the request, pictures served by the mock in the requested
    format and output type. Asking for more results than were recorded adds
    synthesized ones after them."""
    items = []
    fmt, expires_at = task.output_format, store.expiry(task.ttl)  # one answer: one moment
    task_type, task_uuid, output_type = task.task_type, task.task_uuid, task.output_type
    safety = task.safety_enabled
    # The documented examples show cost without asking for it, so a recording's cost is kept
    # unless the request says includeCost: false (then no answer has one, as live).
    no_cost = not task.include_cost and "include_cost" in task.model_fields_set
    for img in recording.images[: task.number_results]:
        source = img.file if img.file is not None else render_source(task, img.seed, digests)
        record = ImageRecord(img.path_for(fmt), img.image_uuid, source, fmt, task.output_quality, expires_at)
        store.register(record)
        # The request's and the mock's fields first, then the recorded ones in their order.
        item: dict[str, Any] = {
            "taskType": task_type,
            "taskUUID": task_uuid,
            "imageUUID": record.image_uuid,
            **image_field(record, output_type, base_url, store),
            **img.rest,
        }
        if safety:
            item.setdefault("NSFWContent", False)
        if no_cost:
            item.pop("cost", None)
        items.append(item)
    extra = task.number_results - len(items)
    if extra > 0:
        items += await synthesize(
            task, digests, count=extra, first_index=len(items), rng=rng, store=store, base_url=base_url
        )
    return items
