"""The `edi` command line, run as a real process (`python -m edi ...`)."""

from __future__ import annotations

import io
import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.gen_837p import write_837p
from edi import cli
from edi.x12.validator import Validator, validate

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "x12"
EXAMPLE1 = FIXTURES / "837_005010X222A2" / "demo.example1.837"
EXAMPLE6 = FIXTURES / "837_005010X222A2" / "demo.example6.837"


def edi(*args: str | Path, stderr: int | None = subprocess.PIPE) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "edi", *map(str, args)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=stderr, timeout=120, check=False,
    )


@pytest.fixture(scope="module")
def big_837p(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3,000 claims: about 64,000 segments, more than the CLI's 50,000-segment progress step."""
    return write_837p(tmp_path_factory.mktemp("gen") / "claims.837", 3_000, 100, seed=3)


@pytest.fixture
def not_x12(tmp_path: Path) -> Path:
    path = tmp_path / "notes.txt"
    path.write_text("this is a text file, not an interchange\n")
    return path


# ------------------------------------------------------------------ validate: exit codes


def test_validate_accepted_sample_exits_0() -> None:
    run = edi("validate", EXAMPLE1)
    assert run.returncode == 0, run.stderr
    assert run.stdout.decode().splitlines()[0] == f"{EXAMPLE1}: ACCEPTED"
    assert run.stderr == b""


def test_validate_rejected_sample_exits_1() -> None:
    run = edi("validate", EXAMPLE6)
    assert run.returncode == 1
    out = run.stdout.decode()
    assert out.splitlines()[0] == f"{EXAMPLE6}: REJECTED"
    assert "IK5 R" in out and "[IK4 5]" in out


def test_validate_unreadable_inputs_exit_2(not_x12: Path, tmp_path: Path) -> None:
    for path in (not_x12, tmp_path / "missing.837"):
        run = edi("validate", path)
        assert run.returncode == 2, path
        assert run.stdout.decode().splitlines()[0] == f"{path}: UNREADABLE"
    # the worst verdict of several files decides
    assert edi("validate", EXAMPLE1, EXAMPLE6).returncode == 1
    assert edi("validate", EXAMPLE1, tmp_path / "missing.837", EXAMPLE6).returncode == 2


def test_validate_empty_file_exits_2(tmp_path: Path) -> None:
    """BUG (see tests/test_validator_rules.py::test_input_without_any_interchange_is_unreadable):
    an empty file is reported REJECTED with exit code 1 and no reason; the CLI promises exit 2
    for input that cannot be read as X12."""
    empty = tmp_path / "empty.837"
    empty.write_bytes(b"")
    run = edi("validate", empty)
    assert run.stdout.decode().splitlines()[0] == f"{empty}: UNREADABLE"
    assert run.returncode == 2


# ------------------------------------------------------------------ validate --json


def test_json_output_is_only_json() -> None:
    run = edi("validate", "--json", EXAMPLE6)
    assert run.returncode == 1
    doc = json.loads(run.stdout)  # the whole of stdout is one JSON document
    assert doc["accepted"] is False and doc["source"] == str(EXAMPLE6)
    (isa,) = doc["interchanges"]
    (group,) = isa["groups"]
    (tx,) = group["transactions"]
    assert (tx["control_number"], tx["ack_code"]) == ("3701", "R")
    assert {f["code"] for f in tx["findings"]} == {"1", "3", "5", "7", "I12"}  # I12: 5-digit billing ZIP
    assert all("bad_value" not in f for f in tx["findings"])  # values (possible PHI) stay out
    assert run.stderr == b""


def test_json_for_several_files_is_a_list(not_x12: Path) -> None:
    run = edi("validate", "--json", EXAMPLE1, not_x12)
    assert run.returncode == 2
    docs = json.loads(run.stdout)
    assert [(d["source"], d["accepted"]) for d in docs] == [(str(EXAMPLE1), True), (str(not_x12), False)]


def test_outputs_do_not_carry_a_bad_date_of_birth(tmp_path: Path) -> None:
    path = tmp_path / "bad-dob.837"
    path.write_bytes(EXAMPLE1.read_bytes().replace(b"DMG*D8*19730501*M", b"DMG*D8*19730231*M"))
    for args in (["validate", path], ["validate", "--json", path]):
        run = edi(*args)
        assert run.returncode == 1
        assert b"19730231" not in run.stdout + run.stderr
        assert b"DMG" in run.stdout


# ------------------------------------------------------------------ validate --ack-dir


def test_ack_dir_receives_the_999(tmp_path: Path) -> None:
    acks = tmp_path / "acks"
    run = edi("validate", "--ack-dir", acks, "--ack-control-number", "77", EXAMPLE1, EXAMPLE6)
    assert run.returncode == 1
    assert sorted(p.name for p in acks.iterdir()) == ["demo.example1.837.999", "demo.example6.837.999"]
    first = (acks / "demo.example1.837.999").read_text()
    second = (acks / "demo.example6.837.999").read_text()
    assert "AK9*A*1*1*1~" in first and "AK9*R*1*1*0~" in second
    assert "*000000077*" in first.splitlines()[0] and "*000000078*" in second.splitlines()[0]
    for text in (first, second):
        report = validate(text.encode())
        assert report.accepted and list(report.all_findings()) == []


def test_ack_dir_receives_a_ta1_when_the_envelope_is_rejected(tmp_path: Path) -> None:
    bad = tmp_path / "bad-iea.837"
    bad.write_bytes(EXAMPLE1.read_bytes().replace(b"IEA*1*000000907", b"IEA*1*000000908"))
    run = edi("validate", "--ack-dir", tmp_path / "acks", bad)
    assert run.returncode == 1
    (ack,) = (tmp_path / "acks").iterdir()
    assert ack.name == "bad-iea.837.ta1"
    assert "TA1*000000907*131031*1147*R*001~" in ack.read_text()
    assert "ST*999" not in ack.read_text()


# ------------------------------------------------------------------ progress


def test_piped_stderr_gets_no_progress(big_837p: Path) -> None:
    run = edi("validate", big_837p)
    assert run.returncode == 0, run.stdout[-2000:]
    assert run.stderr == b""


def _run_with_terminal_stderr(*args: str | Path) -> tuple[int, bytes, bytes]:
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "edi", *map(str, args)], cwd=ROOT, stdout=subprocess.PIPE, stderr=slave
        )
        os.close(slave)
        slave = -1
        terminal = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the child closed its end of the terminal
                break
            if not chunk:
                break
            terminal += chunk
        stdout = proc.stdout.read()
        proc.stdout.close()
        return proc.wait(timeout=120), stdout, terminal
    finally:
        os.close(master)
        if slave >= 0:
            os.close(slave)


