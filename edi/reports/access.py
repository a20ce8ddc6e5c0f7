"""Who read PHI: the audit trail's access entries, for a user or for a member.

For a user the trail answers directly (its ``actor``). For a member it cannot: the trail holds
no PHI, and the store keeps no member index (a keyed hash of member ids would need every
writer to agree on a key and would leak equality across partners). So the report finds the
member's transactions the way a compliance officer with the key ring would: among the
transactions whose PHI was read in the window -- usually few -- it decrypts each request and
compares its ``memberId`` fields (subscriber and dependents). Only the matches are disclosed,
and each is recorded on the trail as the officer's own PHI read (``report-member-lookup``),
after the report is drawn up, so a report never lists its own lookups.
"""

from __future__ import annotations

import hmac
import json
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select

from edi.audit.models import AuditEntry, AuditKind
from edi.audit.record import AuditLog, phi_read
from edi.payloads import PayloadStore
from edi.reports.facts import reading
from edi.reports.model import Report, ReportError, Table, Window
from edi.store.models import Payload, PayloadKind

__all__ = ["LOOKUP_OUTCOME", "phi_access_report"]

LOOKUP_OUTCOME = "report-member-lookup"
_CHUNK = 500  # ids per IN (...) list


def _member_ids(data: Any) -> Iterator[str]:
    if isinstance(data, dict):
        for key, value in data.items():
            if key == "memberId" and isinstance(value, str):
                yield value
            else:
                yield from _member_ids(value)
    elif isinstance(data, list):
        for item in data:
            yield from _member_ids(item)


def _belongs(raw: bytes, member: str) -> bool:
    try:
        data = json.loads(raw)
    except ValueError:
        return False
    wanted = member.strip().encode()
    return any(hmac.compare_digest(found.strip().encode(), wanted) for found in _member_ids(data))


def phi_access_report(
    engine: Engine, window: Window, now: datetime, *, user: str | None = None, member: str | None = None,
    payloads: PayloadStore | None = None, officer: str | None = None,
) -> Report:
    if (user is None) == (member is None):
        raise ReportError("the PHI access report is for one user (--user) or one member (--member)")
    if member is not None and (payloads is None or not officer):
        raise ReportError("a member's PHI access log needs the payload key ring and the officer's id (--officer)")
    a, p = AuditEntry.__table__.c, Payload.__table__.c
    query = (select(a.recorded_at, a.actor, a.transaction_id, a.outcome, a.submitter_id, a.partner_id)
             .where(a.kind == AuditKind.ACCESS.value, a.recorded_at >= window.start, a.recorded_at < window.end)
             .order_by(a.recorded_at, a.id))
    if user is not None:
        query = query.where(a.actor == user)
    with reading(engine) as connection:
        entries = connection.execute(query).all()
        matched: set[str] = set()
        if member is not None:
            assert payloads is not None
            ids = sorted({e.transaction_id for e in entries if e.transaction_id})
            requests = [
                row for start in range(0, len(ids), _CHUNK) for row in connection.execute(
                    select(p.transaction_id, p.uri, p.sha256).where(
                        p.transaction_id.in_(ids[start:start + _CHUNK]), p.kind == PayloadKind.REQUEST_JSON.value)
                )
            ]
            for request in requests:
                if _belongs(payloads.get(request.uri, sha256=request.sha256), member):
                    matched.add(request.transaction_id)
            entries = [e for e in entries if e.transaction_id in matched]
    rows = [[e.recorded_at.isoformat(), e.actor, e.transaction_id, e.outcome, e.submitter_id, e.partner_id]
            for e in entries]
    by_actor = Counter((e.actor, e.outcome) for e in entries)
    if matched:
        AuditLog(engine).record(*(phi_read(officer or "", tid, outcome=LOOKUP_OUTCOME) for tid in sorted(matched)))
    return Report(
        kind="phi-access", title="PHI access log", window=window, generated_at=now,
        parameters={"user": user} if user is not None else {"member": "(given, not shown)", "officer": officer or ""},
        notes=["Reads of payloads and responses holding PHI, from the audit trail."
               + (" The member's transactions were found by decrypting the requests read in the window; "
                  "each match is recorded as the officer's read." if member is not None else "")],
        tables=[
            Table(name="by_actor", title="Reads by reader and outcome", columns=["actor", "outcome", "reads"],
                  rows=[[actor, outcome, n] for (actor, outcome), n in sorted(by_actor.items())]),
            Table(name="reads", title="Reads",
                  columns=["recorded_at", "actor", "transaction_id", "outcome", "submitter_id", "partner_id"],
                  rows=rows),
        ],
    )
