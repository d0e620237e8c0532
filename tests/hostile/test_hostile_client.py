"""The client against a hostile server (issue 13, "The client"): every answer is bounded.

The "server" is respx in front of the real client: a lying server is exactly what a
fake is for. Each case failed on the client before it was hardened.
"""

from __future__ import annotations

import base64
import contextlib
import http.server
import io
import os
import threading
import time
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
import respx

from api_schema import errors as E
from demo.client import (
    ImageResult,
    Limits,
    PollPolicy,
    ProtocolError,
    Recorder,
    RetryPolicy,
    RunwareClient,
    ValidationFailed,
)
from demo.client.recorder import STALE_TMP_S, sweep_stale
from tests.support.fakes import IMAGE_HOST, LIVE_URL, tiny_image

TASK = {"positivePrompt": 'A sign that reads "HI"', "width": 256, "height": 256}


def item(task_uuid: str, image_uuid: str | None = None, n: int = 0) -> dict:
    image_uuid = image_uuid or str(uuid.uuid4())
    return {
        "taskType": "imageInference",
        "taskUUID": task_uuid,
        "imageUUID": image_uuid,
        "imageURL": f"{IMAGE_HOST}/image/{n}.jpg",
        "seed": n,
    }


def answering(items_for):
    """A POST side effect answering each imageInference with ``items_for(taskUUID)``."""

    def answer(request: httpx.Request) -> httpx.Response:
        import json

        task = json.loads(request.content)[0]
        return httpx.Response(200, json={"data": items_for(task["taskUUID"])})

    return answer


@pytest.mark.parametrize("bad", ["../escaped", "/etc/cron.d/x", "a/../../b", "..", ".hidden", "x\x00y"])
async def test_an_unsafe_image_uuid_is_refused_before_any_path_is_built(tmp_path: Path, bad: str):
    record_dir = tmp_path / "rec"
    with respx.mock(assert_all_called=False) as router:
        router.post(LIVE_URL).mock(side_effect=answering(lambda t: [item(t, bad)]))
        router.get(url__startswith=IMAGE_HOST).mock(return_value=httpx.Response(200, content=tiny_image()))
        async with RunwareClient(LIVE_URL, "k", observers=[Recorder(record_dir)]) as client:
            with pytest.raises(ProtocolError, match="imageUUID"):
                await client.generate(TASK)
    assert not record_dir.exists() and sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_hand_built_result_cannot_be_saved_outside_its_folder(tmp_path: Path):
    from api_schema import ImageInferenceResult

    raw = item(str(uuid.uuid4()), "../escaped")
    result = ImageResult(item=ImageInferenceResult.model_validate(raw), data=b"x", format="JPG")
    with pytest.raises(ValueError, match="plain file name"):
        result.save(tmp_path / "out")
    assert not (tmp_path / "escaped.jpg").exists()


