"""The outbox relay: from the store's transactional outbox to the stage queues.

A stage that changes a transaction writes the message for the next stage into the outbox in the
same database transaction (``Repository.transition(..., outbox=...)``, ``Repository.enqueue``).
The relay claims a batch of unpublished rows (``Repository.claim_outbox``), publishes each to
the queue of its stage, and the rows are marked published when the claim's transaction commits
-- which happens only after every publish in the batch returned, i.e. after the broker accepted
the message (RabbitMQ: publisher confirms, ``confirm_publish=True``; embedded SQLAlchemy broker:
the message row is committed). If a publish fails or the relay dies, nothing in the batch is
marked and the whole batch is published again later.

Delivery is therefore **at least once**: a relay killed between the broker's accept and the
store's commit publishes those messages again. Every message carries ``message_id``
(``outbox-<row id>``, also the AMQP ``message_id`` property) and consumers must be idempotent:
the store's state machine refuses a repeated move, and a stage checks the transaction's state
before doing work with side effects.

The outbox row's topic is the stage name (``translate``) or the stage and a qualifier
(``translate.claim``); its body holds small routing fields only (ids, kinds, partner ids) -- the
relay refuses bodies that are not flat JSON scalars or are larger than ``MAX_BODY_BYTES``.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from typing import Any

from kombu import Connection, Producer

from connectors.queues.topology import EXCHANGE, STAGES, connect, declare
from edi.store import OutboxRecord, Repository

__all__ = ["MAX_BODY_BYTES", "OutboxRelay", "UnroutableMessageError", "message_for", "stage_of"]

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 2048
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
    stage = stage_of(record.topic)
    body = dict(record.body or {})
    for key, value in body.items():
        if not isinstance(value, _SCALARS):
            raise UnroutableMessageError(f"outbox row {record.id}: field {key!r} is not a JSON scalar")
    message = {**body, "stage": stage, "topic": record.topic, "message_id": f"outbox-{record.id}"}
    transaction_id = record.transaction_id or body.get("transaction_id")
    if transaction_id is not None:
        message["transaction_id"] = transaction_id
    if len(json.dumps(message)) > MAX_BODY_BYTES:
        raise UnroutableMessageError(f"outbox row {record.id}: body larger than {MAX_BODY_BYTES} bytes")
    return message


class OutboxRelay:
    """Publishes the store's outbox to the stage queues. One instance per process.

    ``relay_once()`` publishes one batch and returns how many messages it published;
    ``run()`` loops until ``stop()`` (or until the outbox is empty, with ``until_empty``).
    """

    def __init__(
        self,
        repository: Repository,
        connection: Connection | None = None,
        *,
        url: str | None = None,
        batch_size: int = 100,
        transport_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.repository = repository
        self.connection = connection or connect(url, transport_options=transport_options)
        self._owns_connection = connection is None
        self.batch_size = batch_size
        self._stopping = threading.Event()
        self._producer: Producer | None = None

    def _ready_producer(self) -> Producer:
        if self._producer is None:
            self.connection.ensure_connection(max_retries=3)
            declare(self.connection)
            self._producer = Producer(self.connection.default_channel, exchange=EXCHANGE, serializer="json")
        return self._producer

    def relay_once(self) -> int:
        producer = self._ready_producer()
        with self.repository.claim_outbox(self.batch_size) as batch:
            messages = [(record, message_for(record)) for record in batch]  # refuse before publishing any
            for record, body in messages:
                stage = body["stage"]
                producer.publish(
                    body,
                    exchange=EXCHANGE,
                    routing_key=stage,
                    serializer="json",
                    delivery_mode="persistent",
                    message_id=body["message_id"],
                    headers={"x-edi-stage": stage},
                    retry=True,
                    retry_policy={"max_retries": 3, "interval_start": 0.1, "interval_step": 0.5, "interval_max": 2},
                )
                log.debug("published outbox row %s to %s", record.id, stage)
        return len(messages)

    def run(self, *, poll_interval: float = 0.2, until_empty: bool = False) -> int:
        """Relay until stopped; returns the number of messages published."""
        total = 0
        while not self._stopping.is_set():
            published = self.relay_once()
            total += published
            if published < self.batch_size:
                if until_empty:
                    break
                self._stopping.wait(poll_interval)
        return total

    def stop(self) -> None:
        self._stopping.set()

    def reconnect(self) -> None:
        """After a failed batch: forget the producer and the connection under it (the broker may
        have restarted, its channel is gone), so the next batch connects and declares afresh."""
        self._producer = None
        try:
            self.connection.collect()
        except Exception:  # it is being thrown away: nothing to do about a failure here
            log.debug("dropping the relay's broker connection failed", exc_info=True)

    def close(self) -> None:
        if self._owns_connection:
            self.connection.release()

    def __enter__(self) -> OutboxRelay:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
