"""The intake stage for requests recorded before they were checked (file and queue doors)."""

from __future__ import annotations

import json

from edi.checks import validate_request
from edi.pipeline.context import Pipeline
from edi.pipeline.notices import EventType, notice
from edi.pipeline.topics import Stage, message
from edi.store import ALL_SUBMITTERS, State, TransactionRecord
from edi.store.models import PayloadKind

__all__ = ["check_received"]

ACTOR = "intake"
_KINDS = {"270": "eligibility", "837P": "professional", "837I": "institutional"}


def check_received(pipeline: Pipeline, transaction_id: str) -> TransactionRecord:
    record = pipeline.repository.require(transaction_id, submitter_id=ALL_SUBMITTERS)
    if record.state is not State.RECEIVED:
        return record
    payload = pipeline.payload_of(record.id, PayloadKind.REQUEST_JSON)
    if payload is None or payload.document_type not in _KINDS:
        raise LookupError(f"transaction {record.id} has no stored request")
    data = json.loads(pipeline.read(payload))
    _model, problems = validate_request(_KINDS[payload.document_type], data)  # type: ignore[call-overload]
    if problems:
        note = notice(pipeline, record, EventType.REJECTED, document_type=payload.document_type, final=True,
                      status="rejected", errors=[{"field": p.path, "description": p.message} for p in problems])
        return pipeline.repository.transition(record.id, State.REJECTED, actor=ACTOR, detail_code="check:invalid",
                                              expected=State.RECEIVED, attach=[note.attachment],
                                              outbox=[note.delivery])
    return pipeline.repository.transition(record.id, State.VALIDATED, actor=ACTOR, expected=State.RECEIVED,
                                          outbox=[message(Stage.TRANSLATE, record.id)])
