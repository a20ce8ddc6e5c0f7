"""Recording requests: the one way in for every door (API, files, queues).

A request is stored encrypted, recorded as a transaction and checked; a valid one moves to
``validated`` with a message for the translate stage committed in the same database
transaction, so an accepted request can never be dropped between intake and the queues.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from edi.checks import Problem
from edi.pipeline.context import Pipeline, canonical_json
from edi.pipeline.notices import EventType, notice
from edi.pipeline.topics import Stage, message
from edi.store import (
    Correlation,
    IdempotencyConflictError,
    Kind,
    NewTransaction,
    PayloadAttachment,
    State,
    TransactionRecord,
    UnexpectedStateError,
)
from edi.store.models import PayloadKind

__all__ = [
    "DOCUMENT_TYPES", "Request", "RequestKind", "accept", "accept_keyed_many", "accept_many", "correlation_of", "reject",
]

RequestKind = Literal["eligibility", "professional", "institutional"]
DOCUMENT_TYPES: dict[str, str] = {"eligibility": "270", "professional": "837P", "institutional": "837I"}
KINDS: dict[str, Kind] = {"eligibility": Kind.ELIGIBILITY, "professional": Kind.CLAIM, "institutional": Kind.CLAIM}


def correlation_of(data: Any) -> Correlation:
    """The submitter's own keys of a request, as far as they fit the store's columns."""
    if not isinstance(data, dict):
        return Correlation()
    info = data.get("claimInformation")
    pcn = info.get("patientControlNumber") if isinstance(info, dict) else None
    control = data.get("controlNumber")
    try:
        return Correlation(
            control_number=control if isinstance(control, str) and control else None,
            patient_control_number=pcn if isinstance(pcn, str) and pcn else None,
        )
    except ValueError:
        return Correlation()


def accept(
    pipeline: Pipeline,
    *,
    submitter_id: str,
    request_kind: RequestKind,
    data: dict[str, Any],
    idempotency_key: str | None = None,
    request_sha256: str | None = None,
    callback_url: str | None = None,
    actor: str = "intake",
    route: bool = True,
    reply_to: str | None = None,
) -> tuple[TransactionRecord, bool]:
    """Record a request that passed the checks; (transaction, created).

    With an idempotency key already used for the same request the earlier transaction comes
    back with ``created=False``; with another request ``IdempotencyConflictError`` is raised.
    ``route=False`` leaves the translate message out (the API's real-time path drives the
    eligibility request itself and queues it only if it cannot finish). ``reply_to`` is the
    reply address (JSON text) of the door the request came in by.
    """
    stored = pipeline.payloads.put(canonical_json(data))
    new = NewTransaction(
        submitter_id=submitter_id, kind=KINDS[request_kind], idempotency_key=idempotency_key,
        request_sha256=request_sha256 if idempotency_key else None, callback_url=callback_url,
        correlation=correlation_of(data), document_type=DOCUMENT_TYPES[request_kind],
        reply_to=pipeline.seal_reply_to(reply_to),
    )
    attachment = PayloadAttachment(PayloadKind.REQUEST_JSON, stored, DOCUMENT_TYPES[request_kind])
    try:
        result = pipeline.repository.create(new, actor=actor, attach=[attachment])
    except IdempotencyConflictError:
        pipeline.payloads.delete(stored.uri)
        raise
    except BaseException:
        pipeline.payloads.delete(stored.uri)
        raise
    if not result.created:
        pipeline.payloads.delete(stored.uri)
    transaction = result.transaction
    if transaction.state is State.RECEIVED:  # new, or a replay of one cut short before this
        outbox = [message(Stage.TRANSLATE, transaction.id)] if route else []
        try:
            transaction = pipeline.repository.transition(
                transaction.id, State.VALIDATED, actor=actor, expected=State.RECEIVED, outbox=outbox,
            )
        except UnexpectedStateError:
            transaction = pipeline.repository.require(transaction.id, submitter_id=submitter_id)
    return transaction, result.created


@dataclass(frozen=True, slots=True)
class Request:
    """One checked request of a bulk ``accept_many``."""

    kind: RequestKind
    data: dict[str, Any]
    idempotency_key: str | None = None
    request_sha256: str | None = None
    callback_url: str | None = None


def accept_many(pipeline: Pipeline, *, submitter_id: str, items: Sequence[Request], actor: str = "intake",
                route: bool = True) -> list[tuple[TransactionRecord, bool]]:
    """Record many checked requests; [(transaction, created)] in the order given.

    Requests without an idempotency key are stored together: their payloads made durable with
    one flush, then one commit records them all as ``validated`` (each with its ``received`` and
    ``validated`` events and its translate message). Keyed ones go through ``accept``.
    """
    results: list[tuple[TransactionRecord, bool] | None] = [None] * len(items)
    plain = [index for index, item in enumerate(items) if item.idempotency_key is None]
    for index, item in enumerate(items):
        if item.idempotency_key is not None:
            results[index] = accept(pipeline, submitter_id=submitter_id, request_kind=item.kind, data=item.data,
                                    idempotency_key=item.idempotency_key, request_sha256=item.request_sha256,
                                    callback_url=item.callback_url, actor=actor, route=route)
    if plain:
        stored = []
        try:
            with pipeline.payloads.deferred_sync():
                for index in plain:
                    stored.append(pipeline.payloads.put(canonical_json(items[index].data)))
            entries = []
            for index, payload in zip(plain, stored, strict=True):
                item = items[index]
                new = NewTransaction(
                    submitter_id=submitter_id, kind=KINDS[item.kind], callback_url=item.callback_url,
                    correlation=correlation_of(item.data), document_type=DOCUMENT_TYPES[item.kind],
                )
                entries.append((new, [PayloadAttachment(PayloadKind.REQUEST_JSON, payload, DOCUMENT_TYPES[item.kind])]))
            records = pipeline.repository.create_many(
                entries, actor=actor, to=State.VALIDATED,
                outbox=(lambda transaction_id: [message(Stage.TRANSLATE, transaction_id)]) if route else None,
            )
        except BaseException:
            for payload in stored:
                pipeline.payloads.delete(payload.uri)
            raise
        for index, record in zip(plain, records, strict=True):
            results[index] = (record, True)
    return [result for result in results if result is not None]


@dataclass(frozen=True, slots=True)
class KeyedRequest:
    """One checked request of a door's file, with its idempotency key and reply address."""

    kind: RequestKind
    data: dict[str, Any]
    idempotency_key: str
    request_sha256: str
    reply_to: str | None = None


