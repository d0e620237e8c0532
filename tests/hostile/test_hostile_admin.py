"""/__admin on a shared machine: no DNS rebinding, no CSRF, the key when there is one,
a bounded clock.

Before: ``GET /__admin/requests`` answered under any ``Host`` (a rebound DNS name
let a web page read the journal, whose taskUUIDs fetch other callers' images), a page
could ``POST /__admin/faults`` as ``text/plain`` from a foreign origin, no key was
needed even with ``--require-key``, and the clock advanced without limit.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from starlette.testclient import TestClient

from mock_api import MockConfig, create_app
from mock_api.jobs import MAX_ADVANCE_S, MAX_OFFSET_S
from mock_api.testing import AUTH, KEY, MockHandle, Server, spawn_mock, task

ADMIN_KEY = "admin-key-5c1d0a"
FAULT = {"fault": "429", "count": 1}


@pytest.fixture(scope="module")
def open_mock() -> Iterator[Server]:
    with spawn_mock() as mock:
        yield mock


@pytest.fixture(scope="module")
def keyed_mock() -> Iterator[Server]:
    with spawn_mock("--require-key", KEY) as mock:
        yield mock


def admin(mock: Server, method: str, path: str, **kw) -> httpx.Response:
    return httpx.request(method, mock.url + "/__admin" + path, timeout=10, **kw)


def no_fault_is_active(mock: Server) -> bool:
    active = admin(mock, "GET", "/faults").json()["active"]
    return active is None or active["remaining"] == 0


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8808", "127.0.0.1.nip.io", "10.0.0.7", ""])
@pytest.mark.parametrize("path", ["/requests", "/deliveries", "/faults"])
def test_a_foreign_host_is_refused_dns_rebinding(open_mock: Server, host: str, path: str) -> None:
    httpx.post(open_mock.url + "/v1", json=[task()], headers=AUTH, timeout=30)  # something to leak
    answer = admin(open_mock, "GET", path, headers={"Host": host})
    assert answer.status_code == 403, answer.text
    (error,) = answer.json()["errors"]
    assert error["code"] == "adminRequestRefused" and "Host" in error["message"]
    assert "taskUUID" not in answer.text.replace('"taskUUID":null', "")


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "[::1]", "localhost."])
def test_loopback_names_are_accepted(open_mock: Server, host: str) -> None:
    port = open_mock.url.rsplit(":", 1)[1]
    assert admin(open_mock, "GET", "/requests", headers={"Host": f"{host}:{port}"}).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},
        {"Origin": "http://localhost:1"},  # another page on this machine is another origin too
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
    ],
    ids=["foreign-origin", "other-local-origin", "null-origin", "sec-fetch-site"],
)
def test_a_cross_site_request_is_refused_csrf(open_mock: Server, headers: dict[str, str]) -> None:
    answer = admin(open_mock, "POST", "/faults", json=FAULT, headers=headers)
    assert answer.status_code == 403 and "another origin" in answer.text
    assert no_fault_is_active(open_mock)


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]
)
def test_a_body_that_is_not_json_is_refused_csrf(open_mock: Server, content_type: str) -> None:
    answer = admin(
        open_mock,
        "POST",
        "/faults",
        content=b'{"fault": "429", "count": 1}',
        headers={"Content-Type": content_type},
    )
    assert answer.status_code == 400 and "application/json" in answer.text
    assert no_fault_is_active(open_mock)
    # A JSON body without a Content-Type at all is refused too; a bodiless POST is fine.
    assert admin(open_mock, "POST", "/faults", content=b'{"fault": "429"}').status_code == 400
    assert admin(open_mock, "POST", "/reset").status_code == 200


def test_a_same_origin_json_request_still_works(open_mock: Server) -> None:
    answer = admin(open_mock, "POST", "/faults", json=FAULT, headers={"Origin": open_mock.url})
    assert answer.status_code == 200
    assert admin(open_mock, "DELETE", "/faults").status_code == 200


def test_a_huge_admin_body_is_refused_unread(open_mock: Server) -> None:
    answer = admin(open_mock, "POST", "/faults", content=b"{" + b" " * (1024 * 1024) + b"}", headers=AUTH)
    assert answer.status_code == 413


def test_a_webhook_cannot_steer_the_mock_through_its_own_admin() -> None:
    # Webhooks may go to loopback, where /__admin is: a task naming /__admin/reset as its
    # webhookURL (sent by any caller, a web page's no-cors POST included) reset the mock.
    with spawn_mock() as mock:
        assert admin(mock, "POST", "/faults", json={"latencyMs": 5}).status_code == 200
        hook = mock.url + "/__admin/reset"
        answer = httpx.post(mock.url + "/v1", json=[task(webhookURL=hook)], headers=AUTH, timeout=30)
        assert answer.status_code == 200
        deadline = time.monotonic() + 20
        attempts: list[dict] = []
        while not attempts and time.monotonic() < deadline:
            deliveries = admin(mock, "GET", "/deliveries").json()["deliveries"]
            attempts = [a for d in deliveries for a in d["attempts"]]
            time.sleep(0.05)
        assert attempts and all(a.get("status") == 403 for a in attempts)
        assert admin(mock, "GET", "/faults").json()["active"] is not None  # not reset


def test_with_require_key_admin_needs_that_key(keyed_mock: Server) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {KEY}"}):
        answer = admin(keyed_mock, "GET", "/requests", headers=headers)
        assert answer.status_code == 401 and answer.json()["errors"][0]["code"] == "invalidApiKey"
        assert KEY not in answer.text
    assert admin(keyed_mock, "GET", "/requests", headers=AUTH).status_code == 200


def test_a_separate_admin_key_and_the_handle_uses_it() -> None:
    with spawn_mock("--require-key", KEY, "--admin-key", ADMIN_KEY) as mock:
        assert admin(mock, "GET", "/requests", headers=AUTH).status_code == 401
        ok = admin(mock, "GET", "/requests", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
        assert ok.status_code == 200
        with httpx.Client(timeout=10) as http:
            handle = MockHandle(
                url=mock.url, config=MockConfig(require_key=KEY, admin_key=ADMIN_KEY), http=http
            )
            handle.clear_requests()
            handle.fault("429")
            assert httpx.post(mock.url + "/v1", json=[task()], headers=AUTH, timeout=30).status_code == 429
            assert [e["status"] for e in handle.requests()] == [429]
        assert ADMIN_KEY not in mock.log_text()


def test_the_admin_key_can_come_from_the_environment() -> None:
    from mock_api.testing import quiet_env

    with spawn_mock(env=quiet_env(MOCK_ADMIN_KEY=ADMIN_KEY)) as mock:
        assert admin(mock, "GET", "/requests").status_code == 401
        assert (
            admin(mock, "GET", "/requests", headers={"Authorization": f"Bearer {ADMIN_KEY}"}).status_code
            == 200
        )


def test_the_clock_is_bounded_per_call_and_in_all(open_mock: Server) -> None:
    assert admin(open_mock, "POST", "/clock", json={"advance": MAX_ADVANCE_S + 1}).status_code == 400
    steps = int(MAX_OFFSET_S // MAX_ADVANCE_S)
    for _ in range(steps):
        assert admin(open_mock, "POST", "/clock", json={"advance": MAX_ADVANCE_S}).status_code == 200
    over = admin(open_mock, "POST", "/clock", json={"advance": 1})
    assert over.status_code == 400 and "at most" in over.text
    assert admin(open_mock, "POST", "/reset").status_code == 200
    assert admin(open_mock, "POST", "/clock", json={"advance": 1}).json() == {"offset": 1.0}


def test_in_process_the_address_it_was_reached_on_is_its_own_host() -> None:
    # httpx's ASGI transport and Starlette's TestClient put the URL's host in the scope.
    with TestClient(create_app(MockConfig()), base_url="http://mock.local") as client:
        assert client.get("/__admin/requests").status_code == 200
        assert client.get("/__admin/requests", headers={"Host": "evil.example"}).status_code == 403


async def test_from_another_machine_admin_needs_a_key() -> None:
    # What --host 0.0.0.0 exposes: a client elsewhere can forge a loopback Host header,
    # so without a key the admin routes answer only peers on this machine.
    async def status(config: MockConfig, headers: dict[str, str]) -> int:
        transport = httpx.ASGITransport(app=create_app(config), client=("192.0.2.7", 5555))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8808") as client:
            return (await client.get("/__admin/requests", headers=headers)).status_code

    assert await status(MockConfig(), {}) == 403
    assert await status(MockConfig(require_key=KEY), {}) == 401
    assert await status(MockConfig(require_key=KEY), AUTH) == 200
    assert await status(MockConfig(admin_key=ADMIN_KEY), {"Authorization": f"Bearer {ADMIN_KEY}"}) == 200
