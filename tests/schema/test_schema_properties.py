"""Property tests on api_schema: valid tasks round-trip, anything else yields error items."""

from __future__ import annotations

import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import api_schema as A
from api_schema import limits as L

PROFILE = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)


def _int(rng):
    return st.integers(min_value=int(rng.minimum), max_value=int(rng.maximum))


uuid4s = st.builds(lambda n: str(uuid.UUID(int=n, version=4)), st.integers(0, 2**128 - 1))
prompts = st.text(min_size=2, max_size=200).filter(lambda s: s.strip())
cfg = st.integers(100, 3000).map(lambda n: n / 100)

valid_tasks = st.fixed_dictionaries(
    {
        "taskType": st.just("imageInference"),
        "taskUUID": uuid4s,
        "model": st.just(L.MODEL_ID),
        "positivePrompt": prompts,
        "width": _int(L.WIDTH),
        "height": _int(L.HEIGHT),
    },
    optional={
        "seed": _int(L.SEED),
        "steps": _int(L.STEPS),
        "CFGScale": cfg,
        "numberResults": _int(L.NUMBER_RESULTS),
        "outputType": st.sampled_from(L.OUTPUT_TYPES),
        "outputFormat": st.sampled_from(L.OUTPUT_FORMATS),
        "outputQuality": _int(L.OUTPUT_QUALITY),
        "deliveryMethod": st.sampled_from(L.DELIVERY_METHODS),
        "ttl": st.integers(60, 10**7),
        "includeCost": st.booleans(),
        "webhookURL": st.just("https://hooks.example.com/runware?token=abc"),
        "safety": st.fixed_dictionaries(
            {}, optional={"checkContent": st.booleans(), "mode": st.sampled_from(L.SAFETY_MODES)}
        ),
        "inputs": st.fixed_dictionaries(
            {"referenceImages": st.lists(st.one_of(uuid4s, st.just("https://example.com/a.jpg")), max_size=3)}
        ),
    },
)


# Each property's strategies, named once: its @given and the long run (benchmarks.fuzz) share them.
ROUND_TRIP = (valid_tasks,)


@PROFILE
@given(*ROUND_TRIP)
def test_every_valid_task_round_trips(task):
    parsed, errors = A.parse_task(task)
    assert errors == [], errors
    assert parsed.to_wire() == task
    again, errors = A.parse_task(parsed.to_wire())
    assert errors == [] and again == parsed


def _check_items(errors):
    assert errors
    for err in errors:
        assert isinstance(err.code, str) and err.code
        assert isinstance(err.message, str) and err.message
        wire = err.to_wire()
        assert {"code", "message"} <= set(wire)


ANY_JSON = (json_values,)


@PROFILE
@given(*ANY_JSON)
def test_any_json_value_never_raises(value):
    parsed, errors = A.parse_task(value)
    if parsed is None:
        _check_items(errors)


FIELDS = [
    "taskUUID", "model", "positivePrompt", "width", "height", "seed", "steps", "CFGScale",
    "numberResults", "outputType", "outputFormat", "outputQuality", "webhookURL", "uploadEndpoint",
    "deliveryMethod", "safety", "ttl", "includeCost", "inputs",
]  # fmt: skip


MUTATED = (valid_tasks, st.sampled_from(FIELDS), json_values)


@PROFILE
@given(*MUTATED)
def test_a_mutated_field_gives_items_naming_it_or_stays_valid(task, field, value):
    task = {**task, field: value}
    parsed, errors = A.parse_task(task)
    if parsed is None:
        _check_items(errors)
        assert any((e.parameter or "").split(".")[0] == field for e in errors), (field, errors)


@settings(max_examples=500, deadline=None)
@given(
    base=st.uuids(),
    at=st.integers(min_value=0, max_value=35),
    char=st.sampled_from("0123456789abcdefABCDEFg- \n{}"),
    upper=st.booleans(),
)
def test_the_task_uuid_check_takes_exactly_canonical_version_4_uuids(
    base: uuid.UUID, at: int, char: str, upper: bool
) -> None:
    # The one-regex fast path must accept what parsing accepts, and nothing else.
    from api_schema.tasks import _uuid_v4

    text = str(base).upper() if upper else str(base)
    for value in (text, text[:at] + char + text[at + 1 :], text + char, "{" + text + "}"):
        try:
            parsed = uuid.UUID(value)
            expected = parsed.version == 4 and str(parsed) == value.lower() and len(value) == 36
        except ValueError:
            expected = False
        try:
            accepted = _uuid_v4(value) == value
        except ValueError:
            accepted = False
        assert accepted == expected, value
