"""Rotating the lookup key of the CLM01 digests, on SQLite and on a real PostgreSQL server.

What must hold: the lookup key of before rotation (one base64 key, inline, in a file or in the
data dir's ``lookup.key``) still works and is the ring's key ``l1``; while claims are digested
under two keys, a 277CA or 835 for a claim of either key matches it; the rotation recomputes
every digest from the claim's encrypted request, resumably; the old key can be retired only
once no digest needs it, and everything still matches afterwards; no CLM01 is in the database;
the commands print counts and key ids, never key material.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from connectors.pipeline.runtime import open_pipeline
from edi.keys import KeyRing, KeyRingError, generate_key
from edi.lookup import LookupKey, LookupKeyError
from edi.partners import PartnersConfig
from edi.payloads import LocalPayloadStore
from edi.pipeline import Pipeline
from edi.pipeline.batching import _pick
from edi.pipeline.lookup_rotation import rotate_lookup_digests
from edi.pipeline.matching import process_inbound
from edi.settings import Settings
from edi.store import (
    Correlation,
    NewTransaction,
    PayloadAttachment,
    Repository,
    SequenceAllocator,
    State,
    make_engine,
    migrate,
)
from edi.store.models import PayloadKind
from edi.store.states import Kind

pytest_plugins = ("tests.servers.postgres",)

ROOT = Path(__file__).resolve().parents[1]
X12 = ROOT / "tests" / "fixtures" / "x12"
ANSWER_277CA = (X12 / "277_005010X214" / "accepted.277ca").read_bytes()  # TRN*2*5781, REF*1K
ANSWER_835 = (X12 / "835_005010X221A1" / "medicare-part-a.835").read_bytes()  # CLP*666123, CLP*777777
PARTNER = "payer-1"
L1 = base64.b64decode(generate_key())
L2 = base64.b64decode(generate_key())
MASTER = KeyRing({"k1": base64.b64decode(generate_key())}, "k1")


def hmac_clm01(key: bytes, value: str) -> str:
    return hmac.new(key, f"clm01\x00{value}".encode(), hashlib.sha256).hexdigest()


# -- the formats -------------------------------------------------------------------------------


def test_a_single_lookup_key_of_before_rotation_is_the_ring_of_l1(tmp_path: Path) -> None:
    single = base64.b64encode(L1).decode()
    (tmp_path / "one.key").write_text(single + "\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "lookup.key").write_text(single + "\n")
    for lookup in (LookupKey.load(tmp_path / "unused", {"EDI_LOOKUP_KEY": single}),
                   LookupKey.load(tmp_path / "unused", {"EDI_LOOKUP_KEY_FILE": str(tmp_path / "one.key")}),
                   LookupKey.load(tmp_path / "data", {}), LookupKey(L1)):
        assert dict(lookup.ring.keys) == {"l1": L1} and lookup.current == "l1"
        assert lookup.clm01("MRN-1") == hmac_clm01(L1, "MRN-1")  # the digests stored so far stay valid
        assert lookup.digest("file", "x") == hmac.new(L1, b"file\x00x", hashlib.sha256).hexdigest()
    assert not (tmp_path / "unused").exists()
    made = LookupKey.load(tmp_path / "fresh", {})  # made on first use, one base64 key as before
    assert base64.b64decode((tmp_path / "fresh" / "lookup.key").read_text()) == made.ring.keys["l1"]
    assert (tmp_path / "fresh" / "lookup.key").stat().st_mode & 0o777 == 0o600


def test_a_ring_digests_under_its_current_key_and_looks_up_under_all(tmp_path: Path) -> None:
    ring = KeyRing({"l1": L1, "l2": L2}, "l2")
    (tmp_path / "ring.json").write_text(ring.to_json())
    for lookup in (LookupKey.load(tmp_path, {"EDI_LOOKUP_KEY": ring.to_json()}),
                   LookupKey.load(tmp_path, {"EDI_LOOKUP_KEY_FILE": str(tmp_path / "ring.json")}), LookupKey(ring)):
        assert lookup.current == "l2" and lookup.clm01("MRN-1") == hmac_clm01(L2, "MRN-1")
        assert lookup.clm01_all("MRN-1") == [hmac_clm01(L2, "MRN-1"), hmac_clm01(L1, "MRN-1")]
    assert not (tmp_path / "lookup.key").exists()


@pytest.mark.parametrize(("environ", "expected"), [
    ({"EDI_LOOKUP_KEY": "not base64!"}, "EDI_LOOKUP_KEY: lookup key 'l1' is not valid base64"),
    ({"EDI_LOOKUP_KEY": base64.b64encode(b"short").decode()}, "must decode to 32 bytes, not 5"),
    ({"EDI_LOOKUP_KEY": '{"keys": {"l1": "bad"}, "current": "l1"}'}, "lookup key 'l1' is not valid base64"),
    ({"EDI_LOOKUP_KEY": '{"keys": {}, "current": "l1"}'}, "holds no keys"),
    ({"EDI_LOOKUP_KEY": "{not json"}, "EDI_LOOKUP_KEY is not valid JSON"),
    ({"EDI_LOOKUP_KEY": "x", "EDI_LOOKUP_KEY_FILE": "y"}, "set only one of"),
    ({"EDI_LOOKUP_KEY_FILE": "/nonexistent/lookup.key"}, "cannot read the lookup key file"),
])
def test_bad_lookup_keys_get_clear_errors(tmp_path: Path, environ: dict[str, str], expected: str) -> None:
    with pytest.raises(LookupKeyError) as caught:
        LookupKey.load(tmp_path, environ)
    assert expected in str(caught.value)
    assert isinstance(caught.value, KeyRingError) and "bad" not in str(caught.value).replace("'l1'", "")


# -- matching 277CA and 835 answers during and after a rotation ------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    url = (f"sqlite:///{tmp_path / 'edi.db'}" if request.param == "sqlite"
           else request.getfixturevalue("postgres_url"))
    migrate(url)
    return url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def pipeline_with(engine: Engine, payloads: LocalPayloadStore, lookup: LookupKey) -> Pipeline:
    """One process of the deployment, holding this lookup key ring."""
    return Pipeline(Repository(engine, lookup_key=lookup), payloads, PartnersConfig(), SequenceAllocator(engine))


def sent_claim(pipeline: Pipeline, pcn: str, isa13: int) -> str:
    """A claim received with its CLM01 in its (encrypted) request, sent to the partner."""
    request = {"controlNumber": f"{isa13:09d}", "claimInformation": {"patientControlNumber": pcn}}
    stored = pipeline.put_json(request)
    repository = pipeline.repository
    tid = repository.create(
        NewTransaction("clinic-a", Kind.CLAIM, PARTNER, document_type="837P",
                       correlation=Correlation(patient_control_number=pcn, isa13=isa13, gs06=isa13, st02=1)),
        attach=[PayloadAttachment(PayloadKind.REQUEST_JSON, stored, "837P")],
    ).transaction.id
    for state in (State.VALIDATED, State.QUEUED, State.SENT):
        repository.transition(tid, state)
    return tid


def answer(pipeline: Pipeline, name: str, raw: bytes, document_type: str) -> str:
    inbound_id, _ = pipeline.repository.record_inbound(PARTNER, name, pipeline.payloads.put(raw),
                                                       document_type=document_type)
    return process_inbound(pipeline, inbound_id)


def state_of(pipeline: Pipeline, tid: str) -> tuple[State, str | None]:
    from edi.store import ALL_SUBMITTERS

    record = pipeline.repository.require(tid, submitter_id=ALL_SUBMITTERS)
    return record.state, record.correlation.patient_control_number_key_id


def test_answers_match_old_claims_during_and_after_the_rotation(engine: Engine, database_url: str,
                                                                tmp_path: Path) -> None:
    payloads = LocalPayloadStore(tmp_path / "payloads", MASTER, durable=False)
    before = pipeline_with(engine, payloads, LookupKey(L1))  # the single key of before rotation
    paid_early = sent_claim(before, "666123", 1)  # first in id order: recomputed in the first batch
    fillers = [sent_claim(before, f"MRN-LOOKUP-{n:04d}", 10 + n) for n in range(12)]
    acknowledged = sent_claim(before, "5781", 2)  # last: still on l1 while the rotation is stopped
    paid_late = sent_claim(before, "777777", 3)
    assert before.repository.lookup_key_usage() == {"l1": 15}

    # every process got the ring with l2 current; claims received now are digested under l2
    rotating = pipeline_with(engine, payloads, LookupKey(KeyRing({"l1": L1, "l2": L2}, "l2")))
    newer = [sent_claim(rotating, f"MRN-LOOKUP-{n:04d}", 100 + n) for n in range(3)]
    assert rotating.repository.lookup_key_usage() == {"l1": 15, "l2": 3}
    batches: list[int] = []
    stopped = rotate_lookup_digests(rotating.repository, payloads, batch_size=5,
                                    progress=lambda report: batches.append(report.done),
                                    should_stop=lambda: len(batches) >= 2)
    assert (stopped.key_id, stopped.remaining_at_start, stopped.redigested, stopped.failed) == ("l2", 15, 10, [])
    assert rotating.repository.lookup_key_usage() == {"l1": 5, "l2": 13}
    assert state_of(rotating, paid_early)[1] == "l2" and state_of(rotating, acknowledged)[1] == "l1"

    # during: a 277CA for a claim still on l1 matches it, and so does the lookup of either key's claims
    assert answer(rotating, "during.277", ANSWER_277CA, "277CA") == "matched"
    assert state_of(rotating, acknowledged) == (State.RESPONDED, "l1")
    for tid, pcn in ((paid_late, "777777"), (paid_early, "666123")):
        assert [r.id for r in rotating.repository.find_for_claim_response(PARTNER, patient_control_number=pcn)] == [tid]
    assert {r.id for r in rotating.repository.claims_answered_by(PARTNER, ["777777", "666123"], [])} == {
        paid_early, paid_late}
    assert rotating.repository.find_for_claim_response(PARTNER, patient_control_number="MRN-LOOKUP-0001") == [
        rotating.repository.require(newer[1], submitter_id="clinic-a"),
        rotating.repository.require(fillers[1], submitter_id="clinic-a"),
    ]  # one CLM01 reused across the rotation: newest first, whichever key digested each
    # a process with only the old key no longer finds the claims digested under l2: rotation
    # needs the new ring everywhere first (and the old key stays in it meanwhile)
    assert before.repository.find_for_claim_response(PARTNER, patient_control_number="666123") == []

    resumed = rotate_lookup_digests(rotating.repository, payloads, batch_size=5)
    assert (resumed.remaining_at_start, resumed.redigested, resumed.failed) == (5, 5, [])
    assert rotating.repository.lookup_key_usage() == {"l2": 18}
    assert rotate_lookup_digests(rotating.repository, payloads).done == 0  # nothing left

    # after, with l1 retired: the 835 finds its two old claims by CLM01 (no payer number known yet)
    after = pipeline_with(engine, payloads, LookupKey(KeyRing({"l2": L2}, "l2")))
    assert answer(after, "after.835", ANSWER_835, "835") == "matched"
    assert state_of(after, paid_early) == (State.RESPONDED, "l2")
    assert state_of(after, paid_late) == (State.RESPONDED, "l2")
    assert [r.id for r in after.repository.find_for_claim_response(PARTNER, patient_control_number="5781")] == [
        acknowledged]

    with engine.connect() as connection:  # no CLM01 in any column of any transaction
        rows = connection.execute(text("SELECT * FROM transactions")).all()
    assert len(rows) == 18 and not any("MRN-LOOKUP" in str(value) for row in rows for value in row)
    if database_url.startswith("sqlite"):
        files = list(tmp_path.glob("edi.db*"))
        assert files and not any(b"MRN-LOOKUP" in f.read_bytes() for f in files)


def test_a_claim_whose_request_was_purged_has_its_digest_forgotten(engine: Engine, tmp_path: Path) -> None:
    payloads = LocalPayloadStore(tmp_path / "payloads", MASTER, durable=False)
    before = pipeline_with(engine, payloads, LookupKey(L1))
    finished, waiting, kept = (sent_claim(before, f"MRN-LOOKUP-{n}", n) for n in (1, 2, 3))
    before.repository.transition(finished, State.FAILED)
    with engine.begin() as connection:  # what edi purge leaves of a finished claim; the other one lost it
        connection.execute(text("DELETE FROM payloads WHERE transaction_id IN (:a, :b)"),
                           {"a": finished, "b": waiting})
    rotating = pipeline_with(engine, payloads, LookupKey(KeyRing({"l1": L1, "l2": L2}, "l2")))
    report = rotate_lookup_digests(rotating.repository, payloads)
    assert (report.redigested, report.forgotten, report.failed) == (1, 1, [f"{waiting}: its request holds no CLM01 "
                                                                          "to recompute the digest from"])
    assert rotating.repository.lookup_key_usage() == {"l1": 1, "l2": 1}  # l1 cannot go yet: a claim needs it
    assert state_of(rotating, finished)[1] is None and state_of(rotating, kept)[1] == "l2"


def test_a_batch_holds_one_claim_per_clm01_across_keys(engine: Engine, tmp_path: Path) -> None:
    """Two claims with the same CLM01, digested under different keys, are not put in one batch
    file (a 277CA could not tell them apart): the older key's claim is compared by its request."""
    payloads = LocalPayloadStore(tmp_path / "payloads", MASTER, durable=False)
    before = pipeline_with(engine, payloads, LookupKey(L1))
    rotating = pipeline_with(engine, payloads, LookupKey(KeyRing({"l1": L1, "l2": L2}, "l2")))
    ids = [sent_claim(before, "MRN-LOOKUP-A", 1), sent_claim(rotating, "MRN-LOOKUP-A", 2),
           sent_claim(rotating, "MRN-LOOKUP-B", 3)]
    records = [rotating.repository.require(tid, submitter_id="clinic-a") for tid in ids]
    assert records[0].correlation.patient_control_number_hmac != records[1].correlation.patient_control_number_hmac
    assert [r.id for r in _pick(rotating, records, 10)] == [ids[0], ids[2]]


