"""The broker topology: one durable queue per pipeline stage, each with a dead-letter queue.

Everything is kombu; this module only names things and picks the transport:

* ``EDI_BROKER_URL`` chooses the broker: ``amqp://user:pass@host/vhost`` for RabbitMQ
  (durable queues, publisher confirms via the ``confirm_publish`` transport option, manual
  acks), ``sqs://`` for Amazon SQS through kombu (the managed option; its own redrive policy
  or the explicit dead-letter publish below), or the embedded default that needs no server:
  kombu's SQLAlchemy transport on a SQLite file, ``sqla+sqlite:///<data dir>/broker.db``, which
  separate processes on one machine share. The data directory is ``EDI_DATA_DIR`` (``./data``
  when unset).
* One direct exchange ``edi`` routes a message to the queue named after its stage
  (``intake``, ``translate``, ``outbox``, ``transport``, ``responses``, ``delivery``). A second
  direct exchange ``edi.dlx`` routes to ``<stage>.dlq``.
* On RabbitMQ each stage queue names the dead-letter exchange in its arguments
  (``x-dead-letter-exchange`` / ``x-dead-letter-routing-key``), so anything the broker itself
  dead-letters lands on the stage's DLQ. Transports without queue arguments get the same result
  from the consumer publishing to the DLQ explicitly (see ``consumer.py``), which it does on
  every transport so the message carries the reason in a header.

Messages are small JSON documents: ``{"transaction_id": ..., "stage": ..., ...routing fields}``,
or a group of them (``{"stage": ..., "messages": [...]}`` with the ``x-edi-group`` header, see
``groups.py``).
Never a Python object (the consumers accept only ``application/json``) and never PHI: payloads
live encrypted in the store, messages carry ids.

The embedded transport, leased
------------------------------
kombu's SQLAlchemy transport hides a message when it is fetched and relies on the channel being
closed cleanly to put unacknowledged messages back; a worker killed with ``kill -9`` would lose
them, and acknowledged rows are never deleted. ``LeasedSqlaTransport`` (a subclass of kombu's,
selected automatically for ``sqla+`` URLs) makes fetching a lease instead, the same model as
kombu's SQS and Redis visibility timeouts: a fetched row stays in the table, hidden, until it is
acked (deleted) or rejected; a row hidden for longer than ``visibility_timeout`` seconds (transport
option, ``EDI_BROKER_VISIBILITY_TIMEOUT``, default 300) becomes visible again and is redelivered.
A stage worker handling a group renews the leases of the messages it holds (``extend_leases``,
from a heartbeat), so a group keeps its messages for as long as it is being handled; only a worker that died stops renewing, and its messages come back one
timeout later. Consumers are idempotent anyway, because delivery is at least once.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import os
from collections import deque
from collections.abc import Iterator, Mapping
from pathlib import Path
from queue import Empty
from typing import Any

from kombu import Connection, Exchange, Queue
from kombu.transport import sqlalchemy as kombu_sqla
from kombu.transport import virtual
from sqlalchemy import event, or_, text

__all__ = [
    "DLX",
    "EXCHANGE",
    "REASON_HEADER",
    "RETRIES_HEADER",
    "STAGES",
    "LeasedSqlaTransport",
    "broker_url",
    "connect",
    "dead_letter_queue",
    "declare",
    "routing_for",
    "stage_queue",
    "supports_dead_letter_arguments",
]

STAGES: tuple[str, ...] = ("intake", "translate", "outbox", "transport", "responses", "delivery")

EXCHANGE = Exchange("edi", type="direct", durable=True, delivery_mode="persistent")
DLX = Exchange("edi.dlx", type="direct", durable=True, delivery_mode="persistent")

REASON_HEADER = "x-edi-dead-letter-reason"
RETRIES_HEADER = "x-edi-retries"

_AMQP_TRANSPORTS = frozenset({"amqp", "pyamqp", "librabbitmq", "amqps"})
_SQLA_PREFIXES = ("sqla+", "sqlalchemy+")
DEFAULT_VISIBILITY_TIMEOUT = 300.0
LEASE_BATCH = 200  # embedded broker: messages leased in one transaction at most (within the prefetch)


def _check_stage(stage: str) -> str:
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}: one of {', '.join(STAGES)}")
    return stage


def data_dir() -> Path:
    return Path(os.environ.get("EDI_DATA_DIR") or "data")


def broker_url(url: str | None = None) -> str:
    """The broker URL: ``url``, else ``EDI_BROKER_URL``, else the embedded SQLite broker."""
    chosen = url or os.environ.get("EDI_BROKER_URL")
    if chosen:
        return chosen
    directory = data_dir().resolve()
    directory.mkdir(parents=True, exist_ok=True)
    return f"sqla+sqlite:///{directory / 'broker.db'}"


def supports_dead_letter_arguments(connection: Connection) -> bool:
    """True where the broker honours ``x-dead-letter-exchange`` queue arguments (RabbitMQ).

    Decided from the connection's transport without loading it: a name (``amqp``, ``pyamqp``,
    ``amqps``, ``librabbitmq``, as in the URL) or a transport class whose ``driver_type`` is
    ``amqp``. Every other transport (the embedded SQLAlchemy one, SQS, memory) gets plain
    queues -- RabbitMQ refuses to redeclare a queue with other arguments (PRECONDITION_FAILED),
    so every process must decide the same way for the same broker.
    """
    transport = connection.transport_cls
    if isinstance(transport, str):
        return transport.split("+", 1)[0].lower() in _AMQP_TRANSPORTS
    return getattr(transport, "driver_type", None) == "amqp"


def dead_letter_queue(stage: str) -> Queue:
    _check_stage(stage)
    return Queue(f"{stage}.dlq", DLX, routing_key=f"{stage}.dlq", durable=True)


def stage_queue(stage: str, *, dead_letter_arguments: bool = False) -> Queue:
    """The durable queue of ``stage``; with RabbitMQ's dead-letter arguments if asked."""
    _check_stage(stage)
    arguments = None
    if dead_letter_arguments:
        arguments = {"x-dead-letter-exchange": DLX.name, "x-dead-letter-routing-key": f"{stage}.dlq"}
    return Queue(stage, EXCHANGE, routing_key=stage, durable=True, queue_arguments=arguments)


