"""A trading partner's SFTP mailbox as the pipeline sees it: put a file in, list, fetch and clear answers.

Partners pick files up from their inbound folder as soon as a name appears, so an upload must
never be visible half written: each file is written as ``<name>.part`` and then renamed, with the
OpenSSH ``posix-rename`` extension where the server has it (an older file of the same name is
replaced in one step) and remove + rename where it does not. Listings leave ``.part`` and dot
files out for the same reason on the way back.

One SSH connection is kept and reused by every call; a call that finds it dropped (the partner
restarted, a NAT timed out) reconnects once and tries again, which is safe because every operation
here is idempotent. Whatever still fails is typed so the caller knows what to do:
`SftpUnavailableError` (cannot connect, connection lost: try again later), `SftpAuthError`
(login refused), `SftpHostKeyError` (the server is not the one we trust), `SftpRemoteError`
(permission, no such folder, file too large). Messages name the host, the operation and file
names, never file contents; nothing here logs a payload (837s and 835s are PHI).

Host keys are checked against the partner's ``known_hosts`` file, or the system default
(``~/.ssh/known_hosts``) when the configuration names none. ``insecure_skip_host_key`` turns the
check off and exists only for tests and the simulator on loopback, which generate their keys.

`AsyncSftpMailbox` is the asyncio client; `SftpMailboxClient` serves threads by running it on a
private event loop thread, like `connectors.core.client.SyncCoreClient`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import posixpath
import stat as _stat
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, TypeVar

import asyncssh

from connectors.loop import LoopThread
from edi.partners import SftpTransport

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_DOWNLOAD_LIMIT",
    "AsyncSftpMailbox",
    "RemoteFile",
    "SftpAuthError",
    "SftpError",
    "SftpHostKeyError",
    "SftpMailboxClient",
    "SftpRemoteError",
    "SftpUnavailableError",
    "check_name",
]

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_CONNECT_TIMEOUT = 10.0
#: Largest file `download` accepts unless told otherwise (a big 835 is a few MB).
DEFAULT_DOWNLOAD_LIMIT = 200 * 1024 * 1024
PART_SUFFIX = ".part"
#: Ciphers in order of preference (the client's order decides). asyncssh puts ChaCha20-Poly1305
#: first, and runs it by building new cipher objects for every packet: against the payer
#: simulator it was ~70% of the SSH server's CPU, and costs the client the same way. AES-GCM sets
#: its cipher up once per connection; ChaCha20 stays last for servers that offer nothing else.
AES_CIPHERS = (
    "aes256-gcm@openssh.com",
    "aes128-gcm@openssh.com",
    "aes256-ctr",
    "aes192-ctr",
    "aes128-ctr",
)
ENCRYPTION_ALGS = (*AES_CIPHERS, "chacha20-poly1305@openssh.com")
_MAX_NAME = 255


# ============================================================================ errors


class SftpError(Exception):
    """An SFTP mailbox operation failed. `host` and `operation` are kept for the caller's logs."""

    retryable = False

    def __init__(self, message: str, *, host: str, port: int, operation: str) -> None:
        self.host = host
        self.port = port
        self.operation = operation
        super().__init__(f"sftp {host}:{port}: {operation}: {message}")


class SftpUnavailableError(SftpError):
    """The server could not be reached or the connection was lost: worth trying again later."""

    retryable = True


class SftpAuthError(SftpError):
    """The server refused our login (or our key could not be used): a configuration problem."""


class SftpHostKeyError(SftpError):
    """The server's host key is not the trusted one: never retried, someone must look."""


class SftpRemoteError(SftpError):
    """The server refused the operation itself: permission, no such folder or file, file too large."""


