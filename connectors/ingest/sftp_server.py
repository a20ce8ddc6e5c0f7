"""The submitters' SFTP door: one confined home per submitter, files taken in when their upload closes.

Submitters that cannot call an API drop X12 or CSV files over SFTP, the transport they already use
with clearinghouses. Each account (from configuration: public keys and/or a password kept only as
an scrypt hash) sees its own home as ``/``, with ``/inbound`` (uploads) and ``/outbound`` (answers,
readable and removable). Nothing else is reachable:

* paths that climb above the home (``../``) or name anything but the two folders are refused with
  a permission error; a path that resolves outside the home through a link on disk is refused too;
  clients cannot create symbolic or hard links and cannot read links;
* writes go only to files directly in ``/inbound``; ``/outbound`` is read and delete only;
* a file is handed to the `Intake` when the client closes its write handle (``SSH_FXP_CLOSE``), and
  the close is answered only after the Intake returned: a successful close means the file is stored.
  A session that ends with the handle still open (client killed, connection dropped) leaves no
  submission and its partial file is removed. Names ending in ``.part``, ``.filepart`` or ``.tmp``
  (clients that upload under a temporary name) are taken in when renamed to their final name;
* a file growing past ``max_bytes`` is refused while it is written, and not taken in;
* every upload taken in is answered in ``/outbound`` (``receipts``): ``NAME.receipt.json`` when all
  of it was accepted, ``NAME.error.json`` when anything was refused.
* the answers that come later are ``<transaction id>.<type>.json`` files in ``/outbound``, or, for
  an account with ``answers: jsonl``, lines of one ``NAME.responses.jsonl`` per upload
  (``connectors.ingest.jsonl_answers``).

`ConfinedSFTPServer` is the confinement alone; the payer simulator's mailbox server uses it too.
`SftpReplySink` writes answers into a submitter's ``outbound`` atomically (the channel "sftp").
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import hashlib
import hmac
import logging
import os
import secrets
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncssh
import yaml

from connectors.ingest.door import Intake, IntakeReceipt, ReplyAddress, Submission
from connectors.ingest.folder import link_unique
from connectors.ingest.jsonl_answers import JsonlAnswers
from connectors.ingest.outbound_retention import mark_picked_up
from connectors.ingest.receipts import answer_document, answer_name
from connectors.ingest.sealed_files import write_sealed
from connectors.loop import ServingThread
from connectors.pgp import PgpPeers
from edi.keys import KeyRing

__all__ = [
    "ConfinedSFTPServer",
    "SftpAccount",
    "SftpIngestServer",
    "SftpIngestThread",
    "SftpReplySink",
    "ensure_host_key",
    "hash_password",
    "load_accounts",
    "start_ingest_server",
    "verify_password",
]

log = logging.getLogger(__name__)

INBOUND, OUTBOUND = "inbound", "outbound"
FOLDERS = (INBOUND, OUTBOUND)
#: Suffixes of names some clients upload under before renaming to the final name.
TEMPORARY_SUFFIXES = (".part", ".filepart", ".tmp")
DEFAULT_MAX_BYTES = 256 * 1024 * 1024
STAGING = ".staging"  # under the root, beside the homes: answers are written there first
QUARANTINE = ".quarantine"  # under the root: each file refused whole, per submitter (sealed with a key ring)

_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


# -- passwords -------------------------------------------------------------------------------------


def hash_password(password: str) -> str:
    """An ``scrypt$n$r$p$salt$hash`` string for the configuration; the password itself is never kept."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def _check_hash(stored: str) -> str:
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        raise ValueError("password_hash must be an scrypt hash made by hash_password (never a plain password)")
    return stored


# -- host key --------------------------------------------------------------------------------------


def ensure_host_key(path: str | os.PathLike[str]) -> asyncssh.SSHKey:
    """The ed25519 host key at `path`, generated (mode 600) when missing, so clients keep trusting us."""
    path = Path(path)
    if path.exists():
        return asyncssh.read_private_key(str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    key = asyncssh.generate_private_key("ssh-ed25519")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.export_private_key())
    return key


# -- confinement -----------------------------------------------------------------------------------


