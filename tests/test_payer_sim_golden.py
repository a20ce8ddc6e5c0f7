"""The payer simulator's answers, byte for byte, against files it wrote before it was made cheaper.

The simulator is a benchmark partner, so its code is tuned for CPU (reading an 837 once, keeping
verdicts from the 277CA to the 835, answering 270s without a worker thread); none of that may
change a byte of what it answers. Control numbers and the clock are fixed here, so the 999, 277CA,
835, ``received.jsonl`` and 271s must equal the files in ``fixtures/payer_sim/golden``, which
were written by the code before those changes. The input covers accepted and rejected claims,
several transaction sets in one file and one set the 999 rejects; the 835 is checked both when the
mailbox pays from what it kept and when a restarted mailbox rebuilds the verdicts from the archive.

``EDI_UPDATE_GOLDEN=1`` rewrites the files (only for a deliberate change of the answers).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from connectors.core.envelope import CoreRequest, build_request, parse_response
from connectors.payer_sim import load_roster, load_rules
from connectors.payer_sim.mailbox import Mailbox
from connectors.payer_sim.roster import Roster
from connectors.payer_sim.rules import AnswerMemo, Rules, answer_270, reply_envelope
from connectors.payer_sim.server import sim_app
from edi.mappers.eligibility import request_to_270
from edi.mappers.envelope import Envelope
from edi.mappers.professional import claims_to_837p
from tests.servers.asgi import post_asgi
from tests.test_payer_sim_rules import BATCH, SAMPLE_270, claim, eligibility_request, engine_envelope

ROOT = Path(__file__).parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "payer_sim"
GOLDEN = FIXTURES / "golden"
NOW = datetime(2024, 5, 1, 10, 15)
UPDATE = os.environ.get("EDI_UPDATE_GOLDEN") == "1"
SEPARATOR = "\n#####\n"  # between the 271s of one golden file


@pytest.fixture(scope="module")
def roster() -> Roster:
    return load_roster(FIXTURES / "roster.yaml")


@pytest.fixture(scope="module")
def rules() -> Rules:
    return load_rules(FIXTURES / "rules.yaml")


def golden(name: str, actual: bytes) -> None:
    path = GOLDEN / name
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        path.write_bytes(actual)
    assert actual == path.read_bytes(), f"{name} differs from its golden file"


def x12_837() -> bytes:
    """BATCH twice over (16 claims) in sets of three; the 999 rejects the second set."""
    claims = [claim(f"{pcn}-{n}", member, charges, code) for n in (1, 2) for pcn, member, charges, code, _, _ in BATCH]
    text = claims_to_837p(claims, engine_envelope(500), max_per_set=3)
    second = text.index("ST*837*", text.index("ST*837*") + 1)
    broken = text.index("SBR*P*", second)
    return (text[:broken] + "SBR*Q*" + text[broken + len("SBR*P*"):]).encode()


def mailbox(root: Path, rules: Rules, roster: Roster) -> Mailbox:
    return Mailbox(root, rules, roster, sender_id="SIMPLAN01", payment_delay_seconds=30, control_start=700)


def answers(box: Mailbox) -> dict[str, bytes]:
    """The outbound files by kind (999, 277CA, 835), each named by its control numbers too."""
    out = {}
    for path in sorted(box.outbound.iterdir()):
        out[path.name.split("_")[0]] = path.name.encode() + b"\n" + path.read_bytes()
    return out


def test_999_277ca_and_835_are_unchanged(tmp_path: Path, rules: Rules, roster: Roster) -> None:
    box = mailbox(tmp_path / "kept", rules, roster)
    (box.inbound / "claims.837").write_bytes(x12_837())
    assert box.process_once(NOW) == 1
    assert box.pay_due(NOW + timedelta(seconds=31)) == 1
    files = answers(box)
    assert sorted(files) == ["277CA", "835", "999"]
    for kind, text in files.items():
        golden(f"{kind}.x12", text)
    golden("received.jsonl", (box.root / "received.jsonl").read_bytes())


@pytest.mark.parametrize("per_set", [3, 100])
def test_a_file_the_999_accepts_whole_is_answered_the_same(
    tmp_path: Path, rules: Rules, roster: Roster, per_set: int
) -> None:
    """One set or several, all accepted: the claims may be read from the file as it came."""
    claims = [claim(pcn, member, charges, code) for pcn, member, charges, code, _, _ in BATCH]
    box = mailbox(tmp_path / "whole", rules, roster)
    (box.inbound / "claims.837").write_bytes(claims_to_837p(claims, engine_envelope(501), max_per_set=per_set).encode())
    assert box.process_once(NOW) == 1
    assert box.pay_due(NOW + timedelta(seconds=31)) == 1
    for kind, text in answers(box).items():
        golden(f"whole-{per_set}-{kind}.x12", text)


def test_835_after_a_restart_is_the_same(tmp_path: Path, rules: Rules, roster: Roster) -> None:
    box = mailbox(tmp_path / "restarted", rules, roster)
    (box.inbound / "claims.837").write_bytes(x12_837())
    assert box.process_once(NOW) == 1
    restarted = mailbox(tmp_path / "restarted", rules, roster)  # the verdicts come from the archive
    assert restarted.pay_due(NOW + timedelta(seconds=31)) == 1
    golden("835.x12", answers(restarted)["835"])


ELIGIBILITY = [
    ("SIM00001", "DOE", "19800115", "20240501"),  # active, full cost sharing
    ("SIM00002", "ROE", "19750630", "20240501"),  # active, plan defaults
    ("SIM00003", "POE", "19600101", "20240501"),  # inactive
    ("SIM00001", "DOE", "19800115", "19990101"),  # before coverage
    ("NOBODY01", "DOE", "19800115", "20240501"),  # not found
    (None, "DOE", "19800115", "20240501"),  # no member id
    ("SIM00001", "SMITH", "19800115", "20240501"),  # name does not match
    ("SIM00001", "DOE", "19800116", "20240501"),  # birth date does not match
]


def texts_270() -> list[str]:
    return [
        request_to_270(eligibility_request(member, last, dob, date), engine_envelope(300 + i))
        for i, (member, last, dob, date) in enumerate(ELIGIBILITY)
    ] + [SAMPLE_270.read_text()]


def sim_envelope(text: str, number: int) -> Envelope:
    envelope = reply_envelope(text, number, number, now=NOW)  # from SIMPLAN01, as `sim_app` answers
    return dataclasses.replace(envelope, sender_id="SIMPLAN01", application_sender="SIMPLAN01")


def test_271s_are_unchanged(roster: Roster) -> None:
    answered = [answer_270(text, roster, sim_envelope(text, 41 + i)) for i, text in enumerate(texts_270())]
    golden("271.x12", SEPARATOR.join(answered).encode())


def test_remembered_answers_write_the_same_271s(roster: Roster) -> None:
    """Asked twice, and again under other control numbers: the memo changes no byte."""
    memo: AnswerMemo = {}
    expected = (GOLDEN / "271.x12").read_text().split(SEPARATOR)
    for _ in range(2):
        answered = [
            answer_270(text, roster, sim_envelope(text, 41 + i), answers=memo) for i, text in enumerate(texts_270())
        ]
        assert answered == expected
    assert memo  # the second round was answered from it
    for i, (member, last, dob, date) in enumerate(ELIGIBILITY):
        request = eligibility_request(member, last, dob, date).model_copy(update={"control_number": f"55500{i}"})
        text = request_to_270(request, engine_envelope(400 + i))
        remembered = answer_270(text, roster, sim_envelope(text, 7), answers=memo)
        assert "TRN*2*55500" in remembered
        assert remembered == answer_270(text, roster, sim_envelope(text, 7))


def _without_clock(text_271: str) -> str:
    """A 271 with its envelope's date and time (ISA09/10, GS04/05, BHT04/05) blanked."""
    lines = []
    for seg in text_271.split("~"):
        e = seg.split("*")
        tag = e[0].strip()
        for tag_, positions in (("ISA", (9, 10)), ("GS", (4, 5)), ("BHT", (4, 5))):
            if tag == tag_:
                for p in positions:
                    if p < len(e):
                        e[p] = ""
        lines.append("*".join(e))
    return "~".join(lines)


def test_core_endpoint_answers_what_answer_270_does(roster: Roster, rules: Rules) -> None:
    app = sim_app(roster, rules, receiver_id="SIMPLAN01", sender_id="SIMPLAN01", control_start=41)

    async def post(body: bytes) -> tuple[int, bytes]:
        return await post_asgi(app, "/core", body, b"application/soap+xml; charset=utf-8")

    async def all_of(texts: list[str]) -> list[tuple[int, bytes]]:
        return [await post(build_request(CoreRequest.new(t, sender_id="ENGINE01", receiver_id="SIMPLAN01")))
                for t in texts]

    texts = texts_270()
    expected = (GOLDEN / "271.x12").read_text().split(SEPARATOR)
    for (status, body), want in zip(asyncio.run(all_of(texts)), expected, strict=True):
        assert status == 200
        response = parse_response(body)
        assert _without_clock(response.payload.strip()) == _without_clock(want.strip())  # type: ignore[union-attr]
