"""Load, bounded for CI: the real mock and the real app under concurrent clients.

The full-size run (50 clients x 20 sync + 100 async, 3 rounds) is
``python -m benchmarks.load``; these are the same checks at a smaller size.
"""

from __future__ import annotations

import time

import httpx
import pytest

from mock_api import MockConfig
from mock_api.testing import AUTH, run_mock_server, task
from tests.support import load
from tests.support.appserver import run_app

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


def test_sync_and_async_clients_at_once_lose_and_duplicate_nothing_and_memory_plateaus():
    report = load.run(clients=10, per_client=5, async_tasks=20, rounds=2, time_limit_s=90, echo=False)
    rounds = report["rounds"]
    for r in rounds:
        assert r["errors"] == [] and not r["timed_out"], r["errors"]
        assert r["sync_ok"] == r["sync_sent"] == 50
        assert r["async_ok"] == r["async_sent"] == 20
        assert r["images"] == 50 + 20 * load.ASYNC_IMAGES
        assert r["lost"] == 0 and r["duplicated"] == 0
        # The async tasks were really polled while processing, not found finished at once.
        assert r["polls"] > r["async_sent"]
    assert report["memory_ok"], [r["rss_mb"] for r in rounds]
    assert report["passed"]


def test_the_round_report_counts_a_missing_answer_as_lost():
    # The checker itself must be able to fail: a server that answers nothing is all loss.
    with run_mock_server(MockConfig(random_seed=1)) as url:
        import asyncio

        report = asyncio.run(load.run_round(url + "/nowhere", clients=2, per_client=2, async_tasks=1))
    assert not report.clean
    assert report.lost == 2 * 2 + load.ASYNC_IMAGES and len(report.errors) == 5


def test_eight_simultaneous_generations_through_the_app_all_complete(tmp_path):
    log = tmp_path / "app.log"
    with run_app(log) as url:
        outcomes = load.generate_through_app(url, 8, timeout_s=120)
    failed = [o for o in outcomes if not o["ok"]]
    # The failed calls' own errors and the app's last lines: a rare failure must say why.
    assert not failed, (failed, log.read_text(errors="replace")[-4000:])
    assert len(outcomes) == 8
    assert len({o["imageUUID"] for o in outcomes}) == 8
    assert [int(o["row_seed"]) for o in outcomes] == [o["seed"] for o in outcomes]


def test_a_pending_async_task_survives_newer_sync_traffic():
    with run_mock_server(MockConfig(random_seed=1, speed=1.0, max_jobs=10)) as url:
        pending = task(width=256, height=256, steps=4, deliveryMethod="async", numberResults=2)
        with httpx.Client(base_url=url, headers=AUTH, timeout=30) as client:
            assert client.post("/v1", json=[pending]).status_code == 200
            for _ in range(15):
                assert client.post("/v1", json=[task(width=256, height=256, steps=4)]).status_code == 200
            poll = [{"taskType": "getResponse", "taskUUID": pending["taskUUID"]}]
            for _ in range(100):  # bounded: ~1 s of simulated work, 10 s at most
                answer = client.post("/v1", json=poll)
                assert answer.status_code == 200, answer.text
                items = answer.json()["data"]
                if all(i["status"] == "success" for i in items):
                    break
                time.sleep(0.1)
    assert len(items) == 2 and all(i["status"] == "success" for i in items)