def check_name(name: str) -> str:
    """`name` if it is a plain file name in a mailbox folder, else ValueError.

    Names come from our own batch ids and from the partner's listing; either way a name must not
    reach outside the folder or hide from the other side's listing.
    """
    if not isinstance(name, str) or not name:
        raise ValueError("file name is empty")
    if len(name) > _MAX_NAME:
        raise ValueError("file name is too long")
    if "/" in name or "\\" in name:
        raise ValueError(f"file name {name!r} contains a path separator")
    if ".." in name or name.startswith("."):
        raise ValueError(f"file name {name!r} starts with a dot or contains '..'")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        raise ValueError("file name contains control characters")
    return name


@dataclass(frozen=True, slots=True)
class RemoteFile:
    """A file waiting in the partner's outbound folder."""

    name: str
    size: int
    mtime: datetime | None  # UTC; None when the server does not say


# ============================================================================ async client


def _is_key_text(value: str) -> bool:
    head = value.lstrip()[:64]
    return head.startswith(("-----BEGIN", "PuTTY-User-Key-File", "openssh-key-v1"))


def _load_key(settings: SftpTransport, environ: Mapping[str, str] | None) -> asyncssh.SSHKey | None:
    """The client key: the secret is the key text (``{file: key}`` or an env var holding the text),
    or an env var holding the key's path."""
    ref = settings.private_key
    if ref is None:
        return None
    value = ref.resolve(environ)
    passphrase = settings.passphrase.resolve(environ) if settings.passphrase is not None else None
    try:
        if _is_key_text(value):
            return asyncssh.import_private_key(value, passphrase)
        return asyncssh.read_private_key(value, passphrase)
    except (asyncssh.KeyImportError, OSError, ValueError) as error:
        raise SftpAuthError(
            f"private key {ref.reference} cannot be used ({type(error).__name__})",
            host=settings.host,
            port=settings.port,
            operation="load key",
        ) from None


