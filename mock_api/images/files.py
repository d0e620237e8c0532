"""Reading the files of a recording folder, which may be shared and so is untrusted.

Only regular files are read, never through a symbolic link, never past a size cap:
a FIFO would hang start-up, a link to ``/dev/zero`` would read until memory runs
out, a link out of the folder would serve a file that was never recorded. A file
is opened with ``O_NOFOLLOW | O_NONBLOCK`` (a FIFO opens without waiting for a
writer), checked with ``fstat`` on the open descriptor (what is checked is what is
read) and read up to one byte past its cap.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

MB = 1024 * 1024
# exchange.json holds a request and its items; inline base64 results can make it big,
# but not bigger than a request body and its answer.
MAX_EXCHANGE_BYTES = 256 * MB

_FLAGS = os.O_RDONLY
for _name in ("O_NOFOLLOW", "O_NONBLOCK", "O_CLOEXEC"):  # absent on some platforms
    _FLAGS |= getattr(os, _name, 0)
_READ_CHUNK = 1 * MB


class UnsafeFile(ValueError):
    """A file of a recording the mock will not read; the message names it and says why."""


def _size_text(n: int) -> str:
    return f"{n / MB:g} MB" if n >= MB else f"{n} bytes"


def check_not_link(path: Path) -> None:
    if path.is_symlink():
        raise UnsafeFile(f"{path}: is a symbolic link (a recording holds only regular files)")


def read_regular_file(path: Path, max_bytes: int) -> bytes:
    """The bytes of a regular file of at most ``max_bytes``; UnsafeFile naming it otherwise."""
    check_not_link(path)  # where O_NOFOLLOW does not exist
    try:
        fd = os.open(path, _FLAGS)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafeFile(f"{path}: is a symbolic link (a recording holds only regular files)") from None
        raise UnsafeFile(f"{path}: missing or unreadable ({exc.strerror})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnsafeFile(f"{path}: not a regular file (a FIFO, device or folder is never read)")
        if info.st_size > max_bytes:
            raise UnsafeFile(f"{path}: is {_size_text(info.st_size)}, over the {_size_text(max_bytes)} limit")
        chunks, total = [], 0
        while total <= max_bytes:
            chunk = os.read(fd, min(_READ_CHUNK, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > max_bytes:  # it grew while being read
            raise UnsafeFile(f"{path}: is over the {_size_text(max_bytes)} limit")
        return b"".join(chunks)
    except OSError as exc:
        raise UnsafeFile(f"{path}: unreadable ({exc.strerror})") from None
    finally:
        os.close(fd)


def check_regular_file(path: Path, max_bytes: int) -> None:
    """The checks of ``read_regular_file`` without reading (for files another reader opens)."""
    check_not_link(path)
    try:
        info = path.lstat()
    except OSError as exc:
        raise UnsafeFile(f"{path}: missing or unreadable ({exc.strerror})") from None
    if not stat.S_ISREG(info.st_mode):
        raise UnsafeFile(f"{path}: not a regular file (a FIFO, device or folder is never read)")
    if info.st_size > max_bytes:
        raise UnsafeFile(f"{path}: is {_size_text(info.st_size)}, over the {_size_text(max_bytes)} limit")
