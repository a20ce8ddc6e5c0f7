"""The stage queues across processes, on both brokers the pipeline supports.

Every broker-level test runs twice: on the embedded broker (kombu's SQLAlchemy transport on a
SQLite file, ``LeasedSqlaTransport``) and on a real RabbitMQ node (``tests/servers/rabbitmq.py``:
durable queues with dead-letter arguments, publisher confirms, manual acks). Tests of one
broker's own behaviour (the embedded lease, RabbitMQ's own dead-lettering and restarts) run on
that broker only.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from kombu import Connection, Producer

from connectors.queues import (
    DLX,
    EXCHANGE,
    REASON_HEADER,
    RETRIES_HEADER,
    STAGES,
    OutboxRelay,
    StageMessage,
    StageWorker,
    connect,
    declare,
)
from connectors.queues.groups import GROUP_HEADER, members
from connectors.queues.topology import routing_for, supports_dead_letter_arguments
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

if TYPE_CHECKING:
    from tests.servers.rabbitmq import RabbitMQServer

pytest_plugins = ("tests.servers.rabbitmq",)

SPAWN = multiprocessing.get_context("spawn")
LEASE = 2.0  # the embedded broker's visibility timeout in these tests
EMBEDDED, RABBITMQ = "embedded", "rabbitmq"


def options_for(broker: str) -> dict[str, Any]:
    """Transport options: a short lease on the embedded broker; RabbitMQ takes connect()'s."""
    return {"visibility_timeout": LEASE} if broker.startswith("sqla+") else {}


def purge_all(url: str) -> None:
    """Empty every stage queue and DLQ (the RabbitMQ node lives for the whole session)."""
    with connect(url) as conn:
        for queue, dlq in declare(conn).values():
            queue(conn.default_channel).purge()
            dlq(conn.default_channel).purge()


def _env(tmp_path: Path, kind: str, broker: str) -> dict[str, str]:
    store = f"sqlite:///{tmp_path / 'edi.db'}"
    migrate(store)
    return {"store": store, "broker": broker, "dir": str(tmp_path), "kind": kind}


@pytest.fixture(params=[EMBEDDED, RABBITMQ])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """A fresh store, and an empty broker of each kind."""
    if request.param == EMBEDDED:
        return _env(tmp_path, EMBEDDED, f"sqla+sqlite:///{tmp_path / 'broker.db'}")
    url = request.getfixturevalue("rabbitmq_url")
    purge_all(url)
    return _env(tmp_path, RABBITMQ, url)


@pytest.fixture
def embedded_env(tmp_path: Path) -> dict[str, str]:
    return _env(tmp_path, EMBEDDED, f"sqla+sqlite:///{tmp_path / 'broker.db'}")


@pytest.fixture
def rabbitmq_env(tmp_path: Path, rabbitmq_url: str) -> dict[str, str]:
    purge_all(rabbitmq_url)
    return _env(tmp_path, RABBITMQ, rabbitmq_url)


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


def drain(broker: str, queue_name: str, *, wait: float = 0.0, unpack: bool = True) -> list[tuple[dict, dict]]:
    """Every message waiting on a queue, acked, as (body, headers); a group message as its
    members (each with the group's headers) unless ``unpack`` is false."""
    found: list[tuple[dict, dict]] = []
    with connect(broker, transport_options=options_for(broker)) as conn:
        declare(conn)
        stage = queue_name.removesuffix(".dlq")
        stage_q, dlq = routing_for(conn, stage)  # RabbitMQ: the arguments must match the declared queue
        queue = (dlq if queue_name.endswith(".dlq") else stage_q)(conn.default_channel)
        deadline = time.monotonic() + wait
        while True:
            message = queue.get(no_ack=False, accept=["json"])
            if message is None:
                if time.monotonic() >= deadline:
                    return found
                time.sleep(0.1)
                continue
            headers = dict(message.headers or {})
            try:
                body = message.decode()
            except Exception:
                body = {"raw": message.body}
            bodies = members(body, headers) if unpack and "raw" not in body else [body]
            found.extend((member, headers) for member in bodies or [body])
            message.ack()


# -- processes (module level: spawn imports them) ---------------------------------------------


def run_relay(store: str, broker: str, group_size: int = 200) -> None:
    with OutboxRelay(repository(store), url=broker, transport_options=options_for(broker), batch_size=7,
                     group_size=group_size) as relay:
        relay.run(until_empty=True)


