"""Encrypted payload storage: request JSON, X12 in and out, response JSON, acknowledgments.

Every payload carries PHI, so nothing is written in the clear. Each payload gets a fresh random
AES-256 data key; the payload is sealed with AES-256-GCM under that key, and the data key is
itself sealed (wrapped) with the key ring's current master key (``edi.keys``). The object holds
the id of the master key, so payloads written before a rotation still open afterwards, and
``rotate()`` rewrites them under the current key with new data keys. The payload id is bound
into both seals as associated data: an object copied over another one fails to open.

Objects are named by random opaque ids, never by anything taken from the payload. The database
keeps a reference to each (URI, key id, SHA-256 and size of the plaintext); stores themselves
know nothing of transactions. ``PayloadStore`` is the protocol; ``LocalPayloadStore`` keeps
objects in a directory (the embedded default) and ``connectors.s3_payloads.S3PayloadStore``
in S3. Both share the envelope format through ``EncryptedPayloadStore``.

Object format (version 1)::

    "EDIP" | 0x01 | len(key id) | key id | wrap nonce (12) | wrapped data key (32 + 16 tag)
    | nonce (12) | AES-GCM ciphertext and tag

Errors name payload ids and key ids only; a failed decryption says so without any content.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import re
import secrets
import sys
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable
from urllib.parse import urlparse
from urllib.request import url2pathname

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from edi.keys import KEY_BYTES, KeyRing, UnknownKeyError

__all__ = [
    "HEADER_MAX",
    "EncryptedPayloadStore",
    "LocalPayloadStore",
    "PayloadError",
    "PayloadIntegrityError",
    "PayloadNotFoundError",
    "PayloadStore",
    "RotatedPayload",
    "RotationFailure",
    "RotationReport",
    "StoredPayload",
    "UnknownKeyError",
    "new_payload_id",
    "read_key_id",
    "seal",
    "unseal",
]

MAGIC = b"EDIP"
VERSION = 1
NONCE_BYTES = 12
TAG_BYTES = 16
WRAPPED_KEY_BYTES = KEY_BYTES + TAG_BYTES
_FIXED = len(MAGIC) + 2 + NONCE_BYTES + WRAPPED_KEY_BYTES  # header without the key id
HEADER_MAX = _FIXED + 64  # the longest header: key ids are at most 64 bytes
PAYLOAD_ID = re.compile(r"[0-9a-f]{32}")
_WRAP_CONTEXT = b"edi-payload-data-key\x00"


class PayloadError(Exception):
    """A payload could not be stored or read. Messages hold ids only, never content."""


class PayloadNotFoundError(PayloadError):
    """No object for this payload URI."""


class PayloadIntegrityError(PayloadError):
    """The object is not a well-formed payload, or it fails authentication (altered or swapped)."""


@dataclass(frozen=True, slots=True)
class StoredPayload:
    """What the database records about a stored payload."""

    uri: str
    key_id: str
    sha256: str  # of the plaintext, hex
    size: int  # of the plaintext, bytes


@dataclass(frozen=True, slots=True)
class RotatedPayload:
    uri: str
    old_key_id: str
    new_key_id: str


@dataclass(frozen=True, slots=True)
class RotationFailure:
    uri: str
    reason: str  # an error class and message without content


@dataclass(slots=True)
class RotationReport:
    """The outcome of ``rotate()``: feed ``rotated`` to the repository to update key ids."""

    key_id: str  # the current key everything was rewritten under
    rotated: list[RotatedPayload] = field(default_factory=list)
    already_current: int = 0
    failed: list[RotationFailure] = field(default_factory=list)


@runtime_checkable
class PayloadStore(Protocol):
    """Where payloads live. Every implementation encrypts; callers hand over plaintext bytes."""

    def put(self, data: bytes) -> StoredPayload:
        """Encrypt and store ``data`` under a new opaque id."""
        ...

    def put_many(self, items: Sequence[bytes]) -> list[StoredPayload]:
        """``put`` for each item, in order, with the cipher set up once for the group."""
        ...

    def get(self, uri: str, *, sha256: str | None = None) -> bytes:
        """Read and decrypt; with ``sha256``, also check the plaintext digest."""
        ...

    def delete(self, uri: str) -> None:
        """Remove the object (absent is not an error)."""
        ...

    def key_id_of(self, uri: str) -> str:
        """The id of the master key the object is currently wrapped with."""
        ...

    def reseal(self, uri: str) -> RotatedPayload | None:
        """Rewrite one object under the current master key; None if it already is."""
        ...

    def rotate(self, *, limit: int | None = None) -> RotationReport:
        """Rewrite objects wrapped with an older master key under the current one."""
        ...

    def deferred_sync(self) -> contextlib.AbstractContextManager[None]:
        """A block whose puts (in this thread) are durable when the block ends rather than one by
        one: make the database commit that references them after the block, never inside it."""
        ...


# -- the envelope -----------------------------------------------------------------------------


def new_payload_id() -> str:
    """A random opaque object id (128 bits, hex)."""
    return secrets.token_hex(16)


def _wrap_aad(payload_id: str, key_id: str) -> bytes:
    return _WRAP_CONTEXT + payload_id.encode("ascii") + b"\x00" + key_id.encode("ascii")


def seal(keyring: KeyRing, payload_id: str, plaintext: bytes, *, wrapper: AESGCM | None = None) -> bytes:
    """The object bytes for ``plaintext``: a fresh data key wrapped by the current master key
    (``wrapper``: an ``AESGCM`` of that key, made once for a group of objects)."""
    key_id = keyring.current
    data_key = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
    wrap_nonce = os.urandom(NONCE_BYTES)
    wrapper = wrapper or AESGCM(keyring.current_key)
    wrapped = wrapper.encrypt(wrap_nonce, data_key, _wrap_aad(payload_id, key_id))
    encoded_id = key_id.encode("ascii")
    header = MAGIC + bytes((VERSION, len(encoded_id))) + encoded_id + wrap_nonce + wrapped
    nonce = os.urandom(NONCE_BYTES)
    body = AESGCM(data_key).encrypt(nonce, plaintext, header + payload_id.encode("ascii"))
    return header + nonce + body


def _parse_header(payload_id: str, blob: bytes) -> tuple[str, bytes, bytes, int]:
    """(key id, wrap nonce, wrapped key, header length) from the start of an object."""
    if len(blob) < _FIXED or blob[: len(MAGIC)] != MAGIC:
        raise PayloadIntegrityError(f"payload {payload_id} is not an encrypted payload object")
    if blob[len(MAGIC)] != VERSION:
        raise PayloadIntegrityError(f"payload {payload_id} has unknown format version {blob[len(MAGIC)]}")
    id_length = blob[len(MAGIC) + 1]
    start = len(MAGIC) + 2
    end = start + id_length
    if id_length == 0 or len(blob) < end + NONCE_BYTES + WRAPPED_KEY_BYTES:
        raise PayloadIntegrityError(f"payload {payload_id} has a damaged header")
    try:
        key_id = blob[start:end].decode("ascii")
    except UnicodeDecodeError:
        raise PayloadIntegrityError(f"payload {payload_id} has a damaged header") from None
    wrap_nonce = blob[end : end + NONCE_BYTES]
    wrapped = blob[end + NONCE_BYTES : end + NONCE_BYTES + WRAPPED_KEY_BYTES]
    return key_id, wrap_nonce, wrapped, end + NONCE_BYTES + WRAPPED_KEY_BYTES


def read_key_id(payload_id: str, blob: bytes) -> str:
    """The master key id in an object's header (the header alone is enough)."""
    return _parse_header(payload_id, blob)[0]


