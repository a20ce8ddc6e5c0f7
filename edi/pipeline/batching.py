"""The partner outbox: queued claims gathered into 837 files per partner.

A batch is due when the partner's ``max_claims_per_file`` claims are waiting or the oldest has
waited ``window_seconds``; that is decided from a count (``edi.store.waiting``), and the claims
themselves are read only when a batch is built. Building one is: draw envelope numbers (committed first, so a crash
only ever skips numbers), write and validate the 837, store it encrypted, then, in one database
transaction, stamp every claim with its ISA13/GS06/ST02 and queue the transport message. If
another worker took any of the claims meanwhile nothing is written and the batch is rebuilt.

A claim the 837 cannot carry (the writer's ``ClaimMappingError``) is rejected alone, with the
writer's problems in its notice, and the batch is built again without it.

A batch never holds two claims with the same patient control number (CLM01): the 277CA and
835 are matched back by it, and a rejected claim comes back without the payer's number.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import ValidationError

from edi.checks import problems_from_validation_error
from edi.mappers._claim_common import ClaimMappingError, transaction_set_indexes
from edi.mappers.institutional import claims_to_837i
from edi.mappers.professional import claims_to_837p
from edi.partners import ControlNumbers
from edi.pipeline.context import Pipeline
from edi.pipeline.notices import EventType, notice, request_clm01
from edi.pipeline.topics import Stage, message
from edi.pipeline.translate import load_requests
from edi.store import Correlation, Move, PayloadAttachment, State, TransactionRecord
from edi.store.models import PayloadKind
from edi.store.waiting import WaitingClaims, oldest_waiting, waiting_claims
from edi.x12.validator import validate

__all__ = ["BuiltBatch", "batch_file_name", "build_due_batches", "build_batches"]

log = logging.getLogger(__name__)
ACTOR = "outbox"
_MAX_CONFLICTS = 5
_INDEXED = re.compile(r"\[(\d+)\]\.?(.*)")


class _Rejected(Exception):
    """Claims of the batch being built were rejected: build it again without them."""


@dataclass(frozen=True, slots=True)
class BuiltBatch:
    partner_id: str
    document_type: str
    isa13: int
    claims: int
    transaction_sets: int


def batch_file_name(partner_id: str, document_type: str, isa13: int) -> str:
    """The file name a batch is uploaded under: the same on every retry, no PHI."""
    return f"{document_type}_{partner_id}_{isa13:09d}.x12"


def _clm01_key(pipeline: Pipeline, record: TransactionRecord) -> str | None:
    """A claim's CLM01 digest under the current lookup key: while a rotation is under way two
    claims with one CLM01 may be stored under different keys, and digests of different keys
    do not compare. Only such a claim's request is read (and decrypted) to recompute it."""
    correlation = record.correlation
    if correlation.patient_control_number_key_id == pipeline.repository.lookup_key.current:
        return correlation.patient_control_number_hmac
    pcn = request_clm01(pipeline, record)
    return pipeline.repository.pcn_digest(pcn) if pcn else correlation.patient_control_number_hmac


def _pick(pipeline: Pipeline, candidates: list[TransactionRecord], limit: int) -> list[TransactionRecord]:
    chosen, seen = [], set()
    for record in candidates:
        pcn = _clm01_key(pipeline, record)  # one claim per CLM01 in a batch
        if pcn in seen:
            continue  # the next batch takes it
        seen.add(pcn)
        chosen.append(record)
        if len(chosen) >= limit:
            break
    return chosen


