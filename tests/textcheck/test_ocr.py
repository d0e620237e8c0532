"""The check with the real OCR on real pictures: mock previews, Pillow-made lettering, a
recording replayed by ``python -m mock_api --replay``, and every way it can fail."""

from __future__ import annotations

import asyncio
import importlib.metadata
import json
import shutil
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import httpx
import pytest
import rapidocr_onnxruntime

from api_schema import MODEL_ID
from demo.settings import load_settings
from demo.textcheck import OcrEngine, TextChecker
from demo.textcheck.engine import WORKERS
from mock_api.testing import AUTH, ROOT, quiet_env, spawn_mock

from .conftest import has_cjk_font, lettering, preview

LATIN = 'A bakery window with a sign that reads "FRESH BREAD" and a chalkboard "OPEN 7-19"'
CHINESE = "一家面包店的招牌写着“开放”，门口挂着「欢迎光临」"


async def test_latin_quoted_strings_in_a_mock_preview_read_back(checker: TextChecker) -> None:
    run = await checker.check_images(LATIN, [preview(LATIN)], ["img-1"])
    assert run.summary() == "Text check: 2 of 2 strings written correctly", run.table()
    assert [row[:2] + row[3:] for row in run.table()["data"]] == [
        ["img-1", "FRESH BREAD", 100, "✓"],
        ["img-1", "OPEN 7-19", 100, "✓"],
    ]


async def test_chinese_quoted_strings_in_a_mock_preview_read_back(checker: TextChecker) -> None:
    if not has_cjk_font():
        pytest.skip("no CJK font installed (apt-get install fonts-wqy-zenhei)")
    run = await checker.check_images(CHINESE, [preview(CHINESE, fmt="PNG")])
    assert [(r.asked, r.read, r.ok) for r in run.images[0].rows] == [
        ("开放", "开放", True),
        ("欢迎光临", "欢迎光临", True),
    ]


async def test_a_picture_without_the_text_shows_what_was_read_instead(checker: TextChecker) -> None:
    picture = lettering(["CLOSED EARLY", "FRESH BREAD"])
    run = await checker.check_images('"OPEN LATE" and "FRESH BREAD"', [picture])
    (missing, present) = run.images[0].rows
    assert not missing.ok and missing.score < 60 and "CLOSED" in missing.read, missing
    assert present.ok, present
    assert run.summary() == "Text check: 1 of 2 strings written correctly"
    assert run.table()["data"][0][4] == "✗"


def _write_recording(folder: Path, prompt: str, picture: bytes) -> dict:
    request = {
        "taskType": "imageInference",
        "taskUUID": str(uuid.uuid4()),
        "model": MODEL_ID,
        "positivePrompt": prompt,
        "width": 640,
        "height": 400,
        "seed": 4242,
    }
    image_uuid = "0b4f5c2e-8d6a-4e11-9c3b-7a1d2e3f4a5b"
    folder.mkdir(parents=True)
    (folder / f"{image_uuid}.jpg").write_bytes(picture)
    item = {
        "taskType": "imageInference",
        "taskUUID": request["taskUUID"],
        "imageUUID": image_uuid,
        "imageURL": f"https://im.runware.ai/image/ws/2/ii/{image_uuid}.jpg",
        "seed": 4242,
    }
    doc = {
        "title": prompt[:60],
        "request": request,
        "response": {"data": [item]},
        "images": {image_uuid: f"{image_uuid}.jpg"},
        "recordedAt": "2026-11-25T12:00:00Z",
    }
    (folder / "exchange.json").write_text(json.dumps(doc), encoding="utf-8")
    return request


async def test_a_replayed_recording_whose_picture_lacks_the_text_shows_a_miss(
    checker: TextChecker, tmp_path: Path
) -> None:
    prompt = 'A shop front with a sign that reads "OPEN LATE"'
    recorded = _write_recording(
        tmp_path / "rec" / "20261125T120000Z-0b4f5c2e", prompt, lettering(["CLOSED", "TODAY"], fmt="JPEG")
    )
    with spawn_mock("--replay", str(tmp_path / "rec"), "--strict") as server:
        request = dict(recorded, taskUUID=str(uuid.uuid4()))
        async with httpx.AsyncClient(timeout=30) as http:
            answer = await http.post(server.url + "/v1", json=[request], headers=AUTH)
            assert answer.status_code == 200, answer.text
            item = answer.json()["data"][0]
            picture = (await http.get(item["imageURL"])).content
    run = await checker.check_images(prompt, [picture], [item["imageUUID"]])
    (row,) = run.table()["data"]
    assert row[0] == "0b4f5c2e-8d6a-4e11-9c3b-7a1d2e3f4a5b"
    assert row[1] == "OPEN LATE" and row[4] == "✗", row
    assert "CLOSED" in row[2] and row[3] < 60, row
    assert run.summary() == "Text check: 0 of 1 string written correctly"


