"""Where the mock keeps its images: URL records, source pictures and encoded bytes.

Memory is bounded three ways: a URL record is small and there are at most
``max_images`` of them (each also expires after its ttl); source pictures (uploads,
inline reference images) live in a byte-budgeted LRU; encoded output bytes live in
another byte-budgeted LRU and are rendered again from the record when evicted.

Every piece of picture work (a render, a conversion, the decoding of a reference or an
upload: ``in_slot``) runs in a worker thread holding one of ``render_concurrency``
slots, so that at most that many pictures are in memory at once and the event loop
stays free; two requests for the same image wait for one render instead of doing two.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Hashable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import anyio
import anyio.to_thread
from PIL import Image

from api_schema.limits import FORMAT_MIME

from ..config import MockConfig
from . import render
from .files import UnsafeFile, read_regular_file

T = TypeVar("T")
# The longest a picture is kept for, whatever its ttl: a century, in seconds.
LONGEST_TTL_S = 100 * 365 * 24 * 3600


class ImageGone(Exception):
    """The image's source picture was evicted, so it cannot be rendered again."""


class ByteLRU:
    """A thread-safe LRU map of bytes values with a total size budget."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> bytes | None:
        with self._lock:
            data = self._items.get(key)
            if data is not None:
                self._items.move_to_end(key)
            return data

    def put(self, key: Hashable, data: bytes) -> None:
        if len(data) > self.max_bytes:
            return  # would evict everything else and still not fit
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._size -= len(old)
            self._items[key] = data
            self._size += len(data)
            while self._size > self.max_bytes:
                _, dropped = self._items.popitem(last=False)
                self._size -= len(dropped)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._size = 0

    @property
    def size(self) -> int:
        return self._size

    def __len__(self) -> int:
        return len(self._items)


def digest_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# What an image is made from. Each has a hashable cache identity. The two made for every
# answer (RenderSource, ImageRecord) are named tuples: as immutable as a frozen dataclass,
# made in half its time (a frozen dataclass sets each field through object.__setattr__).
class RenderSource(NamedTuple):
    """A preview drawn from generation parameters (and an optional reference picture)."""

    prompt: str
    width: int
    height: int
    seed: int
    model: str
    ref_digest: str | None = None


@dataclass(frozen=True)
class FileSource:
    """A picture in a recording folder, in the format it was recorded in."""

    path: Path
    fmt: str


@dataclass(frozen=True)
class BlobSource:
    """A picture held in the source store (an uploaded image)."""

    digest: str
    fmt: str


Source = RenderSource | FileSource | BlobSource


class ImageRecord(NamedTuple):
    path: str  # URL path, e.g. /image/ws/2/ii/<uuid>.jpg
    image_uuid: str
    source: Source
    fmt: str  # JPG | PNG | WEBP
    quality: int
    expires_at: float  # time.monotonic() deadline

    @property
    def mime(self) -> str:
        return FORMAT_MIME[self.fmt]

    @property
    def cache_key(self) -> tuple[Hashable, ...]:
        # A stored picture served in its own format is passed through unchanged,
        # so its quality does not matter.
        if isinstance(self.source, (FileSource, BlobSource)) and self.source.fmt == self.fmt:
            return (self.source, self.fmt)
        return (self.source, self.fmt, self.quality)


_PIL_TO_FMT = {"JPEG": "JPG", "PNG": "PNG", "WEBP": "WEBP"}


def convert(data: bytes, fmt: str, quality: int) -> bytes:
    """Re-encode picture bytes in another output format."""
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        if fmt == "JPG" or img.mode not in ("RGB", "RGBA"):
            img = img.convert("RGB")
        return render.encode_image(img, fmt, quality)


def picture_format(data: bytes) -> str | None:
    """JPG/PNG/WEBP for bytes Pillow can open in one of those formats, else None."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            return _PIL_TO_FMT.get(img.format or "")
    except Exception:
        return None


