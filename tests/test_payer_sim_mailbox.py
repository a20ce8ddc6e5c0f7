"""The payer simulator's batch mailbox: 837 files in; 999, 277CA and later an 835 out.

The 837s are the engine's own (`claims_to_837p`, the claims of `tests.test_payer_sim_rules`) and
the answers are read back with the engine's readers. The mailbox is driven directly on a
directory, then end to end through the simulator's asyncssh SFTP server, through a real OpenSSH
``sshd`` serving the same directory, and as the ``edi payer-sim`` program.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from connectors.payer_sim import load_roster, load_rules
from connectors.payer_sim.mailbox import Mailbox
from connectors.payer_sim.roster import Roster
from connectors.payer_sim.rules import Rules
from connectors.payer_sim.sftp_server import SftpServerThread
from connectors.sftp import SftpAuthError, SftpMailboxClient, SftpRemoteError
from edi.mappers.acknowledgments import x12_999_to_acks, x12_to_ta1
from edi.mappers.claim_acknowledgment import x12_277ca_to_reports
from edi.mappers.professional import claims_to_837p
from edi.mappers.remittance import x12_835_to_reports
from edi.partners import SecretRef, SftpTransport
from edi.x12.validator import validate
from tests.servers.children import first_line, stop
from tests.servers.sshd import ClientKey, Sshd, make_client_key, sshd, sshd_key
from tests.test_payer_sim_rules import BATCH, claim, engine_envelope

__all__ = ["sshd", "sshd_key"]  # fixtures, imported for pytest

ROOT = Path(__file__).parent.parent
ROSTER = ROOT / "tests" / "fixtures" / "payer_sim" / "roster.yaml"
RULES = ROOT / "tests" / "fixtures" / "payer_sim" / "rules.yaml"
NOW = datetime(2024, 5, 1, 10, 15)
ACCEPTED = {pcn for pcn, *_, accepted, _ in BATCH if accepted}


@pytest.fixture(scope="module")
def roster() -> Roster:
    return load_roster(ROSTER)


@pytest.fixture(scope="module")
def rules() -> Rules:
    return load_rules(RULES)


def x12_837(interchange: int = 500) -> bytes:
    claims = [claim(pcn, member, charges, code) for pcn, member, charges, code, _, _ in BATCH]
    return claims_to_837p(claims, engine_envelope(interchange)).encode()


def mailbox(root: Path, rules: Rules, roster: Roster, delay: float = 60.0) -> Mailbox:
    return Mailbox(root, rules, roster, sender_id="SIMPLAN01", payment_delay_seconds=delay)


def outbound(box: Mailbox, prefix: str = "") -> list[str]:
    return sorted(p.name for p in box.outbound.iterdir() if p.name.startswith(prefix))


def received(root: Path) -> list[dict[str, Any]]:
    path = root / "received.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def assert_valid(text: bytes) -> None:
    report = validate(text)
    assert [f.code for f in report.all_findings() if f.severity == "error"] == []


def paid_claims(text_835: bytes) -> dict[str, str]:
    (remit,) = x12_835_to_reports(text_835)
    (tx,) = remit.transactions
    return {
        p.claim_payment_info.patient_control_number: p.claim_payment_info.payer_claim_control_number
        for d in tx.detail_info
        for p in d.payment_info
    }


def check_answers(files: dict[str, bytes], interchange: str = "000000500") -> None:
    """The 999 accepts the set, the 277CA splits 3 / 5, the 835 pays exactly the accepted claims."""
    (ack,) = x12_999_to_acks(files["999"])
    assert ack.functional_group_acknowledge_code == "A"
    (report,) = x12_277ca_to_reports(files["277CA"])
    receiver = report.transactions[0].payers[0].claim_status_transactions[0]
    assert (receiver.total_accepted_quantity, receiver.total_rejected_quantity) == ("3", "5")
    paid = paid_claims(files["835"])
    assert set(paid) == ACCEPTED
    for kind in ("999", "277CA", "835"):
        assert_valid(files[kind])
        isa = files[kind].decode().split("~")[0].split("*")
        assert isa[8].strip() == "ENGINE01"  # addressed back to the submitter
        assert isa[6].strip() == "SIMPLAN01"


# ================================================================================ on a directory


def test_837_gets_999_and_277ca_then_835_for_accepted_claims(
    tmp_path: Path, rules: Rules, roster: Roster
) -> None:
    box = mailbox(tmp_path, rules, roster, delay=30)
    (box.inbound / "batch-1.x12").write_bytes(x12_837())
    (box.inbound / "batch-2.x12.part").write_bytes(b"half an upload")
    (box.inbound / ".uploading").write_bytes(b"hidden")

    assert box.process_once(NOW) == 1
    assert outbound(box) == ["277CA_000000500_000000002.x12", "999_000000500_000000001.x12"]
    assert sorted(p.name for p in box.inbound.iterdir()) == [".uploading", "batch-2.x12.part"]
    assert [p.name for p in box.archive.iterdir()] == ["000000002_batch-1.x12"]
    log = received(tmp_path)
    assert [(r["patient_control_number"], r["accepted"]) for r in log] == [(b[0], b[4]) for b in BATCH]
    assert {r["interchange"] for r in log} == {"000000500"} and {r["sender"] for r in log} == {"ENGINE01"}
    assert all((r["payer_claim_control_number"] is not None) == r["accepted"] for r in log)
    assert set(log[0]) == {
        "interchange",
        "sender",
        "patient_control_number",
        "accepted",
        "payer_claim_control_number",
    }

    assert box.process_once(NOW) == 0
    assert box.pay_due(NOW + timedelta(seconds=29)) == 0
    assert box.pay_due(NOW + timedelta(seconds=30)) == 1
    assert box.pay_due(NOW + timedelta(days=1)) == 0  # paid once
    (name_835,) = outbound(box, "835_")
    assert name_835 == "835_000000500_000000003.x12"
    files = {n.split("_")[0]: (box.outbound / n).read_bytes() for n in outbound(box)}
    check_answers(files)
    numbers = {r["patient_control_number"]: r["payer_claim_control_number"] for r in log if r["accepted"]}
    assert paid_claims(files["835"]) == numbers  # the 835 uses the 277CA's claim numbers
    assert not any(p.name.endswith(".part") for p in box.outbound.iterdir())


def test_duplicate_interchange_gets_ta1_025_and_no_second_adjudication(
    tmp_path: Path, rules: Rules, roster: Roster
) -> None:
    box = mailbox(tmp_path, rules, roster)
    data = x12_837(700)
    (box.inbound / "a.x12").write_bytes(data)
    box.process_once(NOW)
    (box.inbound / "a.x12").write_bytes(data)  # sent again, same name
    (box.inbound / "b.x12").write_bytes(data)  # and under another name
    assert box.process_once(NOW) == 2

    ta1_files = outbound(box, "TA1_")
    assert ta1_files == ["TA1_000000700_000000003.x12", "TA1_000000700_000000004.x12"]
    for name in ta1_files:
        (ta1,) = x12_to_ta1((box.outbound / name).read_bytes())
        assert (ta1.interchange_control_number, ta1.acknowledgment_code, ta1.note_code) == (
            "000000700",
            "R",
            "025",
        )
    assert len(outbound(box, "999_")) == 1 and len(outbound(box, "277CA_")) == 1
    assert len(received(tmp_path)) == len(BATCH)  # adjudicated once
    assert len(list(box.archive.iterdir())) == 3 and not list(box.inbound.iterdir())
    assert box.pay_due(NOW + timedelta(hours=1)) == 1  # and paid once

    # the same ISA13 from another submitter is not a duplicate
    other = data.replace(b"*ZZ*ENGINE01       *", b"*ZZ*ENGINE02       *", 1)
    (box.inbound / "c.x12").write_bytes(other)
    box.process_once(NOW)
    assert len(outbound(box, "999_")) == 2 and len(outbound(box, "TA1_")) == 2


def test_restart_keeps_counter_duplicates_and_pending_payments(
    tmp_path: Path, rules: Rules, roster: Roster
) -> None:
    first = mailbox(tmp_path, rules, roster, delay=60)
    (first.inbound / "a.x12").write_bytes(x12_837(801))
    first.process_once(NOW)
    assert first.pay_due(NOW) == 0
    del first  # the simulator stops with a payment owed

    second = mailbox(tmp_path, rules, roster, delay=60)
    (second.inbound / "b.x12").write_bytes(x12_837(802))
    (second.inbound / "c.x12").write_bytes(x12_837(801))  # seen before the restart
    second.process_once(NOW)
    assert outbound(second, "999_") == ["999_000000801_000000001.x12", "999_000000802_000000003.x12"]
    assert outbound(second, "TA1_") == ["TA1_000000801_000000005.x12"]
    assert second.pay_due(NOW + timedelta(seconds=60)) == 2
    assert outbound(second, "835_") == ["835_000000801_000000006.x12", "835_000000802_000000007.x12"]

    third = mailbox(tmp_path, rules, roster)
    assert third.pay_due(NOW + timedelta(days=1)) == 0  # nothing paid twice
    (third.inbound / "d.x12").write_bytes(x12_837(803))
    third.process_once(NOW)
    assert outbound(third, "999_")[-1] == "999_000000803_000000008.x12"
    numbers = [int(n.rsplit("_", 1)[1].split(".")[0]) for n in outbound(third)]
    assert len(numbers) == len(set(numbers))  # no control number used twice
    for name in outbound(third, "835_"):
        assert set(paid_claims((third.outbound / name).read_bytes())) == ACCEPTED


def test_unreadable_file_is_archived_unanswered(tmp_path: Path, rules: Rules, roster: Roster) -> None:
    box = mailbox(tmp_path, rules, roster)
    (box.inbound / "junk.txt").write_bytes(b"not x12 at all")
    assert box.process_once(NOW) == 1
    assert outbound(box) == [] and received(tmp_path) == []
    assert [p.name for p in box.archive.iterdir()] == ["000000001_junk.txt"]


def test_run_loop_stops_on_event(tmp_path: Path, rules: Rules, roster: Roster) -> None:
    box = mailbox(tmp_path, rules, roster, delay=0)
    stop = threading.Event()
    thread = threading.Thread(target=box.run, args=(stop, 0.02))
    thread.start()
    try:
        (box.inbound / "a.x12").write_bytes(x12_837())
        wait_for(lambda: len(outbound(box)) == 3)
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive()


# ================================================================================ over SFTP


def wait_for(condition: Callable[[], Any], timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.05)
    pytest.fail("condition not met in time")


def collect(client: SftpMailboxClient, kinds: tuple[str, ...] = ("999", "277CA", "835")) -> dict[str, bytes]:
    """What the engine's poller does: wait for the answers, fetch them, clear them from the mailbox."""

    def ready() -> bool:
        names = {f.name.split("_")[0] for f in client.list_outbound()}
        return set(kinds) <= names

    wait_for(ready)
    files = {}
    for f in client.list_outbound():
        files[f.name.split("_")[0]] = client.download(f.name)
        client.remove(f.name)
    assert client.list_outbound() == []
    return files