@pytest.mark.parametrize(
    "data",
    [b"", b"not an image", preview(LATIN)[:400], "a str"],
    ids=["empty", "garbage", "truncated", "not-bytes"],
)
async def test_an_unreadable_image_is_not_available_and_never_raises(checker: TextChecker, data) -> None:
    run = await checker.check_images(LATIN, [data])
    assert run.images[0].state == "not available"
    assert run.summary().startswith("Text check: not available: ")
    assert [row[3:] for row in run.table()["data"]] == [[None, "not available: " + run.images[0].why]] * 2


async def test_a_failing_ocr_import_is_not_available(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "rapidocr_onnxruntime", None)  # import raises ImportError
    engine = OcrEngine()
    run = await TextChecker(engine).check_images(LATIN, [preview(LATIN), preview(LATIN)])
    assert [i.state for i in run.images] == ["not available", "not available"]
    assert "ModuleNotFoundError: import of rapidocr_onnxruntime halted" in run.images[0].why
    assert run.summary().startswith("Text check: not available: ModuleNotFoundError")


def test_a_missing_system_library_is_not_available(tmp_path: Path) -> None:
    # A machine without packages.txt's libraries: opencv-python (the GUI build) cannot load
    # libGL. Hidden here by mounting an empty file over it in a mount namespace of the child's own.
    libgl = Path("/lib/x86_64-linux-gnu/libGL.so.1").resolve()
    if not libgl.is_file() or not shutil.which("unshare"):
        pytest.skip("needs libGL at its Debian path and unshare")
    try:
        importlib.metadata.distribution("opencv-python")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("opencv-python-headless needs no libGL")
    script = tmp_path / "no_libgl.py"
    script.write_text(
        "from PIL import Image\n"
        "from demo.textcheck import TextChecker\n"
        "print(TextChecker().check_images_sync('\"OPEN\"', [Image.new('RGB', (64, 64))]).summary())\n",
        encoding="utf-8",
    )
    hide = f"mount --bind /dev/null {libgl} && exec {sys.executable} {script}"
    out = subprocess.run(
        ["unshare", "--mount", "sh", "-c", hide],
        cwd=ROOT,
        env=quiet_env(PYTHONPATH=str(ROOT), HOME=str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    if "mount" in out.stderr and out.returncode != 0:
        pytest.skip(f"cannot make a mount namespace here: {out.stderr.strip()[:200]}")
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.startswith("Text check: not available: ImportError: "), out.stdout
    assert "libGL.so.1" in out.stdout


async def test_the_ocr_raising_mid_read_is_not_available(monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken(rapidocr_onnxruntime.RapidOCR):
        def __call__(self, *args, **kwargs):
            raise RuntimeError("model exploded")

    monkeypatch.setattr(rapidocr_onnxruntime, "RapidOCR", Broken)
    run = TextChecker(OcrEngine()).check_images_sync(LATIN, [preview(LATIN)])
    assert run.images[0].state == "not available"
    assert run.images[0].why == "OCR failed (RuntimeError: model exploded)"


async def test_the_switch_turns_the_check_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GLM_IMAGE_TEXT_CHECK", "0")
    checker = TextChecker.from_settings(load_settings())
    checker.engine = engine = OcrEngine()  # a fresh engine, to see that it is never loaded
    run = await checker.check_images(LATIN, [preview(LATIN)])
    assert run.summary() == "Text check: off (GLM_IMAGE_TEXT_CHECK=0)"
    assert run.table() == {"headers": ["image", "asked for", "read", "score", "ok"], "data": []}
    assert engine.load_seconds is None
    monkeypatch.setenv("GLM_IMAGE_TEXT_CHECK", "1")
    assert TextChecker.from_settings(load_settings()).enabled


async def test_reads_run_off_the_event_loop_at_most_workers_at_a_time(
    checker: TextChecker, monkeypatch: pytest.MonkeyPatch
) -> None:
    active, most, entered, lock = 0, 0, 0, threading.Lock()
    # The first WORKERS reads wait for each other: they can only all get here if the pool
    # runs that many at once (a bound, not a timing: a pool of one would break the barrier).
    together_at_start = threading.Barrier(WORKERS, timeout=60)
    read = checker.engine.read

    def counting_read(image):
        nonlocal active, most, entered
        with lock:
            active += 1
            entered += 1
            most = max(most, active)
            first = entered <= WORKERS
        try:
            if first:
                together_at_start.wait()
            return read(image)
        finally:
            with lock:
                active -= 1

    monkeypatch.setattr(checker.engine, "read", counting_read)
    ticks_while_reading = 0

    async def ticker() -> None:
        nonlocal ticks_while_reading
        for _ in range(10_000):  # bounded; stops once the check is done
            await asyncio.sleep(0.005)
            ticks_while_reading += active > 0
            if done.is_set():
                return

    prompts = [f'"SIGN {word}"' for word in ("ALPHA", "BRAVO", "DELTA", "ECHO")]
    pictures = [lettering([f"SIGN {w}"], size=(480, 160)) for w in ("ALPHA", "BRAVO", "DELTA", "ECHO")]
    done = asyncio.Event()
    tick = asyncio.create_task(ticker())
    together = await asyncio.gather(
        *(checker.check_image(p, img) for p, img in zip(prompts, pictures, strict=True))
    )
    done.set()
    await tick
    assert most == WORKERS
    assert ticks_while_reading > 0  # the loop kept running while the OCR worked
    # A shared engine read concurrently gives what it gives one at a time.
    alone = [checker.check_image_sync(p, img) for p, img in zip(prompts, pictures, strict=True)]
    assert [c.rows for c in together] == [c.rows for c in alone]
    assert all(c.rows[0].ok for c in together), together


def _can_unshare_network() -> bool:
    if not shutil.which("unshare"):
        return False
    return subprocess.run(["unshare", "--net", "true"], capture_output=True, timeout=30).returncode == 0


def test_models_come_from_the_wheel_and_nothing_is_downloaded(tmp_path: Path) -> None:
    # Network off: the child runs in a network namespace of its own (no interface up) when
    # the machine allows it, and any socket use from Python fails loudly either way. The
    # check still works, and writes nothing to the home folder: no model cache, and no
    # onnxruntime telemetry device id.
    home = tmp_path / "home"
    home.mkdir()
    picture = tmp_path / "preview.png"
    picture.write_bytes(preview('a sign "OPEN LATE"', 512, 384, "PNG"))
    script = tmp_path / "offline.py"
    script.write_text(
        "import socket\n"
        "def refuse(*a, **k): raise OSError('network is off in this test')\n"
        "socket.socket.connect = socket.socket.connect_ex = refuse\n"
        "socket.create_connection = socket.getaddrinfo = refuse\n"
        "import sys\n"
        "from pathlib import Path\n"
        "from demo.textcheck import OcrEngine, TextChecker\n"
        "image = Path(sys.argv[1]).read_bytes()\n"
        "print(TextChecker(OcrEngine()).check_images_sync('a sign \"OPEN LATE\"', [image]).summary())\n"
        "print(*OcrEngine.model_paths(), sep='\\n')\n",
        encoding="utf-8",
    )
    isolate = ["unshare", "--net"] if _can_unshare_network() else []
    # The engine must switch onnxruntime's telemetry off itself: not inherited from this process.
    env = {
        k: v for k, v in quiet_env(PYTHONPATH=str(ROOT), HOME=str(home)).items() if not k.startswith("ORT_")
    }
    out = subprocess.run(
        [*isolate, sys.executable, str(script), str(picture)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    summary, *models = out.stdout.strip().splitlines()
    assert summary == "Text check: 1 of 1 string written correctly"
    wheel = Path(rapidocr_onnxruntime.__file__).parent
    assert len(models) == 3 and all(Path(m).parent == wheel / "models" and Path(m).is_file() for m in models)
    assert list(home.iterdir()) == []
