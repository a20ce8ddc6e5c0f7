"""The JMS door: submitters' JMS systems put requests on an ActiveMQ queue; the door takes them
over ActiveMQ's STOMP connector (stomp.py) and answers on their ``JMSReplyTo``.

Why STOMP: a Python process cannot speak OpenWire, and ActiveMQ maps the JMS headers a Java
submitter sets onto STOMP headers and back (``JMSCorrelationID`` is ``correlation-id``,
``JMSReplyTo`` is ``reply-to``, string properties are plain headers; a text body arrives as bytes
and a reply sent with ``amq-msg-type: text`` arrives as a ``TextMessage``).

Nothing accepted is lost: the door subscribes with ``client-individual`` acks and a small prefetch,
hands each message to the ``Intake`` and acknowledges only after ``Intake`` returned (the request
is stored). When ``Intake`` raises -- the store is down -- the door drops its connection, so the
broker redelivers every unacknowledged message, and reconnects after a back-off; after
``max_intake_failures`` failures of one message it is dead-lettered instead, so one message that
breaks the pipeline cannot stall the queue. A lost broker is retried the same way, for ever.
Redelivery means the ``Intake`` can see a message twice; ``Submission.name`` is the JMS message id,
stable across redeliveries, for the pipeline to recognise it.

A poison message -- nothing the pipeline can read (see ``messages.sniff``), no submitter, or
refused whole by the ``Intake`` -- gets an error reply when it has a reply destination (its
``reply-to``, else its queue's ``reply_destination``), is copied to
the dead-letter destination with the reason in the ``edi_reject_reason`` header (and its origin in
``edi_original_destination``/``edi_original_message_id``) and is then acknowledged. Header names
use underscores: JMS property names must be Java identifiers.

Submitters: a request queue per submitter names it (``JmsRequestQueue(dest, submitter_id=...)``);
a shared queue takes it from a header (``edi_submitter`` by default), which only the broker's
access control makes trustworthy -- give untrusted submitters queues of their own.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

import stomp
from stomp.exception import StompException

from connectors.ingest.door import Intake, IntakeReceipt, ItemError, ReplyAddress, Submission
from connectors.ingest.message_door import MessageDoor
from connectors.ingest.messages import Undecodable, reasons_text, sniff

__all__ = ["JmsDoor", "JmsReplySink", "JmsRequestQueue", "StompEndpoint"]

log = logging.getLogger(__name__)

REASON_HEADER = "edi_reject_reason"
NAME_HEADER = "edi_name"
# headers the broker sets on delivery or that belong to the frame: not copied to the dead-letter queue
_FRAME_HEADERS = {"destination", "message-id", "subscription", "ack", "content-length", "redelivered",
                  "timestamp", "expires", "priority", "receipt", "transaction"}


@dataclass(frozen=True, slots=True)
class StompEndpoint:
    """Where ActiveMQ's STOMP connector listens, and who the door is there."""

    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    heartbeat_ms: int = 10_000  # both ways: a dead broker or a half-open socket is noticed
    timeout: float = 10.0  # seconds to wait for CONNECTED and for send receipts


@dataclass(frozen=True, slots=True)
class JmsRequestQueue:
    """One request destination (``/queue/...``); ``submitter_id`` None: a shared queue."""

    destination: str
    submitter_id: str | None = None
    reply_destination: str | None = None  # receipts and answers go here when a request has no JMSReplyTo


class _BrokerError(StompException):
    """The broker answered a frame with ERROR or the connection went while waiting for a receipt."""


