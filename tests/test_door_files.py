"""The doors' own files at rest -- the watched folder's archive/ and quarantine/, the SFTP door's
quarantine -- under the key and retention commands, with real doors, the real store and the real
``edi`` command line (subprocesses).

What must hold: every such file is sealed, PHI nowhere in it nor in the error file beside it;
``edi keys status`` counts the files per key, ``edi keys retire`` refuses a key a file still needs
even once every stored payload is rotated, ``edi keys rotate`` re-seals them (same name, same
age) so the old key can go and every file still opens; ``edi doors open`` gives the original
bytes and puts the read on the audit trail, which still verifies; ``edi purge`` removes only the
files past their folder's retention, and a dry run only counts.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import asyncssh
import pytest
import yaml
from sqlalchemy import select

from connectors.ingest.folder import FolderDoor
from connectors.ingest.intake import PipelineIntake
from connectors.ingest.sealed_files import DoorFileRetention, open_sealed, payload_id_of, write_sealed
from connectors.ingest.sftp_server import SftpAccount, SftpIngestThread, hash_password
from connectors.pipeline.runtime import open_payload_store, open_pipeline
from connectors.pipeline.sample import SUBMITTER_ID, write_sample_config
from edi.audit.models import AuditEntry
from edi.keys import KeyRing, generate_key
from edi.settings import Settings
from edi.store import make_engine, migrate
from edi.store.rotation import rotate_payloads
from tests.test_ingest_sftp import RecordingIntake, connect

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "connectors" / "payer_sim" / "sample"
LAST, MEMBER, DOB = "QZXWVARCHIVELAST", "QZX5566778899", "19690214"
SEEDED = (LAST, MEMBER, DOB)
DAY = 86400


def request() -> bytes:
    data = json.loads((SAMPLE / "eligibility.json").read_text())
    data["subscriber"] = {"memberId": MEMBER, "firstName": "QZXFIRST", "lastName": LAST, "dateOfBirth": DOB}
    return json.dumps(data, indent=1).encode()


def hits(blob: bytes) -> list[str]:
    return [s for s in SEEDED if s.encode() in blob]


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """A data directory, a key ring file with k1, and a partners file whose submitter has a folder
    and an SFTP door."""
    host_key = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()
    config = write_sample_config(tmp_path / "cfg", core_url="http://127.0.0.1:9/core", sftp_port=2222,
                                 known_hosts_line=f"[127.0.0.1]:2222 {host_key}")
    partners = yaml.safe_load(config.partners_file.read_text())
    partners["submitters"][SUBMITTER_ID]["doors"] = {
        "folder": {"root": str(tmp_path / "drop")},
        "sftp": {"username": "clinic", "password_hash": hash_password("pw")},
    }
    config.partners_file.write_text(yaml.safe_dump(partners))
    KeyRing({"k1": base64.b64decode(generate_key())}, "k1").save(tmp_path / "ring.json")
    for name in ("EDI_DATABASE_URL", "EDI_PAYLOAD_URL", "EDI_MASTER_KEYS", "EDI_RETENTION_PAYLOAD_DAYS",
                 "EDI_RETENTION_ARCHIVE_DAYS", "EDI_RETENTION_QUARANTINE_DAYS", "EDI_LOOKUP_KEY", "EDI_LOOKUP_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    settings = {"EDI_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(ROOT),
                "EDI_MASTER_KEYS_FILE": str(tmp_path / "ring.json"), "EDI_PARTNERS_FILE": str(config.partners_file),
                "EDI_SFTP_DOOR_ROOT": str(tmp_path / "sftp")}
    for name, value in settings.items():  # the same for this process (the door, the store) and the commands
        monkeypatch.setenv(name, value)
    (tmp_path / "data").mkdir()
    migrate(Settings.from_env().database_url)
    yield dict(os.environ)


def edi(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "edi", *args], cwd=ROOT, env=env, capture_output=True,
                          timeout=120, check=False)


def out(result: subprocess.CompletedProcess[bytes]) -> str:
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout.decode()


def take_in_through_the_folder(env: dict[str, str], drop: Path) -> dict[str, Path]:
    """One file taken in (archived) and one refused whole (quarantined), by the real door."""
    pipeline = open_pipeline(Settings.from_env(env))
    try:
        door = FolderDoor({SUBMITTER_ID: drop}, PipelineIntake(pipeline, {}), settle_seconds=0,
                          keyring=pipeline.payloads.keyring)
        layout = door.layouts[SUBMITTER_ID]
        (layout.inbound / "good.json").write_bytes(request())
        (layout.inbound / "cut.json").write_bytes(request()[:-40])  # truncated: refused whole
        assert sum(door.scan_once() for _ in range(3)) == 2
    finally:
        pipeline.repository.engine.dispose()
    (archived,) = [p for p in layout.archive.rglob("*") if p.is_file()]
    (quarantined,) = list(layout.quarantine.iterdir())
    return {"archive": archived, "quarantine": quarantined, "outbound": layout.outbound}


def test_door_files_are_rotated_retired_and_read_back_audited(env: dict[str, str], tmp_path: Path) -> None:
    files = take_in_through_the_folder(env, tmp_path / "drop")
    ring = KeyRing.from_file(env["EDI_MASTER_KEYS_FILE"])
    sftp_kept = write_sealed(ring, tmp_path / "sftp" / ".quarantine" / SUBMITTER_ID,
                             "20261203T100000-0123456789ab--bad.json", request())
    files["sftp"] = sftp_kept
    # sealed, and the refusal beside the quarantined file names the place, never the content
    assert files["archive"].name.endswith(".enc") and files["quarantine"].name.endswith(".enc")
    for kept in (files["archive"], files["quarantine"], sftp_kept):
        assert not hits(kept.read_bytes()), kept
    error = files["outbound"] / "cut.json.error.json"
    assert json.loads(error.read_text())["status"] == "rejected" and not hits(error.read_bytes())
    assert open_sealed(ring, files["quarantine"]) == request()[:-40]
    before = {kind: (path.name, path.stat().st_mtime_ns) for kind, path in files.items() if kind != "outbound"}

    status = out(edi(env, "keys", "status")).splitlines()
    assert len(status) == 1 and status[0].startswith("k1\t") and status[0].endswith("\t3\tcurrent"), status
    objects = int(status[0].split("\t")[1])
    assert objects > 0  # the taken-in request's payloads, in the store
    assert "added master key k2" in out(edi(env, "keys", "new", "--current"))

    # Every stored payload on k2 now, the door files not yet: k1 must stay.
    settings = Settings.from_env(env)
    engine = make_engine(settings.database_url)
    try:
        done = rotate_payloads(engine, open_payload_store(settings))  # type: ignore[arg-type]
        assert done.rotated + done.addresses == objects  # payloads and the sealed reply address
    finally:
        engine.dispose()
    assert out(edi(env, "keys", "status")).splitlines() == ["k1\t0\t3", f"k2\t{objects}\t0\tcurrent"]
    refused = edi(env, "keys", "retire", "k1")
    assert refused.returncode == 2
    assert "3 door archive or quarantine files are still sealed with 'k1'" in refused.stderr.decode()

    rotated = out(edi(env, "keys", "rotate", "--wait"))
    assert "door files: 3 rewritten, 0 already current, 0 plaintext sealed, 0 failed" in rotated
    assert not hits(rotated.encode())
    assert out(edi(env, "keys", "status")).splitlines() == ["k1\t0\t0", f"k2\t{objects}\t3\tcurrent"]
    for kind, path in files.items():
        if kind != "outbound":  # same name, same age: a rotation never delays a purge
            assert (path.name, path.stat().st_mtime_ns) == before[kind]
    assert "retired k1" in out(edi(env, "keys", "retire", "k1"))
    assert set(KeyRing.from_file(env["EDI_MASTER_KEYS_FILE"]).keys) == {"k2"}

    # Read back with the ring that no longer holds k1, each read audited before it is printed.
    opened = edi(env, "doors", "open", str(files["archive"]), "--actor", "ops:alice")
    assert opened.returncode == 0, opened.stderr.decode()
    assert opened.stdout == request()
    assert edi(env, "doors", "open", str(files["quarantine"])).stdout == request()[:-40]
    assert edi(env, "doors", "open", str(sftp_kept)).stdout == request()
    outside = tmp_path / "elsewhere.0123456789abcdef0123456789abcdef.enc"
    outside.write_bytes(sftp_kept.read_bytes())
    wrong = edi(env, "doors", "open", str(outside))
    assert wrong.returncode == 2 and b"not in the archive or quarantine folder" in wrong.stderr
    assert wrong.stdout == b""
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as connection:
            reads = connection.execute(
                select(AuditEntry.actor, AuditEntry.outcome, AuditEntry.submitter_id, AuditEntry.control_number,
                       AuditEntry.transaction_id).where(AuditEntry.action == "read").order_by(AuditEntry.id)
            ).all()
    finally:
        engine.dispose()
    user = reads[1].actor
    assert user.startswith("cli:")
    assert [tuple(r) for r in reads] == [
        ("ops:alice", "ok", SUBMITTER_ID, f"archive:{payload_id_of(files['archive'])}", None),
        (user, "ok", SUBMITTER_ID, f"quarantine:{payload_id_of(files['quarantine'])}", None),
        (user, "ok", SUBMITTER_ID, f"quarantine:{payload_id_of(sftp_kept)}", None),
    ]
    assert "sealed" in out(edi(env, "audit", "seal"))
    assert "audit trail intact" in out(edi(env, "audit", "verify"))


def test_a_door_file_that_does_not_open_is_reported_and_its_key_kept(env: dict[str, str], tmp_path: Path) -> None:
    stranger = KeyRing({"k9": base64.b64decode(generate_key())}, "k9")
    kept = write_sealed(stranger, tmp_path / "drop" / "quarantine", "20261203T100000-0123456789ab--x.json", request())
    assert out(edi(env, "keys", "status")).splitlines() == ["k1\t0\t0\tcurrent", "k9\t0\t1\tNOT IN RING"]
    rotated = edi(env, "keys", "rotate", "--wait")
    assert rotated.returncode == 1 and b"UnknownKeyError" in rotated.stderr and not hits(rotated.stderr)
    opened = edi(env, "doors", "open", str(kept))
    assert opened.returncode == 1 and opened.stdout == b"" and b"k9" in opened.stderr
    engine = make_engine(Settings.from_env(env).database_url)
    try:
        with engine.connect() as connection:
            outcomes = connection.execute(select(AuditEntry.outcome).where(AuditEntry.action == "read")).scalars()
            assert list(outcomes) == ["unreadable"]  # trying to read is on the trail too
    finally:
        engine.dispose()


def test_rotation_seals_what_an_older_door_quarantined_in_plaintext(env: dict[str, str], tmp_path: Path) -> None:
    quarantine = tmp_path / "drop" / "quarantine"
    quarantine.mkdir(parents=True)
    legacy = quarantine / "20250102T100000-0123456789ab--cut.json"
    legacy.write_bytes(request())
    age = aged(legacy, 3).stat().st_mtime_ns
    in_a_folder = quarantine / "20250102T100001-0123456789ab--folder"  # a refused folder, moved in whole
    in_a_folder.mkdir()
    (in_a_folder / "inside.json").write_bytes(request())
    huge = quarantine / "20250102T100002-0123456789ab--huge.jsonl"
    with open(huge, "wb") as handle:
        handle.truncate(2048)
    link = quarantine / "20250102T100003-0123456789ab--link.json"
    link.symlink_to(tmp_path / "ring.json")
    result = edi({**env, "EDI_DOORS_MAX_BYTES": "1024"}, "keys", "rotate", "--wait")
    assert result.returncode == 0, result.stderr.decode()
    assert "0 rewritten, 0 already current, 2 plaintext sealed, 0 failed" in result.stdout.decode()
    assert b"left in plaintext" in result.stderr and b"huge.jsonl: 2048 bytes" in result.stderr
    assert not legacy.exists() and not (in_a_folder / "inside.json").exists()
    (sealed,) = quarantine.glob("*--cut.json.*.enc")
    (inside,) = in_a_folder.glob("inside.json.*.enc")
    assert sealed.stat().st_mtime_ns == age  # as old as what it replaces: purged on the same day
    for path in (sealed, inside):
        assert not hits(path.read_bytes())
        assert edi(env, "doors", "open", str(path)).stdout == request()
    assert huge.exists() and link.is_symlink() and (tmp_path / "ring.json").exists()
    assert out(edi(env, "keys", "status")).splitlines() == ["k1\t0\t2\tcurrent"]


def aged(path: Path, days: float) -> Path:
    at = time.time() - days * DAY
    os.utime(path, (at, at), follow_symlinks=False)
    return path


def plain(path: Path, days: float) -> Path:
    path.write_bytes(b"{}")
    return aged(path, days)


def test_purge_removes_only_door_files_past_their_retention(env: dict[str, str], tmp_path: Path) -> None:
    ring = KeyRing.from_file(env["EDI_MASTER_KEYS_FILE"])
    drop, sftp = tmp_path / "drop", tmp_path / "sftp" / ".quarantine" / SUBMITTER_ID
    old_day = drop / "archive" / "2018-01-02"
    files = {
        "archive-old": aged(write_sealed(ring, old_day, "20180102T100000-0123456789ab--a.json", b"{}"), 3000),
        "archive-young": aged(write_sealed(ring, drop / "archive" / "2025-06-01", "b.json", b"{}"), 200),
        "quarantine-old": aged(write_sealed(ring, drop / "quarantine", "c.json", b"{}"), 31),
        "quarantine-young": aged(write_sealed(ring, drop / "quarantine", "d.json", b"{}"), 29),
        "sftp-old": aged(write_sealed(ring, sftp, "e.json", b"{}"), 31),
        "sftp-young": aged(write_sealed(ring, sftp, "f.json", b"{}"), 1),
        "plain-old": plain(drop / "quarantine" / "20180102T100000-0123456789ab--g.json", 40),  # a door without keys
        "link-old": drop / "quarantine" / "20180102T100000-0123456789ab--h.json",
        "temp-old": plain(drop / "quarantine" / ".i.json.0123.tmp", 400),  # a writer's: not ours to remove
    }
    files["link-old"].symlink_to(tmp_path / "ring.json")
    aged(files["link-old"], 40)
    home = tmp_path / "sftp" / SUBMITTER_ID / "inbound"  # uploads a stopped SFTP door never answered
    home.mkdir(parents=True)
    files["upload-old"] = plain(home / "claims.json", 2)
    files["upload-part-old"] = plain(home / "claims.json.part", 1.5)
    files["upload-live"] = plain(home / "roster.csv.part", 0.01)
    for folder in (old_day, drop / "archive" / "2025-06-01"):
        aged(folder, 3000)

    dry = out(edi(env, "purge", "--dry-run")).splitlines()
    assert "would remove 1 files; quarantine before" in dry[-2] and dry[-2].endswith("would remove 4 files")
    assert dry[-1] == "SFTP uploads left unanswered: would remove 2 files"
    assert all(p.exists() or p.is_symlink() for p in files.values())

    done = out(edi(env, "purge")).splitlines()
    assert "removed 1 files; quarantine before" in done[-2] and done[-2].endswith("removed 4 files")
    assert done[-1] == "SFTP uploads left unanswered: removed 2 files"
    gone = {k for k, p in files.items() if not (p.exists() or p.is_symlink())}
    assert gone == {"archive-old", "quarantine-old", "sftp-old", "plain-old", "link-old", "upload-old",
                    "upload-part-old"}
    assert not old_day.exists() and (drop / "archive" / "2025-06-01").is_dir()
    assert (tmp_path / "ring.json").exists()  # the link went, never its target

    shorter = out(edi({**env, "EDI_RETENTION_ARCHIVE_DAYS": "100", "EDI_RETENTION_QUARANTINE_DAYS": "7"}, "purge"))
    assert "removed 1 files; quarantine before" in shorter and "removed 1 files\nSFTP uploads" in shorter
    assert {k for k, p in files.items() if p.exists()} == {"sftp-young", "temp-old", "upload-live"}
    refused = edi({**env, "EDI_RETENTION_UNANSWERED_UPLOAD_HOURS": "0.1"}, "purge")
    assert refused.returncode == 2 and b"EDI_RETENTION_UNANSWERED_UPLOAD_HOURS must be at least 1" in refused.stderr
    assert files["upload-live"].exists()


def test_door_file_retention_settings() -> None:
    assert DoorFileRetention.from_env({}) == DoorFileRetention(2557, 30)
    assert DoorFileRetention.from_env({"EDI_RETENTION_PAYLOAD_DAYS": "400"}) == DoorFileRetention(400, 30)
    assert DoorFileRetention.from_env({"EDI_RETENTION_PAYLOAD_DAYS": "400", "EDI_RETENTION_ARCHIVE_DAYS": "90",
                                       "EDI_RETENTION_QUARANTINE_DAYS": "7"}) == DoorFileRetention(90, 7)
    with pytest.raises(ValueError, match="EDI_RETENTION_QUARANTINE_DAYS must be a whole number"):
        DoorFileRetention.from_env({"EDI_RETENTION_QUARANTINE_DAYS": "a month"})


def test_the_sftp_door_quarantines_a_refused_upload_sealed(tmp_path: Path) -> None:
    ring = KeyRing({"k1": base64.b64decode(generate_key())}, "k1")
    intake = RecordingIntake()  # refuses contents starting BAD whole
    thread = SftpIngestThread(tmp_path / "homes", [SftpAccount("clinic", "clinic", hash_password("pw"))], intake,
                              host_key_path=tmp_path / "host_key", keyring=ring)
    server = thread.start()
    content = b"BAD" + request()
    try:
        async def upload() -> None:
            async with connect(server, "clinic", password="pw") as conn, conn.start_sftp_client() as sftp, \
                    sftp.open("/inbound/refused.json", "wb") as handle:
                await handle.write(content)

        asyncio.run(upload())
    finally:
        thread.stop()
    (kept,) = list((tmp_path / "homes" / ".quarantine" / "clinic").iterdir())
    assert kept.name.endswith("." + payload_id_of(kept) + ".enc") and "refused" not in kept.name  # the claim id
    assert not hits(kept.read_bytes()) and open_sealed(ring, kept) == content
    (error,) = list((tmp_path / "homes" / "clinic" / "outbound").iterdir())
    assert error.name == "refused.json.error.json" and not hits(error.read_bytes())
    assert not [p for p in (tmp_path / "homes" / "clinic" / "inbound").iterdir()]

