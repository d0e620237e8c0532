"""CORS for browser front-ends: off by default, on with --cors, never on /__admin.

Against ``python -m mock_api`` with and without the flag, and in real Chromium: a page
served from another origin calls the mock, reads a 429 it injected, and draws an image.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mock_api import MockConfig
from mock_api.testing import AUTH, CHROMIUM, CHROMIUM_ARGS, free_port, spawn_mock, task

FRONTEND = "http://127.0.0.1:{port}"


def preflight(url: str, origin: str, path: str = "/v1") -> httpx.Response:
    return httpx.options(
        url + path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
        timeout=30,
        trust_env=False,
    )


@pytest.fixture(scope="module")
def cors_mock() -> Iterator[str]:
    with spawn_mock("--cors", "http://localhost:5173", "--cors", "http://127.0.0.1:5174") as server:
        yield server.url


def test_without_the_flag_no_cors_headers_are_sent(mock_url: str):
    answer = preflight(mock_url, "http://localhost:5173")
    assert "access-control-allow-origin" not in answer.headers
    post = httpx.post(
        mock_url + "/v1", json=[task()], headers={**AUTH, "Origin": "http://x.test"}, timeout=30
    )
    assert post.status_code == 200 and "access-control-allow-origin" not in post.headers


def test_an_allowed_origin_gets_a_preflight_answer_naming_it(cors_mock: str):
    answer = preflight(cors_mock, "http://localhost:5173")
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == "http://localhost:5173"
    assert "POST" in answer.headers["access-control-allow-methods"]
    assert "authorization" in answer.headers["access-control-allow-headers"].lower()


def test_a_foreign_origin_is_not_allowed(cors_mock: str):
    answer = preflight(cors_mock, "http://evil.test")
    assert answer.status_code == 400
    assert "access-control-allow-origin" not in answer.headers


def test_answers_images_and_faults_carry_the_headers(cors_mock: str):
    origin = {"Origin": "http://127.0.0.1:5174"}
    ok = httpx.post(cors_mock + "/v1", json=[task()], headers={**AUTH, **origin}, timeout=30)
    assert ok.headers["access-control-allow-origin"] == origin["Origin"]
    image = httpx.get(ok.json()["data"][0]["imageURL"], headers=origin, timeout=30)
    assert image.status_code == 200 and image.headers["access-control-allow-origin"] == origin["Origin"]
    fault = httpx.post(
        cors_mock + "/v1", json=[task()], headers={**AUTH, **origin, "X-Mock-Fault": "429"}, timeout=30
    )
    assert fault.status_code == 429
    assert fault.headers["access-control-allow-origin"] == origin["Origin"]
    assert "retry-after" in fault.headers["access-control-expose-headers"].lower()


def test_admin_routes_never_answer_cors(cors_mock: str):
    answer = preflight(cors_mock, "http://localhost:5173", "/__admin/faults")
    assert "access-control-allow-origin" not in answer.headers
    got = httpx.get(cors_mock + "/__admin/requests", headers={"Origin": "http://localhost:5173"}, timeout=30)
    assert "access-control-allow-origin" not in got.headers


def test_a_reset_fault_still_drops_the_connection_behind_cors(cors_mock: str):
    with pytest.raises(httpx.TransportError):
        httpx.post(
            cors_mock + "/v1",
            json=[task()],
            headers={**AUTH, "Origin": "http://localhost:5173", "X-Mock-Fault": "reset"},
            timeout=30,
        )


@pytest.mark.parametrize("origin", ["localhost:5173", "ftp://x.test", "http://x.test/path", "http://"])
def test_a_malformed_origin_is_refused_at_start(origin: str):
    with pytest.raises(ValueError, match="CORS origin"):
        MockConfig(cors_origins=[origin])


def test_star_and_a_trailing_slash_are_accepted():
    assert MockConfig(cors_origins=["*", "http://localhost:5173/"]).cors_origins == [
        "*",
        "http://localhost:5173",
    ]


PAGE = """<!doctype html><meta charset="utf-8"><title>front-end</title><body>
<script>
window.run = async (mock, task) => {
  const headers = {"Authorization": "Bearer browser-key", "Content-Type": "application/json"};
  const out = {};
  try {
    const fault = await fetch(mock + "/v1", {method: "POST", headers: {...headers, "X-Mock-Fault": "429"},
                                            body: JSON.stringify([task])});
    out.faultStatus = fault.status;
    out.retryAfter = fault.headers.get("Retry-After");
    const ok = await fetch(mock + "/v1", {method: "POST", headers, body: JSON.stringify([task])});
    const body = await ok.json();
    out.status = ok.status;
    const img = new Image();
    img.crossOrigin = "anonymous";
    await new Promise((resolve, reject) => { img.onload = resolve; img.onerror = reject;
                                             img.src = body.data[0].imageURL; });
    const canvas = document.createElement("canvas");
    canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
    canvas.getContext("2d").drawImage(img, 0, 0);
    canvas.toDataURL();  // throws on a tainted canvas: the image really passed CORS
    out.width = img.naturalWidth;
  } catch (e) { out.error = String(e); }
  return out;
};
</script>"""


@contextlib.contextmanager
def serve_page(folder: Path) -> Iterator[str]:
    (folder / "index.html").write_text(PAGE, encoding="utf-8")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *a: None  # type: ignore[assignment]
    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield FRONTEND.format(port=port)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.mark.browser
@pytest.mark.skipif(
    not os.path.exists(CHROMIUM) and not os.environ.get("CI"), reason=f"{CHROMIUM} is missing"
)
@pytest.mark.parametrize("allowed", [True, False])
def test_a_page_on_another_origin_calls_the_mock_only_with_cors(tmp_path: Path, allowed: bool):
    from playwright.sync_api import sync_playwright

    with serve_page(tmp_path) as page_url:
        flags = ("--cors", page_url) if allowed else ()
        with spawn_mock(*flags) as mock, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS), headless=True)
            try:
                page = browser.new_page()
                page.goto(page_url + "/index.html")
                out = page.evaluate("([m, t]) => window.run(m, t)", [mock.url, task(width=320, height=256)])
            finally:
                browser.close()
    if allowed:
        assert out == {"faultStatus": 429, "retryAfter": "1", "status": 200, "width": 320}, json.dumps(out)
    else:
        assert "error" in out and "status" not in out, out
