"""The mock under hostile load: its peak memory, and how fast /health answers meanwhile.

One ``python -m mock_api --speed 0`` with its default limits (the send timeout shortened
to 10 s so the clients that never read are dropped within the run), a sampler of its
RSS every 20 ms, and a prober that GETs /health every 50 ms on its own connection.
Each case runs alone, then all of them at once (the worst case). The cases are the
issue's findings and a few more: pictures lying about their size, real decodes at
the pixel limit, big inline answers read and not read, async inline jobs, many large
bodies, JSON bombs, validation floods, slowloris connections, many WebSockets.

Run it alone: ``python -m benchmarks.hostile_bench [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import psutil
from websockets.asyncio.client import connect

from tests.support.hostile import (
    data_uri,
    gif_header,
    jpeg_header,
    noisy_png,
    png,
    png_bomb,
    request_bytes,
    webp_header,
)

from .common import AUTH, KEY, Result, percentile, spawn_mock, task

MB = 1024 * 1024
RSS_TARGET_MB = 600
HEALTH_TARGET_MS = 100
SAMPLE_S = 0.02
PROBE_S = 0.05
SEND_TIMEOUT_S = "10"
KILL_AT = 3 * 1024 * MB  # a regression must not take the machine down


# --------------------------------------------------------------------------- watchers


def _probe_health(url: str, stop: Any, out: Any) -> None:
    """In a process of its own (the load generator's threads must not delay it): GET
    /health every PROBE_S on one connection; sends back (when, seconds or inf)."""
    found: list[tuple[float, float]] = []
    with httpx.Client(base_url=url, timeout=10, trust_env=False) as client:
        while not stop.wait(PROBE_S):
            started = time.monotonic()
            try:
                ok = client.get("/health").status_code == 200
            except httpx.HTTPError:
                ok = False
            found.append((started, time.monotonic() - started if ok else float("inf")))
    out.send(found)


@dataclass
class Watch:
    """RSS samples of the mock (a thread here) and /health latencies (a process), timestamped."""

    pid: int
    url: str
    rss: list[tuple[float, int]] = field(default_factory=list)
    health: list[tuple[float, float]] = field(default_factory=list)  # (when, seconds; inf = failed)
    stop: threading.Event = field(default_factory=threading.Event)

    def _sample(self) -> None:
        proc = psutil.Process(self.pid)
        while not self.stop.wait(SAMPLE_S):
            with contextlib.suppress(psutil.Error):
                rss = proc.memory_info().rss
                self.rss.append((time.monotonic(), rss))
                if rss > KILL_AT:
                    proc.kill()
                    return

    @contextlib.contextmanager
    def running(self) -> Iterator[Watch]:
        ctx = multiprocessing.get_context("spawn")
        stop_probe = ctx.Event()
        receive, send = ctx.Pipe(duplex=False)
        prober = ctx.Process(target=_probe_health, args=(self.url, stop_probe, send), daemon=True)
        prober.start()
        sampler = threading.Thread(target=self._sample, daemon=True)
        sampler.start()
        try:
            yield self
        finally:
            self.stop.set()
            stop_probe.set()
            if receive.poll(30):
                self.health = receive.recv()
            prober.join(15)
            sampler.join(15)

    def window(self, start: float, end: float) -> tuple[float, list[float]]:
        """(peak RSS in MB, /health latencies in ms) between two moments (once stopped, for latencies)."""
        peak = max((r for t, r in self.rss if start <= t <= end), default=0) / MB
        return peak, [s * 1000 for t, s in self.health if start <= t <= end]


# --------------------------------------------------------------------------- cases


def post(url: str, body: bytes | list, timeout: float = 300) -> int:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {**AUTH, "Content-Type": "application/json"}
    try:
        return httpx.post(
            url + "/v1", content=content, headers=headers, timeout=timeout, trust_env=False
        ).status_code
    except httpx.HTTPError:
        return 0


def _outcome(call: Callable[[], object]) -> object:
    try:
        return call()
    except OSError as exc:  # refused by the mock on purpose (a reset after a 503, say)
        return f"{type(exc).__name__}"


def in_parallel(calls: list[Callable[[], object]]) -> list[object]:
    with ThreadPoolExecutor(max(1, len(calls))) as pool:
        return list(pool.map(_outcome, calls))


def refs_task(*refs: str, **fields) -> list[dict]:
    return [task(inputs={"referenceImages": list(refs)}, **fields)]


def big_inline(reference: str, seed: int, count: int, **fields) -> list[dict]:
    return refs_task(
        reference, width=2048, height=2048, outputFormat="PNG", numberResults=count, seed=seed, **fields
    )


class Cases:
    """The payloads are built once, before anything is measured."""

    def __init__(self, quick: bool) -> None:
        self.n = 4 if quick else 8
        liars = [
            (gif_header(9999, 4000), "image/gif"),
            (jpeg_header(9999, 3999), "image/jpeg"),
            (png_bomb(6000), "image/png"),
            (webp_header(16383, 16383), "image/webp"),
            (png(60000, 60000), "image/png"),
        ]
        self.liars = [data_uri(*liar) for liar in liars]
        self.decodes = [data_uri(png_bomb(4096 - n), "image/png") for n in range(self.n)]
        self.noisy = [data_uri(noisy_png(1024, 1024, seed=n), "image/png") for n in range(3)]
        self.body_30mb = json.dumps([{"taskType": "ping", "ping": True, "pad": "x" * (30 * MB)}]).encode()
        self.json_bomb = b"[" + b"{}," * 10_000_000 + b"{}]"
        fields = {f"f{n:056d}": 0 for n in range(4_500)}
        self.validation = json.dumps([task(**fields) for _ in range(100)]).encode()

    def liars_case(self, url: str) -> str:
        codes = in_parallel([lambda ref=ref: post(url, refs_task(ref)) for ref in self.liars * 2])
        uploads = [
            {"taskType": "imageUpload", "taskUUID": task()["taskUUID"], "image": ref} for ref in self.liars
        ]
        codes += in_parallel([lambda up=up: post(url, [up]) for up in uploads])
        return f"{len(codes)} requests, answers {sorted(set(codes))}"

    def decodes_case(self, url: str) -> str:
        codes = in_parallel(
            [lambda ref=ref: post(url, refs_task(ref, width=512, height=512)) for ref in self.decodes]
        )
        return f"{len(codes)} distinct 4096 px PNG references at once, answers {sorted(set(codes))}"

    def inline_case(self, url: str) -> str:
        calls = [
            lambda n=n: post(url, big_inline(self.noisy[n % 3], seed=1000 + n, count=8, outputType="dataURI"))
            for n in range(3)
        ]
        codes = in_parallel(calls)
        return (
            f"3 sync answers of 8 x 2048 px noisy PNG (about 95 MB each, read), answers {sorted(set(codes))}"
        )

    def async_inline_case(self, url: str) -> str:
        sent = [
            big_inline(
                self.noisy[n % 3], seed=2000 + n, count=4, outputType="base64Data", deliveryMethod="async"
            )
            for n in range(12)
        ]
        codes = in_parallel([lambda body=body: post(url, body) for body in sent])
        polls = [[{"taskType": "getResponse", "taskUUID": body[0]["taskUUID"]}] for body in sent[:4]]
        codes += in_parallel([lambda body=body: post(url, body) for body in polls])
        return f"12 async jobs of 4 x 2048 px PNG + 4 getResponse, answers {sorted(set(codes))}"

    def bodies_case(self, url: str) -> str:
        codes = in_parallel([lambda: post(url, self.body_30mb) for _ in range(16)])
        return f"16 bodies of 30 MB at once, answers {sorted(codes)}"

    def json_bomb_case(self, url: str) -> str:
        codes = in_parallel([lambda: post(url, self.json_bomb) for _ in range(4)])
        return f"4 bodies of 10 million empty objects, answers {sorted(set(codes))}"

    def validation_case(self, url: str) -> str:
        codes = in_parallel([lambda: post(url, self.validation) for _ in range(4)])
        return f"4 bodies of 450,000 made-up fields (30 MB), answers {sorted(set(codes))}"

    def non_readers_case(self, url: str) -> str:
        host, port = url.split("//", 1)[1].split(":")
        socks, refused = [], 0
        for n in range(4):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.settimeout(60)
            body = json.dumps(big_inline(self.noisy[n % 3], seed=3000 + n, count=8, outputType="base64Data"))
            try:
                sock.connect((host, int(port)))
                sock.sendall(request_bytes("POST", "/v1", body.encode(), AUTH))
            except OSError:  # refused while the mock is full (503, then the connection closed)
                refused += 1
                sock.close()
                continue
            socks.append(sock)
        time.sleep(float(SEND_TIMEOUT_S) + 5)  # they are dropped by the send timeout meanwhile
        dropped = 0
        for sock in socks:
            try:
                sock.setblocking(False)
                while sock.recv(1 << 20):
                    pass
            except BlockingIOError:
                pass  # data left, and the connection still open
            except OSError:
                dropped += 1
            else:
                dropped += 1  # read to the end: the server closed it
            sock.close()
        return (
            f"4 clients that never read an answer of 8 x 2048 px PNG; {dropped} dropped by the server,"
            f" {refused} refused up front"
        )

    def slowloris_case(self, url: str) -> str:
        host, port = url.split("//", 1)[1].split(":")
        socks = []
        for _ in range(200):
            with contextlib.suppress(OSError):
                sock = socket.create_connection((host, int(port)), timeout=30)
                socks.append(sock)
                sock.sendall(b"POST /v1 HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        deadline = time.monotonic() + 15  # the 10 s header deadline closes them
        closed = 0
        for sock in socks:
            sock.settimeout(max(0.1, deadline - time.monotonic()))
            with contextlib.suppress(OSError):
                while sock.recv(65536):
                    pass
                closed += 1
            sock.close()
        return f"200 connections that never finish their headers; {closed} closed by the server with 408"

    def websockets_case(self, url: str) -> str:
        async def many() -> int:
            ws_url = url.replace("http://", "ws://") + "/v1"
            sockets = [
                await connect(ws_url, additional_headers={"Authorization": f"Bearer {KEY}"})
                for _ in range(200)
            ]
            try:
                await asyncio.gather(
                    *(ws.send(json.dumps([{"taskType": "ping", "ping": True}])) for ws in sockets)
                )
                answers = await asyncio.gather(*(asyncio.wait_for(ws.recv(), 60) for ws in sockets))
                return sum('"pong":true' in a for a in answers)
            finally:
                await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)

        return f"200 WebSockets from one key, {asyncio.run(many())} pongs"

    def idle_case(self, url: str) -> str:
        time.sleep(5)
        return "nothing but the /health probe, for comparison: what the machine itself adds"

    def all(self) -> dict[str, Callable[[str], str]]:
        return {
            "lying headers": self.liars_case,
            "decodes at the pixel limit": self.decodes_case,
            "big inline answers": self.inline_case,
            "async inline jobs": self.async_inline_case,
            "many 30 MB bodies": self.bodies_case,
            "JSON bombs": self.json_bomb_case,
            "validation floods": self.validation_case,
            "clients that never read": self.non_readers_case,
            "slowloris": self.slowloris_case,
            "many WebSockets": self.websockets_case,
        }


# --------------------------------------------------------------------------- the run


def _say(name: str, window: tuple[float, list[float], str, float]) -> None:
    peak, health, notes, seconds = window
    print(
        f"   {name}: peak {peak:.0f} MB, /health p50 {percentile(health, 50):.1f} ms, "
        f"p99 {percentile(health, 99):.1f} ms, max {max(health, default=0):.0f} ms, "
        f"{seconds:.1f} s: {notes}",
        file=sys.stderr,
        flush=True,
    )


def run(quick: bool = False) -> list[Result]:
    cases = Cases(quick)
    rows: list[Result] = []
    spans: list[tuple[str, float, float, str]] = []  # (case, start, end, what happened)
    with spawn_mock("--speed", "0", "--send-timeout-s", SEND_TIMEOUT_S) as mock:
        watch = Watch(mock.proc.pid, mock.url)
        with watch.running():
            time.sleep(1)
            idle_mb = watch.window(0, time.monotonic())[0]
            for name, case in {"idle": cases.idle_case, **cases.all()}.items():
                start = time.monotonic()
                notes = str(_outcome(lambda case=case: case(mock.url)))
                spans.append((name, start, time.monotonic(), notes))
                print(f"   {name}: {notes}", file=sys.stderr, flush=True)
            start = time.monotonic()
            outcomes = in_parallel([lambda case=case: case(mock.url) for case in cases.all().values()])
            spans.append(("all at once", start, time.monotonic(), "; ".join(map(str, outcomes))))
            time.sleep(2)
            after_mb = watch.rss[-1][1] / MB if watch.rss else float("nan")
        log = mock.log_text()
    if "Traceback" in log:
        print(log[log.index("Traceback") - 300 :][:3000], file=sys.stderr)
    windows: dict[str, tuple[float, list[float], str, float]] = {}
    for name, start, end, notes in spans:
        windows[name] = (*watch.window(start, end), notes, end - start)
        _say(name, windows[name])
    worst = max(windows, key=lambda k: windows[k][0])
    worst_peak = windows[worst][0]
    every_health = [ms for name, (_, health, _, _) in windows.items() if name != "idle" for ms in health]
    failed_probes = sum(ms == float("inf") for ms in every_health)
    finite = [ms for ms in every_health if ms != float("inf")]
    rows.append(
        Result(
            name="hostile_rss",
            what="mock peak RSS under the worst hostile case",
            target=f"<= {RSS_TARGET_MB} MB",
            unit="MB",
            median=worst_peak,
            runs=len(windows),
            passed=worst_peak <= RSS_TARGET_MB and "Traceback" not in log,
            notes=f"worst: {worst}; idle {idle_mb:.0f} MB, {after_mb:.0f} MB after all cases",
            extra={k: {"peak_mb": v[0], "seconds": v[3], "notes": v[2]} for k, v in windows.items()},
        )
    )
    worst_ms = max(finite, default=float("nan"))
    rows.append(
        Result(
            name="hostile_health",
            what="/health latency while the floods run (p99; max in notes)",
            target=f"<= {HEALTH_TARGET_MS} ms",
            unit="ms",
            median=percentile(finite, 99),
            p90=percentile(finite, 90),
            runs=len(every_health),
            passed=percentile(finite, 99) <= HEALTH_TARGET_MS and failed_probes == 0,
            notes=(
                f"median {percentile(finite, 50):.1f} ms, max {worst_ms:.0f} ms, "
                f"{failed_probes} probes failed"
            ),
            extra={
                k: {
                    "p50_ms": percentile(v[1], 50),
                    "p99_ms": percentile(v[1], 99),
                    "max_ms": max(v[1], default=0),
                }
                for k, v in windows.items()
            },
        )
    )
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.hostile_bench", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("--quick", action="store_true", help="fewer parallel decodes")
    args = p.parse_args(argv)
    rows = run(args.quick)
    for row in rows:
        print(f"{row.name}: {row.cell()} [{row.verdict()}] {row.notes}")
    return 0 if all(r.passed for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
