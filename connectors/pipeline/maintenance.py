"""What ``edi keys ...`` and ``edi purge`` do, on the configured store (``edi.settings``).

The key ring is edited only where it is a file (``EDI_MASTER_KEYS_FILE``, or ``master.keys``
in the data directory of the embedded default); a ring given inline in ``EDI_MASTER_KEYS`` is
the operator's to change. Every process must be given the updated ring (restart, or new
environment) before ``edi keys rotate``, so new payloads are written under the new key too.

``edi keys rotate`` without ``--wait`` starts the rotation as a detached process of its own
(``python -m edi keys rotate --wait``), so it goes on in the background after the command
returns; it is resumable (``edi.store.rotation``), so a killed one is simply started again.

``edi lookup-keys ...`` does the same for the lookup key ring of the CLM01 digests
(``edi.lookup``; ``EDI_LOOKUP_KEY_FILE`` or ``lookup.key`` in the data directory), whose rotation
recomputes digests from the stored requests (``edi.pipeline.lookup_rotation``).

The doors' sealed files (the watched folders' ``archive/`` and ``quarantine/``, the SFTP door's
quarantine: ``connectors.ingest.sealed_files``) are master-key users too: no row records them,
so status, rotation and retirement read the folders the partners file configures, the same
folders ``edi doors`` writes to.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from connectors.ingest import sealed_files
from connectors.ingest.sealed_files import DoorFolder, FileRotation
from connectors.pipeline.runtime import open_payload_store
from edi.keys import ENV_KEYS, ENV_KEYS_FILE, KeyRing, KeyRingError, generate_key
from edi.lookup import ENV_KEY as ENV_LOOKUP_KEY
from edi.lookup import ENV_KEY_FILE as ENV_LOOKUP_KEY_FILE
from edi.lookup import FILE_NAME as LOOKUP_FILE_NAME
from edi.lookup import LookupKey, LookupKeyError
from edi.partners import load_partners
from edi.pipeline.lookup_rotation import LookupRotationProgress, rotate_lookup_digests
from edi.settings import DoorSettings, Settings
from edi.store import Repository, make_engine
from edi.store.models import utcnow
from edi.store.retention import PurgeReport, RetentionPolicy, purge
from edi.store.rotation import RotationProgress, key_usage, rotate_payloads

__all__ = [
    "DoorFileError",
    "KeyStatus",
    "door_folders",
    "key_ring_file",
    "lookup_key_file",
    "run_lookup_keys_new",
    "run_lookup_keys_retire",
    "run_lookup_keys_rotate",
    "run_lookup_keys_status",
    "run_keys_new",
    "run_keys_retire",
    "run_keys_rotate",
    "run_keys_status",
    "run_doors_open",
    "run_purge",
    "start_lookup_rotation",
    "start_rotation",
]


def key_ring_file(settings: Settings) -> Path:
    """The file the configured key ring lives in; ``KeyRingError`` when it is not a file."""
    if os.environ.get(ENV_KEYS):
        raise KeyRingError(
            f"the key ring is given inline in {ENV_KEYS}: edit it there, or move it to a file and set {ENV_KEYS_FILE}"
        )
    if os.environ.get(ENV_KEYS_FILE):
        return Path(os.environ[ENV_KEYS_FILE])
    return settings.data_dir / "master.keys"


def _next_id(ring: KeyRing, prefix: str = "k") -> str:
    numbers = [int(m.group(1)) for key_id in ring.keys if (m := re.fullmatch(rf"{prefix}(\d+)", key_id))]
    return f"{prefix}{max(numbers, default=0) + 1}"


def run_keys_new(key_id: str | None = None, *, current: bool = False) -> tuple[str, KeyRing]:
    """Add a freshly generated key to the ring file (current only if asked); returns its id."""
    settings = Settings.from_env()
    path = key_ring_file(settings)
    ring = KeyRing.from_file(path)
    new_id = key_id or _next_id(ring)
    if new_id in ring.keys:
        raise KeyRingError(f"key id {new_id!r} is already in the key ring")
    ring = ring.with_key(new_id, generate_key(), current=current)
    ring.save(path)
    return new_id, ring


def _make_current(settings: Settings, key_id: str) -> None:
    path = key_ring_file(settings)
    ring = KeyRing.from_file(path)
    if key_id not in ring.keys:
        raise KeyRingError(f"key id {key_id!r} is not in the key ring (add it with `edi keys new`)")
    if ring.current != key_id:
        KeyRing(ring.keys, key_id).save(path)


def door_folders(settings: Settings) -> list[DoorFolder]:
    """Where the configured doors keep sealed files (none without a partners file)."""
    if settings.partners_file is None:
        return []
    submitters = load_partners(settings.partners_file).submitters
    return sealed_files.door_folders(submitters, DoorSettings.from_env().sftp_root)


def run_keys_rotate(
    make_current: str | None = None,
    *,
    batch_size: int = 100,
    pause: float = 0.0,
    progress: Callable[[RotationProgress], None] | None = None,
    file_progress: Callable[[FileRotation], None] | None = None,
) -> tuple[RotationProgress, FileRotation]:
    """Make a key current if asked, then rewrite every payload and every door file under the
    current key (blocking)."""
    settings = Settings.from_env()
    if make_current is not None:
        _make_current(settings, make_current)
    store = open_payload_store(settings)
    engine = make_engine(settings.database_url)
    try:
        report = rotate_payloads(engine, store, batch_size=batch_size, pause=pause,  # type: ignore[arg-type]
                                 progress=progress)
    finally:
        engine.dispose()
    files = sealed_files.reseal_files(door_folders(settings), store.keyring,  # type: ignore[attr-defined]
                                      progress=file_progress, every=batch_size, pause=pause,
                                      max_bytes=DoorSettings.from_env().max_bytes)
    return report, files


def start_rotation(make_current: str | None = None, *, batch_size: int = 100, pause: float = 0.0,
                   log: Path | None = None) -> tuple[int, Path]:
    """Start ``edi keys rotate --wait`` detached; returns its pid and the file its progress goes to."""
    settings = Settings.from_env()
    if make_current is not None:
        _make_current(settings, make_current)  # before returning: errors reach the caller
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    log = log or settings.data_dir / "keys-rotate.log"
    argv = [sys.executable, "-m", "edi", "keys", "rotate", "--wait", "--batch-size", str(batch_size),
            "--pause", str(pause)]
    with open(log, "ab") as out:
        child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True)
    return child.pid, log


@dataclass(frozen=True, slots=True)
class KeyStatus:
    key_id: str
    objects: int  # in the payload store
    in_ring: bool
    current: bool
    files: int = 0  # the doors' sealed archive and quarantine files


def run_keys_status() -> list[KeyStatus]:
    """Stored objects and door files per master key id, with ring membership; ids in the ring
    protecting nothing show 0."""
    settings = Settings.from_env()
    ring = settings.keyring()
    engine = make_engine(settings.database_url)
    try:
        usage = key_usage(engine)
    finally:
        engine.dispose()
    files = sealed_files.key_usage(door_folders(settings))
    ids = sorted(set(usage) | set(files) | set(ring.keys))
    return [KeyStatus(key_id, usage.get(key_id, 0), key_id in ring.keys, key_id == ring.current, files.get(key_id, 0))
            for key_id in ids]


def run_keys_retire(key_id: str) -> KeyRing:
    """Remove a key from the ring file -- refused while any stored object or door file still needs it."""
    settings = Settings.from_env()
    path = key_ring_file(settings)
    ring = KeyRing.from_file(path)
    if key_id not in ring.keys:
        raise KeyRingError(f"key id {key_id!r} is not in the key ring")
    engine = make_engine(settings.database_url)
    try:
        still = key_usage(engine).get(key_id, 0)
    finally:
        engine.dispose()
    if still:
        raise KeyRingError(f"{still} stored objects are still wrapped with {key_id!r}: run `edi keys rotate --wait` first")
    files = sealed_files.key_usage(door_folders(settings)).get(key_id, 0)
    if files:
        raise KeyRingError(f"{files} door archive or quarantine files are still sealed with {key_id!r}: "
                           "run `edi keys rotate --wait` first")
    ring = ring.without_key(key_id)
    ring.save(path)
    return ring


def run_purge(*, dry_run: bool = False) -> PurgeReport:
    """The store's retention, then the doors' ``outbound/`` answers (``outbound_retention``) and
    their sealed archive and quarantine files (``sealed_files``) and SFTP uploads left unanswered
    (``leftover_uploads``)."""
    from connectors.ingest.leftover_uploads import inbound_folders, leftover_hours, purge_leftover_uploads
    from connectors.ingest.outbound_retention import OutboundRetention, outbound_folders, purge_outbound

    settings = Settings.from_env()
    policy = RetentionPolicy.from_env()
    outbound_policy = OutboundRetention.from_env()
    file_policy = sealed_files.DoorFileRetention.from_env()
    leftover_hours()  # a bad setting stops the purge before anything is removed
    now = utcnow()
    engine = make_engine(settings.database_url)
    try:
        report = purge(engine, open_payload_store(settings), policy, now=now, dry_run=dry_run)
    finally:
        engine.dispose()
    if settings.partners_file is not None:
        submitters = load_partners(settings.partners_file).submitters
        folders = outbound_folders(submitters, DoorSettings.from_env().sftp_root)
        report.outbound_files = purge_outbound(folders, outbound_policy, now=now, dry_run=dry_run)
        kept = sealed_files.purge_files(door_folders(settings), file_policy, now=now, dry_run=dry_run)
        report.archive_files, report.quarantine_files = kept["archive"], kept["quarantine"]
        report.leftover_uploads = purge_leftover_uploads(
            inbound_folders(submitters, DoorSettings.from_env().sftp_root), leftover_hours() * 3600.0,
            now=now, dry_run=dry_run)
    report.archive_cutoff = now - timedelta(days=file_policy.archive_days)
    report.quarantine_cutoff = now - timedelta(days=file_policy.quarantine_days)
    return report


# -- the lookup key ring (edi.lookup) -------------------------------------------------------------


def lookup_key_file(settings: Settings) -> Path:
    """The file the lookup key ring lives in (made on first use when it is the data dir's);
    ``LookupKeyError`` when it is given inline."""
    if os.environ.get(ENV_LOOKUP_KEY):
        raise LookupKeyError(f"the lookup key is given inline in {ENV_LOOKUP_KEY}: edit it there, "
                             f"or move it to a file and set {ENV_LOOKUP_KEY_FILE}")
    settings.lookup_key()  # the data dir's lookup.key is made here if it is the one and missing
    if os.environ.get(ENV_LOOKUP_KEY_FILE):
        return Path(os.environ[ENV_LOOKUP_KEY_FILE])
    return settings.data_dir / LOOKUP_FILE_NAME


def run_lookup_keys_new(key_id: str | None = None, *, current: bool = False) -> tuple[str, LookupKey]:
    """Add a freshly generated lookup key to the ring file (current only if asked); returns its
    id. A single-key file becomes key ring JSON, its key keeping the id ``l1``."""
    path = lookup_key_file(Settings.from_env())
    ring = LookupKey.from_file(path).ring
    new_id = key_id or _next_id(ring, "l")
    if new_id in ring.keys:
        raise LookupKeyError(f"lookup key id {new_id!r} is already in the ring")
    try:
        lookup = LookupKey(ring.with_key(new_id, generate_key(), current=current))
    except KeyRingError as error:
        raise LookupKeyError(str(error)) from None
    lookup.save(path)
    return new_id, lookup


def _make_lookup_current(settings: Settings, key_id: str) -> None:
    path = lookup_key_file(settings)
    ring = LookupKey.from_file(path).ring
    if key_id not in ring.keys:
        raise LookupKeyError(f"lookup key id {key_id!r} is not in the ring (add it with `edi lookup-keys new`)")
    if ring.current != key_id:
        LookupKey(KeyRing(ring.keys, key_id)).save(path)


def run_lookup_keys_rotate(
    make_current: str | None = None,
    *,
    batch_size: int = 100,
    pause: float = 0.0,
    progress: Callable[[LookupRotationProgress], None] | None = None,
) -> LookupRotationProgress:
    """Make a lookup key current if asked, then recompute every CLM01 digest under the current
    key (blocking)."""
    settings = Settings.from_env()
    if make_current is not None:
        _make_lookup_current(settings, make_current)
    store = open_payload_store(settings)
    engine = make_engine(settings.database_url)
    try:
        return rotate_lookup_digests(Repository(engine, lookup_key=settings.lookup_key()), store,
                                     batch_size=batch_size, pause=pause, progress=progress)
    finally:
        engine.dispose()


def start_lookup_rotation(make_current: str | None = None, *, batch_size: int = 100, pause: float = 0.0,
                          log: Path | None = None) -> tuple[int, Path]:
    """Start ``edi lookup-keys rotate --wait`` detached; returns its pid and its progress file."""
    settings = Settings.from_env()
    if make_current is not None:
        _make_lookup_current(settings, make_current)  # before returning: errors reach the caller
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    log = log or settings.data_dir / "lookup-keys-rotate.log"
    argv = [sys.executable, "-m", "edi", "lookup-keys", "rotate", "--wait", "--batch-size", str(batch_size),
            "--pause", str(pause)]
    with open(log, "ab") as out:
        child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True)
    return child.pid, log


def _lookup_usage(settings: Settings, lookup: LookupKey) -> dict[str | None, int]:
    engine = make_engine(settings.database_url)
    try:
        return Repository(engine, lookup_key=lookup).lookup_key_usage()
    finally:
        engine.dispose()


def run_lookup_keys_status() -> list[KeyStatus]:
    """Stored CLM01 digests per lookup key id, with ring membership (``-``: digests of no known key)."""
    settings = Settings.from_env()
    lookup = settings.lookup_key()
    usage = {key_id or "-": count for key_id, count in _lookup_usage(settings, lookup).items()}
    ring = lookup.ring
    ids = sorted(set(usage) | set(ring.keys))
    return [KeyStatus(key_id, usage.get(key_id, 0), key_id in ring.keys, key_id == ring.current) for key_id in ids]


def run_lookup_keys_retire(key_id: str) -> LookupKey:
    """Remove a lookup key from the ring file -- refused while any stored digest was made with it."""
    settings = Settings.from_env()
    path = lookup_key_file(settings)
    lookup = LookupKey.from_file(path)
    if key_id not in lookup.ring.keys:
        raise LookupKeyError(f"lookup key id {key_id!r} is not in the ring")
    if key_id == lookup.current:
        raise LookupKeyError(f"cannot retire the current lookup key {key_id!r}: make another one current first")
    still = _lookup_usage(settings, lookup).get(key_id, 0)
    if still:
        raise LookupKeyError(f"{still} stored CLM01 digests were made with {key_id!r}: "
                             "run `edi lookup-keys rotate --wait` first")
    retired = LookupKey(lookup.ring.without_key(key_id))
    retired.save(path)
    return retired


class DoorFileError(Exception):
    """``edi doors open`` could not give the file; ``exit_code`` 2 for a wrong argument, 1 otherwise."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def run_doors_open(path: Path, *, actor: str | None = None) -> bytes:
    """The original bytes of a door's sealed archive or quarantine file, the read audited.

    The trail has no field for a file, and a file name may itself say something about a patient,
    so the entry names the submitter and ``<archive|quarantine>:<payload id>`` (its
    ``control_number``); it is written before the bytes are returned, and a failed open is
    recorded too (``not-found``, ``unreadable``): trying to read is a read attempt.
    """
    from connectors.pipeline.inspect import cli_actor
    from edi.audit import AuditAction, AuditLog, AuditRecord
    from edi.keys import UnknownKeyError
    from edi.payloads import PayloadError

    who = cli_actor(actor)
    settings = Settings.from_env()
    folders = door_folders(settings)
    if not folders:
        raise DoorFileError("no folder or SFTP door is configured: set EDI_PARTNERS_FILE to the partners file "
                            "`edi doors` runs with", 2)
    real = path.resolve()
    folder = sealed_files.find_door_folder(folders, real)
    if folder is None:
        raise DoorFileError(f"{path} is not in the archive or quarantine folder of a door configured in "
                            f"{settings.partners_file}", 2)
    payload_id = sealed_files.payload_id_of(real)
    if payload_id is None:
        raise DoorFileError(f"{path.name} is not a sealed door file (NAME.PAYLOADID.enc); a door run without a "
                            "key ring keeps files as they came", 2)

    def audit(outcome: str) -> None:
        record = AuditRecord(AuditAction.READ, who, outcome, submitter_id=folder.submitter_id,
                             control_number=f"{folder.kind}:{payload_id}")
        engine = make_engine(settings.database_url)
        try:
            AuditLog(engine).record(record)
        finally:
            engine.dispose()

    try:
        data = sealed_files.open_sealed(settings.keyring(), real)
    except FileNotFoundError:
        audit("not-found")
        raise DoorFileError(f"{path}: no such file", 1) from None
    except (PayloadError, UnknownKeyError) as error:
        audit("unreadable")
        raise DoorFileError(f"{path.name}: {error}", 1) from None
    audit("ok")
    return data