@pytest.fixture
def running_mailbox(tmp_path: Path, rules: Rules, roster: Roster) -> Iterator[Mailbox]:
    box = mailbox(tmp_path / "mailbox", rules, roster, delay=0.2)
    stop = threading.Event()
    thread = threading.Thread(target=box.run, args=(stop, 0.05), daemon=True)
    thread.start()
    yield box
    stop.set()
    thread.join(5)


def test_full_loop_through_the_simulators_sftp_server(running_mailbox: Mailbox, tmp_path: Path) -> None:
    key = make_client_key(tmp_path)
    authorized = tmp_path / "authorized_keys"
    authorized.write_text(key.public_line + "\n")
    server = SftpServerThread(
        running_mailbox.root,
        host="127.0.0.1",
        port=0,
        authorized_keys=authorized,
        username="engine",
        password="s3cret",
    )
    port = server.start()
    try:
        assert server.server is not None
        known = tmp_path / "known_hosts"
        known.write_text(server.server.known_hosts_line())
        settings = SftpTransport.model_validate(
            {
                "host": "127.0.0.1",
                "port": port,
                "username": "engine",
                "private_key": {"file": str(key.private_path)},
                "known_hosts": str(known),
                "inbound_dir": "/inbound",
                "outbound_dir": "/outbound",
            }
        )
        with SftpMailboxClient(settings) as client:
            client.upload("claims-500.x12", x12_837())
            check_answers(collect(client))
            client.upload("claims-500-again.x12", x12_837())
            (ta1,) = x12_to_ta1(collect(client, ("TA1",))["TA1"])
            assert ta1.note_code == "025"
        assert len(received(running_mailbox.root)) == len(BATCH)

        by_password = settings.model_copy(update={"private_key": None, "password": SecretRef(env="PW")})
        with SftpMailboxClient(by_password, environ={"PW": "s3cret"}) as client:
            assert client.list_outbound() == []
        archive = by_password.model_copy(update={"outbound_dir": "/archive"})
        # only inbound and outbound are served
        with SftpMailboxClient(archive, environ={"PW": "s3cret"}) as client, pytest.raises(SftpRemoteError):
            client.list_outbound()
        with SftpMailboxClient(by_password, environ={"PW": "wrong"}) as client, pytest.raises(SftpAuthError):
            client.list_outbound()
        other_user = settings.model_copy(update={"username": "someone"})
        with SftpMailboxClient(other_user) as client, pytest.raises(SftpAuthError):
            client.list_outbound()

        asyncio.run(_escapes_are_refused(port, running_mailbox.root))
    finally:
        server.stop()


