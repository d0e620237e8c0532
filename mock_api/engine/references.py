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


@lru_cache(maxsize=64)
def placeholder_reference(url: str) -> bytes:
    """A neutral grey card standing in for a reference URL the mock will not fetch."""
    host = urlsplit(url).hostname or "unknown host"
    img = Image.new("RGB", (512, 384), (128, 128, 128))
    draw = ImageDraw.Draw(img)
    draw.rectangle((8, 8, 503, 375), outline=(180, 180, 180), width=4)
    draw.text((24, 170), f"reference: {host}", fill=(235, 235, 235))
    draw.text((24, 196), "(not fetched by the mock)", fill=(210, 210, 210))
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