class Validate(StageWorker):
    stage = "translate"
    seen: list[StageMessage]

    def handle(self, message: StageMessage) -> None:
        self.seen = [*getattr(self, "seen", []), message]
        record = self.repository.get(message.transaction_id, submitter_id=ALL_SUBMITTERS)
        if record is not None and record.state is State.RECEIVED:  # idempotent
            self.repository.transition(message.transaction_id, State.VALIDATED, actor="translate")


class Hang(StageWorker):
    stage = "translate"

    def handle(self, message: StageMessage) -> None:
        Path(self.marker).write_text(message.transaction_id)
        time.sleep(600)


def run_worker(store: str, broker: str, limit: int, idle: float) -> None:
    with Validate(repository(store), url=broker, transport_options=options_for(broker)) as worker:
        worker.run(limit=limit, idle_timeout=idle, poll=0.2)


def run_hanging_worker(store: str, broker: str, marker: str) -> None:
    with Hang(repository(store), url=broker, transport_options=options_for(broker)) as worker:
        worker.marker = marker
        worker.run(poll=0.2)


def publish_poison(broker: str, transaction_id: str) -> None:
    with connect(broker, transport_options=options_for(broker)) as conn:
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
    assert all(headers.get(GROUP_HEADER, 0) > 1 for _, headers in on_translate)  # packed: 7 and 3 rows
    assert sorted(body["transaction_id"] for body, _ in on_translate) == sorted(translate)
    assert sorted(body["transaction_id"] for body, _ in on_transport) == sorted(transport)
    body = on_transport[0][0]
    assert body["stage"] == "transport" and body["topic"] == "transport.claim"
    assert body["partner_id"] == "payer-1" and body["message_id"].startswith("outbox-")
    assert len({b["message_id"] for b, _ in on_translate}) == 10


class _CountingRelay(OutboxRelay):
    polls = 0

    def relay_once(self) -> int:
        published = super().relay_once()
        self.polls += 1
        return published


def enqueue_elsewhere(store: str) -> None:
    """Another process, without a relay of its own, commits an outbox row."""
    repository(store).enqueue([OutboxMessage("translate", {"partner_id": "payer-2"})])


