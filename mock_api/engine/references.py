"""Reference images of a request, resolved to pictures in the source store.

An imageUUID names a stored picture; a data URI or base64 string is decoded and
checked (in a worker thread, within the render budget; the same picture once; the
headers of all of them before any is decoded); a URL is never fetched: the
documented ones have local stand-ins, any other becomes a grey card naming its host.
A task carries at most ``max_reference_images`` of them.
"""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

from PIL import Image, ImageDraw

from api_schema import ErrorItem, ImageInferenceTask, RefKind, classify_reference, make_error
from api_schema import errors as E

from ..config import MockConfig
from ..images.references import check_picture, open_checked, standin_reference
from ..images.signs import load_font
from ..images.store import ImageStore, digest_of

REFS_PARAM = "inputs.referenceImages"
INLINE_KINDS = (RefKind.DATA_URI, RefKind.BASE64)


def decode_inline(value: str, max_bytes: int) -> bytes:
    """Bytes of a data URI or raw base64 string; ValueError with a reason otherwise."""
    text = value.strip()
    if text.lower().startswith("data:"):
        text = text.split(",", 1)[1] if "," in text else ""
    # Decoded size is 3/4 of the text; refuse before decoding anything huge.
    if len(text) * 3 // 4 > max_bytes:
        raise ValueError(f"is larger than the {max_bytes // (1024 * 1024)} MB limit")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("is not valid base64") from None


CARD_SIZE = (640, 480)
_CARD_FILL, _CARD_INK = (118, 124, 134), (246, 247, 250)


def _host_lines(host: str, per_line: int = 30) -> list[str]:
    """A host name in lines of at most ``per_line`` characters, broken after dots."""
    parts: list[str] = []
    for label in host.replace(".", ".\0").split("\0"):
        parts += [label[k : k + per_line] for k in range(0, len(label), per_line)]
    lines = [""]
    for part in parts:
        if lines[-1] and len(lines[-1]) + len(part) > per_line:
            lines.append("")
        lines[-1] += part
    return [line for line in lines if line]


# The longest host name DNS allows. A longer "host" is shown cut: each line of it is measured
# and drawn, so a 400 KB one held the event loop for 15 s.
MAX_SHOWN_HOST = 253


def placeholder_reference(url: str) -> bytes:
    """A neutral card standing in for a reference URL the mock will not fetch: it names
    the host, whole (wrapped and sized to fit), centred so that any frame shows all of it."""
    host = urlsplit(url).hostname or "unknown host"
    if len(host) > MAX_SHOWN_HOST:
        host = host[: MAX_SHOWN_HOST - 3] + "..."
    return _host_card(host)


@lru_cache(maxsize=64)  # by host, not URL: 64 URLs of a whole body each would be kept too
def _host_card(host: str) -> bytes:
    W, H = CARD_SIZE
    img = Image.new("RGB", CARD_SIZE, _CARD_FILL)
    draw = ImageDraw.Draw(img)
    # No frame: a ruled border would read as content and push an edit's signs off it.
    hosts = [(line, 30) for line in _host_lines(host)]
    lines = [("Reference picture", 36), *hosts, ("not fetched by the mock", 24)]
    room_w, room_h = W * 0.84, H * 0.8
    # A long host wraps onto more lines: then every line shrinks alike until the block fits.
    shrink = min(1.0, room_h / (sum(size * 1.3 for _, size in lines)))
    sized = []
    for text, size in lines:
        size = max(8, int(size * shrink))
        while size > 8 and load_font(size).getlength(text) > room_w:
            size -= 1
        sized.append((text, size))
    gap = round(10 * shrink)
    total = sum(size for _, size in sized) + gap * (len(sized) - 1)
    y = (H - total) / 2
    for i, (text, size) in enumerate(sized):
        ink = _CARD_INK if 0 < i < len(sized) - 1 else (222, 225, 232)
        draw.text((W / 2, y), text, font=load_font(size), fill=ink, anchor="ma")
        y += size + gap
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def url_picture(url: str) -> bytes:
    """What stands in for a picture at a URL, which the mock never fetches: the documented
    asset's local stand-in, else a grey card naming the host."""
    return standin_reference(url.strip()) or placeholder_reference(url.strip())


Failure = tuple[int | None, str]  # (index of the reference, or None for all of them; reason)


@dataclass(frozen=True)
class Inline:
    data: bytes
    digest: str


