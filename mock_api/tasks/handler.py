"""What a task handler is given (``RequestContext``) and gives back (``TaskResult``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from api_schema import ErrorItem, make_error
from api_schema import errors as E

from ..state import MockState


@dataclass
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


@dataclass
class RequestContext:
    """One request (REST) or one connection (WebSocket), as the handlers see it."""

    state: MockState
    base_url: str  # where the request came in, over HTTP: image URLs resolve through it
    credentials: str | None = field(default=None, repr=False)  # the Authorization: Bearer key, if any
    # WebSocket: each finished image goes out as its own message. None over REST.
    push: Push | None = None
    # Set once a key was accepted; a WebSocket stays authenticated for its later messages.
    authenticated: bool = False
    # Who is calling, for per-key quotas: a keyed hash of the accepted key, never the key.
    caller: str | None = None
    session_uuid: str | None = None  # the connectionSessionUUID handed out on this connection
    connection: Connection | None = None  # WebSocket: where sessions are opened and resumed


Handler = Callable[[RequestContext, Any], Awaitable[TaskResult]]


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
