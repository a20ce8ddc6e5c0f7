"""The queues' own cost per claim: the outbox relay and the stage consumers, without the stages' work.

Writes ``--claims`` transactions with the outbox rows a claim leaves behind on its way through
(translate, outbox, and two deliveries: 999 and 277CA/835 answers), then

* relays them to the broker, ``time.thread_time()`` around each ``relay_once``: the relay's CPU
  per claim and the broker messages it published per claim;
* consumes every stage queue with a worker whose handlers do nothing (``group_size`` 200, the
  pipeline's), ``time.thread_time()`` around each delivery's (or group's) handling by the base
  class (decode, parse, the store read of the transactions, ack) and around the whole ``run``.

Thread CPU is the figure to trust on a shared machine; best of ``--repeat`` rounds. The broker is
the embedded one (a SQLite file) unless ``--broker`` names another (``amqp://...``), the store a
SQLite file unless ``--store`` names one; ``--broker-pid`` adds the broker process's CPU per claim
(from ``/proc``, so also what else uses that broker meanwhile).

    python -m benchmarks.bench_queues --claims 2000 [--broker amqp://guest:guest@127.0.0.1:5672//]
"""

from __future__ import annotations

import argparse
import inspect
import tempfile
import time
from pathlib import Path
from typing import Any

from connectors.queues import OutboxRelay, StageMessage, StageWorker, connect, declare
from edi.store import Kind, NewTransaction, OutboxMessage, Repository, make_engine, migrate
from tests.servers.proc import cpu_of

ROWS = ("translate", "outbox", "delivery", "delivery")  # per claim
GROUP_SIZE = 200


def _write(repository: Repository, claims: int) -> None:
    for _ in range(claims):
        repository.create(NewTransaction(submitter_id="clinic-a", kind=Kind.CLAIM, partner_id="payer-1"),
                          outbox=[OutboxMessage(topic, {"partner_id": "payer-1"}) for topic in ROWS])


def _worker_class(stage: str) -> type[StageWorker]:
    class Idle(StageWorker):
        group_size = GROUP_SIZE

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.cpu = 0.0
            self.calls = 0

        def handle(self, message: StageMessage) -> None:
            pass

        def handle_many(self, messages: list[StageMessage]) -> None:
            pass

        def _on_message(self, message: Any) -> None:
            started = time.thread_time()
            super()._on_message(message)
            self.cpu += time.thread_time() - started
            self.calls += 1

        def _on_messages(self, group: list[Any]) -> None:
            started = time.thread_time()
            super()._on_messages(group)
            self.cpu += time.thread_time() - started
            self.calls += 1

    Idle.stage = stage
    return Idle


def _purge(broker: str) -> None:
    with connect(broker) as connection:
        for queue, dlq in declare(connection).values():
            queue(connection.default_channel).purge()
            dlq(connection.default_channel).purge()


def one_round(claims: int, store: str, broker: str, broker_pid: int | None, relay_batch: int) -> dict[str, float]:
    repository = Repository(make_engine(store))
    _write(repository, claims)
    broker_cpu = cpu_of(broker_pid).cpu if broker_pid else 0.0
    relay_cpu = 0.0
    published = 0
    with OutboxRelay(repository, url=broker, batch_size=relay_batch) as relay:
        while True:
            started = time.thread_time()
            count = relay.relay_once()
            relay_cpu += time.thread_time() - started
            if not count:
                break
    with connect(broker) as connection:
        for stage in dict.fromkeys(ROWS):
            queue, _dlq = declare(connection, (stage,))[stage]
            published += queue(connection.default_channel).queue_declare(passive=True).message_count
    handling = run_cpu = 0.0
    calls = 0
    for stage in dict.fromkeys(ROWS):
        expected = claims * ROWS.count(stage)
        options: dict[str, Any] = {"url": broker, "prefetch": GROUP_SIZE}
        with _worker_class(stage)(repository, **options) as worker:
            started = time.thread_time()
            worker.run(limit=expected, idle_timeout=2.0, poll=0.05)
            run_cpu += time.thread_time() - started
            assert worker.handled == expected, (stage, worker.handled, expected)
            handling += worker.cpu
            calls += worker.calls
    repository.engine.dispose()
    broker_cpu = cpu_of(broker_pid).cpu - broker_cpu if broker_pid else 0.0
    return {"broker_ms": broker_cpu * 1000 / claims, "messages_per_claim": published / claims, "relay_ms": relay_cpu * 1000 / claims,
            "consumer_ms": handling * 1000 / claims, "consumer_run_ms": run_cpu * 1000 / claims,
            "handling_calls": calls}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--claims", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--broker", default=None, help="kombu URL (default: an embedded broker in a temp dir)")
    parser.add_argument("--relay-batch", type=int, default=500,
                        help="outbox rows per relay batch (the relay's 500 under a backlog; steady load "
                             "brings fewer: what came in since the last batch)")
    parser.add_argument("--broker-pid", type=int, default=None,
                        help="the broker's process (RabbitMQ's beam.smp): its CPU per claim too")
    parser.add_argument("--store", default=None, help="store URL (default: a SQLite file in a temp dir)")
    args = parser.parse_args()
    results = []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            store = args.store or f"sqlite:///{Path(tmp) / 'edi.db'}"
            broker = args.broker or f"sqla+sqlite:///{Path(tmp) / 'broker.db'}"
            migrate(store)
            _purge(broker)
            results.append(one_round(args.claims, store, broker, args.broker_pid, args.relay_batch))
    grouped = "group_size" in inspect.signature(OutboxRelay.__init__).parameters
    print(f"claims {args.claims}, broker {'embedded' if args.broker is None else args.broker.split('@')[-1]}, "
          f"{'group messages' if grouped else 'a message per row'}, relay batches of {args.relay_batch} rows")
    best = {key: min(r[key] for r in results) for key in results[0]}
    for key, value in best.items():
        print(f"  {key:18} {value:8.3f}   (rounds: {', '.join(f'{r[key]:.3f}' for r in results)})")


if __name__ == "__main__":
    main()