def _gzip_bomb(decoded_bytes: int) -> bytes:
    """A gzip stream of ``decoded_bytes`` of JSON-ish padding, compressed chunk by chunk."""
    out = io.BytesIO()
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: gzip framing
    out.write(packer.compress(b'{"data": [], "padding": "'))
    chunk = b"A" * (1 << 20)
    for _ in range(decoded_bytes // len(chunk)):
        out.write(packer.compress(chunk))
    out.write(packer.compress(b'"}'))
    out.write(packer.flush())
    return out.getvalue()


@contextlib.contextmanager
def serving(body: bytes, headers: dict[str, str]) -> Iterator[str]:
    """A loopback server answering every POST with ``body`` (respx would decode it in memory itself)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            self.send_response(200)
            for name, value in {**headers, "Content-Length": str(len(body))}.items():
                self.send_header(name, value)
            self.end_headers()
            with contextlib.suppress(OSError):  # the client stops reading early, on purpose
                self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


async def test_a_gzip_bomb_answer_is_refused_without_filling_memory():
    bomb = _gzip_bomb(1 << 30)  # 1 GiB decoded, ~1 MB on the wire
    assert len(bomb) < 5_000_000
    before = psutil.Process(os.getpid()).memory_info().rss
    with serving(bomb, {"Content-Type": "application/json", "Content-Encoding": "gzip"}) as url:
        async with RunwareClient(url, "k") as client:
            with pytest.raises(ProtocolError) as info:
                await client.generate(TASK)
    grown_mb = (psutil.Process(os.getpid()).memory_info().rss - before) / 2**20
    assert info.value.code == "answerTooLarge"
    assert grown_mb < 200, f"RSS grew by {grown_mb:.0f} MB"


async def test_an_answer_with_inline_images_may_be_as_large_as_those_images():
    # The cap follows the task: base64 results for N images are allowed their size.
    picture = tiny_image(size=(600, 600))
    limits = Limits(max_answer_bytes=1024, max_image_bytes=len(picture) * 2)

    def inline(task_uuid: str) -> list[dict]:
        out = []
        for n in range(3):
            it = item(task_uuid, n=n)
            del it["imageURL"]
            it["imageBase64Data"] = base64.b64encode(picture).decode()
            out.append(it)
        return out

    with respx.mock() as router:
        router.post(LIVE_URL).mock(side_effect=answering(inline))
        async with RunwareClient(LIVE_URL, "k", limits=limits) as client:
            gen = await client.generate({**TASK, "numberResults": 3, "outputType": "base64Data"})
    assert len(gen.images) == 3


async def test_a_server_listing_forty_items_for_one_result_costs_one_download():
    with respx.mock() as router:
        router.post(LIVE_URL).mock(side_effect=answering(lambda t: [item(t, n=n) for n in range(40)]))
        images = router.get(url__startswith=IMAGE_HOST).mock(
            return_value=httpx.Response(200, content=tiny_image())
        )
        async with RunwareClient(LIVE_URL, "k") as client:
            gen = await client.generate({**TASK, "numberResults": 1})
    assert len(gen.images) == 1 and images.call_count == 1


async def test_polling_a_server_that_lists_forty_successes_keeps_only_what_was_asked():
    ack_then_many = iter(
        [
            lambda t: [{"taskType": "imageInference", "taskUUID": t}],
            lambda t: [{**item(t, n=n), "status": "success"} for n in range(40)],
        ]
    )
    holder: dict[str, str] = {}

    def answer(request: httpx.Request) -> httpx.Response:
        import json

        task = json.loads(request.content)[0]
        holder.setdefault("uuid", task["taskUUID"])
        return httpx.Response(200, json={"data": next(ack_then_many)(holder["uuid"])})

    with respx.mock() as router:
        router.post(LIVE_URL).mock(side_effect=answer)
        images = router.get(url__startswith=IMAGE_HOST).mock(
            return_value=httpx.Response(200, content=tiny_image())
        )
        async with RunwareClient(LIVE_URL, "k", polling=PollPolicy(initial=0.01)) as client:
            gen = await client.generate({**TASK, "numberResults": 2, "deliveryMethod": "async"})
    assert [img.seed for img in gen.images] == [0, 1] and images.call_count == 2


@pytest.mark.parametrize(
    "key", ["sk-abc\r\nX-Injected: 1", "sk-\x00abc", "sk-ключ-123", "sk abc", "sk-\tabc"]
)
async def test_a_key_an_http_header_cannot_carry_is_refused_up_front_without_echoing_it(key: str):
    with respx.mock(assert_all_called=False) as router:
        route = router.post(LIVE_URL).mock(return_value=httpx.Response(200, json={"data": []}))
        with pytest.raises(ValidationFailed) as info:
            RunwareClient(LIVE_URL, key)
    text = str(info.value) + repr(info.value)
    assert info.value.code == E.INVALID_API_KEY and info.value.parameter == "apiKey"
    assert key not in text and "abc" not in text and "ключ" not in text
    assert route.call_count == 0


async def test_a_negative_retry_after_backs_off_instead_of_looping():
    delays: list[float] = []

    async def record(delay: float) -> None:
        delays.append(delay)

    with respx.mock() as router:
        router.post(LIVE_URL).mock(
            return_value=httpx.Response(
                429,
                json={"errors": [{"code": E.RATE_LIMITED, "message": "slow"}]},
                headers={"Retry-After": "-5"},
            )
        )
        async with RunwareClient(LIVE_URL, "k", retry=RetryPolicy(max_retries=3, backoff_base=0.5)) as client:
            client._call.sleep = record
            with pytest.raises(Exception, match="slow"):
                await client.generate(TASK)
    assert len(delays) == 3 and all(d >= 0.5 for d in delays), delays


def test_stale_temporary_recording_folders_are_swept_and_fresh_ones_kept(tmp_path: Path):
    old, fresh = tmp_path / ".tmp-dead", tmp_path / ".tmp-live"
    for folder in (old, fresh):
        folder.mkdir()
        (folder / "half.jpg").write_bytes(b"x")
    past = time.time() - STALE_TMP_S - 60
    os.utime(old, (past, past))
    (tmp_path / "20261125T120000Z-abcd1234").mkdir()  # a finished exchange is never touched
    assert sweep_stale(tmp_path) == 1
    assert not old.exists() and fresh.exists() and (tmp_path / "20261125T120000Z-abcd1234").exists()
