"""Payloads that cost CPU or memory to read, and /health while they are read.

Before: a 1.4 MB task with 100,000 unknown fields took 12 s of CPU on the event loop
(an error item and a fuzzy "did you mean" per field: an 18.6 MB answer, /health
blocked for 11.7 s). The schema now reports at most 20 items (main), and large
payloads are decoded and validated in a worker thread: /health is answered while one
is being validated. A body holding more than 100,000 JSON values (ten million tiny
objects, a million tiny tasks) is refused before decoding.
No timing is asserted: the test checks the order of the answers.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from mock_api.testing import AUTH, Server, spawn_mock, task
from tests.support.hostile import MB, RssWatch, raw_socket, read_until_closed, request_bytes

# How long the heavy payload is given to reach the server and start being read before
# /health is asked (not a bound on anything: the order of answers is asserted).
HEAD_START_S = 0.1


@pytest.fixture(scope="module")
def mock() -> Iterator[Server]:
    with spawn_mock("--speed", "0") as server:
        yield server


def unknown_fields(count: int, name_chars: int = 8) -> dict:
    return {f"f{n:0{name_chars}d}": 0 for n in range(count)}


def test_a_task_with_100000_unknown_fields_gets_a_bounded_answer(mock: Server) -> None:
    body = [task(**unknown_fields(100_000))]
    assert len(json.dumps(body)) > 1.4 * MB
    answer = httpx.post(mock.url + "/v1", json=body, headers=AUTH, timeout=60)
    assert answer.status_code == 400 and len(answer.content) < 1024
    assert "more than 100000 JSON values" in answer.json()["errors"][0]["message"]
    # Just under that limit the task is validated: 20 items, the last saying how many more.
    answer = httpx.post(mock.url + "/v1", json=[task(**unknown_fields(90_000))], headers=AUTH, timeout=60)
    assert answer.status_code == 400 and len(answer.content) < 16 * 1024
    errors = answer.json()["errors"]
    assert len(errors) == 20 and "more" in errors[-1]["message"]


def heavy_body() -> bytes:
    """About 30 MB: 100 tasks of 950 made-up fields with 300-character names (under every limit)."""
    tasks = [task(**unknown_fields(950, name_chars=300)) for _ in range(100)]
    return json.dumps(tasks).encode()


def test_health_answers_while_a_heavy_payload_is_validated(mock: Server) -> None:
    body = heavy_body()
    assert 25 * MB < len(body) < 32 * MB
    with raw_socket(mock.url, timeout_s=120) as heavy:
        heavy.sendall(request_bytes("POST", "/v1", body, AUTH))
        time.sleep(HEAD_START_S)
        health = httpx.get(mock.url + "/health", timeout=60)
        assert health.status_code == 200
        heavy.setblocking(False)
        try:
            early = heavy.recv(1)
        except BlockingIOError:
            early = b""  # nothing yet: still being validated when /health answered
        assert early == b"", "the heavy payload was answered before /health: it blocked the event loop"
        heavy.setblocking(True)
        heavy.settimeout(120)
        answer = read_until_closed_or_complete(heavy)
    assert answer.startswith(b"HTTP/1.1 400")


def read_until_closed_or_complete(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    return data


def test_ten_million_tiny_objects_are_refused_before_decoding(mock: Server) -> None:
    body = b"[" + b"{}," * (10_000_000) + b"{}]"  # 30 MB: ~700 MB once decoded
    with RssWatch(mock.proc.pid) as watch:
        answer = httpx.post(
            mock.url + "/v1", content=body, headers={**AUTH, "Content-Type": "application/json"}
        )
    assert answer.status_code == 400 and "JSON values" in answer.json()["errors"][0]["message"]
    assert watch.growth_mb < 120, str(watch)


def test_a_million_tiny_tasks_are_refused_by_count(mock: Server) -> None:
    body = json.dumps([{"taskType": "ping"}] * 101).encode()
    assert (
        httpx.post(
            mock.url + "/v1", content=body, headers={**AUTH, "Content-Type": "application/json"}
        ).json()["errors"][0]["message"]
        == "At most 100 tasks per request."
    )
    million = b"[" + b"1," * 1_000_000 + b"1]"  # over the values limit: refused unread
    answer = httpx.post(
        mock.url + "/v1", content=million, headers={**AUTH, "Content-Type": "application/json"}, timeout=60
    )
    assert "JSON values" in answer.text
    million = b"[" + b"1," * 90_000 + b"1]"  # under it: read up to task 101, then refused
    with RssWatch(mock.proc.pid) as watch:
        answer = httpx.post(
            mock.url + "/v1",
            content=million,
            headers={**AUTH, "Content-Type": "application/json"},
            timeout=60,
        )
    assert "At most 100 tasks" in answer.text and watch.growth_mb < 120, str(watch)


def test_the_mock_is_fine_after_the_floods(mock: Server) -> None:
    with raw_socket(mock.url) as sock:
        sock.sendall(request_bytes("GET", "/health", headers={"Connection": "close"}))
        assert read_until_closed(sock).startswith(b"HTTP/1.1 200")
    assert "Traceback" not in mock.log_text()


def test_an_injected_fault_does_not_decode_a_body_the_pipeline_refuses_unread(mock: Server) -> None:
    # A fault's errors name the request's tasks, so the fault decoded the body, on the event
    # loop and past the JSON value bound: 30 MB of "[{},...]" with X-Mock-Fault held /health
    # for 4 s and took 800 MB. Past the bound, the fault answers with one error naming none.
    body = b"[" + b",".join([b"{}"] * 200_000) + b"]"
    headers = {**AUTH, "Content-Type": "application/json", "X-Mock-Fault": "503"}
    answer = httpx.post(mock.url + "/v1", content=body, headers=headers, timeout=60)
    assert answer.status_code == 503
    assert len(answer.json()["errors"]) == 1
    # Within the bound, the errors still name each task.
    sent = [task(), task()]
    answer = httpx.post(mock.url + "/v1", json=sent, headers=headers, timeout=60)
    assert [e["taskUUID"] for e in answer.json()["errors"]] == [t["taskUUID"] for t in sent]
