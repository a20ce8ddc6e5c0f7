"""The audit trail on SQLite and PostgreSQL: writing, sealing under concurrency, and finding
tampering done with plain SQL (after dropping the guard triggers, as an administrator could)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text

from edi.audit import AuditAction, AuditLog, AuditRecord, phi_read, record, seal, seal_all, verify_chain
from edi.audit.chain import GENESIS, canonical, entry_hash
from edi.audit.models import CHAINED_FIELDS, AuditEntry
from edi.audit.sealer import SEAL_LOCK
from edi.store import make_engine, migrate

pytest_plugins = ("tests.servers.postgres", "tests.stores")

ROOT = Path(__file__).resolve().parents[1]
T = AuditEntry.__table__


def events(count: int, start: int = 0) -> list[AuditRecord]:
    actions = list(AuditAction)
    return [
        AuditRecord(actions[i % len(actions)], actor=f"stage-{i % 3}", outcome="ok",
                    transaction_id=f"01J{i:023d}", submitter_id="clinic-a", partner_id="payer-1",
                    control_number=f"C{i}", isa13=i, gs06=i, st02=i % 10000)
        for i in range(start, start + count)
    ]


def sealed_chain(engine: Engine, count: int = 10) -> None:
    AuditLog(engine).record(*events(count))
    assert seal_all(engine) == count
    assert verify_chain(engine).ok


def drop_guards(engine: Engine) -> None:
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("DROP TRIGGER audit_entries_append_only ON audit_entries"))
        else:
            connection.execute(text("DROP TRIGGER audit_entries_seal_once"))
            connection.execute(text("DROP TRIGGER audit_entries_no_delete"))


def tamper(engine: Engine, *statements: str) -> None:
    drop_guards(engine)
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement))


def first_problem(engine: Engine, **options: object) -> tuple[int, str]:
    report = verify_chain(engine, **options)  # type: ignore[arg-type]
    assert not report.ok
    assert report.first is not None
    return report.first.position, report.first.kind


# -- writing and sealing ----------------------------------------------------------------------------


def test_sealed_entries_form_a_chain_from_genesis(engine: Engine) -> None:
    AuditLog(engine).record(*events(5))
    with engine.begin() as connection:
        record(connection, phi_read("client:clinic-a-portal", "01J00000000000000000000001", outcome="ok",
                                    submitter_id="clinic-a", partner_id="payer-1", isa13=7))
    report = verify_chain(engine)
    assert report.ok and report.sealed == 0 and report.unsealed == 6
    assert seal(engine, batch_size=4) == 4 and seal(engine, batch_size=4) == 2 and seal(engine) == 0
    with engine.connect() as connection:
        rows = connection.execute(select(T).order_by(T.c.position)).mappings().all()
    assert [r["position"] for r in rows] == [1, 2, 3, 4, 5, 6]
    assert rows[0]["prev_hash"] == GENESIS
    for before, entry in zip(rows, rows[1:], strict=False):
        assert entry["prev_hash"] == before["hash"]
    for entry in rows:
        assert entry["hash"] == entry_hash(entry, entry["position"], entry["prev_hash"])
    assert rows[-1]["kind"] == "access" and rows[-1]["action"] == "read" and rows[0]["kind"] == "event"
    report = verify_chain(engine)
    assert report.ok and report.sealed == 6 and report.unsealed == 0
    assert (report.head_position, report.head_hash) == (6, rows[-1]["hash"])


def test_an_entry_rolls_back_with_the_writers_transaction(engine: Engine) -> None:
    with pytest.raises(RuntimeError), engine.begin() as connection:
        record(connection, *events(1))
        raise RuntimeError("the state change failed")
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(T)).scalar_one() == 0


@pytest.mark.parametrize("fields", [
    {"actor": "John Doe"}, {"actor": ""}, {"outcome": "Member not found for DOE"}, {"transaction_id": "x" * 27},
    {"partner_id": "payer 1"}, {"isa13": -1}, {"control_number": "1980-01-01 DOE"},
])
def test_entries_take_ids_and_codes_only(fields: dict[str, object]) -> None:
    base: dict[str, object] = {"action": AuditAction.SENT, "actor": "stage-transmit"}
    with pytest.raises(ValueError, match="audit") as error:
        AuditRecord(**(base | fields))  # type: ignore[arg-type]
    assert "DOE" not in str(error.value) and "John" not in str(error.value)


def test_triggers_refuse_changes_and_deletes(engine: Engine) -> None:
    AuditLog(engine).record(*events(3))
    with pytest.raises(Exception, match="audit trail"), engine.begin() as connection:
        connection.execute(text("UPDATE audit_entries SET actor = 'someone' WHERE id = 1"))  # unsealed, fixed field
    seal_all(engine)
    for statement in ("UPDATE audit_entries SET outcome = 'changed' WHERE position = 2",
                      "UPDATE audit_entries SET hash = prev_hash WHERE position = 2",
                      "DELETE FROM audit_entries WHERE position = 3"):
        with pytest.raises(Exception, match="audit trail"), engine.begin() as connection:
            connection.execute(text(statement))
    if engine.dialect.name == "postgresql":
        with pytest.raises(Exception, match="audit trail"), engine.begin() as connection:
            connection.execute(text("TRUNCATE audit_entries"))
    assert verify_chain(engine).ok


# -- tampering --------------------------------------------------------------------------------------


def test_edited_record_is_found_at_its_position(engine: Engine) -> None:
    sealed_chain(engine)
    tamper(engine, "UPDATE audit_entries SET outcome = 'rejected' WHERE position = 5")
    assert first_problem(engine) == (5, "altered")
    assert len(verify_chain(engine).problems) == 1


def test_edited_time_is_found(engine: Engine) -> None:
    sealed_chain(engine)
    other = "recorded_at + INTERVAL '1 second'" if engine.dialect.name == "postgresql" else \
        "datetime(recorded_at, '+1 second')"
    tamper(engine, f"UPDATE audit_entries SET recorded_at = {other} WHERE position = 8")
    assert first_problem(engine) == (8, "altered")


def test_removed_record_is_found_at_its_position(engine: Engine) -> None:
    sealed_chain(engine)
    tamper(engine, "DELETE FROM audit_entries WHERE position = 5")
    assert first_problem(engine) == (5, "removed")
    tamper_more = verify_chain(engine)
    assert [p.kind for p in tamper_more.problems] == ["removed"]


def test_swapped_positions_are_found(engine: Engine) -> None:
    sealed_chain(engine)
    tamper(engine,
           "UPDATE audit_entries SET position = 1000 WHERE position = 3",
           "UPDATE audit_entries SET position = 3 WHERE position = 7",
           "UPDATE audit_entries SET position = 7 WHERE position = 1000")
    assert first_problem(engine) == (3, "altered")


def test_swapped_contents_are_found(engine: Engine) -> None:
    sealed_chain(engine)
    tamper(engine,
           "UPDATE audit_entries SET actor = 'tmp' WHERE position = 3",
           "UPDATE audit_entries SET actor = (SELECT actor FROM audit_entries WHERE position = 4) WHERE position = 3",
           "UPDATE audit_entries SET actor = 'stage-0' WHERE position = 4")
    # events(10) gives position 3 actor stage-2 and position 4 actor stage-0: now reversed
    assert first_problem(engine) == (3, "altered")


def test_inserted_record_is_found(engine: Engine) -> None:
    sealed_chain(engine)
    with engine.connect() as connection:
        fourth = connection.execute(select(T).where(T.c.position == 4)).mappings().one()
    forged = {name: fourth[name] for name in CHAINED_FIELDS} | {"id": 999, "outcome": "ok", "actor": "forger"}
    forged_hash = entry_hash(forged, 5, fourth["hash"])  # the forger knows the algorithm
    drop_guards(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE audit_entries SET position = position + 1000 WHERE position >= 5"))
        connection.execute(text("UPDATE audit_entries SET position = position - 999 WHERE position > 1000"))
        connection.execute(T.insert().values(**forged, position=5, prev_hash=fourth["hash"], hash=forged_hash))
    # the forged record links up perfectly; the first record it displaced does not
    assert first_problem(engine) == (6, "altered")


def test_appended_record_with_a_made_up_hash_is_found(engine: Engine) -> None:
    sealed_chain(engine)
    with engine.connect() as connection:
        tenth = connection.execute(select(T).where(T.c.position == 10)).mappings().one()
    with engine.begin() as connection:
        connection.execute(T.insert().values(
            **{name: tenth[name] for name in CHAINED_FIELDS} | {"id": 500}, position=11,
            prev_hash=tenth["hash"], hash="f" * 64))
    assert first_problem(engine) == (11, "altered")


def test_truncation_and_full_rewrite_need_the_anchor(engine: Engine) -> None:
    sealed_chain(engine)
    head = verify_chain(engine)
    anchor = (head.head_position, head.head_hash)
    # an administrator drops the last two records: the chain alone cannot tell ...
    tamper(engine, "DELETE FROM audit_entries WHERE position > 8")
    assert verify_chain(engine).ok
    # ... the head kept elsewhere can
    assert first_problem(engine, expect=anchor) == (10, "anchor")
    assert verify_chain(engine, expect=(8, head.head_hash)).first.kind == "anchor"  # type: ignore[union-attr]


def test_cli_reports_the_position_and_fails(engine: Engine, database_url: str) -> None:
    sealed_chain(engine, 12)
    env = {**os.environ, "EDI_DATABASE_URL": database_url, "PYTHONPATH": str(ROOT)}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "edi", "audit", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120, check=False)

    done = cli("verify")
    assert done.returncode == 0, done.stderr
    assert "intact: 12 sealed records" in done.stdout
    head = done.stdout.split("head ")[1].split(",")[0]
    assert cli("verify", "--expect", head).returncode == 0
    assert cli("verify", "--expect", "garbage").returncode == 2
    AuditLog(engine).record(*events(2, start=12))
    done = cli("seal")
    assert done.returncode == 0 and "sealed 2" in done.stdout
    tamper(engine, "UPDATE audit_entries SET partner_id = 'payer-2' WHERE position = 7")
    done = cli("verify")
    assert done.returncode == 1
    assert "TAMPERED at position 7: altered" in done.stdout
    assert "FAILED" in done.stderr


# -- concurrency ------------------------------------------------------------------------------------

WRITER = """
import sys
from edi.audit import AuditLog, AuditRecord, AuditAction
from edi.store import make_engine
engine = make_engine(sys.argv[1])
log = AuditLog(engine)
for i in range(int(sys.argv[3])):
    log.record(AuditRecord(AuditAction.RECEIVED, actor="writer-" + sys.argv[2], transaction_id=f"T{sys.argv[2]}-{i}"))
