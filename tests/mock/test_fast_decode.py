"""A small payload is read by orjson, and only a batch whose every task validates keeps
that reading: whatever the payload, the tasks, their validation and every refusal are
exactly what json's reading gives (``dispatch._fast_decode``)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mock_api import MockConfig
from mock_api.server.dispatch import BatchError, _parse_all, decode_batch, prepare
from mock_api.state import MockState
from mock_api.tasks.handler import RequestContext, TaskResult

GOOD_UUID = "9b2f5a3c-4d1e-4f6a-8b7c-1d2e3f4a5b6c"
TASK = {
    "taskType": "imageInference",
    "taskUUID": GOOD_UUID,
    "model": "runware:glm-image@0",
    "positivePrompt": 'the word "OPEN" in neon',
    "width": 512,
    "height": 512,
    "seed": 7,
    "CFGScale": 3.5,
}
STATE = MockState(MockConfig())
LIMIT = STATE.config.max_body_bytes


def outcome(result: Any) -> Any:
    """What a payload's preparation amounts to, comparable across two runs."""
    if isinstance(result, TaskResult):
        return ("refused", result.status, [e.to_wire() for e in result.errors])
    return [
        (raw, task.model_dump() if task is not None else None, [e.to_wire() for e in errors])
        for raw, (task, errors) in result
    ]


def by_json(payload: bytes | str) -> Any:
    """The preparation as json alone reads the payload (the mock's behaviour before orjson)."""
    try:
        tasks = decode_batch(payload, LIMIT)
    except BatchError as exc:
        return outcome(exc.result)
    return outcome(list(zip(tasks, _parse_all(tasks), strict=True)))


def prepared(payload: bytes | str) -> Any:
    ctx = RequestContext(state=STATE, base_url="http://127.0.0.1", credentials="test-key")
    return outcome(asyncio.run(prepare(ctx, payload)))


def same_either_way(payload: bytes | str) -> None:
    assert prepared(payload) == by_json(payload)


# Values where orjson and json part ways, and ordinary ones.
AWKWARD = st.one_of(
    st.integers(min_value=-(2**80), max_value=2**80),
    st.sampled_from([2**63, 2**64, 2**64 + 1, -(2**63) - 1, 10**20, 1.0, -0.0, 1e308, 5e-324]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.booleans(),
    st.none(),
    st.lists(st.integers(min_value=-(2**70), max_value=2**70), max_size=3),
)
FIELDS = st.sampled_from(
    ["seed", "width", "height", "steps", "CFGScale", "numberResults", "outputQuality", "ttl", "madeUp"]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(changes=st.dictionaries(FIELDS, AWKWARD, max_size=3), count=st.integers(min_value=1, max_value=3))
def test_any_batch_prepares_as_json_alone_reads_it(changes: dict[str, Any], count: int) -> None:
    same_either_way(json.dumps([{**TASK, **changes}] * count).encode())


def test_an_integer_past_64_bits_is_refused_as_json_reads_it() -> None:
    # orjson would read 2**70 as a float: the refusal must still be json's (an integer out of range).
    payload = json.dumps([{**TASK, "seed": 2**70}]).encode()
    same_either_way(payload)
    result = prepared(payload)
    assert result[0][1] is None and result[0][2][0]["code"] == "invalidSeed"
    assert result[0][0]["seed"] == 2**70 and isinstance(result[0][0]["seed"], int)


def test_what_orjson_refuses_is_read_by_json() -> None:
    task_text = json.dumps(TASK)
    cases = [
        task_text.replace('"OPEN"', '"\\ud800"').join("[]").encode(),  # a lone surrogate
        ("[" + task_text + "]").encode("utf-16"),  # UTF-16 with its BOM
        b"\xef\xbb\xbf[" + task_text.encode() + b"]",  # a UTF-8 BOM
        task_text.replace('"CFGScale": 3.5', '"CFGScale": 1e400').join("[]").encode(),
        ("[" + task_text + "]").replace('"seed": 7', '"seed": 7, "seed": 8').encode(),  # repeated name
        b"[" + task_text.encode() + b"",  # cut short
        b"[]",
        ("[" + ",".join([task_text] * 101) + "]").encode(),  # too many tasks
        b'{"taskType": "ping"}',  # not an array
        b"[" * 20_000 + b"]" * 20_000,  # past orjson's depth limit and json's recursion: refused
        ("[" + task_text.replace('"seed": 7', '"seed": ' + "[" * 3000 + "]" * 3000) + "]").encode(),
        "[" + task_text + "]",  # a WebSocket's text
    ]
    for payload in cases:
        same_either_way(payload)
