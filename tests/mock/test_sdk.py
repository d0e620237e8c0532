"""The official Runware SDK (``runware-sdk`` on PyPI) generating GLM-Image images on the mock.

Configured only with ``http_base_url`` / ``ws_base_url``: REST with its default
async delivery and getResponse polling, REST sync, and the WebSocket transport
(sync and async); ``media_storage`` and ``account_management``; a 402 as the SDK's
final ``quota`` error (a 403 as ``auth``), tried once; and a dropped socket that the SDK
reconnects with its connectionSessionUUID, which the mock resumes. A guard makes any
attempt to reach a non-loopback host fail the test, so the SDK's optional calls home
(schema registry, validation) would show.
"""

from __future__ import annotations

import asyncio
import base64
import io
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from PIL import Image

runware = pytest.importorskip("runware")
from runware import Runware  # noqa: E402

from api_schema import MODEL_ID, ImageInferenceResult, MediaStorageResult  # noqa: E402
from api_schema import errors as E  # noqa: E402
from mock_api import MockConfig  # noqa: E402
from mock_api.testing import AUTH, KEY, run_mock_server  # noqa: E402

LOOPBACK = {"127.0.0.1", "::1", "localhost"}
CALL_TIMEOUT_S = 60


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    real = socket.getaddrinfo

    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name not in LOOPBACK:
            raise AssertionError(f"the SDK tried to reach {name!r}")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    # A little simulated time, so the SDK really polls and the WebSocket really waits.
    with run_mock_server(MockConfig(random_seed=11, speed=0.02, require_key=KEY)) as base:
        yield base


def params(**extra: Any) -> dict[str, Any]:
    return {
        "taskType": "imageInference",
        "taskUUID": str(uuid.uuid4()),
        "model": MODEL_ID,
        "positivePrompt": 'A neon sign over a noodle bar that reads "OPEN ALL NIGHT"',
        "width": 512,
        "height": 384,
        "steps": 8,
        **extra,
    }


def sdk(url: str, transport: str) -> Runware:
    return Runware(
        api_key=KEY,
        transport=transport,
        http_base_url=url + "/v1",
        ws_base_url=url.replace("http://", "ws://") + "/v1",
        retry_delay=10,
        max_retries=1,
        timeout=CALL_TIMEOUT_S * 1000,
        poll_timeout=CALL_TIMEOUT_S * 1000,
    )


def check(results: list[dict[str, Any]], p: dict[str, Any], count: int) -> None:
    assert len(results) == count
    parsed = [
        ImageInferenceResult.model_validate({k: v for k, v in r.items() if k != "status"}) for r in results
    ]
    assert {r.task_uuid for r in parsed} == {p["taskUUID"]}
    assert len({r.image_uuid for r in parsed}) == count


async def test_rest_default_async_delivery_polls_get_response(url: str) -> None:
    p = params(numberResults=3, includeCost=True)
    seen: list[str] = []
    async with sdk(url, "rest") as client:
        options = runware.RunOptions(on_result=lambda item: seen.append(item["imageUUID"]))
        results = await asyncio.wait_for(client.run(p, options), CALL_TIMEOUT_S)
    check(results, p, 3)
    assert sorted(seen) == sorted(r["imageUUID"] for r in results)
    assert all(r["cost"] > 0 for r in results)
    # What the SDK sent, as the journal saw it: async delivery, then getResponse polls.
    journal = httpx.get(url + "/__admin/requests", headers=AUTH, timeout=10).json()["requests"]
    sent = [e for e in journal if e["body"]]
    mine = [e["body"][0] for e in sent if e["body"][0].get("taskUUID") == p["taskUUID"]]
    assert mine[0]["deliveryMethod"] == "async" and mine[0]["taskType"] == "imageInference"
    assert {m["taskType"] for m in mine[1:]} == {"getResponse"}
    assert KEY not in str(sent)


async def test_rest_sync_delivery(url: str) -> None:
    p = params(deliveryMethod="sync", numberResults=2, outputType="base64Data", outputFormat="PNG")
    async with sdk(url, "rest") as client:
        results = await asyncio.wait_for(client.run(p), CALL_TIMEOUT_S)
    check(results, p, 2)
    assert all(r["imageBase64Data"] for r in results)


