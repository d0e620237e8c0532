"""What a task handler is given (``RequestContext``) and gives back (``TaskResult``)."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from api_schema import ErrorItem, make_error
from api_schema import errors as E

from ..state import MockState


@dataclass(slots=True)  # made per answer: no __dict__ to allocate
class TaskResult:
    """What one task contributed to the envelope, and the HTTP status if it failed."""

    data: list[dict[str, Any]] = field(default_factory=list)
    errors: list[ErrorItem] = field(default_factory=list)
    status: int = 200
    retry_after_s: int | None = None  # a 429's Retry-After


# Sends one result as its own message, before the task's answer is complete.
Push = Callable[[TaskResult], Awaitable[None]]


class Connection(Protocol):
    """The socket a WebSocket request came in on (there is none over REST)."""

    def open_session(self, key: str, requested: str | None) -> str:
        """Authenticate the socket into a session (``requested`` resumed when it may be); its UUID."""
        ...


@dataclass(slots=True)  # made per answer: no __dict__ to allocate
class RequestContext:
    """One request (REST) or one connection (WebSocket), as the handlers see it."""

    state: MockState
    base_url: str  # where the request came in, over HTTP: image URLs resolve through it
    credentials: str | None = field(default=None, repr=False)  # the Authorization: Bearer key, if any
    # WebSocket: each finished image goes out as its own message. None over REST.
    push: Push | None = None
    # Set once a key was accepted; a WebSocket stays authenticated for its later messages.
    authenticated: bool = False
    # The key the batch was accepted with (``accept``); only ``caller`` reads it.
    accepted_key: str | None = field(default=None, repr=False)
    session_uuid: str | None = None  # the connectionSessionUUID handed out on this connection
    connection: Connection | None = None  # WebSocket: where sessions are opened and resumed
    _caller: str | None = field(default=None, repr=False)

    def accept(self, key: str | None) -> None:
        """The batch may run, with this key (None: a WebSocket authenticated before)."""
        self.authenticated = True
        if key is not None and key != self.accepted_key:
            self.accepted_key, self._caller = key, None

    @property
    def caller(self) -> str | None:
        """Who is calling, for per-key quotas: a keyed hash of the accepted key, never the key.
        Worked out when a quota asks (async jobs): a sync answer never needs it, and the hash
        was 1 % of the mock's CPU per answer."""
        if self._caller is None and self.accepted_key is not None:
            self._caller = caller_id(self.state.key_salt, self.accepted_key)
        return self._caller


Handler = Callable[[RequestContext, Any], Awaitable[TaskResult]]


def caller_id(salt: bytes, key: str) -> str:
    """Who a key is, for quotas: a keyed hash (the salt is per process), never the key.

    BLAKE2b's own keyed mode: one C call, under half the cost of HMAC-SHA256's Python wrapper.
    """
    return hashlib.blake2b(key.encode("utf-8", "surrogatepass"), key=salt, digest_size=12).hexdigest()


def failed(
    status: int,
    code: str,
    message: str,
    *,
    parameter: str | None = None,
    task_type: str | None = None,
    task_uuid: str | None = None,
    retry_after_s: int | None = None,
) -> TaskResult:
    """A task that failed with one error item and the given HTTP status."""
    error = make_error(code, message, parameter=parameter, task_type=task_type, task_uuid=task_uuid)
    return TaskResult(errors=[error], status=status, retry_after_s=retry_after_s)


def internal_error(
    exc: Exception, *, task_type: str | None = None, task_uuid: str | None = None
) -> TaskResult:
    """A bug in the mock, answered Runware-style (the traceback goes to the log, not the client)."""
    message = f"Internal error in the mock server ({type(exc).__name__})."
    return failed(500, E.SERVER_ERROR, message, task_type=task_type, task_uuid=task_uuid)


def conflict(task_type: str, task_uuid: str) -> TaskResult:
    """conflictTaskUUID: the taskUUID was used before (imageInference, imageUpload, mediaStorage)."""
    return failed(
        400,
        E.CONFLICT_TASK_UUID,
        f"taskUUID {task_uuid} was already used by an earlier task; send a new UUID v4 per task.",
        parameter="taskUUID",
        task_type=task_type,
        task_uuid=task_uuid,
    )
