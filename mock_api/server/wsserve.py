"""How uvicorn reads the mock's WebSocket messages: one memory budget across all sockets.

uvicorn's WebSocket protocol (websockets' sans-I/O one, uvicorn's ``auto``) bounds each
message by ``ws_max_size`` and stops reading a socket while its last message waits for
the app, but nothing bounds the sockets together: 24 sockets each sending a 31 MB
message held 24 of them at once (plus their copies, ~1 GB). ``MockWebSocketProtocol``
counts, for every socket, the bytes of the message still arriving (websockets' buffer
and uvicorn's fragments), of the messages waiting for the app and of the one the app
is handling (until it asks for the next); all sockets share ``MessageBudget``
(``inflight_body_bytes``, counted apart from the HTTP bodies ``wire`` counts). A socket
whose arriving messages take the budget past its limit while other sockets hold part of
it gets a ``serviceUnavailable`` envelope and close code 1013 (try again later), and is
closed: nothing more of it is kept. A message of up to
``SMALL_MESSAGE_BYTES`` always goes through (it is counted, never refused): a ping, an
authentication or a prompt is never turned away because someone else sends large ones.

Per-message compression (permessage-deflate) is not offered (``serve.uvicorn_config``):
a compressed message's size is known only once it is inflated, so 31 KB on the wire
became 31 MB at once before anything could count it, and a few such messages in one read
would all be inflated in one go. Uncompressed, each byte held costs the sender a byte on
the wire, as for an HTTP body. RFC 7692 lets a server decline the extension; the
official SDKs (Python's ``websockets``, JavaScript's ``ws``) offer it and go on without.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from api_schema import errors as E

from ..tasks.handler import failed
from .envelope import dumps, envelope
from .wire import SMALL_BODY_BYTES

# A message of up to this many bytes is never refused for load (a ping, an authentication,
# tasks without inline pictures); one with an inline picture is larger. Together they hold
# at most this much per socket, which is what each socket costs in buffers anyway. The same
# bound as a small HTTP body's, for the same reason.
SMALL_MESSAGE_BYTES = SMALL_BODY_BYTES
TRY_AGAIN_LATER = 1013
OVER_BUDGET = "The mock is reading too many large WebSocket messages at once; send the message again shortly."


class MessageBudget:
    """The bytes of WebSocket messages the server holds at once, across all its sockets."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0


def _size(event: Any) -> int:
    if event.get("type") != "websocket.receive":
        return 0
    return len(event.get("text") or event.get("bytes") or b"")


class _Inbox(asyncio.Queue):  # type: ignore[type-arg]
    """uvicorn's queue of events for the app, knowing how many message bytes it holds
    (``_put``/``_get`` are the hooks asyncio's own queue kinds override)."""

    def __init__(self) -> None:
        super().__init__()
        self.bytes = 0

    def _put(self, item: Any) -> None:
        self.bytes += _size(item)
        super()._put(item)

    def _get(self) -> Any:
        item = super()._get()
        self.bytes -= _size(item)
        return item


class MockWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O WebSocket protocol, its messages counted in one shared budget."""

    def __init__(self, config: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self.queue = _Inbox()
        budget = getattr(config, "ws_budget", None)
        if budget is None:  # a Config that ``uvicorn_config`` did not make: one budget for it
            budget = config.ws_budget = MessageBudget(2 * config.ws_max_size)
        self.budget: MessageBudget = budget
        self.held = 0  # this socket's share of the budget
        self.handling = 0  # bytes of the message the app took last
        self.refused = False

    def _count(self) -> None:
        held = self.handling + self.queue.bytes + len(self.conn.reader.buffer) + sum(map(len, self.frames))
        self.budget.held += held - self.held
        self.held = held

    def data_received(self, data: bytes) -> None:
        if self.refused:
            return  # the connection is closing: nothing it still sends is kept
        super().data_received(data)
        self._count()
        arriving = self.held - self.handling
        if (
            self.budget.held > self.budget.limit
            and arriving > SMALL_MESSAGE_BYTES
            and self.budget.held > self.held  # alone, a message is the size limit's business
        ):
            self._refuse()

    def _refuse(self) -> None:
        self.refused = True
        self.conn.reader.discard()
        self.frames = []
        self._drop_messages()  # those the app has not taken are never answered now
        self.queue.put_nowait({"type": "websocket.disconnect", "code": TRY_AGAIN_LATER})
        if self.handshake_complete and not self.close_sent and not self.transport.is_closing():
            body = dumps(envelope([failed(503, E.SERVICE_UNAVAILABLE, OVER_BUDGET)])[1])
            self.conn.send_text(body)
            # As for a message over ``ws_max_size``: the close frame, then the connection is
            # closed; what the client still sends is not read (Linux delivers what it was sent
            # before the reset, and websockets' client reports 1013 from its send()).
            self.conn.fail(TRY_AGAIN_LATER, "try again later")
            self.transport.write(b"".join(self.conn.data_to_send()))
        self.close_sent = True
        self.stop_keepalive()
        self.transport.close()

    async def receive(self) -> Any:
        self.handling = 0  # the app asks for the next message: it is done with the last one
        self._count()
        message = await super().receive()
        self.handling = _size(message)
        self._count()
        return message

    async def send(self, message: Any) -> None:
        if self.refused:
            raise ClientDisconnected  # the app's answers to a refused socket go nowhere
        await super().send(message)

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self.conn.reader.discard()  # a message cut off half-way is never finished
        self.frames = []
        self._count()

    async def run_asgi(self) -> None:
        try:
            await super().run_asgi()
        finally:  # the app is gone: what it did not take is freed with the connection
            self.handling = 0
            self._drop_messages()

    def _drop_messages(self) -> None:
        """Take the messages out of the app's queue, keeping its other events in order."""
        events = [self.queue.get_nowait() for _ in range(self.queue.qsize())]
        for event in events:
            if event["type"] != "websocket.receive":
                self.queue.put_nowait(event)
        self._count()
