"""Giving memory back to the operating system after large requests.

glibc's allocator keeps freed memory for the process: after a 30 MB body or a 100 MB
streamed answer the mock's RSS would stay at its high-water mark, and with one malloc
arena per worker thread it fragments. ``give_back`` asks glibc to return free pages
(``malloc_trim``), at most once per ``TRIM_INTERVAL_S``, in a worker thread (the call
releases the GIL); ``limit_arenas`` caps the arenas, for a process that is only the mock
(``python -m mock_api``). Elsewhere (not glibc) both do nothing. ``settle_gc`` tunes the
garbage collector for such a process too.
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
GC_YOUNG_THRESHOLD = 2000  # allocations between young collections (Python's default: 700)

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
    schemas, recordings) is left out of every later collection, and the young generation is
    collected a third as often (a request makes a few hundred objects, nearly all gone when
    it is answered). Measured under wrk (BENCHMARKS.md, "Phase 3"): without it the old
    generation's collections (60 ms each) put p99 at 15-20 ms; at 7,000 the young ones
    (3-4 ms each) put it at 6 ms; at 2,000 it is 4 ms for the same CPU per answer."""
    gc.collect()
    gc.freeze()
    _, second, third = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, second, third)


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
