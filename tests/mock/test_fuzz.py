"""Schemathesis against the real mock's /openapi.json: no input gives a 5xx.

About 200 generated requests (schema-valid and schema-violating) go to a real
uvicorn server; every answer must be a documented status with a documented
content type and a body matching the documented schema. The long run (thousands
of cases, and the api_schema properties) is ``python -m benchmarks.fuzz``.
"""

from __future__ import annotations

import logging

import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from mock_api import MockConfig
from mock_api.testing import run_mock_server
from tests.support.fuzzing import fuzz_http, fuzz_properties

pytestmark = pytest.mark.timeout(180)


def test_generated_requests_never_get_a_5xx_and_conform_to_the_schema(caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.ERROR, logger="mock_api")
    with run_mock_server(MockConfig(random_seed=4, speed=0.0)) as url:
        report = fuzz_http(url, positive=100, negative=100, seed=4)
    assert report.cases == 200
    assert report.server_errors == 0
    assert report.failures == [], "\n".join(report.failures[:10])
    # The mock's catch-all handler logs any unexpected exception: there must be none.
    assert [r.getMessage() for r in caplog.records if r.name.startswith("mock_api")] == []
    seen = report.by_operation()
    # The run reached the real work, not only the validation layer.
    assert any(k.startswith("positive POST /v1 -> 200") for k in seen), seen
    assert any(k.startswith("negative POST /v1 -> 400") for k in seen), seen
    assert any("/image/" in k for k in seen), seen


def test_the_fuzzer_reports_a_server_error():
    # A server with a documented route that fails: the same driver must see it.
    app = FastAPI()

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok"}

    @app.get("/boom")
    async def boom() -> JSONResponse:
        return JSONResponse({"detail": "broken"}, status_code=500)

    with run_mock_server(app=app) as url:
        report = fuzz_http(url, positive=5, negative=0, seed=1)
    assert report.server_errors >= 1
    assert any("not_a_server_error" in f for f in report.failures)


def test_the_long_run_of_the_schema_properties_runs_each_of_them():
    # ``python -m benchmarks.fuzz`` drives the properties' inner functions with its own example
    # count; a property whose arguments changed failed there with a TypeError, unseen here.
    report = fuzz_properties(examples=20)
    names = {"valid tasks round-trip", "any JSON value gives error items", "a mutated field is named"}
    assert set(report) == names
    for name, outcome in report.items():
        assert outcome["failure"] == "", (name, outcome["failure"])
        assert outcome["examples"] == 20, (name, outcome)
