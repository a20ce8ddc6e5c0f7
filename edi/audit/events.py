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
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

import edi.audit.models as audit  # as a module: edi.store imports this one while edi.audit.models loads
from edi.store.models import Transaction, TransactionEvent, utcnow
from edi.store.states import State

__all__ = ["action_of", "entry_values", "install"]

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


@lru_cache(maxsize=4096)
def action_of(to_state: str, detail_code: str | None, from_state: str | None = None) -> tuple[str, str] | None:
    """(action, outcome) of a move (``edi.audit.models.AuditAction`` values), or None for a move
    the trail leaves out.

    Memoised: its arguments are a handful of states and code-like detail codes that repeat on
    every claim (about seven entries each), and the answer is a pure function of them."""
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
    """The audit entry's columns for one event (a ``TransactionEvent``, an object with its
    attributes, or a mapping of its column values) of ``transaction`` (the row as it commits, an
    ORM row or its column values; None when not at hand), or None for a move the trail leaves
    out. The flush hook and the repository's bulk writes (``Repository._add_events``) both build entries
    here, so an entry says the same whichever way its event was written."""
    field = _reader(event)
    found = action_of(field("to_state"), field("detail_code"), field("from_state"))
    if found is None:
        return None
    action, outcome = found
    column = _reader(transaction)
    return {
        "recorded_at": field("at") or utcnow(), "kind": audit.AuditKind.EVENT.value,
        "action": _action_value(action), "actor": _actor(field("actor")),
        "outcome": outcome, "transaction_id": field("transaction_id"),
        "submitter_id": column("submitter_id"), "partner_id": column("partner_id"),
        "control_number": _id_or_none(column("control_number")),
        "isa13": column("isa13"), "gs06": column("gs06"), "st02": column("st02"),
    }


@lru_cache(maxsize=64)
def _action_value(action: str) -> str:
    return audit.AuditAction(action).value  # a ValueError for an action the trail does not know


@lru_cache(maxsize=1024)  # stage names and principals: few, and the same on every entry
def _actor(actor: str | None) -> str:
    return actor if actor and _ACTOR.fullmatch(actor) else "pipeline"


def _reader(source: Any) -> Any:
    if isinstance(source, Mapping):
        return source.get
    return lambda name: getattr(source, name, None)


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
