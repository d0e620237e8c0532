"""Time and memory bounds of every connection, on the app's side of the wire.

The outermost layer of the app, so they hold behind uvicorn and in-process alike:

- a request body must arrive within ``body_timeout_s`` of the request's start, else
  HTTP 408 ``requestTimeout`` and the connection is closed (a client that declares a
  body and never sends it does not hold a connection for ever);
- the bodies of all requests being read share ``max_inflight_body_bytes``: past it a
  request gets 503 ``serviceUnavailable`` with ``Retry-After`` instead of buffering
  without end (many large bodies at once would otherwise take any amount of memory);
- each piece of an answer must be taken by the client within ``send_timeout_s``,
  else the connection is dropped, so a client that never reads cannot hold an answer
  in memory; a large body is sent in pieces so that this holds for it too. The same
  goes for WebSocket messages.

A request line and headers over ``max_header_bytes`` get 431 here when they arrived
in one piece (the server protocol, ``serve``, only bounds a head that is still arriving;
it tells the wire, ``HEAD_BOUND``, when the piece was too short to hold a longer head).

The request's reader (the gateway) calls ``receive``; ``BodyTimeout`` and
``OverBudget`` come out of it and are answered here.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api_schema import errors as E

from ..config import MockConfig
from ..memory import LARGE_REQUEST_BYTES, give_back
from .envelope import Dropped, error_response

# Large bodies go out in pieces of this size, each with its own send deadline.
SEND_PIECE_BYTES = 256 * 1024
RETRY_AFTER_S = 1
# A body of at most this many bytes is read whatever the budget holds: the budget is there
# for large bodies, and two stalled uploads that filled it locked every other caller out,
# down to a ping. (Beyond the budget, this is at most this much per open connection.)
SMALL_BODY_BYTES = 64 * 1024
# Where the connection's own (bounded) ``send`` is kept in the scope, for an injected
# ``reset`` (``faults.drop_connection``): a middleware inside the wire (CORS) hands the
# gateway a wrapped ``send``.
RAW_SEND = "mock_api.raw_send"
# Where the server protocol (``serve``) puts at most how long a request's head was, when the
# head came in one piece it could bound by its length; in-process there is none.
HEAD_BOUND = "mock_api.head_bound"


class BodyTimeout(Exception):
    """The request body did not arrive in time."""


class OverBudget(Exception):
    """The bodies being read already fill the in-flight budget."""


class SendTimedOut(Dropped):
    """The client did not take a piece of the answer in time (a WebSocket sees a disconnect)."""


class Wire:
    """Body deadline, in-flight body budget and send timeout around the whole app."""

    def __init__(self, app: ASGIApp, config: MockConfig) -> None:
        self.app = app
        self.config = config
        self.budget = config.inflight_body_bytes
        self.inflight = 0  # body bytes received by requests still being answered

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        conn = Connection(self, scope, receive, send)
        limit = self.config.max_header_bytes
        if scope.get(HEAD_BOUND, limit + 1) > limit and head_size(scope) > limit:
            await conn.refuse_head()
            return
        if conn.declared is not None and conn.declared > self.config.max_body_bytes:
            # Refused unread: waiting for a body that will be refused anyway held the connection
            # for the whole body timeout, and uvicorn said "100 Continue" to a 1 GB one.
            await conn.refuse(413, E.REQUEST_TOO_LARGE, body_too_large(self.config.max_body_bytes))
            return
        scope[RAW_SEND] = conn.send  # uvicorn makes a scope per request: ours to add to
        try:
            await self.app(scope, conn.receive, conn.send)
        except BodyTimeout:
            await conn.refuse(
                408,
                E.REQUEST_TIMEOUT,
                f"The request body did not arrive within {self.config.body_timeout_s:g} s.",
            )
        except OverBudget:
            await conn.refuse(
                503,
                E.SERVICE_UNAVAILABLE,
                "The mock is reading too many large request bodies at once; retry shortly.",
                {"Retry-After": str(RETRY_AFTER_S)},
            )
        except Dropped:  # a client that does not read, or an answer that cannot be finished
            conn.drop()
        finally:
            self.inflight -= conn.counted
            # The scope holds the connection's send and the connection the scope: a cycle
            # that only the garbage collector would free (and did, 8 % of its time).
            scope.pop(RAW_SEND, None)
        if conn.counted + conn.sent > LARGE_REQUEST_BYTES:
            await give_back()


def head_size(scope: Scope) -> int:
    """The bytes of a request's line and headers, as they came on the wire (about)."""
    size = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"") + 16
    headers = scope.get("headers", [])
    # ": " and CRLF after each; sums in C (a generator over the pairs cost twice as much)
    return size + 4 * len(headers) + sum(map(len, itertools.chain.from_iterable(headers)))


def head_too_large(limit: int) -> str:
    return f"The request line and headers are larger than {limit} bytes."


# More digits than any body's length has: such a Content-Length is read as this (over every
# limit) instead of converted (int() refuses over 4,300 digits with a ValueError: a 500).
MAX_LENGTH_DIGITS = 18


def declared_length(digits: bytes | str) -> int:
    """A Content-Length's value (all digits), at most 10**18."""
    return int(digits) if len(digits) <= MAX_LENGTH_DIGITS else 10**MAX_LENGTH_DIGITS


def body_too_large(limit: int) -> str:
    return f"Request body is larger than {limit} bytes."


