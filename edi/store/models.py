"""The transaction store's tables as typed SQLAlchemy 2 models.

The store is the pipeline's source of truth: after a crash, whatever the tables say is what
happened. The same models run on SQLite (the embedded default) and PostgreSQL; the schema is
created and changed only by the Alembic migrations in ``edi/store/migrations`` (a test checks
that they agree with these models).

No column holds PHI except the correlation keys the pipeline must match responses by (the
patient control number, CLM01, is the provider's account number). Payload contents live
encrypted in the payload store; this database holds references to them. Event and delivery
details are codes, never text copied from a payload.

Tables:

* ``transactions``: one per request, its state and correlation keys.
* ``transaction_events``: append-only history of state changes (updates refused by a trigger).
* ``payloads``: references to encrypted payloads. A batch file shared by many claims has one
  row per claim, all with the same URI.
* ``control_sequences``: the last ISA13, GS06 and ST02 handed out per partner.
* ``outbox``: messages committed together with the state change that produced them, published
  to the queues afterwards (transactional outbox).
* ``deliveries``: every callback attempt.
* ``inbound_documents``: files a partner sent back (TA1, 999, 277CA, 835) before and after they
  are matched to transactions; the unique key makes a re-downloaded file a no-op.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from edi.store.states import Kind, State

__all__ = [
    "READ_ONLY",
    "Base",
    "ControlKind",
    "ControlSequence",
    "Delivery",
    "DeliveryLease",
    "DeliveryOutcome",
    "InboundDocument",
    "OutboxEntry",
    "Payload",
    "PayloadKind",
    "Transaction",
    "TransactionEvent",
    "UNBATCHED",
    "UTCDateTime",
    "new_id",
    "utcnow",
]

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Execution option marking a connection that only reads: on SQLite it opens a deferred BEGIN
# instead of BEGIN IMMEDIATE (see ``edi.store.make_engine``), so reads do not queue for the lock.
READ_ONLY = "edi_read_only"

# Autoincrementing 64-bit keys: BIGINT identity on PostgreSQL, SQLite's INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")
JsonDocument = JSON().with_variant(JSONB(), "postgresql")


class PayloadKind(StrEnum):
    REQUEST_JSON = "request-json"
    OUTBOUND_X12 = "outbound-x12"
    INBOUND_X12 = "inbound-x12"
    RESPONSE_JSON = "response-json"
    ACK = "ack"


class ControlKind(StrEnum):
    """The envelope control numbers allocated per partner."""

    ISA13 = "ISA13"  # interchange control number
    GS06 = "GS06"  # group control number
    ST02 = "ST02"  # transaction set control number


class DeliveryOutcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # will be retried
    DEAD_LETTERED = "dead_lettered"  # the last try failed


def utcnow() -> datetime:
    return datetime.now(UTC)


_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_PAIRS = [high + low for high in _CROCKFORD for low in _CROCKFORD]  # two digits for each 10 bits
_SHIFTS = range(120, -1, -10)  # the 130 bits of an id, 10 at a time from the top
_RANDOM_BITS = 80
_last_id = [0, 0]  # milliseconds and random part of the last id made in this process
_id_lock = threading.Lock()


def new_id() -> str:
    """A ULID: 26 characters, a millisecond timestamp then 80 random bits.

    Ids sort by creation time; within one process they are strictly increasing even inside one
    millisecond (the random part of the previous id plus one), so sorting by id is creation order.
    """
    milliseconds = time.time_ns() // 1_000_000
    with _id_lock:
        last_ms, last_random = _last_id
        if milliseconds <= last_ms:
            milliseconds, random_part = last_ms, last_random + 1
            if random_part >> _RANDOM_BITS:  # 2**80 ids in one millisecond: borrow the next one
                milliseconds, random_part = last_ms + 1, int.from_bytes(os.urandom(10), "big") >> 1
        else:
            random_part = int.from_bytes(os.urandom(10), "big") >> 1  # headroom for increments
        _last_id[:] = [milliseconds, random_part]
    value = milliseconds << _RANDOM_BITS | random_part
    return "".join([_PAIRS[value >> shift & 1023] for shift in _SHIFTS])  # 13 look-ups, not 26 divmods


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on both databases (SQLite stores them naive, in UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous here: give a timezone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _one_of(column: str, values: type[StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


def _partial(name: str | None, *columns: str, where: str) -> Index:
    """An index of the rows meeting ``where`` only, on both stores."""
    return Index(name, *columns, postgresql_where=text(where), sqlite_where=text(where))


# Claims queued for a partner and not yet put in a batch: what the batcher pages through. The
# queries that want ``ix_transactions_unbatched`` use this very text as their condition: a plan
# made without the parameters' values (PostgreSQL's generic plan, once psycopg has prepared a
# statement run often) cannot prove ``state = 'queued'`` from ``state = $1``. An ``IS NOT NULL``
# predicate needs no such care: any comparison with the column implies it.
UNBATCHED = f"state = '{State.QUEUED.value}' AND kind = '{Kind.CLAIM.value}' AND isa13 IS NULL"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JsonDocument}


class Transaction(Base):
    """One request from a submitter and everything needed to match what comes back for it."""

    __tablename__ = "transactions"

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    submitter_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    partner_id: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default=State.RECEIVED.value)
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    request_sha256: Mapped[str | None] = mapped_column(String(64))
    callback_url: Mapped[str | None] = mapped_column(String(2048))
    # correlation keys
    control_number: Mapped[str | None] = mapped_column(String(50))  # the request's controlNumber
    # HMAC-SHA256 of CLM01 under the lookup key (edi.lookup): matched on, never the number itself
    patient_control_number_hmac: Mapped[str | None] = mapped_column(String(64))
    # the id of the lookup key that made it (rotation, see edi.lookup)
    patient_control_number_key_id: Mapped[str | None] = mapped_column(String(64))
    trn_trace: Mapped[str | None] = mapped_column(String(50))  # TRN02 of the 270
    bht03: Mapped[str | None] = mapped_column(String(50))  # BHT03 of the outbound set
    isa13: Mapped[int | None] = mapped_column(Integer)
    gs06: Mapped[int | None] = mapped_column(Integer)
    st02: Mapped[int | None] = mapped_column(Integer)
    payer_claim_control_number: Mapped[str | None] = mapped_column(String(50))  # CLP07, REF*1K
    document_type: Mapped[str | None] = mapped_column(String(8))  # 270, 837P, 837I
    # Where the answers go when the request came in by a door (folder, SFTP, S3, AMQP, JMS):
    # a JSON object {"channel", "target", "correlation_id"}; None for API requests.
    reply_to: Mapped[str | None] = mapped_column(Text)
    # When the pipeline should look at the transaction again (a retry after backoff, a batch
    # window, a response deadline); None: nothing scheduled. The sweeper re-queues due ones.
    due_at: Mapped[datetime | None] = mapped_column()
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        CheckConstraint(_one_of("kind", Kind), name="kind"),
        CheckConstraint(_one_of("state", State), name="state"),
        UniqueConstraint("submitter_id", "idempotency_key"),
        Index(None, "submitter_id", "id"),
        Index(None, "state", "id"),
        # Every state change rewrites the row's entry in every index whose predicate it meets (the
        # state is indexed, so no update is HOT): an index that only matching needs holds only the
        # rows that have the key, and the batcher's index only the claims waiting for a batch.
        _partial(None, "partner_id", "isa13", where="isa13 IS NOT NULL"),
        _partial(None, "partner_id", "gs06", "st02", where="gs06 IS NOT NULL"),
        Index(None, "partner_id", "patient_control_number_hmac"),
        Index(None, "patient_control_number_key_id", "id"),
        _partial(None, "partner_id", "payer_claim_control_number", where="payer_claim_control_number IS NOT NULL"),
        _partial(None, "trn_trace", where="trn_trace IS NOT NULL"),
        Index(None, "created_at"),
        _partial(None, "due_at", where="due_at IS NOT NULL"),
        _partial("ix_transactions_unbatched", "partner_id", "document_type", "id", where=UNBATCHED),
    )


class TransactionEvent(Base):
    """One state change: when, from what to what, a detail code and which stage did it."""

    __tablename__ = "transaction_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    transaction_id: Mapped[str] = mapped_column(ForeignKey("transactions.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    detail_code: Mapped[str | None] = mapped_column(String(64))
    actor: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (Index(None, "transaction_id", "id"),)


class Payload(Base):
    """A reference to one encrypted payload of one transaction."""

    __tablename__ = "payloads"

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    transaction_id: Mapped[str] = mapped_column(ForeignKey("transactions.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    document_type: Mapped[str | None] = mapped_column(String(16))  # 270, 271, 837P, 999, 277CA, 835 ...
    uri: Mapped[str] = mapped_column(String(1024))
    key_id: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        CheckConstraint(_one_of("kind", PayloadKind), name="kind"),
        Index(None, "transaction_id", "id"),
        Index(None, "uri"),
    )


class ControlSequence(Base):
    """The last control number of one kind handed out for one partner."""

    __tablename__ = "control_sequences"

    partner_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    last_value: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        CheckConstraint(_one_of("kind", ControlKind), name="kind"),
        CheckConstraint("last_value >= 0", name="last_value"),
    )


class OutboxEntry(Base):
    """A message to publish, written in the same database transaction as its cause."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(String(128))
    transaction_id: Mapped[str | None] = mapped_column(ForeignKey("transactions.id", ondelete="SET NULL"))
    body: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (
        Index(None, "transaction_id"),
        Index(
            "ix_outbox_pending", "id",
            postgresql_where=text("published_at IS NULL"), sqlite_where=text("published_at IS NULL"),
        ),
    )