class AsyncSftpMailbox:
    """Async client for one partner's mailbox (`settings`: the partner's ``transport.sftp``).

    Calls are serialised on the one connection (a mailbox sees a handful of files a minute).
    `environ` resolves the credential references (default ``os.environ``).
    """

    def __init__(
        self,
        settings: SftpTransport,
        *,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        download_limit: int = DEFAULT_DOWNLOAD_LIMIT,
        environ: Mapping[str, str] | None = None,
        insecure_skip_host_key: bool = False,
        keepalive_seconds: float = 15.0,
    ) -> None:
        if connect_timeout <= 0:
            raise ValueError("connect_timeout must be positive")
        self.settings = settings
        self.host = settings.host
        self.port = settings.port
        self.connect_timeout = connect_timeout
        self.download_limit = download_limit
        self.inbound_dir = settings.inbound_dir
        self.outbound_dir = settings.outbound_dir
        self._key = _load_key(settings, environ)
        self._password = settings.password.resolve(environ) if settings.password is not None else None
        self._options: dict[str, Any] = {
            "username": settings.username,
            "client_keys": [self._key] if self._key is not None else None,
            "password": self._password,
            "agent_path": None,  # only the configured credentials, never a developer's agent
            "config": None,  # nor their ~/.ssh/config
            "connect_timeout": connect_timeout,
            "keepalive_interval": keepalive_seconds,
            "keepalive_count_max": 3,
            "encryption_algs": ENCRYPTION_ALGS,
        }
        if insecure_skip_host_key:
            self._options["known_hosts"] = None
        elif settings.known_hosts is not None:
            self._options["known_hosts"] = str(settings.known_hosts)
        # else: asyncssh's default, ~/.ssh/known_hosts
        self._conn: asyncssh.SSHClientConnection | None = None
        self._sftp: asyncssh.SFTPClient | None = None
        self._lock: asyncio.Lock | None = None

    # ------------------------------------------------------------------ connection

    def _error(self, cls: type[SftpError], operation: str, message: str) -> SftpError:
        return cls(message, host=self.host, port=self.port, operation=operation)

    async def _connect(self) -> asyncssh.SFTPClient:
        op = "connect"
        try:
            async with asyncio.timeout(self.connect_timeout + 1.0):
                conn = await asyncssh.connect(self.host, self.port, **self._options)
                try:
                    sftp = await conn.start_sftp_client()
                except BaseException:
                    conn.abort()
                    raise
        except asyncssh.PermissionDenied:
            raise self._error(SftpAuthError, op, "login refused") from None
        except asyncssh.HostKeyNotVerifiable:
            raise self._error(SftpHostKeyError, op, "host key not trusted") from None
        except asyncssh.KeyExchangeFailed as error:
            raise self._error(SftpUnavailableError, op, f"key exchange failed ({error.reason})") from None
        except (asyncssh.DisconnectError, asyncssh.ChannelOpenError, asyncssh.SFTPError) as error:
            raise self._error(SftpUnavailableError, op, f"{type(error).__name__}") from None
        except TimeoutError:
            raise self._error(
                SftpUnavailableError, op, f"no connection within {self.connect_timeout:g} s"
            ) from None
        except OSError as error:
            raise self._error(
                SftpUnavailableError, op, f"{type(error).__name__}: {error.strerror or error}"
            ) from None
        self._conn, self._sftp = conn, sftp
        log.info("sftp %s:%s: connected", self.host, self.port)
        return sftp

    async def _drop(self) -> None:
        conn, self._conn, self._sftp = self._conn, None, None
        if conn is not None:
            conn.abort()
            try:
                async with asyncio.timeout(2):
                    await conn.wait_closed()
            except Exception:  # already aborted; waiting is a courtesy
                pass

    async def _call(self, operation: str, work: Callable[[asyncssh.SFTPClient], Awaitable[T]]) -> T:
        """Run `work` on the shared connection; on a connection found dead, reconnect once."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            for attempt in (1, 2):
                fresh = self._sftp is None or self._conn is None or self._conn.is_closed()
                if fresh:
                    await self._drop()
                    sftp = await self._connect()
                else:
                    assert self._sftp is not None
                    sftp = self._sftp
                try:
                    return await work(sftp)
                except SftpError:
                    raise
                except (
                    asyncssh.SFTPConnectionLost,
                    asyncssh.DisconnectError,
                    asyncssh.ChannelOpenError,
                    ConnectionError,
                ) as error:
                    await self._drop()
                    if fresh or attempt == 2:
                        raise self._error(
                            SftpUnavailableError, operation, f"connection lost ({type(error).__name__})"
                        ) from None
                    log.info("sftp %s:%s: connection lost; reconnecting", self.host, self.port)
                except asyncssh.SFTPError as error:
                    raise self._error(SftpRemoteError, operation, _describe(error)) from None
            raise AssertionError("unreachable")

    # ------------------------------------------------------------------ operations

    async def upload(self, name: str, data: bytes) -> None:
        """Put `data` in the inbound folder as `name`, never visible under that name half written."""
        check_name(name)
        final = posixpath.join(self.inbound_dir, name)
        part = final + PART_SUFFIX
        operation = f"upload {name}"

        async def work(sftp: asyncssh.SFTPClient) -> None:
            try:
                async with sftp.open(part, "wb") as f:
                    await f.write(bytes(data))
                try:
                    await sftp.posix_rename(part, final)
                except asyncssh.SFTPOpUnsupported:
                    with contextlib.suppress(asyncssh.SFTPNoSuchFile):
                        await sftp.remove(final)
                    await sftp.rename(part, final)
            except asyncssh.SFTPConnectionLost:
                raise
            except asyncssh.SFTPError:
                with contextlib.suppress(asyncssh.SFTPError):
                    await sftp.remove(part)
                raise

        await self._call(operation, work)
        log.info("sftp %s:%s: uploaded %s (%d bytes)", self.host, self.port, name, len(data))

    async def list_outbound(self) -> list[RemoteFile]:
        """The complete regular files in the outbound folder, by name."""

        async def work(sftp: asyncssh.SFTPClient) -> list[RemoteFile]:
            entries = await sftp.readdir(self.outbound_dir)
            files = []
            for entry in entries:
                name = (
                    entry.filename
                    if isinstance(entry.filename, str)
                    else entry.filename.decode("utf-8", "replace")
                )
                if name.startswith(".") or name.endswith(PART_SUFFIX):
                    continue
                if not _is_regular(entry.attrs):
                    continue
                try:
                    check_name(name)
                except ValueError:
                    log.warning(
                        "sftp %s:%s: skipping an outbound file with an unusable name", self.host, self.port
                    )
                    continue
                mtime = entry.attrs.mtime
                files.append(
                    RemoteFile(
                        name=name,
                        size=int(entry.attrs.size or 0),
                        mtime=datetime.fromtimestamp(mtime, UTC) if mtime is not None else None,
                    )
                )
            return sorted(files, key=lambda f: f.name)

        return await self._call("list outbound", work)

    async def download(self, name: str, *, limit: int | None = None) -> bytes:
        """The bytes of outbound file `name`; `SftpRemoteError` when it is larger than `limit`."""
        check_name(name)
        limit = self.download_limit if limit is None else limit
        path = posixpath.join(self.outbound_dir, name)
        operation = f"download {name}"

        async def work(sftp: asyncssh.SFTPClient) -> bytes:
            attrs = await sftp.stat(path)
            if not _is_regular(attrs):
                raise self._error(SftpRemoteError, operation, "not a regular file")
            if attrs.size is not None and attrs.size > limit:
                raise self._error(
                    SftpRemoteError, operation, f"{attrs.size} bytes is over the {limit} byte limit"
                )
            async with sftp.open(path, "rb") as f:
                data = await f.read(limit + 1)
            if len(data) > limit:
                raise self._error(SftpRemoteError, operation, f"file grew over the {limit} byte limit")
            return bytes(data)

        return await self._call(operation, work)

    async def remove(self, name: str) -> None:
        """Delete outbound file `name` (after it is safely stored on our side)."""
        check_name(name)
        path = posixpath.join(self.outbound_dir, name)

        async def work(sftp: asyncssh.SFTPClient) -> None:
            await sftp.remove(path)

        await self._call(f"remove {name}", work)

    async def aclose(self) -> None:
        await self._drop()

    async def __aenter__(self) -> AsyncSftpMailbox:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


def _is_regular(attrs: asyncssh.SFTPAttrs) -> bool:
    if attrs.permissions is not None:
        return _stat.S_ISREG(attrs.permissions)
    return attrs.type == asyncssh.FILEXFER_TYPE_REGULAR


def _describe(error: asyncssh.SFTPError) -> str:
    """An SFTP status without the server's free text (it may quote paths or worse)."""
    return f"{type(error).__name__} (status {error.code})"