class _Link(stomp.ConnectionListener):
    """One STOMP connection: passes deliveries on, matches receipts to the sends awaiting them,
    and notices the connection going."""

    def __init__(self, endpoint: StompEndpoint, deliveries: queue.Queue | None = None) -> None:
        self.endpoint = endpoint
        self.lost = threading.Event()
        self._deliveries = deliveries
        self._waiting: dict[str, list] = {}
        self._lock = threading.Lock()
        self.connection = stomp.Connection12(
            [(endpoint.host, endpoint.port)], heartbeats=(endpoint.heartbeat_ms, endpoint.heartbeat_ms),
            reconnect_attempts_max=1, auto_decode=False, auto_content_length=True, timeout=endpoint.timeout,
        )
        self.connection.set_listener("edi", self)

    def open(self) -> None:
        self.connection.connect(self.endpoint.username, self.endpoint.password, wait=True,
                                headers={"client-id": f"edi-door-{uuid.uuid4().hex[:12]}"})

    def close(self) -> None:
        with contextlib.suppress(Exception):
            if self.connection.is_connected():
                self.connection.disconnect()
        self.lost.set()

    # listener ----------------------------------------------------------------------------------

    def on_message(self, frame) -> None:
        if self._deliveries is not None:
            self._deliveries.put((self, frame))

    def on_receipt(self, frame) -> None:
        self._settle(frame.headers.get("receipt-id"), None)

    def on_error(self, frame) -> None:
        message = frame.headers.get("message", "broker error")
        if frame.headers.get("receipt-id"):
            self._settle(frame.headers["receipt-id"], message)
        else:
            log.warning("STOMP broker error: %s", message)

    def on_disconnected(self) -> None:
        self._lose()

    def on_heartbeat_timeout(self) -> None:
        self._lose()

    def _lose(self) -> None:
        self.lost.set()
        with self._lock:
            waiting = list(self._waiting)
        for receipt in waiting:
            self._settle(receipt, "connection lost")

    def _settle(self, receipt: str | None, error: str | None) -> None:
        with self._lock:
            slot = self._waiting.pop(receipt, None) if receipt else None
        if slot is not None:
            slot[1] = error
            slot[0].set()

    # sending -----------------------------------------------------------------------------------

    def send(self, destination: str, body: bytes, headers: dict[str, str]) -> None:
        """Send and wait for the broker's receipt: after this returns the message is the broker's."""
        receipt = uuid.uuid4().hex
        slot: list = [threading.Event(), None]
        with self._lock:
            self._waiting[receipt] = slot
        try:
            self.connection.send(destination, body, headers={**headers, "receipt": receipt})
        except Exception:
            with self._lock:
                self._waiting.pop(receipt, None)
            raise
        if not slot[0].wait(self.endpoint.timeout):
            with self._lock:
                self._waiting.pop(receipt, None)
            raise _BrokerError(f"no receipt from the broker for a send to {destination}")
        if slot[1] is not None:
            raise _BrokerError(f"send to {destination} failed: {slot[1]}")


def _reply_headers(address: ReplyAddress, name: str) -> dict[str, str]:
    headers = {"content-type": "application/json", "amq-msg-type": "text", "persistent": "true", NAME_HEADER: name}
    if address.correlation_id is not None:
        headers["correlation-id"] = address.correlation_id
    return headers


class JmsReplySink:
    """Sends answers to JMS destinations (``ReplyAddress.target``, e.g. ``/queue/x`` or a
    ``JMSReplyTo`` as STOMP spells it) with the request's correlation id, as persistent
    ``TextMessage``s. One connection, opened on first use and reopened after a failure."""

    channel = "jms"

    def __init__(self, endpoint: StompEndpoint) -> None:
        self.endpoint = endpoint
        self._link: _Link | None = None
        self._lock = threading.Lock()

    def send(self, address: ReplyAddress, name: str, body: bytes) -> None:
        if address.channel != "jms":
            raise ValueError(f"JmsReplySink cannot send to a {address.channel!r} address")
        if not address.target:
            raise ValueError("no reply destination: the request had no JMSReplyTo and its "
                             "queue no reply_destination")
        with self._lock:
            for attempt in (1, 2):
                try:
                    self._open().send(address.target, body, _reply_headers(address, name))
                    return
                except (StompException, OSError):
                    self._drop()
                    if attempt == 2:
                        raise

    def _open(self) -> _Link:
        if self._link is None or self._link.lost.is_set():
            self._drop()
            link = _Link(self.endpoint)
            link.open()
            self._link = link
        return self._link

    def _drop(self) -> None:
        if self._link is not None:
            self._link.close()
            self._link = None

    def close(self) -> None:
        with self._lock:
            self._drop()


