"""The partial indexes of ``transactions``: migrated as the models say, and used by the planners.

Alembic's schema comparison ignores index predicates, and a query whose condition does not
imply a partial index's predicate silently falls back to another index or a scan. So both are
checked here, on both stores, with the statements the repository really sends.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg.sql
import pytest
from sqlalchemy import Engine, create_engine, event, inspect, text

from edi.lookup import LookupKey
from edi.store import Repository
from edi.store.models import Base

pytest_plugins = ("tests.servers.postgres", "tests.stores")

NOW = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def _indexes(engine: Engine) -> dict[str, tuple[tuple[str, ...], bool, str | None]]:
    """name -> (columns, unique, predicate with blanks, parentheses and casts taken out)."""
    found = {}
    for index in inspect(engine).get_indexes("transactions"):
        options = index.get("dialect_options", {})
        where = options.get("postgresql_where", options.get("sqlite_where"))
        predicate = None if where is None else re.sub(r"[\s()]|::[a-z ]+", "", str(where)).lower()
        found[index["name"]] = (tuple(index["column_names"]), bool(index["unique"]), predicate)
    return found


def test_migrated_indexes_match_the_models_predicates_included(engine: Engine, database_url: str,
                                                              tmp_path: Path) -> None:
    if engine.dialect.name == "sqlite":
        modelled = create_engine(f"sqlite:///{tmp_path / 'models.db'}")
    else:
        with engine.begin() as connection:
            connection.execute(text("CREATE SCHEMA modelled"))
        modelled = create_engine(database_url, connect_args={"options": "-c search_path=modelled"})
    try:
        Base.metadata.create_all(modelled)
        migrated, expected = _indexes(engine), _indexes(modelled)
    finally:
        modelled.dispose()
    assert migrated == expected
    assert migrated["ix_transactions_trn_trace"][2] == "trn_traceisnotnull"
    assert migrated["ix_transactions_unbatched"][0] == ("partner_id", "document_type", "id")
    assert "ix_transactions_partner_id_state_document_type_isa13" not in migrated


def _plans(engine: Engine, call: Callable[[], Any]) -> list[str]:
    """The plan of every statement ``call`` sends, planned as the store would run it."""
    sent: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert sent, "the call sent no query"
    plans = []
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            # an empty table is cheapest to scan: take scans away so the plan shows which index fits
            connection.exec_driver_sql("SET enable_seqscan = off")
            explain = "EXPLAIN "
        else:
            explain = "EXPLAIN QUERY PLAN "
        for statement, parameters in sent:
            rows = connection.exec_driver_sql(explain + statement, parameters).all()
            plans.append("\n".join(" ".join(map(str, row)) for row in rows))
            if engine.dialect.name == "postgresql":
                plans.append(_generic_plan(connection, statement, parameters))
    return plans


def _generic_plan(connection: Any, statement: str, parameters: dict[str, Any]) -> str:
    """PostgreSQL's plan for the statement once prepared and planned without its values, as it
    may be after psycopg prepares a statement run often: a partial index must still fit."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        names.append(match.group(1))
        return f"${len(names)}"

    numbered = re.sub(r"%\((\w+)\)s", number, statement)
    connection.exec_driver_sql("DEALLOCATE ALL")
    connection.exec_driver_sql(f"PREPARE planned AS {numbered}")
    connection.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
    try:
        raw = connection.connection.dbapi_connection  # EXECUTE takes its values as literals only
        arguments = ", ".join(psycopg.sql.Literal(parameters[name]).as_string(raw) for name in names)
        rows = connection.exec_driver_sql(f"EXPLAIN EXECUTE planned{f'({arguments})' if names else ''}").all()
    finally:
        connection.exec_driver_sql("RESET plan_cache_mode")
    return "generic: " + "\n".join(row[0] for row in rows)


CALLS: dict[str, tuple[Callable[[Repository], Any], str]] = {
    "unbatched claims": (lambda r: r.unbatched_claims("payer-1", "837P", limit=50), "ix_transactions_unbatched"),
    "waiting batches": (lambda r: r.waiting_batches(), "ix_transactions_unbatched"),
    "271 by trace": (lambda r: r.find_for_271("TRACE-1"), "ix_transactions_trn_trace"),
    "TA1": (lambda r: r.find_for_ta1("payer-1", 17), "ix_transactions_partner_id_isa13"),
    "999": (lambda r: r.find_for_999("payer-1", 17, 3), "ix_transactions_partner_id_gs06_st02"),
    "835 by payer number": (
        lambda r: r.find_for_claim_response("payer-1", payer_claim_control_number="PCN-1"),
        "ix_transactions_partner_id_payer_claim_control_number",
    ),
    "a whole 835": (
        lambda r: r.claims_answered_by("payer-1", [], ["PCN-1", "PCN-2"]),
        "ix_transactions_partner_id_payer_claim_control_number",
    ),
    "due": (lambda r: r.due(NOW), "ix_transactions_due_at"),
}


@pytest.mark.parametrize("name", list(CALLS))
def test_each_lookup_uses_its_partial_index(engine: Engine, name: str) -> None:
    call, index = CALLS[name]
    repo = Repository(engine, lookup_key=LookupKey(b"k" * 32))
    plans = _plans(engine, lambda: call(repo))
    fits = {index}
    if name == "waiting batches" and engine.dialect.name == "sqlite":
        fits.add("ix_transactions_state_id")  # SQLite's own choice for the count, with no statistics
    assert all(any(f in plan for f in fits) for plan in plans), plans


def test_the_batcher_finds_only_the_claims_waiting_for_a_batch(engine: Engine) -> None:
    """The literal predicate the batcher queries with (`UNBATCHED`) picks exactly those claims."""
    with engine.begin() as connection:
        for number, (state, kind, isa13) in enumerate([
            ("queued", "claim", None), ("queued", "claim", 9), ("sent", "claim", None),
            ("queued", "eligibility", None), ("queued", "claim", None),
        ]):
            connection.execute(text(
                "INSERT INTO transactions (id, submitter_id, kind, partner_id, state, document_type, isa13, "
                "attempts, created_at, updated_at) VALUES (:id, 's', :kind, 'payer-1', :state, '837P', :isa13, 0, "
                ":now, :now)"), {"id": f"T{number}", "kind": kind, "state": state, "isa13": isa13, "now": NOW})
    repo = Repository(engine, lookup_key=LookupKey(b"k" * 32))
    assert [r.id for r in repo.unbatched_claims("payer-1", "837P", limit=50)] == ["T0", "T4"]
    assert [(p, d, n) for p, d, n, _ in repo.waiting_batches()] == [("payer-1", "837P", 2)]
