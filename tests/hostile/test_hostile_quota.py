"""One caller cannot take every job slot: per-key quotas on work in progress.

Before: 10 POSTs of 100 async tasks (2048 px, 999 steps, 20 results: about 40 minutes
each at the default speed) filled the shared store of 1000 jobs, and every other key
got 429 for async, webhook and WebSocket delivery until they finished. Now a key has
at most 250 unfinished jobs; past that it alone gets 429 with a Retry-After.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import httpx
import pytest
from starlette.testclient import TestClient
from websockets.asyncio.client import connect

from mock_api import MockConfig, create_app
from mock_api.testing import Server, spawn_mock, task
from tests.support.receiver import run_receiver

HOG = {"Authorization": "Bearer key-of-the-hog"}
OTHER = {"Authorization": "Bearer key-of-someone-else"}


def slow(**fields) -> dict:
    return task(width=2048, height=2048, steps=999, numberResults=20, deliveryMethod="async", **fields)


@pytest.fixture(scope="module")
def flooded() -> Iterator[tuple[Server, list[httpx.Response]]]:
    with spawn_mock() as server:  # speed 1: the jobs really take 40 minutes
        answers = [
            httpx.post(server.url + "/v1", json=[slow() for _ in range(100)], headers=HOG, timeout=60)
            for _ in range(10)
        ]
        yield server, answers


def test_the_flooding_key_gets_its_share_then_429_with_retry_after(flooded) -> None:
    _, answers = flooded
    accepted = sum(len(a.json().get("data", [])) for a in answers)
    assert accepted == 250
    last = answers[-1]
    assert last.status_code == 429
    retry_after = int(last.headers["Retry-After"])
    assert 1 <= retry_after <= 3600
    errors = last.json()["errors"]
    assert len(errors) == 100 and {e["code"] for e in errors} == {"rateLimitExceeded"}
    assert "This API key has 250 tasks in progress" in errors[0]["message"]
    assert "key-of-the-hog" not in last.text


def test_other_keys_still_get_async_webhook_and_websocket_delivery(flooded) -> None:
    server, _ = flooded
    ack = httpx.post(server.url + "/v1", json=[task(deliveryMethod="async")], headers=OTHER, timeout=30)
    assert ack.status_code == 200 and "errors" not in ack.json()
    with run_receiver() as receiver:
        hooked = httpx.post(
            server.url + "/v1", json=[task(webhookURL=receiver.url + "/hook")], headers=OTHER, timeout=30
        )
        assert hooked.status_code == 200
        assert len(receiver.wait_for(1, timeout=30)) == 1

    async def over_ws() -> dict:
        url = server.url.replace("http://", "ws://") + "/v1"
        async with connect(url, additional_headers=OTHER) as ws:
            await ws.send(json.dumps([task(deliveryMethod="async")]))
            return json.loads(await asyncio.wait_for(ws.recv(), 30))

    assert "data" in asyncio.run(over_ws())
    # The hog is still refused, over the socket too.
    assert httpx.post(server.url + "/v1", json=[slow()], headers=HOG, timeout=30).status_code == 429


def test_callers_are_told_apart_without_keeping_their_key() -> None:
    app = create_app(MockConfig(max_jobs_per_key=1))
    with TestClient(app) as client:
        for key in ("first-secret-key", "second-secret-key"):
            answer = client.post("/v1", json=[slow()], headers={"Authorization": f"Bearer {key}"})
            assert answer.status_code == 200
        again = client.post("/v1", json=[slow()], headers={"Authorization": "Bearer first-secret-key"})
        assert again.status_code == 429
        owners = {job.owner for job in app.state.mock.jobs._jobs.values()}
    assert len(owners) == 2 and not any("secret" in (owner or "") for owner in owners)
