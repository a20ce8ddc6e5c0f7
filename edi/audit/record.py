"""Writing audit entries: cheap inserts in the writer's own database transaction.

Entries are written unsealed (no position, no hash), so writing one costs one INSERT and takes
no lock beyond the row itself: the pipeline's stages never wait for each other, or for the
sealer, to audit. Writing inside the caller's transaction (``record(connection, ...)``) makes the
entry commit or roll back with the state change it describes -- the trail never claims a step
that did not happen, nor misses one that did.

An entry is built from ids, codes and control numbers only, each checked against a strict
pattern (no spaces, bounded length): free text, where PHI could slip in, has no field to go to.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, insert

from edi.audit.models import AuditAction, AuditEntry, AuditKind
from edi.store.models import utcnow

__all__ = ["AuditLog", "AuditRecord", "phi_read", "record"]

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@/+-]*")
_CODE = re.compile(r"[a-z0-9][a-z0-9_.:-]*")
_LIMITS = {"actor": 128, "transaction_id": 26, "submitter_id": 64, "partner_id": 64, "control_number": 50}


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One thing to put on the trail (see ``edi.audit.models.AuditEntry`` for the fields)."""

    action: AuditAction
    actor: str
    outcome: str = "ok"
    transaction_id: str | None = None
    submitter_id: str | None = None
    partner_id: str | None = None
    control_number: str | None = None
    isa13: int | None = None
    gs06: int | None = None
    st02: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "action", AuditAction(self.action))
        for name, limit in _LIMITS.items():
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or len(value) > limit or not _ID.fullmatch(value)):
                raise ValueError(f"audit {name} must be an id of at most {limit} characters (letters, digits, ._:@/+-)")
        if not isinstance(self.outcome, str) or len(self.outcome) > 64 or not _CODE.fullmatch(self.outcome):
            raise ValueError("audit outcome must be a lower-case code of at most 64 characters")
        for name in ("isa13", "gs06", "st02"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or not 0 <= value <= 999_999_999):
                raise ValueError(f"audit {name} must be a control number (0..999999999)")

    @property
    def kind(self) -> AuditKind:
        return AuditKind.ACCESS if self.action is AuditAction.READ else AuditKind.EVENT


def phi_read(actor: str, transaction_id: str, *, outcome: str = "ok", **fields: object) -> AuditRecord:
    """A read of PHI: who read which transaction's payload or response, and whether it was given."""
    return AuditRecord(AuditAction.READ, actor, outcome, transaction_id, **fields)  # type: ignore[arg-type]


def _rows(records: Iterable[AuditRecord], at: datetime) -> list[dict[str, object]]:
    return [asdict(r) | {"kind": r.kind.value, "action": r.action.value, "recorded_at": at} for r in records]


def record(connection: Connection, *records: AuditRecord, clock: Callable[[], datetime] = utcnow) -> None:
    """Insert ``records`` in the caller's open transaction (they commit with it)."""
    if records:
        connection.execute(insert(AuditEntry), _rows(records, clock()))


class AuditLog:
    """Audit writes in a transaction of their own (for readers and callers without one)."""

    def __init__(self, engine: Engine, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.engine, self._clock = engine, clock

    def record(self, *records: AuditRecord) -> None:
        with self.engine.begin() as connection:
            record(connection, *records, clock=self._clock)
