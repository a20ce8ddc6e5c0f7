"""Operators' reads and replays from the command line, on the audit trail like the API's.

``edi show`` decrypts a transaction's stored documents for a person at a terminal: that is a read
of PHI as much as ``GET /transactions/{id}`` is, so it writes the same ``read`` entry, with the
operator as the actor, before anything is printed. ``edi replay`` sends stored documents out
again on an operator's word: the pipeline's own events record the delivery, and this module adds
who asked for it (a ``replayed`` entry per transaction, whatever came of it).

The actor is ``cli:`` and the operating-system user, or what ``--actor`` names (a ticket or a
person's id when several people share one account).
"""

from __future__ import annotations

import getpass
import json
import re
from datetime import UTC, datetime
from typing import Any

from edi.audit.models import AuditAction
from edi.audit.record import AuditLog, AuditRecord, phi_read
from edi.pipeline import Pipeline
from edi.store import ALL_SUBMITTERS, TransactionRecord
from edi.store.models import PayloadKind

__all__ = ["CLI_PREFIX", "audit_replays", "cli_actor", "show_transaction"]

CLI_PREFIX = "cli:"
_ACTOR = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@/+-]{0,127}")
_UNSAFE = re.compile(r"[^A-Za-z0-9._:@/+-]")
_AUDITABLE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,25}")


def cli_actor(given: str | None = None) -> str:
    """``--actor`` as given (it must be an id), else ``cli:`` and the OS user."""
    if given is not None:
        if not _ACTOR.fullmatch(given):
            raise ValueError("--actor must be an id of at most 128 characters (letters, digits, ._:@/+-)")
        return given
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry for the uid (containers)
        user = "unknown"
    return (CLI_PREFIX + _UNSAFE.sub("_", user))[:128]


def _iso(value: datetime) -> str:
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def show_transaction(pipeline: Pipeline, transaction_id: str, actor: str) -> dict[str, Any] | None:
    """State, history, request and responses of a transaction (decrypted), audited as a read by
    ``actor``; None when there is no such transaction (audited too: probing is a read attempt)."""
    repository = pipeline.repository
    record = repository.get(transaction_id, submitter_id=ALL_SUBMITTERS)
    audit = AuditLog(repository.engine)
    if record is None:
        if _AUDITABLE_ID.fullmatch(transaction_id):
            audit.record(phi_read(actor, transaction_id, outcome="not-found"))
        return None
    history = repository.history(transaction_id, submitter_id=ALL_SUBMITTERS)
    request: Any = None
    responses = []
    for payload in repository.payloads(transaction_id, submitter_id=ALL_SUBMITTERS):
        if payload.kind is PayloadKind.REQUEST_JSON:
            request = json.loads(pipeline.read(payload))
        elif payload.kind is PayloadKind.RESPONSE_JSON:
            body = json.loads(pipeline.read(payload))
            responses.append({"type": body.get("type"), "at": body.get("timestamp"), **body.get("data", {})})
    # Written before the caller prints anything: a read that cannot be audited is not shown.
    audit.record(phi_read(actor, transaction_id, submitter_id=record.submitter_id, partner_id=record.partner_id))
    return _view(record, history, request, responses)


def _view(record: TransactionRecord, history: list[Any], request: Any, responses: list[Any]) -> dict[str, Any]:
    return {
        "id": record.id,
        "submitterId": record.submitter_id,
        "partnerId": record.partner_id,
        "kind": record.kind.value,
        "documentType": record.document_type,
        "state": record.state.value,
        "createdAt": _iso(record.created_at),
        "updatedAt": _iso(record.updated_at),
        "controlNumber": record.correlation.control_number,
        "history": [
            {"state": e.to_state.value, "from": e.from_state.value if e.from_state else None, "at": _iso(e.at),
             "detail": e.detail_code, "actor": e.actor}
            for e in history
        ],
        "request": request,
        "responses": responses,
    }


def audit_replays(pipeline: Pipeline, outcomes: dict[str, str], actor: str) -> None:
    """One ``replayed`` entry per transaction an operator replayed, with what came of it."""
    found = pipeline.repository.get_many(outcomes)
    records = []
    for transaction_id, outcome in outcomes.items():
        record = found.get(transaction_id)
        if record is None and not _AUDITABLE_ID.fullmatch(transaction_id):
            continue
        records.append(AuditRecord(
            AuditAction.REPLAYED, actor, outcome if record is not None else "not-found", transaction_id,
            submitter_id=record.submitter_id if record else None, partner_id=record.partner_id if record else None,
            control_number=_control(record.correlation.control_number) if record else None,
        ))
    AuditLog(pipeline.repository.engine).record(*records)


def _control(value: str | None) -> str | None:
    return value if value and len(value) <= 50 and _ACTOR.fullmatch(value) else None
