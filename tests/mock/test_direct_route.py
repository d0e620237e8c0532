"""``POST /v1`` and the images are answered in front of FastAPI (``mock_api.server.direct``):
what FastAPI's stack gave them still holds there.

A bug on that path answers a Runware-shaped 500 (the traceback in the log, none on the
wire) and is journaled; faults, CORS and the journal apply to it (tests/mock/test_cors.py,
test_mock_faults.py and test_mock_journal.py go through it too); the OpenAPI document
still lists both routes; image URLs are built from the same base URL Starlette gives.
"""

from __future__ import annotations

import logging

import httpx
import pytest
from starlette.requests import Request

from api_schema import errors as E
from mock_api import MockConfig, create_app
from mock_api.server import direct
from mock_api.testing import AUTH, run_mock_server, task

SECRET_DETAIL = "detail-that-must-stay-in-the-log"


def _boom(*args, **kwargs):
    raise RuntimeError(SECRET_DETAIL)


def _assert_runware_500(answer: httpx.Response) -> None:
    assert answer.status_code == 500
    [error] = answer.json()["errors"]
    assert error["code"] == E.SERVER_ERROR and "RuntimeError" in error["message"]
    assert SECRET_DETAIL not in answer.text and "Traceback" not in answer.text


def test_a_bug_in_post_v1_answers_a_runware_500_logged_and_journaled(monkeypatch, caplog) -> None:
    monkeypatch.setattr(direct, "envelope_answer", _boom)  # fails after the batch ran, before any answer
    with caplog.at_level(logging.ERROR, "mock_api"), run_mock_server(MockConfig()) as url:
        answer = httpx.post(url + "/v1", json=[task()], headers=AUTH, timeout=30)
        _assert_runware_500(answer)
        journal = httpx.get(url + "/__admin/requests", timeout=30).json()["requests"]
        after = httpx.post(url + "/v1", json=[{"taskType": "ping", "ping": True}], headers=AUTH, timeout=30)
    assert journal[-1]["path"] == "/v1" and journal[-1]["status"] == 500
    assert any(SECRET_DETAIL in (r.exc_text or "") for r in caplog.records)  # the traceback went to the log
    assert after.status_code == 500  # still patched: the server itself kept serving


def test_a_bug_serving_an_image_answers_a_runware_500() -> None:
    app = create_app(MockConfig())
    with run_mock_server(app=app) as url:
        image_url = httpx.post(url + "/v1", json=[task()], headers=AUTH, timeout=30).json()["data"][0][
            "imageURL"
        ]
        assert httpx.get(image_url, timeout=30).status_code == 200
        app.state.mock.store.lookup = _boom
        _assert_runware_500(httpx.get(image_url, timeout=30))


def test_the_openapi_document_still_lists_the_direct_routes(mock_url: str) -> None:
    spec = httpx.get(mock_url + "/openapi.json", timeout=30).json()
    assert "post" in spec["paths"]["/v1"]
    assert "get" in spec["paths"]["/image/{image_path}"]


def test_the_documenting_routes_answer_alike_behind_fastapi(mock_url: str) -> None:
    # A trailing slash is not a direct route: FastAPI redirects it to /v1, which is.
    answer = httpx.post(mock_url + "/v1/", json=[task()], headers=AUTH, timeout=30, follow_redirects=True)
    assert answer.status_code == 200 and answer.json()["data"][0]["imageURL"].startswith(mock_url + "/image/")


def test_image_methods_the_route_does_not_serve_get_405(mock_url: str) -> None:
    answer = httpx.post(mock_url + "/image/anything.png", headers=AUTH, timeout=30)
    assert answer.status_code == 405 and answer.json()["errors"][0]["code"] == "methodNotAllowed"


@pytest.mark.parametrize(
    "host",
    [None, "example.test", "example.test:8123", "[::1]:9000", "bad host", "x" * 300, "a:b:c", ""],
)
@pytest.mark.parametrize("server", [("127.0.0.1", 8000), ("127.0.0.1", 80), ("::1", 8000), None])
def test_the_base_url_is_the_one_starlette_gives(host: str | None, server: tuple[str, int] | None) -> None:
    headers = [(b"host", host.encode())] if host is not None else []
    scope = {"type": "http", "scheme": "http", "server": server, "path": "/v1", "headers": headers}
    scope["root_path"] = ""
    expected = str(Request(scope).base_url).rstrip("/")
    assert direct.base_url_of(scope, {"host": host} if host is not None else {}) == expected