async def _escapes_are_refused(port: int, root: Path) -> None:
    async with asyncssh.connect(
        "127.0.0.1",
        port,
        username="engine",
        password="s3cret",
        known_hosts=None,
        client_keys=None,
        agent_path=None,
        config=None,
    ) as conn:
        async with conn.start_sftp_client() as sftp:
            with pytest.raises(asyncssh.SFTPError):
                await sftp.symlink("/etc/passwd", "/inbound/passwd")
            with pytest.raises(asyncssh.SFTPError):
                await sftp.link("/outbound/x", "/inbound/x")
            with pytest.raises(asyncssh.SFTPError):
                await sftp.get("/../../../etc/passwd", str(root / "stolen"))
            with pytest.raises(asyncssh.SFTPError):
                await sftp.get("/.mailbox-state.json", str(root / "stolen"))
            with pytest.raises(asyncssh.SFTPError):
                await sftp.get("/.sftp_host_ed25519_key", str(root / "stolen"))
        with pytest.raises(asyncssh.ChannelOpenError):
            await conn.run("id")  # no shell, no exec
    assert not (root / "inbound" / "passwd").exists() and not (root / "stolen").exists()


def test_full_loop_through_openssh_into_the_mailbox_directory(
    running_mailbox: Mailbox, sshd: Sshd, sshd_key: ClientKey, tmp_path: Path
) -> None:
    settings = SftpTransport.model_validate(
        {
            "host": sshd.host,
            "port": sshd.port,
            "username": sshd.user,
            "private_key": {"file": str(sshd_key.private_path)},
            "known_hosts": str(sshd.write_known_hosts(tmp_path / "known_hosts")),
            "inbound_dir": str(running_mailbox.inbound),
            "outbound_dir": str(running_mailbox.outbound),
        }
    )
    with SftpMailboxClient(settings) as client:
        client.upload("claims-500.x12", x12_837())
        check_answers(collect(client))
    assert [r["patient_control_number"] for r in received(running_mailbox.root)] == [b[0] for b in BATCH]


