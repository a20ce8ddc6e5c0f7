"""Removing the plain files of a few folders that a retention rule says are due.

``edi purge`` clears several kinds of files on our disk by their age (answers in ``outbound/``,
uploads the SFTP door never answered); each kind has its own rule, but the walk is the same:
only plain files directly in the folder (links and folders are never followed or removed), and
a file that vanished meanwhile is simply not counted.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable
from pathlib import Path

__all__ = ["remove_due_files"]


def remove_due_files(folders: Iterable[Path], due: Callable[[os.DirEntry[str], os.stat_result], bool], *,
                     dry_run: bool = False) -> int:
    """Remove (or, with ``dry_run``, count) the plain files for which ``due(entry, stat)`` holds."""
    removed = 0
    for folder in folders:
        try:
            entries = list(os.scandir(folder))
        except FileNotFoundError:
            continue
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            if not stat.S_ISREG(info.st_mode) or not due(entry, info):
                continue
            if not dry_run:
                try:
                    os.unlink(entry.path)
                except FileNotFoundError:
                    continue
            removed += 1
    return removed
