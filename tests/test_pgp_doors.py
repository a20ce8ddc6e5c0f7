"""PGP at the file doors: a submitter with a key sends encrypted+signed files and gets encrypted answers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from connectors.ingest.door import ReplyAddress, Submission
from connectors.ingest.folder import FolderDoor, FolderLayout, FolderReplySink
from connectors.ingest.intake import PipelineIntake
from connectors.ingest.s3 import S3Door, S3Submitter
from connectors.ingest.sftp_server import SftpAccount, SftpIngestThread, hash_password
from connectors.pgp import PgpKeyring, PgpPeers
from connectors.pipeline.runtime import open_pipeline
from edi.partners import PgpSettings, SecretRef
from edi.pipeline import Pipeline
from edi.settings import Settings
from edi.store import ALL_SUBMITTERS, TransactionFilter
from tests.pgp_keys import TestKey, bad_signature_message, make_keys

pytest_plugins = ("tests.servers.moto",)

SAMPLE = Path(__file__).resolve().parent.parent / "connectors" / "payer_sim" / "sample"
ELIGIBILITY = json.loads((SAMPLE / "eligibility.json").read_text())
PASSPHRASE = "our passphrase"


@pytest.fixture(scope="module")
def keys() -> dict[str, TestKey]:
    return {**make_keys("us", passphrase=PASSPHRASE), **make_keys("acme", "stranger")}


@pytest.fixture(scope="module")
def ours(keys: dict[str, TestKey]) -> Iterator[PgpKeyring]:
    with PgpKeyring() as ring:
        ring.set_own_key(keys["us"].secret, PASSPHRASE)
        ring.import_public_key(keys["acme"].public, keys["acme"].fingerprint)
        yield ring


@pytest.fixture(scope="module")
def acme(keys: dict[str, TestKey]) -> Iterator[PgpKeyring]:
    with PgpKeyring() as ring:
        ring.set_own_key(keys["acme"].secret, None)
        ring.import_public_key(keys["us"].public, keys["us"].fingerprint)
        yield ring


@pytest.fixture
def peers(ours: PgpKeyring, keys: dict[str, TestKey]) -> PgpPeers:
    settings = PgpSettings(public_key=SecretRef(env="ACME_PGP_KEY"), fingerprint=keys["acme"].fingerprint)
    return PgpPeers(ours, {"acme": settings})


@pytest.fixture
def pipeline(tmp_path: Path) -> Iterator[Pipeline]:
    pipe = open_pipeline(Settings.from_env({"EDI_DATA_DIR": str(tmp_path / "data")}), create_key=True)
    yield pipe
    pipe.repository.engine.dispose()


def _door(pipeline: Pipeline, peers: PgpPeers, tmp_path: Path) -> tuple[FolderDoor, FolderLayout]:
    roots = {"acme": tmp_path / "acme", "plain": tmp_path / "plain"}
    door = FolderDoor(roots, PipelineIntake(pipeline, pgp=peers), pgp=peers, settle_seconds=0, use_watchdog=False)
    return door, door.layouts["acme"]


def _drain(door: FolderDoor) -> int:
    return sum(door.scan_once() for _ in range(3))


def _transactions(pipeline: Pipeline) -> list:
    return pipeline.repository.list_transactions(TransactionFilter(submitter_id=ALL_SUBMITTERS), limit=50).items


def _answer(acme: PgpKeyring, keys: dict[str, TestKey], path: Path) -> dict:
    data = path.read_bytes()
    assert data.startswith(b"-----BEGIN PGP MESSAGE-----") and b"accepted" not in data
    return json.loads(acme.open_inbound(data, keys["us"].fingerprint))


def test_signed_encrypted_request_is_taken_in_and_answered_encrypted(
        pipeline: Pipeline, peers: PgpPeers, acme: PgpKeyring, keys: dict[str, TestKey], tmp_path: Path) -> None:
    door, layout = _door(pipeline, peers, tmp_path)
    request = json.dumps(ELIGIBILITY).encode()
    (layout.inbound / "one.json.pgp").write_bytes(acme.seal_outbound(request, keys["us"].fingerprint, armor=False))
    assert _drain(door) == 1
    assert not list(layout.quarantine.iterdir())
    (answer_file,) = list(layout.outbound.iterdir())
    assert answer_file.name == "one.json.pgp.receipt.json.pgp"
    receipt = _answer(acme, keys, answer_file)
    assert receipt["rejected"] == [] and len(receipt["accepted"]) == 1
    (record,) = _transactions(pipeline)
    assert record.id == receipt["accepted"][0] and record.submitter_id == "acme"


@pytest.mark.parametrize("case", ["bad signature", "unknown signer", "unsigned"])
def test_a_file_failing_verification_is_quarantined_with_an_encrypted_error(
        pipeline: Pipeline, peers: PgpPeers, ours: PgpKeyring, acme: PgpKeyring, keys: dict[str, TestKey],
        tmp_path: Path, case: str) -> None:
    request = json.dumps({**ELIGIBILITY, "marker": "tamper-me"}).encode()
    if case == "bad signature":
        sealed = bad_signature_message(ours, acme, keys["us"].fingerprint, request, b"tamper-me")
        expected = "bad signature"
    elif case == "unknown signer":
        with PgpKeyring() as stranger:
            stranger.set_own_key(keys["stranger"].secret, None)
            stranger.import_public_key(keys["us"].public, keys["us"].fingerprint)
            sealed = stranger.seal_outbound(request, keys["us"].fingerprint)
        expected = "signed by a key we do not know"
    else:
        sealed = bytes(acme._gpg.encrypt(request, [keys["us"].fingerprint], always_trust=True, armor=True).data)
        expected = "not signed"
    door, layout = _door(pipeline, peers, tmp_path)
    (layout.inbound / "claims.json.asc").write_bytes(sealed)
    assert _drain(door) == 1
    (error_file,) = list(layout.outbound.iterdir())
    assert error_file.name == "claims.json.asc.error.json.pgp"
    error = _answer(acme, keys, error_file)
    (kept,) = list(layout.quarantine.iterdir())  # kept under the id the error names, not the file's name
    assert kept.name == error["submissionId"].split("/", 1)[1] and kept.read_bytes() == sealed
    assert error["status"] == "rejected" and error["accepted"] == []
    assert error["rejected"][0]["item"] == "file" and expected in error["rejected"][0]["reason"]
    assert _transactions(pipeline) == []


def test_pgp_content_without_a_key_is_refused_clearly(pipeline: Pipeline, peers: PgpPeers, acme: PgpKeyring,
                                                      keys: dict[str, TestKey], tmp_path: Path) -> None:
    door, _ = _door(pipeline, peers, tmp_path)
    plain = door.layouts["plain"]
    (plain.inbound / "one.json").write_bytes(acme.seal_outbound(b"{}", keys["us"].fingerprint))
    (plain.inbound / "two.json").write_bytes(json.dumps(ELIGIBILITY).encode())
    assert _drain(door) == 2
    error = json.loads((plain.outbound / "one.json.error.json").read_text())
    assert "no PGP key is configured for you" in error["rejected"][0]["reason"]
    assert json.loads((plain.outbound / "two.json.receipt.json").read_text())["rejected"] == []
    receipt = PipelineIntake(pipeline)(Submission("plain", "amqp", "m1", acme.seal_outbound(b"{}", keys["us"].fingerprint),
                                                  ReplyAddress("amqp", "q")))
    assert receipt.refused_whole and "PGP is not set up here" in receipt.rejected[0].reason


def test_reply_sink_encrypts_for_a_submitter_with_a_key(peers: PgpPeers, acme: PgpKeyring, keys: dict[str, TestKey],
                                                        tmp_path: Path) -> None:
    roots = {"acme": tmp_path / "acme", "plain": tmp_path / "plain"}
    for root in roots.values():
        FolderLayout(root).create()
    sink = FolderReplySink(roots, pgp=peers)
    sink.send(ReplyAddress("folder", str(roots["acme"] / "outbound")), "T1", b'{"answer": 1}')
    sink.send(ReplyAddress("folder", str(roots["plain"] / "outbound")), "T1", b'{"answer": 1}')
    sealed = (roots["acme"] / "outbound" / "T1.json.pgp").read_bytes()
    assert acme.open_inbound(sealed, keys["us"].fingerprint) == b'{"answer": 1}'
    assert [p.name for p in (roots["acme"] / "outbound").iterdir()] == ["T1.json.pgp"]
    assert (roots["plain"] / "outbound" / "T1.json").read_bytes() == b'{"answer": 1}'
    with pytest.raises(ValueError, match="by submitter id"):
        FolderReplySink(list(roots.values()), pgp=peers)


# -- SFTP and S3 doors -------------------------------------------------------------------------------


def test_sftp_door_quarantines_a_bad_signature_and_answers_encrypted(
        pipeline: Pipeline, peers: PgpPeers, ours: PgpKeyring, acme: PgpKeyring, keys: dict[str, TestKey],
        tmp_path: Path) -> None:
    password = "acme sftp password"
    account = SftpAccount("acme", "acme", hash_password(password))
    thread = SftpIngestThread(tmp_path / "homes", [account], PipelineIntake(pipeline, pgp=peers),
                              host_key_path=tmp_path / "host_key", pgp=peers)
    server = thread.start()
    good = acme.seal_outbound(json.dumps(ELIGIBILITY).encode(), keys["us"].fingerprint)
    forged = bad_signature_message(ours, acme, keys["us"].fingerprint,
                                   json.dumps({**ELIGIBILITY, "marker": "tamper-me"}).encode(), b"tamper-me")

    async def upload() -> None:
        async with asyncssh.connect(server.host, server.port, username="acme", password=password,
                                    known_hosts=asyncssh.import_known_hosts(server.known_hosts_line()),
                                    client_keys=[], preferred_auth=("password",), agent_path=None,
                                    config=None) as conn, conn.start_sftp_client() as sftp:
            for name, data in (("one.json.pgp", good), ("claims.json.asc", forged)):
                async with sftp.open(f"/inbound/{name}", "wb") as f:
                    await f.write(data)

    try:
        asyncio.run(upload())
    finally:
        thread.stop()
    home = tmp_path / "homes" / "acme"
    answers = {f.name: f for f in (home / "outbound").iterdir()}
    assert set(answers) == {"claims.json.asc.error.json.pgp", "one.json.pgp.receipt.json.pgp"}
    error_file = answers["claims.json.asc.error.json.pgp"]
    error = _answer(acme, keys, error_file)
    assert "bad signature" in error["rejected"][0]["reason"]
    (kept,) = list((tmp_path / "homes" / ".quarantine" / "acme").iterdir())
    assert kept.name.endswith("-" + error["submissionId"].split("/", 1)[1]) and kept.read_bytes() == forged
    assert "claims" not in kept.name
    (record,) = _transactions(pipeline)
    assert record.submitter_id == "acme"


def test_s3_door_quarantines_a_bad_signature_and_answers_encrypted(
        s3_client: Any, s3_bucket: str, pipeline: Pipeline, peers: PgpPeers, ours: PgpKeyring, acme: PgpKeyring,
        keys: dict[str, TestKey]) -> None:
    submitter = S3Submitter("acme", "submitters/acme")
    door = S3Door(s3_client, s3_bucket, [submitter], PipelineIntake(pipeline, pgp=peers), door_id="d1", pgp=peers)
    forged = bad_signature_message(ours, acme, keys["us"].fingerprint,
                                   json.dumps({**ELIGIBILITY, "marker": "tamper-me"}).encode(), b"tamper-me")
    s3_client.put_object(Bucket=s3_bucket, Key="submitters/acme/inbound/claims.json.asc", Body=forged)
    assert door.poll_once() == {"submitters/acme/inbound/claims.json.asc": "refused"}
    listing = s3_client.list_objects_v2(Bucket=s3_bucket)["Contents"]
    found = sorted(item["Key"] for item in listing)
    assert "submitters/acme/outbound/claims.json.asc.error.json.pgp" in found
    (kept,) = [k for k in found if k.startswith("_edi-door/quarantine/acme/")]
    assert "claims" not in kept  # the object's name may be PHI: the door's own keys hold its digest
    assert s3_client.get_object(Bucket=s3_bucket, Key=kept)["Body"].read() == forged
    answer = s3_client.get_object(Bucket=s3_bucket, Key="submitters/acme/outbound/claims.json.asc.error.json.pgp")
    assert answer["ContentType"] == "application/pgp-encrypted"
    error = json.loads(acme.open_inbound(answer["Body"].read(), keys["us"].fingerprint))
    assert "bad signature" in error["rejected"][0]["reason"]
    assert _transactions(pipeline) == []
