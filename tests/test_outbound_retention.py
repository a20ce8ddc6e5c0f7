"""Answers in the doors' outbound/ folders do not stay forever: ``edi purge`` removes those picked
up (after a grace period) and those past their age, and nothing else; the SFTP door records a
download as a pick-up itself (real asyncssh client against the real door)."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import asyncssh
import pytest
import yaml

from connectors.ingest.outbound_retention import OutboundRetention, mark_picked_up, purge_outbound
from connectors.ingest.sftp_server import SftpAccount, SftpIngestThread, SftpReplySink, hash_password
from connectors.pipeline.maintenance import run_purge
from connectors.pipeline.sample import SUBMITTER_ID, write_sample_config
from tests.test_ingest_sftp import RecordingIntake, connect

HOUR, DAY = 3600, 86400
POLICY = OutboundRetention(max_age_seconds=30 * DAY, picked_up_seconds=24 * HOUR)


def answer(folder: Path, name: str, *, written_ago: float, read_ago: float | None = None) -> Path:
    """A file written ``written_ago`` seconds ago and, with ``read_ago``, fetched that long ago."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("{}")
    now = time.time()
    written = now - written_ago
    read = now - read_ago if read_ago is not None else written - 1  # never read: access before the write
    os.utime(path, (read, written))
    return path


def layout(folder: Path) -> dict[str, Path]:
    return {
        "old": answer(folder, "old.receipt.json", written_ago=31 * DAY),
        "old-unread-pgp": answer(folder, "old.json.pgp", written_ago=31 * DAY),
        "fetched-yesterday": answer(folder, "a.json", written_ago=2 * DAY, read_ago=25 * HOUR),
        "fetched-today": answer(folder, "b.json", written_ago=2 * DAY, read_ago=HOUR),
        "waiting": answer(folder, "c.json", written_ago=29 * DAY),
        "temp": answer(folder, ".c.json.1234.tmp", written_ago=40 * DAY),
    }


def test_picked_up_and_old_answers_go_the_rest_stays(tmp_path: Path) -> None:
    files = layout(tmp_path / "outbound")
    assert purge_outbound([tmp_path / "outbound", tmp_path / "missing"], POLICY, dry_run=True) == 3
    assert all(p.exists() for p in files.values())  # a dry run only counts
    assert purge_outbound([tmp_path / "outbound"], POLICY) == 3
    assert {k for k, p in files.items() if p.exists()} == {"fetched-today", "waiting", "temp"}
    assert purge_outbound([tmp_path / "outbound"], POLICY) == 0


def test_marking_a_pick_up_needs_no_atime_support(tmp_path: Path) -> None:
    """What the SFTP door does after a download: on a noatime mount it is the only record of it."""
    path = answer(tmp_path, "x.json", written_ago=DAY)
    mtime = path.stat().st_mtime_ns
    mark_picked_up(path)
    assert path.stat().st_atime_ns > path.stat().st_mtime_ns == mtime
    mark_picked_up(tmp_path / "gone.json")  # removed meanwhile: nothing to do, no error


def test_retention_is_configured_from_the_environment() -> None:
    policy = OutboundRetention.from_env({"EDI_RETENTION_OUTBOUND_DAYS": "7",
                                         "EDI_RETENTION_OUTBOUND_PICKED_UP_HOURS": "0.5"})
    assert (policy.max_age_seconds, policy.picked_up_seconds) == (7 * DAY, 1800)
    with pytest.raises(ValueError, match="EDI_RETENTION_OUTBOUND_DAYS"):
        OutboundRetention.from_env({"EDI_RETENTION_OUTBOUND_DAYS": "-1"})


def test_a_download_through_the_sftp_door_counts_as_picked_up(tmp_path: Path) -> None:
    thread = SftpIngestThread(tmp_path / "homes", [SftpAccount("bob", "bob", hash_password("pw-bob"))],
                              RecordingIntake(), host_key_path=tmp_path / "host_key")
    server = thread.start()
    try:
        sink = SftpReplySink(tmp_path / "homes")
        sink.send(sink.address("bob"), "fetched.json", b'{"type": "receipt"}')
        sink.send(sink.address("bob"), "left.json", b'{"type": "receipt"}')
        outbound = tmp_path / "homes" / "bob" / "outbound"
        for path in outbound.iterdir():  # never read so far (on this relatime mount the read itself
            # would mark it too; the door's own mark covers noatime mounts, tested above)
            info = path.stat()
            os.utime(path, ns=(info.st_mtime_ns - 10**9, info.st_mtime_ns))

        async def fetch() -> bytes:
            async with connect(server, "bob", password="pw-bob") as conn, conn.start_sftp_client() as sftp, \
                    sftp.open("/outbound/fetched.json", "rb") as handle:
                return await handle.read()

        assert asyncio.run(fetch()) == b'{"type": "receipt"}'
        fetched, left = (outbound / "fetched.json").stat(), (outbound / "left.json").stat()
        assert fetched.st_atime_ns > fetched.st_mtime_ns and left.st_atime_ns < left.st_mtime_ns
        # right away nothing goes (the grace period); with no grace the fetched one goes, only it
        assert purge_outbound([outbound], POLICY) == 0
        assert purge_outbound([outbound], OutboundRetention(30 * DAY, 0)) == 1
        assert sorted(p.name for p in outbound.iterdir()) == ["left.json"]
    finally:
        thread.stop()


def test_edi_purge_cleans_every_doors_outbound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    host_key = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()
    config = write_sample_config(tmp_path / "cfg", core_url="http://127.0.0.1:9/core", sftp_port=2222,
                                 known_hosts_line=f"[127.0.0.1]:2222 {host_key}")
    partners = yaml.safe_load(config.partners_file.read_text())
    partners["submitters"][SUBMITTER_ID]["doors"] = {
        "folder": {"root": str(tmp_path / "drop")},
        "sftp": {"username": "clinic", "password_hash": hash_password("pw")},
    }
    config.partners_file.write_text(yaml.safe_dump(partners))
    folder = layout(tmp_path / "drop" / "outbound")
    sftp = layout(tmp_path / "data" / "doors" / "sftp" / SUBMITTER_ID / "outbound")
    for name in ("EDI_DATABASE_URL", "EDI_PAYLOAD_URL", "EDI_MASTER_KEYS_FILE", "EDI_SFTP_DOOR_ROOT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("EDI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("EDI_MASTER_KEYS", '{"keys": {"k1": "' + "A" * 43 + '="}, "current": "k1"}')
    monkeypatch.setenv("EDI_PARTNERS_FILE", str(config.partners_file))
    monkeypatch.setenv("EDI_SFTP_DOOR_ROOT", str(tmp_path / "data" / "doors" / "sftp"))
    from edi.settings import Settings
    from edi.store import migrate

    migrate(Settings.from_env().database_url)
    assert run_purge(dry_run=True).outbound_files == 6
    assert run_purge().outbound_files == 6
    for files in (folder, sftp):
        assert {k for k, p in files.items() if p.exists()} == {"fetched-today", "waiting", "temp"}
