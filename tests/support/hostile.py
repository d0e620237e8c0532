"""What the hostile tests share: a watch on a server's memory, raw loopback sockets,
and pictures built to lie about their size.

Everything here is bounded: the memory watch kills the process it watches past a
limit (so a test that finds a leak fails instead of taking the machine down), every
socket has a timeout, every wait has a deadline.
"""

from __future__ import annotations

import base64
import contextlib
import io
import socket
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import psutil

MB = 1024 * 1024
# A server past this is killed by the watch: the test fails, the machine survives.
KILL_RSS = 3 * 1024 * MB


# --------------------------------------------------------------------------- memory


@dataclass
class RssWatch:
    """Samples a process's resident memory every ``interval_s`` until stopped."""

    pid: int
    kill_at: int = KILL_RSS
    interval_s: float = 0.02
    start: int = 0
    peak: int = 0
    killed: bool = False
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> RssWatch:
        self.start = self.peak = self._rss()
        self._thread = threading.Thread(target=self._run, name=f"rss-{self.pid}", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self.sample()

    def _rss(self) -> int:
        try:
            return psutil.Process(self.pid).memory_info().rss
        except psutil.Error:
            return 0

    def sample(self) -> int:
        rss = self._rss()
        self.peak = max(self.peak, rss)
        return rss

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            if self.sample() > self.kill_at:
                self.killed = True
                with contextlib.suppress(psutil.Error):
                    psutil.Process(self.pid).kill()
                return

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.start) / MB

    def __str__(self) -> str:
        return f"RSS {self.start / MB:.0f} MB -> peak {self.peak / MB:.0f} MB (+{self.growth_mb:.0f} MB)"


def wait_until(check, timeout_s: float = 30.0, poll_s: float = 0.05) -> bool:
    """Poll ``check()`` until it is true or the deadline passes; returns the last answer."""
    deadline = time.monotonic() + timeout_s
    while True:
        if check():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(poll_s)


def connections_from(pid: int, local_port: int) -> list[psutil._common.pconn]:  # type: ignore[name-defined]
    """The server process's TCP connections whose remote end is our ``local_port``."""
    try:
        conns = psutil.Process(pid).net_connections(kind="tcp")
    except psutil.Error:
        return []
    established = psutil.CONN_ESTABLISHED
    return [c for c in conns if c.raddr and c.raddr.port == local_port and c.status == established]


# --------------------------------------------------------------------------- sockets


def host_port(url: str) -> tuple[str, int]:
    host, port = url.split("://", 1)[1].rsplit(":", 1)
    return host, int(port.split("/", 1)[0])


@contextlib.contextmanager
def raw_socket(url: str, timeout_s: float = 30.0) -> Iterator[socket.socket]:
    """A plain TCP connection to the server behind ``url`` (127.0.0.1 only)."""
    host, port = host_port(url)
    assert host == "127.0.0.1", host
    sock = socket.create_connection((host, port), timeout=timeout_s)
    try:
        yield sock
    finally:
        sock.close()


def read_until_closed(sock: socket.socket, limit: int = 4 * MB) -> bytes:
    """Everything the server sends until it closes (bounded by the socket's timeout and ``limit``)."""
    chunks, total = [], 0
    while total < limit:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            break
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def read_head(sock: socket.socket, limit: int = 64 * 1024) -> bytes:
    """What the server sends up to the end of an answer's head (bounded by the socket's timeout
    and ``limit``: a head that never ends fails the test instead of filling memory)."""
    data = b""
    while b"\r\n\r\n" not in data:
        assert len(data) <= limit, f"no end of the head in {len(data)} bytes: {data[:200]!r}"
        chunk = sock.recv(65536)
        assert chunk, f"closed before a whole head: {data[:200]!r}"
        data += chunk
    return data


def read_answer(sock: socket.socket) -> bytes:
    """One whole answer on a keep-alive connection: its head, then Content-Length bytes."""
    head, _, body = read_head(sock).partition(b"\r\n\r\n")
    lines = head.lower().split(b"\r\n")
    length = next((int(x.split(b":")[1]) for x in lines if x.startswith(b"content-length:")), 0)
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, f"closed before a whole body: {len(body)} of {length} bytes"
        body += chunk
    return head + b"\r\n\r\n" + body


def request_bytes(method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    all_headers = {"Content-Type": "application/json", "Content-Length": str(len(body)), **(headers or {})}
    lines += [f"{k}: {v}" for k, v in all_headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


# --------------------------------------------------------------------------- lying pictures


def data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png(width: int, height: int, idat: bytes | None = None, extra: bytes = b"") -> bytes:
    """An RGB PNG declaring ``width`` x ``height``; ``idat`` defaults to one tiny compressed row."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    data = idat if idat is not None else zlib.compress(b"\x00" * 64)
    head = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + extra
    return head + _png_chunk(b"IDAT", data) + _png_chunk(b"IEND", b"")


def png_bomb(side: int) -> bytes:
    """A real PNG of ``side`` x ``side`` black pixels: tiny compressed, side*side*3 bytes decoded."""
    raw = zlib.compressobj(9)
    row = b"\x00" + b"\x00" * (side * 3)
    parts = [raw.compress(row) for _ in range(side)]
    parts.append(raw.flush())
    return png(side, side, b"".join(parts))


def png_with_chunk(kind: bytes, payload: bytes) -> bytes:
    """A small valid 8x8 PNG carrying one extra ancillary chunk (iCCP, zTXt, tEXt...)."""
    row = b"\x00" + b"\x80" * 24
    return png(8, 8, zlib.compress(row * 8), extra=_png_chunk(kind, payload))


def gif_header(width: int, height: int) -> bytes:
    """A GIF (about 80 bytes) whose screen and only frame declare ``width`` x ``height``."""
    head = b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    frame = b"\x2c" + struct.pack("<HHHHB", 0, 0, width, height, 0)
    return head + frame + b"\x02\x02\x44\x01\x00" + b"\x3b"


def animated_gif(frames: int, side: int = 16) -> bytes:
    """A real GIF with ``frames`` frames of ``side`` x ``side`` pixels."""
    from PIL import Image

    images = [Image.new("P", (side, side), i % 256) for i in range(frames)]
    buf = io.BytesIO()
    images[0].save(buf, "GIF", save_all=True, append_images=images[1:], duration=10, loop=0)
    return buf.getvalue()


def jpeg_header(width: int, height: int) -> bytes:
    """About 1 KB: a real small JPEG whose SOF marker is rewritten to claim ``width`` x ``height``."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 30, 30)).save(buf, "JPEG", quality=50)
    data = bytearray(buf.getvalue())
    at = data.find(b"\xff\xc0")
    struct.pack_into(">HH", data, at + 5, height, width)
    return bytes(data)


def webp_header(width: int, height: int) -> bytes:
    """A lossless WEBP (VP8L) header declaring up to 16384 x 16384, with almost no data."""
    bits = (width - 1) | ((height - 1) << 14)
    vp8l = b"\x2f" + struct.pack("<I", bits) + b"\x00" * 16
    chunk = b"VP8L" + struct.pack("<I", len(vp8l)) + vp8l
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


def noisy_png(width: int, height: int, seed: int = 1) -> bytes:
    """A PNG of random noise (compresses to about its raw size: a heavy reference)."""
    import random

    from PIL import Image

    rng = random.Random(seed)
    img = Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))
    buf = io.BytesIO()
    img.save(buf, "PNG", compress_level=1)
    return buf.getvalue()
