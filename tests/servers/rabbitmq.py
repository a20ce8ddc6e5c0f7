"""A private RabbitMQ node for the tests, started from the Debian ``rabbitmq-server`` package.

The queues must behave the same on the embedded broker and on RabbitMQ (durable queues with
dead-letter arguments, publisher confirms, manual acks, redelivery when a consumer's connection
drops), and only a real node shows that. ``start_rabbitmq`` runs the package's own start script,
``/usr/lib/rabbitmq/bin/rabbitmq-server`` (not the ``/usr/sbin`` wrapper, which switches to the
``rabbitmq`` user and writes to ``/var/log/rabbitmq``), as the current user -- root is fine --
with everything private to a temporary directory:

* node ``edi-test-<random>@localhost``, AMQP on 127.0.0.1 on a free port, Erlang distribution on
  127.0.0.1 on another free port, and its own ``epmd`` on a third (started here, in the
  foreground, and stopped here; the machine's epmd on 4369 is never touched);
* its own ``HOME`` and Erlang cookie, Mnesia and log directories, ``rabbitmq.conf``, an empty
  ``rabbitmq-env.conf`` (so ``/etc/rabbitmq`` is not read) and an enabled-plugins file with no
  plugins (the fastest boot: a few seconds);
* the default ``guest`` user, which RabbitMQ lets in from loopback only, on vhost ``/``.

``EDI_TEST_RABBITMQ_SERVER`` names another start script. The session fixture ``rabbitmq_server``
gives the ``RabbitMQServer``; ``rabbitmq_url`` its ``amqp://guest:guest@127.0.0.1:PORT//``.
``RabbitMQServer.restart()`` stops the node (cleanly, or with ``kill -9`` given ``hard=True``)
and starts it again on the same ports and data, for crash tests.

The node and its epmd get SIGTERM/SIGKILL from Linux if the test process dies before its
teardown (``PR_SET_PDEATHSIG``), so a killed pytest leaves no broker behind. Start and restart
nodes from the main thread: the signal follows the thread that started the child.

When the package is missing or the node does not start, the fixtures fail with the reason and
the node's log: never skip.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

__all__ = ["RabbitMQServer", "rabbitmq_server", "rabbitmq_url", "start_rabbitmq"]

INSTALL_HINT = "install the Debian package 'rabbitmq-server' (apt-get install -y rabbitmq-server)"
START_TIMEOUT = 90.0
STOP_TIMEOUT = 30.0


def _server_script() -> Path:
    override = os.environ.get("EDI_TEST_RABBITMQ_SERVER")
    candidates = [override] if override else [
        "/usr/lib/rabbitmq/bin/rabbitmq-server",
        *sorted(glob.glob("/usr/lib/rabbitmq/lib/rabbitmq_server-*/sbin/rabbitmq-server")),
    ]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return Path(candidate)
    pytest.fail(f"RabbitMQ start script not found (tried {', '.join(c for c in candidates if c)}): {INSTALL_HINT}")


def _epmd() -> str:
    found = shutil.which("epmd") or next(iter(sorted(glob.glob("/usr/lib/erlang/erts-*/bin/epmd"))), None)
    if not found:
        pytest.fail(f"Erlang's epmd not found: {INSTALL_HINT}")
    return found


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _free_ports(n: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < n:
        port = _free_port()
        if port not in ports:
            ports.append(port)
    return ports


def _stop_process(process: subprocess.Popen | None, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT) -> None:
    if process is None or process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(sig)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        process.wait(10)


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie nobody reaped yet counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _die_with_parent(sig: int = signal.SIGTERM) -> Callable[[], None] | None:
    """A ``preexec_fn`` asking Linux to send ``sig`` to the child when the test process dies, so
    a pytest killed before its teardown leaves no node behind (the start script turns SIGTERM
    into a clean shutdown). Elsewhere: None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
    pr_set_pdeathsig = 1

    def preexec() -> None:
        libc.prctl(pr_set_pdeathsig, sig, 0, 0, 0)

    return preexec


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