def routing_for(connection: Connection, stage: str) -> tuple[Queue, Queue]:
    """The stage queue and its DLQ as this connection's transport should declare them."""
    return stage_queue(stage, dead_letter_arguments=supports_dead_letter_arguments(connection)), dead_letter_queue(
        stage
    )


def declare(connection: Connection, stages: tuple[str, ...] = STAGES) -> dict[str, tuple[Queue, Queue]]:
    """Declare the exchanges, the stage queues and their DLQs (idempotent; call on every start).

    kombu's virtual transports keep exchange bindings in process memory, so every process that
    publishes or consumes declares the topology itself.
    """
    channel = connection.default_channel
    declared: dict[str, tuple[Queue, Queue]] = {}
    for stage in stages:
        queue, dlq = routing_for(connection, stage)
        queue(channel).declare()
        dlq(channel).declare()
        declared[stage] = (queue, dlq)
    return declared


def connect(url: str | None = None, *, transport_options: Mapping[str, Any] | None = None) -> Connection:
    """A kombu connection to the broker, configured for the pipeline.

    * RabbitMQ: ``confirm_publish=True`` (``publish`` returns once the broker has the message).
    * Embedded SQLAlchemy: ``LeasedSqlaTransport`` with a visibility timeout and SQLite set up
      for several processes (WAL, 30-second busy timeout).
    """
    chosen = broker_url(url)
    options = dict(transport_options or {})
    scheme = chosen.split("://", 1)[0]
    if chosen.startswith(_SQLA_PREFIXES):
        options.setdefault(
            "visibility_timeout",
            float(os.environ.get("EDI_BROKER_VISIBILITY_TIMEOUT") or DEFAULT_VISIBILITY_TIMEOUT),
        )
        database = chosen.split("+", 1)[1]
        return Connection(database, transport=LeasedSqlaTransport, transport_options=options)
    if scheme.split("+", 1)[0] in _AMQP_TRANSPORTS:
        options.setdefault("confirm_publish", True)
    return Connection(chosen, transport_options=options)


# -- the embedded transport -------------------------------------------------------------------

log = logging.getLogger(__name__)
_LEASE_ROW = "edi_lease_row"  # where a fetched message remembers its row, in its properties


