"""Security properties, checked against the real servers.

- The API key appears nowhere: logs of the mock and the app, error messages, the
  UI's HTML and config, API responses, the mock's journal, recordings.
- Body, upload and reference-image size limits hold; Gradio's max_file_size is set.
- The mock binds 127.0.0.1 by default.
- Webhook and upload targets outside loopback are refused, with no attempt made.
- A malformed or huge reference image gets a clear error item, never a 500.
"""

from __future__ import annotations

import base64
import json
import socket
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import pytest
from gradio_client import Client, handle_file
from websockets.sync.client import connect as ws_connect

from mock_api import MockConfig, create_app
from mock_api.testing import run_mock_server, spawn_mock, task
from tests.support.appserver import run_app

pytestmark = pytest.mark.timeout(240)

# Distinctive, so a hit can only be a leak.
SECRET = "rw-SECRET-7f3a9c2e5b8d41f0a6c3"
WRONG = "rw-SECRET-wrong-0b1e9d77c4a2"
SECRETS = (SECRET, WRONG)
AUTH = {"Authorization": f"Bearer {SECRET}"}
MB = 1024 * 1024


def _leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_header(width: int, height: int) -> bytes:
    """A PNG whose header declares the size, with one tiny IDAT: small on the wire, huge if decoded."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def data_uri(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def small_jpeg() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 120, 200)).save(buf, "JPEG")
    return buf.getvalue()


# --------------------------------------------------------------------------- the key


@dataclass
class Stack:
    mock_url: str
    app_url: str
    mock_log: Path
    app_log: Path
    record_dir: Path
    texts: dict[str, str] = field(default_factory=dict)  # where -> what was seen there


DEFAULTS = {
    "positive_prompt": 'A bank vault door with a brass plate that reads "PRIVATE"',
    "width": 512,
    "height": 384,
    "seed": 77,
    "randomize_seed": False,
    "steps": 4,
    "number_results": 1,
    "output_format": "JPG",
    "output_type": "URL",
    "reference_images": [],
    "reference_urls": "",
    "delivery_method": "sync",
    "include_cost": True,
    "api_key": "",
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The mock (requiring SECRET, debug logs) and the app using it, with recording on."""
    tmp = tmp_path_factory.mktemp("security")
    from mock_api.testing import quiet_env

    # The key goes through the environment, never the command line.
    mock_env = quiet_env(MOCK_REQUIRE_KEY=SECRET)
    with spawn_mock("--log-level", "debug", "--speed", "0", env=mock_env, log_path=tmp / "mock.log") as mock:
        app_env = {
            "GLM_IMAGE_BACKEND": "mock",
            "MOCK_API_URL": mock.url + "/v1",
            "MOCK_API_KEY": SECRET,
            "RUNWARE_API_URL": mock.url + "/v1",  # a visitor's own key goes "live": here, the mock
            "RUNWARE_RECORD_DIR": str(tmp / "recordings"),
        }
        with run_app(tmp / "app.log", **app_env) as app_url:
            yield Stack(mock.url, app_url, tmp / "mock.log", tmp / "app.log", tmp / "recordings")
            assert SECRET not in " ".join(psutil.Process(mock.proc.pid).cmdline())


