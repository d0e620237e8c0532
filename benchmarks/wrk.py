"""wrk as the load generator: finding or installing it, its Lua script, one timed run.

Each request is the documented one with a fresh UUID v4 taskUUID (the mock
answers a reused taskUUID with a conflict) and an Authorization header. The
script's ``done`` hook prints wrk's own counters as one JSON line, so nothing
depends on the layout of wrk's human-readable report.
"""

from __future__ import annotations

import json
import random
import resource
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .proctree import machine_seconds, tree_cpu_seconds

MARKER = "@@TASKUUID@@"
REPORT_PREFIX = "WRK_REPORT "

_SCRIPT = """\
-- Written by benchmarks/wrk.py: the documented request with a fresh taskUUID each time.
local prefix = {prefix}
local suffix = {suffix}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("thread_id", counter)
end

function init(args)
  math.randomseed(tonumber(args[1]) + thread_id * 7919)
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = {authorization}
end

local r = math.random
local function uuid4()
  return string.format("%04x%04x-%04x-4%03x-%04x-%04x%04x%04x",
    r(0, 65535), r(0, 65535), r(0, 65535), r(0, 4095), r(32768, 49151),
    r(0, 65535), r(0, 65535), r(0, 65535))
end

function request()
  return wrk.format("POST", "/v1", nil, prefix .. uuid4() .. suffix)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{report_prefix}{{"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,'
    .. '"status":%d,"timeout":%d,"p50_us":%d,"p99_us":%d}}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def lua_string(text: str) -> str:
    """``text`` as a Lua long-bracket literal that nothing inside can close early.

    Level 1 at least: at level 0 a trailing ``]`` in the text would close the literal.
    """
    level = 1
    while f"]{'=' * level}]" in text:
        level += 1
    eq = "=" * level
    return f"[{eq}[{text}]{eq}]"


def lua_script(request: dict[str, Any], authorization: str) -> str:
    """The wrk script sending ``[request]`` with a fresh taskUUID each time."""
    body = json.dumps([{**request, "taskUUID": MARKER}], separators=(",", ":"))
    prefix, suffix = body.split(MARKER)  # exactly one marker: ValueError otherwise
    return _SCRIPT.format(
        prefix=lua_string(prefix),
        suffix=lua_string(suffix),
        authorization=lua_string(authorization),
        report_prefix=REPORT_PREFIX,
    )


def find_wrk(install: bool = True) -> tuple[str | None, str]:
    """wrk's path (installing it with apt-get when missing and allowed), and a note on how."""
    found = shutil.which("wrk")
    if found:
        return found, ""
    if not install or shutil.which("apt-get") is None:
        return None, "wrk is not installed (apt-get install -y wrk)"
    try:
        done = subprocess.run(
            ["apt-get", "install", "-y", "wrk"], capture_output=True, text=True, timeout=300, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"wrk is not installed and apt-get failed: {exc}"
    found = shutil.which("wrk")
    if found:
        return found, "wrk installed with apt-get"
    tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or [""]
    return None, f"wrk is not installed and `apt-get install -y wrk` failed: {tail[0][:160]}"


@dataclass
class WrkRun:
    """One timed run against one server."""

    requests: int
    seconds: float
    errors: dict[str, int]
    p50_ms: float
    p99_ms: float
    server_cpu_s: float
    wrk_cpu_s: float
    others_cores: float  # CPU other processes used meanwhile, in cores (0..2 on 2 cores): the noise
    steal_cores: float  # CPU the hypervisor gave other guests meanwhile, in cores

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms_per_request(self) -> float:
        return self.server_cpu_s * 1000 / self.requests if self.requests else float("nan")

    @property
    def failures(self) -> int:
        return sum(self.errors.values())

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "rate": self.rate, "cpu_ms_per_request": self.cpu_ms_per_request}


def run_wrk(
    wrk: str,
    url: str,
    script: Path,
    *,
    server_pid: int,
    seconds: float,
    connections: int,
    threads: int,
) -> WrkRun:
    """``seconds`` of load on ``url``; the server's CPU is read from /proc before and after."""
    argv = [wrk, "-t", str(threads), "-c", str(connections), "-d", f"{seconds:g}s", "--timeout", "5s"]
    argv += ["--latency", "-s", str(script), url, "--", str(random.randrange(1, 2**31))]
    cpu0, (busy0, steal0), wrk0 = tree_cpu_seconds(server_pid), machine_seconds(), _children_cpu()
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=False)
    cpu1, (busy1, steal1), wrk1 = tree_cpu_seconds(server_pid), machine_seconds(), _children_cpu()
    line = next((x for x in done.stdout.splitlines() if x.startswith(REPORT_PREFIX)), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {(done.stderr or done.stdout)[-500:]}")
    report = json.loads(line[len(REPORT_PREFIX) :])
    elapsed = report["duration_us"] / 1e6
    return WrkRun(
        requests=report["requests"],
        seconds=elapsed,
        errors={k: report[k] for k in ("connect", "read", "write", "status", "timeout") if report[k]},
        p50_ms=report["p50_us"] / 1000,
        p99_ms=report["p99_us"] / 1000,
        server_cpu_s=cpu1 - cpu0,
        wrk_cpu_s=wrk1 - wrk0,
        others_cores=max(0.0, (busy1 - busy0) - (cpu1 - cpu0) - (wrk1 - wrk0)) / elapsed,
        steal_cores=(steal1 - steal0) / elapsed,
    )


def _children_cpu() -> float:
    """CPU seconds of this process's ended children so far (wrk, once it has been waited for)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