class LeasedSqlaQoS(virtual.QoS):
    """Acks delete the message's row; rejects delete it or make it visible again."""

    def ack(self, delivery_tag: Any) -> None:
        message = self._delivered.get(delivery_tag)
        if message is not None:
            self.channel._forget(message)
        super().ack(delivery_tag)

    def reject(self, delivery_tag: Any, requeue: bool = False) -> None:
        message = self._delivered.get(delivery_tag)
        if message is not None:
            if requeue:
                self.channel._release(message)
            else:
                self.channel._forget(message)
        self._quick_ack(delivery_tag)


class LeasedSqlaChannel(kombu_sqla.Channel):
    QoS = LeasedSqlaQoS
    from_transport_options = (*kombu_sqla.Channel.from_transport_options, "visibility_timeout")
    visibility_timeout: float = DEFAULT_VISIBILITY_TIMEOUT

    def _engine_from_config(self) -> Any:
        conninfo = self.connection.client
        options = dict(conninfo.transport_options)
        for name in (
            "queue_tablename", "message_tablename", "callback", "errback", "max_retries", "interval_start",
            "interval_step", "interval_max", "retry_errors", "visibility_timeout", "polling_interval",
        ):
            options.pop(name, None)
        database = conninfo.hostname
        is_sqlite = database.startswith("sqlite")
        if is_sqlite:
            path = database.split(":///", 1)[1] if ":///" in database else ""
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            options.setdefault("connect_args", {"timeout": 30})
        engine = kombu_sqla.create_engine(database, **options)
        if is_sqlite:

            @event.listens_for(engine, "connect")
            def _on_connect(dbapi_connection: Any, _record: Any) -> None:
                cursor = dbapi_connection.cursor()
                try:
                    cursor.execute("PRAGMA busy_timeout = 30000")
                    cursor.execute("PRAGMA journal_mode = WAL")
                finally:
                    cursor.close()

        return engine

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._leased: dict[str, deque[dict[str, Any]]] = {}  # leased in one go, not yet handed out
        self._queue_ids: dict[str, int] = {}
        self._held_puts: list[tuple[str, dict[str, Any]]] | None = None
        self._held_forgets: list[int] | None = None

    def _get(self, queue: str) -> dict[str, Any]:
        """The next leased message: as many as the consumer's prefetch lets in are leased in one
        transaction (one write-lock wait instead of one per message), then handed out one by one."""
        buffered = self._leased.get(queue)
        if buffered:
            return buffered.popleft()
        room = self.qos.can_consume_max_estimate() if self._qos is not None else None
        leased = self._lease(queue, max(1, min(LEASE_BATCH, room or 1)))
        self._leased[queue] = deque(leased[1:])
        return leased[0]

    def _lease(self, queue: str, count: int) -> list[dict[str, Any]]:
        """Lease the ``count`` oldest visible messages, first making expired leases visible again.

        An idle consumer polls its queue several times a second: a plain read first tells whether
        there is anything to lease, so an empty poll never takes SQLite's write lock (it did, and
        six idle stages queued up behind the busy ones' commits)."""
        queue_id = self._queue_ids.get(queue)
        if queue_id is None:
            queue_id = self._queue_ids[queue] = self._get_or_create(queue).id
        session = self.session
        model = self.message_cls
        cutoff = datetime.datetime.now() - datetime.timedelta(seconds=float(self.visibility_timeout or 0))
        leasable = model.visible.isnot(False)
        if self.visibility_timeout:
            leasable = or_(leasable, model.sent_at < cutoff)
        try:
            found = session.query(model.id).filter(model.queue_id == queue_id, leasable).limit(1).first()
        finally:
            session.commit()  # ends the read transaction
        if found is None:
            raise Empty()
        if session.bind.name == "sqlite":
            session.execute(text("BEGIN IMMEDIATE TRANSACTION"))
        try:
            if self.visibility_timeout:
                session.query(model).filter(
                    model.queue_id == queue_id, model.visible.is_(False), model.sent_at < cutoff
                ).update({model.visible: True}, synchronize_session=False)
            rows = (
                session.query(model)
                .with_for_update()
                .filter(model.queue_id == queue_id, model.visible.isnot(False))
                .order_by(model.sent_at, model.id)
                .limit(count)
                .all()
            )
            if not rows:
                raise Empty()
            payloads = []
            for row in rows:
                row.visible = False  # sent_at becomes now (onupdate): the start of the lease
                payload = kombu_sqla.loads(kombu_sqla.bytes_to_str(row.payload))
                payload["properties"][_LEASE_ROW] = row.id
                payloads.append(payload)
            return payloads
        finally:
            session.commit()

    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:
        if self._held_puts is not None:
            self._held_puts.append((queue, payload))
            return
        super()._put(queue, payload, **kwargs)

    @contextlib.contextmanager
    def grouped_puts(self) -> Iterator[None]:
        """Messages published in the block are stored in one commit when it ends (the outbox
        relay's batch): all of them or, if the block or the commit fails, none."""
        self._held_puts = []
        try:
            yield
            held, self._held_puts = self._held_puts, None
            if held:
                queues = {name: self._get_or_create(name) for name in dict.fromkeys(q for q, _p in held)}
                self.session.add_all([self.message_cls(kombu_sqla.dumps(payload), queues[name])
                                      for name, payload in held])
                try:
                    self.session.commit()
                except Exception:
                    self.session.rollback()
                    raise
        finally:
            self._held_puts = None

    @contextlib.contextmanager
    def grouped_acks(self) -> Iterator[None]:
        """Messages acked in the block are deleted in one commit when it ends. A crash before
        that commit redelivers them after their lease, as for any unacked message (handlers are
        idempotent)."""
        self._held_forgets = []
        try:
            yield
        finally:
            held, self._held_forgets = self._held_forgets, None
            if held:
                try:
                    self.session.query(self.message_cls).filter(self.message_cls.id.in_(held)).delete(
                        synchronize_session=False)
                    self.session.commit()
                except Exception:
                    self.session.rollback()
                    raise

    def give_back(self) -> None:
        """Make messages leased but never handed out visible again at once, not after their lease
        (a consumer that stops, or leaves at its limit)."""
        buffered = [payload for queue in self._leased.values() for payload in queue]
        self._leased.clear()
        if buffered and self._session is not None:
            try:
                self.session.query(self.message_cls).filter(
                    self.message_cls.id.in_([p["properties"][_LEASE_ROW] for p in buffered])
                ).update({self.message_cls.visible: True}, synchronize_session=False)
                self.session.commit()
            except Exception:  # they come back when their lease ends
                self.session.rollback()
                log.debug("giving leased messages back failed", exc_info=True)

    def close(self) -> None:
        self.give_back()
        super().close()

    def extend_leases(self, messages: list[Any]) -> None:
        """Start the lease of fetched, unacknowledged messages afresh: a group being handled (and
        the deliveries waiting behind it) stays hidden however long the handler takes. Called
        from a heartbeat thread, so on a session of its own, never the consumer's."""
        rows = [row for row in (self._row_of(m) for m in messages) if row is not None]
        # and those leased in the same go, not handed out yet (read from another thread: if they
        # change meanwhile, the next beat renews them)
        with contextlib.suppress(RuntimeError):
            rows += [p["properties"][_LEASE_ROW] for queue in list(self._leased.values()) for p in list(queue)]
        if not rows:
            return
        _engine, make_session = self._open()
        model = self.message_cls
        with make_session() as session:
            session.query(model).filter(model.id.in_(rows), model.visible.is_(False)).update(
                {model.sent_at: datetime.datetime.now()}, synchronize_session=False
            )
            session.commit()

    def _row_of(self, message: Any) -> int | None:
        return (message.properties or {}).get(_LEASE_ROW)

    def _forget(self, message: Any) -> None:
        row = self._row_of(message)
        if row is None:
            return
        if self._held_forgets is not None:
            self._held_forgets.append(row)
            return
        try:
            self.session.query(self.message_cls).filter(self.message_cls.id == row).delete(
                synchronize_session=False
            )
            self.session.commit()
        except Exception:
            self.session.rollback()
            raise

    def _release(self, message: Any) -> None:
        row = self._row_of(message)
        if row is None:
            super()._restore(message)
            return
        try:
            self.session.query(self.message_cls).filter(self.message_cls.id == row).update(
                {self.message_cls.visible: True}, synchronize_session=False
            )
            self.session.commit()
        except Exception:
            self.session.rollback()
            raise

    def _restore(self, message: Any) -> None:
        # unacked messages at a clean close: show the same row again instead of copying it
        self._release(message)

    def _restore_at_beginning(self, message: Any) -> None:
        self._release(message)


class LeasedSqlaTransport(kombu_sqla.Transport):
    Channel = LeasedSqlaChannel
    polling_interval = 0.2