# ============================================================================ sync client


class SftpMailboxClient:
    """`AsyncSftpMailbox` for synchronous code: same arguments, blocking calls.

    It runs the async client on an event loop in a daemon thread of its own (a forgotten `close()`
    never blocks interpreter exit); call `close()` or use it as a context manager. Calls from
    several threads are fine: they queue on the one connection.
    """

    def __init__(self, settings: SftpTransport, **options: Any) -> None:
        self._client = AsyncSftpMailbox(settings, **options)
        self.host = settings.host
        self.port = settings.port
        self._loop = LoopThread(f"sftp-client-{settings.host}")
        self._closed = False

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        if self._closed:
            coroutine.close()
            raise RuntimeError("SftpMailboxClient is closed")
        return self._loop.run(coroutine)

    def upload(self, name: str, data: bytes) -> None:
        self._run(self._client.upload(name, data))

    def list_outbound(self) -> list[RemoteFile]:
        return self._run(self._client.list_outbound())

    def download(self, name: str, *, limit: int | None = None) -> bytes:
        return self._run(self._client.download(name, limit=limit))

    def remove(self, name: str) -> None:
        self._run(self._client.remove(name))

    def close(self) -> None:
        if self._closed:
            return
        try:
            self._run(self._client.aclose())
        finally:
            self._closed = True
            self._loop.stop()

    def __enter__(self) -> SftpMailboxClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