def unseal(keyring: KeyRing, payload_id: str, blob: bytes) -> tuple[str, bytes]:
    """(master key id, plaintext) of an object; ``PayloadIntegrityError`` if it fails to open."""
    key_id, wrap_nonce, wrapped, header_length = _parse_header(payload_id, blob)
    master = keyring.key(key_id)  # UnknownKeyError names the id only
    try:
        data_key = AESGCM(master).decrypt(wrap_nonce, wrapped, _wrap_aad(payload_id, key_id))
    except InvalidTag:
        raise PayloadIntegrityError(
            f"payload {payload_id}: the data key failed authentication under master key {key_id!r} "
            "(object altered, swapped, or the key ring holds a different key under that id)"
        ) from None
    body = blob[header_length:]
    if len(body) < NONCE_BYTES + TAG_BYTES:
        raise PayloadIntegrityError(f"payload {payload_id} is truncated")
    aad = blob[:header_length] + payload_id.encode("ascii")
    try:
        plaintext = AESGCM(data_key).decrypt(body[:NONCE_BYTES], body[NONCE_BYTES:], aad)
    except InvalidTag:
        raise PayloadIntegrityError(
            f"payload {payload_id}: the ciphertext failed authentication (object altered or truncated)"
        ) from None
    return key_id, plaintext


