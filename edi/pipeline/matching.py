"""The responses stage: a partner's file matched to the transactions it answers.

Each inbound document (TA1, 999, 277CA, 835) is validated, read into JSON, split into the part
each transaction may see (a batch carries many submitters' claims; each gets only its own) and
matched: TA1 by ISA13, 999 by GS06 and ST02 (AK102/AK202), 277CA and 835 by the patient control
number (CLM01) and the payer's claim control number. Every matched transaction gets its part as
a response document and moves on -- all of it, and the document's "processed" mark, in one
commit, so a crash mid-way reprocesses the whole document and never half of it twice.
"""

from __future__ import annotations

import gc
import logging
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from edi.mappers.acknowledgments import x12_999_to_acks, x12_to_ta1
from edi.mappers.claim_acknowledgment import x12_277ca_to_reports
from edi.mappers.remittance import x12_835_to_reports
from edi.pipeline.context import Pipeline
from edi.pipeline.notices import Draft, EventType, notice, notice_many, request_pcns
from edi.reports.reasons import detail_999_part
from edi.responses import ClaimPart, split_277ca, split_835, split_999, ta1_key
from edi.store import Correlation, InboundOutcome, Move, PayloadAttachment, State, TransactionRecord
from edi.store.models import PayloadKind
from edi.x12.reader import read_segments
from edi.x12.validator import validate

__all__ = ["detect_document_type", "process_inbound"]

log = logging.getLogger(__name__)
ACTOR = "responses"
_GROUPS = {"FA": "999", "HN": "277CA", "HP": "835", "HB": "271"}
# QUEUED: a claim whose batch was uploaded by a worker that died before recording it; an answer
# to its interchange proves the upload, so the claim is first moved to sent.
_WAITING = frozenset({State.QUEUED, State.SENT, State.ACKNOWLEDGED})
_ANSWERED = frozenset({State.QUEUED, State.SENT, State.ACKNOWLEDGED, State.RESPONDED})


def detect_document_type(raw: bytes) -> str | None:
    """TA1, 999, 277CA, 835 or 271, from the envelope (GS01), without reading the whole file."""
    text = raw[:4096].decode("latin-1")
    if len(text) < 106 or not text.startswith("ISA"):
        return None
    element, terminator = text[3], text[105]
    segments = [s.strip() for s in text.split(terminator)]
    for segment in segments[1:]:
        fields = segment.split(element)
        if fields[0] == "GS" and len(fields) > 1:
            return _GROUPS.get(fields[1])
    if any(s.split(element)[0] == "TA1" for s in segments[1:]):
        return "TA1"
    return None


class _ClaimIndex:
    """The claims a whole 277CA or 835 may answer, read in a few queries up front; ``find`` picks
    from them exactly as ``Repository.find_for_claim_response`` would (one query per claim made
    the responses stage the slowest). Nothing in a plan is committed before it is complete, so
    the snapshot is what those per-claim queries would have seen."""

    def __init__(self, pipeline: Pipeline, partner: str, parts: list[ClaimPart]) -> None:
        records = pipeline.repository.claims_answered_by(
            partner, [p.patient_control_number for p in parts if p.patient_control_number],
            [p.payer_claim_control_number for p in parts if p.payer_claim_control_number],
        )
        records.sort(key=lambda record: record.id, reverse=True)  # newest first, as the queries order
        self._digests = pipeline.repository.pcn_digests  # under every lookup key (one may be rotating out)
        self.by_pcn: dict[str, list[TransactionRecord]] = {}  # by the CLM01's digest, as stored
        self.by_number: dict[str, list[TransactionRecord]] = {}
        for record in records:
            if record.correlation.patient_control_number_hmac:
                self.by_pcn.setdefault(record.correlation.patient_control_number_hmac, []).append(record)
            if record.correlation.payer_claim_control_number:
                self.by_number.setdefault(record.correlation.payer_claim_control_number, []).append(record)

    def find(self, patient_control_number: str | None, payer_claim_control_number: str | None,
             ) -> list[TransactionRecord]:
        if payer_claim_control_number is not None:
            found = list(self.by_number.get(payer_claim_control_number, ()))
            if found or patient_control_number is None:
                return found
            found = [r for r in self._by_clm01(patient_control_number)
                     if r.correlation.payer_claim_control_number is None]
        elif patient_control_number is None:
            found = []
        else:
            found = self._by_clm01(patient_control_number)
        return sorted(found, key=lambda record: record.terminal)

    def _by_clm01(self, patient_control_number: str) -> list[TransactionRecord]:
        """Newest first, whichever lookup key each claim's digest was made with."""
        found = [r for digest in self._digests(patient_control_number) for r in self.by_pcn.get(digest, ())]
        return sorted(found, key=lambda record: record.id, reverse=True)


