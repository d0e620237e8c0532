"""Issue 7 end to end: record through the client against one mock (standing in for
live), then replay with a second one started as a user would, ``python -m mock_api
--replay DIR --strict``. The answers match and the image bytes are identical."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

import api_schema
from demo.client import Recorder, RunwareClient, ValidationFailed
from mock_api import MockConfig
from mock_api.testing import (
    ROOT,
    free_port,
    run_mock_server,
    spawn_mock,
)

KEY = "rw-record-replay-test-key-5d1e"

REQUESTS = [
    {"positivePrompt": 'A bakery sign that reads "FRESH BREAD"', "width": 512, "height": 384, "seed": 11},
    {
        "positivePrompt": 'A museum plaque reading "HALL OF MAPS"',
        "width": 640,
        "height": 640,
        "seed": 12,
        "steps": 40,
        "CFGScale": 7.5,
        "numberResults": 2,
        "outputFormat": "PNG",
        "includeCost": True,
    },
    {
        "positivePrompt": "A quiet harbour at dusk with a lighthouse",
        "width": 768,
        "height": 512,
        "seed": 13,
        "outputType": "base64Data",
        "outputFormat": "WEBP",
    },
]


@contextlib.contextmanager
def mock_cli(*args: str) -> Iterator[str]:
    """``python -m mock_api`` in a subprocess on a free loopback port."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with spawn_mock(*args, env=env, timeout=30) as server:
        yield server.url


def _summary(gen) -> list[tuple]:
    return [(i.image_uuid, i.seed, i.cost, i.format, i.item.output_type) for i in gen]


async def test_a_recording_made_against_one_mock_replays_identically_from_another(tmp_path):
    record_dir = tmp_path / "recording"
    recorded = []
    with run_mock_server(MockConfig(random_seed=3)) as live_url:
        async with RunwareClient(live_url + "/v1", KEY, observers=[Recorder(record_dir)]) as client:
            for request in REQUESTS:
                recorded.append(await client.generate(dict(request)))

    exchanges = sorted(p for p in record_dir.iterdir() if not p.name.startswith("."))
    assert len(exchanges) == len(REQUESTS)
    for folder in exchanges:
        api_schema.load_exchange(folder / "exchange.json")
    written = b"".join(p.read_bytes() for p in record_dir.rglob("*") if p.is_file())
    assert KEY.encode() not in written and b"Authorization" not in written

    with mock_cli("--replay", str(record_dir), "--strict") as replay_url:
        async with RunwareClient(replay_url + "/v1", "any-other-key") as client:
            for request, original in zip(REQUESTS, recorded, strict=True):
                replayed = await client.generate(dict(request))
                assert _summary(replayed) == _summary(original)
                assert [i.data for i in replayed] == [i.data for i in original]
                assert replayed.task_uuid != original.task_uuid
                assert all(i.item.task_uuid == replayed.task_uuid for i in replayed)

            # A QA suite notices drift: an unrecorded request is a clear error under --strict.
            with pytest.raises(ValidationFailed) as err:
                await client.generate(dict(REQUESTS[0], seed=999))
            assert err.value.code == api_schema.errors.NO_RECORDED_RESPONSE
            assert "seed" in err.value.message


def test_a_corrupt_recording_is_named_at_start_up(tmp_path):
    broken = tmp_path / "rec" / "20261125T120000Z-broken"
    broken.mkdir(parents=True)
    (broken / "exchange.json").write_text('{"request": {"taskType": "imageInference"', encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "mock_api", "--port", str(free_port()), "--replay", str(tmp_path / "rec")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert str(broken / "exchange.json") in done.stderr + done.stdout
    assert "Traceback" not in done.stderr
