"""How long answers wait in the doors' ``outbound/`` folders (watched folder, SFTP homes).

Answers there hold PHI in the clear (unless the submitter has a PGP key): they must be readable
by the submitter, so they cannot be encrypted under our keys, but they need not stay forever.
``edi purge`` removes an answer

* once it was picked up and ``EDI_RETENTION_OUTBOUND_PICKED_UP_HOURS`` (default 24) have passed
  since, so a submitter whose processing failed can fetch it again the same day; or
* ``EDI_RETENTION_OUTBOUND_DAYS`` (default 30) after it was written, picked up or not.

"Picked up" is a read after the file was last written: its access time is later than its
modification time. The SFTP door sets the access time itself when a submitter's download ends
(``mark_picked_up``), so this holds even on a ``noatime`` mount; for the watched folder it rests
on the file system's ``relatime`` (Linux's default, which records the first read after a write).
Submitters who delete what they fetched are not affected either way.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from connectors.ingest.door_roots import door_roots
from connectors.ingest.old_files import remove_due_files

__all__ = ["ENV_DAYS", "ENV_PICKED_UP_HOURS", "OutboundRetention", "mark_picked_up", "outbound_folders",
           "purge_outbound"]

ENV_DAYS = "EDI_RETENTION_OUTBOUND_DAYS"
ENV_PICKED_UP_HOURS = "EDI_RETENTION_OUTBOUND_PICKED_UP_HOURS"


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    text = env.get(name)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{name} must be a number, not {text!r}") from None
    if value < 0:
        raise ValueError(f"{name} must not be negative")
    return value


@dataclass(frozen=True, slots=True)
class OutboundRetention:
    max_age_seconds: float = 30 * 86400.0
    picked_up_seconds: float = 24 * 3600.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> OutboundRetention:
        env = os.environ if environ is None else environ
        return cls(_number(env, ENV_DAYS, 30) * 86400.0, _number(env, ENV_PICKED_UP_HOURS, 24) * 3600.0)


def mark_picked_up(path: str | os.PathLike[str]) -> None:
    """Record that the submitter fetched ``path`` (its access time, now; the mtime is kept)."""
    try:
        info = os.stat(path)
        os.utime(path, ns=(max(time.time_ns(), info.st_mtime_ns + 1), info.st_mtime_ns))
    except OSError:
        pass  # removed meanwhile: nothing left to mark


def outbound_folders(submitters: Mapping[str, Any], sftp_root: Path) -> list[Path]:
    """Every ``outbound/`` a door writes answers into: the folder doors' and the SFTP homes'."""
    folders = []
    for roots in door_roots(submitters, sftp_root):
        folders += [home / "outbound" for home in (roots.folder, roots.sftp_home) if home is not None]
    return folders


def purge_outbound(folders: Iterable[Path], policy: OutboundRetention, *, now: datetime | None = None,
                   dry_run: bool = False) -> int:
    """Remove (or, with ``dry_run``, count) the answers past retention; returns how many."""
    at = (now.timestamp() if now is not None else time.time())

    def due(entry: os.DirEntry[str], info: os.stat_result) -> bool:
        if entry.name.startswith("."):
            return False  # in-progress temp files belong to the writer
        picked = info.st_atime_ns > info.st_mtime_ns
        return (at - info.st_mtime >= policy.max_age_seconds
                or (picked and at - info.st_atime >= policy.picked_up_seconds))

    return remove_due_files(folders, due, dry_run=dry_run)
