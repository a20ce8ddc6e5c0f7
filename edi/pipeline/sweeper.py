"""The sweeper: the store, not the queues, decides what still has to happen.

Queues lose nothing once a message is in them, but some work is scheduled in the store instead
(a retry after a backoff, a batch window, a delivery retry) and some transactions may have no
message at all (the API's real-time path drives a request itself; a process killed between two
commits). Every few seconds the sweeper re-queues transactions whose time has come and those
left untouched too long in a state where the pipeline owes them work. Handlers are idempotent,
so a transaction queued twice is harmless.
"""

from __future__ import annotations

from datetime import timedelta

from edi.pipeline.context import Pipeline
from edi.pipeline.topics import Stage, message
from edi.store import Kind, OutboxMessage, State, TransactionRecord

__all__ = ["next_message", "sweep"]

# States in which a transaction waits for the pipeline (not for a partner or a requester).
_OWED = frozenset({State.RECEIVED, State.VALIDATED, State.QUEUED})
# What ``sweep`` re-queues when stale, asked of the store as such: the claims waiting on a payer
# (sent, acknowledged) would otherwise be read on every sweep, and could fill its limit.
_STALE: dict[State, Kind | None] = {**dict.fromkeys(_OWED), State.SENT: Kind.ELIGIBILITY}


def next_message(record: TransactionRecord) -> OutboxMessage | None:
    """The message that moves ``record`` on from its current state, if the pipeline owes one."""
    state = record.state
    if state is State.RECEIVED:
        return message(Stage.INTAKE, record.id)
    if state is State.VALIDATED:
        return message(Stage.TRANSLATE, record.id)
    if state is State.QUEUED:
        if record.kind is Kind.CLAIM and record.correlation.isa13 is None:
            return message(Stage.OUTBOX, record.id, partner_id=record.partner_id)
        if record.kind is Kind.CLAIM:
            return message(Stage.TRANSPORT, record.id, partner_id=record.partner_id, isa13=record.correlation.isa13)
        return message(Stage.TRANSPORT, record.id)
    if state is State.SENT and record.kind is Kind.ELIGIBILITY:
        return message(Stage.TRANSPORT, record.id)  # the transport fails it once the budget is gone
    if state in (State.ACKNOWLEDGED, State.RESPONDED) or record.terminal:
        # terminal: only reached through ``due`` (a delivery scheduled for it), never as stale
        return message(Stage.DELIVERY, record.id)
    return None


def _dedupe(records: list[TransactionRecord]) -> list[tuple[TransactionRecord, OutboxMessage]]:
    """One message per transaction, one per 837 batch (its claims share the transport message)."""
    seen: set[tuple[str, ...]] = set()
    out = []
    for record in records:
        found = next_message(record)
        if found is None:
            continue
        key: tuple[str, ...] = (found.topic, record.id)
        if found.topic == Stage.TRANSPORT.value and record.kind is Kind.CLAIM:
            key = (found.topic, str(record.partner_id), str(record.correlation.isa13))
        elif found.topic == Stage.OUTBOX.value:
            key = (found.topic, str(record.partner_id))
        if key in seen:
            continue
        seen.add(key)
        out.append((record, found))
    return out


def sweep(pipeline: Pipeline, *, limit: int = 500) -> int:
    """Queue what is due or stale; returns the number of messages queued."""
    repository = pipeline.repository
    now = pipeline.now()
    queued = 0
    due = repository.due(now, limit=limit)
    if due:
        pairs = _dedupe(due)
        repository.schedule([r.id for r in due], None, outbox=[m for _, m in pairs])
        queued += len(pairs)
    before = now - timedelta(seconds=pipeline.timings.stale_after)
    stale = [
        r for r in repository.stale(before, limit=limit, states=_STALE)
        if r.state in _OWED or (r.state is State.SENT and r.kind is Kind.ELIGIBILITY)
    ]
    if stale:
        pairs = _dedupe(stale)
        repository.enqueue([m for _, m in pairs])
        repository.touch([r.id for r in stale])
        queued += len(pairs)
    return queued