@dataclass(slots=True)
class _Plan:
    moves: list[Move]
    matched: int = 0
    unmatched: int = 0
    claims: _ClaimIndex | None = None


def _one(candidates: Iterable[TransactionRecord], states: frozenset[State]) -> TransactionRecord | None:
    return next((c for c in candidates if c.state in states), None)


def process_inbound(pipeline: Pipeline, inbound_id: str) -> str:
    """Process one recorded inbound document; returns its outcome code."""
    repository = pipeline.repository
    document = repository.inbound(inbound_id)
    if document is None:
        raise LookupError(f"no inbound document {inbound_id}")
    if document.processed_at is not None:
        return document.outcome or "processed"
    with _collector_paused():
        return _process(pipeline, document, inbound_id)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while one answer file is processed.

    A file of 1,000 claims makes some 500,000 container objects (segments, the loop tree, the
    reports, the parts, the moves), nearly all alive until the commit and none in a cycle: the
    collector scanned them again and again finding nothing, and each full collection it started
    also scanned the worker's whole heap (a quarter to a third of the stage's CPU in
    ``bench_stages``). Reference counting still frees everything as usual. The switch is the
    process's: another thread's cycles wait for the end of the file; a collector someone else
    turned off is left off.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _process(pipeline: Pipeline, document: Any, inbound_id: str) -> str:
    repository = pipeline.repository
    raw = pipeline.read(document.stored)
    kind = detect_document_type(raw) or document.document_type
    segments = read_segments(raw)  # cut once: validated, searched for TA1s and mapped below
    report = validate(segments)
    if not report.interchanges or report.unreadable:
        repository.apply([], actor=ACTOR, inbound=InboundOutcome(inbound_id, "invalid", 0, kind))
        log.warning("inbound document %s from %s is not X12", inbound_id, document.partner_id)
        return "invalid"
    if not report.accepted:
        codes = sorted({f.code for t in report.iter_transactions() for f in t.findings})
        log.warning("inbound %s document %s has findings %s; matching what can be read", kind, inbound_id,
                    ", ".join(codes) or "envelope")
    inbound = PayloadAttachment(PayloadKind.INBOUND_X12, document.stored, kind)
    plan = _Plan([])
    partner = document.partner_id
    try:
        # The response documents of the whole file are written first and made durable together
        # (one flush, not one per claim), before the commit that references them.
        with pipeline.payloads.deferred_sync():
            for ta1 in x12_to_ta1(segments):
                _ta1(pipeline, partner, ta1, inbound, plan)
            if kind == "999":
                for ack in x12_999_to_acks(segments):
                    _999(pipeline, partner, ack, inbound, plan)
            elif kind == "277CA":
                parts = [part for report in x12_277ca_to_reports(segments) for part in split_277ca(report, shared=True)]
                plan.claims = _ClaimIndex(pipeline, partner, parts)
                _277ca(pipeline, partner, parts, inbound, plan)
            elif kind == "835":
                parts = [part for report in x12_835_to_reports(segments) for part in split_835(report, shared=True)]
                plan.claims = _ClaimIndex(pipeline, partner, parts)
                _835(pipeline, partner, parts, inbound, plan)
    except Exception as error:  # a document we cannot read is recorded as such, not retried forever
        log.error("inbound %s document %s could not be read (%s)", kind, inbound_id, type(error).__name__)
        repository.apply([], actor=ACTOR, inbound=InboundOutcome(inbound_id, "unreadable", 0, kind))
        return "unreadable"
    outcome = "matched" if plan.matched and not plan.unmatched else "partial" if plan.matched else "unmatched"
    if plan.unmatched:
        log.warning("inbound %s document %s: %d part(s) matched no transaction", kind, inbound_id, plan.unmatched)
    repository.apply(plan.moves, actor=ACTOR,
                     inbound=InboundOutcome(inbound_id, outcome, plan.matched, kind))
    return outcome


