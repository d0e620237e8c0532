"""The recorder: every exchange lands as <dir>/<name>/exchange.json + image files,
atomically, with no secret in it, and the mock replays what was recorded."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest
import respx

import api_schema
from demo.backend import make_backend
from demo.client import PollPolicy, Recorder, RunwareClient, recorder
from demo.settings import Settings
from mock_api import MockConfig, create_app
from tests.support.fakes import LIVE_URL, FakeRunware

KEY = "record-key-abcdef0123456789"
PROMPT = 'A ferry timetable board that reads "LAST BOAT 23:40", dusk light, long exposure, harbour lamps'


@pytest.fixture
def fake():
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        yield FakeRunware(KEY).install(router)


def exchanges(root: Path) -> list[Path]:
    return sorted(root.glob("*/exchange.json"))


def all_bytes(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())


async def test_records_each_exchange_with_its_images(fake, tmp_path):
    rec = tmp_path / "rec"
    async with RunwareClient(LIVE_URL, KEY, observers=[Recorder(rec)], polling=PollPolicy(initial=0.01)) as c:
        url_gen = await c.generate(
            {"positivePrompt": PROMPT, "width": 256, "height": 256, "seed": 5, "numberResults": 2}
        )
        b64_gen = await c.generate(
            {
                "positivePrompt": "Two words",
                "outputType": "base64Data",
                "outputFormat": "PNG",
                "includeCost": True,
            }
        )
        async_gen = await c.generate({"positivePrompt": "Async one", "deliveryMethod": "async"})
    found = exchanges(rec)
    assert len(found) == 3
    by_uuid = {}
    for path in found:
        doc = api_schema.load_exchange(path)
        by_uuid[doc["request"]["taskUUID"]] = (path.parent, doc)
        assert path.parent.name.endswith(doc["request"]["taskUUID"][:8])
        assert datetime.fromisoformat(doc["recordedAt"].replace("Z", "+00:00")).tzinfo is not None
        for item in doc["response"]["data"]:
            api_schema.ImageInferenceResult.model_validate(item)
            assert "status" not in item
    for gen in (url_gen, b64_gen, async_gen):
        folder, doc = by_uuid[gen.task_uuid]
        assert doc["request"] == gen.request
        assert doc["title"] == gen.request["positivePrompt"][:60]
        assert doc["images"] == {img.image_uuid: img.filename for img in gen}
        for img in gen:
            assert (folder / img.filename).read_bytes() == img.data  # exactly as received
    assert len(by_uuid[url_gen.task_uuid][1]["title"]) == 60
    # Nothing secret, nothing half-written.
    blob = all_bytes(rec)
    assert KEY.encode() not in blob and b"Authorization" not in blob and b"Bearer" not in blob
    assert not [p for p in rec.iterdir() if p.name.startswith(".tmp-")]


async def test_interrupted_write_leaves_no_exchange(fake, tmp_path, monkeypatch):
    rec = tmp_path / "rec"

    def boom(*a, **kw):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(recorder, "exchange_document", boom)
    async with RunwareClient(LIVE_URL, KEY, observers=[Recorder(rec)]) as c:
        gen = await c.generate({"positivePrompt": PROMPT})
    assert len(gen) == 1  # a failed recording does not cost the user the image
    assert list(rec.iterdir()) == []

    def interrupted(*a, **kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(recorder, "exchange_document", interrupted)
    with pytest.raises(KeyboardInterrupt):
        recorder.record_exchange(rec, gen)
    assert list(rec.iterdir()) == []


async def test_same_second_same_task_prefix_gets_a_fresh_name(fake, tmp_path):
    async with RunwareClient(LIVE_URL, KEY) as c:
        gen = await c.generate({"positivePrompt": PROMPT})
    now = datetime(2026, 11, 25, 12, 0, 0, tzinfo=timezone.utc)
    first = recorder.record_exchange(tmp_path, gen, now=now)
    second = recorder.record_exchange(tmp_path, gen, now=now)
    assert first.name == f"20261125T120000Z-{gen.task_uuid[:8]}"
    assert second.name == first.name + "-1"
    assert json.loads((second / "exchange.json").read_text())["recordedAt"] == "2026-11-25T12:00:00Z"


async def test_recording_replays_through_the_mock(fake, tmp_path):
    """Record against 'live', replay offline: the mock answers with what was recorded."""
    rec = tmp_path / "rec"
    request = {
        "positivePrompt": PROMPT,
        "width": 320,
        "height": 256,
        "seed": 99,
        "steps": 30,
        "CFGScale": 6.5,
    }
    async with RunwareClient(LIVE_URL, KEY, observers=[Recorder(rec)]) as c:
        live = await c.generate(dict(request, numberResults=2, outputFormat="PNG"))
    app = create_app(MockConfig(replay_dirs=[rec], strict=True))
    async with RunwareClient("http://mock.local/v1", "any", transport=httpx.ASGITransport(app=app)) as mock:
        replayed = await mock.generate(dict(request, numberResults=2, outputFormat="PNG"))
    assert [(i.image_uuid, i.seed) for i in replayed] == [(i.image_uuid, i.seed) for i in live]
    assert [i.data for i in replayed] == [i.data for i in live]
    assert replayed.task_uuid != live.task_uuid and replayed[0].item.task_uuid == replayed.task_uuid


async def test_record_dir_from_settings(tmp_path):
    settings = Settings(backend="mock", api_key=None, mock_api_url=None, record_dir=tmp_path / "r")
    async with make_backend(settings).client() as c:
        gen = await c.generate({"positivePrompt": PROMPT, "width": 128, "height": 128})
    (path,) = exchanges(tmp_path / "r")
    assert api_schema.load_exchange(path)["request"]["taskUUID"] == gen.task_uuid
    assert b"mock-key" not in all_bytes(tmp_path / "r")
