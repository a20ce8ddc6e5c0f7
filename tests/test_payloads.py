"""Encrypted payloads on local disk and on moto's S3 server: round trips, no plaintext PHI at
rest, tamper detection, key rotation; the key ring's sources."""

from __future__ import annotations

import base64
import json
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors.s3_payloads import S3PayloadStore, open_payload_store
from edi.keys import KeyRing, KeyRingError, UnknownKeyError, generate_key
from edi.payloads import (
    EncryptedPayloadStore,
    LocalPayloadStore,
    PayloadError,
    PayloadIntegrityError,
    PayloadNotFoundError,
    PayloadStore,
    read_key_id,
)
from edi.store import (
    ALL_SUBMITTERS,
    Correlation,
    Kind,
    NewTransaction,
    PayloadAttachment,
    Repository,
    State,
    make_engine,
    migrate,
)
from edi.store.models import PayloadKind

pytest_plugins = ("tests.servers.moto",)

K1, K2 = generate_key(), generate_key()


def ring(*key_ids: str, current: str) -> KeyRing:
    keys = {"k1": K1, "k2": K2}
    return KeyRing.from_json(json.dumps({"keys": {k: keys[k] for k in key_ids}, "current": current}))


@pytest.fixture
def phi() -> dict[str, str]:
    """PHI values that occur nowhere else: any hit in a scan is a leak."""
    tag = secrets.token_hex(6).upper()
    return {"name": f"QXPHINAME{tag}", "member": f"QXMEMBER{tag}", "birth": f"1931{tag[:4]}"}


def request_json(phi: dict[str, str]) -> bytes:
    return json.dumps({
        "controlNumber": "123456789",
        "tradingPartnerServiceId": "842610001",
        "provider": {"organizationName": "BONE AND JOINT CLINIC", "npi": "1234567893"},
        "subscriber": {"memberId": phi["member"], "firstName": "ROBERT", "lastName": phi["name"],
                       "dateOfBirth": phi["birth"]},
    }).encode()


@pytest.fixture(params=["local", "s3"])
def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """Builds stores over one place (a directory or a bucket prefix) with a given key ring."""
    if request.param == "local":
        yield lambda keyring: LocalPayloadStore(tmp_path / "payloads", keyring)
    else:
        client, bucket = request.getfixturevalue("s3_client"), request.getfixturevalue("s3_bucket")
        yield lambda keyring: S3PayloadStore(bucket, "edi/payloads", keyring, client=client)


def raw_objects(store: EncryptedPayloadStore) -> dict[str, bytes]:
    """Every stored object as it sits at rest, read around the store's decryption."""
    if isinstance(store, S3PayloadStore):
        listing = store.client.list_objects_v2(Bucket=store.bucket)
        return {
            item["Key"]: store.client.get_object(Bucket=store.bucket, Key=item["Key"])["Body"].read()
            for item in listing.get("Contents", ())
        }
    return {str(path): path.read_bytes() for path in Path(store.directory).rglob("*") if path.is_file()}


def raw_object(store: EncryptedPayloadStore, uri: str) -> bytes:
    payload_id = store.payload_id(uri)
    [blob] = [blob for key, blob in raw_objects(store).items() if key.endswith(payload_id)]
    return blob


def overwrite(store: EncryptedPayloadStore, uri: str, blob: bytes) -> None:
    """Replace an object's bytes behind the store's back."""
    payload_id = store.payload_id(uri)
    if isinstance(store, S3PayloadStore):
        store.client.put_object(Bucket=store.bucket, Key=f"{store.prefix}/{payload_id}", Body=blob)
    else:
        Path(store.directory, payload_id[:2], payload_id).write_bytes(blob)


def flip(blob: bytes, position: int) -> bytes:
    return blob[:position] + bytes([blob[position] ^ 0x01]) + blob[position + 1 :]


def hits(haystack: bytes, needles: list[str]) -> list[str]:
    lowered = haystack.lower()
    return [n for n in needles if n.encode().lower() in lowered or n.encode("utf-16-le").lower() in lowered]


# -- round trips -------------------------------------------------------------------------------


