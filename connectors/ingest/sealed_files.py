"""Files the doors keep on our disk, sealed like stored payloads: the watched folder's ``archive/``
and ``quarantine/``, and the SFTP door's ``<root>/.quarantine/<submitter>/``.

Every such file holds a submitter's original bytes, so PHI, and is ours rather than the
submitter's: with a key ring it is written as ``NAME.PAYLOADID.enc``, the payload object format
of ``edi.payloads`` (AES-256-GCM under a fresh data key, wrapped by the current master key, the
payload id bound into both seals). No database row refers to these files, so the folders
themselves are the index: ``edi keys status`` counts them by the key id in their header,
``edi keys rotate`` rewrites the ones on an older key (same name, same modification time,
replaced atomically: a reader sees the old or the new version) and seals plaintext ones an older
door left (refused files were once quarantined as dropped), ``edi keys retire`` refuses a
key some file still needs, and ``edi purge`` removes them past retention by modification time,
which a rotation keeps, so a rotation never makes a file younger.

Retention, from the environment (days):

* ``EDI_RETENTION_ARCHIVE_DAYS`` (default: ``EDI_RETENTION_PAYLOAD_DAYS``, itself seven years by
  default): taken-in files in ``archive/``. The intake keeps no copy of the file itself, only
  the requests read from it, so the archive is kept as long as those are.
* ``EDI_RETENTION_QUARANTINE_DAYS`` (default 30): refused files. Nothing of them reached the
  store; they are kept only so that an operator can see what a submitter sent.

Which folders there are comes from the partners file, as ``edi doors`` finds them
(``door_folders``). Errors and counts name files by key id and payload id, never content.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from connectors.durable_files import fsync_dir, write_atomic
from connectors.ingest.door_roots import door_roots
from edi.keys import KeyRing, UnknownKeyError
from edi.payloads import (
    HEADER_MAX,
    PayloadError,
    PayloadIntegrityError,
    new_payload_id,
    read_key_id,
    seal,
    unseal,
)
from edi.store.retention import DEFAULT_PAYLOAD_DAYS, ENV_PAYLOAD_DAYS, env_days

__all__ = [
    "ENV_ARCHIVE_DAYS",
    "ENV_QUARANTINE_DAYS",
    "SEALED_SUFFIX",
    "DoorFileRetention",
    "DoorFolder",
    "FileRotation",
    "door_folders",
    "find_door_folder",
    "key_usage",
    "open_sealed",
    "payload_id_of",
    "plain_files",
    "purge_files",
    "reseal_files",
    "sealed_files",
    "write_sealed",
]

SEALED_SUFFIX = ".enc"
ENV_ARCHIVE_DAYS = "EDI_RETENTION_ARCHIVE_DAYS"
ENV_QUARANTINE_DAYS = "EDI_RETENTION_QUARANTINE_DAYS"
DEFAULT_QUARANTINE_DAYS = 30
SFTP_QUARANTINE = ".quarantine"  # connectors.ingest.sftp_server.QUARANTINE
_SEALED = re.compile(r".+\.([0-9a-f]{32})" + re.escape(SEALED_SUFFIX))

Kind = Literal["archive", "quarantine"]


# -- one file -----------------------------------------------------------------------------------


def payload_id_of(path: Path | str) -> str | None:
    """The payload id in a sealed file's name (``NAME.PAYLOADID.enc``), None for any other name."""
    match = _SEALED.fullmatch(Path(path).name)
    return match.group(1) if match else None


def write_sealed(keyring: KeyRing, folder: Path, name: str, content: bytes) -> Path:
    """``content`` sealed under the current master key as ``folder/NAME.PAYLOADID.enc`` (a fresh id,
    so it never replaces another file); the file is readable by its owner only."""
    folder.mkdir(parents=True, exist_ok=True)
    payload_id = new_payload_id()
    target = folder / f"{name}.{payload_id}{SEALED_SUFFIX}"
    write_atomic(target, seal(keyring, payload_id, content), mode=0o600)
    return target


def open_sealed(keyring: KeyRing, path: Path) -> bytes:
    """The original bytes of a sealed file; ``PayloadIntegrityError`` if it is not one or was altered,
    ``UnknownKeyError`` if its key is not in the ring."""
    payload_id = payload_id_of(path)
    if payload_id is None:
        raise PayloadIntegrityError(f"{Path(path).name} is not a sealed door file (NAME.PAYLOADID.enc)")
    return unseal(keyring, payload_id, Path(path).read_bytes())[1]


