"""The life of a transaction: its states and the only moves allowed between them.

Every stage of the pipeline moves a transaction forward through the repository, which checks
the move here first, so a bug or a replayed message can never drag a transaction backwards
or revive a finished one. The moves::

    received      -> validated | rejected
    validated     -> queued
    queued        -> sent
    sent          -> acknowledged | responded
    acknowledged  -> acknowledged | responded | delivered
    responded     -> responded (claims only) | delivered
    every state that is not terminal -> failed

* ``acknowledged`` repeats: a TA1 and then a 999 may both arrive for the same interchange.
* ``sent -> responded`` directly: a real-time 271 needs no acknowledgment first.
* ``responded`` repeats for claims only: after the 999 a claim gets a 277CA and, later, an
  835; each response is a payload of its own and is delivered on its own (``deliveries``).
  The transaction reaches ``delivered`` once its final response has been delivered.
* ``acknowledged -> delivered``: the acknowledgment was the final answer (a 999 or TA1 that
  rejects the transaction) and has been delivered to the requester.

Terminal states are ``rejected``, ``delivered`` and ``failed``; everything else is resumed
after a crash. Errors name states and kinds, never anything from the payload.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "NON_TERMINAL",
    "TERMINAL",
    "IllegalTransitionError",
    "Kind",
    "State",
    "allowed_targets",
    "check_transition",
    "is_terminal",
]


class Kind(StrEnum):
    """What the requester asked for."""

    ELIGIBILITY = "eligibility"  # 270 out, 271 back
    CLAIM = "claim"  # 837P/837I out, 999, 277CA and 835 back


class State(StrEnum):
    RECEIVED = "received"
    VALIDATED = "validated"
    REJECTED = "rejected"
    QUEUED = "queued"
    SENT = "sent"
    ACKNOWLEDGED = "acknowledged"
    RESPONDED = "responded"
    DELIVERED = "delivered"
    FAILED = "failed"


TERMINAL: frozenset[State] = frozenset({State.REJECTED, State.DELIVERED, State.FAILED})
NON_TERMINAL: frozenset[State] = frozenset(State) - TERMINAL

_FORWARD: dict[State, frozenset[State]] = {
    State.RECEIVED: frozenset({State.VALIDATED, State.REJECTED}),
    State.VALIDATED: frozenset({State.QUEUED, State.REJECTED}),  # rejected: no partner takes it
    State.QUEUED: frozenset({State.SENT}),
    # sent -> queued: the transport learnt for certain that nothing reached the partner
    # (connection refused, circuit open), so it may be sent again.
    State.SENT: frozenset({State.ACKNOWLEDGED, State.RESPONDED, State.QUEUED}),
    State.ACKNOWLEDGED: frozenset({State.ACKNOWLEDGED, State.RESPONDED, State.DELIVERED}),
    State.RESPONDED: frozenset({State.RESPONDED, State.DELIVERED}),
}


class IllegalTransitionError(Exception):
    """A move the state machine does not allow. Carries states and kind only."""

    def __init__(self, kind: Kind, current: State, target: State, transaction_id: str | None = None) -> None:
        self.kind, self.current, self.target, self.transaction_id = kind, current, target, transaction_id
        where = f"transaction {transaction_id}" if transaction_id else "a transaction"
        super().__init__(f"{where} ({kind.value}) cannot move from {current.value} to {target.value}")


def is_terminal(state: State | str) -> bool:
    return State(state) in TERMINAL


def allowed_targets(kind: Kind | str, current: State | str) -> frozenset[State]:
    """Every state a transaction of ``kind`` may move to from ``current``.

    Terminal states are final but for one move: a response whose callback was dead-lettered
    (failed) becomes delivered when ``edi replay`` gets it through.
    """
    kind, current = Kind(kind), State(current)
    if current is State.FAILED:
        return frozenset({State.DELIVERED})
    if current in TERMINAL:
        return frozenset()
    targets = _FORWARD[current] | {State.FAILED}
    if current is State.RESPONDED and kind is not Kind.CLAIM:
        targets -= {State.RESPONDED}
    if current is State.QUEUED and kind is Kind.CLAIM:
        targets |= {State.REJECTED}  # the 837 cannot carry it (found when its batch is built)
    return targets


def check_transition(
    kind: Kind | str, current: State | str, target: State | str, transaction_id: str | None = None
) -> None:
    """Raise ``IllegalTransitionError`` unless ``current -> target`` is allowed for ``kind``."""
    kind, current, target = Kind(kind), State(current), State(target)
    if target not in allowed_targets(kind, current):
        raise IllegalTransitionError(kind, current, target, transaction_id)
