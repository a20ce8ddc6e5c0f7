"""The AMQP door: submitters publish requests to a RabbitMQ queue and get their answers on the
message's ``reply_to`` queue with its ``correlation_id`` (the AMQP request/reply convention).

Nothing accepted is lost: the door consumes with manual acks and a small prefetch, hands each
message to the ``Intake`` and acks only after ``Intake`` returned (the request is stored). A
consumer that dies before its ack leaves the message to RabbitMQ, which redelivers it when the
connection drops. When ``Intake`` raises -- the store is down -- the door waits (a growing
back-off) and requeues the message; after ``max_intake_failures`` failures of one message it is
dead-lettered, so a message that breaks the pipeline cannot stall the queue. A lost broker is
reconnected to for ever. Redelivery means the ``Intake`` can see a message twice; the
submission's ``name`` (the ``message_id``, or a digest of the body when there is none) stays the
same across redeliveries for the pipeline to recognise it.

A poison message -- none of JSON/X12/CSV (``messages.sniff``), no submitter, or refused whole by
the ``Intake`` -- gets an error reply when it has a ``reply_to``, is published as it arrived to
the dead-letter queue (``<queue>.dlq`` by default) with the reason in ``x-edi-dead-letter-reason``
(the header the pipeline's own queues use) and is then acked. The door publishes the dead letter
itself rather than rejecting to a broker DLX, because a broker dead-letter cannot carry a reason.

Submitters: a per-submitter queue names it (``submitter_id``); on a shared queue it is the
message's ``user_id`` when ``trust_user_id`` is set (RabbitMQ refuses a ``user_id`` other than the
connection's login, so it is authenticated), else the ``x-edi-submitter`` header, which only the
broker's permissions make trustworthy.

Replies go through the default exchange to the queue named by ``reply_to`` (a client's reply
queue, or RabbitMQ's ``amq.rabbitmq.reply-to``); the broker drops a reply to a queue that no
longer exists, so the pipeline must keep answers in the store, not only send them.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import deque
from collections.abc import Mapping
from typing import Any

from kombu import Connection, Consumer, Message, Producer, Queue

from connectors.ingest.door import Intake, IntakeReceipt, ItemError, ReplyAddress, Submission
from connectors.ingest.message_door import MessageDoor
from connectors.ingest.messages import Undecodable, reasons_text, sniff
from connectors.queues.topology import REASON_HEADER

__all__ = ["AmqpDoor", "AmqpReplySink", "NAME_HEADER", "REASON_HEADER", "SUBMITTER_HEADER"]

log = logging.getLogger(__name__)

SUBMITTER_HEADER = "x-edi-submitter"
NAME_HEADER = "x-edi-name"
_RETRY_POLICY = {"max_retries": 3, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 2.0}


def _connection(url: str, heartbeat: float) -> Connection:
    # publisher confirms: a publish returns once RabbitMQ has the reply or the dead letter
    return Connection(url, heartbeat=heartbeat, transport_options={"confirm_publish": True}, connect_timeout=10)


class AmqpReplySink:
    """Sends answers to the queue a request named in ``reply_to``, with its ``correlation_id``, as
    persistent JSON messages. One connection, opened on first use and reconnected by kombu."""

    channel = "amqp"

    def __init__(self, url: str, *, heartbeat: float = 0) -> None:
        self.url = url
        self.heartbeat = heartbeat
        self._connection: Connection | None = None
        self._producer: Producer | None = None
        self._lock = threading.Lock()

    def send(self, address: ReplyAddress, name: str, body: bytes) -> None:
        if address.channel != "amqp":
            raise ValueError(f"AmqpReplySink cannot send to a {address.channel!r} address")
        if not address.target:
            raise ValueError("no reply queue: the request had no reply_to")
        with self._lock:
            if self._connection is None:
                self._connection = _connection(self.url, self.heartbeat)
                self._producer = Producer(self._connection)
            publish = self._connection.ensure(self._producer, self._producer.publish, **_RETRY_POLICY)
            publish(body, exchange="", routing_key=address.target, content_type="application/json",
                    content_encoding="utf-8", delivery_mode="persistent", correlation_id=address.correlation_id,
                    headers={NAME_HEADER: name})

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.release()
            self._connection = self._producer = None


class AmqpDoor(MessageDoor):
    """Consumes one request queue and hands each message to ``intake``; see the module docstring
    and ``MessageDoor`` for the thread, the reconnecting and the counters."""

    label = "AMQP door"

    def __init__(
        self,
        intake: Intake,
        url: str,
        queue: str = "edi.requests",
        *,
        submitter_id: str | None = None,
        trust_user_id: bool = False,
        submitter_header: str = SUBMITTER_HEADER,
        dead_letter_queue: str | None = None,
        prefetch: int = 1,
        send_receipts: bool = True,
        reply_sink: AmqpReplySink | None = None,
        max_intake_failures: int = 5,
        backoff_initial: float = 0.2,
        backoff_max: float = 30.0,
        heartbeat: float = 60,  # an Intake call longer than twice this loses the connection (redelivery)
    ) -> None:
        super().__init__(intake, reply_sink or AmqpReplySink(url), own_sink=reply_sink is None,
                         send_receipts=send_receipts, max_intake_failures=max_intake_failures,
                         backoff_initial=backoff_initial, backoff_max=backoff_max)
        self.url = url
        self.queue = Queue(queue, durable=True)
        self.dead_letter_queue = Queue(dead_letter_queue or f"{queue}.dlq", durable=True)
        self.submitter_id = submitter_id
        self.trust_user_id = trust_user_id
        self.submitter_header = submitter_header
        self.prefetch = prefetch
        self.heartbeat = heartbeat

    def _session(self, backoff: float) -> bool:
        connection = _connection(self.url, self.heartbeat)
        errors: tuple[type[BaseException], ...] = (OSError, *connection.connection_errors,
                                                    *connection.channel_errors)
        connected = False
        try:
            connection.ensure_connection(max_retries=1)
            connected = True
            self._consume(connection)
        except errors as exc:
            # unacked deliveries go back to the queue with the connection
            log.warning("AMQP door: broker connection lost or refused (%s); retrying in %.1f s",
                        type(exc).__name__, self.backoff_initial if connected else backoff)
        except Exception as exc:  # a reply sink or intake bug: drop the connection, redeliver
            log.error("AMQP door: unexpected %s while handling a message; reconnecting in %.1f s",
                      type(exc).__name__, self.backoff_initial if connected else backoff)
        finally:
            self.connected.clear()
            connection.release()
        return connected

    def _consume(self, connection: Connection) -> None:
        """Deliveries are queued by the consumer callback and handled here, after ``drain_events``
        returns: a confirmed publish (a reply, a dead letter) reads the socket and may dispatch
        further deliveries, which must not nest inside the one in hand."""
        channel = connection.channel()
        self.queue(channel).declare()
        self.dead_letter_queue(channel).declare()
        producer = Producer(channel)
        pending: deque[Message] = deque()
        with Consumer(channel, queues=[self.queue], on_message=pending.append, prefetch_count=self.prefetch,
                      no_ack=False):
            self.connected.set()
            log.info("AMQP door: consuming %s", self.queue.name)
            while not self._stopping.is_set():
                if pending:
                    self._handle(pending.popleft(), producer)
                    continue
                try:
                    connection.drain_events(timeout=0.5)
                except TimeoutError:
                    connection.heartbeat_check()
            while pending:  # fetched, not handled: give them back
                pending.popleft().requeue()

    # one message -------------------------------------------------------------------------------

    def _name(self, message: Message) -> str:
        message_id = message.properties.get("message_id")
        return str(message_id) if message_id else "sha256-" + hashlib.sha256(message.body).hexdigest()[:24]

    def _submission_id(self, message: Message) -> str | None:
        """The delivery's id for the intake: the publisher's ``message_id``, which a redelivery keeps
        and a deliberate resend changes. Without one, None: the intake falls back to the body's hash,
        so identical bodies without ids count as one submission (publish with message_id)."""
        message_id = message.properties.get("message_id")
        return f"{self.queue.name}/{message_id}" if message_id else None

    def _submitter(self, message: Message, headers: Mapping[str, Any]) -> str:
        if self.submitter_id:
            return self.submitter_id
        if self.trust_user_id and message.properties.get("user_id"):
            return str(message.properties["user_id"])
        value = headers.get(self.submitter_header)
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        return str(value).strip() if value else ""

    def _handle(self, message: Message, producer: Producer) -> None:
        headers = dict(message.headers or {})
        name = self._name(message)
        reply_to = message.properties.get("reply_to")
        reply = ReplyAddress("amqp", reply_to or "", message.properties.get("correlation_id"))
        body: bytes = message.body if isinstance(message.body, bytes) else str(message.body).encode()
        declared = message.content_type
        if declared in ("application/data", "application/octet-stream", "application/x-binary"):
            declared = None  # kombu's defaults for raw bytes: no hint

        submitter = self._submitter(message, headers)
        if not submitter:
            hint = "publish with user_id set" if self.trust_user_id else f"set the {self.submitter_header} header"
            self._dead_letter(message, producer, reply, [ItemError(
                "message", f"no submitter: {hint} or use a per-submitter request queue")])
            return
        try:
            sniffed = sniff(body, declared)
        except Undecodable as exc:
            self._dead_letter(message, producer, reply, [ItemError("message", exc.reason)], submitter)
            return

        submission = Submission(submitter_id=submitter, channel="amqp", name=name, content=body, reply=reply,
                                content_type=declared or sniffed, submission_id=self._submission_id(message))
        try:
            receipt = self.intake(submission)
        except Exception as exc:
            self._retry_or_give_up(message, producer, reply, name, submitter, exc)
            return
        self._intake_returned(name)
        if receipt.refused_whole:
            self._dead_letter(message, producer, reply, receipt.rejected, submitter, receipt)
            return
        if self.send_receipts:
            self._answer(reply, name, receipt, [], self._submission_id(message))
        message.ack()
        self._stored(name, submitter, receipt)

    def _retry_or_give_up(self, message: Message, producer: Producer, reply: ReplyAddress, name: str,
                          submitter: str, exc: Exception) -> None:
        failures = self._intake_failed(name, submitter, exc)
        given_up = self._given_up(failures, exc)
        if given_up is not None:
            self._dead_letter(message, producer, reply, given_up, submitter)
            return
        self._stopping.wait(min(self.backoff_initial * 2 ** (failures - 1), self.backoff_max))
        message.requeue()

    def _dead_letter(self, message: Message, producer: Producer, reply: ReplyAddress,
                     errors: list[ItemError], submitter: str | None = None,
                     receipt: IntakeReceipt | None = None) -> None:
        """Error reply (if asked for), the message as it arrived to the DLQ with the reason, then ack."""
        name = self._name(message)
        self._answer(reply, name, receipt, errors, self._submission_id(message))
        properties = {key: message.properties[key] for key in ("correlation_id", "reply_to", "message_id")
                      if message.properties.get(key)}
        producer.publish(
            message.body, exchange="", routing_key=self.dead_letter_queue.name,
            content_type=message.content_type or "application/octet-stream",
            content_encoding=message.content_encoding or "binary", delivery_mode="persistent",
            headers={**(message.headers or {}), REASON_HEADER: reasons_text(errors),
                     "x-edi-original-queue": self.queue.name, NAME_HEADER: name},
            **properties,
        )
        message.ack()
        self.dead_lettered += 1
        log.warning("AMQP door: a message%s dead-lettered to %s (%s)",  # never its id: it may be PHI
                    f" of {submitter}" if submitter else "", self.dead_letter_queue.name,
                    "refused by the intake" if receipt is not None else errors[0].reason if errors else "refused")