class ImageStore:
    def __init__(self, config: MockConfig) -> None:
        self.config = config
        self.cache = ByteLRU(config.cache_max_bytes)
        self.sources = ByteLRU(config.sources_max_bytes)
        self._records: OrderedDict[str, ImageRecord] = OrderedDict()
        self._by_uuid: dict[str, str] = {}
        self._lock = threading.Lock()
        self._key_locks: dict[Hashable, tuple[asyncio.Lock, list[int]]] = {}
        self.slots = anyio.CapacityLimiter(config.render_concurrency)
        self.clock: Callable[[], float] = time.monotonic

    # --- records -------------------------------------------------------------
    def expiry(self, ttl: int | None) -> float:
        # ttl has no documented maximum; past a century it is "never" (the store's bound on
        # records evicts it first), and 10**309 no longer overflows the float clock (a 500).
        seconds = ttl if ttl is not None else self.config.default_ttl
        return self.clock() + min(seconds, LONGEST_TTL_S)

    def register(self, record: ImageRecord) -> None:
        with self._lock:
            self._records.pop(record.path, None)
            self._records[record.path] = record
            self._by_uuid[record.image_uuid.lower()] = record.path
            # Forget the oldest records when over the count, and a few expired ones
            # each time, so memory does not wait for the count limit.
            now, swept = self.clock(), 0
            while self._records:
                oldest = next(iter(self._records.values()))
                over = len(self._records) > self.config.max_images
                if not over and (swept >= 8 or oldest.expires_at > now):
                    break
                self._forget(oldest)
                swept += 1

    def _forget(self, record: ImageRecord) -> None:
        """Drop a record; the caller holds the lock."""
        self._records.pop(record.path, None)
        if self._by_uuid.get(record.image_uuid.lower()) == record.path:
            del self._by_uuid[record.image_uuid.lower()]

    def lookup(self, path: str) -> ImageRecord | None:
        """The live record for a URL path; None when unknown or expired."""
        with self._lock:
            record = self._records.get(path)
            if record is None:
                return None
            if record.expires_at <= self.clock():
                self._forget(record)
                return None
            return record

    def by_uuid(self, image_uuid: str) -> ImageRecord | None:
        path = self._by_uuid.get(image_uuid.lower())
        return self.lookup(path) if path else None

    def forget(self, image_uuid: str) -> ImageRecord | None:
        """Drop an imageUUID's record (mediaStorage delete): its URL then answers 404 and the
        UUID no longer resolves as a reference. The record, or None when there was none."""
        with self._lock:
            path = self._by_uuid.get(image_uuid.lower())
            record = self._records.get(path) if path else None
            if record is not None:
                self._forget(record)
            return record

    def __len__(self) -> int:
        return len(self._records)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()
            self._by_uuid.clear()
        self.cache.clear()
        self.sources.clear()

    # --- sources -------------------------------------------------------------
    def add_source(self, data: bytes, digest: str | None = None) -> str:
        digest = digest or digest_of(data)
        if self.sources.get(digest) is None:
            self.sources.put(digest, data)
        return digest

    def has_source(self, digest: str) -> bool:
        """Whether a picture with this digest is stored (and so was checked when it came in)."""
        return self.sources.get(digest) is not None

    # --- picture work ----------------------------------------------------------
    async def in_slot(self, work: Callable[..., T], *args: Any) -> T:
        """Run blocking picture work in a worker thread, within the render budget."""
        return await anyio.to_thread.run_sync(work, *args, limiter=self.slots)

    # --- bytes ---------------------------------------------------------------
    def cached_bytes(self, record: ImageRecord) -> bytes | None:
        source = record.source
        if isinstance(source, BlobSource) and source.fmt == record.fmt:
            return self.sources.get(source.digest)
        return self.cache.get(record.cache_key)

    async def get_bytes(self, record: ImageRecord) -> bytes:
        """The record's encoded bytes; rendered (in a slot) on a cache miss, once for all
        who ask at the same time.

        Raises ImageGone when the picture it was made from has been evicted.
        """
        data = self.cached_bytes(record)
        if data is not None:
            return data
        key = record.cache_key
        async with self._lock_for(key):
            data = self.cached_bytes(record)
            if data is not None:
                return data
            data = await self.in_slot(self._make, record)
            if not (isinstance(record.source, BlobSource) and record.source.fmt == record.fmt):
                self.cache.put(key, data)
            return data

    def _make(self, record: ImageRecord) -> bytes:
        source = record.source
        if isinstance(source, RenderSource):
            reference = None
            if source.ref_digest is not None:
                reference = self.sources.get(source.ref_digest)
                if reference is None:
                    raise ImageGone(record.path)
            spec = render.PreviewSpec(
                prompt=source.prompt,
                width=source.width,
                height=source.height,
                seed=source.seed,
                model=source.model,
                reference=reference,
            )
            return render.render_bytes(spec, record.fmt, record.quality)
        if isinstance(source, FileSource):
            try:  # checked again: the file may have been swapped since start-up
                data = read_regular_file(source.path, self.config.max_recorded_image_bytes)
            except UnsafeFile:
                raise ImageGone(record.path) from None
        else:
            found = self.sources.get(source.digest)
            if found is None:
                raise ImageGone(record.path)
            data = found
        if source.fmt == record.fmt:
            return data
        return convert(data, record.fmt, record.quality)

    @asynccontextmanager
    async def _lock_for(self, key: Hashable) -> AsyncIterator[None]:
        # The event loop is the only caller: the dict needs no lock of its own.
        lock, users = self._key_locks.setdefault(key, (asyncio.Lock(), [0]))
        users[0] += 1
        try:
            async with lock:
                yield
        finally:
            users[0] -= 1
            if users[0] == 0:
                del self._key_locks[key]
