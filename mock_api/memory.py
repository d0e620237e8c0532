"""Giving memory back to the operating system after large requests.

glibc's allocator keeps freed memory for the process: after a 30 MB body or a 100 MB
streamed answer the mock's RSS would stay at its high-water mark, and with one malloc
arena per worker thread it fragments. ``give_back`` asks glibc to return free pages
(``malloc_trim``), at most once per ``TRIM_INTERVAL_S``, in a worker thread (the call
releases the GIL); ``limit_arenas`` caps the arenas, for a process that is only the mock
(``python -m mock_api``). Elsewhere (not glibc) both do nothing. ``settle_gc`` keeps such a
process's start-up objects out of the garbage collector's way.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import time

import anyio.to_thread

# A request that read or wrote more than this is followed by a trim.
LARGE_REQUEST_BYTES = 1024 * 1024
TRIM_INTERVAL_S = 0.5
ARENAS = 2
_M_ARENA_MAX = -8  # glibc's mallopt parameter

_libc = None
try:
    _found = ctypes.util.find_library("c")
    if _found:
        _libc = ctypes.CDLL(_found)
        if not hasattr(_libc, "malloc_trim") or not hasattr(_libc, "mallopt"):
            _libc = None
except OSError:
    _libc = None

_last_trim = 0.0


def settle_gc() -> None:
    """For a process that is only the mock, once its app is built: what start-up made (modules,
    schemas, recordings) is left out of every later collection. Measured under wrk
    (BENCHMARKS.md, "Phase 3"): without it, the old generation's collections (about 60 ms
    each) put p99 at 14-22 ms and cost 7 % CPU; a larger young threshold on top saved no
    more CPU, and raised p99 and the peak memory under hostile load."""
    gc.collect()
    gc.freeze()


def limit_arenas(count: int = ARENAS) -> bool:
    """Cap glibc's malloc arenas (call before threads start); False when not glibc."""
    return bool(_libc is not None and _libc.mallopt(_M_ARENA_MAX, count))


async def give_back() -> None:
    """Return free heap pages to the OS, unless that was done moments ago."""
    global _last_trim
    now = time.monotonic()
    if _libc is None or now - _last_trim < TRIM_INTERVAL_S:
        return
    _last_trim = now
    await anyio.to_thread.run_sync(_libc.malloc_trim, 0)
