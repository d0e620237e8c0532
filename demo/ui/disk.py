"""A byte budget for the files the app leaves on disk: its result files and Gradio's cache.

Every run writes its pictures twice (the app's own result folder, then Gradio's copy in
its upload cache), uploads land in the cache too, and Gradio only sweeps by age (hours).
One anonymous visitor asking for 20 noisy 2048 px PNGs again and again could fill a
Space's disk in about half an hour. ``DiskBudget.enforce()`` removes the oldest files of
both folders until they hold at most ``max_bytes`` together; the app runs it in a worker
thread at the start of each generation (a walk of a few thousand files costs
milliseconds; while one sweep runs, another start does not queue a second).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("demo.ui")


@dataclass
class DiskBudget:
    folders: list[Path]
    max_bytes: int  # settings.disk_mb (GLM_IMAGE_DISK_MB) in bytes
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def files(self) -> list[tuple[float, int, Path]]:
        """(mtime, size, path) of every regular file under the folders; links are not followed."""
        found = []
        for folder in self.folders:
            for root, _dirs, names in os.walk(folder):
                for name in names:
                    path = Path(root) / name
                    with contextlib.suppress(OSError):
                        info = path.lstat()
                        if path.is_file() and not path.is_symlink():
                            found.append((info.st_mtime, info.st_size, path))
        return found

    def enforce(self) -> int:
        """Remove the oldest files until the folders fit the budget; the bytes removed."""
        if not self._lock.acquire(blocking=False):
            return 0  # a sweep is running: it will make the room
        try:
            files = sorted(self.files())
            total = sum(size for _, size, _ in files)
            removed = 0
            for _mtime, size, path in files:
                if total <= self.max_bytes:
                    break
                with contextlib.suppress(OSError):
                    path.unlink()
                    total -= size
                    removed += size
            if removed:
                log.info("disk budget: removed %d MB of the oldest files", removed // 2**20)
            self._remove_empty_dirs()
            return removed
        finally:
            self._lock.release()

    def _remove_empty_dirs(self) -> None:
        for folder in self.folders:
            for root, dirs, _names in os.walk(folder, topdown=False):
                for name in dirs:
                    with contextlib.suppress(OSError):
                        (Path(root) / name).rmdir()  # only succeeds when empty
