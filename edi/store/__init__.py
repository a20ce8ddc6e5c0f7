"""The transaction store: the pipeline's durable record of every request and what became of it.

One database URL chooses the backend: ``sqlite:///path/to/edi.db`` (the embedded default, no
server) or ``postgresql+psycopg://user:password@host/db`` (``postgresql://`` and
``postgres://`` mean the same). ``make_engine`` sets either up the way the store relies on:

* SQLite: WAL journal (readers never block the writer), foreign keys on, a 30-second busy
  timeout, and every transaction opened with ``BEGIN IMMEDIATE`` so read-then-write sequences
  (state transitions, control numbers) hold the write lock from their first statement instead
  of failing when they try to upgrade a read lock. Connections with the execution option
  ``READ_ONLY`` (``edi_read_only=True``) open a plain deferred ``BEGIN`` instead, so pure reads
  neither wait for nor hold up writers.
* PostgreSQL: psycopg 3; a pooled connection the server closed meanwhile (a restart, an idle
  timeout) is replaced on checkout (``_drop_closed``); row locks are taken explicitly where needed.

``migrate(url)`` brings a database from empty (or any earlier revision) to the current schema
with Alembic; ``alembic -c edi/store/alembic.ini upgrade head`` does the same from a shell with
``EDI_DATABASE_URL`` set.
"""

from __future__ import annotations

import select
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy import create_engine as _create_engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DisconnectionError

from edi.store.models import READ_ONLY
from edi.store.repository import (
    ALL_SUBMITTERS,
    Correlation,
    CreateResult,
    DeliveryAttempt,
    DeliveryRecord,
    EventRecord,
    IdempotencyConflictError,
    InboundOutcome,
    InboundRecord,
    Move,
    NewTransaction,
    OutboxMessage,
    OutboxRecord,
    Page,
    PayloadAttachment,
    PayloadRecord,
    Repository,
    Step,
    TransactionFilter,
    TransactionNotFoundError,
    TransactionRecord,
    UnexpectedStateError,
)
from edi.store.sequences import ControlKind, EnvelopeNumbers, SequenceAllocator
from edi.store.states import IllegalTransitionError, Kind, State

__all__ = [
    "ALL_SUBMITTERS",
    "READ_ONLY",
    "ControlKind",
    "Correlation",
    "CreateResult",
    "DeliveryAttempt",
    "DeliveryRecord",
    "EnvelopeNumbers",
    "EventRecord",
    "IdempotencyConflictError",
    "IllegalTransitionError",
    "InboundOutcome",
    "InboundRecord",
    "Kind",
    "Move",
    "NewTransaction",
    "OutboxMessage",
    "OutboxRecord",
    "Page",
    "PayloadAttachment",
    "PayloadRecord",
    "Repository",
    "Step",
    "SequenceAllocator",
    "State",
    "TransactionFilter",
    "TransactionNotFoundError",
    "TransactionRecord",
    "UnexpectedStateError",
    "alembic_config",
    "database_url",
    "make_engine",
    "migrate",
]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def database_url(url: str | URL) -> URL:
    """The URL with the driver the store uses: psycopg 3 for PostgreSQL, pysqlite for SQLite."""
    parsed = make_url(url) if isinstance(url, str) else url
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ValueError(f"unsupported database {parsed.get_backend_name()!r}: use sqlite or postgresql")
    return parsed


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # pysqlite must not issue BEGIN; we do, below
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA busy_timeout = 30000")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def _postgres_setup(engine: Engine) -> None:
    @event.listens_for(engine, "checkout")
    def _drop_closed(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        """Replace a pooled connection that has something to read while idle.

        An idle connection has nothing in flight, so the server has nothing to say on it unless it
        is ending it: a restarting or stopping server (or one that killed the backend) sends its
        FATAL notice and closes the socket. Seeing that costs one ``poll`` here; the pre-ping it
        replaces was a round trip to the server for every checkout (~4% of the workers' samples).
        ``DisconnectionError`` makes the pool discard the connection and check out a fresh one.
        Anything else readable (a notice) costs a needless reconnect, nothing more."""
        if dbapi_connection.closed:
            raise DisconnectionError("the connection was closed")
        poller = select.poll()
        poller.register(dbapi_connection.fileno(), select.POLLIN | select.POLLPRI)
        if poller.poll(0):
            raise DisconnectionError("the server ended the pooled connection")


def make_engine(url: str | URL, **options: Any) -> Engine:
    """An engine for the store's database, configured as the module describes."""
    parsed = database_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database in ("", ":memory:") or database.startswith("file:"):
            raise ValueError("the SQLite store needs a file: sqlite:///path/to/edi.db")
        Path(database).parent.mkdir(parents=True, exist_ok=True)
        options.setdefault("connect_args", {"timeout": 30, "check_same_thread": False})
        engine = _create_engine(parsed, **options)
        _sqlite_setup(engine)
        return engine
    if "poolclass" not in options:
        options.setdefault("pool_size", 10)
        options.setdefault("max_overflow", 20)
    engine = _create_engine(parsed, **options)
    if not options.get("pool_pre_ping"):
        _postgres_setup(engine)
    return engine


def alembic_config(url: str | URL | None = None, engine: Engine | None = None, lookup_key: Any = None) -> Any:
    """An Alembic configuration for the store's migrations, without any ini file."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if lookup_key is not None:  # edi.lookup.LookupKey: for migrations that digest stored identifiers
        config.attributes["lookup_key"] = lookup_key
    if engine is not None:
        config.attributes["engine"] = engine
    elif url is not None:
        config.attributes["url"] = database_url(url)
    return config


def migrate(url: str | URL | Engine, revision: str = "head", *, lookup_key: Any = None) -> None:
    """Upgrade the database to ``revision`` (the latest by default); safe to run every start.

    ``lookup_key`` (``edi.lookup.LookupKey``) is the key the engine digests CLM01s with; without it
    a migration that needs it takes the one ``Settings.from_env()`` names.
    """
    from alembic import command

    engine = url if isinstance(url, Engine) else make_engine(url)
    try:
        command.upgrade(alembic_config(engine=engine, lookup_key=lookup_key), revision)
    finally:
        if engine is not url:
            engine.dispose()

# The audit trail's table lives in the same database and migrations: register it on the store's
# metadata wherever the store is used (at the end: edi.audit.models imports edi.store.models).
import edi.audit.models  # noqa: E402, F401, I001
from edi.audit.events import install as _install_audit_events  # noqa: E402, I001

_install_audit_events()  # every committed state change also goes on the audit trail
