"""Running the stages: every stage worker, the outbox relay, the sweeper and the partner
mailbox pollers, as threads of one process (``edi worker``, ``edi run``).

Several such processes can share one database and broker (RabbitMQ, or the embedded SQLite
broker on one machine): each stage queue is consumed competitively, the relay claims outbox
rows with row locks, and every handler is idempotent.

A consumer or the relay that raises has lost its broker connection, or holds a channel that is
no longer usable (a RabbitMQ node stopped and started again; the embedded broker's session left
in a failed transaction by a concurrent writer). Retrying on the same connection would fail the
same way for ever, so the connection is dropped (``Connection.collect``: no network round trip,
the peer may be gone) and the loop starts again a second later on a new one. Messages that were
delivered but not acknowledged come back on their own -- RabbitMQ requeues them when the
connection goes, the embedded broker when their lease expires -- and handlers are idempotent.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from connectors.ingest.replies import DoorReplies
from connectors.pipeline.realtime import ClientPool
from connectors.pipeline.sftp_transport import SftpTransports, poll_partner
from connectors.pipeline.workers import WORKERS, DeliveryWorker, TransportWorker
from connectors.queues.relay import OutboxRelay
from edi.audit.sealer import seal_all
from edi.pipeline import STAGES, Pipeline
from edi.pipeline.sweeper import sweep
from edi.settings import DoorSettings

__all__ = ["PipelineRunner"]

log = logging.getLogger(__name__)

SEAL_INTERVAL = 2.0  # seconds between audit sealing rounds


class PipelineRunner:
    def __init__(
        self,
        pipeline: Pipeline,
        *,
        broker_url: str | None = None,
        stages: Iterable[str] = STAGES,
        sweep_interval: float = 1.0,
        poll_interval: float | None = None,  # None: each partner's poll_interval_seconds
        relay: bool = True,
        sweeper: bool = True,
        pollers: bool = True,
        sftp_options: dict[str, Any] | None = None,
        core_options: dict[str, Any] | None = None,
        prefetch: int = 1,
        replies: DoorReplies | None = None,  # None: the doors configured in the partners file and env
    ) -> None:
        self.pipeline = pipeline
        self.broker_url = broker_url
        self.stages = tuple(stages)
        unknown = set(self.stages) - set(STAGES)
        if unknown:
            raise ValueError(f"unknown stage(s): {', '.join(sorted(unknown))}")
        self.sweep_interval = sweep_interval
        self.poll_interval = poll_interval
        self.sftp = SftpTransports(**(sftp_options or {}))
        self.core = ClientPool(**(core_options or {}))
        self.prefetch = prefetch
        self.replies = replies or DoorReplies.from_config(pipeline.partners.submitters, DoorSettings.from_env())
        self._relay_on, self._sweeper_on, self._pollers_on = relay, sweeper, pollers
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._workers: list[Any] = []
        self._relay: OutboxRelay | None = None

    # ------------------------------------------------------------------------------------------

    def start(self) -> PipelineRunner:
        for stage in self.stages:
            cls = WORKERS[stage]
            # A worker that handles groups needs a group's worth of deliveries in hand: on RabbitMQ
            # by default. On the embedded broker groups are safe (the worker renews the leases of
            # the messages it holds, StageWorker._leases_kept) but only with ``prefetch`` above one:
            # its SQLite store has one write lock, and a group's long write transactions starve
            # the other writers on a busy machine past their 30 s busy timeout.
            prefetch = max(self.prefetch, cls.group_size) if _is_amqp(self.broker_url) else self.prefetch
            options: dict[str, Any] = {"url": self.broker_url, "prefetch": prefetch}
            if cls is TransportWorker:
                options.update(core=self.core, sftp=self.sftp)
            if cls is DeliveryWorker:
                options.update(replies=self.replies)
            worker = cls(self.pipeline, **options)
            self._workers.append(worker)
            self._spawn(f"stage-{stage}", self._run_worker, worker)
        if self._relay_on:
            self._relay = OutboxRelay(self.pipeline.repository, url=self.broker_url)
            self._spawn("relay", self._run_relay)
        if self._sweeper_on:
            self._spawn("sweeper", self._every, self.sweep_interval, lambda: sweep(self.pipeline))
            # The audit trail is chained off the stages' hot path: entries committed with each
            # state change are sealed here, every few seconds (edi.audit.sealer takes a lock, so
            # several worker processes never fork the chain).
            self._spawn("audit-sealer", self._every, SEAL_INTERVAL,
                        lambda: seal_all(self.pipeline.repository.engine))
        if self._pollers_on:
            for partner in self.pipeline.partners.partners.values():
                sftp = partner.transport.sftp
                if sftp is not None:
                    interval = self.poll_interval or sftp.poll_interval_seconds
                    self._spawn(f"poll-{partner.id}", self._every, interval,
                                lambda p=partner: poll_partner(self.pipeline, self.sftp, p))
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.stop()
        if self._relay is not None:
            self._relay.stop()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.1, deadline - time.monotonic()))
        for worker in self._workers:
            try:
                worker.close()
            except Exception:
                log.debug("closing a worker failed", exc_info=True)
        if self._relay is not None:
            self._relay.close()
        self.sftp.close()
        self.core.close()

    def __enter__(self) -> PipelineRunner:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def wait(self) -> None:
        """Block until ``stop()`` (from a signal handler, say)."""
        while not self._stop.wait(0.5):
            pass

    # ------------------------------------------------------------------------------------------

    def _spawn(self, name: str, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _run_worker(self, worker: Any) -> None:
        while not self._stop.is_set():
            try:
                worker.run(poll=0.2)
            except Exception as error:  # the broker went away: reconnect after a pause
                log.warning("stage %s: consumer stopped (%s); restarting", worker.stage, type(error).__name__)
                _drop_connection(worker.connection)
                self._stop.wait(1.0)

    def _run_relay(self) -> None:
        assert self._relay is not None
        while not self._stop.is_set():
            try:
                self._relay.run()  # woken by this process's outbox commits, else polls (IDLE_POLL)
            except Exception as error:
                log.warning("outbox relay stopped (%s); restarting", type(error).__name__)
                self._relay.reconnect()
                self._stop.wait(1.0)

    def _every(self, interval: float, job: Callable[[], object]) -> None:
        while not self._stop.is_set():
            try:
                job()
            except Exception as error:
                log.warning("%s failed (%s)", threading.current_thread().name, type(error).__name__)
            self._stop.wait(interval)


def _drop_connection(connection: Any) -> None:
    """Forget a broken connection and its channels; the next use connects afresh."""
    try:
        connection.collect()
    except Exception:  # it is being thrown away: nothing to do about a failure here
        log.debug("dropping a broker connection failed", exc_info=True)


def _is_amqp(broker_url: str | None) -> bool:
    return bool(broker_url) and broker_url.split("://", 1)[0] in ("amqp", "amqps", "pyamqp")
