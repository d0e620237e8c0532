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
# exchange.json holds one task as sent and its result items; the pictures are files beside
# it. What makes one large is inline pictures: the request's references (within the 32 MB
# body limit) and results asked as base64Data or dataURI, which the recorder keeps inline
# as well as writing their files (the mock reads the files and drops the inline copies).
# 64 MB holds a request at the body limit and its answer, or twenty 2048x2048 JPG results
# inline (~1.5 MB each as base64); twenty PNGs of that size (up to ~17 MB each) do not fit,
# and are refused naming the file (record such results as URL). Reading, decoding and
# parsing a file takes about three times its size for a moment: 256 MB would have been
# ~800 MB of start-up for one file of long strings.
MAX_EXCHANGE_BYTES = 64 * MB
# And at most this many JSON values (commas, brackets and braces), counted before it is
# decoded: 40 MB of "{}," decoded into thirteen million objects (986 MB at start-up). An
# exchange holds a few hundred (its prompt's commas count too: 3000 characters at most).
MAX_EXCHANGE_VALUES = 100_000

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
