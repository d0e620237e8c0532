"""How uvicorn serves the mock: the bounds that hold before a request reaches the app.

- A request's head (request line and headers) must arrive within ``header_timeout_s``
  and fit in ``max_header_bytes``: a connection that never sends one, or trickles it a
  byte at a time (slowloris), gets 408 ``requestTimeout`` and is closed; a head too
  large gets 431 ``requestTooLarge``. uvicorn has no such deadline of its own.
- An idle keep-alive connection is closed after ``keep_alive_s``.
- A WebSocket message may be a little larger than ``max_body_bytes``, so that the app
  can answer it with its ``requestTooLarge`` envelope; a bigger one is closed by the
  protocol with 1009 (message too big). uvicorn's own default is 16 MiB whatever the
  body limit.
- WebSocket messages being read or handled share one budget across all sockets, the
  size of the in-flight body budget, and are not compressed (``wsserve``).

The body deadline, the in-flight body budget and the send timeout are the app's
(``wire``), so they hold in-process too. ``uvicorn_config`` is used by
``python -m mock_api`` and by ``mock_api.testing.run_mock_server`` alike.
"""

from __future__ import annotations

import asyncio
import logging
from http import HTTPStatus
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from api_schema import errors as E

from ..config import DEFAULTS, MockConfig
from ..tasks.handler import failed
from .envelope import dumps, envelope
from .wire import HEAD_BOUND, head_too_large
from .wsserve import MessageBudget, MockWebSocketProtocol

# Room past the body limit for a WebSocket message the app still reads (to answer it).
WS_OVERSIZE_MARGIN = 1024 * 1024


