"""Operators' reads of PHI and replays from the command line go on the audit trail, like the API's.

The commands run as a person runs them (``python -m edi ...`` in a subprocess, on a real store with
encrypted payloads); the trail is then read back from the database and its chain verified with
``edi audit verify``.
"""

from __future__ import annotations

import getpass
import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from connectors.pipeline.runtime import open_pipeline
from edi.audit.models import AuditEntry
from edi.pipeline.intake import accept
from edi.pipeline.notices import EventType, notice
from edi.settings import Settings
from edi.store import make_engine

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "connectors" / "payer_sim" / "sample"
CLAIM = json.loads((SAMPLE / "claim.json").read_text())


def environment(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "EDI_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(ROOT)}
    for name in ("EDI_MASTER_KEYS", "EDI_MASTER_KEYS_FILE", "EDI_DATABASE_URL", "EDI_PAYLOAD_URL", "EDI_PARTNERS_FILE",
                 "EDI_LOOKUP_KEY", "EDI_LOOKUP_KEY_FILE"):
        env.pop(name, None)
    Settings.from_env(env).keyring(create=True)  # the data dir's ring, read by this process and the CLI's
    return env


def edi(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "edi", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def seeded_claim(env: dict[str, str]) -> str:
    """A claim with one stored response, as the pipeline leaves them."""
    pipeline = open_pipeline(Settings.from_env(env))
    try:
        record, _ = accept(pipeline, submitter_id="acme", request_kind="professional", data=CLAIM, route=False)
        note = notice(pipeline, record, EventType.FUNCTIONAL_ACK, document_type="999", final=False, status="accepted")
        pipeline.repository.attach_payload(record.id, note.attachment)
        return record.id
    finally:
        pipeline.repository.engine.dispose()


def trail(env: dict[str, str]) -> list[AuditEntry]:
    engine = make_engine(Settings.from_env(env).database_url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(select(AuditEntry).order_by(AuditEntry.id)))
    finally:
        engine.dispose()


def test_edi_show_prints_the_decrypted_transaction_and_audits_the_read(tmp_path: Path) -> None:
    env = environment(tmp_path)
    tid = seeded_claim(env)
    before = len(trail(env))

    shown = edi(env, "show", tid)
    assert shown.returncode == 0, shown.stderr
    view = json.loads(shown.stdout)
    assert view["id"] == tid and view["state"] == "validated"
    assert [h["state"] for h in view["history"]] == ["received", "validated"]
    assert view["request"] == CLAIM  # decrypted from the payload store
    assert [r["type"] for r in view["responses"]] == ["functional.acknowledgment"]

    named = edi(env, "show", tid, "--actor", "officer-7")
    assert named.returncode == 0, named.stderr
    missing = edi(env, "show", "01NOSUCHTRANSACTION0000000")
    assert missing.returncode == 1 and "no transaction" in missing.stderr and not missing.stdout

    reads = [(e.kind, e.action, e.actor, e.outcome, e.transaction_id, e.submitter_id) for e in trail(env)[before:]]
    assert reads == [
        ("access", "read", f"cli:{getpass.getuser()}", "ok", tid, "acme"),
        ("access", "read", "officer-7", "ok", tid, "acme"),
        ("access", "read", f"cli:{getpass.getuser()}", "not-found", "01NOSUCHTRANSACTION0000000", None),
    ]
    bad_actor = edi(env, "show", tid, "--actor", "two words")
    assert bad_actor.returncode == 2 and "--actor" in bad_actor.stderr
    assert len(trail(env)) == before + 3  # refused before anything was read

    sealed = edi(env, "audit", "seal")
    assert sealed.returncode == 0, sealed.stderr
    verified = edi(env, "audit", "verify")
    assert verified.returncode == 0 and "intact" in verified.stdout, verified.stdout + verified.stderr
    # PHI stays off the trail: the member's name is in the request, never in an entry
    member = CLAIM["subscriber"]["lastName"]
    assert all(member not in json.dumps([str(v) for v in e]) for e in trail(env))


def test_edi_replay_records_who_replayed_what(tmp_path: Path) -> None:
    env = environment(tmp_path)
    tid = seeded_claim(env)
    before = len(trail(env))

    replayed = edi(env, "replay", tid, "01NOSUCHTRANSACTION0000000", "--actor", "ops@example")
    assert replayed.returncode == 1, replayed.stdout + replayed.stderr  # one of them was not found
    assert replayed.stdout.splitlines() == [f"{tid} waiting", "01NOSUCHTRANSACTION0000000 not-found"]
    entries = [(e.kind, e.action, e.actor, e.outcome, e.transaction_id, e.submitter_id) for e in trail(env)[before:]]
    assert entries == [
        ("event", "replayed", "ops@example", "waiting", tid, "acme"),
        ("event", "replayed", "ops@example", "not-found", "01NOSUCHTRANSACTION0000000", None),
    ]
    assert edi(env, "audit", "seal").returncode == 0
    verified = edi(env, "audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
