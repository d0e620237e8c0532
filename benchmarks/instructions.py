"""Instructions per answer of the real mock server, counted by valgrind: an A/B that noise cannot move.

    python -m benchmarks.instructions                     # this checkout
    python -m benchmarks.instructions --tree ../other     # another checkout, to compare

On a shared VM, requests/s and CPU per request move by 10-20 % from one run to the next
(the hypervisor steals time, neighbours come and go), so a 2 % step cannot be seen with
wrk in minutes. The instructions an answer costs do not move: two runs of a tree agree
within 0.01 %. ``python -m mock_api`` runs under ``valgrind --tool=callgrind`` (about 50x
slower); a client sends ``SHORT`` documented requests to one such server and ``LONG`` to
another, on four keep-alive connections; the difference of the two totals divided by
the difference of the counts is one answer, start-up and shutdown cancelled out.
Instructions are not time (cache misses and system calls are not in them): wrk
(``--only vs-prism``) still says what a change is worth; this says which way it goes.

valgrind is a Debian package (``apt-get install -y valgrind``); without it this prints why
and exits 0.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import socket
import sys
import uuid
from pathlib import Path

from api_schema import load_examples
from mock_api.testing import AUTH, ROOT, free_port, quiet_env, run_server

SHORT, LONG = 300, 900  # requests in the two runs (each run ends with an idle shutdown)
CONNECTIONS = 4
START_TIMEOUT_S = 600.0  # importing the mock under valgrind takes a minute on 2 cores
IO_TIMEOUT_S = 120.0
_COLLECTED = re.compile(r"Collected : (\d+)")


def _request(port: int, body: bytes) -> bytes:
    head = (
        f"POST /v1 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Authorization: {AUTH['Authorization']}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


def _read_answer(conn: socket.socket) -> None:
    """One whole answer (its head and Content-Length bytes of body); it must be a 200."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536) or _closed()
    head, _, body = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"the mock did not answer 200: {head[:200]!r}")
    length = re.search(rb"content-length: (\d+)", head, re.IGNORECASE)
    if length is None:
        raise RuntimeError("the answer has no Content-Length")
    while len(body) < int(length.group(1)):
        body += conn.recv(65536) or _closed()


def _closed() -> bytes:
    raise RuntimeError("the mock closed the connection")


def count(tree: Path, requests: int, template: dict) -> tuple[int, int]:
    """(instructions of one whole server run, answers given) with ``requests`` documented requests."""
    port = free_port()
    env = {**quiet_env(), "PYTHONPATH": str(tree), "PYTHONHASHSEED": "0"}
    argv = ["--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-m", "mock_api"]
    argv += ["--port", str(port), "--log-level", "warning"]
    prefix, suffix = json.dumps([{**template, "taskUUID": "@"}], separators=(",", ":")).split('"@"')
    with run_server(
        argv, port=port, env=env, ready_path="/health", timeout=START_TIMEOUT_S, cwd=tree, program="valgrind"
    ) as server:
        conns = [
            socket.create_connection(("127.0.0.1", port), timeout=IO_TIMEOUT_S) for _ in range(CONNECTIONS)
        ]
        sent = 0
        try:
            while sent < requests:
                for conn in conns:
                    conn.sendall(_request(port, f'{prefix}"{uuid.uuid4()}"{suffix}'.encode()))
                for conn in conns:
                    _read_answer(conn)
                sent += len(conns)
        finally:
            for conn in conns:
                conn.close()
        server.proc.terminate()  # uvicorn shuts down cleanly; valgrind then prints its total
        server.proc.wait(timeout=IO_TIMEOUT_S)
        found = _COLLECTED.search(server.log_text())
    if found is None:
        raise RuntimeError("valgrind printed no instruction count")
    return int(found.group(1)), sent


def per_answer(tree: Path) -> float:
    template = load_examples()[0].request
    short, n_short = count(tree, SHORT, template)
    long, n_long = count(tree, LONG, template)
    return (long - short) / (n_long - n_short)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.instructions", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("--tree", type=Path, default=ROOT, help="the checkout whose mock is counted")
    args = p.parse_args(argv)
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install -y valgrind): nothing counted")
        return 0
    tree = args.tree.resolve()
    print(f"{tree}: {per_answer(tree):,.0f} instructions per answer (POST /v1, the first documented example)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