def _error_bytes(status: int, code: str, message: str) -> bytes:
    """A whole HTTP/1.1 response carrying one error envelope, closing the connection."""
    body = dumps(envelope([failed(status, code, message)])[1])
    head = (
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
        "content-type: application/json\r\n"
        f"content-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class _OneWrite:
    """The connection's transport as one request's answer writes to it: the answer's head
    is held until the first piece of its body, and both go out in one ``writelines``
    (one writev: uvicorn writes them apart, two syscalls per answer). Anything else
    (100 Continue, an answer's later pieces) goes straight through; a close or the end
    of the answer sends what is held, an abort drops it."""

    __slots__ = ("_cycle", "_head_sent", "_held", "_protocol", "_transport")

    def __init__(self, transport: asyncio.Transport, cycle: Any, protocol: MockHttpToolsProtocol) -> None:
        self._transport = transport
        self._cycle = cycle
        self._protocol = protocol
        self._held: bytes | None = None
        self._head_sent = False

    def _take(self) -> bytes | None:
        held, self._held = self._held, None
        self._protocol.holding = None
        return held

    def write(self, data: bytes) -> None:
        if self._held is not None:
            self._transport.writelines((self._take(), data))
        elif not self._head_sent and self._cycle.response_started and not self._cycle.response_complete:
            self._held, self._head_sent = data, True  # the head: uvicorn writes it as the answer starts
            self._protocol.holding = self
            # Not needed again, and the cycle holds this as its transport: no reference cycle
            # left for the garbage collector to find (each was a request's worth of objects).
            self._cycle = None
        else:
            self._transport.write(data)

    def flush(self) -> None:
        if self._held is not None:
            self._transport.write(self._take())

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._take()
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class MockHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol (llhttp, in C: h11's pure-Python parser cost a fifth of
    the mock's CPU) with a deadline and a size bound on each request's head, and
    Runware-shaped answers to a head that is late, too large or malformed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.head_timeout_s: float = getattr(self.config, "header_timeout_s", DEFAULTS.header_timeout_s)
        self.max_head_bytes: int = getattr(self.config, "max_header_bytes", DEFAULTS.max_header_bytes)
        self._head_timer: asyncio.TimerHandle | None = None
        self._head_open = False  # a request's head has begun and is not complete yet
        self._head_seen = 0  # bytes received while it was open (an upper bound of its size)
        self._piece_bound = 0  # at most how long a head that completes in this piece can be
        self._idle_timer: asyncio.TimerHandle | None = None
        self._idle_since = 0.0  # when the last answer was finished (loop time)
        self.holding: _OneWrite | None = None  # the answer whose head is held (one at a time)
        # uvicorn logs each answer whenever its access logger has a handler, and works out the
        # line's client address and path first (2 % of the mock's CPU under wrk) even when the
        # level (``--log-level warning``) then drops it: asked once per connection here.
        self.access_log = self.access_log and self.access_logger.isEnabledFor(logging.INFO)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        # A head that completes in this piece is no longer than the piece and what was seen
        # of it before: within the limit, the wire need not measure it again (``HEAD_BOUND``).
        self._piece_bound = len(data) + (self._head_seen if self._head_open else 0)
        super().data_received(data)
        if self.transport.is_closing() or self.transport.get_protocol() is not self:  # _gone(), inline:
            self._disarm()  # once per request, where a method call is 0.2 % of an answer
            return
        if not self._head_open:
            self._disarm()  # idle between requests is timeout_keep_alive's; a body is the wire's
            return
        # llhttp keeps no buffer of its own, but a header still arriving is: bound it.
        self._head_seen += len(data)
        if self._head_seen > self.max_head_bytes:
            self._answer_and_close(431, E.REQUEST_TOO_LARGE, head_too_large(self.max_head_bytes))
        elif self._head_timer is None:
            self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_open, self._head_seen = True, 0

    def on_headers_complete(self) -> None:
        self._head_open = False
        self._disarm()
        before = self.cycle
        super().on_headers_complete()
        if self.cycle is not None and self.cycle is not before:  # not for a WebSocket's upgrade
            self.cycle.transport = _OneWrite(self.transport, self.cycle, self)
            self.cycle.scope[HEAD_BOUND] = self._piece_bound  # type: ignore[literal-required]

    def on_response_complete(self) -> None:
        if self.holding is not None:  # an answer without a body (HEAD): its head goes now
            self.holding.flush()
        self._disarm()  # until the next request's first byte: idle time is the keep-alive's
        # uvicorn's own, but for its keep-alive timer: it armed a new one after every answer and
        # cancelled it at the next request (2.4 us, 1.2 % of an answer's instructions). One timer
        # per connection instead, which looks at how long the connection has been idle when it
        # fires (``_idle_late``).
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self.flow.resume_reading()
        if self.pipeline:  # the next pipelined request
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
            return
        self._idle_since = self.loop.time()
        if self._idle_timer is None:
            self._idle_timer = self.loop.call_later(self.timeout_keep_alive, self._idle_late)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        self.holding = None
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        self._answer_and_close(
            400, E.INVALID_REQUEST_BODY, "The request line and headers are not valid HTTP/1.1."
        )

    def _answer_and_close(self, status: int, code: str, message: str) -> None:
        self._disarm()
        self.transport.write(_error_bytes(status, code, message))
        self.transport.close()

    def _arm(self) -> None:
        self._disarm()
        self._head_timer = self.loop.call_later(self.head_timeout_s, self._head_late)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _gone(self) -> bool:
        """Whether the connection is closing, or no longer this protocol's (a WebSocket now)."""
        return self.transport.is_closing() or self.transport.get_protocol() is not self

    def _idle_late(self) -> None:
        """Close the connection once it has been idle for ``timeout_keep_alive`` since its last
        answer; while a request is in progress, the end of its answer arms this again."""
        self._idle_timer = None
        if self._gone():
            return
        if self._head_open or (self.cycle is not None and not self.cycle.response_complete):
            return
        remaining = self._idle_since + self.timeout_keep_alive - self.loop.time()
        if remaining > 0:  # another answer was finished since this was armed
            self._idle_timer = self.loop.call_later(remaining, self._idle_late)
        else:
            self.timeout_keep_alive_handler()

    def _head_late(self) -> None:
        self._head_timer = None
        if self._gone():
            return
        if self.cycle is not None and not self.cycle.response_complete and not self._head_open:
            return  # a request is being answered: its body and answer have their own bounds
        message = f"The request's headers did not arrive within {self.head_timeout_s:g} s."
        self._answer_and_close(408, E.REQUEST_TIMEOUT, message)


def uvicorn_config(app: Any, *, host: str, port: int, **options: Any) -> uvicorn.Config:
    """uvicorn's settings for serving ``app`` (made by ``create_app``) with its config's bounds."""
    state = getattr(getattr(app, "state", None), "mock", None)
    config: MockConfig = state.config if state is not None else DEFAULTS
    settings: dict[str, Any] = {
        "http": MockHttpToolsProtocol,
        "ws_max_size": config.max_body_bytes + WS_OVERSIZE_MARGIN,
        # Not offered: a compressed message's size is known only once it is inflated (wsserve).
        "ws_per_message_deflate": False,
        "timeout_keep_alive": config.keep_alive_s,
        **options,
    }
    if settings.get("ws", "auto") == "auto":  # uvicorn's own choice (websockets' sans-I/O), bounded
        settings["ws"] = MockWebSocketProtocol
    server_config = uvicorn.Config(app, host=host, port=port, **settings)
    # Separate from the HTTP bodies' budget (``wire``'s), with the same size.
    server_config.ws_budget = MessageBudget(config.inflight_body_bytes)  # type: ignore[attr-defined]
    # For MockHttpToolsProtocol, which uvicorn's Config has no fields for.
    server_config.header_timeout_s = config.header_timeout_s  # type: ignore[attr-defined]
    server_config.max_header_bytes = config.max_header_bytes  # type: ignore[attr-defined]
    return server_config