def test_round_trip(store_factory: Any, phi: dict[str, str]) -> None:
    store = store_factory(ring("k1", current="k1"))
    assert isinstance(store, PayloadStore)
    document = request_json(phi)
    saved = store.put(document)
    assert store.get(saved.uri) == document
    assert store.get(saved.uri, sha256=saved.sha256) == document
    assert saved.key_id == "k1" and saved.size == len(document) and len(saved.sha256) == 64
    assert store.key_id_of(saved.uri) == "k1"
    empty = store.put(b"")
    assert store.get(empty.uri) == b"" and empty.size == 0
    big = os.urandom(3 * 1024 * 1024)
    assert store.get(store.put(big).uri) == big
    assert len({saved.uri, empty.uri}) == 2 and phi["name"] not in saved.uri
    with pytest.raises(PayloadIntegrityError, match="SHA-256"):
        store.get(saved.uri, sha256="0" * 64)
    store.delete(saved.uri)
    with pytest.raises(PayloadNotFoundError):
        store.get(saved.uri)
    store.delete(saved.uri)  # absent is fine
    with pytest.raises(TypeError):
        store.put("text")  # type: ignore[arg-type]


def test_put_many_writes_one_object_each_as_put_does(store_factory: Any, tmp_path: Path) -> None:
    """A group put (one cipher set-up for the group) gives objects ``put`` would give: each with its
    own id, data key and nonces, readable, rotatable and deletable one by one."""
    store = store_factory(ring("k1", "k2", current="k1"))
    documents = [b"", b"first", os.urandom(4096), b"first"]
    saved = store.put_many(documents)
    assert [store.get(s.uri, sha256=s.sha256) for s in saved] == documents
    assert [(s.key_id, s.size) for s in saved] == [("k1", len(d)) for d in documents]
    assert len({s.uri for s in saved}) == 4
    blobs = [raw_object(store, s.uri) for s in saved]
    assert blobs[1] != blobs[3] and len({b[-(16 + 12 + 5):] for b in blobs[1::2]}) == 2  # fresh keys, nonces
    assert store.put_many([]) == []
    with pytest.raises(TypeError):
        store.put_many([b"fine", "text"])  # type: ignore[list-item]
    rotated = store_factory(ring("k1", "k2", current="k2")).rotate()
    assert {r.uri for r in rotated.rotated} >= {s.uri for s in saved}
    store.delete(saved[2].uri)
    with pytest.raises(PayloadNotFoundError):
        store.get(saved[2].uri)


