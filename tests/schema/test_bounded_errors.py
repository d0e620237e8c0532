"""A hostile task costs bounded work and gets a bounded answer (issue: 100,000 unknown fields)."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from api_schema import MODEL_ID, parse_task
from api_schema import errors as E
from mock_api import MockConfig
from mock_api.testing import AUTH, run_mock_server


def _task(**extra: object) -> dict[str, object]:
    base: dict[str, object] = {
        "taskType": "imageInference",
        "taskUUID": str(uuid.uuid4()),
        "model": MODEL_ID,
        "positivePrompt": "A sign that reads 'HELLO'",
        "width": 512,
        "height": 512,
    }
    base.update(extra)
    return base


def test_many_unknown_fields_give_at_most_the_cap_and_say_how_many_more():
    raw = _task(**{f"junk{i}": i for i in range(100_000)})
    task, errors = parse_task(raw)
    assert task is None
    assert len(errors) == E.MAX_REPORTED_ERRORS
    assert all(e.code == E.UNKNOWN_PARAMETER for e in errors[:-1])
    assert errors[-1].code == E.INVALID_REQUEST_BODY
    assert f"{100_000 - (E.MAX_REPORTED_ERRORS - 1):,} more problems" in errors[-1].message


def test_unknown_fields_in_nested_objects_are_counted_too():
    raw = _task(inputs={f"x{i}": 1 for i in range(5_000)}, safety={f"y{i}": 1 for i in range(5_000)})
    _, errors = parse_task(raw)
    assert len(errors) == E.MAX_REPORTED_ERRORS
    assert errors[0].parameter == "inputs.x0"
    assert "more problems" in errors[-1].message


def test_a_huge_unknown_name_is_never_echoed_whole():
    name = "z" * 100_000
    _, errors = parse_task(_task(**{name: 1}))
    [error] = errors
    assert len(error.message) < 200 and len(error.parameter or "") <= E.MAX_NAME_CHARS
    assert error.message.startswith("Unknown parameter 'zzz")


def test_hints_still_name_the_close_field_for_a_typo():
    _, errors = parse_task(_task(cfgScale=7.5))
    assert [e.message for e in errors] == ["Unknown parameter 'cfgScale'. Did you mean 'CFGScale'?"]


@pytest.mark.parametrize(
    ("extra", "hint"),
    [
        # @runware/sdk-js 1.3.2 sends its referenceImages at the top: the hint said the same
        # name back ("Unknown parameter 'referenceImages'. Did you mean 'referenceImages'?").
        ({"referenceImages": ["https://example.com/a.png"]}, "inputs.referenceImages"),
        ({"checkContent": True}, "safety.checkContent"),
        ({"inputs": {"referenceImage": ["https://example.com/a.png"]}}, "inputs.referenceImages"),
    ],
)
def test_a_field_at_the_wrong_level_is_told_its_whole_path(extra: dict, hint: str) -> None:
    _, errors = parse_task(_task(**extra))
    [error] = errors
    assert error.message.endswith(f"Did you mean '{hint}'?")


def test_only_the_first_few_unknown_names_get_a_fuzzy_hint():
    names = [f"widht{i}" for i in range(10)]
    _, errors = parse_task(_task(**dict.fromkeys(names, 1)))
    hinted = [e for e in errors if "Did you mean" in e.message]
    assert len(hinted) == E.MAX_HINTED_UNKNOWN


def test_other_violations_are_still_reported_next_to_unknown_ones():
    _, errors = parse_task(_task(width=5, bogus=1))
    assert {e.code for e in errors} == {"invalidWidth", E.UNKNOWN_PARAMETER}


def test_the_real_mock_answers_a_flood_of_fields_with_a_small_400():
    # 90,000: from 100,000 JSON values on, the mock refuses a body before decoding it.
    body = json.dumps([_task(**{f"junk{i}": i for i in range(90_000)})]).encode()
    assert len(body) > 1_000_000
    with run_mock_server(MockConfig(random_seed=1)) as url:
        answer = httpx.post(
            url + "/v1",
            content=body,
            headers={**AUTH, "Content-Type": "application/json"},
            timeout=60,
            trust_env=False,
        )
        health = httpx.get(url + "/health", timeout=10, trust_env=False)
    assert answer.status_code == 400
    assert len(answer.content) < 20_000
    assert len(answer.json()["errors"]) == E.MAX_REPORTED_ERRORS
    assert health.status_code == 200
