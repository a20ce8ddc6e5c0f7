"""The watched-folder door: submitters drop files into ``inbound/`` and find answers in ``outbound/``.

Per submitter one root holds ``inbound/`` (they write), ``work/`` (claimed, being taken in),
``archive/`` (done), ``quarantine/`` (refused whole) and ``outbound/`` (we write: receipts,
``NAME.error.json`` and response documents).

The archive and the quarantine are ours, not the submitter's, and every file in them holds PHI:
with a key ring (as ``edi doors`` runs it) a taken-in or refused file is kept encrypted like a
stored payload, as ``CLAIMID.PAYLOADID.enc`` (``connectors.ingest.sealed_files``: rotated by
``edi keys rotate``, removed by ``edi purge``, read back by ``edi doors open``). What cannot be
sealed without reading more than the size limit -- a file above it, a folder -- is not kept at
all (the error file says so); a symbolic link is kept as the link, which holds no content.
The submitter's file name may carry PHI too (``smith_john_19800101.csv``), so neither the
archive nor the quarantine nor the logs hold it: files there are named by the claim id
(``20260101T120000-0123456789ab``), an opaque id the door gives each file it claims. The
submitter's answer in ``outbound/`` (their own folder) keeps their name and carries the claim
id as ``submissionId``: that is how an operator finds the file the submitter asks about.
``outbound/`` stays readable for the submitter (encrypted only to a submitter with a PGP key);
``edi purge`` removes answers from it once they are picked up or old
(``connectors.ingest.outbound_retention``).

Why it works the way it does:

* A file is claimed only once it has stopped changing (same size and mtime on two looks, the
  last change at least ``settle_seconds`` ago): writers that do not write-then-rename would
  otherwise be read half-written. Names starting with ``.`` or ending in ``.tmp``/``.part``/
  ``.filepart`` are uploads in progress and are left alone.
* Claiming is a rename into ``work/`` under a unique claim name, which is atomic: two doors, or a
  door and a restart, can never both take the same file (the claim name is ``CLAIMID--NAME``:
  ``work/`` is the one folder of ours that holds the name, for as long as the file is taken in).
  Files still in ``work/`` at start-up were claimed by a door that stopped; they are taken in
  again under their claim id, from which the intake derives its idempotency keys, so nothing is
  recorded twice.
* Archive and quarantine names are claim ids, so a later file with the same name never
  overwrites an earlier one; error files get a ``.2``, ``.3`` ... suffix instead.
* Symbolic links, directories and names with paths in them are refused without being opened
  or followed, and the size limit is checked from ``stat`` before a byte is read.
* Nothing a submitter drops stops the door: a refused file is quarantined with its error file;
  only a failing intake (the store down) leaves the file in ``work/`` for the next attempt.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import stat
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connectors import durable_files
from connectors.durable_files import fsync_dir
from connectors.ingest.door import Intake, IntakeReceipt, ItemError, ReplyAddress, Submission
from connectors.ingest.names import safe_name, unsafe_reason
from connectors.ingest.receipts import answer_document, answer_name
from connectors.ingest.sealed_files import SEALED_SUFFIX, open_sealed, write_sealed
from connectors.pgp import PgpError, PgpPeers
from edi.ingest import DEFAULT_MAX_BYTES
from edi.keys import KeyRing

__all__ = ["ARCHIVE_SUFFIX", "FolderDoor", "FolderLayout", "FolderReplySink", "link_unique", "open_archived",
           "claim_id", "write_atomic"]

log = logging.getLogger(__name__)

ARCHIVE_SUFFIX = SEALED_SUFFIX
_IN_PROGRESS_SUFFIXES = (".tmp", ".part", ".filepart", ".partial", ".crdownload")
_CLAIM_SEPARATOR = "--"


@dataclass(frozen=True, slots=True)
class FolderLayout:
    root: Path

    @property
    def inbound(self) -> Path:
        return self.root / "inbound"

    @property
    def work(self) -> Path:
        return self.root / "work"

    @property
    def archive(self) -> Path:
        return self.root / "archive"

    @property
    def quarantine(self) -> Path:
        return self.root / "quarantine"

    @property
    def outbound(self) -> Path:
        return self.root / "outbound"

    def create(self) -> FolderLayout:
        for folder in (self.inbound, self.work, self.archive, self.quarantine, self.outbound):
            folder.mkdir(parents=True, exist_ok=True)
        return self


def open_archived(keyring: KeyRing, path: Path) -> bytes:
    """The original bytes of an encrypted archive or quarantine file (``NAME.PAYLOADID.enc``)."""
    return open_sealed(keyring, path)


def write_atomic(folder: Path, name: str, body: bytes, *, replace: bool = True) -> Path:
    """Write ``folder/name`` so that a reader sees all of it or nothing (temp file, fsync, rename).

    With ``replace=False`` an existing file is kept and the new one gets ``.2``, ``.3`` ... before
    its last suffixes, e.g. ``claims.csv.2.error.json``.
    """
    if replace:
        return durable_files.write_atomic(folder / name, body)
    with durable_files.staged(folder, body) as temp:
        target = link_unique(temp, folder, name)
    fsync_dir(folder)
    return target


def link_unique(temp: Path, folder: Path, name: str) -> Path:
    for n in range(1, 10_000):
        candidate = folder / (name if n == 1 else _numbered(name, n))
        try:
            os.link(temp, candidate)  # fails if it exists: no clobbering, no race
            return candidate
        except FileExistsError:
            continue
    raise FileExistsError(f"{folder}: too many files of one name (never named here: it may be PHI)")


def _numbered(name: str, n: int) -> str:
    if name.endswith(".pgp"):
        return _numbered(name[:-4], n) + ".pgp"
    for tail in (".error.json", ".receipt.json", ".json"):
        if name.endswith(tail):
            return f"{name[: -len(tail)]}.{n}{tail}"
    return f"{name}.{n}"


def _claim_name(name: str, now: datetime) -> str:
    return f"{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:12]}{_CLAIM_SEPARATOR}{name}"


def _original(claim: str) -> str:
    return claim.split(_CLAIM_SEPARATOR, 1)[1] if _CLAIM_SEPARATOR in claim else claim


def claim_id(claim: str) -> str:
    """The opaque part of a claim name: what the archive, the quarantine, the logs and the store
    know a file by (a claim name without one, from an older door, gets a digest of itself)."""
    if _CLAIM_SEPARATOR in claim:
        return claim.split(_CLAIM_SEPARATOR, 1)[0]
    return "claim-" + hashlib.sha256(claim.encode()).hexdigest()[:24]


@dataclass(slots=True)
class _Seen:
    size: int
    mtime_ns: int


class FolderDoor:
    """Watches each submitter's ``inbound/`` and hands settled files to the intake."""

    def __init__(
        self,
        roots: Mapping[str, Path | str],
        intake: Intake,
        *,
        settle_seconds: float = 2.0,
        poll_interval: float = 5.0,
        retry_seconds: float = 30.0,
        max_bytes: int = DEFAULT_MAX_BYTES,
        use_watchdog: bool = True,
        clock: Callable[[], float] = time.time,
        pgp: PgpPeers | None = None,
        keyring: KeyRing | None = None,
    ) -> None:
        self.pgp = pgp  # answers to a submitter with a PGP key are encrypted to it (NAME.pgp)
        self.keyring = keyring  # archive encrypted under it; None: archived as dropped (tests, demos)
        self.layouts = {submitter: FolderLayout(Path(root)).create() for submitter, root in roots.items()}
        self.intake = intake
        self.settle_seconds = settle_seconds
        self.poll_interval = poll_interval
        self.retry_seconds = retry_seconds
        self.max_bytes = max_bytes
        self.use_watchdog = use_watchdog
        self.clock = clock
        self._seen: dict[Path, _Seen] = {}
        self._failed: dict[Path, float] = {}  # work file -> when the intake last failed on it
        self._wake = threading.Event()
        self._recovered = False

    # -- one pass --------------------------------------------------------------------------

    def scan_once(self) -> int:
        """Take in every settled file (and, the first time, what an earlier run left in work/)."""
        done = 0
        if not self._recovered:
            done += self.recover()
        for submitter, layout in self.layouts.items():
            try:
                entries = sorted(os.scandir(layout.inbound), key=lambda e: e.name)
            except OSError:
                log.exception("folder door %s: cannot list inbound", submitter)
                continue
            present = set()
            for entry in entries:
                path = Path(entry.path)
                present.add(path)
                try:
                    done += self._consider(submitter, layout, entry)
                except Exception:  # one file never stops the door
                    log.exception("folder door %s: failed on an inbound file", submitter)
            for path in [p for p in self._seen if p.parent == layout.inbound and p not in present]:
                del self._seen[path]
        for work_file, failed_at in list(self._failed.items()):
            if self.clock() - failed_at >= self.retry_seconds:
                submitter = self._submitter_of(work_file)
                if submitter is not None and work_file.exists():
                    done += self._take_in(submitter, self.layouts[submitter], work_file)
                else:
                    del self._failed[work_file]
        return done

    def recover(self) -> int:
        """Take in files an earlier run claimed but did not finish (they keep their claim name)."""
        self._recovered = True
        done = 0
        for submitter, layout in self.layouts.items():
            for entry in sorted(os.scandir(layout.work), key=lambda e: e.name):
                if entry.name.startswith("."):
                    continue
                log.info("folder door %s: resuming claim %s", submitter, claim_id(entry.name))
                done += self._take_in(submitter, layout, Path(entry.path))
        return done

    def _submitter_of(self, work_file: Path) -> str | None:
        for submitter, layout in self.layouts.items():
            if work_file.parent == layout.work:
                return submitter
        return None

    def _consider(self, submitter: str, layout: FolderLayout, entry: os.DirEntry[str]) -> int:
        name = entry.name
        climbing = ".." in name or "\\" in name
        if not climbing and (name.startswith(".") or name.lower().endswith(_IN_PROGRESS_SUFFIXES)):
            return 0
        info = entry.stat(follow_symlinks=False)
        reason = unsafe_reason(name)
        if stat.S_ISLNK(info.st_mode):
            reason = "symbolic links are refused: put the file itself into inbound/"
        elif not stat.S_ISREG(info.st_mode):
            reason = reason or "only plain files are taken from inbound/ (this is a folder or a device)"
        if reason is not None:
            self._refuse(submitter, layout, Path(entry.path), name, [ItemError("file", reason)])
            return 1
        path = Path(entry.path)
        now = self.clock()
        before = self._seen.get(path)
        current = _Seen(info.st_size, info.st_mtime_ns)
        self._seen[path] = current
        if before is None or before != current or now - info.st_mtime_ns / 1e9 < self.settle_seconds:
            return 0  # still being written, or not looked at twice yet
        del self._seen[path]
        claimed = layout.work / _claim_name(name, datetime.now(UTC))
        try:
            os.rename(path, claimed)  # atomic: whoever renames first owns the file
        except FileNotFoundError:
            return 0  # another door took it
        fsync_dir(layout.work)
        return self._take_in(submitter, layout, claimed)

    # -- taking one claimed file in ----------------------------------------------------------

    def _take_in(self, submitter: str, layout: FolderLayout, claimed: Path) -> int:
        name = _original(claimed.name)
        try:
            info = os.lstat(claimed)
        except FileNotFoundError:
            self._failed.pop(claimed, None)
            return 0
        if not stat.S_ISREG(info.st_mode):
            self._refuse(submitter, layout, claimed, name, [ItemError("file", "only plain files are taken")])
            return 1
        if info.st_size > self.max_bytes:  # decided from stat: the file is never opened
            self._refuse(submitter, layout, claimed, name, [ItemError(
                "file", f"the file is {info.st_size} bytes, above the limit of {self.max_bytes} bytes; "
                "split it and send the parts")])
            return 1
        fd = os.open(claimed, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, "rb") as handle:
            if os.fstat(handle.fileno()).st_size > self.max_bytes:
                content = None
            else:
                content = handle.read(self.max_bytes + 1)
        if content is None or len(content) > self.max_bytes:
            self._refuse(submitter, layout, claimed, name, [ItemError(
                "file", f"the file grew above the limit of {self.max_bytes} bytes while it was read")])
            return 1
        submission = Submission(
            submitter_id=submitter, channel="folder", name=name, content=content,
            reply=ReplyAddress("folder", str(layout.outbound)), submission_id=f"{submitter}/{claim_id(claimed.name)}",
        )
        try:
            receipt = self.intake(submission)
        except Exception:
            self._failed[claimed] = self.clock()
            log.exception("folder door %s: intake failed for claim %s; kept in work/ for another attempt", submitter,
                          claim_id(claimed.name))
            return 0
        self._failed.pop(claimed, None)
        if receipt.refused_whole:
            self._refuse(submitter, layout, claimed, name, receipt.rejected, receipt, content=content)
            return 1
        self._answer(submitter, layout, name, claim_id(claimed.name), receipt)
        day = layout.archive / datetime.now(UTC).strftime("%Y-%m-%d")
        if self.keyring is None:
            self._move(claimed, day, claim_id(claimed.name))
        else:
            self._archive_sealed(claimed, day, content)
        return 1

    def _archive_sealed(self, claimed: Path, folder: Path, content: bytes, name: str | None = None) -> Path:
        """The file's bytes sealed into ``folder``, then the plaintext claim removed (a crash in
        between takes it in again, idempotently, and archives it once more)."""
        assert self.keyring is not None
        target = write_sealed(self.keyring, folder, name or claim_id(claimed.name), content)
        claimed.unlink()
        fsync_dir(claimed.parent)
        return target

    def _refuse(self, submitter: str, layout: FolderLayout, path: Path, name: str, errors: list[ItemError],
                receipt: IntakeReceipt | None = None, *, content: bytes | None = None) -> None:
        shown = name if unsafe_reason(name) is None else safe_name(name)
        claim = claim_id(path.name if path.parent == layout.work else _claim_name(shown, datetime.now(UTC)))
        log.warning("folder door %s: refused claim %s: %s", submitter, claim, errors[0].reason if errors else "")
        if self.keyring is not None and content is None:
            content = self._sealable(path)
            if content is None and not path.is_symlink():
                errors = [*errors, ItemError("file", "it was not kept: send it again once it is fixed")]
                receipt = None
        self._answer(submitter, layout, shown, claim, receipt or IntakeReceipt(rejected=list(errors)))
        if self.keyring is None or path.is_symlink():
            self._move(path, layout.quarantine, claim)  # a link is moved as the link: it holds no content
        elif content is not None:
            self._archive_sealed(path, layout.quarantine, content, claim)
        else:
            self._discard(path)
        self._seen.pop(path, None)

    def _sealable(self, path: Path) -> bytes | None:
        """A refused plain file's bytes, to seal into the quarantine; None for what is not a plain
        file or is above the size limit (never read: it is not kept)."""
        try:
            info = os.lstat(path)
            if not stat.S_ISREG(info.st_mode) or info.st_size > self.max_bytes:
                return None
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
            with os.fdopen(fd, "rb") as handle:
                content = handle.read(self.max_bytes + 1)
        except OSError:
            return None
        return content if len(content) <= self.max_bytes else None

    @staticmethod
    def _discard(path: Path) -> None:
        """Remove a refused entry that cannot be kept sealed (links inside a folder not followed)."""
        try:
            if stat.S_ISDIR(os.lstat(path).st_mode):
                shutil.rmtree(path)
            else:
                path.unlink()
        except FileNotFoundError:
            return
        fsync_dir(path.parent)

    def _answer(self, submitter: str, layout: FolderLayout, name: str, claim: str, receipt: IntakeReceipt) -> None:
        """``NAME.error.json`` when anything was refused; ``NAME.receipt.json`` when all went in."""
        body = answer_document(name, receipt, submission_id=f"{submitter}/{claim}")
        file_name = answer_name(name, receipt)
        if self.pgp is not None:
            try:
                file_name, body = self.pgp.seal(submitter, file_name, body)
            except PgpError as error:  # never in clear to a submitter who asked for PGP
                log.error("folder door %s: answer for claim %s not written: %s", submitter, claim, error)
                return
        write_atomic(layout.outbound, file_name, body, replace=False)

    @staticmethod
    def _move(path: Path, folder: Path, name: str) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / name
        if target.exists() or target.is_symlink():
            target = folder / f"{name}.{uuid.uuid4().hex[:8]}"
        os.rename(path, target)  # a symlink is moved as a link, never followed
        fsync_dir(folder)
        return target

    # -- running ------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Scan until ``stop`` is set; inotify (watchdog) events wake it early, polling covers the rest."""
        observer = self._watch() if self.use_watchdog else None
        try:
            while not stop.is_set():
                try:
                    self.scan_once()
                except Exception:
                    log.exception("folder door: scan failed")
                # files seen but not settled yet are looked at again after settle_seconds
                wait = min(self.poll_interval, max(self.settle_seconds, 0.05)) if self._seen else self.poll_interval
                deadline = time.monotonic() + wait
                while not stop.is_set() and not self._wake.is_set() and time.monotonic() < deadline:
                    self._wake.wait(min(0.5, max(deadline - time.monotonic(), 0)))
                self._wake.clear()
        finally:
            if observer is not None:
                observer.stop()
                observer.join(timeout=5)

    def wake(self) -> None:
        self._wake.set()

    def _watch(self) -> Any:
        try:
            from watchdog.events import FileSystemEventHandler
            from watchdog.observers import Observer
        except ImportError:  # pragma: no cover - watchdog is a dependency; polling still works
            log.warning("folder door: watchdog is not installed; polling every %ss", self.poll_interval)
            return None
        door = self

        class _Handler(FileSystemEventHandler):
            def on_any_event(self, event: Any) -> None:
                door.wake()

        observer = Observer()
        try:
            for layout in self.layouts.values():
                observer.schedule(_Handler(), str(layout.inbound), recursive=False)
            observer.start()
        except OSError:
            log.warning("folder door: file system events unavailable; polling every %ss", self.poll_interval)
            return None
        return observer


