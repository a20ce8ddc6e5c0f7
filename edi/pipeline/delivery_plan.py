"""What the delivery stage owes a requester: stored response documents not yet delivered.

The store is the record of delivery: a document counts as delivered once an attempt for its
``webhook-id`` succeeded. The delivery stage sends the rest in the order they were made, and
when the final one is through the transaction ends ``delivered``. After the last retry a
document is dead-lettered and the transaction fails; ``edi replay`` sends it again later.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from edi.pipeline.context import Pipeline
from edi.pipeline.notices import read_notice, webhook_id_of
from edi.store import (
    ALL_SUBMITTERS,
    DeliveryAttempt,
    IllegalTransitionError,
    PayloadRecord,
    State,
    TransactionRecord,
)
from edi.store.models import DeliveryOutcome, PayloadKind

__all__ = [
    "Pending",
    "dead_lettered",
    "final_delivered",
    "finish",
    "holder_name",
    "leased",
    "pending",
    "pending_many",
    "record_attempt",
    "renew",
]

ACTOR = "delivery"


def holder_name() -> str:
    """A lease holder's name: unique per sender, readable enough to tell which host and process."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


@contextmanager
def leased(pipeline: Pipeline, transaction_ids: Sequence[str], holder: str) -> Iterator[set[str]]:
    """Hold the delivery lease of as many of ``transaction_ids`` as are free; yields those held.

    Only a lease holder reads what is owed and sends it, so two workers with messages for the
    same transaction never POST the same document at the same time. The others are another
    sender's now: they are scheduled a moment later (``delivery_busy_retry``), when the sweeper
    queues them again, so a document the holder read too early to see still goes out. A holder
    killed mid-send leaves its lease to expire (``delivery_lease``): its documents are sent
    again after that under the same webhook-ids, at least once.
    """
    ids = list(dict.fromkeys(transaction_ids))
    held = pipeline.repository.lease_deliveries(ids, holder, pipeline.timings.delivery_lease)
    busy = [i for i in ids if i not in held]
    if busy:
        pipeline.repository.remind(busy, pipeline.later(pipeline.timings.delivery_busy_retry))
    try:
        yield held
    finally:
        pipeline.repository.release_deliveries(sorted(held), holder)


def renew(pipeline: Pipeline, transaction_ids: Sequence[str], holder: str) -> None:
    """Keep leases while their callbacks are still being sent."""
    pipeline.repository.renew_deliveries(transaction_ids, holder, pipeline.timings.delivery_lease)


@dataclass(frozen=True, slots=True)
class Pending:
    record: PayloadRecord
    webhook_id: str
    body: bytes
    data: dict[str, Any]
    attempts_so_far: int
    dead_lettered: bool

    @property
    def final(self) -> bool:
        return bool(self.data.get("data", {}).get("final"))


def pending(pipeline: Pipeline, transaction: TransactionRecord, *, include_dead: bool = False) -> list[Pending]:
    """Response documents not yet delivered, oldest first (dead-lettered ones only if asked)."""
    documents = [
        p for p in pipeline.repository.payloads(transaction.id, submitter_id=ALL_SUBMITTERS)
        if p.kind is PayloadKind.RESPONSE_JSON
    ]
    if not documents:
        return []
    attempts = pipeline.repository.deliveries(transaction.id, submitter_id=ALL_SUBMITTERS)
    return _owed(pipeline, documents, attempts, include_dead)


def pending_many(pipeline: Pipeline, transaction_ids: list[str]) -> dict[str, list[Pending]]:
    """``pending`` for a group of transactions, in two queries of one read transaction
    (dead-lettered documents left out)."""
    documents, attempts = pipeline.repository.payloads_and_deliveries_of(transaction_ids, PayloadKind.RESPONSE_JSON)
    return {i: _owed(pipeline, documents[i], attempts[i], False) for i in attempts}