def build_batches(
    pipeline: Pipeline, partner_id: str, document_type: str, *, now: datetime | None = None, force: bool = False
) -> list[BuiltBatch]:
    """Build every batch that is due for one partner and claim type."""
    partner = pipeline.partners.partner(partner_id)
    settings = partner.batch
    now = now or pipeline.now()
    built: list[BuiltBatch] = []
    conflicts = 0
    window = timedelta(seconds=settings.window_seconds)
    while conflicts < _MAX_CONFLICTS:
        waiting = waiting_claims(pipeline.repository.engine, partner_id, document_type)
        if waiting.count == 0 or waiting.oldest is None:
            break
        full = waiting.count >= settings.max_claims_per_file
        if not (force or full or now - waiting.oldest >= window):
            _wake_when_due(pipeline, partner_id, document_type, waiting, waiting.oldest + window)
            break
        candidates = pipeline.repository.unbatched_claims(
            partner_id, document_type, limit=settings.max_claims_per_file * 2
        )
        if not candidates:
            break
        chosen = _pick(pipeline, candidates, settings.max_claims_per_file)
        try:
            batch = _build_one(pipeline, partner_id, document_type, chosen)
        except _Rejected:
            continue
        if batch is None:
            conflicts += 1
            continue
        built.append(batch)
    return built


def _wake_when_due(pipeline: Pipeline, partner_id: str, document_type: str, waiting: WaitingClaims,
                   due_at: datetime) -> None:
    """Make sure the sweeper brings the waiting claims back when their window ends.

    Their own ``due_at`` does that -- unless the sweeper already took it (it clears the schedule
    when it queues the message) and this build came a moment early: ``due_at`` is computed just
    before the claim is queued, its age counts from the commit. Without a new schedule such a
    claim would wait for the stale sweep, whose touch makes it young again, for ever."""
    if waiting.scheduled:
        return
    oldest = oldest_waiting(pipeline.repository.engine, partner_id, document_type)
    if oldest is not None:
        pipeline.repository.schedule(oldest, due_at)


def build_due_batches(pipeline: Pipeline, *, now: datetime | None = None, force: bool = False) -> list[BuiltBatch]:
    """Build whatever is due for every partner."""
    built: list[BuiltBatch] = []
    for partner_id, document_type, _count, _oldest in pipeline.repository.waiting_batches():
        if partner_id in pipeline.partners.partners and document_type in ("837P", "837I"):
            built.extend(build_batches(pipeline, partner_id, document_type, now=now, force=force))
    return built


def _build_one(
    pipeline: Pipeline, partner_id: str, document_type: str, chosen: list[TransactionRecord]
) -> BuiltBatch | None:
    partner = pipeline.partners.partner(partner_id)
    refused: dict[str, ValidationError] = {}
    loaded = load_requests(pipeline, chosen, refused=refused)
    if refused:
        _reject_refused(pipeline, document_type, chosen, refused)
        raise _Rejected
    requests = [loaded[record.id][1] for record in chosen]
    per_set = partner.batch.max_claims_per_transaction_set
    set_of = transaction_set_indexes(requests, per_set)
    numbers = pipeline.sequences.allocate_envelope(partner_id, set_of[-1] + 1)
    envelope = partner.envelope(ControlNumbers(numbers.isa13, numbers.gs06, numbers.st02[0]))
    writer = claims_to_837p if document_type == "837P" else claims_to_837i
    batch_id = f"{numbers.isa13:09d}"
    try:
        text = writer(requests, envelope, batch_id, max_per_set=per_set)
    except ClaimMappingError as error:
        _reject_unwritable(pipeline, partner_id, document_type, chosen, requests, error)
        raise _Rejected from None
    report = validate(text.encode("utf-8"))
    if not report.accepted:
        return _fail_invalid(pipeline, chosen, set_of, report, document_type)
    stored = pipeline.payloads.put(text.encode("utf-8"))
    assignments = [
        (record.id, Correlation(isa13=numbers.isa13, gs06=numbers.gs06, st02=numbers.st02[index], bht03=batch_id))
        for record, index in zip(chosen, set_of, strict=True)
    ]
    ok = pipeline.repository.assign_batch(
        assignments,
        attach=[PayloadAttachment(PayloadKind.OUTBOUND_X12, stored, document_type)],
        outbox=[message(Stage.TRANSPORT, chosen[0].id, partner_id=partner_id, isa13=numbers.isa13)],
    )
    if not ok:
        pipeline.payloads.delete(stored.uri)
        return None
    log.info("built %s batch %09d for partner %s: %d claim(s) in %d set(s)", document_type, numbers.isa13,
             partner_id, len(chosen), set_of[-1] + 1)
    return BuiltBatch(partner_id, document_type, numbers.isa13, len(chosen), set_of[-1] + 1)


