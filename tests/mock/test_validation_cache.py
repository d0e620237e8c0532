"""Repeated imageInference tasks are validated once (``mock_api.validated``): what the cache
gives is what a full validation gives, task for task, and it stays bounded."""

from __future__ import annotations

import uuid

import pytest

from api_schema import load_examples, parse_task
from mock_api.testing import task
from mock_api.validated import MAX_KEY_CHARS, ValidationCache


def _same(raw: dict) -> None:
    cache_task, cache_errors = ValidationCache.parse(CACHE, raw)
    full_task, full_errors = parse_task(raw)
    assert [e.to_wire() for e in cache_errors] == [e.to_wire() for e in full_errors]
    if full_task is None:
        assert cache_task is None
    else:
        assert cache_task is not None and cache_task.to_wire() == full_task.to_wire()
        assert cache_task.model_fields_set == full_task.model_fields_set


CACHE = ValidationCache()
DOCUMENTED = [
    example.request for example in load_examples() if example.request.get("taskType") == "imageInference"
]


@pytest.mark.parametrize("raw", DOCUMENTED, ids=range(len(DOCUMENTED)))
def test_a_documented_task_sent_again_validates_as_in_full(raw: dict) -> None:
    for _ in range(3):
        _same({**raw, "taskUUID": str(uuid.uuid4())})


@pytest.mark.parametrize(
    "task_uuid",
    ["not-a-uuid", str(uuid.uuid1()), "", "0" * 64, str(uuid.uuid4()).upper(), uuid.uuid4().hex, 5],
)
def test_any_task_uuid_after_a_remembered_task_gets_the_full_answer(task_uuid: object) -> None:
    raw = task(positivePrompt="remembered", width=512, height=512)
    _same(raw)  # remembered now
    _same({**raw, "taskUUID": task_uuid})


def test_invalid_tasks_and_other_types_are_not_remembered() -> None:
    cache = ValidationCache()
    cache.parse(task(width=127))
    cache.parse({"taskType": "ping", "ping": True})
    cache.parse({**task(), "positivePrompt": "x" * MAX_KEY_CHARS})
    assert len(cache) == 0
    cache.parse(task())
    assert len(cache) == 1


def test_it_keeps_the_last_tasks_only() -> None:
    cache = ValidationCache(max_tasks=4)
    for n in range(10):
        cache.parse(task(seed=n))
    assert len(cache) == 4
