"""A throwaway PostgreSQL cluster for the tests, started from the Debian server binaries.

The store must behave the same on SQLite and on PostgreSQL (row locks, ``UPDATE ... RETURNING``,
concurrent writers), and only a real server shows that. The session fixture ``postgres_server``
runs ``initdb`` and ``pg_ctl`` from ``/usr/lib/postgresql/<version>/bin`` (Debian package
``postgresql``; ``EDI_TEST_PG_BINDIR`` names another directory, and ``initdb`` on ``PATH`` is the
last resort) into a temporary directory, listening on 127.0.0.1 only, on a free port, with
password authentication and durability switched off for speed. PostgreSQL refuses to run as
root, so under root (CI) the cluster runs as the ``postgres`` user (created by the Debian package)
through ``runuser``. ``postgres_url`` gives each test a fresh empty database on that server.

When the binaries or the user are missing, the fixtures fail with what to install: never skip.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import re
import secrets
import shlex
import shutil
import socket
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

__all__ = ["PostgresServer", "postgres_server", "postgres_url", "start_postgres"]

RUN_AS = "postgres"  # the account the Debian package creates, used when the tests run as root
INSTALL_HINT = "install the Debian package 'postgresql' (apt-get install -y postgresql)"


@dataclass(frozen=True, slots=True)
class PostgresServer:
    """A running cluster: where it listens and how to reach it as its superuser."""

    host: str
    port: int
    user: str
    password: str
    data_dir: Path

    def url(self, database: str = "postgres") -> str:
        """A SQLAlchemy URL for ``database`` through psycopg 3."""
        return f"postgresql+psycopg://{self.user}:{self.password}@{self.host}:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create an empty database and return its SQLAlchemy URL."""
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
            raise ValueError("database names here are lower-case identifiers")
        import psycopg

        conninfo = f"host={self.host} port={self.port} user={self.user} password={self.password} dbname=postgres"
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)


def _bindir() -> Path:
    override = os.environ.get("EDI_TEST_PG_BINDIR")
    if override:
        return Path(override)

    def version(path: str) -> tuple[int, ...]:
        number = Path(path).parents[1].name
        return tuple(int(p) for p in number.split(".") if p.isdigit())

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=version)
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    pytest.fail(f"PostgreSQL server binaries not found (no /usr/lib/postgresql/*/bin/initdb): {INSTALL_HINT}")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server_user() -> pwd.struct_passwd | None:
    """The account the cluster runs as: ``postgres`` under root, else nobody else (None)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(RUN_AS)
    except KeyError:
        pytest.fail(f"running as root needs a '{RUN_AS}' user to own the cluster: {INSTALL_HINT}")


def _as_server_user(argv: list[str]) -> list[str]:
    """Prefix ``argv`` so it runs as the unprivileged server user when we are root."""
    if _server_user() is None:
        return argv
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", RUN_AS, "--", *argv]
    return ["su", RUN_AS, "-s", "/bin/sh", "-c", shlex.join(argv)]


def _temp_root() -> str:
    """Where the cluster directory goes: the usual temporary directory, if the server user can
    reach it (a private TMPDIR under root's home would not do), else /tmp."""
    root = tempfile.gettempdir()
    if _server_user() is None:
        return root
    for directory in (Path(root), *Path(root).parents):
        if not directory.stat().st_mode & stat.S_IXOTH:
            return "/tmp"
    return root


def _hand_over(*paths: Path) -> None:
    """Give ``paths`` to the server user (when we are root and it is another account)."""
    user = _server_user()
    if user is not None:
        for path in paths:
            os.chown(path, user.pw_uid, user.pw_gid)


def _run(argv: list[str], cwd: Path, what: str) -> None:
    done = subprocess.run(
        _as_server_user(argv), cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, timeout=120, check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"{what} failed (exit {done.returncode}):\n{done.stdout[-4000:]}")


@contextlib.contextmanager
def start_postgres() -> Iterator[PostgresServer]:
    """Start a cluster in a new temporary directory; stop it and delete the directory on exit."""
    bindir = _bindir()
    for tool in ("initdb", "pg_ctl", "postgres"):
        if not (bindir / tool).exists():
            pytest.fail(f"{bindir / tool} is missing: {INSTALL_HINT}")
    # Not under pytest's tmp_path: that tree is private to the current user, and the cluster
    # may run as another one. mkdtemp makes a 0700 directory that we hand over to that user.
    base = Path(tempfile.mkdtemp(prefix="edi-test-pg-", dir=_temp_root()))
    data, socket_dir = base / "data", base / "run"
    password = secrets.token_hex(16)
    try:
        socket_dir.mkdir(mode=0o700)
        (base / "pwfile").write_text(password + "\n")
        _hand_over(base, socket_dir, base / "pwfile")
        _run(
            [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-E", "UTF8", "--no-locale",
             "--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={base / 'pwfile'}", "--no-sync"],
            base, "initdb",
        )
        port = _start(bindir, data, socket_dir, base)
        yield PostgresServer("127.0.0.1", port, "postgres", password, data)
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(
                _as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]),
                cwd=base, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60, check=False,
            )
        shutil.rmtree(base, ignore_errors=True)


def _start(bindir: Path, data: Path, socket_dir: Path, base: Path) -> int:
    """Start on a free port; retry on another if something took the port in the meantime."""
    log = base / "server.log"
    last = ""
    for _ in range(3):
        port = _free_port()
        options = " ".join([
            f"-p {port}", "-c listen_addresses=127.0.0.1", f"-c unix_socket_directories={socket_dir}",
            "-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off",
            "-c max_connections=100", "-c shared_buffers=32MB",
        ])
        done = subprocess.run(
            _as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options,
                             "-w", "-t", "60", "start"]),
            cwd=base, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120, check=False,
        )
        if done.returncode == 0:
            return port
        last = done.stdout + (log.read_text(errors="replace") if log.exists() else "")
    pytest.fail(f"PostgreSQL did not start:\n{last[-4000:]}")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One cluster for the whole test session."""
    with start_postgres() as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """A fresh, empty database for one test, as a ``postgresql+psycopg://`` URL."""
    return postgres_server.create_database(f"t_{secrets.token_hex(6)}")
