"""The Java JMS submitter (``tests/java/JmsRequestReply.java``), shared by the JMS door tests.

``java_client`` (a fixture of ``tests.servers.activemq``) compiles it; ``JavaSubmitter`` runs it:
it sends one ``TextMessage`` with ``JMSReplyTo`` and ``JMSCorrelationID`` over OpenWire and reads
the answers with a correlation-id selector.
``StompPeer`` does over STOMP what the Java client cannot: send bytes, browse a queue.
"""

from __future__ import annotations

import json
import subprocess
import threading
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import stomp

from tests.ingest_doubles import WAIT, wait_for

if TYPE_CHECKING:
    from tests.servers.activemq import ActiveMQServer

__all__ = ["JavaSubmitter", "StompPeer"]


class JavaSubmitter:
    """One run of the Java submitter: sends on start, then waits for ``replies`` answers."""

    def __init__(self, command: list[str], server: ActiveMQServer, out: Path, *, request_queue: str,
                 reply_queue: str, correlation_id: str, body: bytes, replies: int, timeout: float = WAIT,
                 **properties: str) -> None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "request.txt").write_bytes(body)
        self.out = out
        self.timeout = timeout
        self.process = subprocess.Popen(
            [*command, server.openwire_url, request_queue, reply_queue, correlation_id, str(out / "request.txt"),
             str(replies), str(int(timeout * 1000)), str(out), *(f"{k}={v}" for k, v in properties.items())],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )

    def finish(self) -> tuple[str, list[list[str]], list[dict]]:
        """The sent JMSMessageID, the reply lines (n, type, correlation id, edi_name), the reply bodies."""
        stdout, stderr = self.process.communicate(timeout=self.timeout + 30)
        assert self.process.returncode == 0, f"Java submitter exit {self.process.returncode}:\n{stdout}\n{stderr}"
        lines = [line.split() for line in stdout.splitlines()]
        sent = next(line[1] for line in lines if line[0] == "sent")
        replies = [line[1:] for line in lines if line[0] == "reply"]
        bodies = [json.loads((self.out / f"reply-{reply[0]}.json").read_text()) for reply in replies]
        return sent, replies, bodies


class StompPeer(stomp.ConnectionListener):
    """A plain STOMP client for what the Java client cannot do: send bytes, browse a queue."""

    def __init__(self, server: ActiveMQServer) -> None:
        self.frames: list = []
        self.browse_done = threading.Event()
        self.connection = stomp.Connection12([server.stomp_address], auto_decode=False)
        self.connection.set_listener("peer", self)
        self.connection.connect(wait=True)

    def on_message(self, frame) -> None:
        if frame.headers.get("browser") == "end":
            self.browse_done.set()
        else:
            self.frames.append(frame)

    def send(self, destination: str, body: bytes, **headers: str) -> None:
        self.connection.send(destination, body, headers={"persistent": "true", **headers})

    def receive(self, destination: str, count: int) -> list:
        self.frames = []
        self.connection.subscribe(destination, id=uuid.uuid4().hex, ack="auto")
        wait_for(lambda: len(self.frames) >= count, f"{count} message(s) on {destination}")
        return list(self.frames)

    def browse(self, destination: str) -> list:
        """The messages waiting on a queue, without taking them (ActiveMQ's STOMP queue browser)."""
        self.frames, self.browse_done = [], threading.Event()
        sub = uuid.uuid4().hex
        self.connection.subscribe(destination, id=sub, ack="auto", headers={"browser": "true"})
        if not self.browse_done.wait(WAIT):
            pytest.fail(f"browsing {destination} did not end")
        self.connection.unsubscribe(sub)
        return list(self.frames)

    def close(self) -> None:
        self.connection.disconnect()