@pytest.fixture(scope="module")
def exercised(stack: Stack) -> Stack:
    """Use everything once, with the right key, a visitor key and a wrong key; keep what came back."""
    client = Client(stack.app_url, verbose=False, download_files=False)
    ok = client.predict(**DEFAULTS, api_name="/generate")
    stack.texts["generate (MOCK_API_KEY)"] = json.dumps(ok, default=str)
    visitor = client.predict(**{**DEFAULTS, "api_key": SECRET, "seed": 78}, api_name="/generate")
    stack.texts["generate (visitor key)"] = json.dumps(visitor, default=str)
    with pytest.raises(Exception) as wrong:
        client.predict(**{**DEFAULTS, "api_key": WRONG, "seed": 79}, api_name="/generate")
    stack.texts["generate (wrong visitor key) error"] = f"{wrong.value!r} {wrong.value}"
    # The answer carried the mock's 401, worded without the key.
    assert "invalidApiKey" in str(wrong.value) or "API key" in str(wrong.value), str(wrong.value)
    client.close()

    with httpx.Client(base_url=stack.mock_url, timeout=30, trust_env=False) as http:
        answers = {
            "mock: wrong bearer": http.post(
                "/v1", json=[task()], headers={"Authorization": f"Bearer {WRONG}"}
            ),
            "mock: wrong auth task": http.post(
                "/v1", json=[{"taskType": "authentication", "apiKey": WRONG}, task()]
            ),
            "mock: right auth task": http.post(
                "/v1",
                json=[{"taskType": "authentication", "apiKey": SECRET}, {"taskType": "ping", "ping": True}],
            ),
            "mock: bad task with key": http.post("/v1", json=[task(width=5, apiKey=SECRET)], headers=AUTH),
            # A key in the wrong shape is still a key: the 400 must not echo it.
            "mock: key as a list": http.post(
                "/v1", json=[{"taskType": "authentication", "apiKey": [SECRET]}], headers=AUTH
            ),
            "mock: key as an object": http.post(
                "/v1", json=[{"taskType": "authentication", "apiKey": {"k": WRONG}}], headers=AUTH
            ),
        }
        for name, answer in answers.items():
            assert answer.status_code < 500, (name, answer.text)
            stack.texts[name] = answer.text + json.dumps(dict(answer.headers))
        assert answers["mock: wrong bearer"].status_code == 401
        assert answers["mock: wrong auth task"].status_code == 401
        assert answers["mock: right auth task"].status_code == 200
        assert answers["mock: key as a list"].json()["errors"][0]["code"] == "invalidApiKey"
        # A WebSocket session belongs to its key: the admin view of it must not show the key.
        with ws_connect(stack.mock_url.replace("http://", "ws://") + "/v1", open_timeout=30) as ws:
            ws.send(json.dumps([{"taskType": "authentication", "apiKey": SECRET}]))
            assert "connectionSessionUUID" in str(ws.recv(timeout=30))
        # /__admin wants the mock's key too (it was started with --require-key).
        stack.texts["mock sessions"] = http.get("/__admin/sessions", headers=AUTH).text
        assert "connectionSessionUUID" in stack.texts["mock sessions"]
        stack.texts["mock journal"] = http.get("/__admin/requests", headers=AUTH).text
        stack.texts["mock deliveries"] = http.get("/__admin/deliveries", headers=AUTH).text
        stack.texts["mock openapi"] = http.get("/openapi.json").text
    with httpx.Client(base_url=stack.app_url, timeout=30, trust_env=False) as http:
        for path in ("/", "/config", "/gradio_api/info", "/gradio_api/openapi.json"):
            answer = http.get(path)
            if answer.status_code != 404:
                stack.texts[f"app GET {path}"] = answer.text
    assert stack.texts["app GET /"].lower().count("<html") >= 1
    return stack


def test_the_journal_saw_the_requests_and_redacted_their_keys(exercised: Stack):
    journal = json.loads(exercised.texts["mock journal"])
    dumped = json.dumps(journal)
    assert "authentication" in dumped and "imageInference" in dumped  # it recorded the traffic
    assert _leaks(dumped) == []


def test_recordings_hold_the_exchanges_but_no_key(exercised: Stack):
    files = [p for p in exercised.record_dir.rglob("*") if p.is_file()]
    assert any(p.name == "exchange.json" for p in files), files  # the recorder did record
    for path in files:
        assert SECRET.encode() not in path.read_bytes() and WRONG.encode() not in path.read_bytes(), path


def test_logs_of_both_servers_never_hold_the_key(exercised: Stack):
    mock_log = exercised.mock_log.read_text(errors="replace")
    app_log = exercised.app_log.read_text(errors="replace")
    assert "POST /v1" in mock_log  # debug logging was on and did log requests
    assert app_log.strip()
    assert _leaks(mock_log) == [] and _leaks(app_log) == []
    assert "Traceback" not in mock_log and "Traceback" not in app_log


@pytest.mark.parametrize(
    "where",
    [
        "generate (MOCK_API_KEY)",
        "generate (visitor key)",
        "generate (wrong visitor key) error",
        "mock: wrong bearer",
        "mock: wrong auth task",
        "mock: right auth task",
        "mock: bad task with key",
        "mock: key as a list",
        "mock: key as an object",
        "mock deliveries",
        "app GET /",
        "app GET /config",
        "app GET /gradio_api/info",
    ],
)
def test_no_answer_or_page_holds_the_key(exercised: Stack, where: str):
    assert where in exercised.texts
    assert _leaks(exercised.texts[where]) == []


def test_a_key_sent_in_the_query_string_stays_out_of_the_mock_log(tmp_path: Path):
    from mock_api.testing import quiet_env

    log = tmp_path / "mock.log"
    # --log-level info is what `python -m mock_api` runs with when not told otherwise.
    with spawn_mock("--log-level", "info", env=quiet_env(MOCK_REQUIRE_KEY=SECRET), log_path=log) as mock:
        answer = httpx.post(f"{mock.url}/v1?apiKey={SECRET}", json=[task()], headers=AUTH, timeout=30)
        assert answer.status_code == 200 and _leaks(answer.text) == []
        journal = httpx.get(mock.url + "/__admin/requests", headers=AUTH, timeout=10).text
        assert "apiKey" in journal and _leaks(journal) == []
    assert "POST /v1" in log.read_text()
    assert _leaks(log.read_text()) == []


