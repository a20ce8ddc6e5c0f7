"""The store's rows a report reads, loaded once per report in one read-only transaction.

Transactions are chosen by when they were received (``created_at`` in the window) and come
with their whole history, so a claim received on the last day still shows the 277CA that
rejected it the day after. Aggregation is done here in Python rather than in SQL: date
arithmetic differs between SQLite and PostgreSQL, and a report window is bounded.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, select

from edi.reports.model import Window
from edi.reports.reasons import Reason, parse_detail
from edi.store.models import READ_ONLY, Transaction, TransactionEvent
from edi.store.states import State

__all__ = ["Event", "Outcome", "TransactionFacts", "load_transactions", "reading"]

_BATCH = 2000


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """One consistent snapshot for the whole report, without taking SQLite's write lock."""
    with engine.connect().execution_options(**{READ_ONLY: True}) as connection, connection.begin():
        yield connection


@dataclass(frozen=True, slots=True)
class Event:
    at: datetime
    to_state: str
    detail: str | None

    @property
    def reason(self) -> Reason | None:
        return parse_detail(self.detail)


@dataclass(frozen=True, slots=True)
class Outcome:
    status: str  # accepted, rejected, failed, pending
    source: str | None = None  # who decided: edi (our checks), TA1, 999, 277CA, 271
    codes: tuple[tuple[str, str], ...] = ()


@dataclass(slots=True)
class TransactionFacts:
    id: str
    submitter_id: str
    kind: str
    partner_id: str | None
    document_type: str | None
    state: str
    created_at: datetime
    events: list[Event] = field(default_factory=list)

    @property
    def partner(self) -> str:
        return self.partner_id or "(none)"

    @property
    def type(self) -> str:
        return self.document_type or self.kind

    def first(self, predicate: object) -> Event | None:
        return next((e for e in self.events if predicate(e)), None)  # type: ignore[operator]

    def outcome(self) -> Outcome:
        """Rejected (by us or the partner) over accepted over failed over pending.

        Accepted wins over failed: a 271 whose callback was dead-lettered was still answered
        by the payer; the delivery report shows the callback failure.
        """
        if self.state == State.REJECTED:
            rejected = next((e for e in reversed(self.events) if e.to_state == State.REJECTED), None)
            return Outcome("rejected", "edi", (("edi", rejected.detail or "rejected"),) if rejected else ())
        reasons = [r for r in (e.reason for e in self.events) if r is not None]
        refusal = next((r for r in reasons if r.accepted is False), None)
        if refusal is not None:
            return Outcome("rejected", refusal.source, refusal.codes)
        if any(r.accepted for r in reasons):
            return Outcome("accepted")
        if self.state == State.FAILED:
            failed = next((e for e in reversed(self.events) if e.to_state == State.FAILED), None)
            return Outcome("failed", "edi", (("edi", failed.detail or "failed"),) if failed else ())
        return Outcome("pending")


def load_transactions(connection: Connection, window: Window) -> list[TransactionFacts]:
    t, e = Transaction.__table__.c, TransactionEvent.__table__.c
    in_window = (t.created_at >= window.start) & (t.created_at < window.end)
    facts: dict[str, TransactionFacts] = {}
    rows = connection.execution_options(yield_per=_BATCH).execute(
        select(t.id, t.submitter_id, t.kind, t.partner_id, t.document_type, t.state, t.created_at)
        .where(in_window).order_by(t.created_at, t.id)
    )
    for row in rows:
        facts[row.id] = TransactionFacts(row.id, row.submitter_id, row.kind, row.partner_id, row.document_type,
                                         row.state, _aware(row.created_at))
    events = connection.execution_options(yield_per=_BATCH).execute(
        select(e.transaction_id, e.at, e.to_state, e.detail_code)
        .join(Transaction.__table__, t.id == e.transaction_id).where(in_window).order_by(e.transaction_id, e.id)
    )
    for row in events:
        facts[row.transaction_id].events.append(Event(_aware(row.at), row.to_state, row.detail_code))
    return list(facts.values())


def _aware(moment: datetime) -> datetime:
    """UTC-aware whatever the driver gave (the column type already makes it so on both databases)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
