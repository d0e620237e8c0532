"""The app against a hostile visitor (issue 13, "The app"): its disk stays within a budget,
and its in-process mock calls nowhere a visitor names.

Against the real app (``python app.py``) with its temporary folders in this test's
own folder; plus the budget itself on files made here.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import httpx
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError, ValidationError

from api_schema import MODEL_ID
from demo.ui.disk import DiskBudget
from tests.support.appserver import run_app
from tests.support.receiver import run_receiver

MB = 1024 * 1024


def folder_bytes(*folders: Path) -> int:
    return sum(p.stat().st_size for f in folders if f.exists() for p in f.rglob("*") if p.is_file())


def test_the_budget_removes_the_oldest_files_first_and_follows_no_links(tmp_path: Path):
    results, cache, outside = tmp_path / "results", tmp_path / "cache", tmp_path / "outside"
    for folder in (results, cache, outside):
        folder.mkdir()
    precious = outside / "keep.bin"
    precious.write_bytes(b"x" * MB)
    (cache / "link.bin").symlink_to(precious)
    now = time.time()
    for n in range(10):  # 10 files of 1 MB, n = 0 the oldest
        path = (results if n % 2 else cache) / f"run{n}" / "image.png"
        path.parent.mkdir()
        path.write_bytes(b"x" * MB)
        os.utime(path, (now - 100 + n, now - 100 + n))
    removed = DiskBudget([results, cache], max_bytes=4 * MB).enforce()
    assert removed == 6 * MB
    left = sorted(p.parent.name for f in (results, cache) for p in f.rglob("image.png"))
    assert left == ["run6", "run7", "run8", "run9"]
    assert precious.exists() and (cache / "link.bin").is_symlink()
    assert not (results / "run1").exists()  # emptied folders go too


def test_a_sweep_under_way_is_not_doubled(tmp_path: Path):
    budget = DiskBudget([tmp_path], max_bytes=1)
    (tmp_path / "a").write_bytes(b"xx")
    with budget._lock:  # another generation's sweep is running
        assert budget.enforce() == 0 and (tmp_path / "a").exists()
    assert budget.enforce() == 2


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_repeated_big_runs_keep_the_apps_disk_within_its_budget(tmp_path: Path):
    budget_mb = 8
    env = {"TMPDIR": str(tmp_path), "GLM_IMAGE_DISK_MB": str(budget_mb), "GLM_IMAGE_TEXT_CHECK": "0"}
    ours, gradio_cache = tmp_path / "glm-image-demo", tmp_path / "gradio"
    sizes = []
    with run_app(**env) as url:
        client = Client(url, verbose=False, download_files=False)
        for run in range(5):
            client.predict(
                positive_prompt=f'Run {run}: a poster that reads "DISK {run}"',
                width=1536,
                height=1536,
                number_results=8,
                output_format="PNG",
                randomize_seed=True,
                api_name="/generate",
            )
            sizes.append(folder_bytes(ours, gradio_cache))
        client.close()
    added = [b - a for a, b in zip([0, *sizes], sizes, strict=False)]
    per_run = max(added)
    # Without a budget the folders grow by a run's worth every run; with it they stay
    # within the budget plus the run that was added after the last sweep.
    assert sum(a for a in added if a > 0) > budget_mb * MB, sizes  # the runs wrote more than the budget
    assert sizes[-1] <= budget_mb * MB + per_run, [s // MB for s in sizes]


@pytest.mark.timeout(300)
def test_the_apps_mock_sends_nothing_a_visitor_points_it_at(tmp_path: Path):
    """SSRF: a visitor's webhook URL or upload endpoint on the Space's own loopback is
    refused next to its field, over /generate and over the app's own /v1, and no request
    reaches the listener."""
    form = {
        "positive_prompt": 'A sign that reads "HELLO"',
        "width": 256,
        "height": 256,
        "randomize_seed": True,
        "number_results": 1,
        "delivery_method": "sync",
    }
    with run_receiver() as listener, run_app(tmp_path / "app.log", GLM_IMAGE_TEXT_CHECK="0") as url:
        client = Client(url, verbose=False, download_files=False)
        for name, wire in (("webhook_url", "webhookURL"), ("upload_endpoint", "uploadEndpoint")):
            with pytest.raises((ValidationError, AppError)) as info:
                client.predict(**form, **{name: f"{listener.url}/{name}"}, api_name="/generate")
            message = str(info.value)
            assert f"'{wire}'" in message and "does not deliver" in message, message
            assert "Traceback" not in message
        for wire in ("webhookURL", "uploadEndpoint"):
            task = {
                "taskType": "imageInference",
                "taskUUID": str(uuid.uuid4()),
                "model": MODEL_ID,
                "positivePrompt": "a quiet street",
                "width": 256,
                "height": 256,
                wire: f"{listener.url}/raw",
            }
            answer = httpx.post(url + "/v1", json=[task], headers={"Authorization": "Bearer x"}, timeout=30)
            assert answer.status_code == 400, answer.text
            [error] = answer.json()["errors"]
            assert error["parameter"] == wire and "does not deliver" in error["message"]
        time.sleep(1)  # anything sent in the background would have arrived by now
        assert listener.hits == []
