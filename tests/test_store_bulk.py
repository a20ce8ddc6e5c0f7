"""The store's bulk paths keep every value exactly, on SQLite and on PostgreSQL.

On PostgreSQL the bulk INSERTs and UPDATEs send all their rows as one JSON parameter that the
server turns back into typed columns (``edi.store.repository.insert_from_json``,
``update_from_json``), and id lists go as one array literal (``pg_array``). Those encodings are
this module's subject: timestamps (another offset than UTC, microseconds, in a session whose
time zone is not UTC), NULLs, unicode with quotes and backslashes, 64-bit integers, JSON-ish
text and JSON documents must read back as they were written, rows keep their order (generated
ids follow it), and an UPDATE changes the named rows only.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from edi.audit import AuditEntry
from edi.lookup import LookupKey
from edi.store import (
    Correlation,
    Kind,
    NewTransaction,
    Repository,
    State,
    make_engine,
    migrate,
)
from edi.store.models import (
    Delivery,
    OutboxEntry,
    Payload,
    PayloadKind,
    Transaction,
    TransactionEvent,
    new_id,
)
from edi.store.repository import _among, _statement, _write_rows, pg_array

pytest_plugins = ("tests.servers.postgres",)

KOLKATA = timezone(timedelta(hours=5, minutes=30))
AT = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=KOLKATA)  # 06:30:00.123456 UTC
ODD = 'Zoë "quoted" \\ back\'slash, {brace} 名前 🙂'
BIG = 2**62 + 12345  # beyond 53 bits: a float on the way would round it


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'edi.db'}"
    else:  # a session time zone other than UTC: a timestamp sent without its offset would move
        url = request.getfixturevalue("postgres_url") + "?options=-c%20timezone%3DAmerica/New_York"
    migrate(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def repo(engine: Engine) -> Repository:
    return Repository(engine, clock=lambda: AT, lookup_key=LookupKey(b"k" * 32))


def claims(repo: Repository, count: int) -> list[str]:
    made = repo.create_many([(NewTransaction(
        submitter_id="clinic-a", kind=Kind.CLAIM, partner_id="payer-1", document_type="837P",
        reply_to='{"channel": "sftp", "target": "out/ünï \\"x\\""}',
        correlation=Correlation(control_number=f"C{n}", isa13=999_999_999, gs06=n + 1, st02=1,
                                patient_control_number=f"PCN-{n}"),
    ), []) for n in range(count)])
    return [record.id for record in made]


def write(engine: Engine, table: str, rows: list[dict[str, object]]) -> None:
    with Session(engine) as session, session.begin():
        _write_rows(session, table, rows)


def test_transactions_round_trip_through_the_bulk_insert(repo: Repository) -> None:
    ids = claims(repo, 5)
    found = repo.get_many(ids)
    assert list(found) != [] and set(found) == set(ids)
    for n, transaction_id in enumerate(ids):
        record = found[transaction_id]
        assert record.created_at == AT and record.created_at.utcoffset() == timedelta(0)
        assert record.reply_to == '{"channel": "sftp", "target": "out/ünï \\"x\\""}'
        assert record.correlation.control_number == f"C{n}"
        assert (record.correlation.isa13, record.correlation.gs06, record.correlation.st02) == (999_999_999, n + 1, 1)
        assert record.correlation.patient_control_number_hmac == repo.pcn_digest(f"PCN-{n}")
        assert record.due_at is None and record.attempts == 0 and record.state is State.RECEIVED


def test_every_column_type_round_trips_and_rows_keep_their_order(repo: Repository, engine: Engine) -> None:
    ids = claims(repo, 3)
    events = [{"transaction_id": ids[n % 3], "at": AT + timedelta(microseconds=n), "from_state": None if n % 2 else "received",
               "to_state": "validated", "detail_code": None, "actor": f"{ODD[:40]}{n}"} for n in range(7)]
    write(engine, "event", events)
    payloads = [{"id": new_id(), "transaction_id": ids[n % 3], "kind": "request-json", "document_type": None if n else "837P",
                 "uri": f"mem://{ODD}/{n}", "key_id": "k1", "sha256": "ab" * 32, "size": BIG + n, "created_at": AT}
                for n in range(4)]
    write(engine, "payload", payloads)
    body = {"claim": ODD, "n": BIG, "list": [1, None, True, 1.5, "é"], "nested": {"empty": {}, "none": None}}
    write(engine, "outbox", [{"topic": f"t.{n}", "transaction_id": None if n == 1 else ids[0], "body": {**body, "i": n},
                              "created_at": AT} for n in range(3)])
    deliveries = [{"transaction_id": ids[n % 3], "payload_id": payloads[0]["id"] if n else None, "webhook_id": f"w{n}",
                   "target": f"https://example.test/{ODD}", "attempt": n + 1, "outcome": "failed",
                   "status_code": None if n % 2 else 500 + n, "error_code": None, "attempted_at": AT,
                   "next_attempt_at": None if n == 2 else AT + timedelta(days=n)} for n in range(4)]
    write(engine, "delivery", deliveries)
    audit = [{"recorded_at": AT, "kind": "event", "action": "validated", "actor": ODD[:64], "outcome": "ok",
              "transaction_id": ids[n], "submitter_id": None, "partner_id": "payer-1", "control_number": None,
              "isa13": 999_999_999 - n, "gs06": None, "st02": 1} for n in range(3)]
    before = _count(engine, AuditEntry)
    write(engine, "audit", audit)

    with Session(engine) as session:
        got = session.scalars(select(TransactionEvent).where(TransactionEvent.actor.like("Zo%"))
                              .order_by(TransactionEvent.id)).all()
        assert [(e.transaction_id, e.at, e.from_state, e.to_state, e.detail_code, e.actor) for e in got] == \
               [(r["transaction_id"], r["at"], r["from_state"], r["to_state"], r["detail_code"], r["actor"]) for r in events]
        assert all(e.at.utcoffset() == timedelta(0) for e in got)
        assert got[1].at - got[0].at == timedelta(microseconds=1)
        got_payloads = session.scalars(select(Payload).where(Payload.key_id == "k1").order_by(Payload.uri)).all()
        assert [{c: getattr(p, c) for c in payloads[0]} for p in got_payloads] == payloads
        got_outbox = session.scalars(select(OutboxEntry).where(OutboxEntry.topic.like("t.%"))
                                     .order_by(OutboxEntry.id)).all()
        assert [(o.topic, o.transaction_id, o.body, o.created_at) for o in got_outbox] == \
               [(f"t.{n}", None if n == 1 else ids[0], {**body, "i": n}, AT) for n in range(3)]
        got_deliveries = session.scalars(select(Delivery).order_by(Delivery.id)).all()
        assert [{c: getattr(d, c) for c in deliveries[0]} for d in got_deliveries] == deliveries
        got_audit = session.scalars(select(AuditEntry).order_by(AuditEntry.id).offset(before)).all()
        assert [{c: getattr(a, c) for c in audit[0]} for a in got_audit] == audit


def _count(engine: Engine, model: type) -> int:
    with Session(engine) as session:
        return len(session.scalars(select(model)).all())


def test_a_naive_datetime_is_refused(engine: Engine, repo: Repository) -> None:
    ids = claims(repo, 2)
    naive = [{"transaction_id": i, "at": datetime(2026, 3, 1, 12), "from_state": None, "to_state": "validated",
              "detail_code": None, "actor": "t"} for i in ids]
    with pytest.raises(Exception, match="naive datetimes are ambiguous"):
        write(engine, "event", naive)


def test_the_bulk_update_changes_the_named_rows_only(repo: Repository, engine: Engine) -> None:
    ids = claims(repo, 6)
    before = repo.get_many(ids)
    due = datetime(2026, 4, 1, 8, 15, 30, 654321, tzinfo=timezone(timedelta(hours=-7)))
    moved = ids[1:4]
    with Session(engine) as session, session.begin():
        rows, loaded = Repository._locked_plain(session, moved)
        for n, transaction_id in enumerate(moved):  # one group of three: the JSON form on PostgreSQL
            row = rows[transaction_id]
            row.state, row.due_at, row.attempts, row.updated_at = "validated", due + timedelta(seconds=n), 2**31 - 1, AT
            row.payer_claim_control_number, row.reply_to = f"{ODD[:45]}{n}", '{"json": "ish", "q": "\\""}'
        rows[ids[5]] = _plain(session, ids[5])  # a group of one (the per-row form), read unlocked
        loaded[ids[5]] = dict(rows[ids[5]].__dict__)
        rows[ids[5]].due_at = due
        Repository._update_plain(session, rows, loaded)
    after = repo.get_many(ids)
    for n, transaction_id in enumerate(moved):
        record = after[transaction_id]
        assert record.state is State.VALIDATED and record.attempts == 2**31 - 1
        assert record.due_at == due + timedelta(seconds=n) and record.due_at.utcoffset() == timedelta(0)
        assert record.correlation.payer_claim_control_number == f"{ODD[:45]}{n}"
        assert record.reply_to == '{"json": "ish", "q": "\\""}'
        assert record.correlation.gs06 == before[transaction_id].correlation.gs06  # untouched columns kept
    assert after[ids[5]].due_at == due and after[ids[5]].state is State.RECEIVED
    assert after[ids[0]] == before[ids[0]] and after[ids[4]] == before[ids[4]]


def _plain(session: Session, transaction_id: str) -> object:
    from edi.store.repository import _Row

    values = session.execute(select(Transaction.__table__).where(Transaction.id == transaction_id)).mappings().one()
    return _Row(dict(values))


@pytest.mark.parametrize("odd", ["NULL", "a,b", 'q"uote', "back\\slash", "{x}", " sp ", "", "é"])
def test_id_lists_match_ids_exactly(engine: Engine, repo: Repository, odd: str) -> None:
    ids = claims(repo, 2)
    with Session(engine) as session, session.begin():
        session.add(Transaction(id=odd, submitter_id="clinic-a", kind="claim", state="received"))
    postgres = engine.dialect.name == "postgresql"
    with Session(engine) as session:
        column = Transaction.__table__.c.id
        found = set(session.scalars(select(column).where(_among(column, [odd, ids[1], "missing"], postgres))))
    assert found == {odd, ids[1]}
    assert set(repo.get_many([odd, ids[0]])) == {odd, ids[0]}


def test_pg_array_literals() -> None:
    assert pg_array([]) == "{}"
    assert pg_array([3, 1]) == "{3,1}"
    assert pg_array(["a", "NULL"]) == '{"a","NULL"}'
    assert pg_array(['a"b', "c\\d"]) == '{"a\\"b","c\\\\d"}'


def test_payloads_and_deliveries_are_read_together_as_apart(engine: Engine, repo: Repository) -> None:
    ids = claims(repo, 4)
    payloads = [{"id": new_id(), "transaction_id": ids[n % 3], "kind": "response-json" if n % 2 else "ack",
                 "document_type": "999", "uri": f"mem://{n}", "key_id": "k1", "sha256": "ab" * 32, "size": n,
                 "created_at": AT} for n in range(6)]
    write(engine, "payload", payloads)
    write(engine, "delivery", [{"transaction_id": i, "payload_id": None, "webhook_id": f"w{n}", "target": "https://t",
                                "attempt": 1, "outcome": "failed", "status_code": 500, "error_code": None,
                                "attempted_at": AT, "next_attempt_at": None} for n, i in enumerate([ids[1], ids[3], ids[1]])])
    asked = [ids[3], ids[1], ids[0], ids[1], ids[2]]
    documents, attempts = repo.payloads_and_deliveries_of(asked, PayloadKind.RESPONSE_JSON)
    assert documents == repo.payloads_of(asked, PayloadKind.RESPONSE_JSON)
    with_documents = [i for i in dict.fromkeys(asked) if documents[i]]
    assert with_documents == [ids[1], ids[0], ids[2]]
    assert attempts == repo.deliveries_of(with_documents) and list(attempts) == with_documents
    assert [a.webhook_id for a in attempts[ids[1]]] == ["w0", "w2"] and attempts[ids[0]] == []


def test_postgresql_parses_an_id_list_once(postgres_url: str) -> None:
    """The array literal is a parameter PostgreSQL types as the array: a constant in the plan.
    Typed as text and cast in the statement, it was parsed again for every row tested (the
    plan shows the conversion through ``cstring``) and the delivery stage's database CPU grew
    tenfold."""
    migrate(postgres_url)
    engine = make_engine(postgres_url)
    try:
        column = Transaction.__table__.c.id
        ids = [new_id() for _ in range(3)]
        statements = [(select(column).where(_among(column, ids, True)), None),
                      (_statement("lock_pg"), {"ids": pg_array(ids)})]
        with engine.connect() as connection:
            for statement, params in statements:
                compiled = statement.compile(dialect=engine.dialect)
                plan = "\n".join(connection.exec_driver_sql(
                    "EXPLAIN VERBOSE " + str(compiled), params or compiled.params).scalars())
                assert ids[0] in plan and "cstring" not in plan, plan
    finally:
        engine.dispose()
