"""WebSocket sessions: what a client that lost its socket gets back when it resumes.

Each authentication on a socket opens a session (its ``connectionSessionUUID``). While the
socket is up, messages go straight to it; once it is gone, messages for the session (the
images of a job still running, the answer to a task in flight) are buffered. A client that
authenticates again on a new socket with the same connectionSessionUUID and the same key
gets the buffered messages, in order, right after its authentication answer, without
resending anything (docs: "Resuming Connections"). A session belongs to the key that
opened it: another key's resume opens a new session and learns nothing of the old one.

Bounded (``SessionLimits``): a disconnected session stays resumable ``buffer_s`` seconds
on the jobs' clock (so ``/__admin/clock`` ages it too); a session, a key and the whole mock
each have a message and byte budget, past which the oldest buffered messages are dropped,
and a key has at most ``per_key`` sessions (the oldest is forgotten).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .config import DEFAULTS, SessionLimits

# Sends one message on a live socket; False when the socket is gone.
Sink = Callable[[bytes], Awaitable[bool]]


def _first_to_go(sessions: Iterable[Session]) -> Session:
    """Of some sessions, the one to give up first: the longest disconnected, else the oldest."""
    candidates = list(sessions)
    detached = [s for s in candidates if s.detached_at is not None]
    return min(detached, key=lambda s: s.detached_at or 0.0) if detached else candidates[0]


def owner_of(key: str) -> str:
    """Who a session belongs to: a digest of the key (the key itself is never kept)."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(eq=False)
class Session:
    uuid: str
    owner: str = field(repr=False)
    sink: Sink | None = None  # the socket it is attached to, if any
    buffer: deque[bytes] = field(default_factory=deque)
    size: int = 0  # bytes buffered
    detached_at: float | None = None
    replaying: bool = False  # attached, its buffer not yet all sent: new messages queue behind it
    forgotten: bool = False  # expired or evicted: buffers nothing more
    resumed: int = 0
    dropped: int = 0  # messages dropped for the bounds


