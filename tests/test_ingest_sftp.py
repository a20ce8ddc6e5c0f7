"""The submitters' SFTP door, driven by real clients: asyncssh and OpenSSH's ``sftp -b``.

The pipeline is not needed to prove the door's promises (confinement, logins, hand-over on close,
nothing from a broken upload), so the Intake here is `RecordingIntake`, a test double that keeps
what it was given and refuses contents starting with ``BAD``.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import asyncssh
import pytest

from connectors.ingest.door import IntakeReceipt, ItemError, ReplyAddress, Submission
from connectors.ingest.sftp_server import (
    SftpAccount,
    SftpIngestServer,
    SftpIngestThread,
    SftpReplySink,
    hash_password,
    load_accounts,
    verify_password,
)
from tests.servers.sshd import ClientKey, make_client_key

ROOT = Path(__file__).parent.parent
ALICE_PASSWORD = "correct horse battery staple"
BOB_PASSWORD = "bob's own secret"


class RecordingIntake:
    """Test double for the pipeline's Intake: records submissions; refuses contents starting BAD."""

    def __init__(self) -> None:
        self.submissions: list[Submission] = []
        self.fail_next = False
        self._lock = threading.Lock()

    def __call__(self, submission: Submission) -> IntakeReceipt:
        with self._lock:
            if self.fail_next:
                self.fail_next = False
                raise RuntimeError("store unavailable")
            self.submissions.append(submission)
        if submission.content.startswith(b"BAD"):
            return IntakeReceipt(rejected=[ItemError("file", "not X12 or CSV: no ISA segment, no header row")])
        return IntakeReceipt(accepted=[f"tx-{len(self.submissions)}"])

    def names(self) -> list[tuple[str, str]]:
        return [(s.submitter_id, s.name) for s in self.submissions]


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ClientKey]:
    directory = tmp_path_factory.mktemp("keys")
    return {"alice": make_client_key(directory, "alice"), "mallory": make_client_key(directory, "mallory")}


@pytest.fixture
def intake() -> RecordingIntake:
    return RecordingIntake()


@pytest.fixture
def door(tmp_path: Path, keys: dict[str, ClientKey], intake: RecordingIntake) -> Iterator[SftpIngestServer]:
    accounts = [
        SftpAccount("alice", "alice", hash_password(ALICE_PASSWORD), (keys["alice"].public_line,)),
        SftpAccount("bob", "bob", hash_password(BOB_PASSWORD)),
    ]
    thread = SftpIngestThread(tmp_path / "homes", accounts, intake, host_key_path=tmp_path / "host_key")
    server = thread.start()
    try:
        yield server
    finally:
        thread.stop()


def known_hosts(server: SftpIngestServer, directory: Path) -> Path:
    path = directory / "known_hosts"
    path.write_text(server.known_hosts_line())
    return path


def connect(server: SftpIngestServer, username: str, *, key: ClientKey | None = None, password: str | None = None):
    return asyncssh.connect(
        server.host,
        server.port,
        username=username,
        known_hosts=asyncssh.import_known_hosts(server.known_hosts_line()),
        client_keys=[str(key.private_path)] if key else [],
        password=password,
        preferred_auth=("publickey",) if key else ("password",),
        agent_path=None,
        config=None,
    )


