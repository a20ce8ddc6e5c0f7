"""The transaction store on SQLite and on a real PostgreSQL server: schema, repository, states,
control numbers (concurrency and crashes)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.exc import DBAPIError

from edi.audit import AuditEntry
from edi.lookup import LookupKey
from edi.payloads import RotatedPayload, StoredPayload
from edi.store import (
    ALL_SUBMITTERS,
    Correlation,
    DeliveryAttempt,
    IdempotencyConflictError,
    IllegalTransitionError,
    Kind,
    Move,
    NewTransaction,
    OutboxMessage,
    PayloadAttachment,
    Repository,
    SequenceAllocator,
    State,
    TransactionFilter,
    TransactionNotFoundError,
    make_engine,
    migrate,
)
from edi.store.models import Base, DeliveryOutcome, PayloadKind, new_id
from edi.store.repository import UnexpectedStateError
from edi.store.sequences import MAX_CONTROL_NUMBER, ControlKind
from edi.store.states import NON_TERMINAL, TERMINAL, allowed_targets, check_transition

pytest_plugins = ("tests.servers.postgres", "tests.stores")

ROOT = Path(__file__).resolve().parents[1]
LOOKUP_KEY = LookupKey(b"k" * 32)
TABLES = {"transactions", "transaction_events", "payloads", "control_sequences", "outbox", "deliveries",
          "delivery_leases"}


class Clock:
    """A controllable clock: each reading is one second after the previous one."""

    def __init__(self) -> None:
        self.now = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def repo(engine: Engine, clock: Clock) -> Repository:
    return Repository(engine, clock=clock, lookup_key=LOOKUP_KEY)


def new_claim(submitter: str = "clinic-a", partner: str = "payer-1", **options: object) -> NewTransaction:
    return NewTransaction(submitter_id=submitter, kind=Kind.CLAIM, partner_id=partner, **options)


def new_eligibility(submitter: str = "clinic-a", partner: str = "payer-1", **options: object) -> NewTransaction:
    return NewTransaction(submitter_id=submitter, kind=Kind.ELIGIBILITY, partner_id=partner, **options)


def walk(repo: Repository, transaction_id: str, *states: State) -> None:
    for state in states:
        repo.transition(transaction_id, state, actor="test")


# -- schema ------------------------------------------------------------------------------------


def test_migrations_from_empty_match_the_models(database_url: str) -> None:
    migrate(database_url)
    migrate(database_url)  # a second run is a no-op
    engine = make_engine(database_url)
    try:
        assert set(inspect(engine).get_table_names()) >= TABLES
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert context.get_current_revision() == "0009"
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_alembic_command_line_upgrades_and_downgrades(database_url: str) -> None:
    env = {**os.environ, "EDI_DATABASE_URL": database_url}
    config = str(ROOT / "edi" / "store" / "alembic.ini")
    for command in (["upgrade", "head"], ["downgrade", "base"], ["upgrade", "head"]):
        done = subprocess.run(
            [sys.executable, "-m", "alembic", "-c", config, *command],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
        )
        assert done.returncode == 0, done.stderr
    current = subprocess.run(
        [sys.executable, "-m", "alembic", "-c", config, "current"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert "0009 (head)" in current.stdout
    engine = make_engine(database_url)
    try:
        assert set(inspect(engine).get_table_names()) >= TABLES
    finally:
        engine.dispose()


def test_history_rows_cannot_be_updated(repo: Repository, engine: Engine) -> None:
    created = repo.create(new_claim()).transaction
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(
            text("UPDATE transaction_events SET to_state = 'delivered' WHERE transaction_id = :id"),
            {"id": created.id},
        )
    assert [event.to_state for event in repo.history(created.id, submitter_id=ALL_SUBMITTERS)] == [State.RECEIVED]


# -- create and read ---------------------------------------------------------------------------


def test_create_records_the_transaction_and_its_first_event(repo: Repository) -> None:
    correlation = Correlation(control_number="123456789", patient_control_number="PCN-1")
    result = repo.create(
        new_claim(idempotency_key="key-1", callback_url="https://hooks.example/edi", correlation=correlation),
        actor="api",
    )
    assert result.created
    record = result.transaction
    assert len(record.id) == 26 and record.state is State.RECEIVED and record.kind is Kind.CLAIM
    assert record.created_at.tzinfo is not None and record.created_at == record.updated_at
    # CLM01 comes back as its keyed digest only (edi.lookup): the store never held the number
    stored = Correlation(control_number="123456789", patient_control_number_hmac=LOOKUP_KEY.clm01("PCN-1"),
                         patient_control_number_key_id=LOOKUP_KEY.current)
    assert record.correlation == stored and record.callback_url == "https://hooks.example/edi"
    assert repo.get(record.id, submitter_id="clinic-a") == record
    [event] = repo.history(record.id, submitter_id="clinic-a")
    assert (event.from_state, event.to_state, event.actor) == (None, State.RECEIVED, "api")


def test_reads_do_not_wait_for_a_writer(repo: Repository, engine: Engine) -> None:
    record = repo.create(new_claim()).transaction
    allocator = SequenceAllocator(engine)
    with engine.begin() as writer:  # holds the write lock (SQLite) until the block ends
        writer.execute(text("UPDATE control_sequences SET last_value = last_value"))
        started = time.monotonic()
        assert repo.get(record.id, submitter_id="clinic-a") == record
        assert len(repo.history(record.id, submitter_id="clinic-a")) == 1
        assert repo.list_transactions(TransactionFilter("clinic-a")).items == [record]
        assert allocator.last("payer-1", ControlKind.ISA13) == 0
        assert time.monotonic() - started < 5  # the busy timeout is 30 s


def test_reads_are_scoped_by_submitter(repo: Repository) -> None:
    mine = repo.create(new_claim("clinic-a")).transaction
    assert repo.get(mine.id, submitter_id="clinic-b") is None
    assert repo.get("01NOSUCHTRANSACTION0000000", submitter_id="clinic-a") is None
    for read in (repo.require, repo.history, repo.payloads, repo.deliveries):
        with pytest.raises(TransactionNotFoundError):
            read(mine.id, submitter_id="clinic-b")
    assert repo.get(mine.id, submitter_id=ALL_SUBMITTERS) == mine
    with pytest.raises(ValueError):
        repo.get(mine.id, submitter_id="")


def test_create_is_idempotent_per_submitter(repo: Repository) -> None:
    first = repo.create(new_claim(idempotency_key="k-7", request_sha256="a" * 64))
    again = repo.create(new_claim(idempotency_key="k-7", request_sha256="a" * 64))
    assert first.created and not again.created
    assert again.transaction.id == first.transaction.id
    other = repo.create(new_claim("clinic-b", idempotency_key="k-7"))  # keys are per submitter
    assert other.created and other.transaction.id != first.transaction.id
    with pytest.raises(IdempotencyConflictError) as conflict:
        repo.create(new_claim(idempotency_key="k-7", request_sha256="b" * 64))
    assert conflict.value.existing_id == first.transaction.id
    assert len(repo.history(first.transaction.id, submitter_id="clinic-a")) == 1
    # without a key every request is new
    assert repo.create(new_claim()).transaction.id != repo.create(new_claim()).transaction.id


def test_concurrent_creates_with_one_key_make_one_transaction(repo: Repository) -> None:
    barrier = threading.Barrier(8)

    def create() -> tuple[str, bool]:
        barrier.wait()
        result = repo.create(new_eligibility(idempotency_key="same-key"))
        return result.transaction.id, result.created

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: create(), range(8)))
    assert len({transaction_id for transaction_id, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    page = repo.list_transactions(TransactionFilter("clinic-a"))
    assert len(page.items) == 1


# -- the state machine -------------------------------------------------------------------------

LEGAL = {
    State.RECEIVED: {State.VALIDATED, State.REJECTED, State.FAILED},
    State.VALIDATED: {State.QUEUED, State.REJECTED, State.FAILED},
    State.QUEUED: {State.SENT, State.FAILED},
    State.SENT: {State.ACKNOWLEDGED, State.RESPONDED, State.QUEUED, State.FAILED},
    State.ACKNOWLEDGED: {State.ACKNOWLEDGED, State.RESPONDED, State.DELIVERED, State.FAILED},
    State.RESPONDED: {State.RESPONDED, State.DELIVERED, State.FAILED},
    State.REJECTED: set(),
    State.DELIVERED: set(),
    State.FAILED: {State.DELIVERED},  # a dead-lettered callback delivered by a replay
}


@pytest.mark.parametrize("kind", list(Kind))
def test_transition_table(kind: Kind) -> None:
    for current in State:
        expected = set(LEGAL[current])
        if kind is Kind.ELIGIBILITY and current is State.RESPONDED:
            expected.discard(State.RESPONDED)  # one 271 per request
        if kind is Kind.CLAIM and current is State.QUEUED:
            expected.add(State.REJECTED)  # a claim the 837 cannot carry, found when its batch is built
        assert allowed_targets(kind, current) == expected, current
        for target in State:
            if target in expected:
                check_transition(kind, current, target)
            else:
                with pytest.raises(IllegalTransitionError, match=f"from {current.value} to {target.value}"):
                    check_transition(kind, current, target)
    assert set(TERMINAL) == {State.REJECTED, State.DELIVERED, State.FAILED}
    assert set(State) == NON_TERMINAL | TERMINAL


def test_eligibility_life_with_history(repo: Repository) -> None:
    record = repo.create(new_eligibility()).transaction
    repo.transition(record.id, State.VALIDATED, actor="translate")
    repo.transition(record.id, State.QUEUED, actor="outbox")
    repo.transition(record.id, State.SENT, actor="transport", detail_code="core:200")
    repo.transition(record.id, State.RESPONDED, actor="responses", detail_code="271")
    final = repo.transition(record.id, State.DELIVERED, actor="delivery", detail_code="http:204")
    assert final.state is State.DELIVERED and final.terminal
    history = repo.history(record.id, submitter_id="clinic-a")
    assert [(e.from_state, e.to_state) for e in history] == [
        (None, State.RECEIVED),
        (State.RECEIVED, State.VALIDATED),
        (State.VALIDATED, State.QUEUED),
        (State.QUEUED, State.SENT),
        (State.SENT, State.RESPONDED),
        (State.RESPONDED, State.DELIVERED),
    ]
    assert [e.detail_code for e in history] == [None, None, None, "core:200", "271", "http:204"]
    times = [e.at for e in history]
    assert times == sorted(times) and len(set(times)) == len(times)
    assert final.updated_at == times[-1]


def test_claim_receives_several_acknowledgments_and_responses(repo: Repository) -> None:
    record = repo.create(new_claim()).transaction
    walk(repo, record.id, State.VALIDATED, State.QUEUED, State.SENT)
    repo.transition(record.id, State.ACKNOWLEDGED, detail_code="TA1:A")
    repo.transition(record.id, State.ACKNOWLEDGED, detail_code="999:A")
    repo.transition(record.id, State.RESPONDED, detail_code="277CA:A1")
    repo.transition(record.id, State.RESPONDED, detail_code="835")
    repo.transition(record.id, State.DELIVERED)
    codes = [e.detail_code for e in repo.history(record.id, submitter_id="clinic-a")]
    assert codes[-5:] == ["TA1:A", "999:A", "277CA:A1", "835", None]


def test_a_late_answer_stays_in_the_history_and_on_the_audit_trail(repo: Repository, engine: Engine) -> None:
    """Answers are processed concurrently, so a claim's 277CA can be matched after its 835 moved it
    on (even to delivered): the state stays, but the answer is a same-state event of its own."""
    record = repo.create(new_claim()).transaction
    walk(repo, record.id, State.VALIDATED, State.QUEUED, State.SENT)
    repo.transition(record.id, State.RESPONDED, detail_code="835:1")
    repo.transition(record.id, State.DELIVERED)
    waiting = frozenset({State.SENT, State.ACKNOWLEDGED})
    moved = repo.apply([
        Move(record.id, State.ACKNOWLEDGED, "999:A", waiting, keep_if_refused=True),  # refused: kept
        Move(record.id, None, "277CA:A1", correlation=Correlation(payer_claim_control_number="PCC1")),
    ], actor="test")
    assert moved == []
    history = repo.history(record.id, submitter_id="clinic-a")
    assert [(e.from_state, e.to_state, e.detail_code) for e in history[-2:]] == [
        (State.DELIVERED, State.DELIVERED, "999:A"), (State.DELIVERED, State.DELIVERED, "277CA:A1")]
    assert repo.get(record.id, submitter_id="clinic-a").state is State.DELIVERED
    assert repo.get(record.id, submitter_id="clinic-a").correlation.payer_claim_control_number == "PCC1"
    with engine.connect() as connection:
        trail = connection.execute(select(AuditEntry.action, AuditEntry.outcome)
                                   .where(AuditEntry.transaction_id == record.id)
                                   .order_by(AuditEntry.id)).all()
    assert [tuple(row) for row in trail[-2:]] == [("acknowledged", "999:a"), ("responded", "277ca:a1")]


def test_a_group_of_moves_writes_each_row_in_order(repo: Repository, engine: Engine) -> None:
    """``apply`` on many transactions at once (an answer file's claims; on PostgreSQL one statement
    per table for the group): every move, event, audit entry, payload, message and attempt is
    written with its own values, the events and entries in the order of the moves."""
    ids = [repo.create(new_claim()).transaction.id for _ in range(5)]
    for transaction_id in ids:
        walk(repo, transaction_id, State.VALIDATED, State.QUEUED, State.SENT)
    moves = [Move(transaction_id, State.RESPONDED if n % 2 else State.ACKNOWLEDGED, f"277CA:A{n}",
                  frozenset({State.SENT}), correlation=Correlation(payer_claim_control_number=f"PCC{n}"),
                  attach=[PayloadAttachment(PayloadKind.ACK, stored(n), "277CA")],
                  outbox=[OutboxMessage("delivery", {"n": n, "t": 'q"\\{},\'é', "x": None})], attempts=n)
             for n, transaction_id in enumerate(ids)]
    moved = repo.apply(list(reversed(moves)), actor="test")
    assert [r.id for r in moved] == list(reversed(ids))
    for n, transaction_id in enumerate(ids):
        record = repo.require(transaction_id, submitter_id=ALL_SUBMITTERS)
        assert record.state is (State.RESPONDED if n % 2 else State.ACKNOWLEDGED)
        assert (record.correlation.payer_claim_control_number, record.attempts) == (f"PCC{n}", n)
        assert repo.history(transaction_id, submitter_id="clinic-a")[-1].detail_code == f"277CA:A{n}"
        assert [(p.uri, p.size) for p in repo.payloads(transaction_id, submitter_id="clinic-a")] == [
            (stored(n).uri, 100 + n)]
    with engine.connect() as connection:
        trail = connection.execute(select(AuditEntry.transaction_id, AuditEntry.outcome)
                                   .where(AuditEntry.actor == "test", AuditEntry.outcome.like("277ca%"))
                                   .order_by(AuditEntry.id)).all()
    assert [tuple(row) for row in trail] == [(i, f"277ca:a{n}") for n, i in reversed(list(enumerate(ids)))]
    assert [(m.transaction_id, m.body) for m in repo.pending_outbox(limit=100)[-5:]] == [
        (i, {"n": n, "t": 'q"\\{},\'é', "x": None}) for n, i in reversed(list(enumerate(ids)))]
    repo.record_deliveries([DeliveryAttempt(i, f"msg_{n}", "https://hooks.example/cb", 1, DeliveryOutcome.SUCCEEDED,
                                            status_code=204) for n, i in enumerate(ids)])
    # attempts recorded with the moves they allow (the delivery stage), or alone
    delivered = repo.apply([Move(i, State.DELIVERED, "http:204", NON_TERMINAL, skip_refused=True) for i in ids[:2]],
                           actor="test", deliveries=[DeliveryAttempt(i, f"final_{n}", "callback", 1,
                                                                     DeliveryOutcome.SUCCEEDED, status_code=200)
                                                     for n, i in enumerate(ids[:3])])
    assert [r.state for r in delivered] == [State.DELIVERED] * 2
    assert repo.apply([], deliveries=[DeliveryAttempt(ids[4], "late", "callback", 2, DeliveryOutcome.FAILED,
                                                       error_code="http:503")]) == []
    attempts = repo.deliveries_of(ids)
    assert [[(a.webhook_id, a.status_code) for a in attempts[i]] for i in ids] == [
        [(f"msg_{n}", 204)] + ([(f"final_{n}", 200)] if n < 3 else []) + ([("late", None)] if n == 4 else [])
        for n in range(5)]
    with pytest.raises(ValueError, match="short code"):
        repo.apply([], deliveries=[DeliveryAttempt(ids[0], "x", "callback", 1, DeliveryOutcome.FAILED,
                                                   error_code="free text")])


def test_illegal_transitions_are_refused_and_leave_no_trace(repo: Repository) -> None:
    eligibility = repo.create(new_eligibility()).transaction
    with pytest.raises(IllegalTransitionError) as refused:
        repo.transition(eligibility.id, State.SENT)  # skipping validation and queueing
    assert refused.value.current is State.RECEIVED and eligibility.id in str(refused.value)
    walk(repo, eligibility.id, State.VALIDATED, State.QUEUED, State.SENT, State.RESPONDED)
    with pytest.raises(IllegalTransitionError):
        repo.transition(eligibility.id, State.RESPONDED)  # a second 271
    with pytest.raises(IllegalTransitionError):
        repo.transition(eligibility.id, State.QUEUED)  # backwards
    repo.transition(eligibility.id, State.DELIVERED)
    for target in State:
        with pytest.raises(IllegalTransitionError):
            repo.transition(eligibility.id, target)  # terminal: nothing moves it, not even failed
    assert repo.require(eligibility.id, submitter_id="clinic-a").state is State.DELIVERED
    assert len(repo.history(eligibility.id, submitter_id="clinic-a")) == 6

    rejected = repo.create(new_claim()).transaction
    repo.transition(rejected.id, State.REJECTED, detail_code="check:npi")
    with pytest.raises(IllegalTransitionError):
        repo.transition(rejected.id, State.VALIDATED)
    with pytest.raises(TransactionNotFoundError):
        repo.transition("01NOSUCHTRANSACTION0000000", State.VALIDATED)


@pytest.mark.parametrize("state", sorted(NON_TERMINAL - {State.RECEIVED}))
def test_every_state_that_is_not_terminal_can_fail(repo: Repository, state: State) -> None:
    path = [State.VALIDATED, State.QUEUED, State.SENT, State.ACKNOWLEDGED, State.RESPONDED]
    record = repo.create(new_claim()).transaction
    walk(repo, record.id, *path[: path.index(state) + 1])
    failed = repo.transition(record.id, State.FAILED, detail_code="transport:timeout")
    assert failed.state is State.FAILED and failed.terminal


def test_expected_state_guards_against_lost_races(repo: Repository) -> None:
    record = repo.create(new_claim()).transaction
    walk(repo, record.id, State.VALIDATED, State.QUEUED)
    repo.transition(record.id, State.SENT, expected=State.QUEUED)
    with pytest.raises(UnexpectedStateError, match="is sent, expected queued"):
        repo.transition(record.id, State.FAILED, expected=[State.QUEUED])


def test_racing_workers_move_a_transaction_once(repo: Repository) -> None:
    records = [repo.create(new_claim()).transaction for _ in range(5)]
    for record in records:
        walk(repo, record.id, State.VALIDATED, State.QUEUED)
    barrier = threading.Barrier(6)

    def send(transaction_id: str) -> bool:
        barrier.wait()
        try:
            repo.transition(transaction_id, State.SENT, expected=State.QUEUED, actor="transport")
        except UnexpectedStateError:
            return False
        return True

    for record in records:
        with ThreadPoolExecutor(6) as pool:
            outcomes = list(pool.map(send, [record.id] * 6))
        assert outcomes.count(True) == 1
        history = repo.history(record.id, submitter_id=ALL_SUBMITTERS)
        assert [e.to_state for e in history].count(State.SENT) == 1


def test_a_batch_moves_together_or_not_at_all(repo: Repository) -> None:
    ids = [repo.create(new_claim()).transaction.id for _ in range(30)]
    for transaction_id in ids:
        walk(repo, transaction_id, State.VALIDATED, State.QUEUED)
    straggler = repo.create(new_claim()).transaction.id  # still received
    with pytest.raises(IllegalTransitionError):
        repo.transition_many([*ids, straggler], State.SENT)
    assert {repo.require(i, submitter_id=ALL_SUBMITTERS).state for i in ids} == {State.QUEUED}

    envelope = Correlation(isa13=905, gs06=17, st02=1)
    moved = repo.transition_many(ids, State.SENT, correlation=envelope, detail_code="sftp:put")
    assert [record.id for record in moved] == ids
    assert all(record.state is State.SENT and record.correlation.isa13 == 905 for record in moved)


def test_outbox_messages_commit_with_their_state_change(repo: Repository) -> None:
    record = repo.create(
        new_claim(), outbox=[OutboxMessage("intake", {"transaction": "x"})]
    ).transaction
    repo.transition(record.id, State.VALIDATED, outbox=[OutboxMessage("partner-outbox", {"id": record.id})])
    with pytest.raises(IllegalTransitionError):  # refused: its message must not appear either
        repo.transition(record.id, State.DELIVERED, outbox=[OutboxMessage("delivery", {"id": record.id})])
    pending = repo.pending_outbox()
    assert [(m.topic, m.transaction_id) for m in pending] == [("intake", record.id), ("partner-outbox", record.id)]
    assert pending[1].body == {"id": record.id}

    with pytest.raises(RuntimeError), repo.claim_outbox() as batch:  # publishing failed
        assert len(batch) == 2
        raise RuntimeError("broker down")
    assert len(repo.pending_outbox()) == 2
    with repo.claim_outbox(limit=1) as batch:
        assert [m.topic for m in batch] == ["intake"]
    assert [m.topic for m in repo.pending_outbox()] == ["partner-outbox"]
    repo.enqueue([OutboxMessage("replay", {"id": record.id}, transaction_id=record.id)])
    repo.mark_published([m.id for m in repo.pending_outbox()])
    assert repo.pending_outbox() == []
    with pytest.raises(ValueError):
        repo.enqueue([OutboxMessage("free text topic", {})])


def test_detail_codes_refuse_free_text(repo: Repository) -> None:
    record = repo.create(new_claim()).transaction
    with pytest.raises(ValueError, match="short code"):
        repo.transition(record.id, State.REJECTED, detail_code="patient JOHN SMITH not found")
    assert repo.require(record.id, submitter_id=ALL_SUBMITTERS).state is State.RECEIVED


# -- payloads and deliveries -------------------------------------------------------------------


def stored(n: int, key_id: str = "k1") -> StoredPayload:
    return StoredPayload(uri=f"file:///payloads/{n:02x}/{n:032x}", key_id=key_id, sha256=f"{n:064x}", size=100 + n)


def test_payload_references(repo: Repository) -> None:
    claims = [repo.create(new_claim()).transaction.id for _ in range(3)]
    repo.attach_payload(claims[0], PayloadAttachment(PayloadKind.REQUEST_JSON, stored(1)))
    batch = repo.attach_payload(claims, PayloadAttachment(PayloadKind.OUTBOUND_X12, stored(2), "837P"))
    assert [p.transaction_id for p in batch] == claims and {p.uri for p in batch} == {stored(2).uri}
    for transaction_id in claims:
        walk(repo, transaction_id, State.VALIDATED, State.QUEUED, State.SENT)
    repo.transition(
        claims[1], State.ACKNOWLEDGED, detail_code="999:A",
        attach=[PayloadAttachment(PayloadKind.ACK, stored(3), "999")],
    )
    first = repo.payloads(claims[0], submitter_id="clinic-a")
    assert [(p.kind, p.document_type, p.size) for p in first] == [
        (PayloadKind.REQUEST_JSON, None, 101), (PayloadKind.OUTBOUND_X12, "837P", 102),
    ]
    assert [p.kind for p in repo.payloads(claims[1], submitter_id="clinic-a")][-1] is PayloadKind.ACK
    with pytest.raises(TransactionNotFoundError):
        repo.attach_payload(["01NOSUCHTRANSACTION0000000"], PayloadAttachment(PayloadKind.ACK, stored(4)))

    changed = repo.record_rotation([RotatedPayload(stored(2).uri, "k1", "k2")])
    assert changed == 3
    assert {p.key_id for p in repo.payloads(claims[2], submitter_id="clinic-a")} == {"k2"}
    assert repo.record_rotation([RotatedPayload(stored(2).uri, "k1", "k2")]) == 0


def test_delivery_attempts(repo: Repository) -> None:
    record = repo.create(new_eligibility(callback_url="https://hooks.example/cb")).transaction
    [response] = repo.attach_payload(record.id, PayloadAttachment(PayloadKind.RESPONSE_JSON, stored(9), "271"))
    retry_at = datetime(2024, 3, 1, 13, 0, tzinfo=UTC)
    repo.record_delivery(DeliveryAttempt(
        record.id, "msg_01", "https://hooks.example/cb", 1, DeliveryOutcome.FAILED,
        status_code=503, error_code="http:503", payload_id=response.id, next_attempt_at=retry_at,
    ))
    repo.record_delivery(DeliveryAttempt(
        record.id, "msg_01", "https://hooks.example/cb", 2, DeliveryOutcome.SUCCEEDED, status_code=204,
        payload_id=response.id,
    ))
    attempts = repo.deliveries(record.id, submitter_id="clinic-a")
    assert [(a.attempt, a.outcome, a.status_code) for a in attempts] == [
        (1, DeliveryOutcome.FAILED, 503), (2, DeliveryOutcome.SUCCEEDED, 204),
    ]
    assert attempts[0].next_attempt_at == retry_at and {a.webhook_id for a in attempts} == {"msg_01"}
    with pytest.raises(TransactionNotFoundError):
        repo.record_delivery(DeliveryAttempt("01NOSUCHTRANSACTION0000000", "m", "https://x", 1, DeliveryOutcome.FAILED))


# -- listing, recovery and correlation ---------------------------------------------------------


def test_list_with_filters_and_pages(repo: Repository, clock: Clock) -> None:
    start = clock.now
    made = {}
    for n in range(24):
        new = (new_claim if n % 3 else new_eligibility)(f"clinic-{'ab'[n % 2]}", f"payer-{n % 4}")
        made[repo.create(new).transaction.id] = n
    ids = list(made)
    for transaction_id in ids[:6]:
        repo.transition(transaction_id, State.VALIDATED)

    everything = TransactionFilter(ALL_SUBMITTERS)
    seen, cursor = [], None
    while True:
        page = repo.list_transactions(everything, limit=5, cursor=cursor)
        seen += [record.id for record in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == sorted(ids, reverse=True) and len(seen) == 24  # newest first, each once

    def ids_of(where: TransactionFilter) -> set[str]:
        return {record.id for record in repo.list_transactions(where, limit=100).items}

    assert ids_of(TransactionFilter("clinic-a")) == {i for i in ids if made[i] % 2 == 0}
    assert ids_of(TransactionFilter("clinic-b", kinds=frozenset({Kind.ELIGIBILITY}))) == {
        i for i in ids if made[i] % 2 == 1 and made[i] % 3 == 0
    }
    assert ids_of(TransactionFilter(ALL_SUBMITTERS, states=frozenset({State.VALIDATED}))) == set(ids[:6])
    assert ids_of(TransactionFilter(ALL_SUBMITTERS, partner_id="payer-2")) == {i for i in ids if made[i] % 4 == 2}
    # the clock advances one second per creation: a window of five seconds holds five of them
    window = TransactionFilter(
        ALL_SUBMITTERS, created_from=start + timedelta(seconds=3), created_to=start + timedelta(seconds=8)
    )
    assert ids_of(window) == set(ids[2:7])
    with pytest.raises(ValueError):
        repo.list_transactions(everything, limit=0)


def test_resume_candidates_are_the_transactions_not_finished(repo: Repository) -> None:
    ids = [repo.create(new_claim()).transaction.id for _ in range(7)]
    repo.transition(ids[0], State.REJECTED)
    walk(repo, ids[1], State.VALIDATED, State.QUEUED, State.SENT, State.RESPONDED, State.DELIVERED)
    repo.transition(ids[2], State.FAILED)
    walk(repo, ids[3], State.VALIDATED, State.QUEUED)
    eligibility = repo.create(new_eligibility()).transaction.id
    found, after = [], None
    while batch := repo.resume_candidates(limit=2, after=after):
        found += batch
        after = batch[-1].id
    assert [record.id for record in found] == [*ids[3:], eligibility]  # oldest first
    assert found[0].state is State.QUEUED
    assert [r.id for r in repo.resume_candidates(kinds=[Kind.ELIGIBILITY])] == [eligibility]


def test_stale_transactions_of_some_states_only(repo: Repository, clock: Clock) -> None:
    """What the sweeper asks for: the limit is filled with the states asked for, not with the many
    transactions waiting on a partner (older ones included)."""
    waiting = [repo.create(new_claim()).transaction.id for _ in range(3)]
    for transaction_id in waiting:
        walk(repo, transaction_id, State.VALIDATED, State.QUEUED, State.SENT)
    eligibility = repo.create(new_eligibility()).transaction.id
    walk(repo, eligibility, State.VALIDATED, State.QUEUED, State.SENT)
    dropped = repo.create(new_claim()).transaction.id
    repo.schedule(repo.create(new_claim()).transaction.id, clock.now + timedelta(hours=1))  # scheduled: not stale
    later = clock.now + timedelta(seconds=1)
    assert [r.id for r in repo.stale(later, limit=3)] == waiting  # every state: the waiting ones fill it
    states = {State.RECEIVED: None, State.VALIDATED: None, State.QUEUED: None, State.SENT: Kind.ELIGIBILITY}
    assert [r.id for r in repo.stale(later, limit=3, states=states)] == [eligibility, dropped]
    assert [r.id for r in repo.stale(later, states=states, after=eligibility)] == [dropped]
    assert repo.stale(clock.now - timedelta(hours=1), states=states) == []


def test_correlation_lookups(repo: Repository) -> None:
    eligibility = repo.create(new_eligibility(correlation=Correlation(trn_trace="TRACE-1", bht03="B-77"))).transaction
    repo.create(new_eligibility(correlation=Correlation(trn_trace="TRACE-2", bht03="B-78")))
    assert [r.id for r in repo.find_for_271("TRACE-1", "B-77")] == [eligibility.id]
    assert [r.id for r in repo.find_for_271("TRACE-1")] == [eligibility.id]
    assert [r.id for r in repo.find_for_271(bht03="B-77", partner_id="payer-1")] == [eligibility.id]
    assert repo.find_for_271("TRACE-1", "B-78") == []
    assert repo.find_for_271("TRACE-1", partner_id="payer-2") == []

    batch = [
        repo.create(new_claim(correlation=Correlation(patient_control_number=f"PCN-{n}"))).transaction.id
        for n in range(3)
    ]
    for transaction_id in batch:
        walk(repo, transaction_id, State.VALIDATED, State.QUEUED)
    repo.transition_many(batch[:2], State.SENT, correlation=Correlation(isa13=905, gs06=31, st02=1))
    repo.transition(batch[2], State.SENT, correlation=Correlation(isa13=906, gs06=32, st02=1))
    assert {r.id for r in repo.find_for_ta1("payer-1", "000000905")} == set(batch[:2])
    assert repo.find_for_ta1("payer-2", 905) == []  # numbers are per partner
    assert {r.id for r in repo.find_for_999("payer-1", "31")} == set(batch[:2])
    assert {r.id for r in repo.find_for_999("payer-1", 31, "0001")} == set(batch[:2])
    assert [r.id for r in repo.find_for_999("payer-1", 32, 1)] == [batch[2]]
    assert repo.find_for_999("payer-1", 31, "2") == [] and repo.find_for_999("payer-1", "X1") == []

    # 277CA: by CLM01; it tells us the payer's number, which the 835 then uses
    [claim] = repo.find_for_claim_response("payer-1", patient_control_number="PCN-1", payer_claim_control_number="PAY-9")
    assert claim.id == batch[1]
    repo.set_correlation(claim.id, Correlation(payer_claim_control_number="PAY-9"))
    assert [r.id for r in repo.find_for_claim_response("payer-1", payer_claim_control_number="PAY-9")] == [batch[1]]
    assert repo.find_for_claim_response("payer-2", payer_claim_control_number="PAY-9") == []
    # a resubmission reuses CLM01: the open claim comes before the finished one
    repo.transition(batch[0], State.FAILED)
    again = repo.create(new_claim(correlation=Correlation(patient_control_number="PCN-0"))).transaction
    found = repo.find_for_claim_response("payer-1", patient_control_number="PCN-0")
    assert [r.id for r in found] == [again.id, batch[0]]
    with pytest.raises(ValueError):
        repo.find_for_claim_response("payer-1")


def test_clm01_is_stored_and_matched_as_a_keyed_digest(repo: Repository, engine: Engine) -> None:
    created = repo.create(new_claim(correlation=Correlation(patient_control_number="MRN-4711-DOE"))).transaction
    with engine.connect() as connection:
        (stored,) = connection.execute(
            text("SELECT patient_control_number_hmac FROM transactions WHERE id = :id"), {"id": created.id}).one()
        columns = {c["name"] for c in inspect(connection).get_columns("transactions")}
    assert stored == LOOKUP_KEY.clm01("MRN-4711-DOE") and "MRN" not in stored
    assert "patient_control_number" not in columns
    assert [r.id for r in repo.find_for_claim_response("payer-1", patient_control_number="MRN-4711-DOE")] == [
        created.id]
    assert [r.id for r in repo.claims_answered_by("payer-1", ["MRN-4711-DOE"], [])] == [created.id]
    repo.set_correlation(created.id, Correlation(payer_claim_control_number="PCC-1"))
    [both] = repo.claims_answered_by("payer-1", ["MRN-4711-DOE", "MRN-0000"], ["PCC-1", "PCC-2"])  # by both keys
    assert (both.id, both.correlation.payer_claim_control_number) == (created.id, "PCC-1")
    # without the key the digests say nothing: another key finds no claim
    stranger = Repository(engine, lookup_key=LookupKey(b"x" * 32))
    assert stranger.find_for_claim_response("payer-1", patient_control_number="MRN-4711-DOE") == []
    assert stranger.claims_answered_by("payer-1", ["MRN-4711-DOE"], []) == []


def test_migration_0006_replaces_stored_clm01s_by_their_digests(database_url: str, tmp_path: Path) -> None:
    migrate(database_url, "0005")
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO transactions (id, submitter_id, kind, partner_id, state, patient_control_number, "
                "attempts, created_at, updated_at) VALUES (:id, 'clinic-a', 'claim', 'payer-1', 'sent', :pcn, 0, "
                ":at, :at)"), [{"id": new_id(), "pcn": f"OLDMRN-{n:05d}", "at": datetime.now(UTC)} for n in range(1500)])
        migrate(database_url, lookup_key=LOOKUP_KEY)
        repo = Repository(engine, lookup_key=LOOKUP_KEY)
        with engine.connect() as connection:
            digests = {row[0] for row in connection.execute(text("SELECT patient_control_number_hmac FROM transactions"))}
        assert digests == {LOOKUP_KEY.clm01(f"OLDMRN-{n:05d}") for n in range(1500)}  # all batches converted
        assert len(repo.find_for_claim_response("payer-1", patient_control_number="OLDMRN-01234")) == 1
        assert repo.lookup_key_usage() == {"l1": 1500}  # 0008: the key they were made with is named
    finally:
        engine.dispose()
    if database_url.startswith("sqlite"):  # nothing of the old numbers is left in the files either
        files = list(Path(database_url.removeprefix("sqlite:///")).parent.iterdir())
        assert files and not any(b"OLDMRN" in f.read_bytes() for f in files)


def test_correlation_keys_are_checked(repo: Repository) -> None:
    with pytest.raises(ValueError, match="isa13"):
        Correlation(isa13=MAX_CONTROL_NUMBER + 1)
    with pytest.raises(ValueError, match="patient_control_number"):
        Correlation(patient_control_number="X" * 39)


# -- control numbers ---------------------------------------------------------------------------


def test_control_numbers_from_eight_threads_are_distinct_and_consecutive(engine: Engine) -> None:
    allocator = SequenceAllocator(engine)
    barrier = threading.Barrier(8)

    def take() -> list[int]:
        barrier.wait()
        return [allocator.next("payer-1", ControlKind.ISA13) for _ in range(200)]

    with ThreadPoolExecutor(8) as pool:
        numbers = [n for chunk in pool.map(lambda _: take(), range(8)) for n in chunk]
    assert len(numbers) == 1600
    assert sorted(numbers) == list(range(1, 1601))
    assert allocator.last("payer-1", ControlKind.ISA13) == 1600
    assert allocator.last("payer-1", ControlKind.GS06) == 0  # each kind counts on its own
    assert allocator.last("payer-2", ControlKind.ISA13) == 0  # and each partner


def test_envelopes_ranges_and_wrapping(engine: Engine) -> None:
    allocator = SequenceAllocator(engine)
    first = allocator.allocate_envelope("payer-1", transaction_sets=3)
    second = allocator.allocate_envelope("payer-1")
    assert (first.isa13, first.gs06, first.st02) == (1, 1, range(1, 4))
    assert (second.isa13, second.gs06, second.st02) == (2, 2, range(4, 5))
    assert allocator.allocate("payer-1", "ST02", 10) == range(5, 15)
    assert allocator.advance_to("payer-1", "ISA13", 5000) == 5000
    assert allocator.advance_to("payer-1", "ISA13", 10) == 5000  # never backwards
    assert allocator.next("payer-1", "ISA13") == 5001
    allocator.advance_to("payer-9", "GS06", MAX_CONTROL_NUMBER - 2)
    assert allocator.allocate("payer-9", "GS06", 2) == range(MAX_CONTROL_NUMBER - 1, MAX_CONTROL_NUMBER + 1)
    assert allocator.allocate("payer-9", "GS06", 2) == range(1, 3)  # nine digits, then around again
    with pytest.raises(ValueError):
        allocator.allocate("payer-1", "ISA13", 0)
    with pytest.raises(ValueError):
        allocator.allocate("payer-1", "BHT03")


def test_reserved_envelope_blocks_never_overlap_across_allocators(engine: Engine) -> None:
    """Two processes (two allocators) reserving blocks, with threads in each and a plain caller
    in between: every number is handed out once, and the store has committed each before use."""
    first, second = SequenceAllocator(engine), SequenceAllocator(engine)

    def take(allocator: SequenceAllocator) -> list[tuple[int, int, int]]:
        out = []
        for _ in range(30):
            numbers = allocator.allocate_envelope("payer-1", reserve=7)
            out.append((numbers.isa13, numbers.gs06, numbers.st02[0]))
        return out

    with ThreadPoolExecutor(4) as pool:
        chunks = list(pool.map(take, [first, second, first, second]))
    plain = first.allocate_envelope("payer-1")  # no reserve: straight from the store
    taken = [t for chunk in chunks for t in chunk] + [(plain.isa13, plain.gs06, plain.st02[0])]
    for position in range(3):
        values = [t[position] for t in taken]
        assert len(set(values)) == len(values) == 121
    committed = first.last("payer-1", ControlKind.ISA13)
    assert max(t[0] for t in taken) <= committed
    assert first.allocate_envelope("payer-1", transaction_sets=2, reserve=7).st02 == range(
        first.last("payer-1", ControlKind.ST02) - 1, first.last("payer-1", ControlKind.ST02) + 1)


CRASH_BEFORE_COMMIT = """
import sys, time
from edi.store import make_engine
from edi.store.sequences import allocate_in
engine = make_engine(sys.argv[1])
connection = engine.connect()
transaction = connection.begin()
print(allocate_in(connection, "payer-1", "ISA13")[0], flush=True)
time.sleep(60)  # killed here, before the commit
"""

CRASH_AFTER_COMMIT = """
import sys, time
from edi.store import make_engine, SequenceAllocator
print(SequenceAllocator(make_engine(sys.argv[1])).next("payer-1", "ISA13"), flush=True)
time.sleep(60)  # killed here, holding a committed number it never used
"""


def crash_after_printing(script: str, database_url: str) -> int:
    """Run ``script`` in a child process, read the number it prints, then kill -9 it."""
    child = subprocess.Popen(
        [sys.executable, "-c", script, database_url], cwd=ROOT, stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        line = child.stdout.readline() if child.stdout else ""
        assert line.strip().isdigit(), "the child did not allocate"
        return int(line)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        if child.stdout:
            child.stdout.close()


def test_a_number_is_never_reused_after_a_crash(engine: Engine, database_url: str) -> None:
    """Allocate-then-commit: uncommitted numbers were never handed out, committed ones are spent.

    A process killed between the increment and its commit never got a number from
    ``SequenceAllocator`` (which returns only after the commit): the database rolls the
    increment back and the next caller gets that number. A process killed after the commit,
    before using its number, leaves a gap: that number is never handed out again.
    """
    allocator = SequenceAllocator(engine)
    assert allocator.next("payer-1", ControlKind.ISA13) == 1

    uncommitted = crash_after_printing(CRASH_BEFORE_COMMIT, database_url)
    assert uncommitted == 2
    started = time.monotonic()
    assert allocator.next("payer-1", ControlKind.ISA13) == 2  # rolled back: never handed out
    assert time.monotonic() - started < 20  # the dead process's lock did not linger

    committed = crash_after_printing(CRASH_AFTER_COMMIT, database_url)
    assert committed == 3
    later = [allocator.next("payer-1", ControlKind.ISA13) for _ in range(20)]
    assert later == list(range(4, 24))  # 3 is consumed forever: a gap, not a reuse


def test_ids_sort_in_creation_order() -> None:
    ids = [new_id() for _ in range(20_000)]  # many per millisecond
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(len(i) == 26 and set(i) <= set("0123456789ABCDEFGHJKMNPQRSTVWXYZ") for i in ids)


def test_new_transactions_are_checked(repo: Repository) -> None:
    for bad in (
        new_claim(submitter=""), new_claim(partner="p" * 65), new_claim(idempotency_key="k" * 256),
        new_claim(callback_url="https://x/" + "a" * 2048), new_claim(request_sha256="not-a-digest"),
    ):
        with pytest.raises(ValueError):
            repo.create(bad)
    assert repo.list_transactions(TransactionFilter(ALL_SUBMITTERS)).items == []


# -- the connection pool -----------------------------------------------------------------------


def test_pooled_connections_survive_a_postgresql_restart_and_killed_backends() -> None:
    """No pre-ping round trip per checkout: a pooled connection the server ended while it sat in
    the pool (a restart, a terminated backend) is replaced on checkout, and no call fails."""
    from tests.servers.postgres import _as_server_user, _bindir, start_postgres

    with start_postgres() as server:
        url = server.create_database("restarted")
        migrate(url)
        engine = make_engine(url)
        assert not engine.pool._pre_ping  # noqa: SLF001 - what this test is about
        repo = Repository(engine, lookup_key=LOOKUP_KEY)
        ids = [repo.create(new_claim()).transaction.id for _ in range(3)]

        def busy(_n: int) -> None:  # several connections into the pool
            for transaction_id in ids:
                repo.require(transaction_id, submitter_id=ALL_SUBMITTERS)

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(busy, range(8)))
        assert engine.pool.checkedin() >= 2
        data = server.data_dir
        subprocess.run(_as_server_user([str(_bindir() / "pg_ctl"), "-D", str(data), "-l", str(data.parent / "server.log"),
                                        "-m", "fast", "-w", "-t", "60", "restart"]),
                       cwd=data.parent, check=True, capture_output=True, timeout=120)
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(busy, range(8)))
        walk(repo, ids[0], State.VALIDATED)
        with engine.connect() as connection:  # end every other backend of this database
            connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
            connection.commit()
        time.sleep(0.2)  # the terminations reach the pooled sockets
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(busy, range(8)))
        walk(repo, ids[1], State.VALIDATED)
        assert repo.require(ids[0], submitter_id=ALL_SUBMITTERS).state is State.VALIDATED
        engine.dispose()
