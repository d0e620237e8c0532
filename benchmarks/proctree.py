"""A server's process tree from /proc: its CPU time, and stopping it by PID.

A server may run child processes (Node's Prism can fork its HTTP server), so the
CPU a request costs is the whole tree's: utime + stime of the process and every
live descendant, plus what already-ended children left in the parent's cutime +
cstime. Linux only, like the rest of the benchmarks' process handling.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

from mock_api.testing import stop_process

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/<pid>/stat split after the command name (which may hold spaces and parentheses)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def _alive(pid: int) -> bool:
    fields = _stat_fields(pid)
    return fields is not None and fields[0] != "Z"


def descendants(pid: int) -> list[int]:
    """Every live process below ``pid`` (children, grandchildren, ...)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields:
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) used so far by ``pid`` and its descendants."""
    ticks = 0
    root = _stat_fields(pid)
    if root is None:
        raise RuntimeError(f"process {pid} is gone")
    # Fields after the name: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14).
    ticks += sum(int(root[i]) for i in (11, 12, 13, 14))
    for child in descendants(pid):
        fields = _stat_fields(child)
        if fields:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / CLK_TCK


def machine_seconds() -> tuple[float, float]:
    """(busy, steal) CPU seconds of the whole machine so far (all cores), from /proc/stat.

    Busy is every process's time (user, nice, system, irq, softirq); steal is time the
    hypervisor gave to other guests while this one wanted to run.
    """
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    busy = values[0] + values[1] + values[2] + values[5] + values[6]
    return busy / CLK_TCK, values[7] / CLK_TCK


def stop_tree(proc: subprocess.Popen) -> None:  # type: ignore[type-arg]
    """Stop a process we started and whatever it started, each by its PID."""
    below = descendants(proc.pid) if proc.poll() is None else []
    stop_process(proc)
    for pid in below:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 5
    while below and time.monotonic() < deadline:
        below = [pid for pid in below if _alive(pid)]
        time.sleep(0.05)
    for pid in below:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
