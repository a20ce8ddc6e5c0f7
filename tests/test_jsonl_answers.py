"""The ``jsonl`` answer layout: one line per answer, never twice, and a ``.done`` marker once every
transaction of the upload has its final answer (``connectors.ingest.jsonl_answers``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connectors.ingest.door import ReplyAddress
from connectors.ingest.jsonl_answers import JsonlAnswers
from connectors.ingest.sftp_server import SftpReplySink


def _answer(tid: str, kind: str = "eligibility.response", final: bool = True) -> bytes:
    return json.dumps({"type": kind, "data": {"transactionId": tid, "final": final}}).encode()


def _lines(path: Path) -> list[dict]:
    return [json.loads(raw) for raw in path.read_bytes().splitlines()]


def test_lines_are_whole_named_by_item_and_the_done_marker_follows_the_last_final_answer(tmp_path: Path) -> None:
    out = tmp_path / "outbound"
    out.mkdir()
    answers = JsonlAnswers(tmp_path / "state")
    file = answers.reserve(out, "roster.csv")
    assert file == "roster.csv.responses.jsonl"
    answers.append(out, file, "line 2", _answer("t1"))
    answers.expect(out, file, "roster.csv", ["t1", "t2"])
    answers.append(out, file, "line 3", _answer("t2", "functional.acknowledgment", final=False))
    assert not (out / "roster.csv.responses.done").exists()  # t2's final answer is still owed
    answers.append(out, file, "line 2", _answer("t1"))  # written again after a crash: not twice
    answers.append(out, file, "line 3", _answer("t2", "claim.payment"))
    text = (out / file).read_bytes()
    assert text.endswith(b"\n")
    lines = _lines(out / file)
    assert [(x["item"], x["transactionId"], x["type"], x["final"]) for x in lines] == [
        ("line 2", "t1", "eligibility.response", True),
        ("line 3", "t2", "functional.acknowledgment", False),
        ("line 3", "t2", "claim.payment", True),
    ]
    assert lines[0]["document"] == json.loads(_answer("t1"))
    done = json.loads((out / "roster.csv.responses.done").read_bytes())
    assert done == {"type": "complete", "name": "roster.csv", "file": file, "transactions": 2, "lines": 3}
    assert answers.reserve(out, "roster.csv") == "roster.csv.2.responses.jsonl"  # a second upload, same name


def test_answers_that_arrive_before_the_door_records_what_is_owed_complete_the_file_then(tmp_path: Path) -> None:
    out = tmp_path / "outbound"
    out.mkdir()
    one, other = JsonlAnswers(tmp_path / "state"), JsonlAnswers(tmp_path / "state")  # two processes
    file = one.reserve(out, "r.csv")
    one.append(out, file, "line 2", _answer("a"))
    other.append(out, file, "line 3", _answer("b"))
    one.append(out, file, "line 3", _answer("b"))  # caught up with the other process: no repeat
    assert len(_lines(out / file)) == 2
    assert not (out / "r.csv.responses.done").exists()
    other.expect(out, file, "r.csv", ["a", "b"])
    assert json.loads((out / "r.csv.responses.done").read_bytes())["lines"] == 2


def test_the_sftp_sink_appends_for_a_jsonl_address_and_writes_files_otherwise(tmp_path: Path) -> None:
    sink = SftpReplySink(tmp_path)
    (tmp_path / "clinic" / "outbound").mkdir(parents=True)
    plain = sink.address("clinic")
    sink.send(plain, "t1.eligibility.response.json", _answer("t1"))
    lines = ReplyAddress("sftp", plain.target, file="x.csv.responses.jsonl").for_item("line 7")
    assert ReplyAddress.from_json(lines.to_json()) == lines
    sink.send(lines, "t2.eligibility.response.json", _answer("t2"))
    outbound = tmp_path / "clinic" / "outbound"
    assert sorted(p.name for p in outbound.iterdir()) == ["t1.eligibility.response.json", "x.csv.responses.jsonl"]
    assert _lines(outbound / "x.csv.responses.jsonl")[0]["item"] == "line 7"
    assert plain.for_item("line 7") == plain  # the files layout records no item
    with pytest.raises(ValueError, match="plain file name"):
        sink.send(ReplyAddress("sftp", plain.target, file="../x.jsonl"), "t3.json", _answer("t3"))


def test_the_partners_file_takes_the_layout_per_submitter_and_refuses_jsonl_with_pgp() -> None:
    from edi.partners import PartnersConfigError, parse_partners

    base = ("submitters:\n  clinic:\n    doors:\n      sftp: {username: clinic, answers: %s,"
            " password_hash: \"scrypt$16384$8$1$c2FsdA==$aGFzaA==\"}\n")
    assert parse_partners(base % "jsonl").submitters["clinic"].doors.sftp.answers == "jsonl"
    assert parse_partners(base % "files").submitters["clinic"].doors.sftp.answers == "files"
    with pytest.raises(PartnersConfigError, match="answers"):
        parse_partners(base % "zip")
    pgp = "    pgp: {public_key: {file: k.asc}, fingerprint: " + "A" * 40 + "}\n"
    with pytest.raises(PartnersConfigError, match="PGP-encrypted"):
        parse_partners(base % "jsonl" + pgp)


def test_the_state_folder_never_holds_the_uploads_name(tmp_path: Path) -> None:
    """An upload's name may be PHI: the submitter's outbound/ keeps it (their answers are named
    after it), our state folder neither in a file name nor in a file."""
    name = "smith_john_19800101_MBR123.csv"
    out = tmp_path / "outbound"
    out.mkdir()
    answers = JsonlAnswers(tmp_path / "state")
    first = answers.reserve(out, name)
    second = answers.reserve(out, name)  # a second upload of the same name
    assert (first, second) == (f"{name}.responses.jsonl", f"{name}.2.responses.jsonl")
    for file, tid in ((first, "t1"), (second, "t2")):
        answers.append(out, file, "line 2", _answer(tid))
        answers.expect(out, file, name, [tid])
    done = json.loads((out / f"{name}.2.responses.done").read_bytes())
    assert done["name"] == name and done["file"] == second  # for the submitter: in their own folder
    assert json.loads((out / f"{name}.responses.done").read_bytes())["name"] == name
    state = [p for p in (tmp_path / "state").rglob("*")]
    assert len([p for p in state if p.is_file()]) >= 6  # owner markers, locks, what each file owes
    for path in state:
        assert "smith" not in path.name and "19800101" not in path.name, path.name
        if path.is_file():
            assert b"smith" not in path.read_bytes() and b"19800101" not in path.read_bytes(), path.name
    assert JsonlAnswers(tmp_path / "state").reserve(out, name) == f"{name}.3.responses.jsonl"  # another process
