"""Which names a door takes from a submitter: a plain file name, never a path.

Names arrive from outside (a directory listing, an SFTP upload, an S3 key, a message header) and
end up in paths we write (work, archive, outbound), so anything that could climb out of a folder
or hide (``..``, separators, control characters, a leading dot) is refused, not repaired.
"""

from __future__ import annotations

import re

__all__ = ["MAX_NAME_LENGTH", "safe_name", "unsafe_reason"]

MAX_NAME_LENGTH = 180
_ALLOWED = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._+=@,()\[\]{}~#%&!-]*$")


def unsafe_reason(name: str) -> str | None:
    """Why ``name`` is not taken as a file name, or None when it is fine."""
    if not name:
        return "the file name is empty"
    if "/" in name or "\\" in name or name in (".", "..") or ".." in name:
        return "the file name contains a path ('/', '\\\\' or '..'); send plain file names"
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return "the file name contains control characters"
    if len(name) > MAX_NAME_LENGTH:
        return f"the file name is longer than {MAX_NAME_LENGTH} characters"
    if not _ALLOWED.match(name):
        return "the file name must start with a letter or digit and use only letters, digits, spaces and ._+=@,-"
    return None


def safe_name(name: str) -> str:
    """A harmless stand-in for any name (for quarantine and error files of refused names)."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name).replace("..", "_").lstrip("._-")
    return (cleaned or "unnamed")[:MAX_NAME_LENGTH]