def _virtual_parts(path: bytes) -> list[str]:
    """The components of a client path below the virtual root; refuses climbing above it."""
    parts: list[str] = []
    for part in path.replace(b"\\", b"/").split(b"/"):
        if part in (b"", b"."):
            continue
        if part == b"..":
            if not parts:
                raise asyncssh.SFTPPermissionDenied("path leaves your home folder ('..' above /)")
            parts.pop()
            continue
        try:
            parts.append(part.decode("utf-8"))
        except UnicodeDecodeError:
            raise asyncssh.SFTPInvalidFilename("file names must be UTF-8") from None
    return parts


class ConfinedSFTPServer(asyncssh.SFTPServer):
    """asyncssh's file server with `root` as ``/``, only `folders` below it, and no links.

    asyncssh's own chroot clamps ``..`` silently and follows links found on disk; here climbing
    above the root is an error the client sees, and every path is resolved and checked.
    """

    def __init__(self, chan: asyncssh.SSHServerChannel, root: str | os.PathLike[str], folders: Iterable[str]) -> None:
        super().__init__(chan, chroot=os.fsencode(root))
        self._real_root = os.fsencode(os.path.realpath(root))
        self._folders = tuple(folders)

    def parts(self, path: bytes) -> list[str]:
        parts = _virtual_parts(path)
        if parts and parts[0] not in self._folders:
            served = " and ".join("/" + f for f in self._folders)
            raise asyncssh.SFTPPermissionDenied(f"only {served} are served")
        return parts

    def map_path(self, path: bytes) -> bytes:
        parts = self.parts(path)
        mapped = os.path.join(self._real_root, *(os.fsencode(p) for p in parts))
        real = os.path.realpath(mapped)
        if real != self._real_root and not real.startswith(self._real_root + b"/"):
            raise asyncssh.SFTPPermissionDenied("path leaves your home folder (through a link)")
        return mapped

    async def scandir(self, path: bytes) -> AsyncIterator[asyncssh.SFTPName]:
        """The listing, with ``..`` of ``/`` being ``/`` and only the served folders shown at ``/``."""
        parts = self.parts(path)
        here = "/" + "/".join(parts)
        above = "/" + "/".join(parts[:-1])
        for name, target in ((b".", here), (b"..", above)):
            attrs = asyncssh.SFTPAttrs.from_local(os.lstat(self.map_path(target.encode())))
            yield asyncssh.SFTPName(name, attrs=attrs)
        with os.scandir(self.map_path(path)) as entries:
            for entry in entries:
                if not parts and os.fsdecode(entry.name) not in self._folders:
                    continue
                attrs = asyncssh.SFTPAttrs.from_local(entry.stat(follow_symlinks=False))
                yield asyncssh.SFTPName(entry.name, attrs=attrs)

    def readlink(self, path: bytes) -> bytes:
        self.map_path(path)
        raise asyncssh.SFTPPermissionDenied("links are not served")

    def symlink(self, oldpath: bytes, newpath: bytes) -> None:
        raise asyncssh.SFTPPermissionDenied("creating links is not allowed")

    def link(self, oldpath: bytes, newpath: bytes) -> None:
        raise asyncssh.SFTPPermissionDenied("creating links is not allowed")


# -- accounts --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SftpAccount:
    """One login: the submitter it stands for, and how it proves itself (keys, a password hash, or both)."""

    submitter_id: str
    username: str
    password_hash: str | None = field(default=None, repr=False)
    authorized_keys: tuple[str, ...] = ()  # authorized_keys lines
    answers: str = "files"  # the answer layout: files, or jsonl (connectors.ingest.jsonl_answers)

    def __post_init__(self) -> None:
        if self.answers not in ("files", "jsonl"):
            raise ValueError(f"account {self.username!r}: answers is files or jsonl")
        if self.password_hash is None and not self.authorized_keys:
            raise ValueError(f"account {self.username!r}: give authorized_keys, a password_hash, or both")
        if self.password_hash is not None:
            _check_hash(self.password_hash)
        if not self.submitter_id or "/" in self.submitter_id or self.submitter_id.startswith("."):
            raise ValueError(f"account {self.username!r}: submitter id must be a plain folder name")
        if self.authorized_keys:
            asyncssh.import_authorized_keys("\n".join(self.authorized_keys))  # bad key: fail at load


