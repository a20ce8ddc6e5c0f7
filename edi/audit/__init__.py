"""The audit trail: an append-only, hash-chained record of what happened to each transaction and
of every read of PHI -- ids, codes and control numbers only, never PHI itself.

Writers record cheaply (``record``), a sealer chains entries off the hot path (``seal``), and
``verify_chain`` (``edi audit verify``) finds edited, removed, inserted or reordered entries.
"""

from edi.audit.models import AuditAction, AuditEntry, AuditKind
from edi.audit.record import AuditLog, AuditRecord, phi_read, record
from edi.audit.sealer import seal, seal_all
from edi.audit.verify import ChainProblem, ChainReport, verify_chain

__all__ = [
    "AuditAction",
    "AuditEntry",
    "AuditKind",
    "AuditLog",
    "AuditRecord",
    "ChainProblem",
    "ChainReport",
    "phi_read",
    "record",
    "seal",
    "seal_all",
    "verify_chain",
]