# -- the commands ------------------------------------------------------------------------------------


def edi(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "edi", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def status(env: dict[str, str]) -> dict[str, str]:
    done = edi(env, "lookup-keys", "status")
    assert done.returncode == 0, done.stderr
    return {line.split("\t")[0]: "\t".join(line.split("\t")[1:]) for line in done.stdout.splitlines()}


def test_lookup_key_commands_rotate_a_deployment(database_url: str, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    MASTER.save(tmp_path / "master.keys")
    for name in ("EDI_LOOKUP_KEY", "EDI_LOOKUP_KEY_FILE", "EDI_MASTER_KEYS"):
        monkeypatch.delenv(name, raising=False)
    settings = {"EDI_DATA_DIR": str(data), "EDI_DATABASE_URL": database_url,
                "EDI_MASTER_KEYS_FILE": str(tmp_path / "master.keys")}
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    pipeline = open_pipeline(Settings.from_env(), partners=PartnersConfig())
    try:
        ids = [sent_claim(pipeline, f"MRN-LOOKUP-{n:04d}", n + 1) for n in range(40)]
    finally:
        pipeline.repository.engine.dispose()
    key_file = data / "lookup.key"
    legacy = base64.b64decode(key_file.read_text())  # made by the first start: one key, as before
    assert status(env) == {"l1": "40\tcurrent"}

    added = edi(env, "lookup-keys", "new")
    assert added.returncode == 0 and added.stdout.strip() == "added lookup key l2; current key: l1"
    ring = KeyRing.from_json(key_file.read_text())
    assert ring.current == "l1" and ring.keys["l1"] == legacy and set(ring.keys) == {"l1", "l2"}
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert base64.b64encode(ring.keys["l2"]).decode() not in added.stdout + added.stderr
    refused = edi(env, "lookup-keys", "retire", "l1")
    assert refused.returncode == 2 and "cannot retire the current lookup key 'l1'" in refused.stderr

    # rotate in the foreground, killed after a few batches; the rest in the background
    child = subprocess.Popen(
        [sys.executable, "-m", "edi", "lookup-keys", "rotate", "--make-current", "l2", "--wait",
         "--batch-size", "4", "--pause", "0.2"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    assert child.stderr is not None
    lines = [child.stderr.readline() for _ in range(3)]
    child.send_signal(signal.SIGKILL)
    child.communicate(timeout=30)
    assert all(line.startswith("redigested ") and line.rstrip().endswith("of 40 (key l2)") for line in lines), lines
    midway = status(env)
    assert midway["l2"].endswith("current") and midway["l1"] != "0"
    assert int(midway["l1"]) + int(midway["l2"].split("\t")[0]) == 40
    refused = edi(env, "lookup-keys", "retire", "l1")
    assert refused.returncode == 2
    assert f"{midway['l1']} stored CLM01 digests were made with 'l1'" in refused.stderr

    engine = make_engine(database_url)  # meanwhile a process with the rotating ring matches every claim
    try:
        rotating = Repository(engine, lookup_key=LookupKey.load(data, {}))
        assert [r.id for r in rotating.claims_answered_by(PARTNER, ["MRN-LOOKUP-0000", "MRN-LOOKUP-0039"], [])
                ] in ([ids[0], ids[39]], [ids[39], ids[0]])
    finally:
        engine.dispose()

    background = edi(env, "lookup-keys", "rotate")
    assert background.returncode == 0 and "running in the background" in background.stdout
    deadline = time.monotonic() + 90
    while status(env) != {"l1": "0", "l2": "40\tcurrent"}:
        assert time.monotonic() < deadline, (data / "lookup-keys-rotate.log").read_text()
        time.sleep(0.3)
    assert "lookup key rotation done under l2: " in (data / "lookup-keys-rotate.log").read_text()

    retired = edi(env, "lookup-keys", "retire", "l1")
    assert retired.returncode == 0, retired.stderr
    assert retired.stdout.strip() == "retired lookup key l1; the ring holds l2"
    assert set(json.loads(key_file.read_text())["keys"]) == {"l2"}
    for done in (added, retired, background):
        assert base64.b64encode(legacy).decode() not in done.stdout + done.stderr
        assert "MRN-LOOKUP" not in done.stdout + done.stderr
    assert "MRN-LOOKUP" not in (data / "lookup-keys-rotate.log").read_text()

    engine = make_engine(database_url)
    try:
        after = Repository(engine, lookup_key=LookupKey.load(data, {}))
        assert after.lookup_key.ring.keys.keys() == {"l2"}
        for n in (0, 17, 39):
            assert [r.id for r in after.find_for_claim_response(
                PARTNER, patient_control_number=f"MRN-LOOKUP-{n:04d}")] == [ids[n]]
    finally:
        engine.dispose()