def _key_id(path: Path, payload_id: str) -> str:
    with open(path, "rb") as handle:
        return read_key_id(payload_id, handle.read(HEADER_MAX))


# -- where they are -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DoorFolder:
    submitter_id: str
    kind: Kind
    path: Path


def door_folders(submitters: Mapping[str, Any], sftp_root: Path) -> list[DoorFolder]:
    """Every folder where a door keeps submitted files: each folder door's ``archive/`` and
    ``quarantine/`` (its ``root`` from the partners file, as ``DoorRunner`` uses it) and each SFTP
    account's quarantine under the SFTP door's root."""
    folders = []
    for roots in door_roots(submitters, sftp_root):
        sid = roots.submitter_id
        if roots.folder is not None:
            folders += [DoorFolder(sid, "archive", roots.folder / "archive"),
                        DoorFolder(sid, "quarantine", roots.folder / "quarantine")]
        if roots.sftp_home is not None:
            folders.append(DoorFolder(sid, "quarantine", Path(sftp_root) / SFTP_QUARANTINE / sid))
    return folders


def find_door_folder(folders: list[DoorFolder], path: Path) -> DoorFolder | None:
    """The door folder ``path`` lies in (its real location, links resolved), if any."""
    real = path.resolve()
    for folder in folders:
        if real.is_relative_to(folder.path.resolve()):
            return folder
    return None


def sealed_files(folders: list[DoorFolder]) -> Iterator[tuple[DoorFolder, Path]]:
    """Every sealed file in the folders (day folders included; links never followed; temp files of
    a writer at work, named ``.*``, left alone)."""
    for folder in folders:
        for top, dirs, files in os.walk(folder.path, followlinks=False):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                path = Path(top) / name
                if name.startswith(".") or payload_id_of(name) is None:
                    continue
                with contextlib.suppress(FileNotFoundError):
                    if stat.S_ISREG(os.lstat(path).st_mode):
                        yield folder, path


def key_usage(folders: list[DoorFolder]) -> dict[str, int]:
    """How many sealed files each master key id protects (read from each file's header)."""
    counts: dict[str, int] = {}
    for _, path in sealed_files(folders):
        payload_id = payload_id_of(path)
        assert payload_id is not None
        try:
            key_id = _key_id(path, payload_id)
        except (FileNotFoundError, PayloadIntegrityError):
            continue  # removed meanwhile, or not a sealed object at all: rotation lists it as failed
        counts[key_id] = counts.get(key_id, 0) + 1
    return counts


# -- rotation -----------------------------------------------------------------------------------


@dataclass(slots=True)
class FileRotation:
    """Counts only, and the files that could not be rewritten (by name and error, no content)."""

    key_id: str
    rotated: int = 0
    current: int = 0  # already on the current key
    sealed: int = 0  # plaintext files (kept by an older door, or one run without a key ring) sealed
    failed: list[str] = field(default_factory=list)
    too_large: list[str] = field(default_factory=list)  # plaintext files above max_bytes, left for purge


def plain_files(folders: list[DoorFolder]) -> Iterator[tuple[DoorFolder, Path]]:
    """Every plain file in the folders that is not sealed (links and a writer's temp files left alone)."""
    for folder in folders:
        for top, dirs, files in os.walk(folder.path, followlinks=False):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                path = Path(top) / name
                if name.startswith(".") or payload_id_of(name) is not None:
                    continue
                with contextlib.suppress(FileNotFoundError):
                    if stat.S_ISREG(os.lstat(path).st_mode):
                        yield folder, path


