"""The pipeline's state changes reach the audit trail by themselves, in the same commit."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from edi.audit import AuditEntry, seal_all, verify_chain
from edi.audit.events import action_of
from edi.store import (
    ALL_SUBMITTERS,
    Correlation,
    Kind,
    NewTransaction,
    Repository,
    State,
    Step,
    TransactionFilter,
    make_engine,
    migrate,
)
from edi.store.repository import Move, UnexpectedStateError
from edi.store.states import IllegalTransitionError


@pytest.fixture
def repository(tmp_path: Path) -> Repository:
    engine = make_engine(f"sqlite:///{tmp_path / 'edi.db'}")
    migrate(engine)
    return Repository(engine)


def _trail(repository: Repository, transaction_id: str) -> list[tuple[str, str, str | None, str | None]]:
    with repository.engine.connect() as connection:
        rows = connection.execute(
            select(AuditEntry.action, AuditEntry.outcome, AuditEntry.submitter_id, AuditEntry.partner_id)
            .where(AuditEntry.transaction_id == transaction_id).order_by(AuditEntry.id)
        ).all()
    return [tuple(r) for r in rows]


def test_every_move_of_a_transaction_is_on_the_trail_and_chains(repository: Repository) -> None:
    created = repository.create(NewTransaction(submitter_id="clinic-a", kind=Kind.CLAIM), actor="api").transaction
    tid = created.id
    repository.transition(tid, State.VALIDATED, actor="intake", expected=State.RECEIVED)
    repository.transition(tid, State.QUEUED, actor="translate", expected=State.VALIDATED, partner_id="simplan")
    repository.transition(tid, State.SENT, actor="transport", detail_code="sftp:uploaded", expected=State.QUEUED)
    repository.transition(tid, State.ACKNOWLEDGED, actor="responses", detail_code="999:A")
    repository.transition(tid, State.RESPONDED, actor="responses", detail_code="277CA:A1")
    repository.transition(tid, State.DELIVERED, actor="delivery", detail_code="http:200")
    assert _trail(repository, tid) == [
        ("received", "ok", "clinic-a", None),
        ("validated", "ok", "clinic-a", None),
        ("sent", "sftp:uploaded", "clinic-a", "simplan"),  # queued is internal: left to the history
        ("acknowledged", "999:a", "clinic-a", "simplan"),
        ("responded", "277ca:a1", "clinic-a", "simplan"),
        ("delivered", "http:200", "clinic-a", "simplan"),
    ]
    assert seal_all(repository.engine) >= 6
    assert verify_chain(repository.engine).ok


def test_a_transaction_created_several_states_on_records_each_state_and_chains(repository: Repository) -> None:
    """The API's real-time path records received -> validated -> queued -> sent in one commit:
    each state still gets its own event (with its actor and time) and its own trail entry."""
    new = NewTransaction(submitter_id="clinic-a", kind=Kind.ELIGIBILITY, partner_id="simplan", document_type="270")
    created = repository.create(new, actor="api", then=[
        Step(State.VALIDATED), Step(State.QUEUED, actor="translate"), Step(State.SENT, "core:sending", "transport"),
    ]).transaction
    assert created.state is State.SENT and created.partner_id == "simplan"
    history = repository.history(created.id, submitter_id=ALL_SUBMITTERS)
    assert [(e.from_state, e.to_state, e.actor, e.detail_code) for e in history] == [
        (None, State.RECEIVED, "api", None),
        (State.RECEIVED, State.VALIDATED, "api", None),
        (State.VALIDATED, State.QUEUED, "translate", None),
        (State.QUEUED, State.SENT, "transport", "core:sending"),
    ]
    assert all(e.at == created.created_at for e in history)
    assert _trail(repository, created.id) == [
        ("received", "ok", "clinic-a", "simplan"),
        ("validated", "ok", "clinic-a", "simplan"),
        ("sent", "core:sending", "clinic-a", "simplan"),
    ]
    assert seal_all(repository.engine) >= 3
    assert verify_chain(repository.engine).ok


def test_a_creation_with_an_illegal_move_records_nothing(repository: Repository) -> None:
    new = NewTransaction(submitter_id="clinic-a", kind=Kind.ELIGIBILITY)
    with pytest.raises(IllegalTransitionError):
        repository.create(new, actor="api", then=[Step(State.VALIDATED), Step(State.DELIVERED)])
    assert repository.list_transactions(TransactionFilter(submitter_id="clinic-a")).items == []
    with repository.engine.connect() as connection:
        assert connection.execute(select(AuditEntry.id)).all() == []


def test_a_refused_move_leaves_nothing_on_the_trail(repository: Repository) -> None:
    tid = repository.create(NewTransaction(submitter_id="clinic-a", kind=Kind.CLAIM), actor="api").transaction.id
    with pytest.raises(UnexpectedStateError):
        repository.transition(tid, State.VALIDATED, actor="intake", expected=State.VALIDATED)
    assert [a for a, *_ in _trail(repository, tid)] == ["received"]


def test_rejections_and_replays_speak_the_trails_vocabulary() -> None:
    assert action_of("rejected", "check:invalid") == ("validated", "rejected:check:invalid")
    assert action_of("delivered", "delivery:replayed") == ("replayed", "delivery:replayed")
    assert action_of("queued", None) is None
    assert action_of("failed", "Has Spaces") == ("failed", "ok")
    assert action_of("delivered", "277CA:A1", "delivered") == ("responded", "277ca:a1")  # a late answer
    assert action_of("responded", "delivery:replayed", "responded") == ("replayed", "delivery:replayed")


def _entries(repository: Repository, transaction_id: str) -> list[tuple[object, ...]]:
    columns = [c for c in AuditEntry.__table__.columns if c.name not in ("id", "recorded_at", "transaction_id")]
    with repository.engine.connect() as connection:
        return [tuple(r) for r in connection.execute(
            select(*columns).where(AuditEntry.transaction_id == transaction_id).order_by(AuditEntry.id))]


def test_bulk_written_moves_get_the_entries_the_flush_hook_writes(repository: Repository) -> None:
    """``create`` and ``apply`` insert their events without the ORM's unit of work and build the
    audit entries themselves: the same entries, field for field, as moves made one by one through
    the flush hook -- control numbers learnt in the same commit included."""
    new = NewTransaction(submitter_id="clinic-a", kind=Kind.ELIGIBILITY, partner_id="simplan", document_type="270",
                         correlation=Correlation(control_number="CN-1", isa13=17, gs06=17))
    keys = Correlation(st02=3)
    bulk = repository.create(new, actor="api", then=[Step(State.VALIDATED), Step(State.QUEUED, actor="translate")])
    repository.apply([Move(bulk.transaction.id, State.SENT, "core:sending", frozenset({State.QUEUED}),
                           correlation=keys),
                      Move(bulk.transaction.id, State.RESPONDED, "271:ok"),
                      Move(bulk.transaction.id, None, "271:late")], actor="transport")
    one = repository.create(new, actor="api").transaction.id
    repository.transition(one, State.VALIDATED, actor="api")
    repository.transition(one, State.QUEUED, actor="translate")
    repository.transition(one, State.SENT, actor="transport", detail_code="core:sending", correlation=keys)
    repository.transition(one, State.RESPONDED, actor="transport", detail_code="271:ok")
    repository.apply([Move(one, None, "271:late")], actor="transport")
    entries = _entries(repository, bulk.transaction.id)
    assert entries == _entries(repository, one)
    assert len(entries) == 5 and entries[2][6:10] == ("CN-1", 17, 17, 3)  # the sent entry has the new ST02
    history = repository.history(bulk.transaction.id, submitter_id=ALL_SUBMITTERS)
    with repository.engine.connect() as connection:
        times = connection.execute(select(AuditEntry.recorded_at).where(
            AuditEntry.transaction_id == bulk.transaction.id).order_by(AuditEntry.id)).scalars().all()
    assert times == [e.at for e in history if e.to_state is not State.QUEUED]
    assert seal_all(repository.engine) == 10
    assert verify_chain(repository.engine).ok
