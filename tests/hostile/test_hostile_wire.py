"""Connections that hold the mock without finishing anything: raw sockets on 127.0.0.1.

Before: a connection that never sent its headers, or sent them a byte at a time
(slowloris), or declared a body and never sent it, stayed open for ever; a client
that never read a large answer held it in memory for ever; headers over h11's
limit got uvicorn's bare text 400; any number of large bodies could be read at once.
Now each is answered with a Runware error envelope and closed, within the deadline
given by the flags (small here so the tests are quick; every wait is bounded).
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import httpx
import pytest
from starlette.testclient import TestClient

from mock_api import create_app
from mock_api.testing import AUTH, Server, spawn_mock, task
from tests.support.hostile import (
    MB,
    RssWatch,
    connections_from,
    data_uri,
    noisy_png,
    raw_socket,
    read_answer,
    read_until_closed,
    request_bytes,
    wait_until,
)

SHORT = "1"  # seconds, for the header, body, keep-alive and send deadlines under test
BOUND_S = 30  # no wait in this file lasts longer


@pytest.fixture(scope="module")
def mock() -> Iterator[Server]:
    flags = ["--header-timeout-s", SHORT, "--body-timeout-s", SHORT, "--keep-alive-s", SHORT]
    with spawn_mock(*flags, "--send-timeout-s", SHORT, "--max-body-mb", "2") as server:
        yield server


def envelope_of(raw: bytes) -> tuple[int, dict]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body)


def closed_by_server(sock: socket.socket) -> bytes:
    sock.settimeout(BOUND_S)
    return read_until_closed(sock)


def test_a_connection_that_sends_nothing_is_closed_with_408(mock: Server) -> None:
    with raw_socket(mock.url) as sock:
        status, body = envelope_of(closed_by_server(sock))
    assert status == 408 and body["errors"][0]["code"] == "requestTimeout"


def test_slowloris_headers_a_byte_at_a_time_are_cut_off(mock: Server) -> None:
    head = request_bytes("POST", "/v1", b"[]", AUTH)
    with raw_socket(mock.url, timeout_s=0.2) as sock:
        deadline = time.monotonic() + BOUND_S
        answer = b""
        for byte in head[:-4]:  # never the blank line that ends the head
            try:
                sock.send(bytes([byte]))
                answer = sock.recv(65536)
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
            if answer or time.monotonic() > deadline:
                break
        answer += closed_by_server(sock)
    status, body = envelope_of(answer)
    assert status == 408 and "headers did not arrive" in body["errors"][0]["message"]


def test_a_body_that_never_arrives_gets_408_and_is_journaled(mock: Server) -> None:
    with raw_socket(mock.url) as sock:
        sock.sendall(request_bytes("POST", "/v1", b"[", {**AUTH, "Content-Length": "1000"}))
        status, body = envelope_of(closed_by_server(sock))
    assert status == 408 and "body did not arrive" in body["errors"][0]["message"]
    journal = httpx.get(mock.url + "/__admin/requests", timeout=10).json()["requests"]
    assert journal[-1]["status"] == 408


def test_a_body_that_trickles_in_is_cut_off_by_the_deadline_of_the_whole_request(mock: Server) -> None:
    # A byte every 0.2 s: each piece comes well within the 1 s deadline, so only a deadline
    # counted from the request's start (not one per read) answers before the body is whole.
    with raw_socket(mock.url) as sock:
        sock.sendall(request_bytes("POST", "/v1", b"[", {**AUTH, "Content-Length": "1000"}))
        cut_off = False
        for _ in range(30):  # at most 6 s of trickling, and the body would still be short
            time.sleep(0.2)
            try:
                sock.sendall(b" ")
            except (BrokenPipeError, ConnectionResetError):
                cut_off = True
                break
            sock.settimeout(0.0)
            try:
                if sock.recv(1, socket.MSG_PEEK):
                    cut_off = True  # the answer has come while the body was still trickling
                    break
            except BlockingIOError:
                pass
            finally:
                sock.settimeout(BOUND_S)
        status, body = envelope_of(closed_by_server(sock))
    assert cut_off, "the mock waited for the trickled body as long as it kept coming"
    assert status == 408 and "body did not arrive" in body["errors"][0]["message"]


def test_an_idle_keep_alive_connection_is_closed(mock: Server) -> None:
    with raw_socket(mock.url) as sock:
        sock.sendall(request_bytes("GET", "/health"))
        answer = closed_by_server(sock)  # a socket timeout here would mean it stayed open
    assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"}")


def test_a_connection_in_use_is_not_closed_for_idling_until_it_idles() -> None:
    # The keep-alive deadline runs from each answer's end, not from the first one: a client
    # asking again within it keeps its connection however long it goes on (here 3 x 0.8 s
    # against 2 s), and once it stops, the connection is closed.
    with spawn_mock("--keep-alive-s", "2") as server, raw_socket(server.url) as sock:
        for _ in range(4):
            sock.sendall(request_bytes("GET", "/health"))
            assert read_answer(sock).startswith(b"HTTP/1.1 200")
            time.sleep(0.8)
        assert closed_by_server(sock) == b""  # closed, with nothing more sent


def test_a_head_over_16_kb_in_two_pieces_that_each_fit_gets_431(mock: Server) -> None:
    # Each piece is under the limit, so neither alone can say the head is too large.
    head = request_bytes("POST", "/v1", b"[]", {**AUTH, "X-First": "a" * 10_000, "X-Second": "b" * 8_000})
    cut = head.index(b"X-Second")
    with raw_socket(mock.url) as sock:
        sock.sendall(head[:cut])
        time.sleep(0.3)  # so that the server reads the first piece on its own
        sock.sendall(head[cut:])
        status, body = envelope_of(closed_by_server(sock))
    assert status == 431 and body["errors"][0]["code"] == "requestTooLarge"


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Big": "x" * 20_000},
        {f"X-H{i}": "y" * 20 for i in range(1000)},
        {"Authorization": "Bearer " + "k" * 20_000},
    ],
    ids=["one-huge-header", "a-thousand-headers", "huge-authorization"],
)
def test_a_head_over_16_kb_gets_431_as_an_envelope(mock: Server, headers: dict[str, str]) -> None:
    with raw_socket(mock.url) as sock:
        sock.sendall(request_bytes("POST", "/v1", json.dumps([task()]).encode(), headers))
        status, body = envelope_of(closed_by_server(sock))
    assert status == 431 and body["errors"][0]["code"] == "requestTooLarge"
    assert "k" * 100 not in json.dumps(body)


def test_a_head_still_arriving_past_16_kb_gets_431_before_it_ends(mock: Server) -> None:
    # A header that never ends: the bound holds while it is still arriving, not only once it is whole.
    head = request_bytes("POST", "/v1", b"[]", AUTH).split(b"\r\n\r\n")[0] + b"\r\nX-Long: "
    with raw_socket(mock.url) as sock:
        sock.sendall(head)
        for _ in range(4):  # 32 KB more of the same header, in pieces, never its end
            try:
                sock.sendall(b"z" * 8192)
            except (BrokenPipeError, ConnectionResetError):
                break
        status, body = envelope_of(closed_by_server(sock))
    assert status == 431 and body["errors"][0]["code"] == "requestTooLarge"


def test_a_request_line_that_is_not_http_gets_an_envelope(mock: Server) -> None:
    with raw_socket(mock.url) as sock:
        sock.sendall(b"POST /v1 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: nope\r\n\r\n")
        status, body = envelope_of(closed_by_server(sock))
    assert status == 400 and body["errors"][0]["code"] == "invalidRequestBody"


def test_pipelined_requests_are_each_answered(mock: Server) -> None:
    with raw_socket(mock.url) as sock:
        sock.sendall(
            request_bytes("GET", "/health") * 2
            + request_bytes("GET", "/health", headers={"Connection": "close"})
        )
        answer = closed_by_server(sock)
    assert answer.count(b"HTTP/1.1 200") == 3


def test_an_authorization_header_just_under_the_limit_is_a_wrong_key_not_a_crash() -> None:
    with spawn_mock("--require-key", "right") as keyed:
        answer = httpx.post(
            keyed.url + "/v1", json=[task()], headers={"Authorization": "Bearer " + "k" * 15_000}, timeout=30
        )
        assert answer.status_code == 401 and "k" * 100 not in answer.text


def test_large_bodies_at_once_share_a_budget(mock: Server) -> None:
    # --max-body-mb 2: bodies being read share 4 MB. Two stalled 1.9 MB bodies hold most
    # of it; a third large one is refused with 503 and Retry-After instead of buffered.
    declared = {**AUTH, "Content-Length": str(int(1.9 * MB))}
    with raw_socket(mock.url) as one, raw_socket(mock.url) as two:
        for sock in (one, two):
            sock.sendall(request_bytes("POST", "/v1", b"[" + b" " * int(1.5 * MB), declared))

        def third_is_refused() -> bool:
            with raw_socket(mock.url) as three:
                three.sendall(request_bytes("POST", "/v1", b"[" + b" " * int(1.9 * MB - 2) + b"]", declared))
                status, body = envelope_of(closed_by_server(three))
                return status == 503 and body["errors"][0]["code"] == "serviceUnavailable"

        assert wait_until(third_is_refused, timeout_s=BOUND_S, poll_s=0.2)

    # Once they are gone (closed, or timed out), large bodies are read again: as soon as the
    # server has seen the two connections close (a moment after the client closed them;
    # asking at once failed one run in a full suite with the budget still held).
    def read_again() -> bool:
        small = httpx.post(mock.url + "/v1", content=b"[" + b" " * MB + b"]", headers=AUTH, timeout=30)
        return small.status_code == 400 and small.json()["errors"][0]["code"] == "invalidRequestBody"

    assert wait_until(read_again, timeout_s=BOUND_S, poll_s=0.2)


def test_stalled_uploads_that_fill_the_budget_do_not_lock_out_small_requests() -> None:
    # --max-body-mb 2: two stalled bodies of 2 MB less a byte fill the 4 MB budget to 2 bytes.
    # Every other caller's request was refused with 503 until they went away. (The default
    # body timeout: the module's 1 s could end the stall before the budget is seen full.)
    declared = {**AUTH, "Content-Length": str(2 * MB)}
    with spawn_mock("--max-body-mb", "2") as mock, raw_socket(mock.url) as one, raw_socket(mock.url) as two:
        for sock in (one, two):
            sock.sendall(request_bytes("POST", "/v1", b"[" + b" " * (2 * MB - 2), declared))

        def large_is_refused() -> bool:  # the budget is full: the two bodies have arrived
            # The probe declares 1 MB and sends none of it: refused up front once the budget is
            # full, else left waiting and closed. A probe that sent its body could itself push
            # the budget over while the stalled bodies still arrive, and get one of them refused.
            with raw_socket(mock.url, timeout_s=1) as three:
                three.sendall(request_bytes("POST", "/v1", b"", {**AUTH, "Content-Length": str(MB)}))
                try:
                    return three.recv(64).startswith(b"HTTP/1.1 503")
                except TimeoutError:
                    return False

        assert wait_until(large_is_refused, timeout_s=BOUND_S, poll_s=0.2)
        ping = httpx.post(
            mock.url + "/v1", json=[{"taskType": "ping", "ping": True}], headers=AUTH, timeout=30
        )
        assert ping.status_code == 200 and ping.json()["data"][0]["pong"] is True
        # Sent in chunks (no Content-Length declared), a small body is read too.
        chunks = iter([b'[{"taskType":', b'"ping","ping":true}]'])
        ping = httpx.post(mock.url + "/v1", content=chunks, headers=AUTH, timeout=30)
        assert ping.status_code == 200


@pytest.mark.parametrize("expect", [False, True])
def test_a_body_declared_over_the_limit_is_refused_before_it_is_read(mock: Server, expect: bool) -> None:
    # It waited for the body (the whole body timeout, here 1 s, then 408), and answered
    # "100 Continue" to a client that asked before sending a terabyte.
    headers = {**AUTH, "Content-Length": str(10**12), **({"Expect": "100-continue"} if expect else {})}
    with raw_socket(mock.url) as sock:
        sock.sendall(request_bytes("POST", "/v1", b"", headers))
        raw = closed_by_server(sock)
    assert not raw.startswith(b"HTTP/1.1 100")
    status, body = envelope_of(raw)
    assert status == 413 and body["errors"][0]["code"] == "requestTooLarge"


def test_a_client_that_never_reads_a_large_answer_is_dropped() -> None:
    # A base64 answer of several big PNGs; the client reads nothing (and asks the kernel
    # for a tiny receive buffer, so the answer cannot hide in socket buffers).
    reference = data_uri(noisy_png(1024, 1024), "image/png")
    body = json.dumps(
        [
            task(
                width=2048,
                height=2048,
                outputType="base64Data",
                outputFormat="PNG",
                numberResults=4,
                inputs={"referenceImages": [reference]},
            )
        ]
    ).encode()
    with spawn_mock("--send-timeout-s", "2") as server:
        with RssWatch(server.proc.pid) as watch:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.settimeout(BOUND_S)
            try:
                host, port = server.url.split("//")[1].split(":")
                sock.connect((host, int(port)))
                local_port = sock.getsockname()[1]
                sock.sendall(request_bytes("POST", "/v1", body, AUTH))
                assert wait_until(lambda: connections_from(server.proc.pid, local_port), timeout_s=BOUND_S)
                # The server drops the connection once a piece of the answer waits too long.
                assert wait_until(lambda: not connections_from(server.proc.pid, local_port), timeout_s=90)
            finally:
                sock.close()
        assert httpx.get(server.url + "/health", timeout=10).status_code == 200
        assert not watch.killed, str(watch)
        assert "Traceback" not in server.log_text()  # dropped on purpose: nothing to log


def test_a_content_length_of_thousands_of_digits_is_too_large_not_a_crash() -> None:
    # In-process no server parser bounds the header first: int() refused its 5,000 digits with
    # a ValueError, which reached the caller as a crash instead of an answer.
    with TestClient(create_app()) as client:
        answer = client.post("/v1", content=b"[]", headers={**AUTH, "Content-Length": "9" * 5000})
    assert answer.status_code == 413 and answer.json()["errors"][0]["code"] == "requestTooLarge"
