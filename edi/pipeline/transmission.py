"""The transport stage's bookkeeping: what to send, and what the store must say before and after.

The rule that keeps a partner from getting anything twice: a 270 is marked ``sent`` *before*
the CORE call. If the call fails in a way that proves nothing arrived (connection refused,
circuit open, HTTP 503), it goes back to ``queued`` with a retry time; if the outcome is
unknown (a crash mid-call, a timeout after sending) it is never sent again -- it fails once the
CORE response budget has passed. An 837 batch is uploaded under a file name fixed by its ISA13
and marked ``sent`` after the upload; a crash in between uploads the same interchange again,
which the partner discards as a duplicate (TA1 note 025) -- the one case two sends can happen,
and the reason interchange control numbers are unique per partner.

The network calls themselves live in ``connectors/``; these functions only read and write the
store, so the API's real-time path and the transport worker share them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from edi.mappers.eligibility import x12_271_to_responses
from edi.partners import TradingPartner
from edi.pipeline.batching import batch_file_name
from edi.pipeline.context import Pipeline
from edi.pipeline.notices import EventType, notice
from edi.pipeline.topics import Stage, message
from edi.reports.reasons import detail_271
from edi.responses import eligibility_keys_271
from edi.store import ALL_SUBMITTERS, Kind, Move, PayloadAttachment, State, TransactionRecord
from edi.store.models import PayloadKind
from edi.store.repository import UnexpectedStateError
from edi.x12.validator import validate

__all__ = [
    "BatchSend",
    "RealtimeSend",
    "batch_not_sent",
    "batch_sent",
    "batch_to_send",
    "begin_realtime",
    "begin_realtime_many",
    "fail",
    "realtime_answered",
    "realtime_answered_many",
    "realtime_not_sent",
]

log = logging.getLogger(__name__)
ACTOR = "transport"


@dataclass(frozen=True, slots=True)
class RealtimeSend:
    transaction: TransactionRecord
    partner: TradingPartner
    x12: str


@dataclass(frozen=True, slots=True)
class BatchSend:
    partner: TradingPartner
    document_type: str
    isa13: int
    file_name: str
    data: bytes
    members: list[TransactionRecord]  # the claims still waiting to be sent


def fail(pipeline: Pipeline, transactions: list[TransactionRecord], code: str, description: str,
         *, expected: frozenset[State] = frozenset()) -> list[TransactionRecord]:
    """Fail transactions for good, each with a final notice saying why (no PHI in ``description``)."""
    moves = []
    for record in transactions:
        note = notice(pipeline, record, EventType.FAILED, document_type=record.document_type or record.kind.value,
                      final=True, status="failed", errors=[{"field": "", "description": description, "code": code}])
        moves.append(Move(record.id, State.FAILED, code, expected, attach=[note.attachment], outbox=[note.delivery],
                          skip_refused=True))
    return pipeline.repository.apply(moves, actor=ACTOR)


def _gave_up(pipeline: Pipeline, record: TransactionRecord) -> bool:
    limit = pipeline.timings.transport_max_attempts
    if limit and record.attempts + 1 >= limit:
        return True
    return pipeline.now() - record.created_at >= timedelta(seconds=pipeline.timings.transport_give_up_after)


# -- real time (270 over CAQH CORE) ----------------------------------------------------------------


def begin_realtime(pipeline: Pipeline, transaction_id: str) -> RealtimeSend | None:
    """The 270 to send now, with the transaction marked sent; None if there is nothing to send.

    A transaction found already ``sent`` is one whose earlier call ended unseen (a crash): it is
    failed once the response budget has passed, never sent again.
    """
    record = pipeline.repository.require(transaction_id, submitter_id=ALL_SUBMITTERS)
    if record.kind is not Kind.ELIGIBILITY:
        raise ValueError("begin_realtime is for eligibility requests")
    if record.state is State.SENT:
        budget = timedelta(seconds=pipeline.timings.realtime_budget)
        if pipeline.now() - record.updated_at >= budget:
            fail(pipeline, [record], "core:no-response", "the payer did not answer within the CORE time limit",
                 expected=frozenset({State.SENT}))
        return None
    if record.state is not State.QUEUED or record.partner_id is None:
        return None
    if pipeline.now() - record.created_at >= timedelta(seconds=pipeline.timings.transport_give_up_after):
        fail(pipeline, [record], "core:gave-up", "the payer could not be reached", expected=frozenset({State.QUEUED}))
        return None
    outbound = pipeline.payload_of(record.id, PayloadKind.OUTBOUND_X12, "270")
    if outbound is None:
        raise LookupError(f"transaction {record.id} is queued without its 270")
    text = pipeline.read(outbound).decode("utf-8", "surrogateescape")
    try:
        sent = pipeline.repository.transition(
            record.id, State.SENT, actor=ACTOR, detail_code="core:sending", expected=State.QUEUED,
            attempts=record.attempts,
        )
    except UnexpectedStateError:
        # Another process (the API's real-time path, a transport worker) took the 270 between our
        # read and this move: it sends it, so there is nothing to send here.
        return None
    return RealtimeSend(sent, pipeline.partners.partner(record.partner_id), text)


def begin_realtime_many(pipeline: Pipeline, records: list[TransactionRecord]) -> list[RealtimeSend]:
    """``begin_realtime`` for a group: the 270s read in one query and every transaction marked
    sent, each with its own event, in one commit before any call. Transactions not simply
    ``queued`` (found sent after a crash, given up, moved meanwhile) go through ``begin_realtime``
    one by one, which applies the same rules."""
    ready: list[TransactionRecord] = []
    sends: list[RealtimeSend] = []
    give_up = timedelta(seconds=pipeline.timings.transport_give_up_after)
    now = pipeline.now()
    for record in records:
        if record.kind is Kind.ELIGIBILITY and record.state is State.QUEUED and record.partner_id is not None \
                and now - record.created_at < give_up:
            ready.append(record)
        else:
            send = begin_realtime(pipeline, record.id)
            if send is not None:
                sends.append(send)
    if not ready:
        return sends
    found = pipeline.repository.payloads_of([r.id for r in ready], PayloadKind.OUTBOUND_X12)
    texts: dict[str, str] = {}
    for record in ready:
        outbound = next((p for p in reversed(found.get(record.id) or []) if p.document_type == "270"), None)
        if outbound is None:
            raise LookupError(f"transaction {record.id} is queued without its 270")
        texts[record.id] = pipeline.read(outbound).decode("utf-8", "surrogateescape")
    moved = pipeline.repository.apply(
        [Move(r.id, State.SENT, "core:sending", frozenset({State.QUEUED}), skip_refused=True, attempts=r.attempts)
         for r in ready],
        actor=ACTOR,
    )
    # One that another process took meanwhile (the API's real-time path, another transport
    # worker) is not in ``moved``: that process sends it.
    sends.extend(RealtimeSend(sent, pipeline.partners.partner(sent.partner_id), texts[sent.id])  # type: ignore[arg-type]
                 for sent in moved)
    return sends


def realtime_not_sent(pipeline: Pipeline, send: RealtimeSend, code: str, *, retry_after: float | None = None) -> TransactionRecord:
    """Nothing reached the partner: back to queued, to be tried again after a backoff."""
    record = send.transaction
    if _gave_up(pipeline, record):
        return fail(pipeline, [record], "core:gave-up", "the payer could not be reached",
                    expected=frozenset({State.SENT}))[0]
    attempt = record.attempts + 1
    delay = pipeline.backoff(attempt, pipeline.timings.transport_retry_base, pipeline.timings.transport_retry_cap)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return pipeline.repository.transition(
        record.id, State.QUEUED, actor=ACTOR, detail_code=code, expected=State.SENT,
        due_at=pipeline.later(delay), attempts=attempt,
    )


def realtime_answered(
    pipeline: Pipeline, send: RealtimeSend, x12_271: str, *, delivered_inline: bool = False
) -> tuple[TransactionRecord, dict[str, Any]]:
    """Record the partner's 271 and the response document; with ``delivered_inline`` (the API
    returns it to the caller) the transaction ends delivered, else it goes to the delivery stage."""
    with pipeline.payloads.deferred_sync():  # both files durable with one flush, before the commit
        answer = _answer(pipeline, send, x12_271, delivered_inline=delivered_inline)
    if answer is None:
        [failed] = fail(pipeline, [send.transaction], "core:invalid-271", "the payer's answer could not be read",
                        expected=frozenset({State.SENT}))
        return failed, {}
    moves, body = answer
    moved = pipeline.repository.apply(moves, actor=ACTOR)
    return moved[-1], body


def realtime_answered_many(pipeline: Pipeline, answers: list[tuple[RealtimeSend, str]]) -> list[TransactionRecord]:
    """``realtime_answered`` for a group of exchanges (the transport worker's): every 271 and
    response document made durable with one flush, then each transaction's move to ``responded``,
    with its own event and delivery message, in one commit. An unreadable 271 fails its own
    transaction only."""
    readable: list[Move] = []
    unreadable: list[TransactionRecord] = []
    with pipeline.payloads.deferred_sync():
        for send, x12_271 in answers:
            answer = _answer(pipeline, send, x12_271, delivered_inline=False)
            if answer is None:
                unreadable.append(send.transaction)
            else:
                readable.extend(answer[0])
    if unreadable:
        fail(pipeline, unreadable, "core:invalid-271", "the payer's answer could not be read",
             expected=frozenset({State.SENT}))
    return pipeline.repository.apply(readable, actor=ACTOR) if readable else []


def _answer(pipeline: Pipeline, send: RealtimeSend, x12_271: str, *,
            delivered_inline: bool) -> tuple[list[Move], dict[str, Any]] | None:
    """The moves that record a 271 (its files stored, inside the caller's ``deferred_sync``) and
    the response document; None when the 271 cannot be read."""
    record = send.transaction
    raw = x12_271.encode("utf-8", "surrogateescape")
    report = validate(raw)
    try:
        responses = x12_271_to_responses(raw)
    except Exception as error:  # a 271 we cannot read is the partner's fault, not a retry case
        log.warning("transaction %s: unreadable 271 (%s)", record.id, type(error).__name__)
        responses = []
    if not responses:
        return None
    chosen = next(
        (r for r in responses if any(k.trace_number == record.correlation.trn_trace for k in eligibility_keys_271(r))),
        responses[0],
    )
    body = chosen.model_dump(mode="json", by_alias=True, exclude_none=True)
    status = "complete" if report.accepted and not body.get("errors") else "errors"
    inbound = pipeline.payloads.put(raw)
    note = notice(pipeline, record, EventType.ELIGIBILITY, document_type="271", final=True, status=status,
                  response=body)
    attach = [PayloadAttachment(PayloadKind.INBOUND_X12, inbound, "271"), note.attachment]
    moves = [Move(record.id, State.RESPONDED, detail_271(body.get("errors", ())), frozenset({State.SENT}), attach=attach,
                  outbox=[] if delivered_inline else [note.delivery])]
    if delivered_inline:
        moves.append(Move(record.id, State.DELIVERED, "api:sync"))
    return moves, note.body


# -- batches (837 over SFTP) ---------------------------------------------------------------------


def batch_to_send(pipeline: Pipeline, transaction_id: str) -> BatchSend | None:
    """The batch file a transport message points at, with the claims still to be marked sent."""
    record = pipeline.repository.require(transaction_id, submitter_id=ALL_SUBMITTERS)
    isa13 = record.correlation.isa13
    if record.kind is not Kind.CLAIM or record.partner_id is None or isa13 is None:
        return None
    members = pipeline.repository.batch_members(record.partner_id, isa13)
    pending = [m for m in members if m.state is State.QUEUED]
    if not pending:
        return None
    outbound = pipeline.payload_of(record.id, PayloadKind.OUTBOUND_X12)
    if outbound is None or outbound.document_type is None:
        raise LookupError(f"batch {isa13} of partner {record.partner_id} has no stored file")
    partner = pipeline.partners.partner(record.partner_id)
    return BatchSend(partner, outbound.document_type, isa13,
                     batch_file_name(partner.id, outbound.document_type, isa13), pipeline.read(outbound), pending)


def batch_sent(pipeline: Pipeline, batch: BatchSend) -> list[TransactionRecord]:
    moves = [Move(m.id, State.SENT, "sftp:uploaded", frozenset({State.QUEUED}), skip_refused=True)
             for m in batch.members]
    return pipeline.repository.apply(moves, actor=ACTOR)


def batch_not_sent(pipeline: Pipeline, batch: BatchSend, code: str) -> None:
    """The upload failed: try again after a backoff (the partner may be down for a while)."""
    oldest = min(batch.members, key=lambda m: m.created_at)
    attempt = max(m.attempts for m in batch.members) + 1
    if _gave_up(pipeline, oldest):
        fail(pipeline, batch.members, "sftp:gave-up", "the payer's mailbox could not be reached",
             expected=frozenset({State.QUEUED}))
        return
    delay = pipeline.backoff(attempt, pipeline.timings.transport_retry_base, pipeline.timings.transport_retry_cap)
    log.warning("batch %09d for partner %s not sent (%s); retry %d in %.1f s", batch.isa13, batch.partner.id,
                code, attempt, delay)
    pipeline.repository.schedule([m.id for m in batch.members], pipeline.later(delay), count_attempt=True)


def transport_message(record: TransactionRecord) -> Any:
    """The message that makes the transport look at a queued transaction again."""
    if record.kind is Kind.CLAIM:
        return message(Stage.TRANSPORT, record.id, partner_id=record.partner_id, isa13=record.correlation.isa13)
    return message(Stage.TRANSPORT, record.id)
