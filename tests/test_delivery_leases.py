"""One delivery worker at a time sends a transaction's callbacks (the delivery lease in the store).

Two workers holding messages for the same transaction used to POST the same documents side by
side, so the receiver saw about a fifth of the callbacks twice. These tests race real workers
(``DeliveryWorker``, a real receiver on loopback) and the store's lease statements on SQLite and
PostgreSQL, and check that a lease left by a killed worker is taken over once it expires, with
the same webhook-ids.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.delivery.receiver import CallbackReceiver
from connectors.pipeline.runtime import open_pipeline
from connectors.pipeline.sample import SUBMITTER_ID, write_sample_config
from connectors.pipeline.workers import DeliveryWorker
from connectors.queues.consumer import StageMessage
from edi.pipeline import Pipeline
from edi.pipeline.context import Timings
from edi.pipeline.notices import EventType, notice
from edi.settings import Settings
from edi.store import ALL_SUBMITTERS, Correlation, Kind, NewTransaction, State, migrate

pytest_plugins = ("tests.servers.postgres",)
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'edi.db'}" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    migrate(url)
    return url


@pytest.fixture
def receiver() -> Iterator[CallbackReceiver]:
    with CallbackReceiver(SECRET) as running:
        yield running


@pytest.fixture
def pipeline(store_url: str, tmp_path: Path, receiver: CallbackReceiver) -> Iterator[Pipeline]:
    config = write_sample_config(tmp_path / "cfg", core_url="http://127.0.0.1:9/core", sftp_port=2222,
                                 known_hosts_line="[127.0.0.1]:2222 ssh-ed25519 AAAA", callback_url=receiver.url,
                                 webhook_secret=SECRET)
    opened = open_pipeline(Settings.from_env({"EDI_DATA_DIR": str(tmp_path / "data"), "EDI_DATABASE_URL": store_url}),
                           partners_file=config.partners_file, create_key=True)
    opened.timings = Timings(delivery_lease=20.0, delivery_busy_retry=0.2)  # no lapse on a loaded machine
    yield opened
    opened.repository.engine.dispose()


def acknowledged_claims(pipeline: Pipeline, count: int) -> list[str]:
    """Claims with one 999 answer each stored and owed to the submitter."""
    repository = pipeline.repository
    ids = []
    for number in range(count):
        tid = repository.create(NewTransaction(
            submitter_id=SUBMITTER_ID, kind=Kind.CLAIM, partner_id="simplan", document_type="837P",
            correlation=Correlation(patient_control_number=f"LEASE-{number}", isa13=9, gs06=9, st02=1),
        )).transaction.id
        for state in (State.VALIDATED, State.QUEUED, State.SENT):
            repository.transition(tid, state)
        record = repository.require(tid, submitter_id=ALL_SUBMITTERS)
        ack = notice(pipeline, record, EventType.FUNCTIONAL_ACK, document_type="999", final=False, status="accepted")
        repository.transition(tid, State.ACKNOWLEDGED, attach=[ack.attachment])
        ids.append(tid)
    return ids


def messages(pipeline: Pipeline, ids: list[str]) -> list[StageMessage]:
    records = pipeline.repository.get_many(ids)
    return [StageMessage(transaction_id=i, stage="delivery", transaction=records[i]) for i in ids]


def worker(pipeline: Pipeline, tmp_path: Path) -> DeliveryWorker:
    return DeliveryWorker(pipeline, url=f"sqla+sqlite:///{tmp_path / 'broker.db'}")


def test_the_lease_goes_to_one_holder_of_many_racing_ones(pipeline: Pipeline) -> None:
    ids = acknowledged_claims(pipeline, 40)
    repository = pipeline.repository
    start = threading.Barrier(6)
    won: dict[str, set[str]] = {}

    def race(holder: str) -> None:
        start.wait()
        won[holder] = repository.lease_deliveries(list(reversed(ids)) if holder.endswith("1") else ids, holder, 30)

    threads = [threading.Thread(target=race, args=(f"holder-{n}",)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    counts = Counter(i for held in won.values() for i in held)
    assert set(counts) == set(ids) and set(counts.values()) == {1}

    first = next(h for h, held in won.items() if held)
    taken = sorted(won[first])
    assert repository.lease_deliveries(taken, first, 30) == set(taken)  # its own lease: renewed
    assert repository.lease_deliveries(taken, "someone-else", 30) == set()
    repository.release_deliveries(taken, "someone-else")  # not theirs to release
    assert repository.lease_deliveries(taken, "someone-else", 30) == set()
    repository.release_deliveries(taken, first)
    assert repository.lease_deliveries(taken, "someone-else", 30) == set(taken)


def test_two_workers_racing_on_the_same_transactions_send_each_callback_once(
    pipeline: Pipeline, receiver: CallbackReceiver, tmp_path: Path,
) -> None:
    ids = acknowledged_claims(pipeline, 30)
    workers = [worker(pipeline, tmp_path), worker(pipeline, tmp_path)]
    start = threading.Barrier(2)
    failures: list[BaseException] = []

    def deliver(one: DeliveryWorker, order: list[str]) -> None:
        start.wait()
        try:
            one.handle_many(messages(pipeline, order))
        except BaseException as error:  # noqa: BLE001 - reported below
            failures.append(error)

    try:
        threads = [threading.Thread(target=deliver, args=(workers[0], ids)),
                   threading.Thread(target=deliver, args=(workers[1], list(reversed(ids))))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert failures == []
        assert len(receiver.wait_for(30, timeout=10)) == 30
        # what the other worker held is looked at again soon; by then nothing is owed
        time.sleep(0.3)
        for one in workers:
            one.handle_many(messages(pipeline, ids))
        requests = receiver.requests
        assert len(requests) == 30 and not any(r.duplicate for r in requests)
        assert {r.json()["data"]["transactionId"] for r in requests} == set(ids)
    finally:
        for one in workers:
            one.close()


def test_a_lease_left_by_a_killed_worker_is_taken_over_once_it_expires(
    pipeline: Pipeline, receiver: CallbackReceiver, tmp_path: Path,
) -> None:
    [tid] = acknowledged_claims(pipeline, 1)
    repository = pipeline.repository
    assert repository.lease_deliveries([tid], "killed-worker", 4.0) == {tid}
    survivor = worker(pipeline, tmp_path)
    try:
        survivor.handle_many(messages(pipeline, [tid]))
        assert receiver.requests == []  # still the killed worker's: not sent, but not forgotten either
        due = repository.require(tid, submitter_id=ALL_SUBMITTERS)
        assert [r.id for r in repository.due(pipeline.later(0.5))] == [tid] and due.state is State.ACKNOWLEDGED
        time.sleep(4.2)
        survivor.handle_many(messages(pipeline, [tid]))
        [request] = receiver.wait_for(1)
        [attempt] = repository.deliveries(tid, submitter_id=ALL_SUBMITTERS)
        assert request.webhook_id == attempt.webhook_id and not request.duplicate
    finally:
        survivor.close()


def test_a_long_send_keeps_its_lease(pipeline: Pipeline, receiver: CallbackReceiver, tmp_path: Path) -> None:
    """The receiver stalls longer than a lease lasts: the heartbeat renews it, nobody else sends."""
    from connectors.delivery.receiver import Reply

    [tid] = acknowledged_claims(pipeline, 1)
    pipeline.timings = Timings(delivery_lease=1.5, delivery_busy_retry=0.2)
    receiver.reply(Reply(status=200, delay=2.5))
    slow = worker(pipeline, tmp_path)
    other = worker(pipeline, tmp_path)
    try:
        sending = threading.Thread(target=slow.handle_many, args=(messages(pipeline, [tid]),))
        sending.start()
        time.sleep(2.0)  # past the 1.5 s lease
        other.handle_many(messages(pipeline, [tid]))
        sending.join(30)
        time.sleep(0.3)
        other.handle_many(messages(pipeline, [tid]))
        assert len(receiver.requests) == 1
    finally:
        slow.close()
        other.close()


def test_a_late_answer_for_a_delivered_claim_still_goes_out_when_its_lease_was_busy(
    pipeline: Pipeline, receiver: CallbackReceiver, tmp_path: Path,
) -> None:
    """The 835 (final) is delivered while the 277CA, matched late, waits: its delivery message
    finds the lease held by the worker that delivered the 835, so it is only reminded. The
    sweeper must wake the transaction although it is already ``delivered`` (the CI's crash test
    once lost two 277CA callbacks this way)."""
    from edi.pipeline.sweeper import sweep
    from edi.store.repository import Move

    [tid] = acknowledged_claims(pipeline, 1)
    repository = pipeline.repository
    record = repository.require(tid, submitter_id=ALL_SUBMITTERS)
    paid = notice(pipeline, record, EventType.CLAIM_PAYMENT, document_type="835", final=True, status="paid")
    repository.transition(tid, State.RESPONDED, attach=[paid.attachment])
    first = worker(pipeline, tmp_path)
    other = worker(pipeline, tmp_path)
    try:
        first.handle_many(messages(pipeline, [tid]))
        assert len(receiver.wait_for(2)) == 2
        assert repository.require(tid, submitter_id=ALL_SUBMITTERS).state is State.DELIVERED

        delivered = repository.require(tid, submitter_id=ALL_SUBMITTERS)
        late = notice(pipeline, delivered, EventType.CLAIM_ACK, document_type="277CA", final=False, status="accepted")
        repository.apply([Move(tid, None, "277CA:A1", attach=[late.attachment])])
        assert repository.lease_deliveries([tid], "the-835-sender", 20.0) == {tid}
        other.handle_many(messages(pipeline, [tid]))  # busy: reminded, not sent
        assert len(receiver.requests) == 2
        repository.release_deliveries([tid], "the-835-sender")

        time.sleep(0.3)  # past delivery_busy_retry
        assert sweep(pipeline) == 1
        assert repository.require(tid, submitter_id=ALL_SUBMITTERS).due_at is None
        other.handle_many(messages(pipeline, [tid]))
        kinds = [r.json()["type"] for r in receiver.wait_for(3)]
        assert kinds.count("claim.acknowledgment") == 1 and len(kinds) == 3
        assert repository.require(tid, submitter_id=ALL_SUBMITTERS).state is State.DELIVERED
    finally:
        first.close()
        other.close()


@pytest.mark.parametrize("finish_by", ["apply", "transition"])
def test_a_reminder_left_while_the_holder_delivered_survives_the_move_to_delivered(
    pipeline: Pipeline, finish_by: str,
) -> None:
    """The holder read what was owed (the 835), a 277CA stored after that found the lease busy
    and left a reminder, then the holder moved the claim to ``delivered``: that move must not
    clear the reminder (a kill -9 run lost 50 of 1,000 277CA callbacks so), or nobody sends it."""
    from edi.store.repository import Move

    [tid] = acknowledged_claims(pipeline, 1)
    repository = pipeline.repository
    repository.transition(tid, State.RESPONDED)
    assert repository.lease_deliveries([tid], "the-835-sender", 20.0) == {tid}
    repository.remind([tid], pipeline.later(0.2))  # the busy 277CA delivery message
    if finish_by == "apply":
        repository.apply([Move(tid, State.DELIVERED, "http:200")])
    else:
        repository.transition(tid, State.DELIVERED, detail_code="http:200")
    record = repository.require(tid, submitter_id=ALL_SUBMITTERS)
    assert record.state is State.DELIVERED and record.due_at is not None
    assert [r.id for r in repository.due(pipeline.later(0.5))] == [tid]


def test_what_is_owed_passes_over_delivered_documents_without_reexamining_them(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``_owed`` on stand-in rows: a document whose payload was delivered is skipped before its
    webhook-id is worked out or its bytes read; one identical to a delivered one (same id) is
    skipped by id; the rest carry their attempt counts, dead-lettered ones only when asked."""
    from types import SimpleNamespace

    from edi.pipeline import delivery_plan as plan
    from edi.pipeline.notices import webhook_id_of
    from edi.store.models import DeliveryOutcome

    docs = [SimpleNamespace(id=f"p{n}", transaction_id="t1", sha256=str(n) * 64) for n in range(3)]
    docs.append(SimpleNamespace(id="p3", transaction_id="t1", sha256=docs[0].sha256))  # p0's content again
    ids = [webhook_id_of(d) for d in docs]
    assert ids[3] == ids[0]

    def attempt(payload: str, outcome: DeliveryOutcome) -> SimpleNamespace:
        return SimpleNamespace(payload_id=payload, webhook_id=ids[int(payload[1:])], outcome=outcome)

    attempts = [attempt("p0", DeliveryOutcome.FAILED), attempt("p0", DeliveryOutcome.SUCCEEDED),
                attempt("p1", DeliveryOutcome.FAILED), attempt("p2", DeliveryOutcome.FAILED),
                attempt("p2", DeliveryOutcome.DEAD_LETTERED)]
    read: list[str] = []
    looked: list[str] = []
    monkeypatch.setattr(plan, "read_notice", lambda _pipeline, d: (read.append(d.id), (b"{}", {}))[1])
    monkeypatch.setattr(plan, "webhook_id_of", lambda d: (looked.append(d.id), webhook_id_of(d))[1])

    owed = plan._owed(None, docs, attempts, False)  # type: ignore[arg-type]
    assert [(p.record.id, p.webhook_id, p.attempts_so_far, p.dead_lettered) for p in owed] == [
        ("p1", ids[1], 1, False)]
    assert read == ["p1"] and "p0" not in looked and "p3" in looked
    owed = plan._owed(None, docs, attempts, True)  # type: ignore[arg-type]
    assert [(p.record.id, p.attempts_so_far, p.dead_lettered) for p in owed] == [("p1", 1, False), ("p2", 2, True)]
    assert [p.record.id for p in plan._owed(None, docs, [], False)] == ["p0", "p1", "p2", "p3"]  # type: ignore[arg-type]