class FolderReplySink:
    """Writes answer documents into a submitter's ``outbound/`` (temp file, then rename).

    Only the outbound folders of the configured roots are written to, whatever an address
    recorded in the store says, and names are plain file names.
    """

    def __init__(self, roots: Mapping[str, Path | str] | Iterable[Path | str], *, pgp: PgpPeers | None = None) -> None:
        folders = roots.values() if isinstance(roots, Mapping) else roots
        self._outbound = {FolderLayout(Path(r)).outbound.resolve() for r in folders}
        # outbound folder -> submitter, for the PGP keys (answers to a submitter with a key go as NAME.pgp)
        self._owners = ({FolderLayout(Path(r)).outbound.resolve(): s for s, r in roots.items()}
                        if isinstance(roots, Mapping) else {})
        if pgp is not None and not self._owners:
            raise ValueError("give the roots by submitter id: PGP keys are chosen by submitter")
        self.pgp = pgp

    def send(self, address: ReplyAddress, name: str, body: bytes) -> None:
        if address.channel != "folder":
            raise ValueError(f"the folder sink cannot send to a {address.channel} address")
        folder = Path(address.target).resolve()
        if folder not in self._outbound:
            raise ValueError("the reply address is not the outbound folder of a configured submitter")
        reason = unsafe_reason(name)
        if reason is not None:
            raise ValueError(f"answer name refused: {reason}")
        if not name.endswith(".json"):
            name += ".json"
        if self.pgp is not None:
            name, body = self.pgp.seal(self._owners.get(folder), name, body)
        folder.mkdir(parents=True, exist_ok=True)
        write_atomic(folder, name, body, replace=True)