# --------------------------------------------------------------------------- size limits


@pytest.fixture(scope="module")
def mock_url() -> Iterator[str]:
    with run_mock_server(MockConfig(random_seed=9, speed=0.0)) as url:
        yield url


def post(url: str, body: object, **kw) -> httpx.Response:
    return httpx.post(url + "/v1", json=body, headers=AUTH, timeout=60, **kw)


def test_a_body_over_the_default_limit_is_refused_with_413(mock_url: str):
    padding = "x" * (33 * MB)  # the default limit is 32 MB
    body = json.dumps([task(positivePrompt="p" * 10, ignored=padding)]).encode()
    answer = httpx.post(
        mock_url + "/v1", content=body, headers={**AUTH, "Content-Type": "application/json"}, timeout=60
    )
    assert answer.status_code == 413
    assert answer.json()["errors"][0]["code"] == "requestTooLarge"


def test_a_streamed_body_without_length_is_cut_at_the_limit():
    def chunks() -> Iterator[bytes]:
        yield b'[{"taskType": "ping", "ping": true, "pad": "'
        for _ in range(40):  # 40 x 64 KB > the 1 MB limit
            yield b"y" * 65536
        yield b'"}]'

    with run_mock_server(MockConfig(max_body_bytes=1 * MB)) as url:
        answer = httpx.post(
            url + "/v1", content=chunks(), headers={**AUTH, "Content-Type": "application/json"}, timeout=60
        )
    assert answer.status_code == 413
    assert answer.json()["errors"][0]["code"] == "requestTooLarge"


def test_an_upload_over_20_mb_is_refused_with_a_clear_error(mock_url: str):
    big = data_uri(png_header(64, 64) + b"\x00" * (21 * MB))
    answer = post(mock_url, [{"taskType": "imageUpload", "taskUUID": task()["taskUUID"], "image": big}])
    assert answer.status_code == 400
    (error,) = answer.json()["errors"]
    assert error["parameter"] == "image" and "20 MB" in error["message"]


def test_a_reference_image_over_20_mb_is_refused_with_a_clear_error(mock_url: str):
    big = data_uri(png_header(64, 64) + b"\x00" * (21 * MB))
    answer = post(mock_url, [task(inputs={"referenceImages": [big]})])
    assert answer.status_code == 400
    (error,) = answer.json()["errors"]
    assert error["code"] == "invalidReferenceImages" and "20 MB" in error["message"]
    assert error["parameter"] == "inputs.referenceImages"


def test_gradio_upload_limit_is_set_and_enforced(exercised: Stack):
    from demo.ui import MAX_FILE_SIZE, launch_kwargs

    assert launch_kwargs()["max_file_size"] == MAX_FILE_SIZE == "20mb"
    config = json.loads(exercised.texts["app GET /config"])
    assert config["max_file_size"] == 20 * MB
    big = b"\x89PNG\r\n\x1a\n" + b"\x00" * (21 * MB)
    answer = httpx.post(
        exercised.app_url + "/gradio_api/upload",
        files={"files": ("big.png", big, "image/png")},
        timeout=60,
        trust_env=False,
    )
    assert answer.status_code == 413


# --------------------------------------------------------------------------- binding


def _non_loopback_ipv4() -> str | None:
    for addrs in psutil.net_if_addrs().values():
        for addr in addrs:
            if addr.family == socket.AF_INET and not addr.address.startswith("127."):
                return addr.address
    return None


def test_the_mock_binds_loopback_only_by_default():
    with spawn_mock() as mock:  # no --host
        port = int(mock.url.rsplit(":", 1)[1])
        listening = [
            c
            for c in psutil.Process(mock.proc.pid).net_connections(kind="inet")
            if c.status == psutil.CONN_LISTEN
        ]
        assert [(c.laddr.ip, c.laddr.port) for c in listening] == [("127.0.0.1", port)]
        assert "http://127.0.0.1:" in mock.log_text()
        other = _non_loopback_ipv4()
        if other is not None:  # this machine's own address: nothing may answer there
            with pytest.raises(OSError), socket.create_connection((other, port), timeout=2):
                pass


# --------------------------------------------------------------------------- outbound