def _relaying(env: dict[str, str], poll_interval: float) -> tuple[_CountingRelay, threading.Thread]:
    relay = _CountingRelay(repository(env["store"]), url=env["broker"], transport_options=options_for(env["broker"]))
    thread = threading.Thread(target=relay.run, kwargs={"poll_interval": poll_interval}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while relay.polls == 0:  # its first (empty) poll is over: it is waiting, or about to
        assert time.monotonic() < deadline, "the relay never polled"
        time.sleep(0.02)
    return relay, thread


def _published_within(repo: Repository, seconds: float) -> float:
    began = time.monotonic()
    while repo.pending_outbox():
        assert time.monotonic() - began < seconds, f"outbox row not published within {seconds} s"
        time.sleep(0.02)
    return time.monotonic() - began


def test_an_idle_relay_publishes_this_process_commits_at_once(embedded_env: dict[str, str]) -> None:
    """An idle relay waits between polls; a commit of outbox rows in its own process ends the
    wait (the store's outbox bell) instead of leaving the row for the next poll, a minute away."""
    repo = repository(embedded_env["store"])
    relay, thread = _relaying(embedded_env, poll_interval=60)
    try:
        time.sleep(0.3)
        assert relay.polls == 1  # idle: waiting, not polling
        ids = create(repo, 2)
        _published_within(repo, 10)
        assert relay.polls >= 2
    finally:
        began = time.monotonic()
        relay.stop()
        thread.join(10)
        relay.close()
    assert not thread.is_alive() and time.monotonic() - began < 10  # stop ends the wait too
    assert sorted(body["transaction_id"] for body, _ in drain(embedded_env["broker"], "translate")) == sorted(ids)


def test_an_idle_relay_polls_for_rows_other_processes_commit(embedded_env: dict[str, str]) -> None:
    """Rows committed by a process without a relay ring no bell here: the poll finds them."""
    repo = repository(embedded_env["store"])
    relay, thread = _relaying(embedded_env, poll_interval=0.3)
    try:
        rings = repo.outbox_bell.rings
        finish(start(enqueue_elsewhere, embedded_env["store"]))
        _published_within(repo, 10)
        assert repo.outbox_bell.rings == rings
    finally:
        relay.stop()
        thread.join(10)
        relay.close()
    assert [body["partner_id"] for body, _ in drain(embedded_env["broker"], "translate")] == ["payer-2"]


def test_consumer_acks_after_handling(env: dict[str, str]) -> None:
    repo = repository(env["store"])
    ids = create(repo, 5)
    finish(start(run_relay, env["store"], env["broker"]))
    finish(start(run_worker, env["store"], env["broker"], 5, 10.0))

    assert {repo.require(i, submitter_id=ALL_SUBMITTERS).state for i in ids} == {State.VALIDATED}
    if env["kind"] == EMBEDDED:
        time.sleep(LEASE + 0.5)  # past the lease: an unacked message would be visible again
    # (RabbitMQ puts unacked messages back as soon as the worker's connection closed)
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
    assert all(headers["x-edi-stage"] == "translate" for _, headers in dead)
    raw = [body["raw"] for body, _ in dead if "raw" in body]  # the body as it arrived
    assert [r.encode() if isinstance(r, str) else r for r in raw] == [b"{not json"]
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
    os.kill(hanging.pid, signal.SIGKILL)  # mid-message: never acked
    hanging.join(10)
    assert hanging.exitcode == -signal.SIGKILL
    assert repo.require(tid, submitter_id=ALL_SUBMITTERS).state is State.RECEIVED

    # embedded: once the lease expires; RabbitMQ: as soon as it saw the connection drop
    with Validate(repo, url=env["broker"], transport_options=options_for(env["broker"])) as worker:
        assert worker.run(limit=1, idle_timeout=15.0, poll=0.2) == 1
    assert repo.require(tid, submitter_id=ALL_SUBMITTERS).state is State.VALIDATED
    (seen,) = worker.seen
    assert seen.transaction_id == tid
    if env["kind"] == RABBITMQ:
        assert seen.redelivered  # the broker says it had handed this message out before
    assert drain(env["broker"], "translate", wait=0) == []
    assert drain(env["broker"], "translate.dlq") == []


class Flaky(StageWorker):
    stage = "translate"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls = 0

    def handle(self, message: StageMessage) -> None:
        self.calls += 1
        raise RuntimeError("partner down")


def test_failing_handler_is_retried_then_dead_lettered(env: dict[str, str]) -> None:
    repo = repository(env["store"])
    create(repo, 1)
    finish(start(run_relay, env["store"], env["broker"]))
    with Flaky(repo, url=env["broker"], transport_options=options_for(env["broker"]), max_retries=2) as worker:
        worker.run(limit=1, idle_timeout=5.0, poll=0.1)
    assert worker.calls == 3 and worker.dead_lettered == 1
    ((_, headers),) = drain(env["broker"], "translate.dlq")
    assert headers[REASON_HEADER] == "retries exhausted: RuntimeError"
    assert headers[RETRIES_HEADER] == 2
    assert drain(env["broker"], "translate") == []


class FailsFirstTime(StageWorker):
    """Fails every message once (a retry published while other deliveries are in flight)."""

    stage = "translate"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.retries_seen: dict[str, list[int]] = {}
        self.depth = 0
        self.max_depth = 0

    def _on_message(self, message: Any) -> None:  # one delivery, including its retry publish
        self.depth += 1
        self.max_depth = max(self.max_depth, self.depth)
        try:
            super()._on_message(message)
        finally:
            self.depth -= 1

    def handle(self, message: StageMessage) -> None:
        self.retries_seen.setdefault(message.transaction_id, []).append(message.retries)
        if message.retries == 0:
            raise ConnectionError("partner hiccup")
        self.repository.transition(message.transaction_id, State.VALIDATED, actor="translate")


def test_prefetch_above_one_handles_every_message_once(env: dict[str, str]) -> None:
    repo = repository(env["store"])
    ids = create(repo, 20)
    finish(start(run_relay, env["store"], env["broker"]))
    with FailsFirstTime(repo, url=env["broker"], transport_options=options_for(env["broker"]),
                        prefetch=10) as worker:
        worker.run(limit=40, idle_timeout=10.0, poll=0.1)  # 20 retried + 20 handled
    assert worker.handled == 20 and worker.dead_lettered == 0
    assert worker.max_depth == 1  # never one delivery inside another (deliveries during a confirm wait)
    assert worker.retries_seen == {tid: [0, 1] for tid in ids}
    assert {repo.require(i, submitter_id=ALL_SUBMITTERS).state for i in ids} == {State.VALIDATED}
    if env["kind"] == EMBEDDED:
        time.sleep(LEASE + 0.5)
    assert drain(env["broker"], "translate") == []
    assert drain(env["broker"], "translate.dlq") == []


def test_worker_leaving_early_gives_prefetched_messages_back(env: dict[str, str]) -> None:
    repo = repository(env["store"])
    ids = create(repo, 6)
    finish(start(run_relay, env["store"], env["broker"], 1))  # a message per row, as an older relay sent
    with Validate(repo, url=env["broker"], transport_options=options_for(env["broker"]), prefetch=5) as worker:
        assert worker.run(limit=2, idle_timeout=10.0, poll=0.1) == 2
        # still connected: what it had fetched beyond its limit is back on the queue, now
        left = drain(env["broker"], "translate", wait=2.0)
    assert sorted(body["transaction_id"] for body, _ in left) == sorted(
        i for i in ids if repo.require(i, submitter_id=ALL_SUBMITTERS).state is State.RECEIVED
    )
    assert len(left) == 4


# -- the embedded broker only -----------------------------------------------------------------


def test_embedded_lease_expires_and_the_message_is_seen_again(embedded_env: dict[str, str]) -> None:
    repo = repository(embedded_env["store"])
    (tid,) = create(repo, 1)
    finish(start(run_relay, embedded_env["store"], embedded_env["broker"]))
    broker = embedded_env["broker"]
    with connect(broker, transport_options=options_for(broker)) as holder:
        queue, _ = routing_for(holder, "translate")
        held = queue(holder.default_channel).get(no_ack=False, accept=["json"])
        assert held is not None and held.decode()["transaction_id"] == tid
        assert drain(broker, "translate") == []  # leased: hidden from everybody else
        time.sleep(LEASE + 0.5)
        ((body, _),) = drain(broker, "translate")  # the lease ran out: visible again
        assert body["transaction_id"] == tid
    assert not supports_dead_letter_arguments(connect(broker))


def test_embedded_messages_leased_together_are_given_back_at_once(embedded_env: dict[str, str]) -> None:
    """A consumer with prefetch leases several messages in one transaction; those it never handed
    to its handler are visible again as soon as it stops, not after their lease."""
    repo = repository(embedded_env["store"])
    ids = create(repo, 6)
    finish(start(run_relay, embedded_env["store"], embedded_env["broker"], 1))  # a message per row
    broker = embedded_env["broker"]
    with Validate(repo, url=broker, transport_options=options_for(broker), prefetch=5) as worker:
        assert worker.run(limit=1, idle_timeout=10.0, poll=0.1) == 1
        left = drain(broker, "translate")  # no wait: well within the lease
    handled = [i for i in ids if repo.require(i, submitter_id=ALL_SUBMITTERS).state is not State.RECEIVED]
    assert len(handled) == 1
    assert sorted(body["transaction_id"] for body, _ in left) == sorted(set(ids) - set(handled))


class SlowGroups(StageWorker):
    """Handles each group for longer than the embedded broker's lease, recording what it got."""

    stage = "translate"
    group_size = 10

    def __init__(self, *args: Any, seen: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seen = seen

    def handle_many(self, messages: list[StageMessage]) -> None:
        self.seen.extend(m.transaction_id for m in messages)
        time.sleep(LEASE * 2)  # past the lease twice: only renewing keeps the group hidden

    def handle(self, message: StageMessage) -> None:
        self.handle_many([message])


def test_embedded_groups_outliving_the_lease_are_handled_by_one_worker(embedded_env: dict[str, str]) -> None:
    """The leases of a group in hand, and of the deliveries fetched behind it, are renewed while
    the handler runs: a second worker on the same queue never gets them too."""
    import threading

    repo = repository(embedded_env["store"])
    ids = create(repo, 12)
    finish(start(run_relay, embedded_env["store"], embedded_env["broker"]))
    broker = embedded_env["broker"]
    seen: list[str] = []
    workers = [SlowGroups(repo, url=broker, transport_options=options_for(broker), prefetch=10, seen=seen)
               for _ in range(2)]
    threads = [threading.Thread(target=w.run, kwargs={"idle_timeout": LEASE * 3, "poll": 0.1}) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    for worker in workers:
        worker.close()
    assert sorted(seen) == sorted(ids)  # each once, none handed to the other worker as well
    assert sum(w.handled for w in workers) == 12
    assert drain(broker, "translate") == []


# -- RabbitMQ only ----------------------------------------------------------------------------


def test_rabbitmq_queues_carry_the_dead_letter_arguments(rabbitmq_env: dict[str, str]) -> None:
    """A message the broker itself dead-letters (rejected without requeue) lands on the DLQ."""
    url = rabbitmq_env["broker"]
    with connect(url) as conn:
        assert supports_dead_letter_arguments(conn)
        assert conn.transport_options["confirm_publish"] is True
        declared = declare(conn)
        assert set(declared) == set(STAGES)
        queue, _dlq = declared["translate"]
        assert queue.durable and queue.queue_arguments == {
            "x-dead-letter-exchange": "edi.dlx", "x-dead-letter-routing-key": "translate.dlq",
        }
        Producer(conn.default_channel, exchange=EXCHANGE).publish(
            {"transaction_id": "t-1", "stage": "translate"}, routing_key="translate", serializer="json",
        )
        message = queue(conn.default_channel).get(no_ack=False, accept=["json"])
        assert message is not None
        message.reject(requeue=False)
    ((body, headers),) = drain(url, "translate.dlq", wait=2.0)
    assert body == {"transaction_id": "t-1", "stage": "translate"}
    (death,) = headers["x-death"]
    assert death["queue"] == "translate" and death["reason"] == "rejected"


def test_rabbitmq_messages_survive_a_broker_crash(rabbitmq_env: dict[str, str],
                                                 rabbitmq_server: RabbitMQServer) -> None:
    """Durable queues and persistent, confirmed messages outlive ``kill -9`` of the node; the
    relay's connection reconnects by itself."""
    repo = repository(rabbitmq_env["store"])
    url = rabbitmq_env["broker"]
    first = create(repo, 3)
    with OutboxRelay(repo, url=url, batch_size=10) as relay:
        assert relay.run(until_empty=True) == 3
        rabbitmq_server.restart(hard=True)
        second = create(repo, 2)
        assert relay.run(until_empty=True) == 2  # publish retries: reconnect, then confirm
    assert repo.pending_outbox() == []
    finish(start(run_worker, rabbitmq_env["store"], url, 5, 10.0))
    assert {repo.require(i, submitter_id=ALL_SUBMITTERS).state for i in first + second} == {State.VALIDATED}
    assert drain(url, "translate") == []


def test_rabbitmq_broker_url_from_the_environment(rabbitmq_env: dict[str, str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDI_BROKER_URL", rabbitmq_env["broker"])
    with connect() as conn:
        assert isinstance(conn, Connection) and conn.transport.driver_type == "amqp"
        conn.ensure_connection(max_retries=1)
        assert set(declare(conn)) == set(STAGES)


# -- handling in groups ---------------------------------------------------------------------------


class Grouped(StageWorker):
    """Handles what it has fetched in groups; the group with ``poison_id`` in it fails as a whole."""

    stage = "translate"
    group_size = 50

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.groups: list[int] = []
        self.alone: list[str] = []
        self.poison_id: str | None = None

    def handle_many(self, messages: list[StageMessage]) -> None:
        self.groups.append(len(messages))
        if any(m.transaction_id == self.poison_id for m in messages):
            raise ConnectionError("one of them is bad")
        moves = [m.transaction_id for m in messages
                 if self.repository.require(m.transaction_id, submitter_id=ALL_SUBMITTERS).state is State.RECEIVED]
        self.repository.transition_many(moves, State.VALIDATED, actor="translate")

    def handle(self, message: StageMessage) -> None:
        self.alone.append(message.transaction_id)
        if message.transaction_id == self.poison_id:
            raise ConnectionError("still bad")
        self.repository.transition(message.transaction_id, State.VALIDATED, actor="translate")


def test_group_handling_acks_every_message_once_and_isolates_a_failing_one(env: dict[str, str]) -> None:
    repo = repository(env["store"])
    ids = create(repo, 30)
    finish(start(run_relay, env["store"], env["broker"]))
    with Grouped(repo, url=env["broker"], transport_options=options_for(env["broker"]), prefetch=50,
                 max_retries=1) as worker:
        worker.poison_id = ids[7]
        worker.run(limit=31, idle_timeout=10.0, poll=0.1)  # 30 first deliveries + the poison one's retry
    assert max(worker.groups) > 1  # handled together, not one by one
    assert worker.dead_lettered == 1 and worker.handled == 29
    # the group that held the bad one was handled again one by one; only the bad one was retried
    assert worker.alone.count(ids[7]) == 2
    assert all(worker.alone.count(i) <= 1 for i in ids if i != ids[7])
    states = {i: repo.require(i, submitter_id=ALL_SUBMITTERS).state for i in ids}
    assert states.pop(ids[7]) is State.RECEIVED
    assert set(states.values()) == {State.VALIDATED}
    if env["kind"] == EMBEDDED:
        time.sleep(LEASE + 0.5)
    assert drain(env["broker"], "translate") == []
    ((_, headers),) = drain(env["broker"], "translate.dlq")
    assert headers[REASON_HEADER] == "retries exhausted: ConnectionError"