def wait_for(predicate, what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


# -- configuration and passwords -------------------------------------------------------------------


def test_passwords_are_kept_as_scrypt_hashes_only(tmp_path: Path) -> None:
    stored = hash_password("s3cret")
    assert "s3cret" not in stored and stored.startswith("scrypt$")
    assert verify_password("s3cret", stored)
    assert not verify_password("s3cret!", stored)
    config = tmp_path / "accounts.yaml"
    config.write_text("accounts:\n  - submitter: clinic\n    password: s3cret\n")
    with pytest.raises(ValueError, match="password_hash"):
        load_accounts(config)
    config.write_text(f"accounts:\n  - submitter: clinic\n    username: c1\n    password_hash: '{stored}'\n")
    [account] = load_accounts(config)
    assert (account.submitter_id, account.username) == ("clinic", "c1")
    with pytest.raises(ValueError, match="scrypt"):
        SftpAccount("clinic", "c1", password_hash="s3cret")
    with pytest.raises(ValueError, match="authorized_keys, a password_hash"):
        SftpAccount("clinic", "c1")


def test_host_key_is_generated_once_and_kept(tmp_path: Path, intake: RecordingIntake) -> None:
    account = SftpAccount("bob", "bob", hash_password(BOB_PASSWORD))
    lines = []
    for _ in range(2):
        with SftpIngestThread(tmp_path / "homes", [account], intake, host_key_path=tmp_path / "hk") as server:
            lines.append(server.host_key_public)
    assert (tmp_path / "hk").stat().st_mode & 0o777 == 0o600
    assert lines[0] == lines[1] and lines[0].startswith("ssh-ed25519 ")


# -- asyncssh client -------------------------------------------------------------------------------


def test_key_login_upload_is_taken_in_on_close(door: SftpIngestServer, keys, intake: RecordingIntake) -> None:
    content = b"ISA*00*" + os.urandom(2000) + b"~"

    async def run() -> list[str]:
        async with connect(door, "alice", key=keys["alice"]) as conn, conn.start_sftp_client() as sftp:
            async with sftp.open("/inbound/batch-1.x12", "wb") as f:
                await f.write(content[:1000])
                assert intake.submissions == []  # not before the close
                await f.write(content[1000:])
            # the close was answered after the Intake returned
            assert intake.names() == [("alice", "batch-1.x12")]
            return await sftp.listdir("/inbound")

    remaining = asyncio.run(run())
    [submission] = intake.submissions
    assert submission.content == content and submission.channel == "sftp"
    assert submission.reply == ReplyAddress("sftp", str(door.root / "alice" / "outbound"))
    assert sorted(remaining) == [".", ".."]  # taken in, not left behind


def test_password_login_and_wrong_password(door: SftpIngestServer, intake: RecordingIntake) -> None:
    async def upload() -> None:
        async with (
            connect(door, "bob", password=BOB_PASSWORD) as conn,
            conn.start_sftp_client() as sftp,
            sftp.open("inbound/claims.csv", "wb") as f,
        ):
            await f.write(b"claim_id,amount\n1,10.00\n")

    async def refused(username: str, password: str) -> None:
        with pytest.raises(asyncssh.PermissionDenied):
            async with connect(door, username, password=password):
                pass

    asyncio.run(refused("bob", "wrong"))
    asyncio.run(refused("bob", ALICE_PASSWORD))
    asyncio.run(refused("nobody", BOB_PASSWORD))
    asyncio.run(upload())
    assert intake.names() == [("bob", "claims.csv")]


def test_wrong_key_is_refused(door: SftpIngestServer, keys) -> None:
    async def run() -> None:
        with pytest.raises(asyncssh.PermissionDenied):
            async with connect(door, "alice", key=keys["mallory"]):
                pass
        with pytest.raises(asyncssh.PermissionDenied):  # bob has no keys at all
            async with connect(door, "bob", key=keys["alice"]):
                pass

    asyncio.run(run())


def test_submitters_cannot_see_each_other(door: SftpIngestServer, keys) -> None:
    sink = SftpReplySink(door.root)
    sink.send(sink.address("alice"), "batch-1.999.json", b'{"ack": "A"}')

    async def run() -> None:
        async with connect(door, "bob", password=BOB_PASSWORD) as conn, conn.start_sftp_client() as sftp:
            assert sorted(await sftp.listdir("/")) == [".", "..", "inbound", "outbound"]
            assert await sftp.listdir("/outbound") == [".", ".."]
            for path in ("/../alice/outbound/batch-1.999.json", "../alice/outbound/batch-1.999.json",
                         "/alice/outbound/batch-1.999.json", "/outbound/../../alice/outbound"):
                with pytest.raises(asyncssh.SFTPPermissionDenied):
                    await sftp.stat(path)
        async with connect(door, "alice", key=keys["alice"]) as conn, conn.start_sftp_client() as sftp:
            assert "batch-1.999.json" in await sftp.listdir("/outbound")
            async with sftp.open("/outbound/batch-1.999.json", "rb") as f:
                assert await f.read() == b'{"ack": "A"}'
            await sftp.remove("/outbound/batch-1.999.json")
            assert await sftp.listdir("/outbound") == [".", ".."]

    asyncio.run(run())


def test_traversal_links_and_wrong_places_are_refused_and_the_server_keeps_serving(
    door: SftpIngestServer, keys, intake: RecordingIntake
) -> None:
    home = door.root / "alice"
    os.symlink("/etc/passwd", home / "outbound" / "planted")  # a link put there behind our back
    os.symlink(door.root / "bob" / "inbound", home / "outbound" / "to-bob")

    async def run() -> list[str]:
        messages = []
        async with connect(door, "alice", key=keys["alice"]) as conn, conn.start_sftp_client() as sftp:

            async def refused(operation) -> None:
                with pytest.raises(asyncssh.SFTPPermissionDenied) as caught:
                    await operation
                messages.append(caught.value.reason)

            await refused(sftp.open("/../../etc/passwd", "rb"))
            await refused(sftp.open("/etc/passwd", "rb"))
            await refused(sftp.open("/outbound/planted", "rb"))
            await refused(sftp.realpath("/outbound/planted"))
            await refused(sftp.readlink("/outbound/planted"))
            await refused(sftp.listdir("/outbound/to-bob"))
            await refused(sftp.symlink("/etc/passwd", "/inbound/link"))
            await refused(sftp.symlink("../outbound", "/inbound/link"))
            await refused(sftp.link("/inbound/x", "/inbound/y"))
            await refused(sftp.open("/outbound/answer.json", "wb"))
            await refused(sftp.open("/home-file", "wb"))
            await refused(sftp.open("/inbound/../../bob/inbound/x", "wb"))
            await refused(sftp.mkdir("/inbound/sub"))
            await refused(sftp.open("/inbound/.hidden", "wb"))
            await refused(sftp.rename("/outbound/planted", "/inbound/x"))
            # still serving, same session
            async with sftp.open("/inbound/after.x12", "wb") as f:
                await f.write(b"ISA*after~")
        return messages

    messages = asyncio.run(run())
    assert any("leaves your home folder" in m for m in messages)
    assert any("only /inbound and /outbound are served" in m for m in messages)
    assert any("links" in m for m in messages)
    assert any("uploads go directly into /inbound" in m for m in messages)
    assert any("must not start with '.'" in m for m in messages)
    assert intake.names() == [("alice", "after.x12")]
    assert not (home / "inbound" / "link").exists() and os.listdir(door.root / "bob" / "inbound") == []


def test_refused_content_is_answered_in_outbound(door: SftpIngestServer, keys, intake: RecordingIntake) -> None:
    async def run() -> bytes:
        async with connect(door, "alice", key=keys["alice"]) as conn, conn.start_sftp_client() as sftp:
            async with sftp.open("/inbound/junk.txt", "wb") as f:
                await f.write(b"BAD stuff")
            async with sftp.open("/outbound/junk.txt.error.json", "rb") as f:
                return await f.read()

    answer = json.loads(asyncio.run(run()))
    assert answer["name"] == "junk.txt" and answer["accepted"] == []
    assert answer["rejected"][0]["reason"].startswith("not X12 or CSV")
    assert not (door.root / ".staging").exists() or os.listdir(door.root / ".staging") == []


def test_intake_failure_fails_the_close_so_the_client_retries(
    door: SftpIngestServer, keys, intake: RecordingIntake
) -> None:
    intake.fail_next = True

    async def run() -> None:
        async with connect(door, "alice", key=keys["alice"]) as conn, conn.start_sftp_client() as sftp:
            with pytest.raises(asyncssh.SFTPFailure, match="not taken in"):
                async with sftp.open("/inbound/a.x12", "wb") as f:
                    await f.write(b"ISA*a~")
            await sftp.put(__file__, "/inbound/again.py")

    asyncio.run(run())
    assert intake.names() == [("alice", "again.py")]
    assert intake.submissions[0].content == Path(__file__).read_bytes()


def test_oversized_upload_is_refused_and_not_taken_in(tmp_path: Path, intake: RecordingIntake) -> None:
    account = SftpAccount("bob", "bob", hash_password(BOB_PASSWORD))
    thread = SftpIngestThread(tmp_path / "homes", [account], intake, host_key_path=tmp_path / "hk", max_bytes=1000)

    async def run(server: SftpIngestServer) -> None:
        async with connect(server, "bob", password=BOB_PASSWORD) as conn, conn.start_sftp_client() as sftp:
            with pytest.raises(asyncssh.SFTPFailure, match="larger than 1000 bytes"):
                async with sftp.open("/inbound/big.x12", "wb") as f:
                    await f.write(b"I" * 5000)
            async with sftp.open("/inbound/small.x12", "wb") as f:
                await f.write(b"I" * 1000)

    with thread as server:
        asyncio.run(run(server))
        assert os.listdir(server.root / "bob" / "inbound") == []
    assert intake.names() == [("bob", "small.x12")]


def test_temporary_name_is_taken_in_when_renamed(door: SftpIngestServer, keys, intake: RecordingIntake) -> None:
    async def run() -> None:
        async with connect(door, "alice", key=keys["alice"]) as conn, conn.start_sftp_client() as sftp:
            async with sftp.open("/inbound/b.x12.filepart", "wb") as f:
                await f.write(b"ISA*b~")
            assert intake.submissions == []
            await sftp.rename("/inbound/b.x12.filepart", "/inbound/b.x12")

    asyncio.run(run())
    assert intake.names() == [("alice", "b.x12")] and intake.submissions[0].content == b"ISA*b~"


def test_session_dropped_mid_upload_leaves_no_submission(door: SftpIngestServer, keys, intake) -> None:
    async def run() -> None:
        conn = await connect(door, "alice", key=keys["alice"])
        sftp = await conn.start_sftp_client()
        f = await sftp.open("/inbound/half.x12", "wb")
        await f.write(b"ISA*" + b"x" * 50_000)
        await sftp.stat("/inbound/half.x12")  # the data reached the server
        conn.abort()

    asyncio.run(run())
    wait_for(lambda: not (door.root / "alice" / "inbound" / "half.x12").exists(), "the partial file to go")
    assert intake.submissions == []


KILLED_CLIENT = """
import asyncio, sys, asyncssh
async def main():
    conn = await asyncssh.connect("127.0.0.1", int(sys.argv[1]), username="alice", client_keys=[sys.argv[2]],
                                  known_hosts=sys.argv[3], agent_path=None, config=None)
    sftp = await conn.start_sftp_client()
    f = await sftp.open("/inbound/killed.x12", "wb")
    await f.write(b"ISA*" + b"y" * 100_000)
    await sftp.stat("/inbound/killed.x12")
    print("written", flush=True)
    await asyncio.sleep(60)
asyncio.run(main())
"""


def test_client_killed_mid_upload_leaves_no_submission(
    door: SftpIngestServer, keys, intake: RecordingIntake, tmp_path: Path
) -> None:
    hosts = known_hosts(door, tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_CLIENT, str(door.port), str(keys["alice"].private_path), str(hosts)],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == b"written\n"
        assert (door.root / "alice" / "inbound" / "killed.x12").exists()
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    wait_for(lambda: not (door.root / "alice" / "inbound" / "killed.x12").exists(), "the partial file to go")
    assert intake.submissions == []

    async def again() -> None:
        async with (
            connect(door, "alice", key=keys["alice"]) as conn,
            conn.start_sftp_client() as sftp,
            sftp.open("/inbound/whole.x12", "wb") as f,
        ):
            await f.write(b"ISA*whole~")

    asyncio.run(again())
    assert intake.names() == [("alice", "whole.x12")]


# -- OpenSSH sftp ----------------------------------------------------------------------------------


def openssh_sftp(
    server: SftpIngestServer, directory: Path, username: str, batch: str, *, key: ClientKey | None = None,
    password: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``sftp -b`` against the door; a password comes from an SSH_ASKPASS script."""
    (directory / "batch").write_text(batch)
    options = ["-F", "/dev/null", "-o", f"UserKnownHostsFile={known_hosts(server, directory)}",
               "-o", "StrictHostKeyChecking=yes", "-o", "IdentitiesOnly=yes", "-P", str(server.port)]
    env = {k: v for k, v in os.environ.items() if k != "SSH_AUTH_SOCK"}
    if key is not None:
        options += ["-i", str(key.private_path), "-o", "PreferredAuthentications=publickey"]
    else:
        askpass = directory / "askpass.sh"
        (directory / "password").write_text(password or "")
        askpass.write_text(f"#!/bin/sh\ncat {directory / 'password'}\n")
        askpass.chmod(0o700)
        # BatchMode (which -b sets) would forbid asking; given first, this value wins
        options = ["-o", "BatchMode=no", "-o", "PreferredAuthentications=password",
                   "-o", "NumberOfPasswordPrompts=1", *options]
        env.update(SSH_ASKPASS=str(askpass), SSH_ASKPASS_REQUIRE="force", DISPLAY=":0")
    return subprocess.run(
        ["sftp", *options, "-b", str(directory / "batch"), f"{username}@{server.host}"],
        capture_output=True, text=True, timeout=60, env=env, stdin=subprocess.DEVNULL,
    )


def test_openssh_key_login_put_get_remove(door: SftpIngestServer, keys, intake, tmp_path: Path) -> None:
    upload = tmp_path / "837p.x12"
    upload.write_bytes(b"ISA*00*" + os.urandom(70_000) + b"~")
    sink = SftpReplySink(door.root)
    sink.send(sink.address("alice"), "837p.x12.999.json", b'{"999": "A"}')
    result = openssh_sftp(
        door, tmp_path, "alice",
        f"put {upload} /inbound/837p.x12\nls -1 /outbound\nget /outbound/837p.x12.999.json {tmp_path}/got.json\n"
        "rm /outbound/837p.x12.999.json\nrm /outbound/837p.x12.receipt.json\nls -1 /outbound\n",
        key=keys["alice"],
    )
    assert result.returncode == 0, result.stderr
    assert intake.names() == [("alice", "837p.x12")]
    assert intake.submissions[0].content == upload.read_bytes()
    assert (tmp_path / "got.json").read_bytes() == b'{"999": "A"}'
    assert os.listdir(door.root / "alice" / "outbound") == []


def test_openssh_password_login_and_refusals(door: SftpIngestServer, intake, tmp_path: Path) -> None:
    (tmp_path / "f.csv").write_text("claim_id\n1\n")
    bad = openssh_sftp(door, tmp_path, "bob", "ls /\n", password="not bob's")
    assert bad.returncode != 0 and "Permission denied" in bad.stderr
    assert intake.submissions == []
    # '-' lets the batch go on after a refused command: the same session keeps serving
    result = openssh_sftp(
        door, tmp_path, "bob",
        f"-put {tmp_path}/f.csv /outbound/f.csv\n-put {tmp_path}/f.csv ../alice/inbound/f.csv\n"
        f"-get /etc/passwd {tmp_path}/passwd\n-get ../../../../etc/passwd {tmp_path}/passwd\n"
        "-symlink /etc/passwd /inbound/p\n-mkdir /inbound/d\n"
        f"put {tmp_path}/f.csv /inbound/f.csv\nls /inbound\n",
        password=BOB_PASSWORD,
    )
    assert result.returncode == 0, result.stderr
    refusals = result.stderr.splitlines()
    assert len(refusals) == 6, result.stderr
    # OpenSSH's get globs first and reports any refused stat as "not found"
    assert all(line.endswith(("Permission denied", "not found.")) for line in refusals), result.stderr
    assert sum(line.endswith("Permission denied") for line in refusals) == 4, result.stderr
    assert not (tmp_path / "passwd").exists()
    assert intake.names() == [("bob", "f.csv")]
    assert os.listdir(door.root / "alice" / "inbound") == []


def test_openssh_killed_mid_upload_leaves_no_submission(door: SftpIngestServer, keys, intake, tmp_path: Path) -> None:
    big = tmp_path / "big.x12"
    big.write_bytes(os.urandom(64 * 1024 * 1024))
    (tmp_path / "batch").write_text(f"put {big} /inbound/big.x12\n")
    partial = door.root / "alice" / "inbound" / "big.x12"
    hosts = known_hosts(door, tmp_path)
    process = subprocess.Popen(
        ["sftp", "-F", "/dev/null", "-o", f"UserKnownHostsFile={hosts}", "-o", "IdentitiesOnly=yes",
         "-i", str(keys["alice"].private_path), "-P", str(door.port), "-b", str(tmp_path / "batch"),
         f"alice@{door.host}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: partial.exists() and partial.stat().st_size > 0, "the upload to start", timeout=60)
    finally:
        process.kill()  # SIGKILL: sftp and its ssh child lose the connection mid-upload
        process.wait()
    wait_for(lambda: not partial.exists(), "the partial file to go")
    assert intake.submissions == []
    result = openssh_sftp(door, tmp_path, "alice", f"put {tmp_path / 'batch'} /inbound/small\n", key=keys["alice"])
    assert result.returncode == 0, result.stderr
    assert intake.names() == [("alice", "small")]