def load_accounts(source: str | os.PathLike[str] | Iterable[Mapping[str, Any]]) -> list[SftpAccount]:
    """Accounts from a YAML file (a list, or ``{accounts: [...]}``) or from already parsed mappings.

    Each entry: ``submitter``, ``username`` (default: the submitter), ``password_hash`` (from
    `hash_password`), ``authorized_keys`` (lines, or a path to an authorized_keys file).
    """
    if isinstance(source, (str, os.PathLike)):
        data = yaml.safe_load(Path(source).read_text())
        entries = data.get("accounts", []) if isinstance(data, dict) else data
    else:
        entries = list(source)
    accounts = []
    for entry in entries:
        if "password" in entry:
            raise ValueError("a plain 'password' is not accepted in configuration: store password_hash")
        keys = entry.get("authorized_keys") or ()
        if isinstance(keys, str):
            keys = [line for line in Path(keys).read_text().splitlines() if line.strip() and not line.startswith("#")]
        accounts.append(
            SftpAccount(
                submitter_id=str(entry["submitter"]),
                username=str(entry.get("username", entry["submitter"])),
                password_hash=entry.get("password_hash"),
                authorized_keys=tuple(keys),
                answers=str(entry.get("answers", "files")),
            )
        )
    names = [a.username for a in accounts]
    if len(set(names)) != len(names):
        raise ValueError("two accounts share a username")
    return accounts


# -- replies ---------------------------------------------------------------------------------------


def _plain_name(name: str) -> str:
    if not name or "/" in name or "\\" in name or name.startswith(".") or "\x00" in name:
        raise ValueError("an answer name must be a plain file name")
    return name


class SftpReplySink:
    """Writes answers into submitters' ``outbound`` folders under `root`, atomically.

    The file is written in a staging folder beside the homes (same file system, out of every
    client's reach), flushed, then renamed into place: a client never sees half an answer.
    """

    channel = "sftp"

    def __init__(self, root: str | os.PathLike[str], *, pgp: PgpPeers | None = None) -> None:
        self.root = Path(root).resolve()
        self.pgp = pgp  # answers to a submitter with a PGP key are encrypted to it (NAME.pgp)
        self.jsonl = JsonlAnswers(self.root / STAGING / "jsonl")

    def address(self, submitter_id: str) -> ReplyAddress:
        return ReplyAddress("sftp", str(self.root / submitter_id / OUTBOUND))

    def outbound_of(self, address: ReplyAddress) -> Path:
        if address.channel != "sftp":
            raise ValueError(f"not an sftp address: {address.channel}")
        outbound = Path(address.target).resolve()
        if outbound.name != OUTBOUND or outbound.parent.parent != self.root:
            raise ValueError("the reply address is not an outbound folder of this SFTP door")
        return outbound

    def send(self, address: ReplyAddress, name: str, body: bytes, *, replace: bool = True) -> None:
        """With ``replace=False`` an existing answer of that name is kept and this one is numbered
        (``NAME.2.error.json``): two uploads of one file name each keep their own answer."""
        outbound = self.outbound_of(address)
        if address.file is not None:  # the jsonl layout: a line of the upload's answer file
            self.jsonl.append(outbound, _plain_name(address.file), address.item, body)
            return
        if self.pgp is not None:
            name, body = self.pgp.seal(outbound.parent.name, _plain_name(name), body)
        final = outbound / _plain_name(name)
        staging = self.root / STAGING
        staging.mkdir(exist_ok=True)
        outbound.mkdir(exist_ok=True)
        temp = staging / f"{secrets.token_hex(8)}.tmp"
        with temp.open("xb") as f:
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
        if replace:
            os.replace(temp, final)
            return
        try:
            link_unique(temp, outbound, final.name)
        finally:
            _remove(os.fsencode(temp))


# -- the submitter server --------------------------------------------------------------------------


@dataclass
class _Upload:
    name: str
    path: bytes
    too_large: bool = False


