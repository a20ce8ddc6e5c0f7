"""The outbox relay: from the store's transactional outbox to the stage queues.

A stage that changes a transaction writes the message for the next stage into the outbox in the
same database transaction (``Repository.transition(..., outbox=...)``, ``Repository.enqueue``).
The relay claims a batch of unpublished rows (``Repository.claim_outbox``), publishes each to
the queue of its stage, and the rows are marked published when the claim's transaction commits
-- which happens only after every publish in the batch returned, i.e. after the broker accepted
the message (RabbitMQ: publisher confirms, ``confirm_publish=True``; embedded SQLAlchemy broker:
the message row is committed). If a publish fails or the relay dies, nothing in the batch is
marked and the whole batch is published again later.

On RabbitMQ a batch is published in one go on a channel in confirm mode and the relay then waits
for the broker's confirms of all of it (one round trip per batch instead of one per message, which
made the relay the pipeline's bottleneck); a nack, a missing confirm or a dropped connection
fails the batch as above.

Delivery is therefore **at least once**: a relay killed between the broker's accept and the
store's commit publishes those messages again. Every message carries ``message_id``
(``outbox-<row id>``, also the AMQP ``message_id`` property) and consumers must be idempotent:
the store's state machine refuses a repeated move, and a stage checks the transaction's state
before doing work with side effects.

The rows of a batch that go to the same stage are published as group messages of up to
``group_size`` transactions (``connectors.queues.groups``): one publish, confirm, broker message
and ack for up to 200 transactions instead of one each. Each member keeps its row's
``message_id``; the consumer unpacks a group into the messages it would have received one by one.

An idle relay waits between polls (``IDLE_POLL``) on the store's outbox bell (``edi.store.bell``),
which the repository rings when this process commits outbox rows: the stages' hand-overs go out at
once, while polling stays rare enough to cost little when nothing happens; rows committed by other
processes wait at most ``IDLE_POLL``.

The outbox row's topic is the stage name (``translate``) or the stage and a qualifier
(``translate.claim``); its body holds small routing fields only (ids, kinds, partner ids) -- the
relay refuses bodies that are not flat JSON scalars or are larger than ``MAX_BODY_BYTES``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Mapping
from typing import Any

from kombu import Connection, Producer

from connectors.queues.groups import GROUP_HEADER, MAX_GROUP_BYTES, MAX_GROUP_MEMBERS, Packed, pack
from connectors.queues.topology import EXCHANGE, STAGES, connect, declare
from edi.store import OutboxRecord, Repository
from edi.store.bell import OutboxBell

__all__ = ["IDLE_POLL", "MAX_BODY_BYTES", "OutboxRelay", "UnroutableMessageError", "message_for", "stage_of"]

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 2048
CONFIRM_TIMEOUT = 30.0  # seconds to wait for the broker's confirms of one batch
# Seconds between polls of an idle outbox. A commit of this process wakes the relay at once, so
# this bounds only the wait of rows committed by other processes. (The runner polled every 0.05 s:
# an idle relay on PostgreSQL and RabbitMQ used ~150 ms CPU per 8 s; with this ~45 ms.)
IDLE_POLL = 0.25
_SCALARS = (str, int, float, bool, type(None))


class UnroutableMessageError(ValueError):
    """An outbox row the relay cannot publish: unknown stage or a body that is not routing data."""


def stage_of(topic: str) -> str:
    stage = topic.split(".", 1)[0]
    if stage not in STAGES:
        raise UnroutableMessageError(f"outbox topic {topic!r} names no stage")
    return stage


def message_for(record: OutboxRecord) -> dict[str, Any]:
    """The JSON message for an outbox row: its routing fields, the transaction id and the stage."""
    return _encoded(record)[0]


def _encoded(record: OutboxRecord) -> tuple[dict[str, Any], str]:
    """The message for an outbox row and its JSON text (encoded once: checked, then published)."""
    stage = stage_of(record.topic)
    body = dict(record.body or {})
    for key, value in body.items():
        if not isinstance(value, _SCALARS):
            raise UnroutableMessageError(f"outbox row {record.id}: field {key!r} is not a JSON scalar")
    message = {**body, "stage": stage, "topic": record.topic, "message_id": f"outbox-{record.id}"}
    transaction_id = record.transaction_id or body.get("transaction_id")
    if transaction_id is not None:
        message["transaction_id"] = transaction_id
    text = json.dumps(message)  # ASCII (escaped): its length is its size in bytes
    if len(text) > MAX_BODY_BYTES:
        raise UnroutableMessageError(f"outbox row {record.id}: body larger than {MAX_BODY_BYTES} bytes")
    return message, text


class OutboxRelay:
    """Publishes the store's outbox to the stage queues. One instance per process.

    ``relay_once()`` publishes one batch and returns how many outbox rows it published;
    ``run()`` loops until ``stop()`` (or until the outbox is empty, with ``until_empty``).
    """

    def __init__(
        self,
        repository: Repository,
        connection: Connection | None = None,
        *,
        url: str | None = None,
        batch_size: int = 500,
        group_size: int = MAX_GROUP_MEMBERS,
        group_bytes: int = MAX_GROUP_BYTES,
        transport_options: Mapping[str, Any] | None = None,
    ) -> None:
        """``group_size``: transactions per broker message at most (1: a message per outbox row)."""
        self.repository = repository
        self.group_size = max(1, group_size)
        self.group_bytes = group_bytes
        self.connection = connection or connect(url, transport_options=transport_options)
        self._owns_connection = connection is None
        self.batch_size = batch_size
        self._stopping = threading.Event()
        self._bell: OutboxBell = getattr(repository, "outbox_bell", None) or OutboxBell()
        self._producer: Producer | None = None
        self._confirm_channel: Any = None

    def _ready_producer(self) -> Producer:
        if self._producer is None:
            self.connection.ensure_connection(max_retries=3)
            declare(self.connection)
            self._producer = Producer(self.connection.default_channel, exchange=EXCHANGE, serializer="json")
        return self._producer

    def relay_once(self) -> int:
        """Publish one batch; returns the number of outbox rows published (not of messages)."""
        producer = self._ready_producer()
        with self.repository.claim_outbox(self.batch_size) as batch:
            encoded = [_encoded(record) for record in batch]  # refuse before publishing any
            messages = self._packed(encoded)
            if messages and self.connection.transport.driver_type == "amqp":
                self._publish_with_retries(messages)
                return len(encoded)
            grouped = getattr(producer.channel, "grouped_puts", contextlib.nullcontext)
            with grouped():  # the embedded broker stores the batch in one commit
                self._publish_each(producer, messages)
        return len(encoded)

    def _packed(self, encoded: list[tuple[dict[str, Any], str]]) -> list[tuple[str, Packed]]:
        """(stage, message) to publish: each stage's rows in batch order, packed into groups."""
        by_stage: dict[str, list[tuple[str, str]]] = {}
        for body, text in encoded:
            by_stage.setdefault(body["stage"], []).append((body["message_id"], text))
        return [(stage, packed) for stage, rows in by_stage.items()
                for packed in pack(stage, rows, max_members=self.group_size, max_bytes=self.group_bytes)]

    def _publish_each(self, producer: Producer, messages: list[tuple[str, Packed]]) -> None:
        for stage, packed in messages:
            producer.publish(
                packed.text,
                exchange=EXCHANGE,
                routing_key=stage,
                content_type="application/json",
                content_encoding="utf-8",
                delivery_mode="persistent",
                message_id=packed.message_id,
                headers=_headers(stage, packed),
                retry=True,
                retry_policy={"max_retries": 3, "interval_start": 0.1, "interval_step": 0.5, "interval_max": 2},
            )
            log.debug("published %d outbox row(s) to %s", packed.count, stage)

    def _publish_with_retries(self, messages: list[tuple[str, Packed]]) -> None:
        """The batch, confirmed; on a lost connection reconnect and publish it all again (at least
        once, as ``retry=True`` publishing does on the other brokers)."""
        errors = (*self.connection.recoverable_connection_errors, *self.connection.connection_errors)
        for attempt in range(4):
            try:
                self._publish_confirmed(messages)
                return
            except errors as error:
                if attempt == 3:
                    raise
                log.warning("outbox relay: publishing failed (%s); reconnecting", type(error).__name__)
                self._stopping.wait(0.2 * 2**attempt)
                self.connection.collect()
                self._producer = None
                self._ready_producer()

    def _publish_confirmed(self, messages: list[tuple[str, Packed]]) -> None:
        """Publish every message, then wait until the broker has confirmed them all (AMQP 0-9-1
        publisher confirms: delivery tags count the channel's publishes from 1; an ack may cover
        every tag up to its own). Raises if any is nacked or the confirms do not come."""
        import amqp
        from amqp import spec

        channel = self._confirm_channel
        if channel is None or not channel.is_open:
            channel = self.connection.channel()
            channel.confirm_select()
            channel._confirm_selected = True  # noqa: SLF001 - py-amqp's own flag for this mode
            channel.relay_published = 0
            channel.relay_outstanding = set()
            channel.relay_nacked = []
            channel.events["basic_ack"].add(lambda tag, multiple: _settle(channel, tag, multiple))
            channel.events["basic_nack"].add(lambda tag, multiple: (channel.relay_nacked.append(tag),
                                                                      _settle(channel, tag, multiple)))
            self._confirm_channel = channel
        try:
            for stage, packed in messages:
                message = amqp.Message(
                    packed.text.encode("utf-8"), content_type="application/json", content_encoding="utf-8",
                    delivery_mode=2, message_id=packed.message_id, application_headers=_headers(stage, packed),
                )
                channel._basic_publish(message, exchange=EXCHANGE.name, routing_key=stage)  # noqa: SLF001 - no wait
                channel.relay_published += 1
                channel.relay_outstanding.add(channel.relay_published)
            while channel.relay_outstanding:
                channel.wait([spec.Basic.Ack, spec.Basic.Nack], timeout=CONFIRM_TIMEOUT)
            if channel.relay_nacked:
                channel.relay_nacked.clear()
                raise RuntimeError("the broker refused (nacked) messages of an outbox batch")
        except BaseException:
            self._confirm_channel = None  # a fresh channel next time: no confirms of this batch linger
            with contextlib.suppress(Exception):
                channel.close()
            raise

    def run(self, *, poll_interval: float = IDLE_POLL, until_empty: bool = False) -> int:
        """Relay until stopped; returns the number of outbox rows published.

        Between polls it waits up to ``poll_interval`` seconds, and no longer than until this
        process commits outbox rows (the store's outbox bell, ``edi.store.bell``): local commits
        are published at once, rows other processes commit within ``poll_interval``."""
        total = 0
        while not self._stopping.is_set():
            seen = self._bell.rings  # before the poll: a commit during it ends the next wait at once
            published = self.relay_once()
            total += published
            if published < self.batch_size:
                if until_empty:
                    break
                self._bell.wait(seen, poll_interval)
        return total

    def stop(self) -> None:
        self._stopping.set()
        self._bell.ring()  # end a wait now (other relays on the bell poll once more, harmlessly)

    def reconnect(self) -> None:
        """After a failed batch: forget the producer and the connection under it (the broker may
        have restarted, its channel is gone), so the next batch connects and declares afresh."""
        self._producer = None
        try:
            self.connection.collect()
        except Exception:  # it is being thrown away: nothing to do about a failure here
            log.debug("dropping the relay's broker connection failed", exc_info=True)

    def close(self) -> None:
        if self._confirm_channel is not None:
            with contextlib.suppress(Exception):
                self._confirm_channel.close()
            self._confirm_channel = None
        if self._owns_connection:
            self.connection.release()

    def __enter__(self) -> OutboxRelay:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _headers(stage: str, packed: Packed) -> dict[str, Any]:
    if packed.count == 1:
        return {"x-edi-stage": stage}
    return {"x-edi-stage": stage, GROUP_HEADER: packed.count}


def _settle(channel: Any, tag: int, multiple: bool) -> None:
    """Mark confirmed publishes: ``tag`` alone, or every tag up to it with ``multiple``."""
    if multiple:
        channel.relay_outstanding.difference_update([t for t in channel.relay_outstanding if t <= tag])
    else:
        channel.relay_outstanding.discard(tag)
