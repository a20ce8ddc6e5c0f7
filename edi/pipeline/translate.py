"""Routing a validated request to its trading partner, and writing the 270 for eligibility.

The partner is the one serving the request's payer id (``tradingPartnerServiceId``). A 270 is
written here, with envelope numbers from the partner's persistent sequences, checked with the
validator and stored before the transaction moves to ``queued`` with a message for the
transport: what reaches the transport is always a valid, numbered interchange. Claims only
move to ``queued``; the partner outbox gathers them into 837s, and a claim the 837 cannot
carry is rejected there, alone, without spoiling its batch (``edi.pipeline.batching``).
``translate_many`` routes a group of claims with a few queries and one commit per partner.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from edi.checks import REQUEST_MODELS
from edi.mappers.eligibility import NotRepresentable, request_to_270
from edi.partners import ControlNumbers, TradingPartner
from edi.pipeline.context import Pipeline
from edi.pipeline.notices import EventType, notice
from edi.pipeline.topics import Stage, message
from edi.store import ALL_SUBMITTERS, Correlation, Kind, State, TransactionRecord
from edi.store.models import PayloadKind
from edi.store.repository import Move, PayloadAttachment
from edi.x12.validator import validate

__all__ = [
    "TranslateOutcome", "load_payer_ids", "load_request", "load_requests", "prepare_270", "translate", "translate_many",
    "write_270",
]

NUMBERS_RESERVED = 50  # envelope numbers committed at once per partner for a group's 270s

log = logging.getLogger(__name__)
ACTOR = "translate"
_REQUEST_KINDS = {"270": "eligibility", "837P": "professional", "837I": "institutional"}


@dataclass(frozen=True, slots=True)
class TranslateOutcome:
    transaction: TransactionRecord
    done: bool  # False: the transaction was not waiting for translation (a duplicate message)


def load_request(pipeline: Pipeline, transaction: TransactionRecord) -> tuple[str, Any]:
    """(document type, request model) of a recorded request."""
    record = pipeline.payload_of(transaction.id, PayloadKind.REQUEST_JSON)
    if record is None or record.document_type not in _REQUEST_KINDS:
        raise LookupError(f"transaction {transaction.id} has no stored request")
    model = REQUEST_MODELS[_REQUEST_KINDS[record.document_type]].model_validate_json(  # type: ignore[index]
        pipeline.read(record))
    return record.document_type, model


def _stored_requests(pipeline: Pipeline, transactions: list[TransactionRecord]) -> dict[str, tuple[str, bytes]]:
    """(document type, stored JSON) of many recorded requests, by transaction id (one query)."""
    found = pipeline.repository.payloads_of([t.id for t in transactions], PayloadKind.REQUEST_JSON)
    out = {}
    for transaction in transactions:
        records = found.get(transaction.id) or []
        record = records[-1] if records else None
        if record is None or record.document_type not in _REQUEST_KINDS:
            raise LookupError(f"transaction {transaction.id} has no stored request")
        out[transaction.id] = (record.document_type, pipeline.read(record))
    return out


def load_requests(pipeline: Pipeline, transactions: list[TransactionRecord], *,
                  refused: dict[str, ValidationError] | None = None) -> dict[str, tuple[str, Any]]:
    """(document type, request model) of many recorded requests, by transaction id (one query).

    The stored JSON goes to pydantic as it is: parsing it there is half the cost of ``json.loads``
    followed by ``model_validate``, for the same model (JSON mode is lax the same way for the
    strings, booleans and numbers a request holds). With ``refused`` given, a stored request the
    model no longer takes is put there instead of raising (claims are routed without the model,
    so the outbox is the first to build it: one such claim must not hold up its batch)."""
    out = {}
    for transaction_id, (document_type, raw) in _stored_requests(pipeline, transactions).items():
        try:
            model = REQUEST_MODELS[_REQUEST_KINDS[document_type]].model_validate_json(raw)  # type: ignore[index]
        except ValidationError as error:
            if refused is None:
                raise
            refused[transaction_id] = error
            continue
        out[transaction_id] = (document_type, model)
    return out


def load_payer_ids(pipeline: Pipeline, transactions: list[TransactionRecord]) -> dict[str, tuple[str, str]]:
    """(document type, payer id) of many recorded requests, by transaction id: all a claim is
    routed by. The stored request passed the request model at intake and is kept unchanged, so
    its ``tradingPartnerServiceId`` is read straight from the JSON instead of building the
    whole model again (the outbox builds it, to write the 837). A stored request without a
    usable one is given to the model, which says what is wrong with it."""
    out = {}
    for transaction_id, (document_type, raw) in _stored_requests(pipeline, transactions).items():
        data = json.loads(raw)
        payer_id = data.get("tradingPartnerServiceId", data.get("trading_partner_service_id")) \
            if isinstance(data, dict) else None
        if not isinstance(payer_id, str) or not payer_id:
            model = REQUEST_MODELS[_REQUEST_KINDS[document_type]].model_validate(data)  # type: ignore[index]
            payer_id = model.trading_partner_service_id
        out[transaction_id] = (document_type, payer_id)
    return out


def _reject(pipeline: Pipeline, transaction: TransactionRecord, document_type: str, code: str,
            errors: list[dict[str, str]]) -> TransactionRecord:
    note = notice(pipeline, transaction, EventType.REJECTED, document_type=document_type, final=True,
                  status="rejected", errors=errors)
    return pipeline.repository.transition(
        transaction.id, State.REJECTED, actor=ACTOR, detail_code=code, expected=State.VALIDATED,
        attach=[note.attachment], outbox=[note.delivery],
    )


def prepare_270(
    pipeline: Pipeline, transaction: TransactionRecord, partner: TradingPartner, request: Any
) -> tuple[str, Correlation]:
    """Write the numbered 270 for a request; raises ``NotRepresentable`` / ``ValueError``."""
    return write_270(pipeline, transaction.id, partner, request)


def write_270(pipeline: Pipeline, transaction_id: str, partner: TradingPartner, request: Any, *,
              reserve: int = 1) -> tuple[str, Correlation]:
    """``prepare_270`` for a transaction id not recorded yet (the API's real-time path records the
    request and its 270 in one commit, so the 270 is written before the transaction exists);
    ``reserve``: envelope numbers taken from blocks of that many (``SequenceAllocator``)."""
    numbers = pipeline.sequences.allocate_envelope(partner.id, 1, reserve=reserve)
    envelope = partner.envelope(ControlNumbers(numbers.isa13, numbers.gs06, numbers.st02[0]))
    text = request_to_270(request, envelope, clearinghouse_trace=transaction_id)
    report = validate(text.encode("utf-8"))
    if not report.accepted:
        codes = sorted({f.code for t in report.iter_transactions() for f in t.findings})
        raise ValueError(f"the written 270 does not validate (codes {', '.join(codes) or 'envelope'})")
    bht03 = request.submitter_transaction_identifier or request.control_number
    correlation = Correlation(trn_trace=transaction_id, bht03=bht03, isa13=numbers.isa13, gs06=numbers.gs06,
                              st02=numbers.st02[0])
    return text, correlation


def translate(pipeline: Pipeline, transaction_id: str, *, hold: bool = False) -> TranslateOutcome:
    """Route and, for eligibility, write the 270. ``hold``: the caller sends the 270 itself at
    once (the API's real-time path), so no transport message competes with it; the transaction
    is due after the CORE budget instead, when the sweeper hands it to the transport if the
    caller died before sending."""
    repository = pipeline.repository
    transaction = repository.require(transaction_id, submitter_id=ALL_SUBMITTERS)
    if transaction.state is not State.VALIDATED:
        return TranslateOutcome(transaction, False)
    document_type, request = load_request(pipeline, transaction)
    try:
        partner = pipeline.partners.for_payer(request.trading_partner_service_id)
    except KeyError:
        return TranslateOutcome(_reject(pipeline, transaction, document_type, "route:no-partner", [
            {"field": "tradingPartnerServiceId", "description": "no trading partner is configured for this payer id"}
        ]), True)
    if not partner.accepts(document_type):
        return TranslateOutcome(_reject(pipeline, transaction, document_type, "route:not-accepted", [
            {"field": "tradingPartnerServiceId", "description": f"this payer does not take {document_type} from us"}
        ]), True)
    if transaction.kind is Kind.ELIGIBILITY:
        try:
            text, correlation = prepare_270(pipeline, transaction, partner, request)
        except NotRepresentable as error:
            return TranslateOutcome(_reject(pipeline, transaction, document_type, "translate:not-representable", [
                {"field": error.field, "description": error.reason}
            ]), True)
        stored = pipeline.payloads.put(text.encode("utf-8"))
        moved = repository.transition(
            transaction.id, State.QUEUED, actor=ACTOR, expected=State.VALIDATED, partner_id=partner.id,
            correlation=correlation, attach=[PayloadAttachment(PayloadKind.OUTBOUND_X12, stored, "270")],
            outbox=[] if hold else [message(Stage.TRANSPORT, transaction.id)],
            due_at=pipeline.later(pipeline.timings.realtime_budget) if hold else None,
        )
        return TranslateOutcome(moved, True)
    moved = repository.transition(
        transaction.id, State.QUEUED, actor=ACTOR, expected=State.VALIDATED, partner_id=partner.id,
        outbox=[message(Stage.OUTBOX, transaction.id, partner_id=partner.id)],
        due_at=pipeline.later(partner.batch.window_seconds),
    )
    return TranslateOutcome(moved, True)


def translate_many(pipeline: Pipeline, transaction_ids: list[str], *,
                   known: Mapping[str, TransactionRecord] | None = None) -> None:
    """Route a group of transactions: claims in one commit per partner and claim type, with one
    outbox message for the group (the partner outbox builds whatever is due); eligibility
    requests, and claims that are refused, one by one as in ``translate``. Raises
    ``UnexpectedStateError`` if another worker moved one of them meanwhile (the caller then
    translates them one by one).

    ``known``: the transactions as the caller has just read them (the stage consumer reads every
    message's transaction before handing the group over); they are not read a second time. A
    record that is stale by then is harmless: every move names the state it expects and is
    checked under the row lock, so a claim moved meanwhile raises as above."""
    missing = [i for i in transaction_ids if known is None or i not in known]
    records = pipeline.repository.get_many(missing) if missing else {}
    if known is not None:
        records.update((i, known[i]) for i in transaction_ids if i in known)
    waiting = [r for r in records.values() if r.state is State.VALIDATED]
    claims = [r for r in waiting if r.kind is Kind.CLAIM]
    _translate_eligibility(pipeline, [r for r in waiting if r.kind is Kind.ELIGIBILITY])
    for record in waiting:
        if record.kind is not Kind.CLAIM and record.kind is not Kind.ELIGIBILITY:
            translate(pipeline, record.id)
    if not claims:
        return
    routes = load_payer_ids(pipeline, claims)
    groups: dict[tuple[str, str], list[str]] = {}
    for record in claims:
        document_type, payer_id = routes[record.id]
        try:
            partner = pipeline.partners.for_payer(payer_id)
        except KeyError:
            partner = None
        if partner is None or not partner.accepts(document_type):
            translate(pipeline, record.id)  # refused with its reason, alone
            continue
        groups.setdefault((partner.id, document_type), []).append(record.id)
    for (partner_id, _document_type), ids in groups.items():
        partner = pipeline.partners.partner(partner_id)
        pipeline.repository.transition_many(
            ids, State.QUEUED, actor=ACTOR, expected=State.VALIDATED, partner_id=partner_id,
            outbox=[message(Stage.OUTBOX, ids[0], partner_id=partner_id)],
            due_at=pipeline.later(partner.batch.window_seconds),
        )


def _translate_eligibility(pipeline: Pipeline, waiting: list[TransactionRecord]) -> None:
    """A group of eligibility requests: their 270s written, made durable with one flush, and
    every request moved to ``queued`` with its own event, 270 and transport message in one
    commit. A request that is refused (no partner, not representable, a 270 that does not
    validate) goes alone through ``translate``, which records why. A request another worker
    moved meanwhile is skipped (its 270 file is deleted again)."""
    if not waiting:
        return
    requests = load_requests(pipeline, waiting)
    written: list[tuple[TransactionRecord, TradingPartner, str, Correlation]] = []
    alone: list[str] = []
    for record in waiting:
        document_type, request = requests[record.id]
        try:
            partner = pipeline.partners.for_payer(request.trading_partner_service_id)
        except KeyError:
            alone.append(record.id)
            continue
        if not partner.accepts(document_type):
            alone.append(record.id)
            continue
        try:
            text, correlation = write_270(pipeline, record.id, partner, request, reserve=NUMBERS_RESERVED)
        except (NotRepresentable, ValueError):
            alone.append(record.id)
            continue
        written.append((record, partner, text, correlation))
    if written:
        payloads = pipeline.payloads
        stored = []
        try:
            with payloads.deferred_sync():  # every 270 durable with one flush, before the commit
                stored = [payloads.put(text.encode("utf-8")) for _r, _p, text, _c in written]
            moves = [
                Move(record.id, State.QUEUED, None, frozenset({State.VALIDATED}), correlation=correlation,
                     attach=[PayloadAttachment(PayloadKind.OUTBOUND_X12, payload, "270")],
                     outbox=[message(Stage.TRANSPORT, record.id)], skip_refused=True, partner_id=partner.id)
                for (record, partner, _text, correlation), payload in zip(written, stored, strict=True)
            ]
            moved = {r.id for r in pipeline.repository.apply(moves, actor=ACTOR)}
        except BaseException:
            for payload in stored:
                payloads.delete(payload.uri)
            raise
        for (record, _partner, _text, _correlation), payload in zip(written, stored, strict=True):
            if record.id not in moved:
                payloads.delete(payload.uri)
    for transaction_id in alone:
        translate(pipeline, transaction_id)
