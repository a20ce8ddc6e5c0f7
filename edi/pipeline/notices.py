"""Response documents for the requester: the exact JSON that is delivered, stored before it is sent.

Every answer a requester gets (a 271, an acknowledgment, a claim status, a payment, a rejection
by us or by the partner) is written once as a Standard Webhooks payload, ``{"type", "timestamp",
"data"}``, encrypted in the payload store and recorded against the transaction. The delivery
stage only ever sends stored documents, so a retry, a redelivery after a crash and an
``edi replay`` all send the same bytes under the same ``webhook-id``.

``data.final`` marks the answer after which nothing more will come for the transaction; once it
is delivered the transaction is done.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson

from edi.delivery import webhook_id_for
from edi.pipeline.context import Pipeline
from edi.pipeline.topics import Stage, message
from edi.store import OutboxMessage, PayloadAttachment, PayloadRecord, TransactionRecord
from edi.store.models import PayloadKind

__all__ = ["Draft", "EventType", "Notice", "notice", "notice_many", "read_notice", "request_pcns", "webhook_id_of"]


class EventType:
    ELIGIBILITY = "eligibility.response"  # 271
    INTERCHANGE_ACK = "interchange.acknowledgment"  # TA1
    FUNCTIONAL_ACK = "functional.acknowledgment"  # 999
    CLAIM_ACK = "claim.acknowledgment"  # 277CA
    CLAIM_PAYMENT = "claim.payment"  # 835
    REJECTED = "transaction.rejected"  # refused by us before anything was sent
    FAILED = "transaction.failed"  # the partner could not be reached or did not answer


@dataclass(frozen=True, slots=True)
class Notice:
    attachment: PayloadAttachment
    delivery: OutboxMessage
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Draft:
    """One response document to store: what ``notice`` takes, for ``notice_many``."""

    transaction: TransactionRecord
    event: str
    document_type: str
    final: bool
    status: str
    response: Any = None
    errors: Sequence[Mapping[str, Any]] = ()
    patient_control_number: str | None = None


def notice(
    pipeline: Pipeline,
    transaction: TransactionRecord,
    event: str,
    *,
    document_type: str,
    final: bool,
    status: str,
    response: Any = None,
    errors: Sequence[Mapping[str, Any]] = (),
    patient_control_number: str | None = None,
) -> Notice:
    """Store one response document for ``transaction``; commit the returned attachment and
    delivery message together with the state move they belong to."""
    return notice_many(pipeline, [Draft(transaction, event, document_type, final, status, response, errors,
                                        patient_control_number)])[0]


def notice_many(pipeline: Pipeline, drafts: Sequence[Draft]) -> list[Notice]:
    """``notice`` for many documents (every claim's part of one answer file), stored with one
    ``put_many``: the payload cipher is set up once for the group, not once per claim."""
    bodies = [_body(pipeline, draft) for draft in drafts]
    stored = pipeline.payloads.put_many([_dumps(body) for body in bodies])
    return [
        Notice(PayloadAttachment(PayloadKind.RESPONSE_JSON, record, draft.document_type),
               message(Stage.DELIVERY, draft.transaction.id), body)
        for draft, body, record in zip(drafts, bodies, stored, strict=True)
    ]


def _body(pipeline: Pipeline, draft: Draft) -> dict[str, Any]:
    transaction = draft.transaction
    data: dict[str, Any] = {
        "transactionId": transaction.id,
        "kind": transaction.kind.value,
        "documentType": draft.document_type,
        "status": draft.status,
        "final": draft.final,
    }
    if transaction.correlation.control_number:
        data["controlNumber"] = transaction.correlation.control_number
    pcn = (draft.patient_control_number or transaction.correlation.patient_control_number
           or request_clm01(pipeline, transaction))
    if pcn:
        data["patientControlNumber"] = pcn
    if draft.response is not None:
        data["response"] = draft.response
    if draft.errors:
        data["errors"] = [dict(e) for e in draft.errors]
    return {"type": draft.event, "timestamp": pipeline.now().isoformat(), "data": data}


def _dumps(body: dict[str, Any]) -> bytes:
    """The document's bytes: ``json.dumps(body, ensure_ascii=False, separators=(",", ":"))`` as
    UTF-8, made by orjson, which writes the same bytes for the JSON types the mappers produce
    (strings, booleans, integers, null; no floats) in a fraction of the CPU (an 835 part's dump
    was a tenth of the responses stage). Anything orjson refuses (an integer beyond 64 bits, a
    key that is not text, a lone surrogate) goes through ``json`` and fails or succeeds as before."""
    try:
        return orjson.dumps(body)
    except TypeError:
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def request_clm01(pipeline: Pipeline, transaction: TransactionRecord) -> str | None:
    """A claim's CLM01 from its (encrypted) request: the store keeps only a digest of it."""
    if transaction.correlation.patient_control_number_hmac is None:
        return None
    record = pipeline.payload_of(transaction.id, PayloadKind.REQUEST_JSON)
    return _pcn_in(pipeline, record) if record is not None else None


def request_pcns(pipeline: Pipeline, transactions: Sequence[TransactionRecord]) -> dict[str, str]:
    """``_request_pcn`` for many transactions with one look-up of their requests (a 999 answers
    a whole transaction set: one query per claim made the responses stage the slowest); by
    transaction id, only those that have one. Pass each to ``notice`` as ``patient_control_number``."""
    wanted = [t.id for t in transactions if t.correlation.patient_control_number_hmac is not None]
    found: dict[str, str] = {}
    for transaction_id, records in pipeline.repository.payloads_of(wanted, PayloadKind.REQUEST_JSON).items():
        pcn = _pcn_in(pipeline, records[-1]) if records else None
        if pcn:
            found[transaction_id] = pcn
    return found


def _pcn_in(pipeline: Pipeline, record: PayloadRecord) -> str | None:
    try:
        data = _loads(pipeline.read(record))
    except ValueError:
        return None
    info = data.get("claimInformation") if isinstance(data, dict) else None
    pcn = info.get("patientControlNumber") if isinstance(info, dict) else None
    return pcn if isinstance(pcn, str) and pcn else None


def read_notice(pipeline: Pipeline, record: PayloadRecord) -> tuple[bytes, dict[str, Any]]:
    """The stored bytes of a response document and their parsed form."""
    raw = pipeline.read(record)
    return raw, _loads(raw)


def _loads(raw: bytes) -> Any:
    """``json.loads``' result in less CPU; what orjson refuses and json reads (NaN, a lone
    surrogate's escape) still goes through json."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)


def webhook_id_of(record: PayloadRecord) -> str:
    """The ``webhook-id`` of a stored response document: the same for every attempt and replay."""
    return _webhook_id(record.transaction_id, record.sha256)


@lru_cache(maxsize=1 << 16)
def _webhook_id(transaction_id: str, sha256: str) -> str:
    """Remembered: the delivery stage works out the id of every document of a transaction each
    time one more is owed (a claim's 835 after its 999 and 277CA: six for three callbacks), and
    the hash and base32 cost a tenth of the stage. A pure function of its keys, so never stale."""
    return webhook_id_for(transaction_id, sha256)