def accept_keyed_many(pipeline: Pipeline, *, submitter_id: str, items: Sequence[KeyedRequest],
                      actor: str = "intake") -> list[tuple[TransactionRecord, bool] | None]:
    """``accept`` for the rows of one file: the payloads made durable with one flush, the
    replays found with one look-up and the new requests recorded ``validated`` (with their
    ``received`` and ``validated`` events and translate messages) in one commit -- a roster of
    ten thousand lines was twenty thousand commits one by one, each waiting for the store's
    write lock behind the stage workers. Results in the order given; None where the key was
    used before for another request (``accept`` raises ``IdempotencyConflictError`` there)."""
    stored = []
    try:
        with pipeline.payloads.deferred_sync():
            for item in items:
                stored.append(pipeline.payloads.put(canonical_json(item.data)))
        entries = [
            (NewTransaction(submitter_id=submitter_id, kind=KINDS[item.kind], idempotency_key=item.idempotency_key,
                            request_sha256=item.request_sha256, correlation=correlation_of(item.data),
                            document_type=DOCUMENT_TYPES[item.kind], reply_to=pipeline.seal_reply_to(item.reply_to)),
             [PayloadAttachment(PayloadKind.REQUEST_JSON, payload, DOCUMENT_TYPES[item.kind])])
            for item, payload in zip(items, stored, strict=True)
        ]
        created = pipeline.repository.create_keyed_many(
            entries, actor=actor, to=State.VALIDATED,
            outbox=lambda transaction_id: [message(Stage.TRANSLATE, transaction_id)],
        )
    except BaseException:
        for payload in stored:
            pipeline.payloads.delete(payload.uri)
        raise
    results: list[tuple[TransactionRecord, bool] | None] = []
    for result, payload in zip(created, stored, strict=True):
        if result is None or not result.created:
            pipeline.payloads.delete(payload.uri)
        if result is None:
            results.append(None)
            continue
        transaction = result.transaction
        if transaction.state is State.RECEIVED:  # recorded alone after a race, or a replay cut short
            try:
                transaction = pipeline.repository.transition(
                    transaction.id, State.VALIDATED, actor=actor, expected=State.RECEIVED,
                    outbox=[message(Stage.TRANSLATE, transaction.id)],
                )
            except UnexpectedStateError:
                transaction = pipeline.repository.require(transaction.id, submitter_id=submitter_id)
        results.append((transaction, result.created))
    return results


def reject(
    pipeline: Pipeline,
    *,
    submitter_id: str,
    request_kind: RequestKind,
    data: Any,
    problems: Sequence[Problem],
    actor: str = "intake",
    callback_url: str | None = None,
    reply_to: str | None = None,
    idempotency_key: str | None = None,
) -> TransactionRecord:
    """Record a request that failed the checks (a door that cannot answer synchronously): it
    is kept, marked rejected, and its problems go back to the submitter as a final notice.

    With an ``idempotency_key`` already used (a door replaying a submission after a crash) the
    earlier transaction comes back and nothing new is written."""
    stored = pipeline.payloads.put(canonical_json(data))
    new = NewTransaction(
        submitter_id=submitter_id, kind=KINDS[request_kind], correlation=correlation_of(data),
        document_type=DOCUMENT_TYPES[request_kind], callback_url=callback_url,
        reply_to=pipeline.seal_reply_to(reply_to), idempotency_key=idempotency_key, request_sha256=None,
    )
    try:
        result = pipeline.repository.create(
            new, actor=actor,
            attach=[PayloadAttachment(PayloadKind.REQUEST_JSON, stored, DOCUMENT_TYPES[request_kind])],
        )
    except BaseException:
        pipeline.payloads.delete(stored.uri)
        raise
    record = result.transaction
    if not result.created:
        pipeline.payloads.delete(stored.uri)
        if record.state is not State.RECEIVED:
            return record
    note = notice(
        pipeline, record, EventType.REJECTED, document_type=DOCUMENT_TYPES[request_kind], final=True,
        status="rejected", errors=[{"field": p.path, "description": p.message} for p in problems],
    )
    return pipeline.repository.transition(
        record.id, State.REJECTED, actor=actor, detail_code="check:invalid", attach=[note.attachment],
        outbox=[note.delivery],
    )
