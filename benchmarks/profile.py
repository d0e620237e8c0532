"""py-spy on the mock under load, and where its samples fall.

``py-spy record --format raw`` writes one line per distinct stack:
``outer (file:line);...;leaf (file:line) COUNT``. The summary gives

- layers: each sample goes to the layer of its innermost frame that belongs to a
  known layer (the HTTP parser, uvicorn, the event loop, Starlette/FastAPI,
  pydantic, json, the journal, the rest of mock_api, api_schema); other standard
  library frames (re, urllib, datetime, uuid, ...) count for whoever called them;
- the functions with the largest inclusive share (on the stack) and self share (leaf).

py-spy is a dev tool: ``pip install py-spy``. Attaching needs ptrace rights (root here).
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

RATE_HZ = 250
STOP_TIMEOUT_S = 30.0

# A sample in the kernel's socket write. py-spy samples wall time: a server that wakes wrk in
# write() is often preempted right there, so on a busy machine this share is far above the
# system CPU time /proc reports (about 6 % of the mock's); the other layers are also given
# as shares of the samples outside it.
SYSCALL = "write() syscall (wall time)"
_SYSCALL_FRAMES = ("write (libc", "send (libc", "sendmsg (libc", "writev (libc")

# (layer, file prefixes), checked in order; a frame of none of them is transparent.
LAYERS = (
    ("HTTP parser: h11", ("h11/",)),
    ("HTTP parser: httptools", ("httptools/",)),
    ("uvicorn protocol", ("uvicorn/",)),
    ("event loop", ("asyncio/", "selectors.py", "uvloop/", "socket.py")),
    ("Starlette/FastAPI", ("starlette/", "fastapi/", "anyio/")),
    ("pydantic", ("pydantic/", "pydantic_core/")),
    ("json (stdlib)", ("json/",)),
    # Both layouts of mock_api: before and after issue 11 moved these into control/.
    ("journal", ("mock_api/journal.py", "mock_api/control/journal.py")),
    ("gateway middleware", ("mock_api/admin.py", "mock_api/control/gateway.py")),
    ("faults", ("mock_api/faults.py", "mock_api/control/faults.py")),
    ("mock_api, rest", ("mock_api/",)),
    ("api_schema", ("api_schema/",)),
)

# The request pipeline's stages, by function name: the share of samples with it on the stack.
STAGES = (
    (
        "uvicorn: bytes in -> parser -> ASGI scope",
        ("H11Protocol.data_received", "HttpToolsProtocol.data_received"),
    ),
    ("uvicorn: ASGI app call (everything below)", ("RequestResponseCycle.run_asgi",)),
    ("Gateway middleware (journal, faults, app)", ("Gateway.__call__",)),
    ("  Journal.record (redaction)", ("Journal.record",)),
    ("  FaultInjector.decide", ("FaultInjector.decide",)),
    ("  FastAPI/Starlette stack to the endpoint", ("ServerErrorMiddleware.__call__",)),
    ("    post_v1 (the endpoint)", ("post_v1",)),
    ("      decoding the batch (json.loads, orjson)", ("decode_tasks", "decode_batch", "read_batch")),
    ("      authentication", ("check_auth", "authenticate")),
    ("      parse_task (validation)", ("parse_task",)),
    ("      imageInference handler (replay match)", ("run_inference", "handle_image_inference")),
    ("      envelope_response (JSON out)", ("envelope_response",)),
    ("    Response.__call__ (the answer sent)", ("Response.__call__",)),
    ("uvicorn: RequestResponseCycle.send", ("RequestResponseCycle.send",)),
    ("  transport write, to the syscall", ("_SelectorSocketTransport.write", "UVStream_write")),
)


def _name_of(frame: str) -> str:
    start = frame.rfind(" (")
    return frame[:start] if start >= 0 else frame


def _file_of(frame: str) -> str:
    # "name (path:line)" -> "path"; a native frame may have no line: "write (libc.so.6)".
    start = frame.rfind(" (")
    return frame[start + 2 :].rstrip(")").rsplit(":", 1)[0] if start >= 0 else ""


def _layer(stack: list[str]) -> str:
    if stack[-1].startswith(_SYSCALL_FRAMES):
        return SYSCALL
    for frame in reversed(stack):
        path = _file_of(frame)
        for name, prefixes in LAYERS:
            if any(path.startswith(p) or f"/{p}" in path for p in prefixes):
                return name
    return "other"


def _function(frame: str) -> str:
    # Drop the line number so one function's lines add up: "name (path)".
    start = frame.rfind(" (")
    return f"{frame[:start]} ({_file_of(frame)})" if start >= 0 else frame


def summarize(raw: str, top: int = 15) -> dict[str, Any]:
    """Shares (0..1) of the samples by layer, and the top functions inclusive and self."""
    layers: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    self_time: Counter[str] = Counter()
    stages: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack_text, _, count_text = line.rpartition(" ")
        if not stack_text or not count_text.isdigit():
            continue
        count = int(count_text)
        stack = stack_text.split(";")
        total += count
        layers[_layer(stack)] += count
        for name in {_function(f) for f in stack}:
            inclusive[name] += count
        self_time[_function(stack[-1])] += count
        names = {_name_of(f) for f in stack}
        names |= {n.rsplit(".<locals>.", 1)[-1] for n in names}  # create_app.<locals>.post_v1 -> post_v1
        for label, wanted in STAGES:
            if names.intersection(wanted):
                stages[label] += count
    if not total:
        return {
            "samples": 0,
            "layers": [],
            "layers_outside_syscall": [],
            "stages": [],
            "inclusive": [],
            "self": [],
        }

    def shares(counter: Counter[str], n: int | None = None) -> list[tuple[str, float]]:
        return [(name, count / total) for name, count in counter.most_common(n)]

    # Frames on (nearly) every stack, the interpreter's and the loop's, say nothing.
    ceiling = 0.97 * max(inclusive.values())
    python = [(n, s) for n, s in shares(inclusive) if n.endswith(".py)")]  # not the loop's C frames
    busy = [(n, s) for n, s in python if s * total < ceiling][:top]
    outside = total - layers[SYSCALL]
    return {
        "samples": total,
        "layers": shares(layers),
        "layers_outside_syscall": [
            (name, count / outside) for name, count in layers.most_common() if name != SYSCALL and outside
        ],
        "stages": [(label, stages[label] / total) for label, _ in STAGES],
        "inclusive": busy,
        "self": shares(self_time, top),
    }


def format_summary(summary: dict[str, Any]) -> str:
    lines = [f"py-spy: {summary['samples']} samples of the mock under load {summary.get('note', '')}"]
    sections = (
        ("by layer (self)", "layers"),
        ("by layer, outside the write() syscall", "layers_outside_syscall"),
    )
    sections += (("pipeline stages (inclusive)", "stages"),)
    sections += (("top functions, inclusive", "inclusive"), ("top functions, self", "self"))
    for title, key in sections:
        lines.append(f"  {title}:")
        lines += [f"    {share:6.1%}  {name}" for name, share in summary.get(key, [])]
    return "\n".join(lines)


def record_under_load(pid: int, out: Path, load: Callable[[], T]) -> dict[str, Any] | None:
    """Run ``load()`` while py-spy samples ``pid`` into ``out`` (raw stacks); the summary, or None."""
    spy = shutil.which("py-spy")
    if spy is None:
        return {"samples": 0, "note": "py-spy is not installed (requirements-dev.txt)"}
    # Blocking sampling (py-spy pauses the process for each sample): whole stacks, not torn ones;
    # --native shows C frames, so the write() syscall is told apart from the Python that calls it.
    argv = [spy, "record", "--pid", str(pid), "--rate", str(RATE_HZ), "--format", "raw", "--native"]
    argv += ["--output", str(out)]
    with open(out.with_suffix(".log"), "wb") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        try:
            load()
        finally:
            # py-spy writes its output when interrupted, as after Ctrl+C.
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=STOP_TIMEOUT_S)
    if not out.exists():
        return None
    return summarize(out.read_text(errors="replace"))
