"""A private ActiveMQ broker for the tests, started from the Debian ``activemq`` package.

The JMS door talks STOMP to ActiveMQ while its submitters talk JMS (OpenWire); only a real broker
shows that a ``JMSReplyTo`` and ``JMSCorrelationID`` set by a Java client arrive as STOMP headers
and that an unacknowledged message comes back after a consumer dies. ``start_activemq`` runs the
package's launcher jar (``/usr/share/activemq/bin/activemq.jar``, what ``/usr/bin/activemq``
runs) directly with ``java``, not the init script (which switches to the ``activemq`` user and
writes to ``/var/lib/activemq``), with everything private to a temporary directory:

* an ``activemq.xml`` of its own: OpenWire and STOMP connectors on two free loopback ports, no
  JMX, no web console (the Debian package has none), KahaDB persistence in the directory, so a
  restarted broker still holds its queues;
* its own ``activemq.base``/``conf``/``data``/``tmp`` and a log4j configuration writing
  ``broker.log`` there;
* a small heap (``-Xmx256m``) and the C1 compiler only, for a start-up of a second or two.

``EDI_TEST_ACTIVEMQ_HOME`` names another ActiveMQ home (with ``bin/activemq.jar`` and ``lib/``);
``EDI_TEST_JAVA`` another ``java``. The session fixture ``activemq_server`` gives the
``ActiveMQServer``; ``ActiveMQServer.restart()`` stops the broker (cleanly, or with ``kill -9``
given ``hard=True``) and starts it again on the same ports and data. ``client_classpath()`` lists
the package's jars a JMS client needs (for ``javac``/``java`` in the tests).

The JVM gets SIGKILL from Linux if the test process dies before its teardown
(``PR_SET_PDEATHSIG``; start brokers from the main thread). When the package or Java is missing or
the broker does not start, the fixtures fail with the reason and the broker's log: never skip.
"""

from __future__ import annotations

import contextlib
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
from xml.sax.saxutils import quoteattr

import pytest

# shared process helpers; registered so that loading it later as a plugin finds it rewritten
pytest.register_assert_rewrite("tests.servers.rabbitmq")
from tests.servers.rabbitmq import _die_with_parent, _free_ports, _stop_process  # noqa: E402

__all__ = ["ActiveMQServer", "activemq_server", "client_classpath", "java_client", "start_activemq"]

JAVA_SOURCE = Path(__file__).resolve().parent.parent / "java" / "JmsRequestReply.java"

INSTALL_HINT = "install the Debian package 'activemq' and a JDK (apt-get install -y activemq default-jdk-headless)"
START_TIMEOUT = 90.0
STOP_TIMEOUT = 30.0
CLIENT_JARS = (
    "activemq-client.jar",
    "geronimo-jms_1.1_spec.jar",
    "geronimo-j2ee-management-1.1-spec.jar",
    "hawtbuf.jar",
    "slf4j-api.jar",
)


def activemq_home() -> Path:
    home = Path(os.environ.get("EDI_TEST_ACTIVEMQ_HOME", "/usr/share/activemq"))
    if not (home / "bin" / "activemq.jar").is_file():
        pytest.fail(f"ActiveMQ launcher {home / 'bin' / 'activemq.jar'} not found: {INSTALL_HINT}")
    return home


def java_tool(name: str = "java") -> str:
    found = (os.environ.get("EDI_TEST_JAVA") if name == "java" else None) or shutil.which(name)
    if not found:
        pytest.fail(f"'{name}' not found: {INSTALL_HINT}")
    return found


def client_classpath() -> str:
    """The jars from the package a plain JMS client (OpenWire) compiles and runs against."""
    lib = activemq_home() / "lib"
    missing = [jar for jar in CLIENT_JARS if not (lib / jar).exists()]
    if missing:
        pytest.fail(f"ActiveMQ client jars missing in {lib}: {', '.join(missing)}: {INSTALL_HINT}")
    return os.pathsep.join(str(lib / jar) for jar in CLIENT_JARS)


def _broker_xml(base: Path, host: str, openwire_port: int, stomp_port: int) -> str:
    data = base / "data"
    return f"""<beans xmlns="http://www.springframework.org/schema/beans"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xsi:schemaLocation="http://www.springframework.org/schema/beans
    http://www.springframework.org/schema/beans/spring-beans.xsd
    http://activemq.apache.org/schema/core http://activemq.apache.org/schema/core/activemq-core.xsd">
  <broker xmlns="http://activemq.apache.org/schema/core" brokerName="edi-test" useJmx="false"
          persistent="true" schedulerSupport="false" dataDirectory={quoteattr(str(data))}>
    <persistenceAdapter>
      <kahaDB directory={quoteattr(str(data / "kahadb"))}/>
    </persistenceAdapter>
    <systemUsage>
      <systemUsage>
        <memoryUsage><memoryUsage limit="64 mb"/></memoryUsage>
        <storeUsage><storeUsage limit="1 gb"/></storeUsage>
        <tempUsage><tempUsage limit="256 mb"/></tempUsage>
      </systemUsage>
    </systemUsage>
    <transportConnectors>
      <transportConnector name="openwire" uri="tcp://{host}:{openwire_port}"/>
      <transportConnector name="stomp" uri="stomp://{host}:{stomp_port}"/>
    </transportConnectors>
  </broker>
</beans>
"""


_LOG4J = """log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File={log}
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=%d %-5p [%t] %c - %m%n
"""


