"""The pipeline's state changes reach the audit trail by themselves, in the same commit."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from edi.audit import AuditEntry, seal_all, verify_chain
from edi.audit.events import action_of
from edi.store import (
    ALL_SUBMITTERS,
    Kind,
    NewTransaction,
    Repository,
    State,
    Step,
    TransactionFilter,
    make_engine,
    migrate,
)
from edi.store.repository import UnexpectedStateError
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