class SessionStore:
    def __init__(self, clock: Callable[[], float], limits: SessionLimits = DEFAULTS.sessions) -> None:
        self.clock = clock
        self.limits = limits
        self._sessions: dict[str, Session] = {}
        self._by_owner: dict[str, OrderedDict[str, Session]] = {}
        self._owner_bytes: dict[str, int] = {}
        self._detached: OrderedDict[str, Session] = OrderedDict()  # oldest disconnect first
        self._bytes = 0
        self._lock = threading.Lock()

    # ------------------------------------------------------------ sessions
    def open(self, key: str, requested: str | None, sink: Sink, new_uuid: Callable[[], str]) -> Session:
        """The session a socket authenticates into: ``requested`` resumed when it is this key's
        and still kept, else a new one. Either way it is attached to ``sink``."""
        owner = owner_of(key)
        with self._lock:
            self._prune()
            session = self._sessions.get(requested) if requested else None
            if session is None or session.owner != owner:
                session = self._new(owner, new_uuid)
            else:
                session.resumed += 1
            self._detached.pop(session.uuid, None)
            session.sink, session.detached_at = sink, None
            session.replaying = bool(session.buffer)
            return session

    def _new(self, owner: str, new_uuid: Callable[[], str]) -> Session:
        mine = self._by_owner.setdefault(owner, OrderedDict())
        while len(mine) >= self.limits.per_key:
            self._forget(_first_to_go(mine.values()))
        while len(self._sessions) >= self.limits.max_sessions:
            # The longest disconnected goes first, else the oldest (its socket keeps working).
            oldest = next(iter(self._detached.values()), None) or next(iter(self._sessions.values()))
            self._forget(oldest)
        mine = self._by_owner.setdefault(owner, mine)
        session = Session(uuid=new_uuid(), owner=owner)
        while session.uuid in self._sessions:  # a fixed random seed after a reset, say
            session.uuid = new_uuid()
        self._sessions[session.uuid] = session
        mine[session.uuid] = session
        return session

    def detach(self, session: Session, sink: Sink) -> None:
        """The socket ``sink`` is gone; the session starts buffering (if it was attached there)."""
        with self._lock:
            if session.sink is not sink or session.forgotten:
                return
            session.sink, session.replaying = None, False
            session.detached_at = self.clock()
            self._detached[session.uuid] = session

    def _forget(self, session: Session) -> None:
        """Drop a session and its buffer; the caller holds the lock."""
        self._sessions.pop(session.uuid, None)
        self._detached.pop(session.uuid, None)
        mine = self._by_owner.get(session.owner)
        if mine is not None:
            mine.pop(session.uuid, None)
            if not mine:
                del self._by_owner[session.owner]
        self._take(session, len(session.buffer))
        session.forgotten = True

    def _prune(self) -> None:
        now = self.clock()
        while self._detached:
            oldest = next(iter(self._detached.values()))
            if oldest.detached_at is not None and oldest.detached_at + self.limits.buffer_s > now:
                break
            self._forget(oldest)

    # ------------------------------------------------------------ messages
    async def deliver(self, session: Session, message: bytes) -> None:
        """Send on the session's socket, or buffer while it has none (or is still replaying)."""
        sink = session.sink
        if sink is not None and not session.replaying:
            if await sink(message):
                return
            self.detach(session, sink)  # the socket died under us: keep the message
        with self._lock:
            self._prune()
            self._keep(session, message)

    async def replay(self, session: Session) -> None:
        """Send what was buffered, oldest first, on the socket that resumed the session."""
        while True:
            with self._lock:
                sink = session.sink
                if sink is None or not session.buffer:
                    session.replaying = False
                    return
                message = session.buffer[0]
            if not await sink(message):
                self.detach(session, sink)
                return
            with self._lock:
                if session.buffer and session.buffer[0] is message:
                    self._take(session, 1)

    def _keep(self, session: Session, message: bytes) -> None:
        limits = self.limits
        if session.forgotten or len(message) > min(limits.bytes, limits.key_bytes, limits.total_bytes):
            session.dropped += 1
            return
        session.buffer.append(message)
        session.size += len(message)
        self._owner_bytes[session.owner] = self._owner_bytes.get(session.owner, 0) + len(message)
        self._bytes += len(message)
        while len(session.buffer) > limits.messages or session.size > limits.bytes:
            self._drop_oldest(session)
        mine = self._by_owner.get(session.owner, {})
        while self._owner_bytes.get(session.owner, 0) > limits.key_bytes:
            others = [s for s in mine.values() if s.buffer and s is not session]
            self._drop_oldest(_first_to_go(others) if others else session)
        while self._bytes > limits.total_bytes:
            victim = next((s for s in self._detached.values() if s.buffer and s is not session), None)
            if victim is None:
                victim = next((s for s in self._sessions.values() if s.buffer and s is not session), session)
            self._drop_oldest(victim)

    def _drop_oldest(self, session: Session) -> None:
        self._take(session, 1)
        session.dropped += 1

    def _take(self, session: Session, count: int) -> None:
        for _ in range(min(count, len(session.buffer))):
            size = len(session.buffer.popleft())
            session.size -= size
            self._bytes -= size
            left = self._owner_bytes.get(session.owner, 0) - size
            if left > 0:
                self._owner_bytes[session.owner] = left
            else:
                self._owner_bytes.pop(session.owner, None)

    # ------------------------------------------------------------ upkeep
    def describe(self) -> dict[str, Any]:
        """For /__admin/sessions: each session's state (never its key), and the totals."""
        with self._lock:
            self._prune()
            now = self.clock()
            sessions = [
                {
                    "connectionSessionUUID": s.uuid,
                    "connected": s.sink is not None,
                    "buffered": len(s.buffer),
                    "bufferedBytes": s.size,
                    "resumed": s.resumed,
                    "dropped": s.dropped,
                    "expiresIn": None
                    if s.detached_at is None
                    else round(s.detached_at + self.limits.buffer_s - now, 3),
                }
                for s in self._sessions.values()
            ]
            return {"sessions": sessions, "bufferedBytes": self._bytes, "bufferS": self.limits.buffer_s}

    def clear(self) -> None:
        with self._lock:
            for session in list(self._sessions.values()):
                self._forget(session)

    def __len__(self) -> int:
        return len(self._sessions)
