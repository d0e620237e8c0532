"""``--replay`` of a shared recording folder: only regular files inside it are read.

Before: an image that is a FIFO hung start-up; one linked to /dev/zero read until
MemoryError; a symbolic link out of the folder was followed and served; a 300 MB
image was accepted and read again on every uncached GET. Now each stops start-up
with exit status 2 and a message naming the file, in bounded time and memory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from mock_api.testing import ROOT, quiet_env, spawn_mock
from tests.mock.test_mock_replay import UUIDS, request, write_exchange
from tests.support.hostile import MB, RssWatch

START_LIMIT_S = 60


def run_cli(*args: str) -> tuple[int, str, RssWatch]:
    """``python -m mock_api --replay ...`` to its exit (killed past the time or memory bound)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "mock_api", "--port", "1", *args],
        cwd=ROOT,
        env=quiet_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    with RssWatch(proc.pid) as watch:
        try:
            _, err = proc.communicate(timeout=START_LIMIT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
            pytest.fail(f"start-up hung for {START_LIMIT_S} s: {err[-500:]}")
    assert not watch.killed, f"start-up took more than the memory bound: {watch}"
    return proc.returncode, err, watch


def image_of(folder: Path, n: int = 0) -> Path:
    return folder / f"{UUIDS[n]}.jpg"


def replace_with(path: Path, make) -> Path:
    path.unlink()
    make(path)
    return path


@pytest.mark.parametrize(
    "kind",
    [
        "fifo-image",
        "dev-zero-image",
        "link-out-of-folder",
        "huge-image",
        "fifo-exchange-json",
        "linked-folder",
    ],
)
def test_an_unsafe_file_in_a_recording_stops_start_up_naming_it(tmp_path: Path, kind: str) -> None:
    outside = tmp_path / "outside.jpg"
    outside.write_bytes(image_of(write_exchange(tmp_path / "donor")).read_bytes())
    exchange = write_exchange(tmp_path / "rec" / "ex1")
    named = image_of(exchange)
    if kind == "fifo-image":
        replace_with(named, os.mkfifo)
    elif kind == "dev-zero-image":
        replace_with(named, lambda p: p.symlink_to("/dev/zero"))
    elif kind == "link-out-of-folder":
        replace_with(named, lambda p: p.symlink_to(outside))
    elif kind == "huge-image":
        with open(named, "r+b") as f:  # sparse: 300 MB on paper, nothing on disk
            f.truncate(300 * MB)
    elif kind == "fifo-exchange-json":
        named = replace_with(exchange / "exchange.json", os.mkfifo)
    elif kind == "linked-folder":
        elsewhere = write_exchange(tmp_path / "elsewhere" / "ex2")
        named = tmp_path / "rec" / "ex2"
        named.symlink_to(elsewhere, target_is_directory=True)
    code, err, watch = run_cli("--replay", str(tmp_path / "rec"))
    assert code == 2, err
    assert str(named) in err and "Traceback" not in err, err
    assert watch.growth_mb < 200, str(watch)


def test_the_image_size_cap_is_a_flag(tmp_path: Path) -> None:
    folder = write_exchange(tmp_path / "rec" / "ex1")
    with open(image_of(folder), "r+b") as f:
        f.truncate(2 * MB)
    code, err, _ = run_cli("--replay", str(tmp_path / "rec"), "--max-recorded-image-mb", "1")
    assert code == 2 and "over the 1 MB limit" in err, err


def test_a_file_swapped_for_a_fifo_after_start_up_is_not_served(tmp_path: Path) -> None:
    folder = write_exchange(tmp_path / "rec" / "ex1")
    with spawn_mock("--replay", str(tmp_path / "rec"), "--cache-mb", "1") as mock:
        req = request(outputFormat="JPG", taskUUID=str(uuid.uuid4()))
        answer = httpx.post(mock.url + "/v1", json=[req], headers={"Authorization": "Bearer k"}, timeout=30)
        url = answer.json()["data"][0]["imageURL"]
        replace_with(image_of(folder), os.mkfifo)
        # URL output renders on the first GET: the file is read now, and is a FIFO now.
        got = httpx.get(url, timeout=30)  # a hang would be a ReadTimeout
        assert got.status_code == 404, got.text
        assert httpx.get(mock.url + "/health", timeout=10).status_code == 200
        assert "Traceback" not in mock.log_text()


def test_a_recording_within_the_limits_still_replays(tmp_path: Path) -> None:
    write_exchange(tmp_path / "rec" / "ex1")
    doc = json.loads((tmp_path / "rec" / "ex1" / "exchange.json").read_text())
    with spawn_mock("--replay", str(tmp_path / "rec")) as mock:
        req = {**doc["request"], "taskUUID": str(uuid.uuid4())}
        answer = httpx.post(mock.url + "/v1", json=[req], headers={"Authorization": "Bearer k"}, timeout=30)
        assert [i["imageUUID"] for i in answer.json()["data"]] == UUIDS[:2]


def _with_extra(exchange: Path, text: str) -> None:
    """The recorded exchange with one more top-level field, ``text`` as its raw JSON."""
    doc = exchange.read_text()
    exchange.write_text(doc[: doc.rindex("}")] + ', "extra": ' + text + "}")


@pytest.mark.parametrize(
    "kind",
    [
        "nested-100k",
        "nested-5000",
        "nested-40",
        "digits-5000",
        "nan-cost",
        "infinity",
        "huge-float",
        "braces-40mb",
    ],
)
def test_a_recording_json_cannot_read_stops_start_up_naming_it(tmp_path: Path, kind: str) -> None:
    # Before: 100k deep exited 1 with a RecursionError traceback; 5000 digits exited 2 without
    # naming the file; NaN, Infinity and 1e999 were loaded and served as "cost": null; 40 MB of
    # {} took start-up to ~1 GB (256 MB of them would have been ~6 GB).
    exchange = write_exchange(tmp_path / "rec" / "ex1") / "exchange.json"
    if kind == "nested-100k":
        _with_extra(exchange, "[" * 100_000 + "]" * 100_000)
    elif kind == "nested-5000":  # under the value count: json's own recursion limit
        _with_extra(exchange, "[" * 5000 + "]" * 5000)
    elif kind == "nested-40":  # json reads it; an answer nesting ~1000 deep could not be encoded
        _with_extra(exchange, "[" * 40 + "]" * 40)
    elif kind == "digits-5000":
        _with_extra(exchange, "4" * 5000)
    elif kind in ("nan-cost", "infinity", "huge-float"):
        value = {"nan-cost": "NaN", "infinity": "-Infinity", "huge-float": "1e999"}[kind]
        exchange.write_text(exchange.read_text().replace('"cost": 0.0123', f'"cost": {value}'))
    elif kind == "braces-40mb":
        _with_extra(exchange, "[" + "{}," * (40 * MB // 3) + "{}]")
    code, err, watch = run_cli("--replay", str(tmp_path / "rec"))
    assert code == 2, err
    assert str(exchange) in err and "Traceback" not in err, err
    assert watch.growth_mb < 200, str(watch)


def test_an_exchange_json_over_its_cap_is_not_read(tmp_path: Path) -> None:
    exchange = write_exchange(tmp_path / "rec" / "ex1") / "exchange.json"
    with open(exchange, "r+b") as f:  # sparse: 300 MB on paper, nothing on disk
        f.truncate(300 * MB)
    code, err, watch = run_cli("--replay", str(tmp_path / "rec"))
    assert code == 2 and str(exchange) in err and "over the 64 MB limit" in err, err
    assert watch.growth_mb < 200, str(watch)