def test_terminal_stderr_gets_progress(big_837p: Path) -> None:
    code, stdout, terminal = _run_with_terminal_stderr("validate", big_837p)
    assert code == 0
    assert b"segments (" in terminal and b"transaction sets (" in terminal
    assert terminal.startswith(b"\r") and terminal.rstrip(b"\r\n").count(b"\r") >= 2
    assert b"segments (" not in stdout  # progress never reaches stdout
    assert stdout.decode().splitlines()[0] == f"{big_837p}: ACCEPTED"


def test_progress_callback_counts_up(tmp_path: Path) -> None:
    path = write_837p(tmp_path / "small.837", 400, 10, seed=11)
    calls: list[tuple[int, int]] = []
    report = Validator(progress=lambda s, t: calls.append((s, t)), progress_every=500).run(path)
    assert report.accepted
    segments = [s for s, _ in calls]
    assert len(calls) >= report.segments // 500
    assert segments == sorted(segments) and len(set(segments)) == len(segments)  # strictly increasing
    assert calls[-1] == (report.segments, len(report.transactions()))
    assert [t for _, t in calls] == sorted(t for _, t in calls)


def _read_until_newline(fd: int, timeout: float = 5.0) -> bytes:
    """A pty hands back each write separately, so one read may hold only the first line."""
    deadline = time.monotonic() + timeout
    written = b""
    while not written.endswith(b"\n") and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], max(deadline - time.monotonic(), 0))
        if ready:
            written += os.read(fd, 4096)
    return written


def test_progress_writes_only_to_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    master, slave = pty.openpty()
    terminal = io.TextIOWrapper(io.FileIO(slave, "w", closefd=True), write_through=True)
    try:
        monkeypatch.setattr(sys, "stderr", terminal)
        assert sys.stderr.isatty()
        progress = cli._Progress("claims.837")
        progress(1_000, 10)
        progress(2_000, 20)
        progress.done()
        written = _read_until_newline(master)
        assert written.startswith(b"\rclaims.837: 1,000 segments (")
        assert b"\rclaims.837: 2,000 segments (" in written and b"20 transaction sets (" in written
        assert written.endswith(b"\n")
    finally:
        monkeypatch.undo()
        terminal.close()
        os.close(master)

    r, w = os.pipe()
    pipe = io.TextIOWrapper(io.FileIO(w, "w", closefd=True), write_through=True)
    try:
        monkeypatch.setattr(sys, "stderr", pipe)
        assert not sys.stderr.isatty()
        progress = cli._Progress("claims.837")
        progress(1_000, 10)
        progress.done()
    finally:
        monkeypatch.undo()
        pipe.close()
    with os.fdopen(r, "rb") as reader:
        assert reader.read() == b""


# ------------------------------------------------------------------ x12 to-json / from-json


def test_to_json_then_from_json_reproduces_the_file(tmp_path: Path) -> None:
    raw = EXAMPLE1.read_bytes().replace(b"NM1*QC*1*SMITH*TED~", b"NM1*QC*1*SM\xffTH*T\xc3\xa9D~") + b"\n"
    source = tmp_path / "claim.837"
    source.write_bytes(raw)
    run = edi("x12", "to-json", source, "-o", tmp_path / "claim.json")
    assert run.returncode == 0 and run.stdout == b"" and run.stderr == b""
    assert json.loads((tmp_path / "claim.json").read_text())["format"] == "edi-engine/x12-generic/1"
    run = edi("x12", "from-json", tmp_path / "claim.json", "-o", tmp_path / "back.837")
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "back.837").read_bytes() == raw
    # through stdout too
    to_json = edi("x12", "to-json", source)
    assert to_json.returncode == 0
    (tmp_path / "stdout.json").write_bytes(to_json.stdout)
    back = edi("x12", "from-json", tmp_path / "stdout.json")
    assert back.returncode == 0 and back.stdout == raw


def test_to_json_of_a_non_x12_file_exits_2(not_x12: Path) -> None:
    run = edi("x12", "to-json", not_x12)
    assert run.returncode == 2
    assert run.stdout == b"" and b"error:" in run.stderr
    run = edi("x12", "from-json", not_x12)
    assert run.returncode == 2
    assert run.stdout == b"" and b"not a generic X12 JSON document" in run.stderr