def inspect_inline(
    refs: list[tuple[int, str]], config: MockConfig, known: Callable[[str], bool]
) -> tuple[dict[int, Inline], list[Failure]]:
    """Blocking (a worker thread, in the render budget): the inline references of a task
    decoded from base64 and checked, each distinct picture once.

    Every header is checked first, and the pixels of all distinct new pictures summed,
    before any is decoded: a request that would decode too much decodes nothing. A
    picture already stored (``known``, by digest) was checked when it came in.
    """
    found: dict[int, Inline] = {}
    failures: list[Failure] = []
    by_text: dict[str, Inline | str] = {}  # the same string twice is decoded once
    new: dict[str, bytes] = {}  # digest -> bytes of the pictures still to decode
    total = 0
    for i, text in refs:
        seen = by_text.get(text)
        if seen is None:
            try:
                data = decode_inline(text, config.max_reference_bytes)
                digest = digest_of(data)
                if digest not in new and not known(digest):
                    width, height = open_checked(data, config.max_reference_pixels).size
                    total += width * height
                    new[digest] = data
                seen = Inline(data, digest)
            except ValueError as exc:
                seen = str(exc).rstrip(".")
            by_text[text] = seen
        if isinstance(seen, str):
            failures.append((i, seen))
        else:
            found[i] = seen
    limit = config.reference_total_pixels
    if total > limit:
        reason = (
            f"the inline reference images hold {total / 1e6:.3g} megapixels together;"
            f" at most {limit / 1e6:.3g} (the mock's limit)"
        )
        return {}, [(None, reason)]
    broken: dict[str, str] = {}
    for digest, data in new.items():
        try:
            check_picture(data, config.max_reference_pixels)
        except ValueError as exc:
            broken[digest] = str(exc).rstrip(".")
    for i in sorted(found):
        if found[i].digest in broken:
            failures.append((i, broken[found[i].digest]))
            del found[i]
    return found, failures


async def resolve_references(
    task: ImageInferenceTask, store: ImageStore, config: MockConfig
) -> tuple[list[str], list[ErrorItem]]:
    """The source-store digest of each reference image, or error items naming them."""
    refs = task.reference_images
    if not refs:  # most tasks (text to image): none of the work below
        return [], []
    code = E.param_info(REFS_PARAM).code

    def error(i: int | None, reason: str) -> ErrorItem:
        where = REFS_PARAM if i is None else f"{REFS_PARAM}[{i}]"
        return make_error(
            code,
            f"Invalid value for '{where}': {reason}.",
            parameter=REFS_PARAM,
            task_type=task.task_type,
            task_uuid=task.task_uuid,
        )

    most = config.max_reference_images
    if len(refs) > most:
        return [], [
            error(None, f"at most {most} reference images per task (the mock's limit; got {len(refs)})")
        ]
    kinds: list[RefKind | None] = []
    failures: list[Failure] = []
    for i, ref in enumerate(refs):
        try:
            kinds.append(classify_reference(ref))
        except ValueError as exc:  # already checked by the schema; kept for safety
            kinds.append(None)
            failures.append((i, str(exc)))
    pairs = list(enumerate(zip(refs, kinds, strict=True)))
    inline: dict[int, Inline] = {}
    inline_refs = [(i, ref) for i, (ref, kind) in pairs if kind in INLINE_KINDS]
    if inline_refs:
        inline, inline_failures = await store.in_slot(inspect_inline, inline_refs, config, store.has_source)
        failures += inline_failures
    digests: list[str] = []
    for i, (ref, kind) in pairs:
        if kind is RefKind.UUID:
            image_uuid = ref.strip()
            record = store.by_uuid(image_uuid)
            if record is None:
                failures.append(
                    (i, f"unknown imageUUID {image_uuid!r} (store it first with mediaStorage or imageUpload)")
                )
                continue
            try:
                data = await store.get_bytes(record)
            except Exception:
                failures.append((i, f"imageUUID {image_uuid!r} is no longer available"))
                continue
            digests.append(store.add_source(data, await store.in_slot(digest_of, data)))
        elif kind is RefKind.URL:
            digests.append(store.add_source(url_picture(ref)))
        elif i in inline:
            digests.append(store.add_source(inline[i].data, inline[i].digest))
    if failures:
        failures.sort(key=lambda f: -1 if f[0] is None else f[0])
        return [], [error(i, reason) for i, reason in failures]
    return digests, []
