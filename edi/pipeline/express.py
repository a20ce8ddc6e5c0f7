"""The API's real-time eligibility path: from the caller's request to a 270 marked sent in one commit.

Step by step (``intake.accept``, ``translate(hold=True)``, ``begin_realtime``) a request costs four
commits, a re-read and decryption of the 270 just written, and a second validation of the request
model, all before the payer is even called. When the caller waits for the answer none of that
buys anything: the request and its 270 are written (encrypted, made durable with one grouped
flush), then one commit records the transaction already ``sent`` with every state it passed --
``received``, ``validated``, ``queued``, ``sent`` -- as its own event (and so its own audit entry)
and both payloads. The payload files are durable before the commit that points at them.

A crash after that commit and before the CORE call leaves a ``sent`` transaction whose outcome
is unknown: it is failed once the CORE budget has passed, never sent twice -- the same rule as
a crash right after ``begin_realtime``. Everything this path does not handle itself (an
idempotent replay, a payer without a partner, a request the 270 cannot carry) goes the step-by-step
way, which records the refusal with its reason: ``prepare`` then answers None.
"""

from __future__ import annotations

from typing import Any

from edi.mappers.eligibility import NotRepresentable
from edi.pipeline.context import Pipeline, canonical_json
from edi.pipeline.intake import DOCUMENT_TYPES, correlation_of
from edi.pipeline.translate import ACTOR as TRANSLATE
from edi.pipeline.translate import write_270
from edi.pipeline.transmission import ACTOR as TRANSPORT
from edi.pipeline.transmission import RealtimeSend
from edi.store import Correlation, Kind, NewTransaction, PayloadAttachment, State, Step
from edi.store.models import PayloadKind, new_id

__all__ = ["NUMBERS_RESERVED", "prepare"]

NUMBERS_RESERVED = 50  # envelope numbers committed at once per partner (one commit per 50 requests)


def prepare(
    pipeline: Pipeline,
    *,
    submitter_id: str,
    request: Any,
    data: dict[str, Any],
    actor: str,
    idempotency_key: str | None = None,
    request_sha256: str | None = None,
) -> RealtimeSend | None:
    """Record a checked eligibility request (``request`` is its model, ``data`` its JSON) as sent,
    with its 270; None when it must go the step-by-step way (nothing is left behind then)."""
    if idempotency_key is not None and pipeline.repository.get_by_idempotency_key(submitter_id, idempotency_key):
        return None  # a replay: the step-by-step path answers with the earlier transaction
    try:
        partner = pipeline.partners.for_payer(request.trading_partner_service_id)
    except KeyError:
        return None
    if not partner.accepts("270"):
        return None
    transaction_id = new_id()
    try:
        text, keys = write_270(pipeline, transaction_id, partner, request, reserve=NUMBERS_RESERVED)
    except (NotRepresentable, ValueError):
        return None
    own = correlation_of(data)
    correlation = Correlation(**{**keys.columns(), **own.columns()})
    payloads = pipeline.payloads
    stored = []
    try:
        with payloads.deferred_sync():  # one flush for both files, before the commit refers to them
            stored.append(payloads.put(canonical_json(data)))
            stored.append(payloads.put(text.encode("utf-8")))
        new = NewTransaction(
            submitter_id=submitter_id, kind=Kind.ELIGIBILITY, partner_id=partner.id,
            idempotency_key=idempotency_key, request_sha256=request_sha256 if idempotency_key else None,
            correlation=correlation, document_type=DOCUMENT_TYPES["eligibility"],
        )
        result = pipeline.repository.create(
            new, actor=actor, transaction_id=transaction_id,
            attach=[PayloadAttachment(PayloadKind.REQUEST_JSON, stored[0], "270"),
                    PayloadAttachment(PayloadKind.OUTBOUND_X12, stored[1], "270")],
            then=[Step(State.VALIDATED), Step(State.QUEUED, actor=TRANSLATE),
                  Step(State.SENT, "core:sending", actor=TRANSPORT)],
        )
    except BaseException:
        for payload in stored:
            payloads.delete(payload.uri)
        raise
    if not result.created:  # the same idempotency key, recorded meanwhile by a concurrent request
        for payload in stored:
            payloads.delete(payload.uri)
        return None
    return RealtimeSend(result.transaction, partner, text)
