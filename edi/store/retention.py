"""Retention: what ``edi purge`` removes once it is old enough, and what it keeps.

Two clocks, both from the environment (days):

* ``EDI_RETENTION_PAYLOAD_DAYS`` (default 2557, seven years with leap days): the encrypted
  payloads (request, X12 in and out, responses, acknowledgments) of transactions in a terminal
  state (rejected, delivered, failed) whose last change is older than that, and processed
  inbound documents received before it. Seven years covers the six years HIPAA asks for its
  documentation plus the usual payer and state claim-record periods; shorten it where contracts
  allow -- payloads are the PHI, and data not kept cannot leak.
* ``EDI_RETENTION_AUDIT_DAYS`` (default 2192, six years with leap days, HIPAA's
  45 CFR 164.316(b)(2)): sealed audit entries recorded before that.

Kept: every ``transactions`` row (ids, states, control numbers, partner, submitter, times),
its ``transaction_events`` and ``deliveries`` (a delivery's payload reference becomes empty),
so volumes, outcomes and turnaround stay reportable; only content goes. A transaction still
in flight is never touched, however old.

Audit entries go from the front of the chain only, up to the last entry recorded before the
cutoff, and never the head (the sealer appends after it). Each purge step records an anchor
(position and hash of the last entry removed) in the same transaction as the delete, and the
database's delete guard admits only deletes at or below an anchor while the purge's gate is
open (migration 0005), so ``edi audit verify`` checks the chain from the first retained entry.

Rows go first and objects after they are committed: a purge that dies in between leaves
unreferenced ciphertext behind, never a row pointing at a missing object. An object shared by
several transactions (a batch file) is removed only with its last reference.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, delete, func, insert, select

from edi.audit.models import AuditAnchor, AuditEntry, AuditPurgeGate
from edi.payloads import PayloadStore
from edi.store.models import READ_ONLY, InboundDocument, Payload, Transaction
from edi.store.states import TERMINAL

__all__ = ["DEFAULT_AUDIT_DAYS", "DEFAULT_PAYLOAD_DAYS", "ENV_PAYLOAD_DAYS", "PurgeReport", "RetentionPolicy", "env_days",
           "purge"]

DEFAULT_PAYLOAD_DAYS = 2557
DEFAULT_AUDIT_DAYS = 2192
ENV_PAYLOAD_DAYS = "EDI_RETENTION_PAYLOAD_DAYS"
ENV_AUDIT_DAYS = "EDI_RETENTION_AUDIT_DAYS"
BATCH = 500


def env_days(env: Mapping[str, str], name: str, default: int) -> int:
    """A retention setting in whole days (at least 1); ``default`` when unset."""
    text = env.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{name} must be a whole number of days, at least 1 (got {text!r})")
    return int(text)


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    payload_days: int = DEFAULT_PAYLOAD_DAYS
    audit_days: int = DEFAULT_AUDIT_DAYS

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RetentionPolicy:
        env = os.environ if environ is None else environ
        return cls(env_days(env, ENV_PAYLOAD_DAYS, DEFAULT_PAYLOAD_DAYS), env_days(env, ENV_AUDIT_DAYS, DEFAULT_AUDIT_DAYS))


@dataclass(slots=True)
class PurgeReport:
    """Counts only. With ``dry_run`` they say what a purge would remove now."""

    dry_run: bool
    payload_cutoff: datetime
    audit_cutoff: datetime
    transactions: int = 0  # terminal transactions whose payloads were due
    payload_rows: int = 0
    inbound_documents: int = 0
    objects: int = 0  # encrypted objects removed from the payload store
    audit_entries: int = 0
    anchor: tuple[int, str] | None = None  # the chain now starts after this (position, hash)
    outbound_files: int = 0  # answers removed from the doors' outbound/ (connectors.ingest.outbound_retention)
    # the doors' archive/quarantine files (connectors.ingest.sealed_files), and their cutoffs
    archive_files: int = 0
    quarantine_files: int = 0
    archive_cutoff: datetime | None = None
    quarantine_cutoff: datetime | None = None
    leftover_uploads: int = 0  # SFTP uploads never answered (connectors.ingest.leftover_uploads)


def _due_transactions(connection: Connection, cutoff: datetime, limit: int) -> list[str]:
    return list(connection.execute(
        select(Transaction.id)
        .where(Transaction.state.in_([s.value for s in TERMINAL]), Transaction.updated_at < cutoff)
        .where(select(Payload.id).where(Payload.transaction_id == Transaction.id).exists())
        .order_by(Transaction.id).limit(limit)
    ).scalars())


def _unreferenced(connection: Connection, uris: set[str]) -> set[str]:
    """Of these object URIs, those no row refers to any more."""
    if not uris:
        return set()
    used = set(connection.execute(select(Payload.uri).where(Payload.uri.in_(uris))).scalars())
    used |= set(connection.execute(select(InboundDocument.uri).where(InboundDocument.uri.in_(uris))).scalars())
    return uris - used


def _purge_payloads(engine: Engine, store: PayloadStore, report: PurgeReport) -> None:
    while True:
        with engine.begin() as connection:
            ids = _due_transactions(connection, report.payload_cutoff, BATCH)
            if not ids:
                return
            rows = connection.execute(select(Payload.id, Payload.uri).where(Payload.transaction_id.in_(ids))).all()
            connection.execute(delete(Payload).where(Payload.transaction_id.in_(ids)))
            gone = _unreferenced(connection, {row.uri for row in rows})
        report.transactions += len(ids)
        report.payload_rows += len(rows)
        for uri in sorted(gone):
            store.delete(uri)
        report.objects += len(gone)


def _purge_inbound(engine: Engine, store: PayloadStore, report: PurgeReport) -> None:
    due = (InboundDocument.processed_at.is_not(None), InboundDocument.received_at < report.payload_cutoff)
    while True:
        with engine.begin() as connection:
            rows = connection.execute(
                select(InboundDocument.id, InboundDocument.uri).where(*due).order_by(InboundDocument.id).limit(BATCH)
            ).all()
            if not rows:
                return
            connection.execute(delete(InboundDocument).where(InboundDocument.id.in_([row.id for row in rows])))
            gone = _unreferenced(connection, {row.uri for row in rows})
        report.inbound_documents += len(rows)
        for uri in sorted(gone):
            store.delete(uri)
        report.objects += len(gone)


def _audit_bounds(connection: Connection, cutoff: datetime) -> tuple[int, int]:
    """(first retained position so far, last position that may go) -- nothing to do when the
    second is not past the first."""
    e = AuditEntry.__table__.c
    anchor = connection.execute(select(func.max(AuditAnchor.position))).scalar()
    head = connection.execute(select(func.max(e.position))).scalar()
    if head is None:
        return 0, 0
    young = connection.execute(
        select(func.min(e.position)).where(e.position.is_not(None), e.recorded_at >= cutoff)
    ).scalar()
    last = min(int(head) - 1, int(young) - 1 if young is not None else int(head) - 1)
    return int(anchor or 0), last


def _purge_audit(engine: Engine, report: PurgeReport, now: datetime) -> None:
    e = AuditEntry.__table__.c
    while True:
        with engine.begin() as connection:
            start, last = _audit_bounds(connection, report.audit_cutoff)
            if last <= start:
                return
            until = min(last, start + BATCH)
            digest = connection.execute(select(e.hash).where(e.position == until)).scalar_one()
            connection.execute(insert(AuditAnchor).values(
                position=until, hash=digest, purged=until - start, cutoff=report.audit_cutoff, created_at=now,
            ))
            connection.execute(insert(AuditPurgeGate).values(opened=1))
            removed = connection.execute(
                delete(AuditEntry).where(e.position.is_not(None), e.position <= until)
            ).rowcount
            connection.execute(delete(AuditPurgeGate))
        report.audit_entries += removed
        report.anchor = (until, digest)


def _count(engine: Engine, report: PurgeReport) -> None:
    with engine.connect().execution_options(**{READ_ONLY: True}) as connection, connection.begin():
        due = (
            select(Transaction.id)
            .where(Transaction.state.in_([s.value for s in TERMINAL]), Transaction.updated_at < report.payload_cutoff)
            .where(select(Payload.id).where(Payload.transaction_id == Transaction.id).exists())
        ).subquery()
        report.transactions = connection.execute(select(func.count()).select_from(due)).scalar_one()
        report.payload_rows = connection.execute(
            select(func.count()).where(Payload.transaction_id.in_(select(due.c.id)))
        ).scalar_one()
        report.inbound_documents = connection.execute(
            select(func.count()).where(
                InboundDocument.processed_at.is_not(None), InboundDocument.received_at < report.payload_cutoff
            )
        ).scalar_one()
        start, last = _audit_bounds(connection, report.audit_cutoff)
        report.audit_entries = max(0, last - start)


def purge(
    engine: Engine, store: PayloadStore, policy: RetentionPolicy, *, now: datetime, dry_run: bool = False
) -> PurgeReport:
    """Remove what ``policy`` says is past retention at ``now``; with ``dry_run``, only count it."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    report = PurgeReport(
        dry_run, now - timedelta(days=policy.payload_days), now - timedelta(days=policy.audit_days)
    )
    if dry_run:
        _count(engine, report)
        return report
    _purge_payloads(engine, store, report)
    _purge_inbound(engine, store, report)
    _purge_audit(engine, report, now)
    return report
