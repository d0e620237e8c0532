"""An answer's head and body go out in one write (``serve._OneWrite``), and nothing that
must go out on its own waits for a body: 100 Continue, the head of a HEAD answer, the
answers of pipelined requests. Raw sockets on 127.0.0.1 against the real server."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from mock_api.server.serve import _OneWrite
from mock_api.testing import AUTH, Server, spawn_mock, task
from tests.support.hostile import raw_socket, read_head, read_until_closed, request_bytes

BOUND_S = 30


@pytest.fixture(scope="module")
def mock() -> Iterator[Server]:
    with spawn_mock() as server:
        yield server


def test_100_continue_is_sent_before_the_body_is(mock: Server) -> None:
    body = json.dumps([task()]).encode()
    head = request_bytes("POST", "/v1", headers={**AUTH, "Expect": "100-continue", "Connection": "close"})
    head = head.replace(b"Content-Length: 0", f"Content-Length: {len(body)}".encode())
    with raw_socket(mock.url, timeout_s=BOUND_S) as sock:
        sock.sendall(head)
        assert read_head(sock).startswith(b"HTTP/1.1 100 Continue")  # a held write would hang here
        sock.sendall(body)
        answer = read_until_closed(sock)
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 200 OK"
    assert json.loads(rest.partition(b"\r\n\r\n")[2])["data"][0]["imageURL"]


def test_a_head_answer_has_no_body_to_wait_for(mock: Server) -> None:
    url = httpx.post(mock.url + "/v1", json=[task()], headers=AUTH, timeout=30).json()["data"][0]["imageURL"]
    path = url.removeprefix(mock.url)
    with raw_socket(mock.url, timeout_s=BOUND_S) as sock:
        sock.sendall(request_bytes("HEAD", path))  # keep-alive: nothing closes the connection
        head = read_head(sock)
        assert head.startswith(b"HTTP/1.1 200") and b"content-length:" in head.lower()
        sock.sendall(request_bytes("GET", "/health", headers={"Connection": "close"}))
        assert b'"status":"ok"' in read_until_closed(sock)


def test_pipelined_answers_each_arrive_whole(mock: Server) -> None:
    one, two, last = (json.dumps([task()]).encode() for _ in range(3))  # each its own taskUUID
    with raw_socket(mock.url, timeout_s=BOUND_S) as sock:
        sock.sendall(
            request_bytes("POST", "/v1", one, AUTH)
            + request_bytes("HEAD", "/health")
            + request_bytes("POST", "/v1", two, AUTH)
            + request_bytes("POST", "/v1", last, {**AUTH, "Connection": "close"})
        )
        answer = read_until_closed(sock)
    # HEAD /health: FastAPI's 405, a head with its small body, between the answers
    assert answer.count(b"HTTP/1.1 ") == 4 and answer.count(b'"imageURL"') == 3


class _Transport:
    """What uvicorn's cycle writes to, as the kernel would see it: one entry per syscall."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.aborted = self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def writelines(self, parts: tuple[bytes, ...]) -> None:
        self.writes.append(b"".join(parts))

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    def is_closing(self) -> bool:
        return self.closed or self.aborted


class _Cycle:
    response_started = False
    response_complete = False


class _Protocol:
    holding: _OneWrite | None = None


def test_the_head_and_the_first_piece_of_the_body_make_one_write() -> None:
    transport, cycle, protocol = _Transport(), _Cycle(), _Protocol()
    wrapped = _OneWrite(transport, cycle, protocol)  # type: ignore[arg-type]
    wrapped.write(b"HTTP/1.1 100 Continue\r\n\r\n")  # before the answer starts: at once
    assert transport.writes == [b"HTTP/1.1 100 Continue\r\n\r\n"]
    cycle.response_started = True
    wrapped.write(b"HEAD")
    assert len(transport.writes) == 1 and protocol.holding is wrapped
    wrapped.write(b"BODY1")
    wrapped.write(b"BODY2")  # later pieces: as they come
    assert transport.writes[1:] == [b"HEADBODY1", b"BODY2"] and protocol.holding is None
    assert not wrapped.is_closing()  # anything else is the transport's own

    flushed, closing = _Transport(), _Transport()
    held = _OneWrite(flushed, cycle, _Protocol())  # type: ignore[arg-type]
    held.write(b"HEAD")
    held.flush()  # the end of an answer without a body
    assert flushed.writes == [b"HEAD"]
    closer = _OneWrite(closing, cycle, _Protocol())  # type: ignore[arg-type]
    closer.write(b"HEAD")
    closer.close()  # a close sends what is held first
    assert closing.writes == [b"HEAD"] and closing.closed
    dropped = _Transport()
    aborter = _OneWrite(dropped, cycle, _Protocol())  # type: ignore[arg-type]
    aborter.write(b"HEAD")
    aborter.abort()
    assert dropped.writes == [] and dropped.aborted