# -- the shared store logic -------------------------------------------------------------------


class EncryptedPayloadStore(ABC):
    """Envelope encryption, digests and rotation over any object backend.

    Subclasses map payload ids to URIs and move opaque bytes; they never see plaintext.
    ``keyring`` may be replaced at run time (after adding a key) and is used from then on.
    """

    def __init__(self, keyring: KeyRing) -> None:
        self.keyring = keyring

    # backend operations ------------------------------------------------------------------

    @abstractmethod
    def uri_for(self, payload_id: str) -> str:
        """The URI recorded for an object id."""

    @abstractmethod
    def payload_id(self, uri: str) -> str:
        """The object id in a URI of this store; ``PayloadError`` for any other URI."""

    @abstractmethod
    def _write(self, payload_id: str, blob: bytes) -> None:
        """Create or atomically replace an object."""

    @abstractmethod
    def _read(self, payload_id: str, limit: int | None = None) -> bytes:
        """The object's bytes (the first ``limit`` bytes if given); ``PayloadNotFoundError``."""

    @abstractmethod
    def _delete(self, payload_id: str) -> None:
        """Remove an object if it exists."""

    @abstractmethod
    def payload_ids(self) -> Iterator[str]:
        """Every object id in the store."""

    # the protocol --------------------------------------------------------------------------

    def put(self, data: bytes) -> StoredPayload:
        return self.put_many([data])[0]

    def put_many(self, items: Sequence[bytes]) -> list[StoredPayload]:
        """``put`` for a group (the response notices of one answer file): one object per item,
        as ``put`` writes it, under one master key, whose cipher is set up once for the group."""
        for data in items:
            if not isinstance(data, bytes | bytearray | memoryview):
                raise TypeError("payloads are bytes; encode text before storing it")
        keyring = self.keyring  # one ring for the group, even if replaced meanwhile
        key_id = keyring.current
        wrapper = AESGCM(keyring.current_key)
        stored = []
        for data in items:
            plaintext = bytes(data)
            payload_id = new_payload_id()
            self._write(payload_id, seal(keyring, payload_id, plaintext, wrapper=wrapper))
            stored.append(StoredPayload(uri=self.uri_for(payload_id), key_id=key_id,
                                        sha256=hashlib.sha256(plaintext).hexdigest(), size=len(plaintext)))
        return stored

    def get(self, uri: str, *, sha256: str | None = None) -> bytes:
        payload_id = self.payload_id(uri)
        _, plaintext = unseal(self.keyring, payload_id, self._read(payload_id))
        if sha256 is not None and hashlib.sha256(plaintext).hexdigest() != sha256.lower():
            raise PayloadIntegrityError(f"payload {payload_id} does not match its recorded SHA-256")
        return plaintext

    def delete(self, uri: str) -> None:
        self._delete(self.payload_id(uri))

    def key_id_of(self, uri: str) -> str:
        payload_id = self.payload_id(uri)
        return read_key_id(payload_id, self._read(payload_id, HEADER_MAX))

    def reseal(self, uri: str) -> RotatedPayload | None:
        """Rewrite one object under the current master key (None if it already is), in place and
        atomically, so a concurrent reader gets either version; both open while the old key is
        in the ring. ``PayloadNotFoundError`` if the object is gone."""
        keyring = self.keyring
        payload_id = self.payload_id(uri)
        old_key_id = read_key_id(payload_id, self._read(payload_id, HEADER_MAX))
        if old_key_id == keyring.current:
            return None
        _, plaintext = unseal(keyring, payload_id, self._read(payload_id))
        self._write(payload_id, seal(keyring, payload_id, plaintext))
        return RotatedPayload(uri, old_key_id, keyring.current)

    @contextlib.contextmanager
    def deferred_sync(self) -> Iterator[None]:
        """Each put is durable when it returns (a backend that can group its flushes overrides this)."""
        yield

    def rotate(self, *, limit: int | None = None) -> RotationReport:
        """Rewrite, with fresh data keys, every object not wrapped by the current master key.

        The URI stays the same and the replacement is atomic, so readers see either version
        (both open while the old key is still in the ring). ``limit`` caps the rewrites per
        call, for rotation in the background in small steps. Objects that fail to open are
        reported, not raised, so one bad object does not stop the rest.
        """
        keyring = self.keyring  # one ring for the whole pass, even if replaced meanwhile
        report = RotationReport(key_id=keyring.current)
        for payload_id in self.payload_ids():
            if limit is not None and len(report.rotated) >= limit:
                break
            uri = self.uri_for(payload_id)
            try:
                old_key_id = read_key_id(payload_id, self._read(payload_id, HEADER_MAX))
                if old_key_id == keyring.current:
                    report.already_current += 1
                    continue
                _, plaintext = unseal(keyring, payload_id, self._read(payload_id))
                self._write(payload_id, seal(keyring, payload_id, plaintext))
            except PayloadNotFoundError:
                continue  # deleted while we listed
            except (PayloadError, UnknownKeyError) as error:
                report.failed.append(RotationFailure(uri, f"{type(error).__name__}: {error}"))
                continue
            report.rotated.append(RotatedPayload(uri, old_key_id, keyring.current))
        return report


