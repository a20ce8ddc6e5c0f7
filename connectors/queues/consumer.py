"""The base of every stage worker: consume one stage queue with manual acks.

A subclass sets ``stage`` and implements ``handle(message)``. For each delivery the worker:

1. decodes the body (JSON only; anything else is poison),
2. checks it is a dict for this stage with a ``transaction_id`` the store knows (else poison),
3. calls ``handle``, which does its work and commits it to the store before returning,
4. acks -- only now, so a worker that dies at any point before this leaves the message to be
   redelivered (RabbitMQ: when the connection drops; embedded broker: when the lease expires).

Poison messages (undecodable, malformed, unknown transaction, or ``PoisonMessageError`` raised
by the handler) are published to ``<stage>.dlq`` with the reason in the ``x-edi-dead-letter-reason``
header and then acked. Reasons never contain message content. Any other exception from the
handler is retried: the message is published again to its stage with ``x-edi-retries`` counting
up, and after ``max_retries`` it goes to the DLQ (reason ``retries exhausted: <error type>``).

Delivery is at least once (the relay and the redelivery above can both repeat a message), so
``handle`` must be idempotent: check the transaction's state first and treat "already done" as
success; the store's state machine refuses repeated moves (``IllegalTransitionError``).

A subclass that sets ``group_size`` above one also implements ``handle_many(messages)``: the
deliveries already fetched (up to ``group_size``, as many as ``prefetch`` lets in) are parsed
together (one store query for their transactions) and handled in one call that commits their
work -- typically in one store transaction -- and are then all acked. Delivery stays at least
once: a crash before the acks redelivers the whole group, and handlers stay idempotent. On the
embedded broker, whose fetched messages are leased for a visibility timeout, the worker renews
the leases of the messages in hand while a handler runs, so a long group is not handed to
another worker as well. If
``handle_many`` raises, its messages are handled again one by one through ``handle``, so a
retry or a dead letter concerns the one message that fails, never its neighbours.

``stop()`` (also on SIGTERM/SIGINT with ``install_signal_handlers``) lets the message (or group)
in hand finish and be acked, then returns from ``run``.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from kombu import Connection, Consumer, Message, Producer

from connectors.heartbeat import Heartbeat
from connectors.queues.topology import DLX, EXCHANGE, REASON_HEADER, RETRIES_HEADER, connect, declare
from edi.store import ALL_SUBMITTERS, Repository, TransactionRecord

__all__ = ["PoisonMessageError", "StageMessage", "StageWorker"]

log = logging.getLogger(__name__)


class PoisonMessageError(Exception):
    """Raised by a handler for a message that can never succeed; the reason goes in the header."""


@dataclass(frozen=True, slots=True)
class StageMessage:
    transaction_id: str
    stage: str
    fields: dict[str, Any] = field(default_factory=dict)  # the whole decoded body
    transaction: TransactionRecord | None = None
    retries: int = 0
    redelivered: bool = False


class StageWorker:
    """Consumes ``stage``'s queue; subclasses implement ``handle``."""

    stage: ClassVar[str] = ""
    group_size: ClassVar[int] = 1  # above 1: handle_many gets up to this many deliveries at once

    def __init__(
        self,
        repository: Repository,
        connection: Connection | None = None,
        *,
        url: str | None = None,
        max_retries: int = 5,
        prefetch: int = 1,
        transport_options: Mapping[str, Any] | None = None,
    ) -> None:
        if not self.stage:
            raise TypeError("a StageWorker subclass must set stage")
        self.repository = repository
        self.connection = connection or connect(url, transport_options=transport_options)
        self._owns_connection = connection is None
        self.max_retries = max_retries
        self.prefetch = prefetch
        self._stopping = threading.Event()
        self._pending: deque[Message] = deque()
        self.handled = 0
        self.dead_lettered = 0

    # to implement ------------------------------------------------------------------------------

    def handle(self, message: StageMessage) -> None:
        """Do the stage's work and commit it to the store; return only once it is committed."""
        raise NotImplementedError

    def handle_many(self, messages: list[StageMessage]) -> None:
        """Handle a group of messages (``group_size`` > 1); return only once all is committed."""
        for message in messages:
            self.handle(message)

    # running -----------------------------------------------------------------------------------

    def stop(self, *_args: object) -> None:
        self._stopping.set()

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)

    def run(self, *, limit: int | None = None, idle_timeout: float | None = None, poll: float = 0.5) -> int:
        """Consume until ``stop()``, until ``limit`` messages are settled, or until idle that long.

        Deliveries are queued by the consumer callback and handled here, one at a time, after
        ``drain_events`` returns -- never inside it. With RabbitMQ a publish on a confirm channel
        (a retry, a dead letter) reads the socket until its confirm arrives and so dispatches any
        deliveries that come in meanwhile (``prefetch`` > 1); handling those inside the callback
        would nest handlers. Messages fetched but not handled when ``run`` returns are requeued.
        """
        self.connection.ensure_connection(max_retries=3)
        declared = declare(self.connection, (self.stage,))
        queue, _dlq = declared[self.stage]
        channel = self.connection.default_channel
        self._producer = Producer(channel, serializer="json")
        settled_at_start = self.settled
        idle = 0.0

        def done() -> bool:
            return self._stopping.is_set() or (limit is not None and self.settled - settled_at_start >= limit)

        with Consumer(channel, queues=[queue], on_message=self._pending.append, accept=["json"],
                      prefetch_count=self.prefetch, no_ack=False):
            while not done():
                if self._pending:
                    room = self.group_size if limit is None else min(
                        self.group_size, limit - (self.settled - settled_at_start))
                    if room > 1:
                        self._fill(room)
                    if room > 1 and len(self._pending) > 1:
                        group = [self._pending.popleft() for _ in range(min(room, len(self._pending)))]
                        self._on_messages(group)
                    else:
                        self._on_message(self._pending.popleft())
                    idle = 0.0
                    continue
                try:
                    self.connection.drain_events(timeout=poll)
                    idle = 0.0
                except TimeoutError:
                    idle += poll
                    if idle_timeout is not None and idle >= idle_timeout:
                        break
        while self._pending:  # fetched, not handled: give them back (consumer already cancelled)
            self._pending.popleft().requeue()
        give_back = getattr(channel, "give_back", None)
        if give_back is not None:  # the embedded broker: leased in the same go, never handed out
            give_back()
        return self.settled - settled_at_start

    def _fill(self, room: int) -> None:
        """Take in what the broker has already sent (up to ``room``) without waiting for more:
        a drain hands over about one delivery, so a group is gathered by draining until dry."""
        while len(self._pending) < room:
            before = len(self._pending)
            try:
                self.connection.drain_events(timeout=0.001)
            except TimeoutError:
                return
            if len(self._pending) == before:
                return

    @property
    def settled(self) -> int:
        return self.handled + self.dead_lettered

    def close(self) -> None:
        if self._owns_connection:
            self.connection.release()

    def __enter__(self) -> StageWorker:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # one delivery ------------------------------------------------------------------------------

    def _on_message(self, message: Message) -> None:
        headers = dict(message.headers or {})
        try:
            body = message.decode()
        except Exception as exc:  # undecodable JSON, content type not allowed, bad encoding
            self._dead_letter(message, f"undecodable body ({type(exc).__name__})")
            return
        parsed = self._parse(body, headers, message)
        if isinstance(parsed, str):
            self._dead_letter(message, parsed)
            return
        try:
            self.handle(parsed)
        except PoisonMessageError as exc:
            self._dead_letter(message, f"rejected by handler: {exc}")
            return
        except Exception as exc:
            self._retry(message, body, headers, parsed.retries, exc)
            return
        message.ack()  # the handler's store transaction has committed
        self.handled += 1

    def _on_messages(self, group: list[Message]) -> None:
        """A group of deliveries: poison ones dead-lettered alone, the rest handled together."""
        bodies: list[tuple[Message, Any]] = []
        for message in group:
            try:
                bodies.append((message, message.decode()))
            except Exception as exc:
                self._dead_letter(message, f"undecodable body ({type(exc).__name__})")
        ids = [body.get("transaction_id") for _m, body in bodies if isinstance(body, dict)]
        known = self.repository.get_many([i for i in ids if isinstance(i, str) and i])
        parsed: list[tuple[Message, StageMessage]] = []
        for message, body in bodies:
            result = self._parse(body, dict(message.headers or {}), message, known=known)
            if isinstance(result, str):
                self._dead_letter(message, result)
            else:
                parsed.append((message, result))
        if not parsed:
            return
        try:
            with self._leases_kept([message for message, _s in parsed]):
                self.handle_many([stage_message for _m, stage_message in parsed])
        except Exception as exc:
            log.warning("stage %s: a group of %d failed (%s); handling them one by one", self.stage, len(parsed),
                        type(exc).__name__)
            for message, _stage_message in parsed:
                self._on_message(message)
            return
        grouped = getattr(self.connection.default_channel, "grouped_acks", contextlib.nullcontext)
        with grouped():  # the embedded broker deletes the group's rows in one commit
            for message, _stage_message in parsed:
                message.ack()  # the group's store work has committed
                self.handled += 1

    def _leases_kept(self, messages: list[Message]) -> Any:
        """On a broker that leases fetched messages (the embedded one), renew the leases of a group
        and of the deliveries fetched behind it while the group is handled; elsewhere nothing.
        Only groups: a single message is handled within its lease, and renewing from a second
        thread for every message added SQLite write-lock traffic that, in the crash test's run,
        coincided with other writers timing out ("database is locked")."""
        channel = self.connection.default_channel
        extend = getattr(channel, "extend_leases", None)
        timeout = float(getattr(channel, "visibility_timeout", 0) or 0)
        if extend is None or timeout <= 0:
            return contextlib.nullcontext()
        return Heartbeat(timeout / 3, lambda: extend([*messages, *list(self._pending)]),
                         name=f"lease-{self.stage}")

    def _parse(self, body: Any, headers: dict[str, Any], message: Message,
               known: Mapping[str, TransactionRecord] | None = None) -> StageMessage | str:
        """The stage message, or the reason it is poison (``known``: transactions looked up already)."""
        if not isinstance(body, dict):
            return "malformed message (not a JSON object)"
        transaction_id = body.get("transaction_id")
        if not isinstance(transaction_id, str) or not transaction_id:
            return "malformed message (no transaction_id)"
        if body.get("stage") != self.stage:
            return f"wrong stage (expected {self.stage})"
        if known is not None:
            record = known.get(transaction_id)
        else:
            record = self.repository.get(transaction_id, submitter_id=ALL_SUBMITTERS)
        if record is None:
            return "unknown transaction"
        try:
            retries = int(headers.get(RETRIES_HEADER, 0))
        except (TypeError, ValueError):
            retries = 0
        return StageMessage(
            transaction_id=transaction_id, stage=self.stage, fields=body, transaction=record,
            retries=retries, redelivered=bool(message.delivery_info.get("redelivered")),
        )

    def _retry(self, message: Message, body: dict[str, Any], headers: dict[str, Any], retries: int,
               exc: Exception) -> None:
        if retries >= self.max_retries:
            self._dead_letter(message, f"retries exhausted: {type(exc).__name__}")
            return
        log.warning("stage %s: handler failed (%s), retry %d of %d", self.stage, type(exc).__name__,
                    retries + 1, self.max_retries)
        self._producer.publish(
            body, exchange=EXCHANGE, routing_key=self.stage, serializer="json", delivery_mode="persistent",
            headers={**headers, RETRIES_HEADER: retries + 1}, message_id=message.properties.get("message_id"),
            retry=True,
        )
        message.ack()  # the copy with the higher count replaces it (a crash in between: a duplicate)

    def _dead_letter(self, message: Message, reason: str) -> None:
        """Publish the message as it arrived to ``<stage>.dlq`` with the reason, then ack it."""
        log.error("stage %s: dead-lettering a message: %s", self.stage, reason)
        headers = {**(message.headers or {}), REASON_HEADER: reason, "x-edi-stage": self.stage}
        self._producer.publish(
            message.body, exchange=DLX, routing_key=f"{self.stage}.dlq",
            content_type=message.content_type or "application/octet-stream",
            content_encoding=message.content_encoding or "binary",
            delivery_mode="persistent", headers=headers, message_id=message.properties.get("message_id"),
            retry=True,
        )
        message.ack()
        self.dead_lettered += 1
