"""The audit trail's table, on the store's metadata (same database, same migrations).

``audit_entries`` is append-only: writers insert entries with no position (unsealed); the
sealer (``edi.audit.sealer``) later fills in ``position``, ``prev_hash`` and ``hash`` once, and
nothing else ever changes. Database triggers (migration 0004) refuse deletes and any other
update, so tampering needs someone able to drop triggers -- and the hash chain then shows it.

Columns hold ids, codes and control numbers only, never PHI: the trail says who touched which
transaction and what came of it, not what the transaction contained.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from edi.store.models import Base, BigId, utcnow

__all__ = ["AuditAction", "AuditAnchor", "AuditEntry", "AuditKind", "AuditPurgeGate", "CHAINED_FIELDS"]


class AuditKind(StrEnum):
    EVENT = "event"  # something happened to a transaction
    ACCESS = "access"  # someone read PHI


class AuditAction(StrEnum):
    RECEIVED = "received"
    VALIDATED = "validated"
    SENT = "sent"
    ACKNOWLEDGED = "acknowledged"
    RESPONDED = "responded"
    DELIVERED = "delivered"
    FAILED = "failed"
    REPLAYED = "replayed"
    READ = "read"  # the one ACCESS action: a payload or response holding PHI was read


# The columns each entry's hash covers, in addition to its position and the previous hash.
CHAINED_FIELDS = (
    "id", "recorded_at", "kind", "action", "actor", "outcome", "transaction_id", "submitter_id", "partner_id",
    "control_number", "isa13", "gs06", "st02",
)


def _one_of(column: str, values: type[StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


class AuditEntry(Base):
    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(128))  # stage, process or principal (submitter/client id)
    outcome: Mapped[str] = mapped_column(String(64))  # a code: ok, rejected, not-found, timeout, ...
    transaction_id: Mapped[str | None] = mapped_column(String(26))
    submitter_id: Mapped[str | None] = mapped_column(String(64))
    partner_id: Mapped[str | None] = mapped_column(String(64))
    control_number: Mapped[str | None] = mapped_column(String(50))  # the request's controlNumber
    isa13: Mapped[int | None] = mapped_column(Integer)
    gs06: Mapped[int | None] = mapped_column(Integer)
    st02: Mapped[int | None] = mapped_column(Integer)
    # set once by the sealer
    position: Mapped[int | None] = mapped_column(BigInteger)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        CheckConstraint(_one_of("kind", AuditKind), name="kind"),
        CheckConstraint(_one_of("action", AuditAction), name="action"),
        CheckConstraint(
            "(position IS NULL AND prev_hash IS NULL AND hash IS NULL) OR "
            "(position >= 1 AND prev_hash IS NOT NULL AND hash IS NOT NULL)",
            name="sealed",
        ),
        UniqueConstraint("position"),
        Index(None, "transaction_id", "id"),
        Index(
            "ix_audit_entries_unsealed", "id",
            postgresql_where=text("position IS NULL"), sqlite_where=text("position IS NULL"),
        ),
    )


class AuditAnchor(Base):
    """Where the retained chain starts after a purge: the last removed entry's position and hash.

    Append-only (migration 0005); ``edi audit verify`` starts from the highest anchor, and the
    delete guard lets the purge remove only entries at or below it.
    """

    __tablename__ = "audit_anchors"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    position: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
    purged: Mapped[int] = mapped_column(BigInteger)  # entries removed by this purge
    cutoff: Mapped[datetime] = mapped_column()  # entries recorded before this were due
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("position"),)


class AuditPurgeGate(Base):
    """Open (one row) only inside a purge's own transaction: the delete guard's permission."""

    __tablename__ = "audit_purge_gate"

    opened: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