@pytest.mark.parametrize("delivery", ["sync", "async"])
async def test_websocket_transport(url: str, delivery: str) -> None:
    p = params(deliveryMethod=delivery, numberResults=2)
    async with sdk(url, "websocket") as client:
        results = await asyncio.wait_for(client.run(p), CALL_TIMEOUT_S)
        check(results, p, 2)
        # The same socket serves more tasks: an upload, then a generation using it.
        picture = httpx.get(results[0]["imageURL"], timeout=30).content
        uploaded = await asyncio.wait_for(
            client.image_upload({"image": "data:image/jpeg;base64," + base64.b64encode(picture).decode()}),
            CALL_TIMEOUT_S,
        )
        ref = params(deliveryMethod=delivery, inputs={"referenceImages": [uploaded[0]["imageUUID"]]})
        check(await asyncio.wait_for(client.run(ref), CALL_TIMEOUT_S), ref, 1)


async def test_sdk_surfaces_mock_errors(url: str) -> None:
    async with sdk(url, "rest") as client:
        with pytest.raises(runware.RunwareError) as caught:
            await asyncio.wait_for(client.run(params(width=100, height=100)), CALL_TIMEOUT_S)
        # The SDK files invalid<Parameter> codes under its own "validation" code.
        assert caught.value.parameter == "width" and caught.value.status_code == 400
        assert "between 128 and 2048" in caught.value.message
        # Width and height are required on the wire: the SDK's own types say so, and the mock refuses.
        sizeless = {k: v for k, v in params().items() if k not in ("width", "height")}
        with pytest.raises(runware.RunwareError) as caught:
            await asyncio.wait_for(client.run(sizeless), CALL_TIMEOUT_S)
        assert caught.value.code == "validation" and caught.value.parameter == "width"
        assert caught.value.message == "Missing required parameter 'width'."
    bad_key = Runware(api_key="nope", transport="websocket", ws_base_url=url.replace("http", "ws") + "/v1")
    with pytest.raises(runware.RunwareError) as caught:
        await asyncio.wait_for(bad_key.connect(), CALL_TIMEOUT_S)
    assert caught.value.code == "auth" and caught.value.message == E.INVALID_API_KEY_MESSAGE
    await bad_key.close()


async def test_sdk_retries_an_injected_rate_limit(url: str) -> None:
    spec = {"fault": "429", "count": 1, "retryAfter": 0}
    httpx.post(url + "/__admin/faults", json=spec, headers=AUTH, timeout=10).raise_for_status()
    p = params(deliveryMethod="sync")
    async with sdk(url, "rest") as client:
        check(await asyncio.wait_for(client.run(p), CALL_TIMEOUT_S), p, 1)
    assert httpx.get(url + "/__admin/faults", headers=AUTH, timeout=10).json()["active"]["remaining"] == 0
    httpx.delete(url + "/__admin/faults", headers=AUTH, timeout=10).raise_for_status()


def tiny_png() -> str:
    buf = io.BytesIO()
    Image.new("RGB", (48, 32), "orange").save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def admin(url: str, method: str, path: str, body: Any = None) -> Any:
    answer = httpx.request(method, url + "/__admin" + path, json=body, headers=AUTH, timeout=10)
    answer.raise_for_status()
    return answer.json()


@pytest.mark.parametrize("transport", ["rest", "websocket"])
async def test_media_storage_upload_reference_and_delete(url: str, transport: str) -> None:
    async with sdk(url, transport) as client:
        [stored] = await asyncio.wait_for(
            client.media_storage({"operation": "upload", "media": tiny_png()}), CALL_TIMEOUT_S
        )
        media = MediaStorageResult.model_validate(stored)
        assert media.operation == "upload" and httpx.get(media.media_url or "", timeout=30).status_code == 200
        ref = params(deliveryMethod="sync", inputs={"referenceImages": [media.media_uuid]})
        check(await asyncio.wait_for(client.run(ref), CALL_TIMEOUT_S), ref, 1)
        [deleted] = await asyncio.wait_for(
            client.media_storage({"operation": "delete", "mediaUUID": media.media_uuid}), CALL_TIMEOUT_S
        )
        assert (deleted["operation"], deleted["mediaUUID"]) == ("delete", media.media_uuid)
        assert httpx.get(media.media_url or "", timeout=30).status_code == 404
        # A URL is taken as it is, never fetched (the guard above would fail the test).
        [by_url] = await asyncio.wait_for(
            client.media_storage({"operation": "upload", "media": "https://cdn.example.com/p.png"}),
            CALL_TIMEOUT_S,
        )
        assert by_url["mediaUUID"] != media.media_uuid


