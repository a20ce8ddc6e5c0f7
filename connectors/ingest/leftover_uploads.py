"""Uploads the SFTP door never answered, left in a home's ``inbound/``.

The door takes a file in when its client closes it and removes it right after, and a session that
drops mid-upload removes its partial file. What can still stay: a file whose door process was
killed mid-upload or mid-intake (its client was never told it was stored and sends it again), and
an upload under a temporary name (``.part``) closed but never renamed. Both hold a submitter's
bytes in plaintext on our disk, so ``edi purge`` removes them once unchanged for
``EDI_RETENTION_UNANSWERED_UPLOAD_HOURS`` (default 24). A starting door does not clear them
itself: several doors may serve one root, and it cannot tell a dead upload from another door's
live one; a live upload changes far more often than that.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from connectors.ingest.door_roots import door_roots
from connectors.ingest.old_files import remove_due_files

__all__ = ["ENV_HOURS", "inbound_folders", "leftover_hours", "purge_leftover_uploads"]

ENV_HOURS = "EDI_RETENTION_UNANSWERED_UPLOAD_HOURS"
DEFAULT_HOURS = 24.0


def leftover_hours(environ: Mapping[str, str] | None = None) -> float:
    env = os.environ if environ is None else environ
    text = env.get(ENV_HOURS, "").strip()
    if not text:
        return DEFAULT_HOURS
    try:
        hours = float(text)
    except ValueError:
        raise ValueError(f"{ENV_HOURS} must be a number of hours, not {text!r}") from None
    if hours < 1:
        raise ValueError(f"{ENV_HOURS} must be at least 1 (an upload in progress must not be removed)")
    return hours


def inbound_folders(submitters: Mapping[str, Any], sftp_root: Path) -> list[Path]:
    """The ``inbound/`` of every SFTP account's home (``<root>/<submitter>/inbound``)."""
    return [roots.sftp_home / "inbound" for roots in door_roots(submitters, sftp_root) if roots.sftp_home]


def purge_leftover_uploads(folders: Iterable[Path], max_age_seconds: float, *, now: datetime | None = None,
                           dry_run: bool = False) -> int:
    """Remove (or, with ``dry_run``, count) the plain files unchanged for ``max_age_seconds``."""
    at = now.timestamp() if now is not None else time.time()
    return remove_due_files(folders, lambda _entry, info: at - info.st_mtime >= max_age_seconds, dry_run=dry_run)
