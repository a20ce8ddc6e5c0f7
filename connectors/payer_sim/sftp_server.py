"""An SFTP server for the simulator's mailbox, so ``edi payer-sim`` needs no system sshd.

The pipeline reaches partners over SFTP, so the simulator must be reachable the same way in demos
and end-to-end tests, including in containers without OpenSSH. This asyncssh server serves exactly
the mailbox directory (`connectors.payer_sim.mailbox`) and nothing else:

* it is confined to the mailbox root and, inside it, to the ``inbound`` and ``outbound`` folders
  (`ConfinedSFTPServer`, shared with the submitters' SFTP door): the state file, the archive and
  the host key stay out of reach; climbing above the root or through a link on disk is refused;
* it refuses to create or read links, and offers no shell, exec, SCP or forwarding;
* logins are by public key (an ``authorized_keys`` file) and/or one username + password;
* its host key is read from `host_key_path`, or generated there on first start (default
  ``<root>/.sftp_host_ed25519_key``) so a restarted simulator keeps the identity clients trust.

`start_sftp_server` runs on the caller's event loop; `SftpServerThread` runs it on a loop of its
own for synchronous callers (the ``payer-sim`` command, tests).
"""

from __future__ import annotations

import hmac
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import asyncssh

from connectors.ingest.sftp_server import ConfinedSFTPServer, TrackedSSHServer, ensure_host_key
from connectors.loop import ServingThread
from connectors.sftp.client import AES_CIPHERS

__all__ = ["SftpServer", "SftpServerThread", "ensure_host_key", "start_sftp_server"]

log = logging.getLogger(__name__)

#: The folders of the mailbox a client may reach.
SERVED_FOLDERS = ("inbound", "outbound")
HOST_KEY_NAME = ".sftp_host_ed25519_key"
#: Ciphers offered, AES only: asyncssh's ChaCha20-Poly1305 (its clients' first choice) builds new
#: cipher objects for every packet and cost the simulator ~0.2 ms of CPU per claim moved; AES-GCM
#: is one object per connection. OpenSSH and asyncssh clients offer these too.
ENCRYPTION_ALGS = AES_CIPHERS


def _mailbox_sftp(chan: asyncssh.SSHServerChannel, root: str) -> ConfinedSFTPServer:
    return ConfinedSFTPServer(chan, root, SERVED_FOLDERS)


class _Auth(TrackedSSHServer):
    """Login rules of one connection: public key from the authorized_keys file, or the password."""

    _server: SftpServer

    def _user_ok(self, username: str) -> bool:
        expected = self._server.username
        return expected is None or hmac.compare_digest(username.encode(), expected.encode())

    def begin_auth(self, username: str) -> bool:
        keys = self._server.authorized_keys
        if keys is not None and self._conn is not None and self._user_ok(username):
            self._conn.set_authorized_keys(str(keys))
        return True  # authentication is always required

    def public_key_auth_supported(self) -> bool:
        return self._server.authorized_keys is not None

    def password_auth_supported(self) -> bool:
        return self._server.password is not None

    def validate_password(self, username: str, password: str) -> bool:
        expected = self._server.password
        if expected is None or not self._user_ok(username):
            return False
        return hmac.compare_digest(password.encode(), expected.encode())


@dataclass
class SftpServer:
    """A listening mailbox server: `port` is the bound port, `host_key_public` its known_hosts key."""

    root: Path
    host: str
    port: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    authorized_keys: Path | None = None
    host_key_public: str = ""
    connections: set[asyncssh.SSHServerConnection] = field(default_factory=set, repr=False)
    _acceptor: asyncssh.SSHAcceptor | None = field(default=None, repr=False)

    def known_hosts_line(self) -> str:
        shown = f"[{self.host}]:{self.port}" if self.port != 22 else self.host
        return f"{shown} {self.host_key_public}\n"

    def close(self) -> None:
        """Stop listening and drop the open sessions (a stopped partner looks stopped)."""
        if self._acceptor is not None:
            self._acceptor.close()
        for conn in list(self.connections):
            conn.abort()
        self.connections.clear()

    async def wait_closed(self) -> None:
        if self._acceptor is not None:
            await self._acceptor.wait_closed()


async def start_sftp_server(
    root: str | os.PathLike[str],
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    authorized_keys: str | os.PathLike[str] | None = None,
    username: str | None = None,
    password: str | None = None,
    host_key_path: str | os.PathLike[str] | None = None,
) -> SftpServer:
    """Serve mailbox `root` over SFTP on `host`:`port` (0: a free port) on the running loop.

    At least one of `authorized_keys` and `password` is required; `username`, when given, is the
    only account accepted (any name otherwise).
    """
    if authorized_keys is None and password is None:
        raise ValueError("give authorized_keys, a password, or both")
    root = Path(root).resolve()
    for folder in SERVED_FOLDERS:
        (root / folder).mkdir(parents=True, exist_ok=True)
    keys_path = Path(authorized_keys).resolve() if authorized_keys is not None else None
    if keys_path is not None:
        asyncssh.read_authorized_keys(str(keys_path))  # unreadable file: fail now, not at login
    host_key = ensure_host_key(host_key_path if host_key_path is not None else root / HOST_KEY_NAME)
    server = SftpServer(
        root=root,
        host=host,
        username=username,
        password=password,
        authorized_keys=keys_path,
        host_key_public=host_key.export_public_key().decode().strip(),
    )
    acceptor = await asyncssh.listen(
        host,
        port,
        server_host_keys=[host_key],
        server_factory=lambda: _Auth(server),
        sftp_factory=lambda chan: _mailbox_sftp(chan, str(root)),
        allow_scp=False,
        agent_forwarding=False,
        x11_forwarding=False,
        kbdint_auth=False,
        encryption_algs=ENCRYPTION_ALGS,
        config=None,
    )
    server._acceptor = acceptor
    server.port = acceptor.get_port()
    log.info("payer-sim sftp: serving %s on %s:%d", root, host, server.port)
    return server


class SftpServerThread(ServingThread):
    """`start_sftp_server` on an event loop in a daemon thread, for synchronous callers."""

    server: SftpServer | None

    def __init__(self, root: str | os.PathLike[str], **options: object) -> None:
        super().__init__("payer-sim-sftp", lambda: start_sftp_server(root, **options))  # type: ignore[arg-type]

    @property
    def port(self) -> int:
        if self.server is None:
            raise RuntimeError("the SFTP server is not started")
        return self.server.port

    def start(self) -> int:  # type: ignore[override]
        """Bind and return the port (the chosen one when `port` was 0)."""
        return super().start().port

    def __enter__(self) -> SftpServerThread:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
