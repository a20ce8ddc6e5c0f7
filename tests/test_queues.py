"""Queues on the embedded broker (kombu's SQLAlchemy transport on a SQLite file), across processes."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from pathlib import Path

import pytest
from kombu import Producer

from connectors.queues import (
    DLX,
    EXCHANGE,
    REASON_HEADER,
    OutboxRelay,
    StageMessage,
    StageWorker,
    connect,
    dead_letter_queue,
    declare,
    stage_queue,
)
from edi.store import (
    ALL_SUBMITTERS,
    Kind,
    NewTransaction,
    OutboxMessage,
    Repository,
    State,
    make_engine,
    migrate,
)

SPAWN = multiprocessing.get_context("spawn")
LEASE = {"visibility_timeout": 2.0}


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    store = f"sqlite:///{tmp_path / 'edi.db'}"
    migrate(store)
    return {"store": store, "broker": f"sqla+sqlite:///{tmp_path / 'broker.db'}", "dir": str(tmp_path)}


def repository(store: str) -> Repository:
    return Repository(make_engine(store))


def create(repo: Repository, n: int, topic: str = "translate") -> list[str]:
    ids = []
    for _ in range(n):
        result = repo.create(
            NewTransaction(submitter_id="clinic-a", kind=Kind.CLAIM, partner_id="payer-1"),
            outbox=[OutboxMessage(topic, {"partner_id": "payer-1"})],
        )
        ids.append(result.transaction.id)
    return ids


def drain(broker: str, queue_name: str, *, wait: float = 0.0) -> list[tuple[dict, dict]]:
    """Every message waiting on a queue, acked, as (body, headers)."""
    found: list[tuple[dict, dict]] = []
    with connect(broker, transport_options=LEASE) as conn:
        declare(conn)
        stage = queue_name.removesuffix(".dlq")
        queue = (dead_letter_queue(stage) if queue_name.endswith(".dlq") else stage_queue(stage))(conn.default_channel)
        deadline = time.monotonic() + wait
        while True:
            message = queue.get(no_ack=False, accept=["json"])
            if message is None:
                if time.monotonic() >= deadline:
                    return found
                time.sleep(0.1)
                continue
            try:
                body = message.decode()
            except Exception:
                body = {"raw": message.body}
            found.append((body, dict(message.headers or {})))
            message.ack()


# -- processes (module level: spawn imports them) ---------------------------------------------


def run_relay(store: str, broker: str) -> None:
    with OutboxRelay(repository(store), url=broker, transport_options=LEASE, batch_size=7) as relay:
        relay.run(until_empty=True)


class Validate(StageWorker):
    stage = "translate"

    def handle(self, message: StageMessage) -> None:
        record = self.repository.get(message.transaction_id, submitter_id=ALL_SUBMITTERS)
        if record is not None and record.state is State.RECEIVED:  # idempotent
            self.repository.transition(message.transaction_id, State.VALIDATED, actor="translate")


class Hang(StageWorker):
    stage = "translate"

    def handle(self, message: StageMessage) -> None:
        Path(self.marker).write_text(message.transaction_id)
        time.sleep(600)


def run_worker(store: str, broker: str, limit: int, idle: float) -> None:
    with Validate(repository(store), url=broker, transport_options=LEASE) as worker:
        worker.run(limit=limit, idle_timeout=idle, poll=0.2)


def run_hanging_worker(store: str, broker: str, marker: str) -> None:
    with Hang(repository(store), url=broker, transport_options=LEASE) as worker:
        worker.marker = marker
        worker.run(poll=0.2)


def publish_poison(broker: str, transaction_id: str) -> None:
    with connect(broker, transport_options=LEASE) as conn:
        declare(conn)
        producer = Producer(conn.default_channel, exchange=EXCHANGE)
        producer.publish(b"{not json", routing_key="translate", content_type="application/json",
                         content_encoding="utf-8")
        producer.publish({"transaction_id": "no-such-transaction", "stage": "translate"},
                         routing_key="translate", serializer="json")
        producer.publish({"transaction_id": transaction_id, "stage": "translate"},
                         routing_key="translate", serializer="json")


def start(target, *args) -> multiprocessing.process.BaseProcess:
    process = SPAWN.Process(target=target, args=args)
    process.start()
    return process


def finish(process: multiprocessing.process.BaseProcess, timeout: float = 30) -> None:
    process.join(timeout)
    assert process.exitcode == 0, f"{process.name} exit code {process.exitcode}"


# -- tests ------------------------------------------------------------------------------------


def test_relay_publishes_each_outbox_row_once_to_its_stage_queue(env: dict[str, str]) -> None:
    repo = repository(env["store"])
    translate = create(repo, 10, "translate")
    transport = create(repo, 3, "transport.claim")

    finish(start(run_relay, env["store"], env["broker"]))
    assert repo.pending_outbox() == []
    finish(start(run_relay, env["store"], env["broker"]))  # nothing left to publish again

    on_translate = drain(env["broker"], "translate")
    on_transport = drain(env["broker"], "transport")
    assert sorted(body["transaction_id"] for body, _ in on_translate) == sorted(translate)
    assert sorted(body["transaction_id"] for body, _ in on_transport) == sorted(transport)
    body = on_transport[0][0]
    assert body["stage"] == "transport" and body["topic"] == "transport.claim"
    assert body["partner_id"] == "payer-1" and body["message_id"].startswith("outbox-")
    assert len({b["message_id"] for b, _ in on_translate}) == 10


def test_consumer_acks_after_handling(env: dict[str, str]) -> None:
    repo = repository(env["store"])
    ids = create(repo, 5)
    finish(start(run_relay, env["store"], env["broker"]))
    finish(start(run_worker, env["store"], env["broker"], 5, 10.0))

    assert {repo.require(i, submitter_id=ALL_SUBMITTERS).state for i in ids} == {State.VALIDATED}
    time.sleep(2.5)  # past the lease: an unacked message would be visible again
    assert drain(env["broker"], "translate") == []
    assert drain(env["broker"], "translate.dlq") == []


def test_poison_messages_land_on_the_dlq_with_their_reason(env: dict[str, str]) -> None:
    repo = repository(env["store"])
    (good,) = create(repo, 1)
    finish(start(publish_poison, env["broker"], good))
    finish(start(run_worker, env["store"], env["broker"], 3, 10.0))

    assert repo.require(good, submitter_id=ALL_SUBMITTERS).state is State.VALIDATED
    dead = drain(env["broker"], "translate.dlq")
    reasons = sorted(headers[REASON_HEADER] for _, headers in dead)
    assert reasons == ["undecodable body (DecodeError)", "unknown transaction"]
    assert drain(env["broker"], "translate") == []
    assert DLX.name == "edi.dlx"


def test_killed_consumer_message_is_redelivered_to_the_next(env: dict[str, str]) -> None:
    repo = repository(env["store"])
    (tid,) = create(repo, 1)
    finish(start(run_relay, env["store"], env["broker"]))

    marker = Path(env["dir"]) / "taken"
    hanging = start(run_hanging_worker, env["store"], env["broker"], str(marker))
    deadline = time.monotonic() + 30
    while not marker.exists():
        assert time.monotonic() < deadline, "the first consumer never got the message"
        time.sleep(0.05)
    assert marker.read_text() == tid
    os.kill(hanging.pid, signal.SIGKILL)
    hanging.join(10)
    assert hanging.exitcode == -signal.SIGKILL
    assert repo.require(tid, submitter_id=ALL_SUBMITTERS).state is State.RECEIVED

    finish(start(run_worker, env["store"], env["broker"], 1, 15.0))
    assert repo.require(tid, submitter_id=ALL_SUBMITTERS).state is State.VALIDATED
    assert drain(env["broker"], "translate", wait=0) == []


class Flaky(StageWorker):
    stage = "translate"
    calls = 0

    def handle(self, message: StageMessage) -> None:
        type(self).calls += 1
        raise RuntimeError("partner down")


def test_failing_handler_is_retried_then_dead_lettered(env: dict[str, str]) -> None:
    repo = repository(env["store"])
    create(repo, 1)
    finish(start(run_relay, env["store"], env["broker"]))
    with Flaky(repo, url=env["broker"], transport_options=LEASE, max_retries=2) as worker:
        worker.run(limit=1, idle_timeout=5.0, poll=0.1)
    assert Flaky.calls == 3 and worker.dead_lettered == 1
    ((_, headers),) = drain(env["broker"], "translate.dlq")
    assert headers[REASON_HEADER] == "retries exhausted: RuntimeError"
    assert headers["x-edi-retries"] == 2
