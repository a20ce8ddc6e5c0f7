"""A 10,000-line CSV eligibility roster dropped over the SFTP door gets one answer per line.

The embedded pipeline (every stage, the outbox relay, the sweeper and audit sealer), the ingest
doors and the payer simulator (answering CORE 270s from a roster of the same members) run here;
the roster goes up with a real SFTP client (asyncssh). Every line is its own transaction, so:

* ``files`` layout: 10,000 ``<transaction id>.eligibility.response.json`` arrive in ``/outbound``;
* ``jsonl`` layout: one ``roster.csv.responses.jsonl`` with 10,000 lines, then its ``.done`` marker;

and each answer is the one the simulator owes that line's member (EB*1 active, EB*6 inactive,
AAA 75 for the members it does not know); the audit trail holds exactly one ``received``, one
``validated`` and one ``delivered`` record per line.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from connectors.pipeline.workers import GROUP_SIZE
from edi.audit import AuditEntry
from tests.roster_harness import Roster, RosterRig, answer_matches, roster, roster_rig

LINES = int(os.environ.get("EDI_ROSTER_LINES") or 10_000)  # fewer to iterate quickly; CI runs 10,000
PREFETCH = GROUP_SIZE  # as ``edi worker --prefetch 200``: the stages handle groups


@pytest.fixture(scope="module")
def members() -> Roster:
    return roster(LINES)


def _receipt(rig: RosterRig, data: Roster) -> dict[int, str]:
    """Uploads the roster; file line number -> transaction id, from the door's receipt."""
    rig.upload("roster.csv", data.csv)
    receipt = json.loads(rig.read("roster.csv.receipt.json"))
    assert receipt["status"] == "accepted" and receipt["rejected"] == []
    assert len(receipt["accepted"]) == LINES == len(set(receipt["accepted"]))
    return dict(zip(sorted(data.expected), receipt["accepted"], strict=True))  # accepted in input order


def _check_audit(rig: RosterRig, ids: set[str]) -> None:
    with rig.pipeline.repository.engine.connect() as db:
        rows = db.execute(sa.select(AuditEntry.transaction_id, AuditEntry.action)
                          .where(AuditEntry.submitter_id == "demo-clinic")).all()
    per_action: dict[str, Counter[str]] = {}
    for transaction_id, action in rows:
        per_action.setdefault(action, Counter())[transaction_id] += 1
    for action in ("received", "validated", "delivered"):
        counts = per_action.get(action, Counter())
        assert set(counts) == ids, action
        assert sum(counts.values()) == LINES, action  # exactly one per line
    assert "failed" not in per_action


@pytest.mark.parametrize("layout", ["files", "jsonl"])
def test_a_roster_over_sftp_gets_an_answer_per_line_and_an_audit_record_per_line(
        tmp_path: Path, members: Roster, layout: str) -> None:
    with roster_rig(tmp_path, members.members, answers=layout, prefetch=PREFETCH) as rig:
        by_line = _receipt(rig, members)
        line_of = {tid: line for line, tid in by_line.items()}
        answers: dict[str, dict[str, Any]] = {}
        if layout == "files":
            rig.wait_for(rig.response_files, LINES)
            names = [n for n in rig.listdir() if n.endswith(".eligibility.response.json")]  # as the client sees it
            assert len(names) == LINES
            for name in names:
                answers[name.split(".", 1)[0]] = json.loads((rig.outbound / name).read_bytes())
        else:
            rig.wait_for(rig.jsonl_lines, LINES + 1)  # every line, then the .done marker
            done = json.loads(rig.read("roster.csv.responses.done"))
            assert done == {"type": "complete", "name": "roster.csv", "file": "roster.csv.responses.jsonl",
                            "transactions": LINES, "lines": LINES}
            text = rig.read("roster.csv.responses.jsonl").decode()
            assert text.endswith("\n")
            lines = [json.loads(raw) for raw in text.splitlines()]
            assert len(lines) == LINES
            for line in lines:
                assert line["type"] == "eligibility.response" and line["final"] is True
                assert line["item"] == f"line {line_of[line['transactionId']]}"  # names its input line
                answers[line["transactionId"]] = line["document"]
        assert set(answers) == set(line_of)
        outcomes = Counter()
        for tid, document in answers.items():
            member_id, outcome = members.expected[line_of[tid]]
            assert document["data"]["transactionId"] == tid
            assert answer_matches(document, member_id, outcome), (line_of[tid], outcome)
            outcomes[outcome] += 1
        assert outcomes["unknown"] > 0 and outcomes["inactive"] > 0 and outcomes["active"] > 0
        _check_audit(rig, set(line_of))
