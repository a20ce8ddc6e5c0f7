"""Everything the pipeline asks of the transaction store, as plain operations on plain records.

Stages, the API and the CLI never touch SQLAlchemy sessions: they call a ``Repository`` and get
frozen dataclasses back. Each operation is one database transaction, so what belongs together
commits together: a state change with its history event, the payload references and the
outbox messages it produced (transactional outbox), and an idempotent create with its first
event. State changes are checked against ``edi.store.states`` with the row locked
(``SELECT ... FOR UPDATE`` on PostgreSQL, the write lock of ``BEGIN IMMEDIATE`` on SQLite), so
two workers racing on the same transaction cannot both move it.

Reads on behalf of a submitter are scoped by submitter id: another submitter's transaction is
simply not found. Pipeline internals pass ``ALL_SUBMITTERS`` explicitly.

Detail codes, actors and outbox topics are short code-like tokens (letters, digits and
``_ . : / -``), which keeps free text, and so PHI, out of the history. Errors carry ids,
states and kinds only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from operator import attrgetter
from typing import Any, Final

import orjson
from sqlalchemy import (
    ColumnElement,
    Engine,
    Select,
    String,
    and_,
    any_,
    bindparam,
    cast,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import NullType

from edi.lookup import LookupKey
from edi.payloads import RotatedPayload, StoredPayload
from edi.store.bell import outbox_bell
from edi.store.models import (
    READ_ONLY,
    UNBATCHED,
    Delivery,
    DeliveryLease,
    DeliveryOutcome,
    InboundDocument,
    OutboxEntry,
    Payload,
    PayloadKind,
    Transaction,
    TransactionEvent,
    new_id,
    utcnow,
)
from edi.store.states import NON_TERMINAL, IllegalTransitionError, Kind, State, check_transition

__all__ = [
    "ALL_SUBMITTERS",
    "Correlation",
    "CreateResult",
    "DeliveryAttempt",
    "DeliveryRecord",
    "EventRecord",
    "IdempotencyConflictError",
    "IllegalTransitionError",
    "InboundOutcome",
    "InboundRecord",
    "Move",
    "NewTransaction",
    "OutboxMessage",
    "OutboxRecord",
    "Page",
    "PayloadAttachment",
    "PayloadRecord",
    "Repository",
    "TransactionFilter",
    "TransactionNotFoundError",
    "TransactionRecord",
    "UnexpectedStateError",
]

CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}")
TOPIC = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}")
MAX_PAGE = 1000
_CHUNK = 500  # ids per IN (...) list


class _AllSubmitters:
    """The explicit "no submitter scope" of pipeline internals and administrators."""

    _instance: _AllSubmitters | None = None

    def __new__(cls) -> _AllSubmitters:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "ALL_SUBMITTERS"


ALL_SUBMITTERS: Final = _AllSubmitters()
Scope = str | _AllSubmitters


# -- errors ------------------------------------------------------------------------------------


class TransactionNotFoundError(LookupError):
    """No such transaction, or not one the asking submitter may see (the same answer for both)."""

    def __init__(self, transaction_id: str) -> None:
        super().__init__(f"transaction {transaction_id} not found")
        self.transaction_id = transaction_id


class IdempotencyConflictError(Exception):
    """The idempotency key was already used by this submitter for a different request."""

    def __init__(self, existing_id: str) -> None:
        super().__init__(f"the idempotency key was already used for another request (transaction {existing_id})")
        self.existing_id = existing_id


class _BatchTaken(Exception):
    """Some claim of a batch being assigned is no longer free."""


class UnexpectedStateError(Exception):
    """The caller expected the transaction in another state (someone else moved it first)."""

    def __init__(self, transaction_id: str, current: State, expected: frozenset[State]) -> None:
        wanted = " or ".join(sorted(s.value for s in expected))
        super().__init__(f"transaction {transaction_id} is {current.value}, expected {wanted}")
        self.transaction_id, self.current, self.expected = transaction_id, current, expected


# -- records in and out ------------------------------------------------------------------------

_STRING_LIMITS = {
    "control_number": 50, "patient_control_number": 38, "trn_trace": 50, "bht03": 50,
    "payer_claim_control_number": 50, "patient_control_number_hmac": 64, "patient_control_number_key_id": 64,
}
_IN_MEMORY_ONLY = frozenset({"patient_control_number"})  # stored as its digest (edi.lookup)


@dataclass(frozen=True, slots=True)
class Correlation:
    """The keys responses are matched by. ``None`` means "not known (yet)".

    CLM01 is given in plaintext on the way in and stored only as its keyed digest: a record read
    back from the store carries ``patient_control_number_hmac`` and no ``patient_control_number``.
    """

    control_number: str | None = None  # the request's controlNumber
    patient_control_number: str | None = None  # CLM01, in memory only
    trn_trace: str | None = None  # TRN02 sent in the 270
    bht03: str | None = None  # BHT03 of the outbound transaction set
    isa13: int | None = None
    gs06: int | None = None
    st02: int | None = None
    payer_claim_control_number: str | None = None  # from the 277CA (REF*1K) or 835 (CLP07)
    patient_control_number_hmac: str | None = None  # edi.lookup.LookupKey.clm01 of CLM01
    patient_control_number_key_id: str | None = None  # the id of the lookup key that made it

    def __post_init__(self) -> None:
        for name, limit in _STRING_LIMITS.items():
            value = getattr(self, name)
            if value is not None and not (isinstance(value, str) and 0 < len(value) <= limit):
                raise ValueError(f"correlation key {name} must be text of 1 to {limit} characters")
        for name in ("isa13", "gs06", "st02"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, int) and 0 < value <= 999_999_999):
                raise ValueError(f"correlation key {name} must be a control number from 1 to 999999999")

    def columns(self) -> dict[str, Any]:
        """The keys that are set and stored as they are, by column name (see ``Repository._columns``)."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if getattr(self, f.name) is not None and f.name not in _IN_MEMORY_ONLY}


@dataclass(frozen=True, slots=True)
class NewTransaction:
    submitter_id: str
    kind: Kind
    partner_id: str | None = None
    idempotency_key: str | None = None
    request_sha256: str | None = None  # with a key: a replay with another request is refused
    callback_url: str | None = None
    correlation: Correlation = field(default_factory=Correlation)
    document_type: str | None = None  # 270, 837P, 837I
    reply_to: str | None = None  # the door's reply address (JSON text), sealed (edi.sealed_text; Pipeline.reply_to)


@dataclass(frozen=True, slots=True)
class TransactionRecord:
    id: str
    submitter_id: str
    kind: Kind
    partner_id: str | None
    state: State
    created_at: datetime
    updated_at: datetime
    idempotency_key: str | None
    request_sha256: str | None
    callback_url: str | None
    correlation: Correlation
    document_type: str | None = None
    due_at: datetime | None = None
    attempts: int = 0
    reply_to: str | None = None

    @property
    def terminal(self) -> bool:
        return self.state not in NON_TERMINAL


@dataclass(frozen=True, slots=True)
class CreateResult:
    transaction: TransactionRecord
    created: bool  # False: an earlier request with the same idempotency key (nothing was written)


@dataclass(frozen=True, slots=True)
class EventRecord:
    id: int
    transaction_id: str
    at: datetime
    from_state: State | None
    to_state: State
    detail_code: str | None
    actor: str | None


@dataclass(frozen=True, slots=True)
class PayloadAttachment:
    """A stored payload to record against one or more transactions."""

    kind: PayloadKind
    stored: StoredPayload
    document_type: str | None = None  # 270, 271, 837P, 837I, TA1, 999, 277CA, 835 ...


@dataclass(frozen=True, slots=True)
class PayloadRecord:
    id: str
    transaction_id: str
    kind: PayloadKind
    document_type: str | None
    uri: str
    key_id: str
    sha256: str
    size: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """A message to publish once the surrounding change commits. Its body holds ids, not PHI."""

    topic: str
    body: dict[str, Any]
    transaction_id: str | None = None  # defaults to the transaction being changed, if only one


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    id: int
    topic: str
    body: dict[str, Any]
    transaction_id: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Step:
    """A move a new transaction makes in the same commit that records it (``Repository.create``)."""

    to: State
    detail_code: str | None = None
    actor: str | None = None  # None: the creating actor


@dataclass(frozen=True, slots=True)
class Move:
    """One transaction's move in ``Repository.apply``."""

    transaction_id: str
    to: State | None  # None: no state change, only the payloads and messages (a late answer)
    detail_code: str | None = None
    expected: frozenset[State] = frozenset()
    correlation: Correlation | None = None
    attach: Sequence[PayloadAttachment] = ()
    outbox: Sequence[OutboxMessage] = ()
    skip_refused: bool = False  # a refused move is dropped instead of failing the batch
    keep_if_refused: bool = False  # a refused move still records its payloads and messages
    partner_id: str | None = None  # routed to this partner with the move (None: unchanged)
    attempts: int = 0  # the attempt count after the move (a 270 marked sent keeps its count)


@dataclass(frozen=True, slots=True)
class InboundOutcome:
    """How processing an inbound document ended, committed with the moves it caused."""

    inbound_id: str
    outcome: str
    matched: int
    document_type: str | None = None


@dataclass(frozen=True, slots=True)
class InboundRecord:
    id: str
    partner_id: str
    name: str
    document_type: str | None
    stored: StoredPayload
    received_at: datetime
    processed_at: datetime | None
    outcome: str | None
    matched: int


@dataclass(frozen=True, slots=True)
class DeliveryAttempt:
    transaction_id: str
    webhook_id: str
    target: str
    attempt: int
    outcome: DeliveryOutcome
    status_code: int | None = None
    error_code: str | None = None
    payload_id: str | None = None
    next_attempt_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    id: int
    transaction_id: str
    payload_id: str | None
    webhook_id: str
    target: str
    attempt: int
    outcome: DeliveryOutcome
    status_code: int | None
    error_code: str | None
    attempted_at: datetime
    next_attempt_at: datetime | None


@dataclass(frozen=True, slots=True)
class TransactionFilter:
    """Which transactions to list. ``submitter_id`` is required: a submitter or ALL_SUBMITTERS."""

    submitter_id: Scope
    states: frozenset[State] | None = None
    kinds: frozenset[Kind] | None = None
    partner_id: str | None = None
    created_from: datetime | None = None  # inclusive
    created_to: datetime | None = None  # exclusive


