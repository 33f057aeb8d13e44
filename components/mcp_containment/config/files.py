"""Reading and writing the user's files: bounded reads, atomic writes.

A stack file is small text that people edit by hand and commit. Reads therefore refuse what
cannot be one (a directory, a device such as ``/dev/zero``, a pipe, a symlink loop, anything
over :data:`MAX_FILE_BYTES`, bytes that are not UTF-8) with a message naming the file, and a
write either replaces the whole file or leaves it untouched: the new bytes go to a temporary
file in the same directory, are flushed to disk, and are renamed over the original. A kill, a
full disk or a file-size limit at any point leaves the old file or the new one, never a mix.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from .validate import Issue, SpecError

MAX_FILE_BYTES = 1 << 20
"""1 MiB: a stack file with a thousand MCP servers is under 200 KB."""


def _unreadable(path: Path | str, reason: str) -> SpecError:
    return SpecError([Issue(str(path), reason)])


def read_bytes(path: Path | str, what: str, limit: int = MAX_FILE_BYTES) -> bytes:
    """The file's bytes, or SpecError naming the file and why it cannot be ``what``."""
    try:
        st = os.stat(path)  # follows symlinks: a loop raises ELOOP here
    except FileNotFoundError:
        raise _unreadable(path, f"no such {what}") from None
    except OSError as exc:
        raise _unreadable(path, f"cannot be read: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise _unreadable(path, f"is a directory, not a {what}")
    if not stat.S_ISREG(st.st_mode):
        # Devices never end (/dev/zero) and pipes block: only regular files are read.
        raise _unreadable(path, f"is not a regular file (a device, pipe or socket), not a {what}")
    try:
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise _unreadable(path, f"cannot be read: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise _unreadable(path, f"is larger than {limit} bytes: not a {what}")
    return data


def read_text(path: Path | str, what: str, limit: int = MAX_FILE_BYTES) -> str:
    """The file as UTF-8 text (a byte-order mark is kept: callers splice by position)."""
    data = read_bytes(path, what, limit)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        hint = " (it looks like UTF-16)" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else ""
        raise _unreadable(
            path,
            f"is not UTF-8 text{hint}: byte {data[exc.start]:#04x} at offset {exc.start}",
        ) from None


def write_atomic(path: Path | str, data: bytes) -> None:
    """Replace ``path`` with ``data``: temporary file in the same directory, fsync, rename.

    The rename is atomic on POSIX file systems, so readers (and a crash) see the old bytes or
    the new ones. A symlink is written through (its target is replaced, the link kept), and the
    file keeps its permission bits. On any error the temporary file is removed and the original
    is untouched; the OSError propagates.
    """
    target = Path(os.path.realpath(path))
    mode = stat.S_IMODE(os.stat(target).st_mode)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), mode)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_directory(target.parent)


def _fsync_directory(directory: Path) -> None:
    # The rename itself is durable only once the directory entry is on disk.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
