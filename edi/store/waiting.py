"""How many claims wait for a partner's next batch, counted in the database.

The partner outbox is asked to build whenever claims are queued, and most of the time nothing
is due yet: the window has not ended and the file is not full. Deciding that from the claims
themselves meant reading every waiting claim row, once per message -- with a few hundred
claims waiting and a message per translated group, that reading was most of the outbox's
work. An aggregate over the index on (partner, state, document type, ISA13) answers the same
question with one row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, func, select

from edi.store.models import READ_ONLY, Transaction
from edi.store.states import Kind, State

__all__ = ["WaitingClaims", "oldest_waiting", "waiting_claims"]


@dataclass(frozen=True, slots=True)
class WaitingClaims:
    count: int  # queued claims of the partner and type not yet in a batch
    oldest: datetime | None  # the earliest last change among them (None: none wait)
    scheduled: int  # how many of them have a due time (the sweeper brings them back)


def _waiting(partner_id: str, document_type: str) -> tuple:
    return (
        Transaction.partner_id == partner_id,
        Transaction.state == State.QUEUED.value,
        Transaction.kind == Kind.CLAIM.value,
        Transaction.document_type == document_type,
        Transaction.isa13.is_(None),
    )


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)  # SQLite gives naive UTC times


def waiting_claims(engine: Engine, partner_id: str, document_type: str) -> WaitingClaims:
    """The claims ``Repository.unbatched_claims`` would list, counted instead of read."""
    statement = select(func.count(), func.min(Transaction.updated_at), func.count(Transaction.due_at)).where(
        *_waiting(partner_id, document_type)
    )
    with engine.connect().execution_options(**{READ_ONLY: True}) as connection, connection.begin():
        count, oldest, scheduled = connection.execute(statement).one()
    return WaitingClaims(int(count), _aware(oldest) if oldest is not None else None, int(scheduled))


def oldest_waiting(engine: Engine, partner_id: str, document_type: str) -> str | None:
    """The id of the waiting claim changed longest ago (the first by id among equals)."""
    statement = (
        select(Transaction.id).where(*_waiting(partner_id, document_type))
        .order_by(Transaction.updated_at, Transaction.id).limit(1)
    )
    with engine.connect().execution_options(**{READ_ONLY: True}) as connection, connection.begin():
        return connection.execute(statement).scalar()