# ================================================================================ the program


def test_payer_sim_program_serves_core_and_the_sftp_mailbox(tmp_path: Path) -> None:
    box = tmp_path / "mailbox"
    command = [
        sys.executable,
        "-m",
        "edi",
        "payer-sim",
        "--roster",
        str(ROSTER),
        "--rules",
        str(RULES),
        "--port",
        "0",
        "--mailbox",
        str(box),
        "--sftp-port",
        "0",
        "--sftp-user",
        "engine",
        "--sftp-password-env",
        "SIM_SFTP_PASSWORD",
        "--payment-delay",
        "0.2",
    ]
    env = {**os.environ, "SIM_SFTP_PASSWORD": "s3cret"}
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        core = first_line(process, 30, "listener line")
        sftp = first_line(process, 10, "listener line")
        assert core.startswith("core: http://127.0.0.1:") and core.endswith("/core"), core
        assert sftp.startswith("sftp: sftp://127.0.0.1:"), sftp
        port = int(sftp.rsplit(":", 1)[1])
        assert port > 0

        host_key = asyncssh.read_private_key(str(box / ".sftp_host_ed25519_key"))
        known = tmp_path / "known_hosts"
        known.write_text(f"[127.0.0.1]:{port} {host_key.export_public_key().decode().strip()}\n")
        settings = SftpTransport.model_validate(
            {
                "host": "127.0.0.1",
                "port": port,
                "username": "engine",
                "password": {"env": "PW"},
                "known_hosts": str(known),
            }
        )
        with SftpMailboxClient(settings, environ={"PW": "s3cret"}) as client:
            client.upload("claims-500.x12", x12_837())
            check_answers(collect(client))
    finally:
        stop(process)
    assert process.returncode in (0, -15), process.stderr.read() if process.stderr else ""