def _owed(pipeline: Pipeline, documents: list[PayloadRecord], attempts: list[Any], include_dead: bool,
          ) -> list[Pending]:
    """The documents of one transaction still to send, with their attempt counts.

    The attempts are gone through once, not once per document. A document whose own payload has
    a successful attempt (every attempt names the payload it sent) is passed over at once,
    without working out its webhook-id again: by a claim's 835 its 999 and 277CA are delivered,
    and re-examining them was most of this function's work. A document whose payload has none
    is still matched by webhook-id, which a document identical to a delivered one shares.
    """
    sent_payloads: set[str | None] = set()
    sent: set[str] = set()
    dead: set[str] = set()
    tries: dict[str, int] = {}
    for attempt in attempts:
        webhook_id = attempt.webhook_id
        tries[webhook_id] = tries.get(webhook_id, 0) + 1
        if attempt.outcome is DeliveryOutcome.SUCCEEDED:
            sent.add(webhook_id)
            sent_payloads.add(attempt.payload_id)
        elif attempt.outcome is DeliveryOutcome.DEAD_LETTERED:
            dead.add(webhook_id)
    out = []
    for document in documents:
        if document.id in sent_payloads:
            continue
        webhook_id = webhook_id_of(document)
        if webhook_id in sent:
            continue
        is_dead = webhook_id in dead
        if is_dead and not include_dead:
            continue
        raw, data = read_notice(pipeline, document)
        out.append(Pending(document, webhook_id, raw, data, tries.get(webhook_id, 0), is_dead))
    return out


def final_delivered(pipeline: Pipeline, transaction: TransactionRecord) -> bool:
    """True when the final response document got through. Its attempt and the move to
    ``delivered`` are two commits: a worker killed between them leaves a transaction that owes
    nothing yet is not done, and the redelivered message must finish it."""
    succeeded = {a.webhook_id for a in pipeline.repository.deliveries(transaction.id, submitter_id=ALL_SUBMITTERS)
                 if a.outcome is DeliveryOutcome.SUCCEEDED}
    delivered = [d for d in pipeline.repository.payloads(transaction.id, submitter_id=ALL_SUBMITTERS)
                 if d.kind is PayloadKind.RESPONSE_JSON and webhook_id_of(d) in succeeded]
    return any(read_notice(pipeline, d)[1].get("data", {}).get("final") for d in delivered)


def record_attempt(
    pipeline: Pipeline, item: Pending, target: str, number: int, outcome: DeliveryOutcome,
    *, status: int | None = None, error: str | None = None, next_at: datetime | None = None,
) -> None:
    pipeline.repository.record_delivery(DeliveryAttempt(
        transaction_id=item.record.transaction_id, webhook_id=item.webhook_id, target=target[:2048],
        attempt=number, outcome=outcome, status_code=status, error_code=error, payload_id=item.record.id,
        next_attempt_at=next_at,
    ))


def finish(pipeline: Pipeline, transaction: TransactionRecord, detail: str) -> TransactionRecord | None:
    """Mark the transaction delivered once its final document is through (or nothing is owed)."""
    current = pipeline.repository.require(transaction.id, submitter_id=ALL_SUBMITTERS)
    if current.state in (State.DELIVERED, State.REJECTED):
        return current
    if current.state is State.FAILED:
        last = pipeline.repository.history(current.id, submitter_id=ALL_SUBMITTERS)[-1]
        if last.detail_code != "delivery:dead-lettered":
            return current  # failed for another reason: the failure notice went out, that is all
    try:
        return pipeline.repository.transition(current.id, State.DELIVERED, actor=ACTOR, detail_code=detail)
    except IllegalTransitionError:
        # Another worker delivering the same transaction's answers finished it between our read
        # and our move (both hold the same webhook-ids): done either way.
        latest = pipeline.repository.require(transaction.id, submitter_id=ALL_SUBMITTERS)
        if latest.state is State.DELIVERED:
            return latest
        raise


def dead_lettered(pipeline: Pipeline, transaction: TransactionRecord) -> None:
    current = pipeline.repository.require(transaction.id, submitter_id=ALL_SUBMITTERS)
    if not current.terminal:
        pipeline.repository.transition(current.id, State.FAILED, actor=ACTOR, detail_code="delivery:dead-lettered")
