"""A throwaway OpenSSH server for the SFTP tests, started from Debian's ``/usr/sbin/sshd``.

Partners run OpenSSH far more often than anything else, so the SFTP client is tested against the
real thing (its ``internal-sftp``, its ``posix-rename`` extension, its way of refusing a key), not
against the simulator's own asyncssh server only. `start_sshd` writes an ``sshd_config`` into a
temporary directory (loopback only, a free port, a generated ed25519 host key, public-key login
for the current user from a test ``authorized_keys``, no PAM, ``StrictModes no``) and runs
``sshd -D -e`` as a child process until the port accepts connections.

Fixtures (use with ``pytest_plugins = ("tests.servers.sshd",)`` or import them):

* ``sshd`` (function scope): a fresh `Sshd`, stopped after the test;
* ``sshd_key``: the client key pair (module-wide) authorised on it.

A missing ``sshd`` fails the test with what to install: never skips.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncssh
import pytest

from tests.servers.proc import descendants

__all__ = ["ClientKey", "Sshd", "make_client_key", "sshd", "sshd_key", "start_sshd"]

SSHD = Path(os.environ.get("EDI_TEST_SSHD", "/usr/sbin/sshd"))
INSTALL_HINT = "install the Debian package 'openssh-server' (apt-get install -y openssh-server)"


@dataclass(frozen=True, slots=True)
class ClientKey:
    """A client key pair on disk: the private key file and its ``authorized_keys`` line."""

    private_path: Path
    public_line: str


def make_client_key(directory: Path, name: str = "client") -> ClientKey:
    key = asyncssh.generate_private_key("ssh-ed25519")
    path = directory / name
    key.write_private_key(str(path))
    path.chmod(0o600)
    public = key.export_public_key().decode().strip()
    (directory / f"{name}.pub").write_text(public + "\n")
    return ClientKey(path, public)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Sshd:
    """A running (or stopped) sshd: where it listens, its host key line and the files it uses."""

    directory: Path
    port: int
    user: str
    authorized_keys: Path
    host_key_public: str  # "ssh-ed25519 AAAA..."
    host: str = "127.0.0.1"
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def config(self) -> Path:
        return self.directory / "sshd_config"

    def known_hosts_line(self) -> str:
        return f"[{self.host}]:{self.port} {self.host_key_public}\n"

    def write_known_hosts(self, path: Path) -> Path:
        path.write_text(self.known_hosts_line())
        return path

    def authorize(self, public_line: str) -> None:
        with self.authorized_keys.open("a") as f:
            f.write(public_line.strip() + "\n")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = 10.0) -> None:
        if self.running:
            return
        log = (self.directory / "sshd.log").open("ab")
        self.process = subprocess.Popen(
            [str(SSHD), "-D", "-e", "-f", str(self.config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"sshd exited with {self.process.returncode}: {self.log_tail()}")
            with contextlib.suppress(OSError), socket.create_connection((self.host, self.port), timeout=0.5):
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"sshd did not accept connections on port {self.port}: {self.log_tail()}")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        # sshd -D leaves the children serving open sessions running (they call setsid), so they
        # are found by parentage and ended too: a stopped server must drop its connections.
        children = descendants(process.pid)
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    pass
            except OSError:
                return
            time.sleep(0.05)

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_tail(self, lines: int = 20) -> str:
        path = self.directory / "sshd.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def start_sshd(directory: Path, *, port: int | None = None) -> Sshd:
    """Configure and start sshd in `directory` (which must exist); fails with a hint when missing."""
    if not SSHD.exists():
        pytest.fail(f"OpenSSH server not found at {SSHD}: {INSTALL_HINT}")
    if shutil.which("ssh-keygen") is None:
        pytest.fail(f"ssh-keygen not found: {INSTALL_HINT}")
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # privilege separation directory
    host_key = directory / "ssh_host_ed25519_key"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(host_key)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    authorized = directory / "authorized_keys"
    authorized.touch()
    authorized.chmod(0o600)
    user = getpass.getuser()
    port = port or _free_port()
    root_login = "PermitRootLogin prohibit-password" if os.geteuid() == 0 else "PermitRootLogin no"
    (directory / "sshd_config").write_text(
        f"""\
Port {port}
ListenAddress 127.0.0.1
HostKey {host_key}
PidFile {directory / "sshd.pid"}
AuthorizedKeysFile {authorized}
AllowUsers {user}
{root_login}
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
X11Forwarding no
AllowTcpForwarding no
PermitTTY no
MaxStartups 50
LogLevel INFO
Subsystem sftp internal-sftp
"""
    )
    public = (directory / "ssh_host_ed25519_key.pub").read_text().split()
    server = Sshd(
        directory=directory,
        port=port,
        user=user,
        authorized_keys=authorized,
        host_key_public=f"{public[0]} {public[1]}",
    )
    try:
        server.start()
    except RuntimeError as error:
        pytest.fail(str(error))
    return server


@pytest.fixture(scope="module")
def sshd_key(tmp_path_factory: pytest.TempPathFactory) -> ClientKey:
    return make_client_key(tmp_path_factory.mktemp("sshkey"))


@pytest.fixture
def sshd(sshd_key: ClientKey) -> Iterator[Sshd]:
    directory = Path(tempfile.mkdtemp(prefix="edi-sshd-"))
    server: Sshd | None = None
    try:
        server = start_sshd(directory)
        server.authorize(sshd_key.public_line)
        yield server
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(directory, ignore_errors=True)
