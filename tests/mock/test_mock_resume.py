"""WebSocket session resume: results produced while a socket is gone wait for the client.

Against the real server: a job's images finish after the socket closed (the job clock is
moved with /__admin/clock, nothing waits on wall time), and a new socket authenticating with
the same key and connectionSessionUUID receives them right after its authentication answer,
without sending the request again. Another key, or the same key after 120 s, gets a new
session and nothing else. The bounds are held by the store itself (a fake clock and sockets).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from api_schema import ImageInferenceResult
from mock_api import MockConfig
from mock_api.config import SessionLimits
from mock_api.sessions import SessionStore
from mock_api.testing import KEY, run_mock_server, task
from tests.support.wire import authenticate, recv, send, ws_url

WAIT_S = 30  # bound of every wait for the server to reach a state


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    # speed 1: a job's images are due seconds from now, so they finish only when the clock moves.
    with run_mock_server(MockConfig(random_seed=21, speed=1.0)) as base:
        yield base


def admin(url: str, method: str, path: str, body: Any = None) -> Any:
    answer = httpx.request(method, url + "/__admin" + path, json=body, timeout=10)
    answer.raise_for_status()
    return answer.json()


def session_state(url: str, session: str) -> dict[str, Any] | None:
    found = [s for s in admin(url, "GET", "/sessions")["sessions"] if s["connectionSessionUUID"] == session]
    return found[0] if found else None


def wait_until_buffered(url: str, session: str, count: int) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        state = session_state(url, session)
        if state is not None and not state["connected"] and state["buffered"] >= count:
            return state
        time.sleep(0.05)
    raise AssertionError(f"session {session} never buffered {count} messages: {session_state(url, session)}")


async def start_job_then_lose_the_socket(
    url: str, *, drop_from_server: bool, count: int = 2
) -> tuple[str, dict]:
    """Authenticate, send a sync inference, lose the socket; its images finish afterwards."""
    t = task(numberResults=count)
    ws = await connect(ws_url(url))
    session = await authenticate(ws)
    await send(ws, t)
    if drop_from_server:
        assert admin(url, "POST", "/disconnect")["closed"] >= 1
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), WAIT_S)
        assert ws.close_code == 1012
    else:
        await ws.close()
    admin(url, "POST", "/clock", {"advance": 60})  # the job finishes now, with nobody listening
    wait_until_buffered(url, session, count)
    return session, t


@pytest.mark.parametrize("drop_from_server", [False, True], ids=["client-closed", "server-dropped"])
async def test_results_produced_while_disconnected_arrive_on_resume(url: str, drop_from_server: bool) -> None:
    httpx.delete(url + "/__admin/requests", timeout=10)
    session, t = await start_job_then_lose_the_socket(url, drop_from_server=drop_from_server)
    async with connect(ws_url(url)) as ws:
        assert await authenticate(ws, session=session) == session
        messages = [await recv(ws) for _ in range(2)]
        await send(ws, {"taskType": "ping", "ping": True})
        assert await recv(ws) == {"data": [{"taskType": "ping", "pong": True}]}  # nothing more was held
    results = [ImageInferenceResult.model_validate(m["data"][0]) for m in messages]
    assert {r.task_uuid for r in results} == {t["taskUUID"]} and len({r.image_uuid for r in results}) == 2
    # The request was not sent again: the second socket only authenticated and pinged.
    frames = [e["body"][0] for e in admin(url, "GET", "/requests")["requests"] if e["transport"] == "ws"]
    assert [f["taskType"] for f in frames] == ["authentication", "imageInference", "authentication", "ping"]
    assert frames[2]["connectionSessionUUID"] == session
    state = session_state(url, session)
    assert (
        state is not None and state["buffered"] == 0 and state["resumed"] == 1 and state["connected"] is False
    )


async def test_another_key_cannot_resume_a_session(url: str) -> None:
    session, t = await start_job_then_lose_the_socket(url, drop_from_server=False)
    async with connect(ws_url(url)) as ws:
        other = await authenticate(ws, key="someone-elses-key", session=session)
        assert other != session
        await send(ws, {"taskType": "ping", "ping": True})
        assert await recv(ws) == {"data": [{"taskType": "ping", "pong": True}]}
    # The owner still gets everything.
    async with connect(ws_url(url)) as ws:
        assert await authenticate(ws, session=session) == session
        assert {(await recv(ws))["data"][0]["taskUUID"] for _ in range(2)} == {t["taskUUID"]}


async def test_a_session_is_kept_120_seconds(url: str) -> None:
    session, _ = await start_job_then_lose_the_socket(url, drop_from_server=True)
    admin(url, "POST", "/clock", {"advance": 121})
    assert session_state(url, session) is None
    async with connect(ws_url(url)) as ws:
        assert await authenticate(ws, session=session) != session
        await send(ws, {"taskType": "ping", "ping": True})
        assert await recv(ws) == {"data": [{"taskType": "ping", "pong": True}]}


async def test_rest_has_no_session_to_resume(url: str) -> None:
    ws = await connect(ws_url(url))
    session = await authenticate(ws)
    await ws.close()
    auth = {"taskType": "authentication", "apiKey": KEY, "connectionSessionUUID": session}
    answer = httpx.post(url + "/v1", json=[auth], timeout=10).json()
    assert answer["data"][0]["connectionSessionUUID"] != session


async def test_a_session_resumed_elsewhere_leaves_the_first_socket_its_own_answers(url: str) -> None:
    async with connect(ws_url(url)) as first:
        session = await authenticate(first)
        async with connect(ws_url(url)) as second:
            assert await authenticate(second, session=session) == session
            await send(first, {"taskType": "ping", "ping": True})
            assert await recv(first) == {"data": [{"taskType": "ping", "pong": True}]}
            t = task()
            await send(first, t)  # asked on the first socket, answered there
            admin(url, "POST", "/clock", {"advance": 60})
            assert (await recv(first))["data"][0]["taskUUID"] == t["taskUUID"]


# --------------------------------------------------------------------------- the store's bounds


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Socket:
    def __init__(self) -> None:
        self.got: list[bytes] = []
        self.up = True

    async def __call__(self, message: bytes) -> bool:
        if self.up:
            self.got.append(message)
        return self.up


def store(**limits: Any) -> tuple[SessionStore, Clock]:
    clock = Clock()
    return SessionStore(clock, SessionLimits(**limits)), clock


def ids() -> Any:
    return lambda: str(uuid.uuid4())


def msg(n: int, size: int = 10) -> bytes:
    return json.dumps({"n": n, "pad": "x" * size}).encode()


async def test_a_session_keeps_at_most_its_count_and_bytes_oldest_dropped() -> None:
    sessions, _ = store(messages=3, bytes=10_000)
    socket = Socket()
    s = sessions.open("k", None, socket, ids())
    sessions.detach(s, socket)
    for n in range(5):
        await sessions.deliver(s, msg(n))
    assert [json.loads(m)["n"] for m in s.buffer] == [2, 3, 4] and s.dropped == 2
    await sessions.deliver(s, msg(9, size=20_000))  # bigger than the whole budget: not kept
    assert len(s.buffer) == 3 and s.dropped == 3
    again = Socket()
    assert sessions.open("k", s.uuid, again, ids()) is s
    await sessions.replay(s)
    assert [json.loads(m)["n"] for m in again.got] == [2, 3, 4]
    assert sessions.describe()["bufferedBytes"] == 0


async def test_a_key_keeps_at_most_its_sessions_and_bytes() -> None:
    sessions, clock = store(per_key=2, key_bytes=300, bytes=10_000)
    opened = []
    for _ in range(3):
        socket = Socket()
        s = sessions.open("k", None, socket, ids())
        clock.now += 1
        sessions.detach(s, socket)
        opened.append(s)
    assert opened[0].forgotten and not opened[1].forgotten and len(sessions) == 2
    assert sessions.open("k", opened[0].uuid, Socket(), ids()) is not opened[0]  # gone, a new one
    sessions, clock = store(per_key=5, key_bytes=300, bytes=10_000)
    a, b = (sessions.open("k", None, Socket(), ids()) for _ in range(2))
    other = sessions.open("other-key", None, Socket(), ids())
    for s in (a, b, other):
        sessions.detach(s, s.sink)  # type: ignore[arg-type]
    for n in range(6):
        await sessions.deliver(a if n < 3 else b, msg(n, size=60))  # ~80 bytes each
    # The key's budget drops its oldest messages first (a's), never another key's.
    await sessions.deliver(other, msg(100, size=60))
    kept = [json.loads(m)["n"] for s in (a, b) for m in s.buffer]
    assert sum(len(m) for s in (a, b) for m in s.buffer) <= 300 and kept[-1] == 5 and 0 not in kept
    assert [json.loads(m)["n"] for m in other.buffer] == [100]


async def test_the_mock_keeps_at_most_its_sessions_and_bytes() -> None:
    sessions, _ = store(max_sessions=3, total_bytes=250, bytes=10_000, key_bytes=10_000)
    made = [sessions.open(f"key-{n}", None, Socket(), ids()) for n in range(4)]
    assert made[0].forgotten and len(sessions) == 3
    for s in made[1:]:
        sessions.detach(s, s.sink)  # type: ignore[arg-type]
        await sessions.deliver(s, msg(0, size=60))
        await sessions.deliver(s, msg(1, size=60))
    assert sessions.describe()["bufferedBytes"] <= 250
    assert [json.loads(m)["n"] for m in made[-1].buffer] == [0, 1]  # the newest session's are kept


async def test_a_dead_socket_hands_its_messages_to_the_buffer_and_replay_keeps_the_order() -> None:
    sessions, clock = store()
    socket = Socket()
    s = sessions.open("k", None, socket, ids())
    await sessions.deliver(s, msg(0))
    socket.up = False  # gone, and nobody noticed yet
    await sessions.deliver(s, msg(1))
    assert s.sink is None and [json.loads(m)["n"] for m in s.buffer] == [1]
    clock.now += 119
    back = Socket()
    assert sessions.open("k", s.uuid, back, ids()) is s and s.replaying
    await sessions.deliver(s, msg(2))  # arrives during the replay: queued behind the buffer
    await sessions.replay(s)
    await sessions.deliver(s, msg(3))
    assert [json.loads(m)["n"] for m in back.got] == [1, 2, 3]
    sessions.detach(s, back)
    clock.now += 121
    assert sessions.open("k", s.uuid, Socket(), ids()) is not s and s.forgotten