def _ta1(pipeline: Pipeline, partner: str, ta1, inbound: PayloadAttachment, plan: _Plan) -> None:  # noqa: ANN001
    key = ta1_key(ta1)
    members = [m for m in pipeline.repository.find_for_ta1(partner, key.interchange_control_number)
               if m.state in (State.SENT, State.QUEUED)]
    if key.duplicate:
        log.info("partner %s discarded interchange %s as a duplicate (TA1 025)", partner, key.interchange_control_number)
        return
    if not members:
        plan.unmatched += 1
        return
    plan.matched += len(members)
    body = ta1.to_json()
    pcns = {} if key.accepted else request_pcns(pipeline, members)
    for member in members:
        _confirm_sent(plan, member)
        if key.accepted:
            plan.moves.append(Move(member.id, State.ACKNOWLEDGED, f"TA1:{key.code}", frozenset({State.SENT}),
                                   attach=[inbound], keep_if_refused=True))
            continue
        note = notice(pipeline, member, EventType.INTERCHANGE_ACK, document_type="TA1", final=True,
                      status="rejected", response=body, patient_control_number=pcns.get(member.id))
        plan.moves.append(Move(member.id, State.ACKNOWLEDGED, f"TA1:{key.code}:{key.note_code or ''}".rstrip(":"),
                               frozenset({State.SENT}), attach=[inbound, note.attachment], outbox=[note.delivery],
                               keep_if_refused=True))


def _999(pipeline: Pipeline, partner: str, ack, inbound: PayloadAttachment, plan: _Plan) -> None:  # noqa: ANN001
    matched = []
    for part in split_999(ack):
        if part.group_control_number is None:
            plan.unmatched += 1
            continue
        members = pipeline.repository.find_for_999(partner, part.group_control_number,
                                                   part.transaction_set_control_number)
        if not members:
            plan.unmatched += 1
            continue
        matched.append((part, members))
    pcns = request_pcns(pipeline, [member for _part, members in matched for member in members])
    answered: list[tuple[int, TransactionRecord, Any]] = []  # (place in plan.moves, member, part)
    drafts = []
    for part, members in matched:
        plan.matched += len(members)
        for member in members:
            _confirm_sent(plan, member)
            drafts.append(Draft(member, EventType.FUNCTIONAL_ACK, "999", final=not part.accepted,
                                status="accepted" if part.accepted else "rejected", response=part.document,
                                patient_control_number=pcns.get(member.id)))
            answered.append((len(plan.moves), member, part))
            plan.moves.append(None)  # type: ignore[arg-type]  # set below, once the notices are stored
    for (place, member, part), note in zip(answered, notice_many(pipeline, drafts), strict=True):
        plan.moves[place] = Move(member.id, _onto(member, State.ACKNOWLEDGED, _WAITING), detail_999_part(part),
                                 attach=[inbound, note.attachment], outbox=[note.delivery], keep_if_refused=True)


def _onto(member: TransactionRecord, target: State, waiting: frozenset[State]) -> State | None:
    """The state an answer moves a transaction to; None for an answer that arrives after a later
    one (documents are processed concurrently): it is recorded and delivered, the state stays."""
    return target if member.state in waiting else None


def _late(candidates: list[TransactionRecord]) -> TransactionRecord | None:
    return candidates[0] if candidates else None


def _confirm_sent(plan: _Plan, member: TransactionRecord) -> None:
    if member.state is State.QUEUED and member.correlation.isa13 is not None:
        plan.moves.append(Move(member.id, State.SENT, "sftp:confirmed-by-answer", frozenset({State.QUEUED}),
                               keep_if_refused=True))


