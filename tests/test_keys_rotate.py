"""Key rotation while the pipeline keeps reading and writing payloads, on disk and on S3 (moto).

What must hold: no reader ever meets a missing, half-written or unopenable object during the
rotation; afterwards every object is on the new key, the rows say so, the old key can leave the
ring and everything still opens; a rotation killed midway finishes when started again; the
commands print counts and key ids, never key material or content.
"""

from __future__ import annotations

import base64
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, delete, select

from connectors.s3_payloads import S3PayloadStore
from edi.keys import KeyRing, generate_key
from edi.payloads import EncryptedPayloadStore, LocalPayloadStore
from edi.store import NewTransaction, PayloadAttachment, Repository, make_engine, migrate
from edi.store.models import InboundDocument, Payload, PayloadKind
from edi.store.rotation import key_usage, rotate_payloads
from edi.store.states import Kind

pytest_plugins = ("tests.servers.moto",)

ROOT = Path(__file__).resolve().parents[1]
K1 = base64.b64decode(generate_key())
K2 = base64.b64decode(generate_key())


def secret(i: int) -> bytes:
    return f'{{"member": "DOE*JANE*{i:05d}", "dob": "19800101", "n": {i}}}'.encode() * (1 + i % 7)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'edi.db'}"
    migrate(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> EncryptedPayloadStore:
    ring = KeyRing({"k1": K1}, "k1")
    if request.param == "local":
        return LocalPayloadStore(tmp_path / "payloads", ring, durable=False)
    client = request.getfixturevalue("s3_client")
    return S3PayloadStore(request.getfixturevalue("s3_bucket"), "payloads", ring, client=client)


def add_payloads(repository: Repository, store: Any, start: int, count: int) -> dict[str, bytes]:
    written = {}
    for i in range(start, start + count):
        stored = store.put(secret(i))
        repository.create(NewTransaction("clinic-a", Kind.ELIGIBILITY),
                          attach=[PayloadAttachment(PayloadKind.REQUEST_JSON, stored, "270")])
        written[stored.uri] = secret(i)
    return written


def rows(engine: Engine) -> list[tuple[str, str, str]]:
    with engine.connect() as connection:
        return [tuple(r) for r in connection.execute(select(Payload.uri, Payload.key_id, Payload.sha256))]


def test_rotation_under_concurrent_reads_and_writes(engine: Engine, store: EncryptedPayloadStore) -> None:
    repository = Repository(engine)
    expected = add_payloads(repository, store, 0, 60)
    assert key_usage(engine) == {"k1": 60}

    store.keyring = store.keyring.with_key("k2", K2)  # every process got the new ring: k2 current
    stop, errors, counts = threading.Event(), [], {"reads": 0, "writes": 0}
    lock = threading.Lock()

    def pipeline() -> None:
        n = 1000
        while not stop.is_set():
            try:
                with lock:
                    uri, data = random.choice(list(expected.items()))
                assert store.get(uri, sha256=None) == data
                counts["reads"] += 1
                if counts["reads"] % 3 == 0:
                    written = add_payloads(repository, store, n, 1)
                    n += 1
                    with lock:
                        expected.update(written)
                    counts["writes"] += 1
            except Exception as error:  # noqa: BLE001 -- any failure is what this test looks for
                errors.append(repr(error))
                return

    thread = threading.Thread(target=pipeline)
    thread.start()
    try:
        while counts["reads"] < 5 and thread.is_alive():
            time.sleep(0.01)
        progress = []
        report = rotate_payloads(engine, store, batch_size=7, progress=lambda r: progress.append(r.done))
        while counts["reads"] < report.rotated + 20 and thread.is_alive():
            time.sleep(0.01)  # keep reading the rotated objects for a while
    finally:
        stop.set()
        thread.join(30)
    assert errors == []
    assert counts["writes"] > 0
    assert report.rotated == 60 and not report.failed and report.missing == 0
    assert len(progress) >= 60 // 7 and progress == sorted(progress)

    store.keyring = store.keyring.without_key("k1")  # retire the old key
    assert key_usage(engine) == {"k2": len(expected)}
    for uri, key_id, sha256 in rows(engine):
        assert key_id == "k2" and store.key_id_of(uri) == "k2"
        assert store.get(uri, sha256=sha256) == expected[uri]


def test_unopenable_objects_are_reported_and_skipped(engine: Engine, tmp_path: Path) -> None:
    store = LocalPayloadStore(tmp_path / "p", KeyRing({"k0": K2}, "k0"), durable=False)
    repository = Repository(engine)
    orphan_key = add_payloads(repository, store, 0, 2)  # under a key the ring will not hold
    store.keyring = KeyRing({"k1": K1}, "k1")
    add_payloads(repository, store, 10, 3)
    store.keyring = store.keyring.with_key("k2", K2)
    report = rotate_payloads(engine, store, batch_size=2)
    assert report.rotated == 3 and len(report.failed) == 2
    assert all("UnknownKeyError" in f and "k0" in f for f in report.failed)
    assert key_usage(engine) == {"k0": 2, "k2": 3}
    assert all(store.key_id_of(uri) == "k0" for uri in orphan_key)


# -- the commands, and a rotation killed midway --------------------------------------------------


def edi(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "edi", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def test_killed_rotation_resumes_and_commands(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {**os.environ, "EDI_DATA_DIR": str(data), "PYTHONPATH": str(ROOT)}
    env.pop("EDI_MASTER_KEYS", None)
    ring_file = tmp_path / "ring.json"
    KeyRing({"k1": K1}, "k1").save(ring_file)
    env["EDI_MASTER_KEYS_FILE"] = str(ring_file)
    url = f"sqlite:///{data / 'edi.db'}"
    data.mkdir()
    migrate(url)
    engine = make_engine(url)
    try:
        store = LocalPayloadStore(data / "payloads", KeyRing.from_file(ring_file), durable=False)
        expected = add_payloads(Repository(engine), store, 0, 80)

        added = edi(env, "keys", "new", "--current")
        assert added.returncode == 0, added.stderr
        assert "added master key k2; current key: k2" in added.stdout
        ring = KeyRing.from_file(ring_file)
        assert ring.current == "k2" and set(ring.keys) == {"k1", "k2"}
        assert base64.b64encode(ring.keys["k2"]).decode() not in added.stdout + added.stderr

        refused = edi(env, "keys", "retire", "k1")
        assert refused.returncode == 2 and "80 stored objects are still wrapped with 'k1'" in refused.stderr

        rotation = subprocess.Popen(
            [sys.executable, "-m", "edi", "keys", "rotate", "--wait", "--batch-size", "3", "--pause", "0.05"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 60
            while key_usage(engine).get("k2", 0) < 10 and time.monotonic() < deadline and rotation.poll() is None:
                time.sleep(0.02)
            rotation.send_signal(signal.SIGKILL)
        finally:
            rotation.wait(30)
        halfway = key_usage(engine)
        assert halfway["k1"] > 0 and halfway["k2"] >= 10, halfway

        background = edi(env, "keys", "rotate")  # resumes, detached
        assert background.returncode == 0, background.stderr
        assert "rotation running in the background" in background.stdout
        log_file, deadline = data / "keys-rotate.log", time.monotonic() + 90
        while "rotation done" not in (log_file.read_text() if log_file.exists() else "") and time.monotonic() < deadline:
            time.sleep(0.05)
        log = log_file.read_text()
        assert "rotation done under k2" in log and ", 0 failed" in log
        assert key_usage(engine) == {"k2": 80}
        assert not any(word in log for word in ("DOE", "JANE", "19800101"))

        status = edi(env, "keys", "status")
        assert status.returncode == 0 and status.stdout.splitlines() == ["k1\t0\t0", "k2\t80\t0\tcurrent"]

        retired = edi(env, "keys", "retire", "k1")
        assert retired.returncode == 0, retired.stderr
        assert set(json.loads(ring_file.read_text())["keys"]) == {"k2"}

        store.keyring = KeyRing.from_file(ring_file)
        for uri, key_id, sha256 in rows(engine):
            assert key_id == "k2" and store.get(uri, sha256=sha256) == expected[uri]
    finally:
        engine.dispose()


def test_inline_key_ring_is_not_edited(tmp_path: Path) -> None:
    env = {**os.environ, "EDI_DATA_DIR": str(tmp_path), "PYTHONPATH": str(ROOT),
           "EDI_MASTER_KEYS": KeyRing({"k1": K1}, "k1").to_json()}
    env.pop("EDI_MASTER_KEYS_FILE", None)
    result = edi(env, "keys", "new")
    assert result.returncode == 2
    assert "given inline in EDI_MASTER_KEYS" in result.stderr


def test_an_object_purged_while_being_rewritten_is_not_left_behind(engine: Engine, tmp_path: Path) -> None:
    class PurgedMeanwhile(LocalPayloadStore):
        """Commits a purge of the object's rows between the rotation's listing and its rewrite."""

        def reseal(self, uri: str) -> Any:
            if uri == victim:
                with engine.begin() as connection:
                    connection.execute(delete(Payload).where(Payload.uri == uri))
                self.delete(uri)
            result = super().reseal(uri) if uri != victim else None
            if uri == victim:  # the rewrite raced the delete and won: the object is back
                self._write(self.payload_id(uri), b"EDIP-resurrected")
            return result

    store = PurgedMeanwhile(tmp_path / "p", KeyRing({"k1": K1}, "k1"), durable=False)
    uris = list(add_payloads(Repository(engine), store, 0, 3))
    victim = uris[1]
    store.keyring = store.keyring.with_key("k2", K2)
    report = rotate_payloads(engine, store, batch_size=10)
    assert report.rotated == 2 and not report.failed
    assert not (tmp_path / "p" / store.payload_id(victim)[:2] / store.payload_id(victim)).exists()
    assert key_usage(engine) == {"k2": 2}


def test_inbound_documents_are_rotated_too(engine: Engine, tmp_path: Path) -> None:
    store = LocalPayloadStore(tmp_path / "p", KeyRing({"k1": K1}, "k1"), durable=False)
    repository = Repository(engine)
    add_payloads(repository, store, 0, 2)
    inbound = {}
    for i in range(3):
        stored = store.put(b"ISA*00*...999 for a batch %d~" % i)
        repository.record_inbound("payer-1", f"{i:09d}.999", stored, document_type="999")
        inbound[stored.uri] = b"ISA*00*...999 for a batch %d~" % i
    store.keyring = store.keyring.with_key("k2", K2)
    report = rotate_payloads(engine, store, batch_size=2)
    assert report.rotated == 5 and key_usage(engine) == {"k2": 5}
    store.keyring = store.keyring.without_key("k1")
    with engine.connect() as connection:
        rows = connection.execute(select(InboundDocument.uri, InboundDocument.key_id)).all()
    assert {uri for uri, _ in rows} == set(inbound) and {key for _, key in rows} == {"k2"}
    assert all(store.get(uri) == data for uri, data in inbound.items())


def test_reply_addresses_are_counted_and_resealed_with_the_payloads(engine: Engine, tmp_path: Path) -> None:
    """A door's reply address is sealed under the key ring (it may name the submitter's file):
    ``key_usage`` counts it, so ``retire`` cannot strand it, and the rotation reseals it --
    an address stored in plaintext before sealing existed included."""
    from edi.sealed_text import REPLY_TO, key_id_of, open_text, seal_text
    from edi.store.models import Transaction

    store = LocalPayloadStore(tmp_path / "p", KeyRing({"k1": K1}, "k1"), durable=False)
    repository = Repository(engine)
    add_payloads(repository, store, 0, 2)
    addresses = [json.dumps({"channel": "folder", "target": "/drop/outbound", "file": f"smith_{i}.csv.responses.jsonl",
                             "item": "line 2"}) for i in range(5)]
    for index, address in enumerate(addresses):
        stored = address if index == 0 else seal_text(store.keyring, address, purpose=REPLY_TO)  # 0: an old row
        repository.create(NewTransaction("clinic-a", Kind.ELIGIBILITY, reply_to=stored))
    assert key_usage(engine) == {"k1": 2 + 4}
    store.keyring = store.keyring.with_key("k2", K2)
    report = rotate_payloads(engine, store, batch_size=2)
    assert report.rotated == 2 and report.addresses == 5 and not report.failed
    assert key_usage(engine) == {"k2": 2 + 5}
    retired = store.keyring.without_key("k1")
    with engine.connect() as connection:
        stored_now = list(connection.execute(select(Transaction.reply_to).where(Transaction.reply_to.is_not(None))).scalars())
    assert all(key_id_of(text) == "k2" and "smith" not in text for text in stored_now)
    assert sorted(open_text(retired, text, purpose=REPLY_TO) for text in stored_now) == sorted(addresses)
    assert rotate_payloads(engine, store).addresses == 0  # nothing left to do
