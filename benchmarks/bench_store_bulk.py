"""Client CPU of the store's PostgreSQL bulk statements: one array per column vs one JSON parameter.

The store writes many rows with one statement (``edi.store.repository``): events, audit
entries, payload references and outbox messages by ``insert_from_json``, moved transactions by
``update_from_json``, and reads and locks id lists with ``= ANY`` of one array. Until this
benchmark's round, each column went as its own array parameter (``unnest(:a, :b, ...)``) and
each id list as a Python list, which psycopg adapts element by element and SQLAlchemy processes
array by array. This runs both forms in the same process against the same private PostgreSQL,
interleaved, and prints the CPU time of this process per statement (waiting for the server
counts nothing) and the ratio old/new, and PostgreSQL's CPU per statement (its server process
tree): a form that saves the client work but makes the server parse a parameter for every row
shows there. Nothing is asserted: the figures are for reading.

It also prints the plan PostgreSQL chooses for the JSON UPDATE on a table of ``--table-rows``
transactions, next to the plain join form's (``UPDATE ... FROM rows WHERE t.id = r.id``), to
show the primary key is used.

Usage
    python -m benchmarks.bench_store_bulk [--rows 200] [--repeat 30] [--table-rows 300000]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any


def _unnest(table: Any, columns: Sequence[str], name: str, ordinality: str | None = None) -> Any:
    """The earlier form: ``unnest(:a_c1, :a_c2, ...)``, one array parameter per column."""
    from sqlalchemy import bindparam, func
    from sqlalchemy.dialects import postgresql

    arrays = [bindparam(f"a_{column}", type_=postgresql.ARRAY(table.c[column].type)) for column in columns]
    return func.unnest(*arrays).table_valued(*columns, with_ordinality=ordinality, name=name).render_derived()


def _arrays_insert(table: Any, columns: Sequence[str]) -> Any:
    from sqlalchemy import insert, select

    source = _unnest(table, columns, "v", ordinality="n")
    return insert(table).from_select(list(columns), select(*(source.c[c] for c in columns)).order_by(source.c.n))


def _arrays_update(table: Any, key: str, columns: Sequence[str]) -> Any:
    from sqlalchemy import update

    source = _unnest(table, (key, *columns), "v")
    return update(table).where(table.c[key] == source.c[key]).values({c: source.c[c] for c in columns})


def _cpu(call: Callable[[], Any], repeat: int, postmaster: int) -> tuple[float, float]:
    """Mean CPU seconds of ``call`` in this process and in PostgreSQL."""
    from benchmarks.bench_delivery import _tree_cpu_seconds

    server = _tree_cpu_seconds(postmaster)
    start = time.process_time()
    for _ in range(repeat):
        call()
    return (time.process_time() - start) / repeat, (_tree_cpu_seconds(postmaster) - server) / repeat


def run(args: argparse.Namespace) -> int:
    from sqlalchemy import String, any_, bindparam, select, text
    from sqlalchemy.dialects import postgresql

    from edi.store import make_engine, migrate
    from edi.store.models import Transaction, TransactionEvent, new_id
    from edi.store.repository import (
        _among,
        _statement,
        pg_array,
        rows_json,
    )
    from tests.servers.postgres import start_postgres

    count, repeat = args.rows, args.repeat
    print(f"python {sys.version.split()[0]} | {os.cpu_count()} CPUs | {count} rows a statement, "
          f"{repeat} repetitions of each form, interleaved", flush=True)
    transactions, events = Transaction.__table__, TransactionEvent.__table__
    with start_postgres() as pg:
        url = pg.create_database(f"bulk_{os.getpid()}")
        migrate(url)
        engine = make_engine(url)
        now = datetime(2026, 1, 1, tzinfo=UTC)
        with engine.begin() as connection:  # a table of realistic size for the plans
            connection.execute(text(
                "INSERT INTO transactions (id, submitter_id, kind, partner_id, state, attempts, created_at, updated_at) "
                "SELECT lpad(to_hex(g), 26, '0'), 'clinic', 'claim', 'payer', 'received', 0, now(), now() "
                "FROM generate_series(1, :n) g"), {"n": args.table_rows})
            pool = [new_id() for _ in range(count * 16)]  # the UPDATEs take the next slice each time
            connection.execute(transactions.insert(), [
                {"id": i, "submitter_id": "clinic", "kind": "claim", "partner_id": "payer", "state": "received",
                 "attempts": 0, "created_at": now, "updated_at": now} for i in pool])
            ids = pool[:count]
            connection.execute(text("ANALYZE"))

        event_rows = [{"transaction_id": i, "at": now + timedelta(microseconds=n), "from_state": "received",
                       "to_state": "validated", "detail_code": None, "actor": "bench"} for n, i in enumerate(ids)]
        event_columns = tuple(event_rows[0])
        old_insert, new_insert = _arrays_insert(events, event_columns), _statement("event_pg", event_columns)
        update_columns = ("attempts", "due_at", "state", "updated_at")
        old_update, new_update = _arrays_update(transactions, "id", update_columns), _statement("update_pg",
                                                                                                 update_columns)
        lock_old = (select(transactions).where(transactions.c.id == any_(bindparam("ids", type_=postgresql.ARRAY(String))))
                    .order_by(transactions.c.id).with_for_update())
        lock_new = _statement("lock_pg")

        slices = [0]

        def update_rows(step: int) -> list[dict[str, Any]]:
            """The next ``count`` rows of the pool: rows updated again and again (without a
            vacuum) would make the server's side of the UPDATEs mostly the cost of dead rows."""
            start = slices[0] = (slices[0] + count) % len(pool)
            return [{"id": i, "attempts": step, "due_at": None, "state": "validated",
                     "updated_at": now + timedelta(seconds=step)} for i in pool[start:start + count]]

        plain = text("UPDATE transactions SET attempts = r.attempts, due_at = r.due_at, state = r.state, "
                     "updated_at = r.updated_at FROM json_to_recordset(CAST(:rows AS json)) AS r(id varchar(26), "
                     "attempts integer, due_at timestamptz, state varchar(16), updated_at timestamptz) "
                     "WHERE transactions.id = r.id")

        forms: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {
            "insert (events)": (
                lambda c: c.execute(old_insert, {f"a_{k}": [r[k] for r in event_rows] for k in event_columns}),
                lambda c: c.execute(new_insert, {"rows": rows_json(event_rows)}),
            ),
            "update (transactions)": (
                lambda c: c.execute(old_update, {f"a_{k}": [r[k] for r in rows] for k in ("id", *update_columns)})
                if (rows := update_rows(1)) else None,
                lambda c: c.execute(new_update, {"rows": rows_json(update_rows(2))}),
            ),
            "update, json plain join": (
                lambda c: c.execute(old_update, {f"a_{k}": [r[k] for r in rows] for k in ("id", *update_columns)})
                if (rows := update_rows(1)) else None,
                lambda c: c.execute(plain, {"rows": rows_json(update_rows(2))}),
            ),
            "lock (ids)": (
                lambda c: c.execute(lock_old, {"ids": list(ids)}).all(),
                lambda c: c.execute(lock_new, {"ids": pg_array(ids)}).all(),
            ),
            "read (_among)": (
                lambda c: c.execute(select(transactions).where(
                    transactions.c.id == any_(bindparam(None, list(ids), type_=postgresql.ARRAY(String))))).all(),
                lambda c: c.execute(select(transactions).where(_among(transactions.c.id, ids, True))).all(),
            ),
        }
        postmaster = int((pg.data_dir / "postmaster.pid").read_text().split()[0])
        print(f"{'':24s} {'client CPU us/statement':>29s}   {'PostgreSQL CPU us/statement':>29s}")
        print(f"{'statement':24s} {'arrays':>9s} {'json':>9s} {'ratio':>9s}   {'arrays':>9s} {'json':>9s} {'ratio':>9s}")
        for name, (old, new) in forms.items():
            with engine.connect() as connection:
                for form in (old, new):  # warm up: compiled caches, psycopg's prepared statements
                    for _ in range(6):
                        form(connection)
                client, server = [0.0, 0.0], [0.0, 0.0]
                for _ in range(3):  # interleaved rounds
                    for index, form in enumerate((old, new)):
                        mine, theirs = _cpu(lambda form=form: form(connection), repeat, postmaster)
                        client[index] += mine / 3
                        server[index] += theirs / 3
                connection.rollback()
            print(f"{name:24s} {client[0] * 1e6:9.0f} {client[1] * 1e6:9.0f} {client[0] / client[1]:9.2f}   "
                  f"{server[0] * 1e6:9.0f} {server[1] * 1e6:9.0f} {server[0] / max(server[1], 1e-9):9.2f}")

        print(f"\nplans on {args.table_rows:,} transactions, {count} rows updated:")
        rows = rows_json(update_rows(3))
        with engine.connect() as connection:
            for name, statement in (("json, = ANY(ARRAY(...))", new_update), ("json, plain join", plain)):
                compiled = statement.compile(dialect=engine.dialect)
                plan = connection.exec_driver_sql("EXPLAIN " + str(compiled), {"rows": rows}).scalars().all()
                print(f"-- {name}")
                print("\n".join("   " + line for line in plan))
            connection.rollback()
        engine.dispose()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_store_bulk", description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200, help="rows a statement writes or reads")
    parser.add_argument("--repeat", type=int, default=30, help="statements per form and round")
    parser.add_argument("--table-rows", type=int, default=300_000, help="transactions in the table for the plans")
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
