"""``run_receiver()``: a loopback HTTP server in a thread that records what it gets and
answers with a scripted list of statuses (for the mock's webhooks and uploads)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Hit:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Scripted answers: ``statuses`` are used in order, then ``default``."""

    statuses: list[int] = field(default_factory=list)
    default: int = 200
    hits: list[Hit] = field(default_factory=list)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)
    arrived: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self.arrived = threading.Condition(self.lock)

    def next_status(self) -> int:
        return self.statuses.pop(0) if self.statuses else self.default

    def wait_for(self, count: int, timeout: float = 15.0) -> list[Hit]:
        """Block until ``count`` requests arrived (or the timeout passed); returns them."""
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.hits) >= count, timeout=timeout)
            return list(self.hits)


@contextmanager
def run_receiver(statuses: list[int] | None = None, default: int = 200) -> Iterator[Receiver]:
    receiver = Receiver(statuses=list(statuses or []), default=default)

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            with receiver.arrived:
                status = receiver.next_status()
                receiver.hits.append(
                    Hit(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                receiver.arrived.notify_all()
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_POST = do_PUT = do_GET = _handle

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