@dataclass(slots=True)
class RabbitMQServer:
    """A running private node: where it listens, and how to stop and restart it."""

    base: Path
    port: int
    dist_port: int
    epmd_port: int
    nodename: str
    host: str = "127.0.0.1"
    user: str = "guest"
    password: str = "guest"
    startup_seconds: float = 0.0
    _node: subprocess.Popen | None = field(default=None, repr=False)
    _epmd: subprocess.Popen | None = field(default=None, repr=False)

    # addresses ---------------------------------------------------------------------------------

    def url(self, vhost: str = "/") -> str:
        """A kombu/AMQP URL for ``vhost`` (``/`` gives the ``//`` form)."""
        return f"amqp://{self.user}:{self.password}@{self.host}:{self.port}/{vhost}"

    @property
    def log_file(self) -> Path:
        return self.base / "node.out"

    def log_tail(self, chars: int = 4000) -> str:
        parts = []
        for path in (self.log_file, *sorted((self.base / "log").glob("*.log"))):
            if path.exists():
                parts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-chars:]}")
        return "\n".join(parts)

    @property
    def running(self) -> bool:
        return self._node is not None and self._node.poll() is None

    # lifecycle ---------------------------------------------------------------------------------

    def _env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith(("RABBITMQ_", "ERL_"))}
        env.update({
            "HOME": str(self.base / "home"),
            "RABBITMQ_NODENAME": self.nodename,
            "RABBITMQ_NODE_IP_ADDRESS": self.host,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.base / "log"),
            "RABBITMQ_CONFIG_FILE": str(self.base / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.base / "advanced.config"),
            "RABBITMQ_CONF_ENV_FILE": str(self.base / "rabbitmq-env.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.base / "enabled_plugins"),
            "RABBITMQ_PID_FILE": str(self.base / "node.pid"),
            # the distribution listener on loopback only (the AMQP one is NODE_IP_ADDRESS)
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
            "ERL_EPMD_PORT": str(self.epmd_port),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
        })
        return env

    def _write_config(self) -> None:
        for directory in ("home", "mnesia", "log"):
            (self.base / directory).mkdir(exist_ok=True)
        cookie = self.base / "home" / ".erlang.cookie"
        if not cookie.exists():
            cookie.write_text(secrets.token_hex(20).upper())
            cookie.chmod(0o400)
        (self.base / "rabbitmq-env.conf").write_text("# private test node: nothing from /etc/rabbitmq\n")
        (self.base / "enabled_plugins").write_text("[].\n")
        (self.base / "rabbitmq.conf").write_text(
            "\n".join([
                f"listeners.tcp.default = {self.host}:{self.port}",
                "loopback_users.guest = true",
                "disk_free_limit.absolute = 1MB",
                "log.console = false",
                "log.file.level = info",
                "",
            ])
        )

    def start(self) -> None:
        """Start the node (and its epmd) and wait until it accepts AMQP connections."""
        if self.running:
            return
        self._write_config()
        started = time.monotonic()
        if self._epmd is None or self._epmd.poll() is not None:
            self._epmd = subprocess.Popen(
                [_epmd(), "-port", str(self.epmd_port), "-address", "127.0.0.1"],
                env=self._env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True, preexec_fn=_die_with_parent(signal.SIGKILL),
            )
        with self.log_file.open("ab") as out:
            # the script runs the VM as its child and writes the VM's pid to RABBITMQ_PID_FILE
            self._node = subprocess.Popen(
                [str(_server_script())], cwd=self.base, env=self._env(), stdin=subprocess.DEVNULL,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_die_with_parent(),
            )
        self._wait_ready(started)
        self.startup_seconds = time.monotonic() - started

    def _wait_ready(self, started: float) -> None:
        from kombu import Connection

        deadline = started + START_TIMEOUT
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self._node is None or self._node.poll() is not None:
                code = None if self._node is None else self._node.returncode
                self.stop()
                pytest.fail(f"RabbitMQ node exited during start-up (exit {code}):\n{self.log_tail()}")
            connection = Connection(self.url(), connect_timeout=2)
            try:
                connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
                return
            except Exception as exc:
                last = exc
                time.sleep(0.1)
            finally:
                connection.release()
        self.stop()
        pytest.fail(f"RabbitMQ did not accept AMQP connections within {START_TIMEOUT:.0f} s ({last!r}):\n"
                    f"{self.log_tail()}")

    def stop(self, *, hard: bool = False) -> None:
        """Stop the node: SIGTERM (RabbitMQ shuts down cleanly), or ``kill -9`` with ``hard``.

        The start script stays in the foreground and turns SIGTERM into a clean shutdown of the
        Erlang VM (its child); both run in a process group of their own, which ``hard`` kills.
        """
        node, self._node = self._node, None
        if node is None:
            return
        beam = self._beam_pid()
        if hard:
            _kill_group(node.pid)
        _stop_process(node, signal.SIGTERM)
        _kill_group(node.pid)  # anything left over (erl_child_setup, inet_gethost)
        deadline = time.monotonic() + STOP_TIMEOUT
        while beam is not None and _alive(beam) and time.monotonic() < deadline:
            time.sleep(0.05)
        with contextlib.suppress(FileNotFoundError):
            (self.base / "node.pid").unlink()

    def _beam_pid(self) -> int | None:
        try:
            return int((self.base / "node.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def restart(self, *, hard: bool = False) -> None:
        """Stop the node and start it again on the same ports and data (durable queues survive)."""
        self.stop(hard=hard)
        self.start()

    def shutdown(self) -> None:
        """Stop the node and its private epmd."""
        self.stop()
        _stop_process(self._epmd, signal.SIGTERM, timeout=10)
        self._epmd = None


@contextlib.contextmanager
def start_rabbitmq() -> Iterator[RabbitMQServer]:
    """Start a node in a new temporary directory; stop it and delete the directory on exit."""
    _server_script()
    if not shutil.which("erl") and not glob.glob("/usr/lib/erlang/bin/erl"):
        pytest.fail(f"Erlang (erl) not found: {INSTALL_HINT}")
    # short path: Erlang and RabbitMQ dislike long socket/file names
    base = Path(tempfile.mkdtemp(prefix="edi-test-rmq-", dir="/tmp" if os.path.isdir("/tmp") else None))
    port, dist_port, epmd_port = _free_ports(3)
    server = RabbitMQServer(
        base=base, port=port, dist_port=dist_port, epmd_port=epmd_port,
        nodename=f"edi-test-{secrets.token_hex(4)}@localhost",
    )
    try:
        server.start()
        yield server
    finally:
        server.shutdown()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def rabbitmq_server() -> Iterator[RabbitMQServer]:
    """One private RabbitMQ node for the whole test session."""
    with start_rabbitmq() as server:
        yield server


@pytest.fixture(scope="session")
def rabbitmq_url(rabbitmq_server: RabbitMQServer) -> str:
    """``amqp://guest:guest@127.0.0.1:PORT//`` of the session's node."""
    return rabbitmq_server.url()
