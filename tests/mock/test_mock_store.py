"""The mock's image store: bounded records, bounded byte caches, re-rendering."""

from __future__ import annotations

import asyncio

import pytest

from mock_api import MockConfig
from mock_api.images.store import ByteLRU, ImageRecord, ImageStore, RenderSource


def record(n: int, store: ImageStore, ttl: int | None = None, fmt: str = "JPG") -> ImageRecord:
    image_uuid = f"00000000-0000-4000-8000-{n:012d}"
    rec = ImageRecord(
        path=f"/image/ws/2/ii/{image_uuid}.jpg",
        image_uuid=image_uuid,
        source=RenderSource(
            prompt="a store test", width=128, height=128, seed=n, model="runware:glm-image@0"
        ),
        fmt=fmt,
        quality=90,
        expires_at=store.expiry(ttl),
    )
    store.register(rec)
    return rec


def test_byte_lru_keeps_within_its_budget_and_drops_the_oldest():
    lru = ByteLRU(100)
    for i in range(10):
        lru.put(i, bytes(30))
    assert lru.size <= 100 and len(lru) == 3
    assert lru.get(0) is None and lru.get(9) is not None
    lru.put("huge", bytes(101))  # larger than the whole budget: not stored, nothing evicted
    assert lru.get("huge") is None and len(lru) == 3


def test_record_count_is_bounded_and_oldest_forgotten():
    store = ImageStore(MockConfig(max_images=5))
    recs = [record(n, store) for n in range(8)]
    assert len(store) == 5
    assert store.lookup(recs[0].path) is None and store.by_uuid(recs[0].image_uuid) is None
    assert store.lookup(recs[7].path) == recs[7]


def test_expired_records_are_swept_on_register():
    store = ImageStore(MockConfig())
    now = [0.0]
    store.clock = lambda: now[0]
    for n in range(20):
        record(n, store, ttl=60)
    now[0] = 61.0
    record(100, store)
    record(101, store)
    record(102, store)
    assert len(store) <= 20 - 8 + 3  # a few expired records go with each register
    for n in range(103, 110):
        record(n, store)
    assert len(store) == 10  # all 20 expired ones are gone


def test_uuid_lookup_ignores_case():
    store = ImageStore(MockConfig())
    rec = record(1, store)
    assert store.by_uuid(rec.image_uuid.upper()) == rec


async def test_evicted_bytes_are_rendered_again_identically():
    store = ImageStore(MockConfig(cache_max_bytes=1))
    rec = record(1, store, fmt="PNG")
    first = await store.get_bytes(rec)
    assert len(store.cache) == 0  # too big for the cache
    assert await store.get_bytes(rec) == first


async def test_concurrent_requests_for_one_image_render_it_once(monkeypatch):
    store = ImageStore(MockConfig())
    rec = record(1, store)
    calls = []
    real = store._make

    def counting(r):
        calls.append(r)
        return real(r)

    monkeypatch.setattr(store, "_make", counting)
    results = await asyncio.gather(*(store.get_bytes(rec) for _ in range(6)))
    assert len(results) == 6 and len(set(results)) == 1
    assert len(calls) == 1


def test_config_rejects_nonsense():
    with pytest.raises(ValueError):
        MockConfig(max_body_bytes=0)
    with pytest.raises(ValueError):
        MockConfig(require_key="")
