"""Group messages on both brokers: the relay packs a batch's rows for one stage into one message,
the consumer unpacks it, and retries and dead letters stay per transaction.

Each test runs on the embedded broker and on a real RabbitMQ node, like ``test_queues``.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from kombu import Producer

from connectors.queues import (
    EXCHANGE,
    REASON_HEADER,
    RETRIES_HEADER,
    OutboxRelay,
    PoisonMessageError,
    StageMessage,
    StageWorker,
    connect,
    declare,
)
from connectors.queues.groups import GROUP_HEADER, member_count, members, pack
from connectors.queues.topology import routing_for
from edi.store import ALL_SUBMITTERS, State
from tests.test_queues import (
    EMBEDDED,
    LEASE,
    RABBITMQ,
    _env,
    create,
    drain,
    options_for,
    purge_all,
    repository,
    start,
)

pytest_plugins = ("tests.servers.rabbitmq",)


@pytest.fixture(params=[EMBEDDED, RABBITMQ])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """A fresh store, and an empty broker of each kind."""
    if request.param == EMBEDDED:
        return _env(tmp_path, EMBEDDED, f"sqla+sqlite:///{tmp_path / 'broker.db'}")
    url = request.getfixturevalue("rabbitmq_url")
    purge_all(url)
    return _env(tmp_path, RABBITMQ, url)


def relay(setup: dict[str, str], **options: Any) -> int:
    with OutboxRelay(repository(setup["store"]), url=setup["broker"],
                     transport_options=options_for(setup["broker"]), **options) as relay:
        return relay.run(until_empty=True)


def waiting(broker: str, stage: str) -> int:
    """Messages (deliveries, not transactions) waiting on a stage queue, without taking them."""
    with connect(broker, transport_options=options_for(broker)) as conn:
        declare(conn)
        queue, _dlq = routing_for(conn, stage)
        return queue(conn.default_channel).queue_declare(passive=True).message_count


def take(broker: str, queue_name: str) -> list[tuple[Any, dict[str, Any], str | None]]:
    """Every message on a queue as it is: (body, headers, message_id property), acked."""
    found = []
    with connect(broker, transport_options=options_for(broker)) as conn:
        declare(conn)
        stage_q, dlq = routing_for(conn, queue_name.removesuffix(".dlq"))
        queue = (dlq if queue_name.endswith(".dlq") else stage_q)(conn.default_channel)
        while (message := queue.get(no_ack=False, accept=["json"])) is not None:
            found.append((message.decode(), dict(message.headers or {}), message.properties.get("message_id")))
            message.ack()
    return found


def settle_lease(setup: dict[str, str]) -> None:
    if setup["kind"] == EMBEDDED:
        time.sleep(LEASE + 0.5)  # past the lease: an unacked message would be visible again


def validated_once(repo: Any, ids: list[str]) -> bool:
    """Each transaction moved to validated, exactly once (an idempotent handler seen twice)."""
    return all([e.to_state for e in repo.history(i, submitter_id=ALL_SUBMITTERS)].count(State.VALIDATED) == 1
               for i in ids)


class Groups(StageWorker):
    """Validates in groups (idempotently); ``fail`` ids make a group fail, and fail alone while
    their retry count is below ``fail_until``; ``poison`` ids are refused for good."""

    stage = "translate"
    group_size = 10

    def __init__(self, *args: Any, fail: tuple[str, ...] = (), fail_until: int = 1, poison: tuple[str, ...] = (),
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fail, self.fail_until, self.poison = set(fail), fail_until, set(poison)
        self.groups: list[list[str]] = []
        self.redelivered: list[bool] = []
        self.alone: list[tuple[str, int, str | None]] = []  # (transaction, retries, message_id)

    def _validate(self, ids: list[str]) -> None:
        found = self.repository.get_many(ids)
        moves = [i for i in ids if found[i].state is State.RECEIVED]
        if moves:
            self.repository.transition_many(moves, State.VALIDATED, actor="translate")

    def handle_many(self, messages: list[StageMessage]) -> None:
        self.groups.append([m.transaction_id for m in messages])
        self.redelivered.extend(m.redelivered for m in messages)
        if any(m.transaction_id in self.fail | self.poison for m in messages):
            raise ConnectionError("one of them is bad")
        self._validate([m.transaction_id for m in messages])

    def handle(self, message: StageMessage) -> None:
        self.alone.append((message.transaction_id, message.retries, message.fields.get("message_id")))
        if message.transaction_id in self.poison:
            raise PoisonMessageError("payer refuses it")
        if message.transaction_id in self.fail and message.retries < self.fail_until:
            raise ConnectionError("partner hiccup")
        self._validate([message.transaction_id])


def test_a_batch_goes_as_one_group_message_and_each_member_is_handled(env: dict[str, str]) -> None:
    repo = repository(env["store"])
    ids = create(repo, 25)
    assert relay(env, batch_size=100) == 25  # rows, not messages
    assert waiting(env["broker"], "translate") == 1
    with Groups(repo, url=env["broker"], transport_options=options_for(env["broker"]), prefetch=10) as worker:
        assert worker.run(limit=25, idle_timeout=10.0, poll=0.1) == 25
    assert [len(g) for g in worker.groups] == [10, 10, 5]  # one message, handled group_size at a time
    assert [i for g in worker.groups for i in g] == ids  # in outbox order
    assert worker.alone == [] and worker.handled == 25
    assert {repo.require(i, submitter_id=ALL_SUBMITTERS).state for i in ids} == {State.VALIDATED}
    settle_lease(env)
    assert drain(env["broker"], "translate") == [] and drain(env["broker"], "translate.dlq") == []


def test_the_relay_packs_at_most_group_size_and_a_lone_row_goes_as_a_single_message(
        env: dict[str, str]) -> None:
    repo = repository(env["store"])
    ids = create(repo, 7)
    (transport,) = create(repo, 1, "transport.claim")
    relay(env, batch_size=100, group_size=3)
    on_translate = take(env["broker"], "translate")
    assert [h.get(GROUP_HEADER) for _b, h, _m in on_translate] == [3, 3, None]
    assert [m["transaction_id"] for b, _h, _m in on_translate[:2] for m in b["messages"]] == ids[:6]
    assert on_translate[2][0]["transaction_id"] == ids[6]  # a run of one: the single message of old
    assert on_translate[2][2] == on_translate[2][0]["message_id"]
    first, second = on_translate[0][2], on_translate[1][2]
    assert first.startswith("outbox-group-") and first != second
    ((body, headers, message_id),) = take(env["broker"], "transport")
    assert body["transaction_id"] == transport and GROUP_HEADER not in headers
    assert message_id == body["message_id"] and message_id.startswith("outbox-")


def test_a_failing_member_is_retried_alone_and_its_neighbours_are_not(env: dict[str, str]) -> None:
    repo = repository(env["store"])
    ids = create(repo, 8)
    relay(env, batch_size=100)
    bad = ids[3]
    with Groups(repo, url=env["broker"], transport_options=options_for(env["broker"]), prefetch=10,
                fail=(bad,)) as worker:
        assert worker.run(limit=7, idle_timeout=10.0, poll=0.1) == 7  # the seven good ones
    assert worker.groups == [ids]
    assert [a[0] for a in worker.alone] == ids  # the failed group, one by one
    settle_lease(env)
    # the group message is gone; its failing member waits as a single message, retry count 1,
    # with the message_id of its outbox row
    ((body, headers, message_id),) = take(env["broker"], "translate")
    assert body["transaction_id"] == bad and GROUP_HEADER not in headers and headers[RETRIES_HEADER] == 1
    member_id = dict((a[0], a[2]) for a in worker.alone)[bad]
    assert message_id == body["message_id"] == member_id and member_id.startswith("outbox-")
    states = {i: repo.require(i, submitter_id=ALL_SUBMITTERS).state for i in ids}
    assert states.pop(bad) is State.RECEIVED and set(states.values()) == {State.VALIDATED}

    # published again as it was taken, the retry is handled alone and succeeds
    with connect(env["broker"], transport_options=options_for(env["broker"])) as conn:
        declare(conn)
        Producer(conn.default_channel, exchange=EXCHANGE).publish(
            body, routing_key="translate", serializer="json", headers=headers, message_id=message_id)
    with Groups(repo, url=env["broker"], transport_options=options_for(env["broker"]), prefetch=10,
                fail=(bad,)) as again:
        assert again.run(limit=1, idle_timeout=10.0, poll=0.1) == 1
    assert again.alone == [(bad, 1, member_id)] and again.groups == []
    assert validated_once(repo, ids)
    settle_lease(env)
    assert drain(env["broker"], "translate") == [] and drain(env["broker"], "translate.dlq") == []


def publish_group(broker: str, bodies: list[dict[str, Any]], *, count: int | None = None) -> None:
    """A group message as the relay sends it (``count`` overrides the header)."""
    (packed,) = pack("translate", [(m.get("message_id", "x"), json.dumps(m)) for m in bodies])
    with connect(broker, transport_options=options_for(broker)) as conn:
        declare(conn)
        Producer(conn.default_channel, exchange=EXCHANGE).publish(
            packed.text, routing_key="translate", content_type="application/json", content_encoding="utf-8",
            headers={"x-edi-stage": "translate", GROUP_HEADER: count or packed.count},
            message_id=packed.message_id)


def test_poison_members_are_dead_lettered_alone_without_their_content(env: dict[str, str]) -> None:
    repo = repository(env["store"])
    ids = create(repo, 5)
    refused = ids[1]
    bodies = [{"transaction_id": i, "stage": "translate", "message_id": f"outbox-{n}"} for n, i in enumerate(ids)]
    bodies.insert(2, {"transaction_id": "no-such-transaction", "stage": "translate", "message_id": "outbox-98",
                       "member_id": "M123456789"})
    bodies.insert(4, {"stage": "translate", "message_id": "outbox-99"})
    publish_group(env["broker"], bodies)
    with connect(env["broker"], transport_options=options_for(env["broker"])) as conn:  # a group with no list
        declare(conn)
        Producer(conn.default_channel, exchange=EXCHANGE).publish(
            {"stage": "translate", "messages": "M123456789"}, routing_key="translate", serializer="json",
            headers={GROUP_HEADER: 2}, message_id="outbox-group-bad")
    with Groups(repo, url=env["broker"], transport_options=options_for(env["broker"]), prefetch=10,
                poison=(refused,)) as worker:
        worker.run(limit=8, idle_timeout=5.0, poll=0.1)  # 4 handled, 4 dead letters (3 members + 1 message)
    assert worker.handled == 4 and worker.dead_lettered == 4
    assert [a[0] for a in worker.alone] == ids  # the group that failed, one by one: the refused one once
    states = {i: repo.require(i, submitter_id=ALL_SUBMITTERS).state for i in ids}
    assert states.pop(refused) is State.RECEIVED and set(states.values()) == {State.VALIDATED}
    dead = {message_id: (body, headers) for body, headers, message_id in take(env["broker"], "translate.dlq")}
    assert {m: h[REASON_HEADER] for m, (_b, h) in dead.items()} == {
        "outbox-1": "rejected by handler: payer refuses it",
        "outbox-98": "unknown transaction",
        "outbox-99": "malformed message (no transaction_id)",
        "outbox-group-bad": "malformed group message (no list of members)",
    }
    assert dead["outbox-1"][0] == bodies[1]  # a member goes to the DLQ as the single message it is
    assert GROUP_HEADER not in dead["outbox-1"][1] and dead["outbox-1"][1]["x-edi-stage"] == "translate"
    assert all("M123456789" not in h[REASON_HEADER] for _b, h in dead.values())
    settle_lease(env)
    assert drain(env["broker"], "translate") == []


def test_old_single_messages_are_consumed_with_group_messages(env: dict[str, str]) -> None:
    """Messages an older relay published (a JSON object per row, no group header) are still
    handled, together with the members of group messages."""
    repo = repository(env["store"])
    ids = create(repo, 6)
    with connect(env["broker"], transport_options=options_for(env["broker"])) as conn:
        declare(conn)
        producer = Producer(conn.default_channel, exchange=EXCHANGE, serializer="json")
        for n, tid in enumerate(ids[:3]):  # as the relay did before group messages
            producer.publish({"transaction_id": tid, "stage": "translate", "message_id": f"outbox-{n}"},
                             routing_key="translate", headers={"x-edi-stage": "translate"},
                             message_id=f"outbox-{n}", delivery_mode="persistent")
    publish_group(env["broker"], [{"transaction_id": tid, "stage": "translate", "message_id": f"outbox-{n}"}
                                  for n, tid in enumerate(ids[3:], start=3)])
    with Groups(repo, url=env["broker"], transport_options=options_for(env["broker"]), prefetch=10) as worker:
        assert worker.run(limit=6, idle_timeout=10.0, poll=0.1) == 6
    assert sorted(i for g in worker.groups for i in g) == sorted(ids) and worker.alone == []
    assert any(set(g) & set(ids[:3]) and set(g) & set(ids[3:]) for g in worker.groups)  # handled together
    assert validated_once(repo, ids)
    settle_lease(env)
    assert drain(env["broker"], "translate") == [] and drain(env["broker"], "translate.dlq") == []


class CommitsThenHangs(Groups):
    """Commits a group's work, says so, and hangs before the ack (to be killed)."""

    def handle_many(self, messages: list[StageMessage]) -> None:
        super().handle_many(messages)
        Path(self.marker).write_text(",".join(m.transaction_id for m in messages))
        time.sleep(600)