class LocalPayloadStore(EncryptedPayloadStore):
    """Objects as files under one directory: ``<dir>/<id[:2]>/<id>``, mode 0600, dirs 0700.

    Writes go to a temporary file in the same directory, are flushed to disk, then renamed
    over the target, so a crash leaves either the old object or the new one, never half.
    """

    def __init__(self, directory: str | os.PathLike[str], keyring: KeyRing, *, durable: bool = True) -> None:
        super().__init__(keyring)
        self.directory = Path(directory).resolve()
        self.durable = durable
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._uri_prefix = self.directory.as_uri().rstrip("/") + "/"
        self._root = str(self.directory)
        self._shards: set[str] = set()  # shard directories known to exist (made at most once each)
        self._deferred = threading.local()  # per thread: the files written in a deferred_sync block
        self._group = _SyncGroup()

    def _syncfs(self) -> None:
        assert _syncfs is not None
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            if _syncfs(fd) != 0:
                raise OSError(ctypes.get_errno(), "syncfs failed")
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def deferred_sync(self) -> Iterator[None]:
        """Write the block's objects without a flush each, then make them all durable at once.

        One fsync per object costs a disk flush each (milliseconds); a response document per claim
        made that the pipeline's bottleneck. Inside the block objects are written and renamed into
        place as usual; on normal exit one ``syncfs`` of the payload file system (Linux; elsewhere
        an fsync of each object and directory) flushes them all, before the caller's commit.
        Nested blocks flush with the outermost one; a block that raises flushes nothing (nothing
        will reference those objects).
        """
        if not self.durable or getattr(self._deferred, "paths", None) is not None:
            yield
            return
        self._deferred.paths = paths = []
        try:
            yield
        finally:
            self._deferred.paths = None
        if paths:
            self._flush(paths)

    def _flush(self, paths: list[str]) -> None:
        if _syncfs is not None:
            try:
                self._group.sync(self._syncfs)
                return
            except OSError:
                pass  # flush this block's objects one by one instead
        for path in paths:
            _fsync_path(path)
        for directory in {os.path.dirname(path) for path in paths}:
            _fsync_path(directory)

    @classmethod
    def from_url(cls, url: str, keyring: KeyRing, **options: bool) -> LocalPayloadStore:
        """A store for ``file:///path/to/dir`` (or a plain path)."""
        parsed = urlparse(url)
        if parsed.scheme == "file":
            if parsed.netloc not in ("", "localhost"):
                raise PayloadError("file: payload URLs name a local directory (no host)")
            return cls(url2pathname(parsed.path), keyring, **options)
        if parsed.scheme:
            raise PayloadError(f"not a local payload store URL (scheme {parsed.scheme!r})")
        return cls(url, keyring, **options)

    def _file(self, payload_id: str) -> str:
        """The object's path as text (``pathlib`` cost more than the read of a small object)."""
        if not PAYLOAD_ID.fullmatch(payload_id):
            raise PayloadError("malformed payload id")
        return f"{self._root}/{payload_id[:2]}/{payload_id}"

    def uri_for(self, payload_id: str) -> str:
        if not PAYLOAD_ID.fullmatch(payload_id):
            raise PayloadError("malformed payload id")
        return f"{self._uri_prefix}{payload_id[:2]}/{payload_id}"  # what Path.as_uri() gives: ids are hex

    def payload_id(self, uri: str) -> str:
        if not uri.startswith(self._uri_prefix):
            raise PayloadError("the URI does not belong to this payload directory")
        shard, _, payload_id = uri[len(self._uri_prefix) :].partition("/")
        if not PAYLOAD_ID.fullmatch(payload_id) or shard != payload_id[:2]:
            raise PayloadError("the URI does not name a payload object")
        return payload_id

    def _write(self, payload_id: str, blob: bytes) -> None:
        # Paths as text and a bare os.write: pathlib and a buffered file object cost more CPU
        # than the system calls (a response document per claim is written this way).
        target = self._file(payload_id)
        shard = payload_id[:2]
        directory = f"{self._root}/{shard}"
        if shard not in self._shards:
            _make_directory(directory)
            self._shards.add(shard)
        temporary = f"{directory}/.tmp-{payload_id}-{secrets.token_hex(4)}"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
        try:
            fd = os.open(temporary, flags, 0o600)
        except FileNotFoundError:  # the shard directory was removed meanwhile (purged empty)
            _make_directory(directory)
            fd = os.open(temporary, flags, 0o600)
        deferred = getattr(self._deferred, "paths", None)
        durable = self.durable and deferred is None
        try:
            try:
                view = memoryview(blob)
                while view:
                    view = view[os.write(fd, view):]
                if durable:
                    os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(temporary, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
        if deferred is not None:
            deferred.append(target)
        elif self.durable:
            _fsync_path(directory)

    def _read(self, payload_id: str, limit: int | None = None) -> bytes:
        try:
            with open(self._file(payload_id), "rb") as stream:
                return stream.read() if limit is None else stream.read(limit)
        except FileNotFoundError:
            raise PayloadNotFoundError(f"payload {payload_id} not found") from None

    def _delete(self, payload_id: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._file(payload_id))

    def payload_ids(self) -> Iterator[str]:
        for shard in sorted(self.directory.iterdir()):
            if shard.is_dir() and len(shard.name) == 2:
                for entry in sorted(shard.iterdir()):
                    if PAYLOAD_ID.fullmatch(entry.name) and entry.name[:2] == shard.name:
                        yield entry.name


class _SyncGroup:
    """Group commit for ``syncfs``: callers that need a flush while one is running share the next.

    One ``syncfs`` makes durable everything written before it started, so under concurrency (the
    API's real-time requests, several per core) one flush can stand for many callers instead of
    each paying its own. A caller takes a ticket once its objects are written; a flush that
    started after the ticket was taken covers it. A failed flush covers nobody: each waiter then
    flushes (or falls back) itself.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._asked = 0  # tickets handed out
        self._done = 0  # every ticket up to this one is durable
        self._running = False

    def sync(self, flush: Callable[[], None]) -> None:
        with self._cond:
            self._asked += 1
            ticket = self._asked
            while self._done < ticket:
                if self._running:
                    self._cond.wait()
                    continue
                self._running, target = True, self._asked
                self._cond.release()
                flushed = False
                try:
                    flush()
                    flushed = True
                finally:
                    self._cond.acquire()
                    self._running = False
                    if flushed:
                        self._done = max(self._done, target)
                    self._cond.notify_all()


def _make_directory(path: str) -> None:
    with contextlib.suppress(FileExistsError):
        os.mkdir(path, 0o700)


def _fsync_path(path: str | Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _load_syncfs() -> Callable[[int], int] | None:
    """Linux's ``syncfs(2)``: flush one file system (Python's os module has no binding)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int]
    function.restype = ctypes.c_int
    return function


_syncfs = _load_syncfs()