class _SubmitterSFTP(ConfinedSFTPServer):
    """One session of one submitter: uploads into /inbound become submissions on close."""

    def __init__(self, chan: asyncssh.SSHServerChannel, server: SftpIngestServer) -> None:
        username = chan.get_extra_info("username")
        account = server.accounts[username]
        home = server.root / account.submitter_id
        super().__init__(chan, home, FOLDERS)
        self._server = server
        self._account = account
        self._uploads: dict[int, _Upload] = {}
        self._downloads: dict[int, bytes] = {}  # answers being fetched from /outbound

    def _upload_target(self, path: bytes) -> str:
        parts = self.parts(path)
        if len(parts) != 2 or parts[0] != INBOUND:
            raise asyncssh.SFTPPermissionDenied("uploads go directly into /inbound (read and delete only elsewhere)")
        if parts[1].startswith("."):
            raise asyncssh.SFTPPermissionDenied("file names must not start with '.'")
        return parts[1]

    def _track(self, path: bytes, file_obj: object) -> object:
        name = self._upload_target(path)
        self._uploads[id(file_obj)] = _Upload(name, self.map_path(path))
        return file_obj

    def _download(self, path: bytes, file_obj: object) -> object:
        parts = self.parts(path)
        if len(parts) == 2 and parts[0] == OUTBOUND:
            self._downloads[id(file_obj)] = self.map_path(path)
        return file_obj

    def open(self, path: bytes, pflags: int, attrs: asyncssh.SFTPAttrs) -> object:
        writes = pflags & (asyncssh.FXF_WRITE | asyncssh.FXF_APPEND | asyncssh.FXF_CREAT | asyncssh.FXF_TRUNC)
        if writes:
            self._upload_target(path)
        file_obj = super().open(path, pflags, attrs)
        return self._track(path, file_obj) if writes else self._download(path, file_obj)

    def open56(self, path: bytes, desired_access: int, flags: int, attrs: asyncssh.SFTPAttrs) -> object:
        disposition = flags & asyncssh.FXF_ACCESS_DISPOSITION
        writes = desired_access & (asyncssh.ACE4_WRITE_DATA | asyncssh.ACE4_APPEND_DATA) or disposition not in (
            asyncssh.FXF_OPEN_EXISTING,
        )
        if writes:
            self._upload_target(path)
        file_obj = super().open56(path, desired_access, flags, attrs)
        return self._track(path, file_obj) if writes else self._download(path, file_obj)

    def write(self, file_obj: object, offset: int, data: bytes) -> int:
        upload = self._uploads.get(id(file_obj))
        if upload is not None and (upload.too_large or offset + len(data) > self._server.max_bytes):
            upload.too_large = True
            raise asyncssh.SFTPFailure(f"file larger than {self._server.max_bytes} bytes; split it")
        return super().write(file_obj, offset, data)

    async def close(self, file_obj: object) -> None:
        upload = self._uploads.pop(id(file_obj), None)
        # asyncssh also closes the handles a session left open when it ends (connection lost, or
        # the client's end of the channel closed); only a close the client asked for while its
        # side is still open means the upload is complete. asyncssh has no public flag for a
        # received EOF, hence the private one, read defensively.
        ended = self.channel.is_closing() or getattr(self.channel, "_recv_state", "open") != "open"
        super().close(file_obj)
        downloaded = self._downloads.pop(id(file_obj), None)
        if downloaded is not None and not ended:  # fetched: `edi purge` may remove it after a grace period
            mark_picked_up(downloaded)
        if upload is None:
            return
        if ended:
            log.info("sftp ingest: %s left an upload open; discarded", self._account.submitter_id)
            _remove(upload.path)
            return
        if upload.too_large:
            _remove(upload.path)
            raise asyncssh.SFTPFailure(f"file larger than {self._server.max_bytes} bytes, not taken in; split it")
        if upload.name.endswith(TEMPORARY_SUFFIXES):
            return  # taken in when renamed to its final name
        await self._take_in(upload.name, upload.path)

    async def _take_in(self, name: str, path: bytes) -> None:
        try:
            await self._server.take_in(self._account.submitter_id, name, path)
        except asyncssh.SFTPError:
            raise
        except Exception as error:
            log.error("sftp ingest: intake failed for %s (%s)", self._account.submitter_id, type(error).__name__)
            raise asyncssh.SFTPFailure("the file was not taken in; upload it again later") from None
        finally:
            _remove(path)

    async def rename(self, oldpath: bytes, newpath: bytes) -> None:
        await self._rename(oldpath, newpath, replace=False)

    async def posix_rename(self, oldpath: bytes, newpath: bytes) -> None:
        await self._rename(oldpath, newpath, replace=True)

    async def _rename(self, oldpath: bytes, newpath: bytes, *, replace: bool) -> None:
        old_name = self._upload_target(oldpath)
        new_name = self._upload_target(newpath)
        if not old_name.endswith(TEMPORARY_SUFFIXES) or new_name.endswith(TEMPORARY_SUFFIXES):
            raise asyncssh.SFTPPermissionDenied("only a temporary upload (.part, .filepart, .tmp) can be renamed")
        if replace:
            super().posix_rename(oldpath, newpath)
        else:
            super().rename(oldpath, newpath)
        await self._take_in(new_name, self.map_path(newpath))

    def remove(self, path: bytes) -> None:
        parts = self.parts(path)
        if len(parts) != 2:
            raise asyncssh.SFTPPermissionDenied("only files in /inbound and /outbound can be removed")
        super().remove(path)

    def mkdir(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> None:
        raise asyncssh.SFTPPermissionDenied("folders cannot be created")

    def rmdir(self, path: bytes) -> None:
        raise asyncssh.SFTPPermissionDenied("folders cannot be removed")

    def setstat(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> None:
        self._upload_target(path)
        super().setstat(path, attrs)

    def lsetstat(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> None:
        self._upload_target(path)
        super().lsetstat(path, attrs)


def _remove(path: bytes) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)


class TrackedSSHServer(asyncssh.SSHServer):
    """One connection's server object, kept in its server's ``connections`` while it is open (so
    closing the server can close them); the login rules are the subclass's."""

    def __init__(self, server: Any) -> None:
        self._server = server
        self._conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        self._server.connections.add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._conn is not None:
            self._server.connections.discard(self._conn)


class _Login(TrackedSSHServer):
    """Login rules of one connection: the account's keys or its password hash."""

    _server: SftpIngestServer

    def begin_auth(self, username: str) -> bool:
        account = self._server.accounts.get(username)
        if account is not None and account.authorized_keys and self._conn is not None:
            self._conn.set_authorized_keys(asyncssh.import_authorized_keys("\n".join(account.authorized_keys)))
        return True

    def public_key_auth_supported(self) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    async def validate_password(self, username: str, password: str) -> bool:
        account = self._server.accounts.get(username)
        stored = account.password_hash if account is not None else None
        if stored is None:
            stored = self._server.dummy_hash  # same work for unknown names: no user enumeration by timing
        ok = await asyncio.get_running_loop().run_in_executor(None, verify_password, password, stored)
        return ok and account is not None and account.password_hash is not None


@dataclass
class SftpIngestServer:
    """A listening submitter SFTP door: `port` is the bound port, `host_key_public` its known_hosts key."""

    root: Path
    accounts: dict[str, SftpAccount]
    intake: Intake
    sink: SftpReplySink
    host: str = "127.0.0.1"
    port: int = 0
    host_key_public: str = ""
    max_bytes: int = DEFAULT_MAX_BYTES
    keyring: KeyRing | None = field(default=None, repr=False)  # quarantined files are sealed under it
    dummy_hash: str = field(default_factory=lambda: hash_password(secrets.token_hex(8)), repr=False)
    connections: set[asyncssh.SSHServerConnection] = field(default_factory=set, repr=False)
    _acceptor: asyncssh.SSHAcceptor | None = field(default=None, repr=False)

    def known_hosts_line(self) -> str:
        return f"[{self.host}]:{self.port} {self.host_key_public}\n"

    async def take_in(self, submitter_id: str, name: str, path: bytes) -> IntakeReceipt:
        """Hand a complete upload to the Intake (in a worker thread) and answer it in /outbound.

        Each upload gets a claim id of its own: an upload of identical content later is a new
        submission, and the id in the answer tells two uploads of one name apart."""
        content = Path(os.fsdecode(path)).read_bytes()
        address = self.sink.address(submitter_id)
        claim = f"{submitter_id}/{secrets.token_hex(12)}"
        loop = asyncio.get_running_loop()
        reply, responses = address, None
        if any(a.answers == "jsonl" for a in self.accounts.values() if a.submitter_id == submitter_id):
            outbound = self.sink.outbound_of(address)
            responses = await loop.run_in_executor(None, self.sink.jsonl.reserve, outbound, name)
            reply = dataclasses.replace(address, file=responses)
        submission = Submission(submitter_id=submitter_id, channel="sftp", name=name, content=content, reply=reply,
                                submission_id=claim)
        receipt = await loop.run_in_executor(None, self.intake, submission)
        if responses is not None:
            owed = [*receipt.accepted, *(e.transaction_id for e in receipt.rejected if e.transaction_id)]
            try:
                await loop.run_in_executor(None, self.sink.jsonl.expect, self.sink.outbound_of(address), responses,
                                           name, owed)
            except OSError as error:
                log.error("sftp ingest: %s: answer bookkeeping not written (%s)", submitter_id, type(error).__name__)
        log.info(
            "sftp ingest: %s: %d accepted, %d refused", submitter_id, len(receipt.accepted), len(receipt.rejected)
        )
        if receipt.refused_whole:
            await loop.run_in_executor(None, self._quarantine, submitter_id, claim, content)
        # The file is stored now: a failure to write the answer must not fail the upload
        # (the client would send it again).
        body = answer_document(name, receipt, submission_id=claim, responses=responses)
        try:
            await loop.run_in_executor(
                None, lambda: self.sink.send(address, answer_name(name, receipt), body, replace=False))
        except OSError as error:
            log.error("sftp ingest: %s: answer not written (%s)", submitter_id, type(error).__name__)
        return receipt

    def _quarantine(self, submitter_id: str, claim: str, content: bytes) -> None:
        """Keep a file refused whole (``<root>/.quarantine/<submitter>/``, out of clients' reach),
        named by its claim id (the ``submissionId`` of the submitter's answer), never by the
        submitter's name, and sealed when the door has a key ring (``connectors.ingest.sealed_files``):
        it holds PHI."""
        folder = self.root / QUARANTINE / submitter_id
        try:
            folder.mkdir(parents=True, exist_ok=True)
            stamp = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{claim.rsplit('/', 1)[-1]}"
            if self.keyring is not None:
                write_sealed(self.keyring, folder, stamp, content)
                return
            path = folder / stamp
            with path.open("xb") as f:
                f.write(content)
                f.flush()
                os.fsync(f.fileno())
        except (OSError, ValueError) as error:
            log.error("sftp ingest: %s: refused file not kept in quarantine (%s)", submitter_id, type(error).__name__)

    def close(self) -> None:
        if self._acceptor is not None:
            self._acceptor.close()
        for conn in list(self.connections):
            conn.abort()
        self.connections.clear()

    async def wait_closed(self) -> None:
        if self._acceptor is not None:
            await self._acceptor.wait_closed()


async def start_ingest_server(
    root: str | os.PathLike[str],
    accounts: Iterable[SftpAccount],
    intake: Intake,
    *,
    host_key_path: str | os.PathLike[str],
    host: str = "127.0.0.1",
    port: int = 0,
    max_bytes: int = DEFAULT_MAX_BYTES,
    pgp: PgpPeers | None = None,
    keyring: KeyRing | None = None,
) -> SftpIngestServer:
    """Serve the homes under `root` (one per submitter, created as needed) on the running loop."""
    root = Path(root).resolve()
    by_name = {a.username: a for a in accounts}
    for account in by_name.values():
        for folder in FOLDERS:
            (root / account.submitter_id / folder).mkdir(parents=True, exist_ok=True)
    (root / STAGING).mkdir(exist_ok=True)
    host_key = ensure_host_key(host_key_path)
    server = SftpIngestServer(
        root=root,
        accounts=by_name,
        intake=intake,
        sink=SftpReplySink(root, pgp=pgp),
        host=host,
        host_key_public=host_key.export_public_key().decode().strip(),
        max_bytes=max_bytes,
        keyring=keyring,
    )
    acceptor = await asyncssh.listen(
        host,
        port,
        server_host_keys=[host_key],
        server_factory=lambda: _Login(server),
        sftp_factory=lambda chan: _SubmitterSFTP(chan, server),
        allow_scp=False,
        agent_forwarding=False,
        x11_forwarding=False,
        kbdint_auth=False,
        config=None,
    )
    server._acceptor = acceptor
    server.port = acceptor.get_port()
    log.info("sftp ingest: %d accounts on %s:%d", len(by_name), host, server.port)
    return server


class SftpIngestThread(ServingThread):
    """`start_ingest_server` on an event loop of its own, for synchronous callers and tests."""

    server: SftpIngestServer | None

    def __init__(self, root: str | os.PathLike[str], accounts: Iterable[SftpAccount], intake: Intake, **options: Any):
        args = (root, list(accounts), intake)
        super().__init__("sftp-ingest", lambda: start_ingest_server(*args, **options))

    def __enter__(self) -> SftpIngestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