engine.dispose()
"""


def test_writers_in_several_processes_while_sealing(engine: Engine, database_url: str) -> None:
    per_writer, writers = 150, 3
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, database_url, str(w), str(per_writer)], env=env)
             for w in range(writers)]
    sealed = 0
    while any(p.poll() is None for p in procs):
        sealed += seal(engine, batch_size=50)
    assert [p.wait(120) for p in procs] == [0] * writers
    sealed += seal_all(engine, batch_size=50)
    assert sealed == per_writer * writers
    report = verify_chain(engine)
    assert report.ok and report.sealed == per_writer * writers and report.unsealed == 0
    with engine.connect() as connection:
        for w in range(writers):  # each writer's entries keep their order along the chain
            ids = connection.execute(
                select(T.c.transaction_id).where(T.c.actor == f"writer-{w}").order_by(T.c.position)).scalars().all()
            assert ids == [f"T{w}-{i}" for i in range(per_writer)]


def test_concurrent_sealers_never_fork_the_chain(engine: Engine) -> None:
    AuditLog(engine).record(*events(400))
    totals: list[int] = []
    threads = [threading.Thread(target=lambda: totals.append(seal_all(engine, batch_size=25))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert sum(totals) == 400
    report = verify_chain(engine)
    assert report.ok and report.sealed == 400


@pytest.fixture
def pg_engine(postgres_url: str) -> Iterator[Engine]:
    """PostgreSQL only: SQLite has one writer at a time, so commits come in id order there."""
    migrate(postgres_url)
    engine = make_engine(postgres_url)
    yield engine
    engine.dispose()


def test_late_commit_with_a_lower_id_is_sealed_after_and_nothing_is_lost(pg_engine: Engine) -> None:
    """PostgreSQL hands out ids at insert and shows rows at commit: id order is not commit order."""
    engine = pg_engine
    slow = engine.connect()
    slow_tx = slow.begin()
    record(slow, AuditRecord(AuditAction.RECEIVED, actor="slow", transaction_id="T-slow"))
    AuditLog(engine).record(AuditRecord(AuditAction.RECEIVED, actor="fast", transaction_id="T-fast"))
    assert seal(engine) == 1  # only what is committed
    slow_tx.commit()
    slow.close()
    assert seal(engine) == 1
    with engine.connect() as connection:
        rows = connection.execute(select(T.c.id, T.c.actor, T.c.position).order_by(T.c.position)).all()
    assert [(r.actor, r.position) for r in rows] == [("fast", 1), ("slow", 2)]
    assert rows[1].id < rows[0].id  # the late one has the lower id, and still comes after
    assert verify_chain(engine).ok


def test_writers_do_not_wait_for_a_sealer(pg_engine: Engine, postgres_url: str) -> None:
    engine, database_url = pg_engine, postgres_url
    AuditLog(engine).record(*events(5))
    holder = make_engine(database_url)
    with holder.connect() as lock_connection:
        lock_connection.execute(select(func.pg_advisory_lock(SEAL_LOCK)))  # a sealer mid-batch
        sealer = threading.Thread(target=seal_all, args=(engine,))
        sealer.start()
        # a writer with a lock timeout: it would fail, not hang, if it had to wait for the sealer
        writer = make_engine(database_url, connect_args={"options": "-c lock_timeout=5000"})
        AuditLog(writer).record(*events(3, start=5))
        writer.dispose()
        assert sealer.is_alive()  # still blocked on the lock, yet the write went through
        lock_connection.execute(select(func.pg_advisory_unlock(SEAL_LOCK)))
        lock_connection.commit()
        sealer.join(60)
    holder.dispose()
    report = verify_chain(engine)
    assert report.ok and report.sealed + report.unsealed == 8 and report.sealed >= 5


# -- the hash format, pinned --------------------------------------------------------------------------

_PINNED = [
    dict(id=1, recorded_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), kind="event", action="received",
         actor="pipeline", outcome="ok", transaction_id="01J0000000000000000000000A", submitter_id="clinic-a",
         partner_id="payer-1", control_number="C1", isa13=1, gs06=2, st02=3),
    dict(id=2, recorded_at=datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=timezone(timedelta(hours=-5))),
         kind="access", action="sent", actor="api", outcome="rejected:x", transaction_id=None,
         submitter_id='caf\u00e9 "q" \\ /', partner_id=None, control_number=None, isa13=None, gs06=None, st02=None),
    dict(id=3, recorded_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), kind="event", action="failed", actor="x",
         outcome="ok", transaction_id="t", submitter_id="\U0001f600\n\t", partner_id="p", control_number="",
         isa13=0, gs06=999999999, st02=-1),
]


def test_the_hash_format_is_pinned() -> None:
    """Hashes computed by format 1 when it was introduced: a change to how entries are encoded
    (key order, escaping, time format, nulls) would leave every chain already sealed unverifiable."""
    assert canonical(_PINNED[0], 1, GENESIS) == (
        b'{"action":"received","actor":"pipeline","control_number":"C1","gs06":2,"id":1,"isa13":1,'
        b'"kind":"event","outcome":"ok","partner_id":"payer-1","position":1,"prev_hash":"' + GENESIS.encode()
        + b'","recorded_at":"2026-01-02T03:04:05.000000+00:00","st02":3,"submitter_id":"clinic-a",'
        b'"transaction_id":"01J0000000000000000000000A","v":1}'
    )
    hashes, previous = [], GENESIS
    for position, entry in enumerate(_PINNED, 1):
        previous = entry_hash(entry, position, previous)
        hashes.append(previous)
    assert hashes == [
        "2b92f785b4ea43cff6f43e83f3ea3489ebc23ffa0e9b3750c6aa0477cc55d0a6",
        "647b64860a313a58340c7256e0ad221f6c39c52e94e2dc00c128fcec5038b687",
        "3f7763483c67b2fd78670a4290d3d2830a199e19d992b7a83546963f21fbbdfe",
    ]
    with pytest.raises(ValueError, match="timezone-aware"):
        entry_hash({**_PINNED[0], "recorded_at": datetime(2026, 1, 2)}, 1, GENESIS)  # noqa: DTZ001 - the point
