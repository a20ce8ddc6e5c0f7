"""Every state change the pipeline commits goes on the audit trail, in the same transaction.

The stages move transactions through ``edi.store.Repository``, which writes one
``TransactionEvent`` per move. Rather than asking every stage (and every future one) to also
write an audit entry, a ``before_flush`` hook on the ORM session turns each new event into an
``AuditEntry`` in the same flush: the trail can never miss a move that committed, nor claim one
that rolled back, and no call site can forget it. The entry holds what the event and the
transaction row already hold -- ids, states, detail codes, control numbers -- never PHI.

Which audit action a state is: the trail speaks the issue's vocabulary (received, validated,
sent, acknowledged, responded, delivered, failed, replayed). A rejection is a validation whose
outcome is ``rejected``; ``queued`` is the pipeline's internal hand-over between stages and is
left to the transaction's own history.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

import edi.audit.models as audit  # as a module: edi.store imports this one while edi.audit.models loads
from edi.store.models import Transaction, TransactionEvent, utcnow
from edi.store.states import State

__all__ = ["action_of", "entries_for", "entry_values", "install"]

_ACTIONS: dict[str, tuple[str, str | None]] = {
    State.RECEIVED.value: ("received", None),
    State.VALIDATED.value: ("validated", None),
    State.REJECTED.value: ("validated", "rejected"),
    State.SENT.value: ("sent", None),
    State.ACKNOWLEDGED.value: ("acknowledged", None),
    State.RESPONDED.value: ("responded", None),
    State.DELIVERED.value: ("delivered", None),
    State.FAILED.value: ("failed", None),
}
# An answer that lands after a later one leaves the state as it is (a same-state event): its action
# is what the answer is, not the state the transaction happens to be in.
_ANSWER_ACTIONS = {"ta1": "acknowledged", "999": "acknowledged", "271": "responded", "277ca": "responded",
                   "835": "responded"}
_CODE = re.compile(r"[a-z0-9][a-z0-9_.:-]{0,63}")
_ACTOR = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@/+-]{0,127}")


def action_of(to_state: str, detail_code: str | None, from_state: str | None = None) -> tuple[str, str] | None:
    """(action, outcome) of a move (``edi.audit.models.AuditAction`` values), or None for a move
    the trail leaves out."""
    found = _ACTIONS.get(to_state)
    if found is None:
        return None
    action, outcome = found
    detail = (detail_code or "").lower()
    if from_state == to_state:
        answer = _ANSWER_ACTIONS.get(detail.split(":", 1)[0])
        if answer is not None:
            action, outcome = answer, None
    if "replay" in detail:
        action = "replayed"
    if outcome is None:
        outcome = detail if _CODE.fullmatch(detail) else "ok"
    elif _CODE.fullmatch(f"{outcome}:{detail}"):
        outcome = f"{outcome}:{detail}" if detail else outcome
    return action, outcome


def entry_values(event: Any, transaction: Any) -> dict[str, Any] | None:
    """The audit entry's columns for one event (an object with ``TransactionEvent``'s attributes)
    of ``transaction`` (the row as it commits; None when not at hand), or None for a move the
    trail leaves out. The flush hook and the repository's bulk writes (``entries_for``) both build
    entries here, so an entry says the same whichever way its event was written."""
    found = action_of(event.to_state, event.detail_code, event.from_state)
    if found is None:
        return None
    action, outcome = found
    actor = event.actor if event.actor and _ACTOR.fullmatch(event.actor) else "pipeline"
    return {
        "recorded_at": event.at or utcnow(), "kind": audit.AuditKind.EVENT.value,
        "action": audit.AuditAction(action).value, "actor": actor, "outcome": outcome,
        "transaction_id": event.transaction_id,
        "submitter_id": getattr(transaction, "submitter_id", None),
        "partner_id": getattr(transaction, "partner_id", None),
        "control_number": _id_or_none(getattr(transaction, "control_number", None)),
        "isa13": getattr(transaction, "isa13", None), "gs06": getattr(transaction, "gs06", None),
        "st02": getattr(transaction, "st02", None),
    }


def entries_for(events: Iterable[Any], transactions: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Audit entry rows for events written without the ORM's unit of work (a bulk insert the
    flush hook does not see), each with its transaction's row as it commits."""
    return [v for e in events if (v := entry_values(e, transactions.get(e.transaction_id))) is not None]


def _entry(session: Session, row: TransactionEvent) -> Any:
    transaction = session.identity_map.get(identity_key(Transaction, row.transaction_id))
    values = entry_values(row, transaction)
    return None if values is None else audit.AuditEntry(**values)


def _id_or_none(value: str | None) -> str | None:
    return value if value and len(value) <= 50 and _ACTOR.fullmatch(value) else None


def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    entries = [e for row in session.new if isinstance(row, TransactionEvent) if (e := _entry(session, row))]
    session.add_all(entries)


def install() -> None:
    """Hook every ORM session (idempotent); ``edi.store`` calls it on import."""
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)
