"""Replaying recordings: matching, recorded bytes, format conversion, --strict, broken folders."""

from __future__ import annotations

import base64
import io
import json
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
from PIL import Image

from api_schema import load_examples
from mock_api import MockConfig, create_app
from mock_api.testing import run_mock_server

AUTH = {"Authorization": "Bearer test-key"}
from mock_api.testing import ROOT  # noqa: E402

UUIDS = ["11111111-2222-4333-8444-555555555555", "66666666-7777-4888-9999-aaaaaaaaaaaa"]
PROMPT = 'A chalkboard menu that reads "SOUP OF THE DAY"'


def request(**fields):
    base = {
        "taskType": "imageInference",
        "taskUUID": str(uuid.uuid4()),
        "model": "runware:glm-image@0",
        "positivePrompt": PROMPT,
        "width": 320,
        "height": 256,
        "seed": 77,
        "steps": 30,
        "CFGScale": 6.5,
        "numberResults": 2,
    }
    base.update(fields)
    return base


def jpg(color, size=(320, 256)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def write_exchange(folder: Path, req=None, *, files=True, **overrides) -> Path:
    folder.mkdir(parents=True)
    req = req or request()
    items, images = [], {}
    for n, image_uuid in enumerate(UUIDS[: req.get("numberResults", 1)]):
        items.append(
            {
                "taskType": "imageInference",
                "taskUUID": req["taskUUID"],
                "imageUUID": image_uuid,
                "imageURL": f"https://im.runware.ai/image/ws/2/ii/{image_uuid}.jpg",
                "seed": req["seed"] + n,
                "cost": 0.0123,
            }
        )
        if files:
            (folder / f"{image_uuid}.jpg").write_bytes(jpg((40 * n, 90, 160)))
            images[image_uuid] = f"{image_uuid}.jpg"
    doc = {
        "title": "Soup menu",
        "request": req,
        "response": {"data": items},
        "images": images,
        "recordedAt": "2026-11-25T12:00:00Z",
    }
    doc.update(overrides)
    (folder / "exchange.json").write_text(json.dumps(doc), encoding="utf-8")
    return folder


@pytest.fixture
def recording(tmp_path) -> Path:
    write_exchange(tmp_path / "rec" / "20261125T120000Z-soup")
    return tmp_path / "rec"


def post(url, tasks):
    return httpx.post(url + "/v1", json=tasks, headers=AUTH, timeout=30)


def test_recorded_response_and_bytes_are_replayed(recording):
    with run_mock_server(MockConfig(replay_dirs=[recording])) as url:
        req = request()
        response = post(url, [req])
        assert response.status_code == 200, response.text
        items = response.json()["data"]
        assert [i["imageUUID"] for i in items] == UUIDS
        assert [i["seed"] for i in items] == [77, 78]
        assert all(i["taskUUID"] == req["taskUUID"] and i["cost"] == 0.0123 for i in items)
        assert items[0]["imageURL"] == f"{url}/image/ws/2/ii/{UUIDS[0]}.jpg"
        served = httpx.get(items[0]["imageURL"], timeout=30)
        assert served.headers["content-type"] == "image/jpeg"
        assert served.content == (recording / "20261125T120000Z-soup" / f"{UUIDS[0]}.jpg").read_bytes()

        # Another format is converted from the recorded picture; inline output too.
        png = post(url, [request(outputFormat="PNG", outputType="base64Data", numberResults=1)]).json()[
            "data"
        ]
        img = Image.open(io.BytesIO(base64.b64decode(png[0]["imageBase64Data"])))
        assert (img.format, img.size) == ("PNG", (320, 256))
        assert img.getpixel((10, 10))[1] == pytest.approx(90, abs=6)
        webp = post(url, [request(outputFormat="WEBP", numberResults=1)]).json()["data"][0]
        assert webp["imageURL"].endswith(".webp")
        got = httpx.get(webp["imageURL"], timeout=30)
        assert got.headers["content-type"] == "image/webp"
        assert Image.open(io.BytesIO(got.content)).format == "WEBP"


def test_more_results_than_recorded_are_synthesized_after_them(recording):
    with run_mock_server(MockConfig(replay_dirs=[recording], random_seed=1)) as url:
        items = post(url, [request(numberResults=3)]).json()["data"]
        assert [i["imageUUID"] for i in items[:2]] == UUIDS
        assert items[2]["seed"] == 79 and items[2]["imageUUID"] not in UUIDS


def test_matching_uses_effective_defaults(tmp_path):
    recorded = request()
    for name in ("width", "height", "steps", "CFGScale", "numberResults"):
        del recorded[name]
    write_exchange(tmp_path / "rec" / "a", recorded, files=False)
    with run_mock_server(MockConfig(replay_dirs=[tmp_path / "rec"])) as url:
        explicit = request(width=1024, height=1024, steps=100, CFGScale=10.0, numberResults=1)
        [item] = post(url, [explicit]).json()["data"]
        assert item["imageUUID"] == UUIDS[0]
        # A recording without image files serves a rendered preview of the right size.
        img = Image.open(io.BytesIO(httpx.get(item["imageURL"], timeout=30).content))
        assert img.size == (1024, 1024)


@pytest.mark.parametrize(
    "change",
    [{"seed": 78}, {"steps": 31}, {"CFGScale": 6.6}, {"positivePrompt": PROMPT + "!"}, {"width": 352}],
    ids=["seed", "steps", "cfg", "prompt", "width"],
)
def test_a_different_parameter_does_not_match(recording, change):
    with run_mock_server(MockConfig(replay_dirs=[recording])) as url:
        items = post(url, [request(**change)]).json()["data"]
        assert not {i["imageUUID"] for i in items} & set(UUIDS)


def test_request_without_seed_does_not_match_a_seeded_recording(recording):
    with run_mock_server(MockConfig(replay_dirs=[recording])) as url:
        req = request()
        del req["seed"]
        items = post(url, [req]).json()["data"]
        assert not {i["imageUUID"] for i in items} & set(UUIDS)


def test_strict_mode_rejects_unmatched_and_still_replays(recording):
    with run_mock_server(MockConfig(replay_dirs=[recording], strict=True)) as url:
        assert post(url, [request()]).status_code == 200
        assert post(url, [load_examples()[0].request]).status_code == 200
        missed = post(url, [request(seed=5, steps=31)])
        assert missed.status_code == 400
        [error] = missed.json()["errors"]
        assert error["code"] == "noRecordedResponse"
        assert "Soup menu" in error["message"] and "seed, steps" in error["message"]
        # Other task types are unaffected by --strict.
        assert post(url, [{"taskType": "ping", "ping": True}]).status_code == 200


def test_recordings_override_builtin_examples(tmp_path):
    example = load_examples()[0]
    write_exchange(tmp_path / "rec" / "x", dict(example.request, numberResults=1))
    with run_mock_server(MockConfig(replay_dirs=[tmp_path / "rec"])) as url:
        [item] = post(url, [example.request]).json()["data"]
        assert item["imageUUID"] == UUIDS[0]


def test_a_single_exchange_folder_can_be_replayed(recording):
    app = create_app(MockConfig(replay_dirs=[recording / "20261125T120000Z-soup"]))
    assert len(app.state.mock.replay) == len(load_examples()) + 1


def test_recorder_temp_folders_are_ignored(recording):
    (recording / ".tmp-abc").mkdir()
    (recording / ".tmp-abc" / "exchange.json").write_text("{", encoding="utf-8")
    create_app(MockConfig(replay_dirs=[recording]))


def _break(kind: str, folder: Path) -> Path:
    """Damage a fresh recording in one way; return the file the error must name."""
    exchange = write_exchange(folder / "ex1") / "exchange.json"
    doc = json.loads(exchange.read_text())
    if kind == "bad-json":
        exchange.write_text('{"request": ', encoding="utf-8")
        return exchange
    if kind == "no-request":
        del doc["request"]
    elif kind == "no-response":
        del doc["response"]
    elif kind == "invalid-request":
        doc["request"]["width"] = 5
    elif kind == "invalid-item":
        del doc["response"]["data"][0]["seed"]
    elif kind == "missing-image":
        (folder / "ex1" / f"{UUIDS[0]}.jpg").unlink()
        return folder / "ex1" / f"{UUIDS[0]}.jpg"
    elif kind == "undecodable-image":
        (folder / "ex1" / f"{UUIDS[1]}.jpg").write_bytes(b"\xff\xd8\xff" + b"junk" * 10)
        return folder / "ex1" / f"{UUIDS[1]}.jpg"
    elif kind == "path-escape":
        doc["images"][UUIDS[0]] = "../secret.jpg"
    elif kind == "no-exchange-json":
        (folder / "ex2").mkdir()
        return folder / "ex2" / "exchange.json"
    exchange.write_text(json.dumps(doc), encoding="utf-8")
    return exchange


BROKEN = [
    "bad-json",
    "no-request",
    "no-response",
    "invalid-request",
    "invalid-item",
    "missing-image",
    "undecodable-image",
    "path-escape",
    "no-exchange-json",
]


@pytest.mark.parametrize("kind", BROKEN)
def test_broken_recording_fails_at_start_naming_the_file(tmp_path, kind):
    named = _break(kind, tmp_path / "rec")
    with pytest.raises(ValueError) as info:
        create_app(MockConfig(replay_dirs=[tmp_path / "rec"]))
    assert str(named) in str(info.value)


def test_missing_or_empty_replay_folder_fails_at_start(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        create_app(MockConfig(replay_dirs=[tmp_path / "nowhere"]))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no exchange folders"):
        create_app(MockConfig(replay_dirs=[tmp_path / "empty"]))


def test_cli_reports_a_broken_recording_and_exits_2(tmp_path):
    named = _break("undecodable-image", tmp_path / "rec")
    done = subprocess.run(
        [sys.executable, "-m", "mock_api", "--port", "1", "--replay", str(tmp_path / "rec")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert str(named) in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_exchanges_of_other_task_types_are_skipped(recording):
    upload = recording / "20261125T120001Z-upload"
    upload.mkdir()
    doc = {
        "request": {
            "taskType": "imageUpload",
            "taskUUID": str(uuid.uuid4()),
            "image": "data:image/png;base64,AA==",
        },
        "response": {"data": [{"taskType": "imageUpload", "imageUUID": UUIDS[0]}]},
    }
    (upload / "exchange.json").write_text(json.dumps(doc), encoding="utf-8")
    app = create_app(MockConfig(replay_dirs=[recording]))
    assert len(app.state.mock.replay) == len(load_examples()) + 1
