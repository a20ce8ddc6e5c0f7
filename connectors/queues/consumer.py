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

A delivery may be a group message (``connectors.queues.groups``): the relay packs the messages
of several transactions for one stage into one broker message. The worker unpacks it into the
messages each member would have been on its own and treats them as such -- each parsed, handled
(with the other deliveries' transactions, ``group_size`` at a time), retried and dead-lettered
alone; a member is retried or dead-lettered by publishing it as a single message with its own
``message_id`` -- and acks the group message once every member is settled. ``handled``,
``dead_lettered`` and ``run``'s ``limit`` count transactions, not deliveries. At most
``min(group_size, prefetch)`` transactions are handled together, so a worker kept at ``prefetch``
1 (the embedded SQLite store's single write lock, see the runner) handles a group message's
members one by one, as it did single messages.

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
from connectors.queues.groups import GROUP_HEADER, member_count, members
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


@dataclass(slots=True)
class _Unit:
    """One transaction's message: a delivery of its own, or a member of a group delivery."""

    delivery: Message
    body: Any
    headers: dict[str, Any]  # the delivery's (a group's: without the member count)
    member: bool

    @property
    def message_id(self) -> str | None:
        """The message's own id: a member's is in its body (``outbox-<row id>``)."""
        if self.member:
            found = self.body.get("message_id") if isinstance(self.body, dict) else None
            return found if isinstance(found, str) else None
        return self.delivery.properties.get("message_id")


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
                        self._on_messages(self._take(room))
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

    def _take(self, room: int) -> list[Message]:
        """Deliveries from the front of those fetched, carrying about ``room`` transactions (a
        group message counts its members, from its header): at least one, and a group message
        is never split (its members are then handled ``group_size`` at a time)."""
        taken = [self._pending.popleft()]
        count = member_count(taken[0].headers)
        while self._pending and count < room:
            more = member_count(self._pending[0].headers)
            if count + more > room:
                break
            taken.append(self._pending.popleft())
            count += more
        return taken

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

    # deliveries ---------------------------------------------------------------------------------

    def _on_message(self, message: Message) -> None:
        """One delivery, its transaction (or each member of a group message) handled alone."""
        self._settle_deliveries([message], 1)

    def _on_messages(self, group: list[Message]) -> None:
        """Deliveries handled together: poison ones dead-lettered alone, the rest in groups of
        up to ``group_size`` transactions (a group message's members count one each)."""
        self._settle_deliveries(group, max(1, min(self.group_size, self.prefetch)))

    def _settle_deliveries(self, deliveries: list[Message], size: int) -> None:
        """Handle every transaction the deliveries carry, ``size`` at a time, then ack. A group
        message is acked only once each member is settled: handled, or published on its own as a
        retry or a dead letter. A crash before that redelivers the whole group (idempotent
        handlers; a member already republished may then be seen twice, as a plain retry may)."""
        units: list[_Unit] = []
        for message in deliveries:
            units.extend(self._open(message))
        done: dict[int, Message] = {}
        with self._leases_kept(deliveries) if len(units) > 1 else contextlib.nullcontext():
            if size == 1:  # one store read for a group message's members, each handled alone
                self._settle_units(units, done, together=False)
            else:
                for start in range(0, len(units), size):
                    self._settle_units(units[start:start + size], done, together=True)
        if not done:
            return
        grouped = getattr(self.connection.default_channel, "grouped_acks", contextlib.nullcontext)
        with grouped():  # the embedded broker deletes the group's rows in one commit
            for message in done.values():
                message.ack()  # the store work of all it carries has committed

    def _open(self, message: Message) -> list[_Unit]:
        """The transactions' messages a delivery carries; an undecodable one, or a group message
        with no members, is dead-lettered whole (there is nothing to split)."""
        headers = dict(message.headers or {})
        try:
            body = message.decode()
        except Exception as exc:  # undecodable JSON, content type not allowed, bad encoding
            self._dead_letter(message, f"undecodable body ({type(exc).__name__})")
            return []
        found = members(body, headers)
        if found is None:
            self._dead_letter(message, "malformed group message (no list of members)")
            return []
        if len(found) == 1 and GROUP_HEADER not in headers:
            return [_Unit(message, body, headers, member=False)]
        headers.pop(GROUP_HEADER, None)
        return [_Unit(message, member, headers, member=True) for member in found]

    def _settle_units(self, units: list[_Unit], done: dict[int, Message], *, together: bool) -> None:
        """Parse (one store read for all) and handle: together (``handle_many``) when asked and
        more than one is valid; if that raises, one by one, so a retry or a dead letter concerns
        only the one that fails."""
        if len(units) == 1:
            unit = units[0]
            parsed = self._parse(unit.body, unit.headers, unit.delivery)
            if isinstance(parsed, str):
                self._dead_letter_unit(unit, parsed, done)
            else:
                self._handle_alone(unit, parsed, done)
            return
        ids = [u.body.get("transaction_id") for u in units if isinstance(u.body, dict)]
        known = self.repository.get_many([i for i in dict.fromkeys(ids) if isinstance(i, str) and i])
        valid: list[tuple[_Unit, StageMessage]] = []
        for unit in units:
            result = self._parse(unit.body, unit.headers, unit.delivery, known=known)
            if isinstance(result, str):
                self._dead_letter_unit(unit, result, done)
            else:
                valid.append((unit, result))
        if len(valid) == 1 or not together:
            for unit, parsed in valid:
                self._handle_alone(unit, parsed, done)
            return
        if not valid:
            return
        try:
            self.handle_many([parsed for _u, parsed in valid])
        except Exception as exc:
            log.warning("stage %s: a group of %d failed (%s); handling them one by one", self.stage, len(valid),
                        type(exc).__name__)
            for unit, _parsed in valid:
                again = self._parse(unit.body, unit.headers, unit.delivery)  # as it is now
                if isinstance(again, str):
                    self._dead_letter_unit(unit, again, done)
                else:
                    self._handle_alone(unit, again, done)
            return
        for unit, _parsed in valid:
            done[id(unit.delivery)] = unit.delivery
            self.handled += 1

    def _handle_alone(self, unit: _Unit, parsed: StageMessage, done: dict[int, Message]) -> None:
        try:
            self.handle(parsed)
        except PoisonMessageError as exc:
            self._dead_letter_unit(unit, f"rejected by handler: {exc}", done)
            return
        except Exception as exc:
            self._retry(unit, parsed.retries, exc, done)
            return
        done[id(unit.delivery)] = unit.delivery  # acked once the handler's store work has committed
        self.handled += 1

    def _leases_kept(self, messages: list[Message]) -> Any:
        """On a broker that leases fetched messages (the embedded one), renew the leases of a group
        and of the deliveries fetched behind it while the group is handled; elsewhere nothing.
        Only groups (several deliveries, or a group message): a single message is handled within
        its lease, and renewing from a second thread for every message added SQLite write-lock
        traffic that, in the crash test's run, coincided with other writers timing out ("database
        is locked")."""
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

    def _retry(self, unit: _Unit, retries: int, exc: Exception, done: dict[int, Message]) -> None:
        """Publish the transaction's message again, on its own, with the retry count up."""
        if retries >= self.max_retries:
            self._dead_letter_unit(unit, f"retries exhausted: {type(exc).__name__}", done)
            return
        log.warning("stage %s: handler failed (%s), retry %d of %d", self.stage, type(exc).__name__,
                    retries + 1, self.max_retries)
        self._producer.publish(
            unit.body, exchange=EXCHANGE, routing_key=self.stage, serializer="json", delivery_mode="persistent",
            headers={**unit.headers, RETRIES_HEADER: retries + 1}, message_id=unit.message_id, retry=True,
        )
        self._settled_by_publish(unit, done)  # the copy with the higher count replaces it

    def _dead_letter_unit(self, unit: _Unit, reason: str, done: dict[int, Message]) -> None:
        if not unit.member:
            self._dead_letter(unit.delivery, reason)
            return
        log.error("stage %s: dead-lettering a message of a group: %s", self.stage, reason)
        self._producer.publish(
            unit.body, exchange=DLX, routing_key=f"{self.stage}.dlq", serializer="json",
            delivery_mode="persistent", headers={**unit.headers, REASON_HEADER: reason, "x-edi-stage": self.stage},
            message_id=unit.message_id, retry=True,
        )
        self.dead_lettered += 1
        done[id(unit.delivery)] = unit.delivery

    def _settled_by_publish(self, unit: _Unit, done: dict[int, Message]) -> None:
        """A single message is acked at once (a crash in between: a duplicate); a member's group
        once all its members are settled."""
        if unit.member:
            done[id(unit.delivery)] = unit.delivery
        else:
            unit.delivery.ack()

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
