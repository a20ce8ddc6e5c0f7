"""Alembic environment of the transaction store.

Migrations are how the schema is made and changed, on SQLite and PostgreSQL alike, so that an
existing database upgrades in place. The database comes from, in order: an engine passed in
by ``edi.store.migrate``, a URL passed in by ``edi.store.alembic_config``, ``-x url=...`` on
the command line, or ``EDI_DATABASE_URL``. On PostgreSQL an advisory lock makes concurrent
starters migrate one at a time; on SQLite the store's ``BEGIN IMMEDIATE`` does the same.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy.pool import NullPool

from edi.store import database_url, make_engine
from edi.store.models import Base

MIGRATION_LOCK = 0x45444953544F5245 & 0x7FFFFFFFFFFFFFFF  # "EDISTORE", a bigint advisory lock key

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = (
        config.attributes.get("url")
        or context.get_x_argument(as_dictionary=True).get("url")
        or os.environ.get("EDI_DATABASE_URL")
    )
    if not url:
        raise RuntimeError("no database: pass -x url=... or set EDI_DATABASE_URL")
    return url


def run_offline() -> None:
    context.configure(
        url=database_url(_url()), target_metadata=target_metadata, literal_binds=True, render_as_batch=True
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    engine = config.attributes.get("engine")
    owned = engine is None
    if owned:
        engine = make_engine(_url(), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=connection.dialect.name == "sqlite",
                compare_type=True,
            )
            with context.begin_transaction():
                if connection.dialect.name == "postgresql":
                    connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
                context.run_migrations()
    finally:
        if owned:
            engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