def run_committing_then_hanging(store: str, broker: str, marker: str) -> None:
    with CommitsThenHangs(repository(store), url=broker, transport_options=options_for(broker),
                          prefetch=10) as worker:
        worker.marker = marker
        worker.run(poll=0.2)


def test_a_group_message_of_a_killed_worker_is_redelivered_and_handled_once(env: dict[str, str]) -> None:
    repo = repository(env["store"])
    ids = create(repo, 10)
    relay(env, batch_size=100)
    marker = Path(env["dir"]) / "committed"
    hanging = start(run_committing_then_hanging, env["store"], env["broker"], str(marker))
    deadline = time.monotonic() + 30
    while not marker.exists():
        assert time.monotonic() < deadline, "the first worker never handled the group"
        time.sleep(0.05)
    assert marker.read_text().split(",") == ids
    os.kill(hanging.pid, signal.SIGKILL)  # the group's work committed, the message never acked
    hanging.join(10)
    assert hanging.exitcode == -signal.SIGKILL
    assert validated_once(repo, ids)

    # embedded: once the lease expires; RabbitMQ: as soon as it saw the connection drop
    with Groups(repo, url=env["broker"], transport_options=options_for(env["broker"]), prefetch=10) as worker:
        assert worker.run(limit=10, idle_timeout=15.0, poll=0.2) == 10
    assert worker.groups == [ids]  # the whole group again: nothing lost
    assert validated_once(repo, ids)  # and nothing done twice
    if env["kind"] == RABBITMQ:
        assert worker.redelivered == [True] * 10  # the broker's flag, on each member
    settle_lease(env)
    assert drain(env["broker"], "translate") == [] and drain(env["broker"], "translate.dlq") == []


