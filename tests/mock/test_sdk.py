"""The official Runware SDK (``runware-sdk`` on PyPI) generating GLM-Image images on the mock.

Configured only with ``http_base_url`` / ``ws_base_url``: REST with its default
async delivery and getResponse polling, REST sync, and the WebSocket transport
(sync and async). A guard makes any attempt to reach a non-loopback host fail the
test, so the SDK's optional calls home (schema registry, validation) would show.
"""

from __future__ import annotations

import asyncio
import base64
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

runware = pytest.importorskip("runware")
from runware import Runware  # noqa: E402

from api_schema import MODEL_ID, ImageInferenceResult  # noqa: E402
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
    bad_key = Runware(api_key="nope", transport="websocket", ws_base_url=url.replace("http", "ws") + "/v1")
    with pytest.raises(runware.RunwareError):
        await asyncio.wait_for(bad_key.connect(), CALL_TIMEOUT_S)
    await bad_key.close()


async def test_sdk_retries_an_injected_rate_limit(url: str) -> None:
    spec = {"fault": "429", "count": 1, "retryAfter": 0}
    httpx.post(url + "/__admin/faults", json=spec, headers=AUTH, timeout=10).raise_for_status()
    p = params(deliveryMethod="sync")
    async with sdk(url, "rest") as client:
        check(await asyncio.wait_for(client.run(p), CALL_TIMEOUT_S), p, 1)
    assert httpx.get(url + "/__admin/faults", headers=AUTH, timeout=10).json()["active"]["remaining"] == 0
    httpx.delete(url + "/__admin/faults", headers=AUTH, timeout=10).raise_for_status()