@pytest.mark.parametrize("transport", ["rest", "websocket"])
async def test_account_management_reports_the_balance(url: str, transport: str) -> None:
    async with sdk(url, transport) as client:
        [details] = await asyncio.wait_for(
            client.account_management({"operation": "getDetails"}), CALL_TIMEOUT_S
        )
    assert details["operation"] == "getDetails" and details["currency"] == "USD"
    assert details["balance"] == admin(url, "GET", "/account")["balance"] > 0


def attempts(url: str, task_uuid: str) -> int:
    return sum(
        1
        for e in admin(url, "GET", "/requests")["requests"]
        if isinstance(e["body"], list) and any(t.get("taskUUID") == task_uuid for t in e["body"])
    )


@pytest.mark.parametrize("transport", ["rest", "websocket"])
async def test_an_empty_balance_is_a_final_quota_error(url: str, transport: str) -> None:
    admin(url, "POST", "/account", {"balance": 0})
    try:
        p = params(deliveryMethod="sync")
        async with sdk(url, transport) as client:
            with pytest.raises(runware.RunwareError) as caught:
                await asyncio.wait_for(client.run(p), CALL_TIMEOUT_S)
            [details] = await client.account_management({"operation": "getDetails"})
    finally:
        admin(url, "DELETE", "/account")
    error = caught.value
    assert (error.code, error.retryable) == ("quota", False)
    assert error.message == "Your account balance is insufficient" and error.task_uuid == p["taskUUID"]
    assert error.status_code == (402 if transport == "rest" else None)
    assert details["balance"] == 0
    assert attempts(url, p["taskUUID"]) == 1  # not retried


@pytest.mark.parametrize(("fault", "code"), [("402", "quota"), ("403", "auth")])
async def test_injected_402_and_403_are_not_retried(url: str, fault: str, code: str) -> None:
    admin(url, "POST", "/faults", {"fault": fault, "count": 3})
    try:
        p = params(deliveryMethod="sync")
        async with sdk(url, "rest") as client:
            with pytest.raises(runware.RunwareError) as caught:
                await asyncio.wait_for(client.run(p), CALL_TIMEOUT_S)
        remaining = admin(url, "GET", "/faults")["active"]["remaining"]
    finally:
        admin(url, "DELETE", "/faults")
    assert (caught.value.code, caught.value.retryable, caught.value.status_code) == (code, False, int(fault))
    assert remaining == 2  # one attempt used one fault


async def test_a_dropped_socket_is_resumed_with_its_session_uuid() -> None:
    # A mock of its own, so its one session and its journal are this test's alone.
    with run_mock_server(MockConfig(random_seed=12, speed=0.5, require_key=KEY)) as base:
        p = params(deliveryMethod="async", numberResults=3)

        async def drop_once_the_task_is_in() -> None:
            deadline = asyncio.get_running_loop().time() + CALL_TIMEOUT_S
            while attempts(base, p["taskUUID"]) == 0:
                assert asyncio.get_running_loop().time() < deadline, "the SDK never sent the task"
                await asyncio.sleep(0.05)
            assert admin(base, "POST", "/disconnect")["closed"] == 1

        async with sdk(base, "websocket") as client:
            dropper = asyncio.ensure_future(drop_once_the_task_is_in())
            results = await asyncio.wait_for(client.run(p), CALL_TIMEOUT_S)
            await dropper
        check(results, p, 3)
        [session] = admin(base, "GET", "/sessions")["sessions"]
        auths = [
            e["body"][0]
            for e in admin(base, "GET", "/requests")["requests"]
            if e["transport"] == "ws" and e["body"][0]["taskType"] == "authentication"
        ]
    # The SDK came back with the session it had, and the mock resumed that one session.
    assert len(auths) >= 2 and "connectionSessionUUID" not in auths[0]
    assert {a["connectionSessionUUID"] for a in auths[1:]} == {session["connectionSessionUUID"]}
    assert session["resumed"] == len(auths) - 1 >= 1