def _claim_member(
    pipeline: Pipeline, partner: str, part: ClaimPart, waiting: frozenset[State], plan: _Plan
) -> TransactionRecord | None:
    """The claim a 277CA or 835 part answers: the best match still waiting for it, else (a late
    answer) the best match at all; counted in ``plan`` either way."""
    if part.patient_control_number is None:
        plan.unmatched += 1
        return None
    if plan.claims is not None:
        candidates = plan.claims.find(part.patient_control_number, part.payer_claim_control_number)
    else:
        candidates = pipeline.repository.find_for_claim_response(
            partner, patient_control_number=part.patient_control_number,
            payer_claim_control_number=part.payer_claim_control_number,
        )
    member = _one(candidates, waiting) or _late(candidates)
    if member is None:
        plan.unmatched += 1
        return None
    plan.matched += 1
    _confirm_sent(plan, member)
    return member


def _payer_number(part: ClaimPart) -> Correlation | None:
    number = part.payer_claim_control_number
    return Correlation(payer_claim_control_number=number) if number else None


def _status(codes: tuple[str, ...]) -> str:
    return codes[0].split(":", 1)[0] if codes else "none"


def _277ca(pipeline: Pipeline, partner: str, parts: list[ClaimPart], inbound: PayloadAttachment, plan: _Plan) -> None:
    answered: list[tuple[int, TransactionRecord, ClaimPart, str]] = []  # (place in plan.moves, member, part, detail)
    drafts = []
    for part in parts:
        member = _claim_member(pipeline, partner, part, _WAITING, plan)
        if member is None:
            continue
        keys = part.keys
        accepted = all(k.accepted is not False for k in keys) if keys else None
        codes = tuple(code for k in keys for code in k.status_codes)
        drafts.append(Draft(member, EventType.CLAIM_ACK, "277CA", final=accepted is False,
                            status="accepted" if accepted else "rejected" if accepted is False else "pending",
                            response=part.document, patient_control_number=part.patient_control_number))
        answered.append((len(plan.moves), member, part, f"277CA:{_status(codes)}"))
        plan.moves.append(None)  # type: ignore[arg-type]  # set below, once the notices are stored
    _fill_moves(pipeline, plan, answered, drafts, inbound, _WAITING)


def _835(pipeline: Pipeline, partner: str, parts: list[ClaimPart], inbound: PayloadAttachment, plan: _Plan) -> None:
    answered: list[tuple[int, TransactionRecord, ClaimPart, str]] = []  # (place in plan.moves, member, part, detail)
    drafts = []
    for part in parts:
        member = _claim_member(pipeline, partner, part, _ANSWERED, plan)
        if member is None:
            continue
        status = next((k.status_code for k in part.keys if k.status_code), None) or "none"
        drafts.append(Draft(member, EventType.CLAIM_PAYMENT, "835", final=True,
                            status="denied" if status == "4" else "paid", response=part.document,
                            patient_control_number=part.patient_control_number))
        answered.append((len(plan.moves), member, part, f"835:{re.sub(r'[^0-9A-Za-z]', '', status)}"))
        plan.moves.append(None)  # type: ignore[arg-type]  # set below, once the notices are stored
    _fill_moves(pipeline, plan, answered, drafts, inbound, _ANSWERED)


def _fill_moves(pipeline: Pipeline, plan: _Plan, answered: list[tuple[int, TransactionRecord, ClaimPart, str]],
                drafts: list[Draft], inbound: PayloadAttachment, waiting: frozenset[State]) -> None:
    """Store a file's notices in one go, then put each claim's move to ``responded`` in the place
    its part held in ``plan.moves`` (the order of moves is the file's)."""
    for (place, member, part, detail), note in zip(answered, notice_many(pipeline, drafts), strict=True):
        plan.moves[place] = Move(member.id, _onto(member, State.RESPONDED, waiting), detail,
                                 correlation=_payer_number(part), attach=[inbound, note.attachment],
                                 outbox=[note.delivery], keep_if_refused=True)