def test_local_writes_survive_a_removed_shard_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The local store remembers the shard directories it made; one removed meanwhile (an empty
    one, by a purge) is made again rather than failing the write."""
    store = LocalPayloadStore(tmp_path / "payloads", ring("k1", current="k1"), durable=False)
    first = store.put(b"one")
    payload_id = store.payload_id(first.uri)
    store.delete(first.uri)
    (tmp_path / "payloads" / payload_id[:2]).rmdir()
    monkeypatch.setattr("edi.payloads.new_payload_id", lambda: payload_id[:2] + secrets.token_hex(15))
    again = store.put(b"two")
    assert store.payload_id(again.uri)[:2] == payload_id[:2] and store.get(again.uri) == b"two"
    assert first.uri == (tmp_path / "payloads" / payload_id[:2] / payload_id).resolve().as_uri()


def test_local_files_are_opaque_and_private(tmp_path: Path, phi: dict[str, str]) -> None:
    store = LocalPayloadStore(tmp_path / "payloads", ring("k1", current="k1"))
    saved = store.put(request_json(phi))
    payload_id = store.payload_id(saved.uri)
    path = tmp_path / "payloads" / payload_id[:2] / payload_id
    assert saved.uri == path.as_uri()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "payloads").stat().st_mode) == 0o700
    assert [p.name for p in (tmp_path / "payloads").rglob("*") if p.is_file()] == [payload_id]
    for foreign in ("file:///etc/passwd", f"file://{tmp_path}/payloads/../x", "s3://bucket/key",
                    saved.uri.replace(payload_id, "0" * 31 + "g")):
        with pytest.raises(PayloadError):
            store.get(foreign)


def test_s3_objects_are_opaque(s3_client: Any, s3_bucket: str, phi: dict[str, str]) -> None:
    store = open_payload_store(f"s3://{s3_bucket}/tenant/payloads", ring("k1", current="k1"), client=s3_client)
    assert isinstance(store, S3PayloadStore)
    saved = store.put(request_json(phi))
    payload_id = store.payload_id(saved.uri)
    assert saved.uri == f"s3://{s3_bucket}/tenant/payloads/{payload_id}"
    head = s3_client.head_object(Bucket=s3_bucket, Key=f"tenant/payloads/{payload_id}")
    assert head["Metadata"] == {} and head["ContentType"] == "application/octet-stream"
    other = S3PayloadStore(s3_bucket, "elsewhere", ring("k1", current="k1"), client=s3_client)
    with pytest.raises(PayloadError):
        other.get(saved.uri)


def test_open_payload_store_by_url(tmp_path: Path) -> None:
    keyring = ring("k1", current="k1")
    assert isinstance(open_payload_store(str(tmp_path / "a"), keyring), LocalPayloadStore)
    local = open_payload_store((tmp_path / "b").as_uri(), keyring)
    assert isinstance(local, LocalPayloadStore) and local.directory == (tmp_path / "b").resolve()
    with pytest.raises(PayloadError):
        open_payload_store("ftp://host/dir", keyring)


# -- no plaintext at rest ----------------------------------------------------------------------


def test_no_plaintext_phi_on_disk(tmp_path: Path, phi: dict[str, str]) -> None:
    """Store a request through the store and the database, then scan every byte they wrote."""
    keyring = ring("k1", current="k1")
    store = LocalPayloadStore(tmp_path / "payloads", keyring)
    database = tmp_path / "db" / "edi.db"
    migrate(f"sqlite:///{database}")
    engine = make_engine(f"sqlite:///{database}")
    try:
        repo = Repository(engine)
        document = request_json(phi)
        saved = store.put(document)
        record = repo.create(
            NewTransaction("clinic-a", Kind.ELIGIBILITY, "payer-1", idempotency_key="idem-1",
                           request_sha256=saved.sha256, correlation=Correlation(control_number="123456789")),
            attach=[PayloadAttachment(PayloadKind.REQUEST_JSON, saved)],
        ).transaction
        repo.transition(record.id, State.VALIDATED, detail_code="checks:ok")
        response = store.put(document.replace(b"123456789", b"987654321"))
        repo.attach_payload(record.id, PayloadAttachment(PayloadKind.RESPONSE_JSON, response, "271"))
        [first, _] = repo.payloads(record.id, submitter_id=ALL_SUBMITTERS)
        assert store.get(first.uri, sha256=first.sha256) == document  # the data is really there
    finally:
        engine.dispose()

    needles = list(phi.values())
    scanned = [path for root in (tmp_path / "payloads", tmp_path / "db") for path in root.rglob("*") if path.is_file()]
    assert {p.name for p in scanned} >= {"edi.db"} and len(scanned) >= 3
    for path in scanned:
        assert hits(path.read_bytes(), needles) == [], path
    # and the scan does find plaintext when there is some
    assert hits(b"..." + document + b"...", needles) == needles


def test_no_plaintext_phi_in_s3(s3_client: Any, s3_bucket: str, phi: dict[str, str]) -> None:
    store = S3PayloadStore(s3_bucket, "payloads", ring("k1", current="k1"), client=s3_client)
    document = request_json(phi)
    uris = [store.put(document).uri for _ in range(3)]
    objects = raw_objects(store)
    assert len(objects) == 3
    for key, blob in objects.items():
        assert hits(blob, list(phi.values())) == [] and hits(key.encode(), list(phi.values())) == []
        assert document not in blob
    assert all(store.get(uri) == document for uri in uris)


# -- tampering ---------------------------------------------------------------------------------


def test_tampering_is_detected_without_revealing_content(store_factory: Any, phi: dict[str, str]) -> None:
    store = store_factory(ring("k1", current="k1"))
    document = request_json(phi)
    saved = store.put(document)
    other = store.put(b"another payload")
    payload_id = store.payload_id(saved.uri)
    original = raw_object(store, saved.uri)
    assert read_key_id(payload_id, original) == "k1"

    def opening_fails(blob: bytes, error: type[Exception] = PayloadIntegrityError) -> str:
        overwrite(store, saved.uri, blob)
        with pytest.raises(error) as caught:
            store.get(saved.uri)
        message = str(caught.value)
        assert hits(message.encode(), list(phi.values())) == []
        return message

    message = opening_fails(flip(original, len(original) - 40))  # a bit in the ciphertext
    assert payload_id in message and "failed authentication" in message
    assert "failed authentication" in opening_fails(flip(original, len(original) - 1))  # in the tag
    # header: "EDIP", version, id length, "k1" (8 bytes), wrap nonce (12), wrapped data key (48)
    assert "data key" in opening_fails(flip(original, 12))  # in the wrap nonce
    assert "data key" in opening_fails(flip(original, 40))  # in the wrapped data key
    assert "version" in opening_fails(flip(original, 4))
    assert opening_fails(original[:-20])  # truncated
    assert "not an encrypted payload" in opening_fails(document)  # plaintext planted in its place
    assert "not an encrypted payload" in opening_fails(b"")
    renamed = original.replace(b"k1", b"k9", 1)  # a key id the ring does not hold
    assert "k9" in opening_fails(renamed, UnknownKeyError)
    # another valid object copied over this one: both are authentic, but bound to their ids
    assert "failed authentication" in opening_fails(raw_object(store, other.uri))
    overwrite(store, saved.uri, original)
    assert store.get(saved.uri) == document


# -- rotation ----------------------------------------------------------------------------------


def test_rotation(store_factory: Any, tmp_path: Path) -> None:
    old = store_factory(ring("k1", current="k1"))
    written = {old.put(f"payload {n}".encode()).uri: f"payload {n}".encode() for n in range(4)}
    assert {old.key_id_of(uri) for uri in written} == {"k1"}

    store = store_factory(ring("k1", "k2", current="k2"))  # k2 is current; k1 still held
    for uri, document in written.items():
        assert store.get(uri) == document
    fresh = store.put(b"written under k2")
    assert fresh.key_id == "k2" and store.key_id_of(fresh.uri) == "k2"
    before = raw_objects(store)

    partial = store.rotate(limit=1)
    assert len(partial.rotated) == 1
    report = store.rotate()
    assert report.key_id == "k2" and report.failed == []
    assert len(report.rotated) == 3 and report.already_current == 2
    rotated = {item.uri for item in partial.rotated + report.rotated}
    assert rotated == set(written)
    assert all(item.old_key_id == "k1" and item.new_key_id == "k2" for item in report.rotated)
    after = raw_objects(store)
    assert all(before[key] != after[key] for key in before if not key.endswith(store.payload_id(fresh.uri)))
    assert store.rotate().rotated == []  # nothing left to do

    retired = store_factory(ring("k2", current="k2"))  # k1 dropped from the ring
    for uri, document in written.items():
        assert retired.get(uri) == document and retired.key_id_of(uri) == "k2"
    assert retired.get(fresh.uri) == b"written under k2"


def test_rotation_reports_objects_it_cannot_open(store_factory: Any) -> None:
    store = store_factory(ring("k1", current="k1"))
    good, garbled, emptied = store.put(b"good"), store.put(b"garbled"), store.put(b"emptied")
    overwrite(store, garbled.uri, b"garbage")
    overwrite(store, emptied.uri, b"")
    store.keyring = ring("k1", "k2", current="k2")
    report = store.rotate()
    assert [item.uri for item in report.rotated] == [good.uri]
    assert {failure.uri for failure in report.failed} == {garbled.uri, emptied.uri}
    assert all("PayloadIntegrityError" in failure.reason for failure in report.failed)


def test_rotation_updates_the_recorded_key_ids(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'edi.db'}"
    migrate(database)
    engine = make_engine(database)
    try:
        repo = Repository(engine)
        store = LocalPayloadStore(tmp_path / "p", ring("k1", current="k1"))
        claims = [repo.create(NewTransaction("clinic-a", Kind.CLAIM, "payer-1")).transaction.id for _ in range(2)]
        batch = store.put(b"ISA*00*...")
        repo.attach_payload(claims, PayloadAttachment(PayloadKind.OUTBOUND_X12, batch, "837P"))
        store.keyring = ring("k1", "k2", current="k2")
        assert repo.record_rotation(store.rotate().rotated) == 2
        for claim in claims:
            [reference] = repo.payloads(claim, submitter_id="clinic-a")
            assert reference.key_id == "k2" == store.key_id_of(reference.uri)
            assert store.get(reference.uri, sha256=reference.sha256) == b"ISA*00*..."
    finally:
        engine.dispose()


# -- the key ring ------------------------------------------------------------------------------


def test_key_ring_sources(tmp_path: Path) -> None:
    document = json.dumps({"keys": {"k1": K1, "k2": K2}, "current": "k2"})
    from_env = KeyRing.from_env({"EDI_MASTER_KEYS": document})
    assert from_env.current == "k2" and from_env.current_key == base64.b64decode(K2)
    assert from_env.key("k1") == base64.b64decode(K1)
    with pytest.raises(UnknownKeyError):
        from_env.key("k3")

    path = tmp_path / "keys.json"
    from_env.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert KeyRing.from_env({"EDI_MASTER_KEYS_FILE": str(path)}) == from_env
    assert KeyRing.from_file(path).keys == from_env.keys

    with pytest.raises(KeyRingError, match="only one"):
        KeyRing.from_env({"EDI_MASTER_KEYS": document, "EDI_MASTER_KEYS_FILE": str(path)})
    with pytest.raises(KeyRingError, match="EDI_MASTER_KEYS"):
        KeyRing.from_env({})
    with pytest.raises(KeyRingError, match="cannot read"):
        KeyRing.from_file(tmp_path / "missing.json")


def test_key_ring_rotation_helpers() -> None:
    keyring = ring("k1", current="k1")
    rotated = keyring.with_key("k2", K2)
    assert rotated.current == "k2" and set(rotated.keys) == {"k1", "k2"} and keyring.current == "k1"
    assert rotated.without_key("k1").keys.keys() == {"k2"}
    with pytest.raises(KeyRingError, match="current"):
        rotated.without_key("k2")
    with pytest.raises(KeyRingError, match="already used"):
        rotated.with_key("k1", K2)
    assert keyring.with_key("k2", K2, current=False).current == "k1"


@pytest.mark.parametrize(
    ("document", "complaint"),
    [
        ("not json", "not valid JSON"),
        ('{"keys": []}', '"keys"'),
        (json.dumps({"keys": {"k1": K1}}), '"current"'),
        (json.dumps({"keys": {"k1": K1}, "current": "k2"}), "not in the key ring"),
        ('{"keys": {"k1": "c2hvcnQ="}, "current": "k1"}', "32 bytes"),
        ('{"keys": {"k1": "!!!!"}, "current": "k1"}', "base64"),
        (json.dumps({"keys": {"bad id": K1}, "current": "bad id"}), "key ids"),
        ('{"keys": {}, "current": "k1"}', "no keys"),
    ],
)
def test_key_ring_errors_never_show_key_material(document: str, complaint: str) -> None:
    with pytest.raises(KeyRingError, match=complaint) as caught:
        KeyRing.from_json(document)
    assert K1 not in str(caught.value)


def test_key_ring_repr_hides_keys() -> None:
    keyring = ring("k1", "k2", current="k2")
    shown = repr(keyring) + str(keyring)
    assert "k1" in shown and K1 not in shown and K2 not in shown
    assert repr(base64.b64decode(K1)) not in shown


def test_concurrent_flushes_share_one_and_each_caller_is_covered() -> None:
    """Group commit: a caller returns only after a flush that started after it asked, and callers
    that ask while a flush runs share the next one instead of each running their own."""
    import threading
    import time

    from edi.payloads import _SyncGroup

    group = _SyncGroup()
    flushes: list[tuple[float, float]] = []  # (started, ended)

    def flush() -> None:
        started = time.monotonic()
        time.sleep(0.05)
        flushes.append((started, time.monotonic()))

    covered: list[bool] = []

    def caller() -> None:
        asked = time.monotonic()
        group.sync(flush)
        covered.append(any(started >= asked for started, _ in flushes))

    threads = [threading.Thread(target=caller) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert covered == [True] * 16
    assert len(flushes) < 16  # shared: at most one running and one queued behind it at a time


def test_a_failed_group_flush_covers_nobody() -> None:
    from edi.payloads import _SyncGroup

    group = _SyncGroup()
    calls: list[str] = []

    def failing() -> None:
        calls.append("failed")
        raise OSError(5, "I/O error")

    with pytest.raises(OSError):
        group.sync(failing)
    group.sync(lambda: calls.append("flushed"))
    assert calls == ["failed", "flushed"]