@dataclass(slots=True)
class ActiveMQServer:
    """A running private broker: where it listens, and how to stop and restart it."""

    base: Path
    stomp_port: int
    openwire_port: int
    host: str = "127.0.0.1"
    startup_seconds: float = 0.0
    _process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def openwire_url(self) -> str:
        """The broker URL a JMS client gives ``ActiveMQConnectionFactory``."""
        return f"tcp://{self.host}:{self.openwire_port}"

    @property
    def stomp_address(self) -> tuple[str, int]:
        return (self.host, self.stomp_port)

    @property
    def log_file(self) -> Path:
        return self.base / "broker.log"

    def log_tail(self, chars: int = 4000) -> str:
        parts = []
        for path in (self.base / "java.out", self.log_file):
            if path.exists():
                parts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-chars:]}")
        return "\n".join(parts)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _write_config(self) -> None:
        for directory in ("conf", "data", "tmp"):
            (self.base / directory).mkdir(exist_ok=True)
        (self.base / "conf" / "activemq.xml").write_text(
            _broker_xml(self.base, self.host, self.openwire_port, self.stomp_port))
        (self.base / "conf" / "log4j.properties").write_text(_LOG4J.format(log=self.log_file))

    def _command(self) -> list[str]:
        home = activemq_home()
        conf = self.base / "conf"
        return [
            java_tool(), "-Xms64m", "-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
            "-Djava.awt.headless=true",
            f"-Djava.io.tmpdir={self.base / 'tmp'}",
            f"-Dlog4j.configuration=file:{conf / 'log4j.properties'}",
            f"-Dactivemq.home={home}", f"-Dactivemq.base={self.base}",
            f"-Dactivemq.conf={conf}", f"-Dactivemq.data={self.base / 'data'}",
            "-jar", str(home / "bin" / "activemq.jar"),
            "start", f"xbean:file:{conf / 'activemq.xml'}",
        ]

    def start(self) -> None:
        """Start the broker and wait until its STOMP connector answers a CONNECT."""
        if self.running:
            return
        self._write_config()
        started = time.monotonic()
        with (self.base / "java.out").open("ab") as out:
            self._process = subprocess.Popen(
                self._command(), cwd=self.base, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True, preexec_fn=_die_with_parent(signal.SIGKILL),
            )
        self._wait_ready(started)
        self.startup_seconds = time.monotonic() - started

    def _wait_ready(self, started: float) -> None:
        deadline = started + START_TIMEOUT
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                code = None if self._process is None else self._process.returncode
                self.stop()
                pytest.fail(f"ActiveMQ exited during start-up (exit {code}):\n{self.log_tail()}")
            try:
                _stomp_handshake(self.host, self.stomp_port)
                with socket.create_connection((self.host, self.openwire_port), timeout=2):
                    return
            except OSError as exc:
                last = exc
                time.sleep(0.1)
        self.stop()
        pytest.fail(f"ActiveMQ did not answer on STOMP within {START_TIMEOUT:.0f} s ({last!r}):\n{self.log_tail()}")

    def stop(self, *, hard: bool = False) -> None:
        """Stop the broker: SIGTERM (its shutdown hook closes the store), or ``kill -9`` with ``hard``."""
        process, self._process = self._process, None
        if process is None:
            return
        _stop_process(process, signal.SIGKILL if hard else signal.SIGTERM, timeout=STOP_TIMEOUT)

    def restart(self, *, hard: bool = False) -> None:
        """Stop the broker and start it again on the same ports and data (persistent messages survive)."""
        self.stop(hard=hard)
        self.start()


def _stomp_handshake(host: str, port: int) -> None:
    """One STOMP CONNECT/CONNECTED exchange: the broker is up, not just its socket."""
    with socket.create_connection((host, port), timeout=2) as sock:
        sock.sendall(b"CONNECT\naccept-version:1.2\nhost:localhost\n\n\x00")
        reply = b""
        while b"\x00" not in reply:
            chunk = sock.recv(4096)
            if not chunk:
                raise ConnectionError("connection closed before CONNECTED")
            reply += chunk
        if not reply.lstrip(b"\n").startswith(b"CONNECTED"):
            raise ConnectionError(f"unexpected STOMP answer {reply[:80]!r}")
        sock.sendall(b"DISCONNECT\n\n\x00")


@contextlib.contextmanager
def start_activemq() -> Iterator[ActiveMQServer]:
    """Start a broker in a new temporary directory; stop it and delete the directory on exit."""
    activemq_home()
    java_tool()
    base = Path(tempfile.mkdtemp(prefix="edi-test-amq-"))
    stomp_port, openwire_port = _free_ports(2)
    server = ActiveMQServer(base=base, stomp_port=stomp_port, openwire_port=openwire_port)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def activemq_server() -> Iterator[ActiveMQServer]:
    """One private ActiveMQ broker for the whole test session."""
    with start_activemq() as server:
        yield server


@pytest.fixture(scope="session")
def java_client(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The command line that runs the Java JMS submitter (``tests/java/JmsRequestReply.java``), compiled
    once per session with ``javac`` against the package's client jars (``tests/jms_client.py`` drives it)."""
    classes = tmp_path_factory.mktemp("java-classes")
    jars = client_classpath()
    compiled = subprocess.run([java_tool("javac"), "-d", str(classes), "-cp", jars, str(JAVA_SOURCE)],
                              capture_output=True, text=True)
    assert compiled.returncode == 0, f"javac failed:\n{compiled.stdout}\n{compiled.stderr}"
    return [java_tool(), "-Xmx64m", "-XX:TieredStopAtLevel=1", "-cp", os.pathsep.join([str(classes), jars]),
            "JmsRequestReply"]