class Connection:
    """One request's (or WebSocket's) bounded ``receive`` and ``send``.

    ``transport`` is the server's connection when there is one (uvicorn's ``send``
    belongs to an object holding it): ``faults.drop_connection`` finds it here.
    """

    def __init__(self, wire: Wire, scope: Scope, receive: Receive, send: Send) -> None:
        self.wire = wire
        self.http = scope["type"] == "http"
        self._receive = receive
        self._send = send
        owner = getattr(send, "__self__", None)
        self.transport = getattr(owner, "transport", None)
        # uvicorn's request cycle, when it owns both: its send waits only while the transport's
        # writing is paused, its receive only until a body message is there. When neither
        # can wait, no deadline is armed (three timers per request were 8 % of the mock's CPU).
        self._cycle = owner if owner is not None and getattr(receive, "__self__", None) is owner else None
        # The monotonic clock (a vDSO read), not the loop's: asyncio.get_running_loop() makes a
        # getpid() system call each time, two of the four system calls an answer made.
        self.deadline = time.monotonic() + wire.config.body_timeout_s
        self.body_done = not self.http
        self.scope = scope
        self.counted = 0  # body bytes received
        self.sent = 0  # answer bytes sent
        self.started = False
        self.dropped = False
        declared = self.declared = self._declared_length(scope) if self.http else None
        # (A small body is never over budget: asked here, most requests make no call for it.)
        self.over_budget = (
            declared is not None and declared > SMALL_BODY_BYTES and self._over_budget(declared)
        )

    @staticmethod
    def _declared_length(scope: Scope) -> int | None:
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit():
                return declared_length(value)
        return None

    def _over_budget(self, declared: int) -> bool:
        # Over the body limit is refused before anything is read (``Wire``); under it,
        # refuse now what cannot fit.
        return (
            declared <= self.wire.config.max_body_bytes and self.wire.inflight + declared > self.wire.budget
        )

    async def receive(self) -> Message:
        if self.body_done:
            return await self._receive()
        if self.over_budget:
            raise OverBudget
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise BodyTimeout
        event = getattr(self._cycle, "message_event", None)
        if event is not None and event.is_set():
            message = await self._receive()  # already there: nothing to wait for
        else:
            try:  # asyncio's own timeout: half the cost of anyio's
                async with asyncio.timeout(remaining):
                    message = await self._receive()
            except TimeoutError:
                raise BodyTimeout from None
        if message["type"] == "http.request":
            size = len(message.get("body", b""))
            self.counted += size
            self.wire.inflight += size
            if not message.get("more_body"):
                self.body_done = True
            elif self.wire.inflight > self.wire.budget and self.counted > SMALL_BODY_BYTES:
                raise OverBudget
        else:
            self.body_done = True
        return message

    async def send(self, message: Message) -> None:
        if self.dropped:
            raise SendTimedOut("the connection was dropped: the client did not read")
        if message["type"] == "http.response.start":
            self.started = True
        body = message.get("body", b"") if message["type"] == "http.response.body" else b""
        self.sent += len(body) or len(message.get("text") or message.get("bytes") or b"")
        if len(body) <= SEND_PIECE_BYTES:
            if self._writable():  # (one coroutine fewer than ``_send_bounded`` for most answers)
                await self._send(message)
            else:
                await self._send_timed(message)
            return
        more = message.get("more_body", False)
        view = memoryview(body)
        for at in range(0, len(body), SEND_PIECE_BYTES):
            piece = bytes(view[at : at + SEND_PIECE_BYTES])
            last = at + SEND_PIECE_BYTES >= len(body)
            await self._send_bounded(
                {"type": "http.response.body", "body": piece, "more_body": more or not last}
            )

    def _writable(self) -> bool:
        """Whether the transport takes a message at once (uvicorn's cycle, writing not paused)."""
        flow = getattr(self._cycle, "flow", None)
        return flow is not None and not getattr(flow, "write_paused", True)

    async def _send_bounded(self, message: Message) -> None:
        if self._writable():
            await self._send(message)
        else:
            await self._send_timed(message)

    async def _send_timed(self, message: Message) -> None:
        """Send with a deadline: the client must take the message within ``send_timeout_s``."""
        try:
            async with asyncio.timeout(self.wire.config.send_timeout_s):
                await self._send(message)
                return
        except TimeoutError:
            pass
        self.drop()
        raise SendTimedOut("the client did not read the answer in time")

    def drop(self) -> None:
        """Abort the connection: the unsent answer is freed with it."""
        self.dropped = True
        if self.transport is not None and hasattr(self.transport, "abort"):
            self.transport.abort()

    async def refuse_head(self) -> None:
        limit = self.wire.config.max_header_bytes
        if self.http:
            await self.refuse(431, E.REQUEST_TOO_LARGE, head_too_large(limit))
        else:  # a WebSocket handshake: refused before it is accepted (uvicorn answers 403)
            with contextlib.suppress(OSError):
                await self._send({"type": "websocket.close", "code": 1009})

    async def refuse(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        """Answer a request refused by the wire, then close its connection."""
        if self.started or self.dropped:
            return
        response = error_response(status, code, message, headers={**(headers or {}), "Connection": "close"})
        self.body_done = True
        with contextlib.suppress(SendTimedOut):
            await response(self.scope, self._receive, self.send)
