"""Retention (``edi purge``) on SQLite and PostgreSQL, with a fake clock.

What must hold: only terminal transactions past payload retention lose their payloads (rows
and objects), an object shared with a younger transaction stays, transactions and their events
stay; audit entries past retention go from the front of the chain and ``verify`` still passes
from the first retained entry on, sealing goes on after it, and nothing but the purge's own
path can delete an entry -- not even with the gate open above the anchor.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text

from edi.audit import AuditAction, AuditLog, AuditRecord, seal_all, verify_chain
from edi.audit.models import AuditAnchor, AuditEntry
from edi.keys import KeyRing, generate_key
from edi.payloads import LocalPayloadStore, PayloadNotFoundError
from edi.store import NewTransaction, PayloadAttachment, Repository, State, make_engine, migrate
from edi.store.models import Payload, PayloadKind, Transaction, TransactionEvent
from edi.store.retention import RetentionPolicy, purge
from edi.store.states import Kind

pytest_plugins = ("tests.servers.postgres",)

ROOT = Path(__file__).resolve().parents[1]
T0 = datetime(2019, 3, 1, 12, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=8 * 365)
POLICY = RetentionPolicy(payload_days=2557, audit_days=2192)


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'edi.db'}" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    migrate(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def store(tmp_path: Path) -> LocalPayloadStore:
    return LocalPayloadStore(tmp_path / "payloads", KeyRing({"k1": base64.b64decode(generate_key())}, "k1"),
                             durable=False)


def entries(count: int, start: int) -> list[AuditRecord]:
    return [AuditRecord(AuditAction.SENT, "stage-transmit", transaction_id=f"01J{i:023d}", isa13=i)
            for i in range(start, start + count)]


def payload_uris(engine: Engine, transaction_id: str) -> list[str]:
    with engine.connect() as connection:
        return list(connection.execute(select(Payload.uri).where(Payload.transaction_id == transaction_id)).scalars())


def test_purge_payloads_and_audit(engine: Engine, store: LocalPayloadStore) -> None:
    clock = Clock(T0)
    repository, audit = Repository(engine, clock=clock), AuditLog(engine, clock=clock)

    def transaction(state: State | None) -> str:
        stored = store.put(b'{"member": "DOE*JANE"}')
        tid = repository.create(NewTransaction("clinic-a", Kind.ELIGIBILITY),
                                attach=[PayloadAttachment(PayloadKind.REQUEST_JSON, stored)]).transaction.id
        if state is not None:
            repository.transition(tid, state, detail_code="invalid")
        return tid

    old_done, old_in_flight, old_shared = transaction(State.REJECTED), transaction(None), transaction(State.REJECTED)
    audit.record(*entries(5, 0))
    seal_all(engine)
    clock.at = T0 + timedelta(days=3 * 365)  # young enough for both clocks at NOW
    young = transaction(State.REJECTED)
    batch = store.put(b"ISA*...batch file shared by two claims")
    repository.attach_payload([old_shared, young], PayloadAttachment(PayloadKind.OUTBOUND_X12, batch, "837P"))
    audit.record(*entries(4, 5))
    seal_all(engine)
    old_uris = payload_uris(engine, old_done)
    shared_own = [u for u in payload_uris(engine, old_shared) if u != batch.uri]

    dry = purge(engine, store, POLICY, now=NOW, dry_run=True)
    # old entries: 5 written here and 5 the store wrote itself (3 received, 2 rejected; edi.audit.events)
    assert (dry.transactions, dry.payload_rows, dry.audit_entries) == (2, 3, 10)
    assert payload_uris(engine, old_done) == old_uris and verify_chain(engine).sealed == 16

    report = purge(engine, store, POLICY, now=NOW)
    assert (report.transactions, report.payload_rows, report.audit_entries) == (2, 3, 10)
    assert report.objects == 2  # the batch file stays: the young claim still refers to it
    assert payload_uris(engine, old_done) == [] and payload_uris(engine, old_shared) == []
    for uri in old_uris + shared_own:
        with pytest.raises(PayloadNotFoundError):
            store.get(uri)
    assert store.get(batch.uri) == b"ISA*...batch file shared by two claims"
    assert len(payload_uris(engine, old_in_flight)) == 1  # not terminal: kept however old
    assert len(payload_uris(engine, young)) == 2
    with engine.connect() as connection:  # metadata and history stay for reports
        assert connection.execute(select(func.count()).select_from(Transaction)).scalar_one() == 4
        events = connection.execute(
            select(TransactionEvent.to_state).where(TransactionEvent.transaction_id == old_done)
        ).scalars().all()
        assert events == ["received", "rejected"]
        anchor = connection.execute(select(AuditAnchor.position, AuditAnchor.hash)).one()
        first = connection.execute(select(func.min(AuditEntry.position))).scalar_one()
    assert report.anchor == (10, anchor.hash) and first == 11

    chain = verify_chain(engine)
    assert chain.ok and chain.sealed == 6 and chain.head_position == 16
    audit.record(*entries(2, 20))
    assert seal_all(engine) == 2
    assert verify_chain(engine).ok and verify_chain(engine).head_position == 18

    again = purge(engine, store, POLICY, now=NOW)
    assert (again.transactions, again.payload_rows, again.objects, again.audit_entries) == (0, 0, 0, 0)


def test_the_head_stays_and_only_the_purge_may_delete(engine: Engine, store: LocalPayloadStore) -> None:
    AuditLog(engine, clock=Clock(T0)).record(*entries(6, 0))
    seal_all(engine)
    report = purge(engine, store, POLICY, now=NOW)
    assert report.audit_entries == 5 and report.anchor is not None and report.anchor[0] == 5
    assert verify_chain(engine).ok and verify_chain(engine).sealed == 1  # the head, for the sealer to follow

    AuditLog(engine, clock=Clock(T0)).record(*entries(3, 10))
    seal_all(engine)
    refused = [
        "DELETE FROM audit_entries WHERE position = 7",  # no gate
        "INSERT INTO audit_purge_gate (opened) VALUES (1); DELETE FROM audit_entries WHERE position = 7",  # past anchor
        "UPDATE audit_anchors SET position = 8",
        "DELETE FROM audit_anchors",
    ]
    for statements in refused:
        with pytest.raises(Exception, match="audit"), engine.begin() as connection:
            for statement in statements.split("; "):
                connection.execute(text(statement))
    assert verify_chain(engine).ok and verify_chain(engine).sealed == 4


def test_removing_the_first_retained_entry_is_detected(engine: Engine, store: LocalPayloadStore) -> None:
    AuditLog(engine, clock=Clock(T0)).record(*entries(4, 0))
    AuditLog(engine, clock=Clock(NOW)).record(*entries(3, 4))
    seal_all(engine)
    assert purge(engine, store, POLICY, now=NOW).audit_entries == 4
    with engine.begin() as connection:  # someone with the rights to drop the guard
        if connection.dialect.name == "postgresql":
            connection.execute(text("DROP TRIGGER audit_entries_append_only ON audit_entries"))
        else:
            connection.execute(text("DROP TRIGGER audit_entries_no_delete"))
        connection.execute(text("DELETE FROM audit_entries WHERE position = 5"))
    problem = verify_chain(engine).first
    assert problem is not None and (problem.position, problem.kind) == (5, "removed")


def test_retention_settings() -> None:
    assert RetentionPolicy.from_env({}) == RetentionPolicy(2557, 2192)
    assert RetentionPolicy.from_env({"EDI_RETENTION_PAYLOAD_DAYS": "30"}).payload_days == 30
    with pytest.raises(ValueError, match="EDI_RETENTION_AUDIT_DAYS must be a whole number"):
        RetentionPolicy.from_env({"EDI_RETENTION_AUDIT_DAYS": "six years"})


def test_purge_command(tmp_path: Path) -> None:
    env = {**os.environ, "EDI_DATA_DIR": str(tmp_path), "PYTHONPATH": str(ROOT), "EDI_RETENTION_AUDIT_DAYS": "1"}
    env.pop("EDI_DATABASE_URL", None)
    env.pop("EDI_PAYLOAD_URL", None)
    env.pop("EDI_MASTER_KEYS", None)
    env["EDI_MASTER_KEYS_FILE"] = str(tmp_path / "ring.json")
    KeyRing({"k1": base64.b64decode(generate_key())}, "k1").save(tmp_path / "ring.json")
    url = f"sqlite:///{tmp_path / 'edi.db'}"
    migrate(url)
    engine = make_engine(url)
    try:
        AuditLog(engine, clock=Clock(T0)).record(*entries(3, 0))
        seal_all(engine)
    finally:
        engine.dispose()

    def edi(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "edi", *args], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=120, check=False)

    dry = edi("purge", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would remove the payloads of 0 transactions" in dry.stdout and "would remove 2 entries" in dry.stdout
    done = edi("purge")
    assert done.returncode == 0, done.stderr
    assert "removed 2 entries; the chain now starts after 2:" in done.stdout
    verified = edi("audit", "verify")
    assert verified.returncode == 0 and "1 sealed records" in verified.stdout