@dataclass(frozen=True, slots=True)
class Page:
    items: list[TransactionRecord]
    next_cursor: str | None  # pass back as ``cursor`` for the next page; None on the last


class _Row:
    """Column values read as attributes: records built from rows written with Core INSERTs."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.__dict__.update(values)


_STORED_CORRELATION = tuple(f.name for f in fields(Correlation) if f.name not in _IN_MEMORY_ONLY)


class _Members(dict[str, Any]):
    """An enum's members by value: a dict look-up instead of ``Enum.__call__`` (a few times
    dearer); an unknown value still raises the enum's ValueError."""

    def __init__(self, enum: Any) -> None:
        super().__init__((member.value, member) for member in enum)
        self._enum = enum

    def __missing__(self, value: str) -> Any:
        return self._enum(value)


_KINDS, _STATES = _Members(Kind), _Members(State)
_record_values = attrgetter("id", "submitter_id", "kind", "partner_id", "state", "created_at", "updated_at",
                            "idempotency_key", "request_sha256", "callback_url", "document_type", "due_at",
                            "attempts", "reply_to")
_correlation_values = attrgetter(*_STORED_CORRELATION)
_CORRELATION_SETTERS = tuple(getattr(Correlation, name).__set__ for name in _STORED_CORRELATION)
_set_plain_pcn = Correlation.patient_control_number.__set__  # type: ignore[attr-defined]


def _stored_correlation(row: Transaction | _Row) -> Correlation:
    """The correlation keys a stored row holds, without ``Correlation.__post_init__``'s checks:
    they were checked on the way in (and the columns' sizes hold them), and checking them again
    for every row read was half the cost of ``_record``."""
    correlation = object.__new__(Correlation)
    _set_plain_pcn(correlation, None)
    for setter, value in zip(_CORRELATION_SETTERS, _correlation_values(row), strict=True):
        setter(correlation, value)
    return correlation


def _record(row: Transaction | _Row) -> TransactionRecord:
    """A row (ORM, Core or ``_Row``) as a record: every stage reads its claims through this,
    so it reads the columns with one ``attrgetter`` and the enums from dicts (5.7 -> 2.7 us)."""
    (id_, submitter_id, kind, partner_id, state, created_at, updated_at, idempotency_key, request_sha256,
     callback_url, document_type, due_at, attempts, reply_to) = _record_values(row)
    return TransactionRecord(
        id_, submitter_id, _KINDS[kind], partner_id, _STATES[state], created_at, updated_at, idempotency_key,
        request_sha256, callback_url, _stored_correlation(row), document_type, due_at, attempts or 0, reply_to,
    )


def _event(row: TransactionEvent) -> EventRecord:
    return EventRecord(
        row.id, row.transaction_id, row.at, State(row.from_state) if row.from_state else None,
        State(row.to_state), row.detail_code, row.actor,
    )


def _payload(row: Payload | _Row) -> PayloadRecord:
    return PayloadRecord(
        row.id, row.transaction_id, PayloadKind(row.kind), row.document_type, row.uri, row.key_id,
        row.sha256, row.size, row.created_at,
    )


def _outbox(row: OutboxEntry) -> OutboxRecord:
    return OutboxRecord(row.id, row.topic, row.body, row.transaction_id, row.created_at)


def _inbound(row: InboundDocument) -> InboundRecord:
    return InboundRecord(
        row.id, row.partner_id, row.name, row.document_type, StoredPayload(row.uri, row.key_id, row.sha256, row.size),
        row.received_at, row.processed_at, row.outcome, row.matched,
    )


def _delivery(row: Delivery) -> DeliveryRecord:
    return DeliveryRecord(
        row.id, row.transaction_id, row.payload_id, row.webhook_id, row.target, row.attempt,
        DeliveryOutcome(row.outcome), row.status_code, row.error_code, row.attempted_at, row.next_attempt_at,
    )


def _code(value: str | None, what: str, pattern: re.Pattern[str] = CODE) -> str | None:
    if value is not None and not pattern.fullmatch(value):
        raise ValueError(f"{what} must be a short code (letters, digits, _ . : / -), not free text")
    return value


def _check_new(new: NewTransaction) -> None:
    """Lengths checked here give clear errors that quote no value (databases differ on this)."""
    for name, limit in (("submitter_id", 64), ("partner_id", 64), ("idempotency_key", 255), ("callback_url", 2048)):
        value = getattr(new, name)
        if value is not None and not (isinstance(value, str) and 0 < len(value) <= limit):
            raise ValueError(f"{name} must be text of 1 to {limit} characters")
    if not new.submitter_id:
        raise ValueError("submitter_id is required")
    if new.request_sha256 is not None and not re.fullmatch(r"[0-9a-f]{64}", new.request_sha256):
        raise ValueError("request_sha256 must be 64 lower-case hex digits")


def _control(value: int | str | None) -> int | None:
    """A control number from an acknowledgment ("000000905" or 905); None if not numeric."""
    if value is None:
        return None
    if isinstance(value, int):
        return value
    text = value.strip()
    return int(text) if text.isdigit() else None


def _after_move(due_at: datetime | None, target: State) -> datetime | None:
    """A move replaces what was scheduled, except a move to a terminal state: what can be due
    then is a delivery (a reminder left while another worker held the delivery lease, for an
    answer stored after that worker read what was owed), and clearing it would lose that answer's
    callback; a terminal transaction with nothing owed is woken once and left (the sweeper)."""
    return due_at if target not in NON_TERMINAL else None


def _event_row(transaction_id: str, at: datetime, from_state: str | None, to_state: str,
               detail_code: str | None, actor: str | None) -> dict[str, Any]:
    """One ``transaction_events`` row's values (``Repository._add_events`` writes them)."""
    return {"transaction_id": transaction_id, "at": at, "from_state": from_state, "to_state": to_state,
            "detail_code": detail_code, "actor": actor}


_TX = Transaction.__table__  # read with Core: a Row has the attributes ``_record`` reads, without ORM objects
_TRANSACTION_COLUMNS = tuple(column.name for column in _TX.columns)


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _tables() -> dict[str, Any]:
    from edi.audit.models import AuditEntry  # edi.audit imports edi.store: not at load time

    return {"transaction": Transaction.__table__, "event": TransactionEvent.__table__, "audit": AuditEntry.__table__,
            "payload": Payload.__table__, "outbox": OutboxEntry.__table__, "delivery": Delivery.__table__}


@lru_cache(maxsize=256)  # a few statements and the sets of columns a move changes
def _statement(name: str, columns: tuple[str, ...] = ()) -> Any:
    """The bulk paths' statements, built once: an ``insert()`` or ``select()`` built per call
    costs its construction and its compiled-cache key each time (about 0.1 ms each)."""
    table = Transaction.__table__
    if name == "lock":
        return (select(table).where(table.c.id.in_(bindparam("ids", expanding=True)))
                .order_by(table.c.id).with_for_update())
    if name == "lock_pg":  # one array parameter whatever the count (see ``_among``)
        return (select(table).where(table.c.id == any_(cast(bindparam("ids", type_=_UNTYPED),
                                                            postgresql.ARRAY(String))))
                .order_by(table.c.id).with_for_update())
    if name == "update":
        return update(table).where(table.c.id == bindparam("_id")).values({c: bindparam(c) for c in columns})
    if name == "update_pg":
        return update_from_json(table, "id", columns)
    if name.endswith("_pg"):
        return insert_from_json(_tables()[name[:-3]], columns)
    return insert(_tables()[name])