def _seal_plain(keyring: KeyRing, path: Path, info: os.stat_result) -> None:
    """A plaintext file replaced by its sealed form beside it (same age), then removed."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as handle:
        content = handle.read()
    payload_id = new_payload_id()
    write_atomic(path.with_name(f"{path.name}.{payload_id}{SEALED_SUFFIX}"), seal(keyring, payload_id, content),
                 mode=0o600, mtime_ns=info.st_mtime_ns)
    path.unlink()
    fsync_dir(path.parent)


def reseal_files(folders: list[DoorFolder], keyring: KeyRing, *,
                 progress: Callable[[FileRotation], None] | None = None, every: int = 100,
                 pause: float = 0.0, max_bytes: int = 256 << 20) -> FileRotation:
    """Rewrite every sealed file whose header names a key other than the ring's current one, then
    seal the plaintext files found there (up to ``max_bytes`` each: larger ones are listed, and
    ``edi purge`` removes them in time).

    Resumable by nature: a rerun skips files already on the current key. A file that fails to
    open (its key not in the ring, altered) is listed and left as it is. ``pause`` seconds after
    every ``every`` rewritten files leave the disk to the doors.
    """
    report = FileRotation(keyring.current)
    for _, path in sealed_files(folders):
        payload_id = payload_id_of(path)
        assert payload_id is not None
        try:
            info = os.lstat(path)
            blob = path.read_bytes()
            key_id, plaintext = unseal(keyring, payload_id, blob)
            if key_id == keyring.current:
                report.current += 1
                continue
            write_atomic(path, seal(keyring, payload_id, plaintext), mode=0o600, mtime_ns=info.st_mtime_ns)
            report.rotated += 1
        except FileNotFoundError:
            continue  # purged meanwhile
        except (PayloadError, UnknownKeyError, OSError) as error:
            report.failed.append(f"{path}: {type(error).__name__}: {error}")
        if (report.rotated + len(report.failed)) % every == 0:
            if progress is not None:
                progress(report)
            if pause > 0:
                time.sleep(pause)
    for _, path in plain_files(folders):
        try:
            info = os.lstat(path)
            if info.st_size > max_bytes:
                report.too_large.append(f"{path}: {info.st_size} bytes")
                continue
            _seal_plain(keyring, path, info)
            report.sealed += 1
        except FileNotFoundError:
            continue
        except OSError as error:
            report.failed.append(f"{path}: {type(error).__name__}: {error.strerror or error}")
    if progress is not None:
        progress(report)
    return report


# -- retention ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DoorFileRetention:
    archive_days: int = DEFAULT_PAYLOAD_DAYS
    quarantine_days: int = DEFAULT_QUARANTINE_DAYS

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> DoorFileRetention:
        env = os.environ if environ is None else environ
        payload_days = env_days(env, ENV_PAYLOAD_DAYS, DEFAULT_PAYLOAD_DAYS)
        return cls(env_days(env, ENV_ARCHIVE_DAYS, payload_days), env_days(env, ENV_QUARANTINE_DAYS, DEFAULT_QUARANTINE_DAYS))

    def days(self, kind: Kind) -> int:
        return self.archive_days if kind == "archive" else self.quarantine_days


def _remove(path: Path, info: os.stat_result) -> bool:
    try:
        if stat.S_ISDIR(info.st_mode):
            shutil.rmtree(path)  # a refused folder kept by an older door; links inside are not followed
        else:
            os.unlink(path)
    except FileNotFoundError:
        return False
    return True


def purge_files(folders: list[DoorFolder], policy: DoorFileRetention, *, now: datetime | None = None,
                dry_run: bool = False) -> dict[str, int]:
    """Remove (or, with ``dry_run``, count) what is past retention in each kind of folder: every
    entry, sealed or not (files from a door run without a key ring, links and folders refused by
    an older door too), by its own modification time; emptied day folders of the archive go with
    their last file. Returns the count per kind."""
    at = now.timestamp() if now is not None else time.time()
    removed = {"archive": 0, "quarantine": 0}
    for folder in folders:
        max_age = policy.days(folder.kind) * 86400.0
        removed[folder.kind] += _purge_tree(folder.path, at, max_age, dry_run, top=True)
    return removed


def _purge_tree(directory: Path, at: float, max_age: float, dry_run: bool, *, top: bool) -> int:
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError):
        return 0
    removed = 0
    for entry in entries:
        if entry.name.startswith("."):
            continue  # a writer's temp file
        try:
            info = entry.stat(follow_symlinks=False)
        except FileNotFoundError:
            continue
        path = Path(entry.path)
        if stat.S_ISDIR(info.st_mode) and top and _is_day(entry.name):
            removed += _purge_tree(path, at, max_age, dry_run, top=False)
            if not dry_run and entry.name < datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d"):
                with contextlib.suppress(OSError):  # still holds younger files: stays (today's never goes)
                    path.rmdir()
            continue
        if at - info.st_mtime < max_age:
            continue
        if dry_run or _remove(path, info):
            removed += 1
    return removed


def _is_day(name: str) -> bool:
    return re.fullmatch(r"\d{4}-\d{2}-\d{2}", name) is not None