def test_a_finished_worker_gives_back_what_it_fetched_beyond_its_limit_as_group_messages(
        env: dict[str, str]) -> None:
    """``limit`` counts transactions: a worker stops after the group message that reaches it and
    gives back the group messages fetched behind it, whole."""
    repo = repository(env["store"])
    ids = create(repo, 9)
    relay(env, batch_size=100, group_size=3)
    with Groups(repo, url=env["broker"], transport_options=options_for(env["broker"]), prefetch=10) as worker:
        worker.group_size = 3
        assert worker.run(limit=2, idle_timeout=10.0, poll=0.1) == 3  # one message of three
        left = drain(env["broker"], "translate", wait=2.0)
    assert sorted(b["transaction_id"] for b, _h in left) == sorted(ids[3:])


def test_pack_keeps_order_and_both_bounds_and_members_reads_what_it_packs() -> None:
    rows = [(f"outbox-{n}", json.dumps({"transaction_id": f"t{n}", "stage": "outbox", "pad": "x" * (n * 10)}))
            for n in range(1, 31)]
    packed = list(pack("outbox", rows, max_members=8, max_bytes=1500))
    assert sum(p.count for p in packed) == 30
    assert all(p.count <= 8 and (p.count == 1 or len(p.text) <= 1500) for p in packed)
    assert any(p.count < 8 for p in packed[:-1])  # the byte bound cut some runs short
    unpacked = []
    for p in packed:
        headers = {GROUP_HEADER: p.count} if p.count > 1 else {}
        found = members(json.loads(p.text), headers)
        assert found is not None and len(found) == p.count and member_count(headers) == p.count
        unpacked.extend(found)
    assert [m["transaction_id"] for m in unpacked] == [f"t{n}" for n in range(1, 31)]
    assert members({"messages": []}, {GROUP_HEADER: 2}) is None and members([1], {GROUP_HEADER: "x"}) is None
    assert member_count({GROUP_HEADER: "nonsense"}) == 1 and member_count(None) == 1
