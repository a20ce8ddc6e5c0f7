"""Callback delivery failures: attempts that failed, and responses that were dead-lettered.

Targets are shown as scheme, host and port only: a callback URL's path or query may carry the
submitter's own tokens, which a report has no business copying.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import Engine, select

from edi.reports.facts import reading
from edi.reports.model import Report, Table, Window
from edi.store.models import Delivery, DeliveryOutcome, Transaction

__all__ = ["delivery_report"]


def _origin(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")


def delivery_report(engine: Engine, window: Window, now: datetime) -> Report:
    d, t = Delivery.__table__.c, Transaction.__table__.c
    with reading(engine) as connection:
        attempts = connection.execute(
            select(d.transaction_id, d.webhook_id, d.target, d.attempt, d.outcome, d.status_code, d.error_code,
                   d.attempted_at, t.submitter_id)
            .join(Transaction.__table__, t.id == d.transaction_id)
            .where(d.attempted_at >= window.start, d.attempted_at < window.end).order_by(d.attempted_at, d.id)
        ).all()
    outcomes = Counter(a.outcome for a in attempts)
    failures = Counter(
        (a.submitter_id, _origin(a.target), "" if a.status_code is None else str(a.status_code), a.error_code or "")
        for a in attempts if a.outcome != DeliveryOutcome.SUCCEEDED
    )
    dead = [[a.transaction_id, a.webhook_id, a.submitter_id, _origin(a.target), a.attempt, a.status_code,
             a.error_code, a.attempted_at.isoformat()]
            for a in attempts if a.outcome == DeliveryOutcome.DEAD_LETTERED]
    total = len(attempts)
    return Report(
        kind="deliveries", title="Callback delivery failures", window=window, generated_at=now,
        notes=["Every callback attempt made in the window. Dead-lettered: the last try failed; "
               "`edi replay` sends the same response again."],
        tables=[
            Table(name="attempts", title="Attempts by outcome", columns=["outcome", "attempts", "share"],
                  rows=[[o.value, outcomes[o.value], round(outcomes[o.value] / total, 4) if total else 0.0]
                        for o in DeliveryOutcome]),
            Table(name="failures", title="Failed attempts by submitter, target and error",
                  columns=["submitter_id", "target", "status_code", "error_code", "attempts"],
                  rows=[[s, tg, sc, ec, n] for (s, tg, sc, ec), n in sorted(failures.items())]),
            Table(name="dead_lettered", title="Dead-lettered responses",
                  columns=["transaction_id", "webhook_id", "submitter_id", "target", "attempts", "status_code",
                           "error_code", "at"], rows=dead),
        ],
    )
