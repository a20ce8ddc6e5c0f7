"""Where each submitter's file doors live, read once from the partners file.

Retention, key rotation and the leftover-upload sweep each need a different folder of the same
doors (``outbound/``, ``archive/``, ``quarantine/``, the SFTP ``inbound/``). They used to walk the
submitters' door settings each in their own way; a door added or moved had to be taught to all of
them. This is the one walk; each caller picks the folders it owns from what it yields.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["DoorRoots", "door_roots"]


@dataclass(frozen=True)
class DoorRoots:
    """One submitter's file doors: its folder door's root (as ``DoorRunner`` uses it), and its
    SFTP account's home under the SFTP door's root, each None when the submitter has no such door."""

    submitter_id: str
    folder: Path | None
    sftp_home: Path | None


def door_roots(submitters: Mapping[str, Any], sftp_root: Path) -> Iterator[DoorRoots]:
    """The file doors of every submitter that has one (a submitter without doors is skipped)."""
    for sid, submitter in submitters.items():
        doors = getattr(submitter, "doors", None)
        if doors is None or (doors.folder is None and doors.sftp is None):
            continue
        yield DoorRoots(
            submitter_id=sid,
            folder=Path(doors.folder.root) if doors.folder is not None else None,
            sftp_home=Path(sftp_root) / sid if doors.sftp is not None else None,
        )