class JmsDoor(MessageDoor):
    """Consumes request queues and hands each message to ``intake``; see the module docstring
    and ``MessageDoor`` for the thread, the reconnecting and the counters."""

    label = "JMS door"

    def __init__(
        self,
        intake: Intake,
        endpoint: StompEndpoint,
        queues: Sequence[JmsRequestQueue],
        *,
        submitter_header: str = "edi_submitter",
        dead_letter: str = "/queue/edi.requests.DLQ",
        prefetch: int = 1,
        send_receipts: bool = True,
        reply_sink: JmsReplySink | None = None,
        max_intake_failures: int = 5,
        backoff_initial: float = 0.2,
        backoff_max: float = 30.0,
    ) -> None:
        if not queues:
            raise ValueError("JmsDoor needs at least one request queue")
        super().__init__(intake, reply_sink or JmsReplySink(endpoint), own_sink=reply_sink is None,
                         send_receipts=send_receipts, max_intake_failures=max_intake_failures,
                         backoff_initial=backoff_initial, backoff_max=backoff_max)
        self.endpoint = endpoint
        self.queues = {str(index): request_queue for index, request_queue in enumerate(queues)}
        self.submitter_header = submitter_header
        self.dead_letter = dead_letter
        self.prefetch = prefetch

    def _session(self, backoff: float) -> bool:
        deliveries: queue.Queue = queue.Queue()
        link = _Link(self.endpoint, deliveries)
        try:
            link.open()
            for sub_id, request_queue in self.queues.items():
                link.connection.subscribe(request_queue.destination, sub_id, ack="client-individual",
                                          headers={"activemq.prefetchSize": str(self.prefetch)})
        except (StompException, OSError) as exc:
            link.close()
            log.warning("JMS door: broker %s:%s unreachable (%s); retrying in %.1f s",
                        self.endpoint.host, self.endpoint.port, type(exc).__name__, backoff)
            return False
        log.info("JMS door: consuming %d queue(s) on %s:%s", len(self.queues), self.endpoint.host,
                 self.endpoint.port)
        self.connected.set()
        try:
            return self._consume(link, deliveries)
        finally:
            self.connected.clear()
            link.close()

    def _consume(self, link: _Link, deliveries: queue.Queue) -> bool:
        """Handle deliveries until the link goes or a message must be redelivered. True: the link
        went on its own (reconnect soon); False: the door dropped it after an Intake failure."""
        while not self._stopping.is_set() and not link.lost.is_set():
            try:
                _, frame = deliveries.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                if not self._handle(link, frame):
                    return False
            except (StompException, OSError) as exc:
                # not acknowledged: the broker redelivers it on the next connection
                log.warning("JMS door: broker connection failed while handling a message (%s)",
                            type(exc).__name__)
                return True
            except Exception as exc:  # a reply sink bug: drop the connection, the broker redelivers
                log.error("JMS door: unexpected %s while handling a message; reconnecting", type(exc).__name__)
                return False
        return True

    # one message -------------------------------------------------------------------------------

    def _handle(self, link: _Link, frame) -> bool:
        headers: dict[str, str] = frame.headers
        name = headers.get("message-id", "")
        request_queue = self.queues.get(headers.get("subscription", ""))
        if request_queue is None:  # a frame for no subscription of ours; the broker keeps it
            log.warning("JMS door: delivery for unknown subscription %r", headers.get("subscription"))
            return True
        reply_to = headers.get("reply-to")
        reply = ReplyAddress("jms", reply_to or request_queue.reply_destination or "",
                             headers.get("correlation-id"))
        body: bytes = frame.body if isinstance(frame.body, bytes) else (frame.body or "").encode()

        submitter = request_queue.submitter_id or headers.get(self.submitter_header, "").strip()
        if not submitter:
            return self._dead_letter(link, frame, reply, [ItemError(
                "message", f"no submitter: set the JMS string property {self.submitter_header} "
                           "or use a per-submitter request queue")])
        declared = headers.get("content-type")
        try:
            sniffed = sniff(body, declared)
        except Undecodable as exc:
            return self._dead_letter(link, frame, reply, [ItemError("message", exc.reason)], submitter)

        # the JMS message id: kept by a redelivery, new for every send (a deliberate resend too)
        submission = Submission(submitter_id=submitter, channel="jms", name=name, content=body, reply=reply,
                                content_type=declared or sniffed, submission_id=name or None)
        try:
            receipt = self.intake(submission)
        except Exception as exc:
            given_up = self._given_up(self._intake_failed(name, submitter, exc), exc)
            if given_up is None:
                return False  # redelivered after the door reconnects
            return self._dead_letter(link, frame, reply, given_up, submitter)
        self._intake_returned(name)
        if receipt.refused_whole:
            return self._dead_letter(link, frame, reply, receipt.rejected, submitter, receipt)
        if self.send_receipts:
            self._answer(reply, name, receipt, [], name or None)
        link.connection.ack(headers["ack"])
        self._stored(name, submitter, receipt)
        return True

    def _dead_letter(self, link: _Link, frame, reply: ReplyAddress, errors: Sequence[ItemError],
                     submitter: str | None = None, receipt: IntakeReceipt | None = None) -> bool:
        headers: dict[str, str] = frame.headers
        name = headers.get("message-id", "")
        self._answer(reply, name, receipt, list(errors), name or None)
        copied = {key: value for key, value in headers.items() if key not in _FRAME_HEADERS}
        copied.update({
            REASON_HEADER: reasons_text(errors), "edi_original_destination": headers.get("destination", ""),
            "edi_original_message_id": name, "persistent": "true",
        })
        if "content-length" not in headers:
            copied["amq-msg-type"] = "text"  # it came as a TextMessage: keep it one
        link.send(self.dead_letter, frame.body or b"", copied)
        link.connection.ack(headers["ack"])
        self.dead_lettered += 1
        log.warning("JMS door: a message%s dead-lettered to %s (%s)",  # never its id: it may be PHI
                    f" of {submitter}" if submitter else "", self.dead_letter,
                    "refused by the intake" if receipt is not None else errors[0].reason if errors else "refused")
        return True