class Delivery(Base):
    """One attempt to POST a response to the requester's callback."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    transaction_id: Mapped[str] = mapped_column(ForeignKey("transactions.id", ondelete="CASCADE"))
    payload_id: Mapped[str | None] = mapped_column(ForeignKey("payloads.id", ondelete="SET NULL"))
    webhook_id: Mapped[str] = mapped_column(String(64))  # the same for every attempt of one response
    target: Mapped[str] = mapped_column(String(2048))
    attempt: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(16))
    status_code: Mapped[int | None] = mapped_column(Integer)
    error_code: Mapped[str | None] = mapped_column(String(64))
    attempted_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (
        CheckConstraint(_one_of("outcome", DeliveryOutcome), name="outcome"),
        CheckConstraint("attempt >= 1", name="attempt"),
        Index(None, "transaction_id", "id"),
        Index(None, "webhook_id"),
        Index(None, "payload_id"),
    )


class DeliveryLease(Base):
    """Which delivery worker is sending a transaction's response documents, and until when.

    Two workers holding messages for the same transaction (its 999 and its 277CA arrive
    together) would otherwise both send what is owed: the receiver gets every callback twice.
    A worker sends only while it holds the lease; an expired lease (its holder was killed) may
    be taken over, so delivery stays at least once.
    """

    __tablename__ = "delivery_leases"

    transaction_id: Mapped[str] = mapped_column(ForeignKey("transactions.id", ondelete="CASCADE"), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    until: Mapped[datetime] = mapped_column()


class InboundDocument(Base):
    """A file a partner sent us, stored encrypted, and what matching it came to."""

    __tablename__ = "inbound_documents"

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    partner_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))  # the remote file name (no PHI: ours are numbers)
    document_type: Mapped[str | None] = mapped_column(String(16))  # TA1, 999, 277CA, 835, 271
    uri: Mapped[str] = mapped_column(String(1024))
    key_id: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column()
    outcome: Mapped[str | None] = mapped_column(String(64))  # a code: matched, unmatched, invalid ...
    matched: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    __table_args__ = (
        UniqueConstraint("partner_id", "name", "sha256"),
        Index(None, "processed_at"),
    )