def _json_default(value: object) -> str:
    """What orjson leaves to us: datetimes, as ``UTCDateTime`` binds them (aware ones in UTC,
    naive ones refused), so a timestamp read back is the one written whatever the session's
    time zone."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous here: give a timezone")
        return (value if value.tzinfo is UTC else value.astimezone(UTC)).isoformat()
    raise TypeError(f"{type(value).__name__} is not stored by the bulk paths")


_JSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS  # non-str keys: as json.dumps


def rows_json(rows: Sequence[Mapping[str, Any]]) -> str:
    """``rows`` as one JSON array of objects, the parameter of ``insert_from_json`` and
    ``update_from_json``: orjson writes it in C, where psycopg adapted one array per column
    element by element and SQLAlchemy processed each array (the bulk paths' main client cost)."""
    try:
        return orjson.dumps(rows if isinstance(rows, list) else list(rows), default=_json_default,
                            option=_JSON_OPTIONS).decode()
    except orjson.JSONEncodeError:  # orjson 3.8 replaces what ``_json_default`` raised: say why again
        if any(isinstance(value, datetime) and value.tzinfo is None for row in rows for value in row.values()):
            raise ValueError("naive datetimes are ambiguous here: give a timezone") from None
        raise


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


_PG = postgresql.dialect()  # compiles column types only: loads no driver


def _json_rows(table: Any, columns: Sequence[str]) -> str:
    """The rows of a ``rows_json`` parameter as ``columns`` of ``table``, each typed as the
    column (``json_to_recordset`` with a column definition list): PostgreSQL converts each field
    with the column type's input (timestamptz from the ISO text, JSON documents to jsonb) and a
    key an object lacks is NULL. Measured against the per-column arrays on the server
    (``benchmarks/bench_store_bulk.py``), ``json`` with the columns named cost about the same
    where ``jsonb_populate_recordset`` of the table's row type (every column looked up and
    converted) cost a tenth more."""
    defs = ", ".join(f"{_quoted(c)} {table.c[c].type.compile(dialect=_PG)}" for c in columns)
    return f"json_to_recordset(CAST(:rows AS json)) AS ({defs})"


def insert_from_json(table: Any, columns: Sequence[str]) -> Any:
    """PostgreSQL: ``INSERT INTO table (c, ...) SELECT r.c, ... FROM ROWS FROM (json_to_recordset(...))
    WITH ORDINALITY AS r ORDER BY r.ordinality``: many rows by one statement with one parameter
    (``rows``, from ``rows_json``), inserted in the rows' order so that generated ids follow it
    as with one INSERT per row."""
    names = ", ".join(_quoted(c) for c in columns)
    values = ", ".join(f"r.{_quoted(c)}" for c in columns)
    return text(f"INSERT INTO {_quoted(table.name)} ({names}) SELECT {values} "  # noqa: S608 - names from the models
                f"FROM ROWS FROM ({_json_rows(table, columns)}) WITH ORDINALITY AS r ORDER BY r.ordinality")


def update_from_json(table: Any, key: str, columns: Sequence[str]) -> Any:
    """PostgreSQL: ``UPDATE table SET c = r.c, ... FROM (rows) r WHERE table.key = r.key``, many
    rows changed by one statement, all of them in one parameter (``rows``, from ``rows_json``,
    each object with ``key`` and ``columns``). The rows are read once (a materialised CTE) and
    the keys are also given as ``key = ANY(ARRAY(SELECT ...))``: an index condition on the
    primary key whatever the planner makes of the join (it estimates any set-returning
    function at 100 rows, whatever the count); ``benchmarks/bench_store_bulk.py`` prints both
    plans."""
    target, k = _quoted(table.name), _quoted(key)
    sets = ", ".join(f"{_quoted(c)} = r.{_quoted(c)}" for c in columns)
    return text(f"WITH r AS MATERIALIZED (SELECT * FROM {_json_rows(table, (key, *columns))}) "  # noqa: S608
                f"UPDATE {target} SET {sets} FROM r WHERE {target}.{k} = r.{k} "
                f"AND {target}.{k} = ANY(ARRAY(SELECT r.{k} FROM r))")


_OUTBOX_WRITTEN = "edi_outbox_written"  # a session.info key: ring the outbox bell after its commit


def _write_rows(session: Session, name: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (all with the same keys) into the table ``name``. On PostgreSQL one
    statement with all the rows as one JSON parameter (``insert_from_json``, in the rows'
    order): an executemany sends a statement per row, which cost the workers about as much CPU
    in psycopg and SQLAlchemy as the rest of a commit, and PostgreSQL a parse-bind-execute each."""
    if not rows:
        return
    if name == "outbox":
        session.info[_OUTBOX_WRITTEN] = True
    connection = session.connection()
    if connection.dialect.name != "postgresql" or len(rows) == 1:
        connection.execute(_statement(name), list(rows))
        return
    connection.execute(_statement(f"{name}_pg", tuple(rows[0])), {"rows": rows_json(rows)})


class _Writes:
    """The rows one commit adds (events, their audit entries, payload references, outbox
    messages), written at its end with one multi-row INSERT per table.

    The ORM's unit of work inserts rows with database-generated keys one statement at a time
    (on SQLite) and walks every object through its bookkeeping: for the handful of rows a move
    adds that was most of a real-time request's commit time. Rows written here bypass the
    ``before_flush`` audit hook, so ``Repository._add_events`` builds their audit entries itself,
    with the hook's function and from each transaction's row as it commits -- every event still
    gets its entry in the same database transaction. The rows are built by the same functions the
    repository's other bulk paths use.
    """

    __slots__ = ("events", "outbox", "payloads")

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.payloads: list[dict[str, Any]] = []
        self.outbox: list[dict[str, Any]] = []

    def event(self, transaction_id: str, at: datetime, from_state: str | None, to_state: str,
              detail_code: str | None = None, actor: str | None = None) -> None:
        self.events.append(_event_row(transaction_id, at, from_state, to_state, detail_code, actor))

    def attach(self, transaction_id: str, attach: Sequence[PayloadAttachment], now: datetime) -> None:
        self.payloads.extend(Repository._payload_rows([transaction_id], attach, now))

    def send(self, transaction_id: str, messages: Sequence[OutboxMessage], now: datetime) -> None:
        self.outbox.extend(Repository._outbox_rows([transaction_id], messages, now))

    def write(self, session: Session, transactions: Mapping[str, Any]) -> None:
        """Insert everything gathered; ``transactions`` maps ids to rows as they commit."""
        Repository._add_events(session, self.events, transactions)
        _write_rows(session, "payload", self.payloads)
        _write_rows(session, "outbox", self.outbox)


# The type of a parameter cast in the statement (``CAST(:ids AS VARCHAR[])``): SQLAlchemy adds
# no cast of its own (``String`` would render ``:ids::VARCHAR``), so psycopg sends the text as
# "unknown" and PostgreSQL types the parameter as the array, parsed once when bound. Cast from
# VARCHAR instead, the array is parsed again for every row a scan tests the condition on (an
# index scan parses it once; the delivery stage's PostgreSQL CPU went from 0.06 to 0.65 ms a
# callback on its small, scanned tables).
_UNTYPED = NullType()


def pg_array(values: Sequence[str] | Sequence[int]) -> str:
    """``values`` as a PostgreSQL array literal (``{"a","b"}``), one parameter cast to an array
    in the statement (typed ``_UNTYPED``): psycopg adapted a list element by element in Python."""
    if not values:
        return "{}"
    if not isinstance(values[0], str):
        return "{" + ",".join(map(str, values)) + "}"
    joined = '","'.join(values)  # type: ignore[arg-type]
    if '"' in joined or "\\" in joined:
        joined = '","'.join(v.replace("\\", "\\\\").replace('"', '\\"') for v in values)  # type: ignore[union-attr]
    return '{"' + joined + '"}'


def _among(column: Any, ids: Sequence[str] | Sequence[int], postgres: bool) -> ColumnElement[bool]:
    """``column IN ids``. On PostgreSQL one array parameter (``= ANY``) rather than one per id:
    the statement's text is then the same whatever the count, so SQLAlchemy's compiled form and
    psycopg's parsed form are reused; an IN list of 200 ids was compiled and parsed again on each
    call (psycopg caches statements of at most 50 parameters), which was most of the CPU of the
    delivery stage's reads (``benchmarks/bench_delivery.py``). The array goes as its text
    (``pg_array``), cast in the statement."""
    if postgres:
        return column == any_(cast(bindparam(None, pg_array(ids), type_=_UNTYPED), postgresql.ARRAY(column.type)))
    return column.in_(ids)


# -- the repository ----------------------------------------------------------------------------


class Repository:
    """Transactions, their history, payload references, outbox and deliveries in one database."""

    def __init__(
        self, engine: Engine, *, clock: Callable[[], datetime] = utcnow, lookup_key: LookupKey | None = None
    ) -> None:
        """``lookup_key`` digests CLM01s (``edi.lookup``); default: the one ``Settings.from_env()`` names."""
        self.engine = engine
        self._postgres = engine.dialect.name == "postgresql"
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._clock = clock
        self._lookup_key = lookup_key
        self.outbox_bell = outbox_bell(engine)  # rung after a commit that wrote outbox rows (the relay waits on it)

    @property
    def lookup_key(self) -> LookupKey:
        if self._lookup_key is None:
            from edi.settings import Settings

            self._lookup_key = Settings.from_env().lookup_key()
        return self._lookup_key

    def pcn_digest(self, patient_control_number: str) -> str:
        """What the store writes for a CLM01 now (under the current lookup key)."""
        return self.lookup_key.clm01(patient_control_number)

    def pcn_digests(self, patient_control_number: str) -> list[str]:
        """What the store may hold for a CLM01: its digest under every key of the lookup ring,
        so a claim digested under a key being rotated out still matches."""
        return self.lookup_key.clm01_all(patient_control_number)

    def _columns(self, correlation: Correlation) -> dict[str, Any]:
        """The columns a correlation sets: CLM01 as its digest, with the id of the key that made it."""
        columns = correlation.columns()
        if correlation.patient_control_number is not None:
            columns["patient_control_number_hmac"] = self.pcn_digest(correlation.patient_control_number)
            columns["patient_control_number_key_id"] = self.lookup_key.current
        return columns

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        """One read-write database transaction (SQLite: holding the write lock throughout)."""
        with self._sessions() as session, session.begin():
            yield session
        if session.info.get(_OUTBOX_WRITTEN):  # committed (an exception skips this)
            self.outbox_bell.ring()

    @contextmanager
    def _reading(self) -> Iterator[Session]:
        """A session that only reads (SQLite: a deferred transaction that takes no write lock)."""
        with self._sessions() as session:
            session.connection(execution_options={READ_ONLY: True})
            yield session

    @staticmethod
    def _scoped(statement: Select[Any], submitter_id: Scope) -> Select[Any]:
        if isinstance(submitter_id, _AllSubmitters):
            return statement
        if not isinstance(submitter_id, str) or not submitter_id:
            raise ValueError("a submitter id or ALL_SUBMITTERS is required")
        return statement.where(Transaction.submitter_id == submitter_id)

    # creating ----------------------------------------------------------------------------------

    def create(
        self,
        new: NewTransaction,
        *,
        actor: str | None = None,
        attach: Sequence[PayloadAttachment] = (),
        outbox: Sequence[OutboxMessage] = (),
        then: Sequence[Step] = (),
        transaction_id: str | None = None,
    ) -> CreateResult:
        """Record a received request, or return the earlier one with the same idempotency key.

        With ``created=False`` nothing was written: a caller that stored payloads for this
        request beforehand should delete them. ``then``: moves the new transaction makes in the
        same commit, each checked by the state machine and recorded as its own event (the API's
        real-time path goes from received to sent in one commit instead of four).
        ``transaction_id``: an id from ``new_id()`` the caller needed beforehand (the 270 carries it).
        """
        _code(actor, "actor")
        kind = Kind(new.kind)
        _check_new(new)
        state = State.RECEIVED
        for step in then:
            _code(step.detail_code, "detail code")
            _code(step.actor, "actor")
            check_transition(kind.value, state.value, step.to, "(new)")
            state = State(step.to)
        if new.idempotency_key is not None:
            existing = self._by_idempotency_key(new.submitter_id, new.idempotency_key)
            if existing is not None:
                return self._replayed(existing, new)
        now = self._clock()
        try:
            with self._transaction() as session:
                values = dict(
                    id=transaction_id or new_id(), submitter_id=new.submitter_id, kind=kind.value,
                    partner_id=new.partner_id, state=state.value, idempotency_key=new.idempotency_key,
                    request_sha256=new.request_sha256, callback_url=new.callback_url,
                    document_type=new.document_type, attempts=0, reply_to=new.reply_to,
                    created_at=now, updated_at=now, **self._columns(new.correlation),
                )
                # a duplicate idempotency key fails here
                session.connection().execute(_statement("transaction"), [values])
                row = _Row({**dict.fromkeys(_TRANSACTION_COLUMNS), **values})  # what the record and audit read
                writes = _Writes()
                writes.event(row.id, now, None, State.RECEIVED.value, None, actor)
                before = State.RECEIVED
                for step in then:
                    writes.event(row.id, now, before.value, State(step.to).value, step.detail_code,
                                 step.actor or actor)
                    before = State(step.to)
                writes.attach(row.id, attach, now)
                writes.send(row.id, outbox, now)
                writes.write(session, {row.id: row})
                record = _record(row)
        except IntegrityError:
            if new.idempotency_key is None:
                raise
            existing = self._by_idempotency_key(new.submitter_id, new.idempotency_key)
            if existing is None:
                raise
            return self._replayed(existing, new)
        return CreateResult(record, True)

    def create_many(
        self,
        items: Sequence[tuple[NewTransaction, Sequence[PayloadAttachment]]],
        *,
        actor: str | None = None,
        to: State | None = None,
        outbox: Callable[[str], Sequence[OutboxMessage]] | None = None,
    ) -> list[TransactionRecord]:
        """Record many received requests in one commit (a bulk door), each with its payloads and
        the outbox messages ``outbox(new id)`` gives; with ``to`` each also moves there, with its
        own event. Requests with an idempotency key go through ``create`` (their replay needs a
        look-up first)."""
        _code(actor, "actor")
        now = self._clock()
        rows: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        for new, _attach in items:
            _check_new(new)
            if new.idempotency_key is not None:
                raise ValueError("create_many takes requests without idempotency keys; use create")
            rows.append(self._new_row(new, now, to, actor, events))
        if not rows:
            return []
        with self._transaction() as session:
            self._insert_new(session, rows, events, [attach for _new, attach in items], now, outbox)
        return [_record(_Row(row)) for row in rows]

    def _insert_new(self, session: Session, rows: list[dict[str, Any]], events: list[dict[str, Any]],
                    attach: Sequence[Sequence[PayloadAttachment]], now: datetime,
                    outbox: Callable[[str], Sequence[OutboxMessage]] | None) -> None:
        """New transactions, their events (and audit entries), payloads and messages as a few
        multi-row Core INSERTs: the ORM's unit of work cost more CPU per claim than the rest of
        intake together, and nothing written here is read back."""
        _write_rows(session, "transaction", rows)  # a duplicate idempotency key fails here
        self._add_events(session, events, {row["id"]: row for row in rows})
        payloads: list[dict[str, Any]] = []
        messages: list[dict[str, Any]] = []
        for row, attached in zip(rows, attach, strict=True):
            payloads.extend(self._payload_rows([row["id"]], attached, now))
            if outbox is not None:
                messages.extend(self._outbox_rows([row["id"]], outbox(row["id"]), now))
        _write_rows(session, "payload", payloads)
        _write_rows(session, "outbox", messages)

    def _new_row(self, new: NewTransaction, now: datetime, to: State | None, actor: str | None,
                 events: list[dict[str, Any]]) -> dict[str, Any]:
        """A bulk-created transaction's row (every column, as one multi-row INSERT needs), its
        ``received`` event (and its move to ``to``) added to ``events``: ``create_many`` and
        ``create_keyed_many`` build rows alike."""
        kind = Kind(new.kind)
        if to is not None:
            check_transition(kind.value, State.RECEIVED.value, to, "(new)")
        row: dict[str, Any] = dict.fromkeys(_TRANSACTION_COLUMNS)
        row.update(
            id=new_id(), submitter_id=new.submitter_id, kind=kind.value, partner_id=new.partner_id,
            state=(to or State.RECEIVED).value, idempotency_key=new.idempotency_key,
            request_sha256=new.request_sha256 if new.idempotency_key is not None else None,
            callback_url=new.callback_url, document_type=new.document_type, attempts=0, reply_to=new.reply_to,
            created_at=now, updated_at=now, **self._columns(new.correlation),
        )
        events.append(_event_row(row["id"], now, None, State.RECEIVED.value, None, actor))
        if to is not None:
            events.append(_event_row(row["id"], now, State.RECEIVED.value, to.value, None, actor))
        return row

    def get_by_idempotency_key(self, submitter_id: str, key: str) -> TransactionRecord | None:
        """The submitter's transaction recorded under that idempotency key, if any."""
        return self._by_idempotency_key(submitter_id, key)

    def create_keyed_many(
        self,
        items: Sequence[tuple[NewTransaction, Sequence[PayloadAttachment]]],
        *,
        actor: str | None = None,
        to: State | None = None,
        outbox: Callable[[str], Sequence[OutboxMessage]] | None = None,
    ) -> list[CreateResult | None]:
        """``create`` for many requests of one submitter with idempotency keys (a file door's
        rows), in one look-up and one commit instead of two commits per request.

        Each result is in the order given: created, the earlier transaction of a replayed key
        (``created=False``, nothing written), or None when the key was used for another request
        (what ``create`` raises ``IdempotencyConflictError`` for). Keys must be distinct. A
        concurrent writer taking one of the keys meanwhile makes the commit fail; then every
        request goes through ``create`` on its own, which sorts that out."""
        _code(actor, "actor")
        if not items:
            return []
        submitters = {new.submitter_id for new, _ in items}
        keys = [new.idempotency_key for new, _ in items]
        if len(submitters) != 1 or None in keys or len(set(keys)) != len(keys):
            raise ValueError("create_keyed_many takes distinct idempotency keys of one submitter")
        (submitter_id,) = submitters
        existing: dict[str, TransactionRecord] = {}
        with self._reading() as session:
            for start in range(0, len(keys), 500):
                chunk = keys[start:start + 500]
                for row in session.scalars(select(Transaction).where(
                        Transaction.submitter_id == submitter_id, Transaction.idempotency_key.in_(chunk))):
                    existing[row.idempotency_key] = _record(row)
        results: list[CreateResult | None] = [None] * len(items)
        fresh: list[int] = []
        for index, (new, _attach) in enumerate(items):
            _check_new(new)
            found = existing.get(new.idempotency_key or "")
            if found is None:
                fresh.append(index)
                continue
            conflict = new.request_sha256 and found.request_sha256 and new.request_sha256 != found.request_sha256
            results[index] = None if conflict else CreateResult(found, False)
        now = self._clock()
        rows: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        for index in fresh:
            rows.append(self._new_row(items[index][0], now, to, actor, events))
        if not rows:
            return results
        try:
            with self._transaction() as session:  # a key taken meanwhile fails the first INSERT
                self._insert_new(session, rows, events, [items[index][1] for index in fresh], now, outbox)
            created = [_record(_Row(row)) for row in rows]
        except IntegrityError:
            return [self._create_alone(new, attach, actor) for new, attach in items]
        for index, record in zip(fresh, created, strict=True):
            results[index] = CreateResult(record, True)
        return results

    def _create_alone(self, new: NewTransaction, attach: Sequence[PayloadAttachment],
                      actor: str | None) -> CreateResult | None:
        try:
            return self.create(new, actor=actor, attach=attach)
        except IdempotencyConflictError:
            return None

    def _by_idempotency_key(self, submitter_id: str, key: str) -> TransactionRecord | None:
        with self._reading() as session:
            row = session.scalar(
                select(Transaction).where(Transaction.submitter_id == submitter_id, Transaction.idempotency_key == key)
            )
            return _record(row) if row is not None else None

    @staticmethod
    def _replayed(existing: TransactionRecord, new: NewTransaction) -> CreateResult:
        if new.request_sha256 and existing.request_sha256 and new.request_sha256 != existing.request_sha256:
            raise IdempotencyConflictError(existing.id)
        return CreateResult(existing, False)

    # moving ------------------------------------------------------------------------------------

    def transition(
        self,
        transaction_id: str,
        to: State | str,
        *,
        detail_code: str | None = None,
        actor: str | None = None,
        expected: State | Iterable[State] | None = None,
        correlation: Correlation | None = None,
        attach: Sequence[PayloadAttachment] = (),
        outbox: Sequence[OutboxMessage] = (),
        due_at: datetime | None = None,
        partner_id: str | None = None,
        attempts: int = 0,
    ) -> TransactionRecord:
        """Move one transaction to ``to`` and record the event, all in one commit.

        ``expected`` guards against lost races: the move is refused with
        ``UnexpectedStateError`` unless the transaction is in one of those states. Correlation
        keys, payload references and outbox messages given here commit with the move. A move
        replaces the schedule: ``due_at`` (None: nothing due) and resets the attempt count.
        """
        return self.transition_many(
            [transaction_id], to, detail_code=detail_code, actor=actor, expected=expected,
            correlation=correlation, attach=attach, outbox=outbox, due_at=due_at, partner_id=partner_id,
            attempts=attempts,
        )[0]

    def transition_many(
        self,
        transaction_ids: Sequence[str],
        to: State | str,
        *,
        detail_code: str | None = None,
        actor: str | None = None,
        expected: State | Iterable[State] | None = None,
        correlation: Correlation | None = None,
        attach: Sequence[PayloadAttachment] = (),
        outbox: Sequence[OutboxMessage] = (),
        due_at: datetime | None = None,
        partner_id: str | None = None,
        attempts: int = 0,
    ) -> list[TransactionRecord]:
        """Move a batch (the claims of one 837, say) together: all of them or none."""
        target = State(to)
        _code(detail_code, "detail code")
        _code(actor, "actor")
        wanted = frozenset({State(expected)} if isinstance(expected, State | str) else map(State, expected or ()))
        ids = list(dict.fromkeys(transaction_ids))
        if not ids:
            return []
        changes = self._columns(correlation) if correlation is not None else {}
        with self._transaction() as session:
            # Core rows and one UPDATE per chunk: every row gets the same values (a group of
            # claims routed together); ORM objects cost more CPU than the rest of the move
            found = self._locked_values(session, ids)
            for transaction_id in ids:
                row = found.get(transaction_id)
                if row is None:
                    raise TransactionNotFoundError(transaction_id)
                if wanted and State(row["state"]) not in wanted:
                    raise UnexpectedStateError(transaction_id, State(row["state"]), wanted)
                check_transition(row["kind"], row["state"], target, transaction_id)
            now = self._clock()
            events = [_event_row(transaction_id, now, found[transaction_id]["state"], target.value, detail_code, actor)
                      for transaction_id in ids]
            values: dict[str, Any] = {"state": target.value, "updated_at": now, "due_at": due_at, "attempts": attempts,
                                      **changes}
            if due_at is None and target not in NON_TERMINAL:
                del values["due_at"]  # a delivery reminder stays (see _after_move)
            if partner_id is not None:
                values["partner_id"] = partner_id
            table = Transaction.__table__
            for chunk in _chunks(ids):
                session.execute(update(table).where(table.c.id.in_(chunk)).values(**values))
            rows = {transaction_id: {**found[transaction_id], **values} for transaction_id in ids}
            self._add_events(session, events, rows)  # the audit entries quote the rows as moved
            self._add_payloads(session, ids, attach, now)
            self._add_outbox(session, ids, outbox, now)
            return [_record(_Row(rows[transaction_id])) for transaction_id in ids]

    def apply(
        self, moves: Sequence[Move], *, actor: str | None = None, inbound: InboundOutcome | None = None,
        deliveries: Sequence[DeliveryAttempt] = (),
    ) -> list[TransactionRecord]:
        """Several transactions, each with its own move, in one commit (the claims a 277CA or an
        835 answers, each with its own part of it). A move the state machine refuses, or whose
        transaction is not in ``expected``, is skipped when ``skip_refused`` is set, else the whole
        batch is refused. ``deliveries``: callback attempts recorded in the same commit (the
        delivery stage's successes with the moves to ``delivered`` they allow). Returns the
        records that moved."""
        _code(actor, "actor")
        delivered = self._delivery_rows(deliveries)
        if not moves and inbound is None:
            if delivered:
                with self._transaction() as session:
                    _write_rows(session, "delivery", self._stamped(delivered, self._clock()))
            return []
        ids = list(dict.fromkeys(move.transaction_id for move in moves))
        moved: list[TransactionRecord] = []
        writes = _Writes()
        with self._transaction() as session:
            rows, loaded = self._locked_plain(session, ids)
            now = self._clock()
            if inbound is not None:  # the document's processing commits with its effects
                _code(inbound.outcome, "outcome")
                document = session.get(InboundDocument, inbound.inbound_id, with_for_update=True)
                if document is None:
                    raise LookupError(f"no inbound document {inbound.inbound_id}")
                if document.processed_at is not None:
                    return []  # processed meanwhile by another worker
                document.processed_at, document.outcome, document.matched = now, inbound.outcome, inbound.matched
                if inbound.document_type is not None:
                    document.document_type = inbound.document_type
            for move in moves:
                _code(move.detail_code, "detail code")
                row = rows.get(move.transaction_id)
                if row is None:
                    raise TransactionNotFoundError(move.transaction_id)
                if move.to is None:
                    self._record_late(writes, row, move, now, actor)
                    continue
                target = State(move.to)
                wanted = frozenset(move.expected)
                try:
                    if wanted and State(row.state) not in wanted:
                        raise UnexpectedStateError(move.transaction_id, State(row.state), wanted)
                    check_transition(row.kind, row.state, target, move.transaction_id)
                except (UnexpectedStateError, IllegalTransitionError):
                    if not (move.skip_refused or move.keep_if_refused):
                        raise
                    if move.keep_if_refused:
                        self._record_late(writes, row, move, now, actor)
                    continue
                writes.event(row.id, now, row.state, target.value, move.detail_code, actor)
                row.state, row.updated_at, row.attempts = target.value, now, move.attempts
                row.due_at = _after_move(row.due_at, target)
                if move.partner_id is not None:
                    row.partner_id = move.partner_id
                if move.correlation is not None:
                    for column, value in self._columns(move.correlation).items():
                        setattr(row, column, value)
                writes.attach(row.id, move.attach, now)
                writes.send(row.id, move.outbox, now)
                moved.append(_record(row))
            self._update_plain(session, rows, loaded)
            writes.write(session, rows)  # after every move: the audit entries see the rows as they commit
            _write_rows(session, "delivery", self._stamped(delivered, now))
        return moved

    def _record_late(self, writes: _Writes, row: _Row, move: Move, now: datetime, actor: str | None) -> None:
        """An answer for a transaction that moved on meanwhile (answers are processed concurrently,
        so a 277CA can land after its 835): the state stays, but the answer is still an event in
        the history and on the audit trail (a same-state event with its detail code), its keys
        fill what is still unknown, and what it carried is recorded and sent."""
        if move.detail_code is not None:
            writes.event(row.id, now, row.state, row.state, move.detail_code, actor)
            row.updated_at = now
        if move.correlation is not None:
            for column, value in self._columns(move.correlation).items():
                if getattr(row, column) is None:
                    setattr(row, column, value)
        writes.attach(row.id, move.attach, now)
        writes.send(row.id, move.outbox, now)

    @staticmethod
    def _locked_values(session: Session, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The rows of ``ids`` as column values (Core), locked for the database transaction in
        one order for everyone (no deadlocks); for moves written with Core UPDATEs."""
        connection = session.connection()
        postgres = connection.dialect.name == "postgresql"
        statement = _statement("lock_pg" if postgres else "lock")
        loaded: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(sorted(ids)):
            for found in connection.execute(statement, {"ids": pg_array(chunk) if postgres else list(chunk)}).mappings():
                values = dict(found)
                loaded[values["id"]] = values
        return loaded

    @staticmethod
    def _locked_plain(session: Session, ids: Sequence[str]) -> tuple[dict[str, _Row], dict[str, dict[str, Any]]]:
        """``_locked`` without the ORM: the rows as plain objects with the columns as attributes
        (changed freely, then written by ``_update_plain``) and the values they were read with.
        ``apply`` moves the rows of every real-time request and every answer file; the ORM's load
        and flush bookkeeping was most of its cost for one row, and then constructing a
        ``Transaction`` per row (instrumented attribute sets) still a fifth of it."""
        loaded = Repository._locked_values(session, ids)
        return {transaction_id: _Row(values) for transaction_id, values in loaded.items()}, loaded

    @staticmethod
    def _update_plain(session: Session, rows: Mapping[str, _Row], loaded: Mapping[str, dict[str, Any]]) -> None:
        """Write what changed in rows from ``_locked_plain``: one UPDATE per set of changed
        columns (on PostgreSQL with the rows as one JSON parameter, see ``update_from_json``)."""
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for transaction_id, row in rows.items():
            before = loaded[transaction_id]
            current = row.__dict__
            changes = {name: value for name, old in before.items() if (value := current[name]) != old}
            if changes:
                groups.setdefault(tuple(sorted(changes)), []).append({"id": transaction_id, **changes})
        connection = session.connection()
        postgres = connection.dialect.name == "postgresql"
        for names, params in groups.items():
            if postgres and len(params) > 1:
                connection.execute(_statement("update_pg", names), {"rows": rows_json(params)})
            else:  # a column's name is reserved in an UPDATE's binds: the key goes as "_id"
                connection.execute(_statement("update", names),
                                   [{"_id": p["id"], **{n: p[n] for n in names}} for p in params])

    def _locked(self, session: Session, ids: Sequence[str]) -> dict[str, Transaction]:
        rows: dict[str, Transaction] = {}
        for chunk in _chunks(sorted(ids)):  # one lock order for everyone: no deadlocks
            statement = (select(Transaction).where(_among(Transaction.id, chunk, self._postgres)).order_by(Transaction.id)
                         .with_for_update())
            rows.update((row.id, row) for row in session.scalars(statement))
        return rows

    def set_correlation(self, transaction_ids: str | Sequence[str], correlation: Correlation) -> None:
        """Record correlation keys learnt later (a payer claim control number, say)."""
        ids = [transaction_ids] if isinstance(transaction_ids, str) else list(dict.fromkeys(transaction_ids))
        changes = self._columns(correlation)
        if not changes or not ids:
            return
        with self._transaction() as session:
            rows = self._locked(session, ids)
            for transaction_id in ids:
                row = rows.get(transaction_id)
                if row is None:
                    raise TransactionNotFoundError(transaction_id)
                for column, value in changes.items():
                    setattr(row, column, value)
                row.updated_at = self._clock()

    # payloads ----------------------------------------------------------------------------------

    def attach_payload(
        self, transaction_ids: str | Sequence[str], attachment: PayloadAttachment
    ) -> list[PayloadRecord]:
        """Record a stored payload against one transaction or several (a batch file)."""
        ids = [transaction_ids] if isinstance(transaction_ids, str) else list(dict.fromkeys(transaction_ids))
        with self._transaction() as session:
            found = set()
            for chunk in _chunks(ids):
                found.update(session.scalars(select(Transaction.id).where(Transaction.id.in_(chunk))))
            for transaction_id in ids:
                if transaction_id not in found:
                    raise TransactionNotFoundError(transaction_id)
            return self._add_payloads(session, ids, [attachment], self._clock())

    @staticmethod
    def _payload_rows(ids: Sequence[str], attach: Sequence[PayloadAttachment], now: datetime) -> list[dict[str, Any]]:
        rows = []
        for attachment in attach:
            kind = PayloadKind(attachment.kind)
            _code(attachment.document_type, "document type")
            stored = attachment.stored
            rows.extend(
                {"id": new_id(), "transaction_id": transaction_id, "kind": kind.value,
                 "document_type": attachment.document_type, "uri": stored.uri, "key_id": stored.key_id,
                 "sha256": stored.sha256, "size": stored.size, "created_at": now}
                for transaction_id in ids
            )
        return rows

    @classmethod
    def _add_payloads(
        cls, session: Session, ids: Sequence[str], attach: Sequence[PayloadAttachment], now: datetime
    ) -> list[PayloadRecord]:
        rows = cls._payload_rows(ids, attach, now)
        _write_rows(session, "payload", rows)
        return [_payload(_Row(row)) for row in rows]

    @staticmethod
    def _add_events(session: Session, events: list[dict[str, Any]], rows: Mapping[str, Any]) -> None:
        """State events and their audit entries, each as one multi-row INSERT (Core: no ORM
        objects, nothing read back), in the caller's database transaction. ``rows``: the
        transactions by id as they are after the moves, which the audit entries quote. (Events
        added through the ORM get their entries from ``edi.audit.events``' flush hook instead.)"""
        if not events:
            return
        from edi.audit.events import entry_values  # edi.audit imports the store

        _write_rows(session, "event", events)
        _write_rows(session, "audit", [values for event in events
                                       if (values := entry_values(event, rows.get(event["transaction_id"]))) is not None])

    def payloads(self, transaction_id: str, *, submitter_id: Scope) -> list[PayloadRecord]:
        with self._reading() as session:
            self._visible(session, transaction_id, submitter_id)
            rows = session.scalars(select(Payload).where(Payload.transaction_id == transaction_id).order_by(Payload.id))
            return [_payload(row) for row in rows]

    def record_rotation(self, rotated: Iterable[RotatedPayload]) -> int:
        """Update the key ids of payloads a payload store has rewritten; returns rows changed."""
        changed = 0
        with self._transaction() as session:
            for item in rotated:
                result = session.execute(
                    update(Payload)
                    .where(Payload.uri == item.uri, Payload.key_id == item.old_key_id)
                    .values(key_id=item.new_key_id)
                )
                changed += result.rowcount
        return changed

    # reading -----------------------------------------------------------------------------------

    def _visible(self, session: Session, transaction_id: str, submitter_id: Scope) -> Transaction:
        row = session.scalar(self._scoped(select(Transaction).where(Transaction.id == transaction_id), submitter_id))
        if row is None:
            raise TransactionNotFoundError(transaction_id)
        return row

    def get(self, transaction_id: str, *, submitter_id: Scope) -> TransactionRecord | None:
        """The transaction, or None if it does not exist or belongs to another submitter."""
        with self._reading() as session:
            try:
                return _record(self._visible(session, transaction_id, submitter_id))
            except TransactionNotFoundError:
                return None

    def require(self, transaction_id: str, *, submitter_id: Scope) -> TransactionRecord:
        """Like ``get``, raising ``TransactionNotFoundError`` instead of returning None."""
        with self._reading() as session:
            return _record(self._visible(session, transaction_id, submitter_id))

    def get_many(self, transaction_ids: Iterable[str]) -> dict[str, TransactionRecord]:
        """The transactions that exist among ``transaction_ids`` (pipeline internals: no scope)."""
        ids = list(dict.fromkeys(transaction_ids))
        found: dict[str, TransactionRecord] = {}
        with self._reading() as session:
            for chunk in _chunks(ids):
                found.update((row.id, _record(row))
                             for row in session.execute(select(_TX).where(
                                 _among(Transaction.id, chunk, self._postgres))))
        return found

    def payloads_of(
        self, transaction_ids: Iterable[str], kind: PayloadKind | None = None
    ) -> dict[str, list[PayloadRecord]]:
        """The payloads (of one kind, if given) of many transactions, oldest first for each."""
        with self._reading() as session:
            return self._payloads_of(session, list(dict.fromkeys(transaction_ids)), kind)

    def deliveries_of(self, transaction_ids: Iterable[str]) -> dict[str, list[DeliveryRecord]]:
        """Every callback attempt of many transactions, oldest first for each."""
        with self._reading() as session:
            return self._deliveries_of(session, list(dict.fromkeys(transaction_ids)))

    def payloads_and_deliveries_of(
        self, transaction_ids: Iterable[str], kind: PayloadKind | None = None
    ) -> tuple[dict[str, list[PayloadRecord]], dict[str, list[DeliveryRecord]]]:
        """``payloads_of`` the transactions, and ``deliveries_of`` those that have such payloads,
        read in one database transaction: the delivery stage reads both for every group of
        callbacks, and each read on its own cost a session, a connection checkout, a BEGIN and
        a COMMIT."""
        ids = list(dict.fromkeys(transaction_ids))
        with self._reading() as session:
            payloads = self._payloads_of(session, ids, kind)
            return payloads, self._deliveries_of(session, [i for i in ids if payloads[i]])

    def _payloads_of(self, session: Session, ids: list[str], kind: PayloadKind | None) -> dict[str, list[PayloadRecord]]:
        found: dict[str, list[PayloadRecord]] = {i: [] for i in ids}
        table = Payload.__table__  # Core rows (no ORM instances to load): the delivery stage reads these for every callback
        for chunk in _chunks(ids):
            statement = select(table).where(_among(table.c.transaction_id, chunk, self._postgres))
            if kind is not None:
                statement = statement.where(table.c.kind == PayloadKind(kind).value)
            for row in session.execute(statement.order_by(table.c.transaction_id, table.c.id)):
                found[row.transaction_id].append(_payload(row))
        return found

    def _deliveries_of(self, session: Session, ids: list[str]) -> dict[str, list[DeliveryRecord]]:
        found: dict[str, list[DeliveryRecord]] = {i: [] for i in ids}
        table = Delivery.__table__  # Core rows, as ``_payloads_of``
        for chunk in _chunks(ids):
            rows = session.execute(select(table).where(_among(table.c.transaction_id, chunk, self._postgres))
                                   .order_by(table.c.id))
            for row in rows:
                found[row.transaction_id].append(_delivery(row))
        return found

    def history(self, transaction_id: str, *, submitter_id: Scope) -> list[EventRecord]:
        """The transaction's state changes, oldest first."""
        with self._reading() as session:
            self._visible(session, transaction_id, submitter_id)
            rows = session.scalars(
                select(TransactionEvent)
                .where(TransactionEvent.transaction_id == transaction_id)
                .order_by(TransactionEvent.id)
            )
            return [_event(row) for row in rows]

    def list_transactions(self, where: TransactionFilter, *, limit: int = 50, cursor: str | None = None) -> Page:
        """Transactions matching ``where``, newest first, ``limit`` at a time."""
        if not 1 <= limit <= MAX_PAGE:
            raise ValueError(f"page sizes run from 1 to {MAX_PAGE}")
        statement = self._scoped(select(Transaction), where.submitter_id)
        if where.states:
            statement = statement.where(Transaction.state.in_(sorted(State(s).value for s in where.states)))
        if where.kinds:
            statement = statement.where(Transaction.kind.in_(sorted(Kind(k).value for k in where.kinds)))
        if where.partner_id is not None:
            statement = statement.where(Transaction.partner_id == where.partner_id)
        if where.created_from is not None:
            statement = statement.where(Transaction.created_at >= where.created_from)
        if where.created_to is not None:
            statement = statement.where(Transaction.created_at < where.created_to)
        if cursor is not None:
            statement = statement.where(Transaction.id < cursor)
        statement = statement.order_by(Transaction.id.desc()).limit(limit + 1)
        with self._reading() as session:
            rows = list(session.scalars(statement))
        items = [_record(row) for row in rows[:limit]]
        return Page(items, items[-1].id if len(rows) > limit else None)

    def resume_candidates(
        self, *, limit: int = 500, after: str | None = None, kinds: Iterable[Kind] | None = None
    ) -> list[TransactionRecord]:
        """Transactions not in a terminal state, oldest first: what a restart must pick up.

        Page with ``after`` (the last id of the previous call) until the list comes back empty.
        """
        statement = select(_TX).where(Transaction.state.in_(sorted(s.value for s in NON_TERMINAL)))
        if kinds:
            statement = statement.where(Transaction.kind.in_(sorted(Kind(k).value for k in kinds)))
        if after is not None:
            statement = statement.where(Transaction.id > after)
        with self._reading() as session:
            rows = session.execute(statement.order_by(Transaction.id).limit(limit))
            return [_record(row) for row in rows]

    # matching responses ------------------------------------------------------------------------

    def _match(self, statement: Select[Any]) -> list[TransactionRecord]:
        with self._reading() as session:
            return [_record(row) for row in session.execute(statement.order_by(Transaction.id.desc()))]

    def find_for_271(
        self, trn_trace: str | None = None, bht03: str | None = None, *, partner_id: str | None = None
    ) -> list[TransactionRecord]:
        """Eligibility requests a 271 answers: by the TRN trace it echoes and/or its BHT03."""
        if trn_trace is None and bht03 is None:
            raise ValueError("a 271 is matched by its TRN trace number, its BHT03, or both")
        statement = select(_TX).where(Transaction.kind == Kind.ELIGIBILITY.value)
        if trn_trace is not None:
            statement = statement.where(Transaction.trn_trace == trn_trace)
        if bht03 is not None:
            statement = statement.where(Transaction.bht03 == bht03)
        if partner_id is not None:
            statement = statement.where(Transaction.partner_id == partner_id)
        return self._match(statement)

    def find_for_ta1(self, partner_id: str, isa13: int | str) -> list[TransactionRecord]:
        """Everything sent to ``partner_id`` in the interchange a TA1 answers (TA101 = ISA13)."""
        number = _control(isa13)
        if number is None:
            return []
        return self._match(select(_TX).where(Transaction.partner_id == partner_id, Transaction.isa13 == number))

    def find_for_999(
        self, partner_id: str, gs06: int | str, st02: int | str | None = None
    ) -> list[TransactionRecord]:
        """What a 999 acknowledges: the group (AK102 = GS06), or one set in it (AK202 = ST02)."""
        group = _control(gs06)
        if group is None:
            return []
        statement = select(_TX).where(Transaction.partner_id == partner_id, Transaction.gs06 == group)
        if st02 is not None:
            number = _control(st02)
            if number is None:
                return []
            statement = statement.where(Transaction.st02 == number)
        return self._match(statement)

    def find_for_claim_response(
        self,
        partner_id: str,
        *,
        patient_control_number: str | None = None,
        payer_claim_control_number: str | None = None,
    ) -> list[TransactionRecord]:
        """Claims a 277CA or 835 speaks of, best match first.

        The payer's claim control number, once known, is the most specific key. Otherwise the
        patient control number (CLM01), which providers may reuse on a resubmission: claims
        still waiting for an answer come first, newest first.
        """
        if patient_control_number is None and payer_claim_control_number is None:
            raise ValueError("a claim response is matched by CLM01, the payer claim control number, or both")
        claims = select(_TX).where(Transaction.kind == Kind.CLAIM.value, Transaction.partner_id == partner_id)
        if payer_claim_control_number is not None:
            by_number = Transaction.payer_claim_control_number == payer_claim_control_number
            if patient_control_number is None:
                return self._match(claims.where(by_number))
            # Both keys in one statement, hence one snapshot: asked one after the other, a claim
            # whose payer number another worker records in between (the 835 and the 277CA of one
            # batch matched concurrently) is in neither answer, and its part goes unmatched.
            found = self._match(claims.where(or_(by_number, and_(
                Transaction.patient_control_number_hmac.in_(self.pcn_digests(patient_control_number)),
                Transaction.payer_claim_control_number.is_(None),  # the payer's number is new to us
            ))))
            known = [r for r in found if r.correlation.payer_claim_control_number == payer_claim_control_number]
            if known:
                return known
            return sorted(found, key=lambda record: record.terminal)
        else:
            statement = claims.where(Transaction.patient_control_number_hmac.in_(self.pcn_digests(patient_control_number)))
        found = self._match(statement)
        return sorted(found, key=lambda record: record.terminal)  # stable: newest first within each

    def claims_answered_by(
        self, partner_id: str, patient_control_numbers: Iterable[str], payer_claim_control_numbers: Iterable[str]
    ) -> list[TransactionRecord]:
        """Every claim of ``partner_id`` with one of these CLM01s or payer claim numbers: the
        candidates of a whole 277CA or 835 in a few queries (``ClaimIndex`` picks from them as
        ``find_for_claim_response`` would)."""
        found: dict[str, TransactionRecord] = {}
        seen: dict[str, Any] = {}
        claims = select(_TX).where(Transaction.kind == Kind.CLAIM.value, Transaction.partner_id == partner_id)
        with self._reading() as session:
            digests = [digest for value in patient_control_numbers for digest in self.pcn_digests(value)]
            for column, values in ((Transaction.patient_control_number_hmac, digests),
                                   (Transaction.payer_claim_control_number, payer_claim_control_numbers)):
                for chunk in _chunks(list(dict.fromkeys(values))):  # an array parameter (see ``_among``)
                    for row in session.execute(claims.where(_among(column, chunk, self._postgres))):
                        if seen.get(row.id) != row:  # a claim found by both keys, unchanged: made once
                            seen[row.id], found[row.id] = row, _record(row)
        return list(found.values())

    # lookup key rotation (edi.pipeline.lookup_rotation) ---------------------------------------

    def lookup_key_usage(self) -> dict[str | None, int]:
        """How many stored CLM01 digests each lookup key id made (None: digests of unknown key)."""
        key_id = Transaction.patient_control_number_key_id
        statement = (select(key_id, func.count()).where(Transaction.patient_control_number_hmac.is_not(None))
                     .group_by(key_id))
        with self._reading() as session:
            return {key: int(count) for key, count in session.execute(statement)}

    def digested_under_other_keys(self, current: str, *, after: str = "", limit: int = 500) -> list[TransactionRecord]:
        """Transactions whose CLM01 digest was made under a key other than ``current``, in id
        order after ``after`` (a rotation pages through them; the database is its progress)."""
        key_id = Transaction.patient_control_number_key_id
        statement = (
            select(Transaction)
            .where(Transaction.patient_control_number_hmac.is_not(None), Transaction.id > after,
                   or_(key_id.is_(None), key_id != current))
            .order_by(Transaction.id)
            .limit(limit)
        )
        with self._reading() as session:
            return [_record(row) for row in session.scalars(statement)]

    def redigest(self, changes: Sequence[tuple[str, str | None, str | None, str | None]]) -> set[str]:
        """Replace CLM01 digests: (transaction id, the key id it was read with, new digest, new
        key id), each only if the row still has that key id (else someone changed it since);
        a new digest of None forgets it. Returns the ids of the rows changed."""
        changed: set[str] = set()
        with self._transaction() as session:
            for transaction_id, old_key_id, digest, new_key_id in changes:
                key_id = Transaction.patient_control_number_key_id
                result = session.execute(
                    update(Transaction)
                    .where(Transaction.id == transaction_id,
                           key_id.is_(None) if old_key_id is None else key_id == old_key_id)
                    .values(patient_control_number_hmac=digest, patient_control_number_key_id=new_key_id)
                )
                if result.rowcount:
                    changed.add(transaction_id)
        return changed

    # scheduling --------------------------------------------------------------------------------

    def schedule(
        self, transaction_ids: str | Sequence[str], due_at: datetime | None, *, count_attempt: bool = False,
        outbox: Sequence[OutboxMessage] = (),
    ) -> None:
        """Set when the pipeline looks at transactions again, without moving them.

        ``count_attempt`` adds one to their attempt count (a failed try being retried later).
        """
        ids = [transaction_ids] if isinstance(transaction_ids, str) else list(dict.fromkeys(transaction_ids))
        if not ids:
            return
        table = Transaction.__table__
        values: dict[str, Any] = {"due_at": due_at}
        if count_attempt:
            values["attempts"] = func.coalesce(table.c.attempts, 0) + 1
        with self._transaction() as session:
            # Core, as ``apply``: the sweeper schedules every due transaction it queues, and ORM
            # objects (a load and a flush of each) were most of its CPU
            found = self._locked_values(session, ids)
            for transaction_id in ids:
                if transaction_id not in found:
                    raise TransactionNotFoundError(transaction_id)
            for chunk in _chunks(ids):
                session.execute(update(table).where(_among(table.c.id, chunk, self._postgres)).values(values))
            self._add_outbox(session, ids, outbox, self._clock())

    def due(self, now: datetime, *, limit: int = 500) -> list[TransactionRecord]:
        """Transactions whose scheduled time has come, soonest first. Terminal ones too: a
        delivered or failed transaction can still owe a document (an answer that came late, a
        callback retry, a delivery another worker held), and only a delivery is scheduled then."""
        statement = (
            select(_TX)
            .where(Transaction.due_at.is_not(None), Transaction.due_at <= now)
            .order_by(Transaction.due_at, Transaction.id)
            .limit(limit)
        )
        with self._reading() as session:
            return [_record(row) for row in session.execute(statement)]

    def stale(self, before: datetime, *, limit: int = 500, after: str | None = None,
              states: Mapping[State, Kind | None] | None = None) -> list[TransactionRecord]:
        """Non-terminal transactions untouched since ``before`` with nothing scheduled: the ones a
        crashed worker may have dropped. Page with ``after`` like ``resume_candidates``.
        ``states``: only transactions in these states (of the kind given, or of any kind for None),
        so that the many waiting on a partner neither cost a read nor fill ``limit``."""
        if states is None:
            in_state: ColumnElement[bool] = Transaction.state.in_(sorted(s.value for s in NON_TERMINAL))
        else:
            in_state = or_(*(Transaction.state == State(state).value if kind is None
                             else and_(Transaction.state == State(state).value, Transaction.kind == Kind(kind).value)
                             for state, kind in sorted(states.items())))
        statement = select(_TX).where(in_state, Transaction.updated_at < before, Transaction.due_at.is_(None))
        if after is not None:
            statement = statement.where(Transaction.id > after)
        with self._reading() as session:
            return [_record(row) for row in session.execute(statement.order_by(Transaction.id).limit(limit))]

    def touch(self, transaction_ids: Sequence[str]) -> None:
        """Mark transactions as looked at now (the sweeper re-queued them), without an event."""
        ids = list(dict.fromkeys(transaction_ids))
        with self._transaction() as session:
            now = self._clock()
            for chunk in _chunks(ids):
                session.execute(update(Transaction).where(_among(Transaction.id, chunk, self._postgres))
                                .values(updated_at=now))

    # batching claims ---------------------------------------------------------------------------

    def unbatched_claims(
        self, partner_id: str, document_type: str, *, limit: int
    ) -> list[TransactionRecord]:
        """Queued claims of one type for one partner not yet in a batch, oldest first."""
        statement = (
            select(_TX)
            .where(text(UNBATCHED), Transaction.partner_id == partner_id, Transaction.document_type == document_type)
            .order_by(Transaction.id)
            .limit(limit)
        )
        with self._reading() as session:
            return [_record(row) for row in session.execute(statement)]

    def waiting_batches(self) -> list[tuple[str, str, int, datetime]]:
        """(partner, document type, how many, oldest queued time) of claims waiting for a batch."""
        statement = (
            select(Transaction.partner_id, Transaction.document_type, func.count(), func.min(Transaction.updated_at))
            .where(text(UNBATCHED), Transaction.partner_id.is_not(None))
            .group_by(Transaction.partner_id, Transaction.document_type)
        )
        with self._reading() as session:
            return [
                (partner, document_type, count, oldest if oldest.tzinfo else oldest.replace(tzinfo=UTC))
                for partner, document_type, count, oldest in session.execute(statement)
            ]

    def assign_batch(
        self,
        assignments: Sequence[tuple[str, Correlation]],
        *,
        attach: Sequence[PayloadAttachment] = (),
        outbox: Sequence[OutboxMessage] = (),
    ) -> bool:
        """Put queued claims into one built batch: their envelope numbers, the batch file and the
        transport message commit together. False (nothing written) if any claim was taken by
        another batch or moved meanwhile: the caller discards its batch and tries again."""
        ids = [transaction_id for transaction_id, _ in assignments]
        try:
            self._assign_batch(assignments, ids, attach, outbox)
        except _BatchTaken:
            return False
        return True

    def _assign_batch(
        self, assignments: Sequence[tuple[str, Correlation]], ids: list[str],
        attach: Sequence[PayloadAttachment], outbox: Sequence[OutboxMessage],
    ) -> None:
        with self._transaction() as session:
            rows = self._locked_values(session, ids)
            for transaction_id in ids:
                row = rows.get(transaction_id)
                if row is None or row["state"] != State.QUEUED.value or row["isa13"] is not None:
                    raise _BatchTaken  # rolls the whole database transaction back
            now = self._clock()
            # one UPDATE per transaction set (the claims of a set share every key), not one per claim
            together: dict[tuple[tuple[str, Any], ...], list[str]] = {}
            for transaction_id, correlation in assignments:
                together.setdefault(tuple(sorted(self._columns(correlation).items())), []).append(transaction_id)
            table = Transaction.__table__
            for columns, members in together.items():
                for chunk in _chunks(members):
                    session.execute(update(table).where(table.c.id.in_(chunk))
                                    .values(**dict(columns), updated_at=now, due_at=None))
            self._add_payloads(session, ids, attach, now)
            self._add_outbox(session, [], outbox, now)  # the messages name their transactions

    def batch_members(self, partner_id: str, isa13: int) -> list[TransactionRecord]:
        """The claims sent (or to be sent) in one interchange, oldest first."""
        statement = select(_TX).where(Transaction.partner_id == partner_id, Transaction.isa13 == isa13)
        with self._reading() as session:
            return [_record(row) for row in session.execute(statement.order_by(Transaction.id))]

    # inbound documents -------------------------------------------------------------------------

    def record_inbound(
        self, partner_id: str, name: str, stored: StoredPayload, *, document_type: str | None = None,
        topic: str | None = None,
    ) -> tuple[str, bool]:
        """Record a file received from a partner; (id, False) when this very file was recorded
        before (downloaded again after a crash). ``topic`` queues its processing in the same commit."""
        _code(document_type, "document type")
        existing = self._inbound_id(partner_id, name, stored.sha256)
        if existing is not None:
            return existing, False
        try:
            with self._transaction() as session:
                now = self._clock()
                row = InboundDocument(
                    id=new_id(), partner_id=partner_id, name=name, document_type=document_type, uri=stored.uri,
                    key_id=stored.key_id, sha256=stored.sha256, size=stored.size, received_at=now, matched=0,
                )
                session.add(row)
                session.flush()
                if topic is not None:
                    _code(topic, "outbox topic", TOPIC)
                    session.add(OutboxEntry(topic=topic, transaction_id=None, body={"inbound_id": row.id},
                                            created_at=now))
                    session.info[_OUTBOX_WRITTEN] = True
                return row.id, True
        except IntegrityError:
            existing = self._inbound_id(partner_id, name, stored.sha256)
            if existing is None:
                raise
            return existing, False

    def _inbound_id(self, partner_id: str, name: str, sha256: str) -> str | None:
        with self._reading() as session:
            return session.scalar(select(InboundDocument.id).where(
                InboundDocument.partner_id == partner_id, InboundDocument.name == name,
                InboundDocument.sha256 == sha256,
            ))

    def inbound(self, inbound_id: str) -> InboundRecord | None:
        with self._reading() as session:
            row = session.get(InboundDocument, inbound_id)
            return _inbound(row) if row is not None else None

    def unprocessed_inbound(self, *, limit: int = 100) -> list[InboundRecord]:
        with self._reading() as session:
            rows = session.scalars(
                select(InboundDocument).where(InboundDocument.processed_at.is_(None))
                .order_by(InboundDocument.received_at, InboundDocument.id).limit(limit)
            )
            return [_inbound(row) for row in rows]

    def finish_inbound(self, inbound_id: str, outcome: str, matched: int, *, document_type: str | None = None) -> None:
        _code(outcome, "outcome")
        with self._transaction() as session:
            row = session.get(InboundDocument, inbound_id)
            if row is None:
                raise LookupError(f"no inbound document {inbound_id}")
            row.processed_at, row.outcome, row.matched = self._clock(), outcome, matched
            if document_type is not None:
                row.document_type = document_type

    # outbox ------------------------------------------------------------------------------------

    @staticmethod
    def _outbox_rows(ids: Sequence[str], messages: Sequence[OutboxMessage], now: datetime) -> list[dict[str, Any]]:
        rows = []
        for message in messages:
            _code(message.topic, "outbox topic", TOPIC)
            transaction_id = message.transaction_id
            if transaction_id is None and len(ids) == 1:
                transaction_id = ids[0]
            rows.append({"topic": message.topic, "transaction_id": transaction_id, "body": message.body,
                         "created_at": now})
        return rows

    @classmethod
    def _add_outbox(cls, session: Session, ids: Sequence[str], messages: Sequence[OutboxMessage],
                    now: datetime) -> None:
        _write_rows(session, "outbox", cls._outbox_rows(ids, messages, now))

    def enqueue(self, messages: Sequence[OutboxMessage]) -> None:
        """Put messages in the outbox on their own (no state change goes with them)."""
        with self._transaction() as session:
            self._add_outbox(session, [], messages, self._clock())

    def pending_outbox(self, limit: int = 100) -> list[OutboxRecord]:
        """Unpublished messages, oldest first."""
        with self._reading() as session:
            rows = session.scalars(
                select(OutboxEntry).where(OutboxEntry.published_at.is_(None)).order_by(OutboxEntry.id).limit(limit)
            )
            return [_outbox(row) for row in rows]

    def mark_published(self, message_ids: Iterable[int]) -> None:
        ids = list(message_ids)
        with self._transaction() as session:
            for start in range(0, len(ids), _CHUNK):
                session.execute(
                    update(OutboxEntry)
                    .where(OutboxEntry.id.in_(ids[start : start + _CHUNK]), OutboxEntry.published_at.is_(None))
                    .values(published_at=self._clock())
                )

    @contextmanager
    def claim_outbox(self, limit: int = 100) -> Iterator[list[OutboxRecord]]:
        """Hold a batch of unpublished messages while the block publishes them.

        On normal exit they are marked published in the same transaction; if the block raises,
        nothing is marked and they are published again later (at least once: consumers
        deduplicate by message id). On PostgreSQL concurrent relays skip each other's rows
        (``FOR UPDATE SKIP LOCKED``); on SQLite the block holds the write lock, so keep it short.
        """
        table = OutboxEntry.__table__
        with self._transaction() as session:
            # Core, not ORM rows: the relay handles every message of every stage, and loading and
            # flushing ORM objects was most of its CPU
            records = [
                OutboxRecord(row.id, row.topic, row.body, row.transaction_id, row.created_at)
                for row in session.execute(
                    select(table.c.id, table.c.topic, table.c.body, table.c.transaction_id, table.c.created_at)
                    .where(table.c.published_at.is_(None))
                    .order_by(table.c.id)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            ]
            yield records
            now = self._clock()
            ids = [record.id for record in records]
            for start in range(0, len(ids), _CHUNK):  # one array parameter on PostgreSQL (see ``_among``)
                session.execute(update(table).where(_among(table.c.id, ids[start:start + _CHUNK], self._postgres))
                                .values(published_at=now))

    # deliveries --------------------------------------------------------------------------------

    def record_delivery(self, attempt: DeliveryAttempt) -> DeliveryRecord:
        """Record one callback attempt (its outcome, HTTP status, an error code, the next try)."""
        _code(attempt.error_code, "error code")
        _code(attempt.webhook_id, "webhook id")
        with self._transaction() as session:
            self._visible(session, attempt.transaction_id, ALL_SUBMITTERS)
            row = Delivery(
                transaction_id=attempt.transaction_id, payload_id=attempt.payload_id,
                webhook_id=attempt.webhook_id, target=attempt.target, attempt=attempt.attempt,
                outcome=DeliveryOutcome(attempt.outcome).value, status_code=attempt.status_code,
                error_code=attempt.error_code, attempted_at=self._clock(), next_attempt_at=attempt.next_attempt_at,
            )
            session.add(row)
            session.flush()
            return _delivery(row)

    def record_deliveries(self, attempts: Sequence[DeliveryAttempt]) -> None:
        """Record many callback attempts in one commit (a delivery stage sending in groups)."""
        rows = self._delivery_rows(attempts)
        if not rows:
            return
        with self._transaction() as session:
            # one INSERT for the group (Core, no ORM objects: nothing is read back)
            _write_rows(session, "delivery", self._stamped(rows, self._clock()))

    @staticmethod
    def _delivery_rows(attempts: Sequence[DeliveryAttempt]) -> list[dict[str, Any]]:
        """The ``deliveries`` rows of callback attempts (``attempted_at`` set at the commit),
        checked, in the lock order of ``_locked`` (by transaction id)."""
        for attempt in attempts:
            _code(attempt.error_code, "error code")
            _code(attempt.webhook_id, "webhook id")
        return [
            {
                "transaction_id": attempt.transaction_id, "payload_id": attempt.payload_id,
                "webhook_id": attempt.webhook_id, "target": attempt.target, "attempt": attempt.attempt,
                "outcome": DeliveryOutcome(attempt.outcome).value, "status_code": attempt.status_code,
                "error_code": attempt.error_code, "attempted_at": None, "next_attempt_at": attempt.next_attempt_at,
            }
            for attempt in sorted(attempts, key=lambda attempt: attempt.transaction_id)
        ]

    @staticmethod
    def _stamped(rows: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
        for row in rows:
            row["attempted_at"] = now
        return rows

    def lease_deliveries(self, transaction_ids: Sequence[str], holder: str, seconds: float) -> set[str]:
        """Take the delivery lease of each transaction that has none or an expired one; returns
        those now held by ``holder`` (for ``seconds``). One statement per chunk, an insert that
        updates only an expired lease: two workers racing for a transaction cannot both win
        (PostgreSQL serialises them on the row, SQLite on its write lock)."""
        ids = sorted(dict.fromkeys(transaction_ids))
        if not ids:
            return set()
        won: set[str] = set()
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        table = DeliveryLease.__table__
        with self._transaction() as session:
            now = self._clock()
            until = now + timedelta(seconds=seconds)
            for chunk in _chunks(ids):
                if self._postgres:  # one array parameter (see ``_among``)
                    rows = select(func.unnest(cast(bindparam("ids", pg_array(chunk), type_=_UNTYPED),
                                                   postgresql.ARRAY(String))),
                                  literal(holder, table.c.holder.type), literal(until, table.c.until.type))
                    statement = dialect.insert(table).from_select(["transaction_id", "holder", "until"], rows)
                else:
                    statement = dialect.insert(table).values(
                        [{"transaction_id": i, "holder": holder, "until": until} for i in chunk]
                    )
                statement = statement.on_conflict_do_update(
                    index_elements=[table.c.transaction_id],
                    set_={"holder": statement.excluded.holder, "until": statement.excluded.until},
                    where=or_(table.c.until < now, table.c.holder == holder),
                ).returning(table.c.transaction_id)
                won.update(session.scalars(statement))
        return won

    def renew_deliveries(self, transaction_ids: Sequence[str], holder: str, seconds: float) -> None:
        """Push back the end of the leases ``holder`` still has (a long group of callbacks)."""
        ids = sorted(dict.fromkeys(transaction_ids))
        with self._transaction() as session:
            until = self._clock() + timedelta(seconds=seconds)
            for chunk in _chunks(ids):
                session.execute(update(DeliveryLease).where(
                    _among(DeliveryLease.transaction_id, chunk, self._postgres), DeliveryLease.holder == holder,
                ).values(until=until))

    def release_deliveries(self, transaction_ids: Sequence[str], holder: str) -> None:
        ids = sorted(dict.fromkeys(transaction_ids))
        if not ids:
            return
        with self._transaction() as session:
            for chunk in _chunks(ids):
                session.execute(delete(DeliveryLease).where(
                    _among(DeliveryLease.transaction_id, chunk, self._postgres), DeliveryLease.holder == holder))

    def remind(self, transaction_ids: Sequence[str], due_at: datetime) -> None:
        """Have the sweeper look at transactions at ``due_at`` unless something is scheduled for
        them already (a delivery retry, which then sends everything owed, in order)."""
        ids = sorted(dict.fromkeys(transaction_ids))
        with self._transaction() as session:
            for chunk in _chunks(ids):
                session.execute(update(Transaction).where(
                    _among(Transaction.id, chunk, self._postgres), Transaction.due_at.is_(None)).values(due_at=due_at))

    def deliveries(self, transaction_id: str, *, submitter_id: Scope) -> list[DeliveryRecord]:
        """Every callback attempt for the transaction, oldest first."""
        with self._reading() as session:
            self._visible(session, transaction_id, submitter_id)
            rows = session.scalars(
                select(Delivery).where(Delivery.transaction_id == transaction_id).order_by(Delivery.id)
            )
            return [_delivery(row) for row in rows]
