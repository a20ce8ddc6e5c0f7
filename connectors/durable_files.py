"""Files written so that a reader, or a restart after a crash, sees all of them or nothing.

The doors write answers into submitters' folders, seal archive files and keep bookkeeping on
disk; each write goes to a temporary file first (``.<random>.tmp``, in the target's folder or a
staging folder out of other readers' sight, never named after the target: a target's name can be
a submitter's file name), is flushed to disk, then renamed into place, and the folder's entry is
flushed too so the rename survives a power cut.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

__all__ = ["fsync_dir", "staged", "write_atomic"]


def fsync_dir(folder: Path) -> None:
    """Make the folder's entries (a rename, an unlink) durable."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def staged(folder: Path, data: bytes, *, mode: int = 0o666, mtime_ns: int | None = None) -> Iterator[Path]:
    """A temporary file in ``folder`` holding ``data``, flushed to disk, for the caller to rename
    or link into place; removed on the way out if it is still there."""
    temp = folder / f".{uuid.uuid4().hex}.tmp"
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if mtime_ns is not None:
            os.utime(temp, ns=(mtime_ns, mtime_ns))
        yield temp
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()


def write_atomic(target: Path, data: bytes, *, staging: Path | None = None, mode: int = 0o666,
                 mtime_ns: int | None = None) -> Path:
    """``target`` now holds ``data``, all of it or nothing; ``staging``: where the temporary file is
    written (on the same file system), when readers of the target's folder must not see it."""
    if staging is not None:
        staging.mkdir(parents=True, exist_ok=True)
    with staged(staging or target.parent, data, mode=mode, mtime_ns=mtime_ns) as temp:
        os.replace(temp, target)
    fsync_dir(target.parent)
    return target
