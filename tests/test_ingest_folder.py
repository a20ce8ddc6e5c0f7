"""The watched-folder door with real files, the real intake and the real store (SQLite)."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.ingest.door import ReplyAddress, Submission
from connectors.ingest.folder import FolderDoor, FolderLayout, FolderReplySink, open_archived
from connectors.ingest.intake import PipelineIntake
from connectors.ingest.names import safe_name, unsafe_reason
from connectors.pipeline.runtime import open_pipeline
from edi.ingest import load_mapping
from edi.pipeline import Pipeline
from edi.settings import Settings
from edi.store import ALL_SUBMITTERS, State, TransactionFilter

ROOT = Path(__file__).resolve().parent
INGEST = ROOT / "fixtures" / "ingest"
X12 = ROOT / "fixtures" / "x12"
SAMPLE = ROOT.parent / "connectors" / "payer_sim" / "sample"
ELIGIBILITY = json.loads((SAMPLE / "eligibility.json").read_text())
CLAIM = json.loads((SAMPLE / "claim.json").read_text())

_opened: list[str] = []
_watching = threading.Event()


def _audit(event: str, args: tuple) -> None:
    if event == "open" and _watching.is_set():
        _opened.append(str(args[0]))


sys.addaudithook(_audit)  # records which paths are opened while a test watches (hooks cannot be removed)


@pytest.fixture
def pipeline(tmp_path: Path) -> Iterator[Pipeline]:
    pipe = open_pipeline(Settings.from_env({"EDI_DATA_DIR": str(tmp_path / "data")}), create_key=True)
    yield pipe
    pipe.repository.engine.dispose()


def transactions(pipeline: Pipeline) -> list:
    return pipeline.repository.list_transactions(TransactionFilter(submitter_id=ALL_SUBMITTERS), limit=500).items


def make_door(pipeline: Pipeline, tmp_path: Path, **kw) -> tuple[FolderDoor, FolderLayout]:
    mappings = {"acme": [load_mapping(INGEST / name) for name in ("claim-lines.yaml", "roster-csv.yaml",
                                                                   "roster-fixed.yaml")]}
    kw.setdefault("settle_seconds", 0)
    kw.setdefault("keyring", pipeline.payloads.keyring)  # as `edi doors` runs it: the archive encrypted
    door = FolderDoor({"acme": tmp_path / "acme"}, PipelineIntake(pipeline, mappings), **kw)
    return door, door.layouts["acme"]


def drain(door: FolderDoor) -> int:
    return sum(door.scan_once() for _ in range(3))  # a file is claimed on its second, unchanged look


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if not p.is_dir())


def outbound_json(layout: FolderLayout, name: str) -> dict:
    return json.loads((layout.outbound / name).read_text())


CASES = [
    ("one.json", json.dumps(ELIGIBILITY).encode(), 1),
    ("batch.jsonl", (json.dumps(ELIGIBILITY) + "\n" + json.dumps(CLAIM) + "\n").encode(), 2),
    ("inquiry.270", (X12 / "270_005010X279A1" / "subscriber-health-benefit-check.270").read_bytes(), 1),
    ("claims.837", (X12 / "837_005010X222A2" / "demo.example1.837").read_bytes(), 1),
    ("roster.csv", (INGEST / "roster.csv").read_bytes(), 3),
    ("claims-2024-05.csv", (INGEST / "claims-2024-05.csv").read_bytes(), 2),
    ("roster.txt", (INGEST / "roster.txt").read_bytes(), 2),
]


def kept_for(folder: Path, answer: dict) -> list[Path]:
    """The files the door keeps (archive or quarantine) for the submission an answer is about."""
    claim = answer["submissionId"].split("/", 1)[1]
    return sorted(p for p in folder.rglob(f"{claim}*") if p.is_file() or p.is_symlink() or p.is_dir())


@pytest.mark.parametrize(("name", "content", "count"), CASES, ids=[c[0] for c in CASES])
def test_each_format_is_taken_in_archived_and_answered(pipeline: Pipeline, tmp_path: Path, name: str,
                                                       content: bytes, count: int) -> None:
    door, layout = make_door(pipeline, tmp_path)
    (layout.inbound / name).write_bytes(content)
    assert drain(door) == 1
    assert names(layout.inbound) == [] and names(layout.work) == [] and names(layout.quarantine) == []
    receipt = outbound_json(layout, f"{name}.receipt.json")
    assert receipt["name"] == name and receipt["rejected"] == [] and len(receipt["accepted"]) == count
    (archived,) = kept_for(layout.archive, receipt)  # found by the receipt's submission id ...
    assert name not in archived.name  # ... never by the submitter's name (it may be PHI)
    assert content not in archived.read_bytes()  # sealed like a stored payload ...
    assert open_archived(pipeline.payloads.keyring, archived) == content  # ... and opens to the very bytes
    for transaction_id in receipt["accepted"]:
        record = pipeline.repository.require(transaction_id, submitter_id="acme")
        assert record.state is State.VALIDATED
        assert ReplyAddress.from_json(pipeline.reply_to(record)) == ReplyAddress("folder", str(layout.outbound))


def test_bad_files_are_quarantined_with_an_error_file_and_the_door_goes_on(pipeline: Pipeline, tmp_path: Path) -> None:
    door, layout = make_door(pipeline, tmp_path)
    whole = json.dumps([ELIGIBILITY, CLAIM], indent=1).encode()
    roster = (INGEST / "roster.csv").read_text()
    secret = tmp_path / "secret.json"
    secret.write_bytes(json.dumps(ELIGIBILITY).encode())
    bad = {
        "truncated.json": whole[: len(whole) // 2],
        "latin1.csv": roster.replace("PAT", "PÄT").encode("latin-1"),
        "garbage.json": os.urandom(2048).replace(b"\x00", b"\x01") + b"\x00",
        "missing-column.csv": roster.replace("DOB", "BIRTH").encode(),
        "..\\..\\escape.json": json.dumps(ELIGIBILITY).encode(),
        "empty.json": b"",
    }
    for name, content in bad.items():
        (layout.inbound / name).write_bytes(content)
    (layout.inbound / "link.json").symlink_to(secret)
    (layout.inbound / "folder").mkdir()
    (layout.inbound / "good.json").write_bytes(json.dumps(ELIGIBILITY).encode())
    assert drain(door) == len(bad) + 3

    assert names(layout.inbound) == [] and names(layout.work) == []
    good = outbound_json(layout, "good.json.receipt.json")
    assert [p for p in layout.archive.rglob("*") if p.is_file()] == kept_for(layout.archive, good)
    # Refused files are ours to keep and hold PHI: each is in the quarantine under the id its error
    # file names, never under its name, sealed like the archive and opening to the very bytes
    # dropped; a link is kept as the link (no content); a folder cannot be sealed, so it goes.
    sealed_names = ("truncated.json", "latin1.csv", "garbage.json", "missing-column.csv", "escape.json", "empty.json")
    quarantined = {name: kept_for(layout.quarantine, outbound_json(layout, f"{name}.error.json"))
                   for name in (*sealed_names, "link.json", "folder")}
    assert quarantined["folder"] == [] and all(len(quarantined[n]) == 1 for n in (*sealed_names, "link.json"))
    assert len(list(layout.quarantine.iterdir())) == len(sealed_names) + 1
    assert not [p for p in layout.quarantine.iterdir() if any(n.split(".")[0] in p.name for n in quarantined)]
    for name in sealed_names:
        (path,) = quarantined[name]
        dropped = bad[name if name != "escape.json" else "..\\..\\escape.json"]
        assert path.suffix == ".enc" and open_archived(pipeline.payloads.keyring, path) == dropped
        assert len(dropped) < 16 or dropped not in path.read_bytes()
    assert b"SIM00001" in bad["missing-column.csv"] and b"SIM00001" not in quarantined["missing-column.csv"][0].read_bytes()
    (link,) = quarantined["link.json"]
    assert link.is_symlink() and secret.exists()  # moved as a link, the target untouched

    def error(name: str) -> str:
        body = outbound_json(layout, f"{name}.error.json")
        assert body["status"] == "rejected" and body["accepted"] == []
        return " | ".join(e["text"] for e in body["rejected"])

    assert "the JSON ends early" in error("truncated.json")
    assert error("latin1.csv").startswith("line 2: byte 11 of the line is not valid UTF-8")
    assert "binary data" in error("garbage.json")
    assert error("missing-column.csv") == "line 1 (header), column DOB: the mapped column is missing from the header"
    assert "contains a path" in error("escape.json")
    assert error("empty.json") == "file: the file is empty"
    assert error("link.json") == "file: symbolic links are refused: put the file itself into inbound/"
    assert "only plain files" in error("folder") and "it was not kept" in error("folder")
    assert len(outbound_json(layout, "good.json.receipt.json")["accepted"]) == 1
    assert len(transactions(pipeline)) == 1


def test_an_oversize_file_is_refused_from_stat_without_being_opened(pipeline: Pipeline, tmp_path: Path) -> None:
    door, layout = make_door(pipeline, tmp_path, max_bytes=4096)
    big = layout.inbound / "huge.jsonl"
    with open(big, "wb") as handle:
        handle.truncate(3 << 30)  # 3 GiB, sparse: nothing is written
    _opened.clear()
    _watching.set()
    try:
        assert drain(door) == 1
    finally:
        _watching.clear()
    assert any("/outbound/" in p for p in _opened)  # the hook sees opens (the error file is written)
    assert not [p for p in _opened if "huge.jsonl" in p and "/outbound/" not in p]
    # it cannot be sealed without reading it, so it is not kept in plaintext either: it goes
    assert list(layout.quarantine.iterdir()) == [] and names(layout.work) == [] and names(layout.inbound) == []
    rejected = outbound_json(layout, "huge.jsonl.error.json")["rejected"]
    assert [e["reason"] for e in rejected] == [
        f"the file is {3 << 30} bytes, above the limit of 4096 bytes; split it and send the parts",
        "it was not kept: send it again once it is fixed"]


def test_without_a_key_ring_refused_files_are_quarantined_as_dropped(pipeline: Pipeline, tmp_path: Path) -> None:
    door, layout = make_door(pipeline, tmp_path, keyring=None, max_bytes=4096)
    (layout.inbound / "empty.json").write_bytes(b"")
    with open(layout.inbound / "huge.jsonl", "wb") as handle:
        handle.truncate(1 << 20)
    assert drain(door) == 2
    kept = {name: kept_for(layout.quarantine, outbound_json(layout, f"{name}.error.json"))
            for name in ("empty.json", "huge.jsonl")}
    assert len(list(layout.quarantine.iterdir())) == 2 and all(len(paths) == 1 for paths in kept.values())
    assert kept["empty.json"][0].stat().st_size == 0 and kept["huge.jsonl"][0].stat().st_size == 1 << 20


def test_a_file_is_claimed_only_once_it_stops_changing(pipeline: Pipeline, tmp_path: Path) -> None:
    door, layout = make_door(pipeline, tmp_path)
    path = layout.inbound / "slow.jsonl"
    path.write_bytes((json.dumps(ELIGIBILITY) + "\n").encode())
    assert door.scan_once() == 0  # first look
    with open(path, "ab") as handle:  # the writer is not done yet
        handle.write((json.dumps(CLAIM) + "\n").encode())
    assert door.scan_once() == 0  # changed since the first look
    assert door.scan_once() == 1
    assert len(outbound_json(layout, "slow.jsonl.receipt.json")["accepted"]) == 2
    # and with a settle time, a file changed just now waits even if it looks the same twice
    patient, layout2 = make_door(pipeline, tmp_path / "other", settle_seconds=3600)
    (layout2.inbound / "fresh.json").write_bytes(json.dumps(ELIGIBILITY).encode())
    assert drain(patient) == 0 and names(layout2.inbound) == ["fresh.json"]
    assert (layout2.inbound / ".upload.json").write_bytes(b"{") and drain(patient) == 0  # in progress: left alone


def test_the_same_file_name_again_is_a_new_file_and_collides_with_nothing(pipeline: Pipeline, tmp_path: Path) -> None:
    door, layout = make_door(pipeline, tmp_path)
    (layout.inbound / "daily.json").write_bytes(json.dumps(ELIGIBILITY).encode())
    drain(door)
    second = {**ELIGIBILITY, "controlNumber": "000000002"}
    (layout.inbound / "daily.json").write_bytes(json.dumps(second).encode())
    drain(door)
    archived = sorted(p for p in layout.archive.rglob("*.enc"))
    assert not [p for p in archived if "daily" in p.name]
    assert len(archived) == 2 and {
        json.loads(open_archived(pipeline.payloads.keyring, p))["controlNumber"] for p in archived} == {
        "123456789", "000000002"}
    assert sorted(p.name for p in layout.outbound.iterdir()) == ["daily.json.2.receipt.json", "daily.json.receipt.json"]
    assert len(transactions(pipeline)) == 2


def test_a_file_left_in_work_by_a_crash_is_taken_in_once_after_restart(pipeline: Pipeline, tmp_path: Path) -> None:
    intake = PipelineIntake(pipeline)

    def crashing(submission: Submission):  # records everything, then dies before the door archives
        intake(submission)
        raise RuntimeError("killed")

    first = FolderDoor({"acme": tmp_path / "acme"}, crashing, settle_seconds=0)
    layout = first.layouts["acme"]
    (layout.inbound / "batch.jsonl").write_bytes((json.dumps(ELIGIBILITY) + "\n" + json.dumps(CLAIM)).encode())
    assert drain(first) == 0
    assert len(names(layout.work)) == 1 and len(transactions(pipeline)) == 2
    restarted = FolderDoor({"acme": tmp_path / "acme"}, intake, settle_seconds=0)
    assert restarted.scan_once() == 1
    assert names(layout.work) == [] and len(names(layout.archive)) == 1
    assert len(transactions(pipeline)) == 2  # the same transactions, nothing recorded twice
    assert sorted(outbound_json(layout, "batch.jsonl.receipt.json")["accepted"]) == sorted(
        t.id for t in transactions(pipeline))


def test_the_running_door_is_woken_by_file_system_events(pipeline: Pipeline, tmp_path: Path) -> None:
    door, layout = make_door(pipeline, tmp_path, settle_seconds=0.2, poll_interval=120)
    stop = threading.Event()
    thread = threading.Thread(target=door.run, args=(stop,), daemon=True)
    thread.start()
    try:
        time.sleep(0.5)  # the first (empty) scan is done; only an event can start the next one soon
        (layout.inbound / "live.json").write_bytes(json.dumps(ELIGIBILITY).encode())
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (layout.outbound / "live.json.receipt.json").exists():
            time.sleep(0.05)
        assert (layout.outbound / "live.json.receipt.json").exists()
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()


def test_the_folder_sink_writes_answers_atomically_into_outbound_only(tmp_path: Path) -> None:
    layout = FolderLayout(tmp_path / "acme").create()
    sink = FolderReplySink({"acme": layout.root})
    address = ReplyAddress("folder", str(layout.outbound))
    sink.send(address, "01HX-271", b'{"a": 1}')
    sink.send(address, "01HX-271.json", b'{"a": 2}')  # a redelivery replaces it whole
    assert names(layout.outbound) == ["01HX-271.json"]
    assert (layout.outbound / "01HX-271.json").read_bytes() == b'{"a": 2}'
    with pytest.raises(ValueError, match="not the outbound folder"):
        sink.send(ReplyAddress("folder", str(tmp_path)), "x.json", b"{}")
    with pytest.raises(ValueError, match="contains a path"):
        sink.send(address, "../x.json", b"{}")
    with pytest.raises(ValueError, match="cannot send to a amqp"):
        sink.send(ReplyAddress("amqp", "q"), "x.json", b"{}")
    assert names(layout.outbound) == ["01HX-271.json"] and names(tmp_path) == ["01HX-271.json"]


@pytest.mark.parametrize("name", ["../x.json", "..\\x.json", "a/b.json", "..", ".hidden.json", "x\x00.json",
                                  "a..b.json", "-rf.json", "x" * 200])
def test_names_that_could_leave_a_folder_or_hide_are_refused(name: str) -> None:
    assert unsafe_reason(name) is not None
    assert unsafe_reason(safe_name(name)) is None


@pytest.mark.parametrize("name", ["roster.csv", "claims 2024-05 (1).csv", "ABC_837P.x12", "batch.v2.jsonl"])
def test_plain_names_are_taken(name: str) -> None:
    assert unsafe_reason(name) is None


def test_a_partly_rejected_file_is_archived_with_an_error_file_naming_line_and_column(
        pipeline: Pipeline, tmp_path: Path) -> None:
    door, layout = make_door(pipeline, tmp_path)
    text = (INGEST / "roster.csv").read_text().replace("03/22/1975", "22/03/1975").replace("11/30/1990", "11/30/2090")
    (layout.inbound / "roster.csv").write_text(text)
    assert drain(door) == 1
    assert names(layout.quarantine) == [] and len(names(layout.archive)) == 1
    body = outbound_json(layout, "roster.csv.error.json")
    assert body["status"] == "partial" and len(body["accepted"]) == 1
    assert [e["text"] for e in body["rejected"]] == [
        "line 3, column DOB: not a date in MM/DD/YYYY (subscriber.dateOfBirth)",
        "line 4, column DOB: is in the future (subscriber.dateOfBirth)",
    ]
    assert body["rejected"][0]["transactionId"] is None  # not a request: nothing to record
    rejected = pipeline.repository.require(body["rejected"][1]["transactionId"], submitter_id="acme")
    assert rejected.state is State.REJECTED  # recorded, can be looked up
    assert "1975" not in json.dumps(body) and "2090" not in json.dumps(body)