def _reject_refused(pipeline: Pipeline, document_type: str, chosen: list[TransactionRecord],
                    refused: dict[str, ValidationError]) -> None:
    """Reject, each alone, claims whose stored request the request model refuses: checked at
    intake, so only a model changed since (an upgrade with claims in flight) gets here."""
    moves = []
    for record in chosen:
        error = refused.get(record.id)
        if error is None:
            continue
        errors = [{"field": p.path, "description": p.message} for p in problems_from_validation_error(error)]
        note = notice(pipeline, record, EventType.REJECTED, document_type=document_type, final=True,
                      status="rejected", errors=errors)
        moves.append(Move(record.id, State.REJECTED, "check:invalid", frozenset({State.QUEUED}),
                          attach=[note.attachment], outbox=[note.delivery], skip_refused=True))
    log.warning("%d queued claim(s) no longer pass the request model; rejected", len(moves))
    pipeline.repository.apply(moves, actor=ACTOR)


def _reject_unwritable(pipeline: Pipeline, partner_id: str, document_type: str, chosen: list[TransactionRecord],
                       requests: list[object], error: ClaimMappingError) -> None:
    """Reject, each alone with its own problems, the claims the 837 writer could not carry."""
    writer = claims_to_837p if document_type == "837P" else claims_to_837i
    problems: dict[int, list[dict[str, str]]] = {}
    for problem in error.problems:
        found = _INDEXED.fullmatch(problem.path) if len(chosen) > 1 else None
        if found is None:
            problems.clear()
            break
        problems.setdefault(int(found.group(1)), []).append({"field": found.group(2), "description": problem.message})
    if not problems:  # not told which: write each claim alone
        trial = pipeline.partners.partner(partner_id).envelope(ControlNumbers(1, 1, 1))
        for index, request in enumerate(requests):
            try:
                writer([request], trial)
            except ClaimMappingError as alone:
                problems[index] = [{"field": p.path, "description": p.message} for p in alone.problems]
    if not problems:
        raise error  # a defect of ours, not of one claim: the message is retried, then dead-lettered
    moves = []
    for index, errors in sorted(problems.items()):
        record = chosen[index]
        note = notice(pipeline, record, EventType.REJECTED, document_type=document_type, final=True,
                      status="rejected", errors=errors)
        moves.append(Move(record.id, State.REJECTED, "translate:not-representable", frozenset({State.QUEUED}),
                          attach=[note.attachment], outbox=[note.delivery], skip_refused=True))
    log.warning("%d claim(s) for partner %s cannot be written as an 837; rejected", len(moves), partner_id)
    pipeline.repository.apply(moves, actor=ACTOR)


def _fail_invalid(pipeline: Pipeline, chosen: list[TransactionRecord], set_of: list[int], report: object,
                  document_type: str) -> None:
    """Claims whose transaction set the validator refuses fail on their own; the rest wait for
    the next batch. This is a defect of ours (the writer accepted each claim), so it is logged
    loudly with the finding codes only."""
    bad_sets = {
        index for index, result in enumerate(report.iter_transactions())  # type: ignore[attr-defined]
        if result.ack_code not in ("A", "E")
    } or set(set_of)
    codes = sorted({f.code for t in report.iter_transactions() for f in t.findings})  # type: ignore[attr-defined]
    log.error("a built %s batch does not validate (codes %s); failing %d claim(s)", document_type,
              ", ".join(codes) or "envelope", sum(1 for i in set_of if i in bad_sets))
    moves = []
    for record, index in zip(chosen, set_of, strict=True):
        if index not in bad_sets:
            continue
        note = notice(pipeline, record, EventType.FAILED, document_type=document_type, final=True, status="failed",
                      errors=[{"field": "", "description": "the claim could not be written as a valid 837"}])
        moves.append(Move(record.id, State.FAILED, "translate:invalid-batch", frozenset({State.QUEUED}),
                          attach=[note.attachment], outbox=[note.delivery], skip_refused=True))
    pipeline.repository.apply(moves, actor=ACTOR)
    return None