@pytest.fixture(scope="module")
def guarded_mock() -> Iterator[tuple[str, list[str]]]:
    """A mock whose DNS is a table (no real lookup); yields its URL and the names it resolved."""
    app = create_app(MockConfig(random_seed=5, speed=0.0))
    resolved: list[str] = []

    async def table_dns(host: str, port: int) -> list[str]:
        resolved.append(host)
        return {"example.com": ["93.184.216.34"]}.get(host, [])

    app.state.mock.outbound.policy.resolver = table_dns
    with run_mock_server(app=app) as url:
        yield url, resolved


@pytest.mark.parametrize("field_name", ["webhookURL", "uploadEndpoint"])
@pytest.mark.parametrize("target", ["http://10.1.2.3/hook", "https://example.com/hook", "http://[fd00::1]/x"])
@pytest.mark.parametrize("delivery", ["sync", "async"])
def test_outbound_targets_off_loopback_are_refused_and_never_called(
    guarded_mock, field_name, target, delivery
):
    url, _ = guarded_mock
    httpx.delete(url + "/__admin/deliveries", timeout=10)
    t = task(width=256, height=256, deliveryMethod=delivery, **{field_name: target})
    answer = post(url, [t])
    assert answer.status_code == 400
    (error,) = answer.json()["errors"]
    assert error["parameter"] == field_name and "--allow-outbound" in error["message"]
    deliveries = httpx.get(url + "/__admin/deliveries", timeout=10).json()["deliveries"]
    assert deliveries == []


def test_a_name_is_refused_by_the_address_it_resolves_to(guarded_mock):
    url, resolved = guarded_mock
    answer = post(url, [task(width=256, height=256, webhookURL="https://example.com/hook")])
    assert answer.status_code == 400 and "93.184.216.34" in answer.json()["errors"][0]["message"]
    assert "example.com" in resolved  # the table answered; no real DNS lookup was made


# --------------------------------------------------------------------------- bad pictures

BAD_PICTURES = {
    "garbage bytes": data_uri(b"this is not a picture at all" * 40),
    "not base64": "data:image/png;base64,%%%not-base64%%%",
    "PNG header declaring 60000x60000": data_uri(png_header(60000, 60000)),
    "PNG header declaring 12000x100": data_uri(png_header(12000, 100)),
    "truncated JPEG": data_uri(small_jpeg()[:200], "image/jpeg"),
    "empty PNG": "data:image/png;base64,",
}


@pytest.mark.parametrize("name", list(BAD_PICTURES))
def test_a_bad_reference_image_gets_a_clear_error_item(mock_url: str, name: str):
    answer = post(mock_url, [task(width=256, height=256, inputs={"referenceImages": [BAD_PICTURES[name]]})])
    assert answer.status_code == 400, answer.text
    (error,) = answer.json()["errors"]
    assert error["code"] == "invalidReferenceImages"
    assert error["message"].startswith("Invalid value for 'inputs.referenceImages[0]'")
    assert "Traceback" not in error["message"] and len(error["message"]) < 400
    if "declaring" in name:
        assert "too large" in error["message"]


@pytest.mark.parametrize("name", list(BAD_PICTURES))
def test_a_bad_upload_gets_a_clear_error_item(mock_url: str, name: str):
    answer = post(
        mock_url, [{"taskType": "imageUpload", "taskUUID": task()["taskUUID"], "image": BAD_PICTURES[name]}]
    )
    assert answer.status_code == 400, answer.text
    (error,) = answer.json()["errors"]
    assert error["parameter"] == "image" and error["code"] in ("invalidImage", "invalidRequestBody")
    assert "Traceback" not in error["message"] and len(error["message"]) < 400


def test_the_mock_still_serves_after_the_bad_pictures(mock_url: str):
    answer = post(
        mock_url, [task(width=256, height=256, inputs={"referenceImages": [data_uri(small_jpeg())]})]
    )
    assert answer.status_code == 200 and answer.json()["data"][0]["imageURL"]


def test_a_huge_or_broken_picture_uploaded_in_the_app_gives_a_clear_error(exercised: Stack, tmp_path: Path):
    client = Client(exercised.app_url, verbose=False, download_files=False)
    for name, data in (("huge.png", png_header(60000, 60000)), ("broken.jpg", small_jpeg()[:200])):
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(Exception) as caught:
            client.predict(**{**DEFAULTS, "reference_images": [handle_file(str(path))]}, api_name="/generate")
        message = str(caught.value)
        assert "Traceback" not in message and "went wrong" not in message, message
        assert "image" in message.lower(), message
    # The app is still up and generating.
    result = client.predict(**{**DEFAULTS, "seed": 80}, api_name="/generate")
    assert len(result[0]) == 1
    client.close()
