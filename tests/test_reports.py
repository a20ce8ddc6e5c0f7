"""Reports over a known mix of traffic: every figure of every kind checked against the inputs.

The store is filled through the pipeline's own functions on a controlled clock -- intake's
``accept``/``reject``, the transport's ``realtime_answered`` with real 271s (one with an AAA),
the responses stage's ``process_inbound`` with real 999s (one rejecting a set with IK5 5),
``fail`` for a CORE time-out -- and through the repository for what needs a partner's whole
exchange (277CA and 835 verdicts, callback attempts), with the detail codes those stages write.
The HTML is opened in headless Chromium and the PDF printed by it.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from connectors.pipeline.runtime import open_pipeline
from edi.audit.models import AuditAction, AuditEntry
from edi.audit.record import AuditLog, AuditRecord, phi_read
from edi.checks import Problem
from edi.partners import load_partners
from edi.pipeline import Pipeline
from edi.pipeline.intake import accept, reject
from edi.pipeline.matching import process_inbound
from edi.pipeline.transmission import RealtimeSend, fail, realtime_answered
from edi.reports import Report, ReportError, Window, generate
from edi.reports.access import LOOKUP_OUTCOME
from edi.reports.render import chromium_command, to_csv, to_html, to_json, to_pdf
from edi.settings import Settings
from edi.store import ALL_SUBMITTERS, Correlation, DeliveryAttempt, Move, Repository, State
from edi.store.models import DeliveryOutcome
from tests.test_payer_sim_rules import claim, eligibility_request

HERE = Path(__file__).parent
X12 = HERE / "fixtures" / "x12" / "271_005010X279A1"
OK_271 = (X12 / "subscriber-health-benefit-check.271").read_text().strip()
AAA_271 = (X12 / "subscriber-health-benefit-check-error.271").read_text().strip()  # AAA*Y**50*N
D1 = datetime(2026, 11, 2, tzinfo=UTC)
D2 = D1 + timedelta(days=1)
D3 = D2 + timedelta(days=1)
NOW = D3 + timedelta(days=1)
WINDOW = Window.parse("2026-11-02", "2026-11-03")  # both days
HOOK_A = "https://clinic-a.example/hooks/edi?token=s3cret"
HOOK_B = "https://clinic-b.example:8443/cb"


class Clock:
    def __init__(self) -> None:
        self.now = D1

    def __call__(self) -> datetime:
        return self.now

    def at(self, moment: datetime) -> None:
        self.now = moment


@dataclass
class Seeded:
    pipeline: Pipeline
    clock: Clock
    ids: dict[str, str]
    settings: Settings

    @property
    def engine(self):  # noqa: ANN201
        return self.pipeline.repository.engine


def _isa(sender: str, receiver: str, number: int) -> str:
    return (f"ISA*00*{'':10}*00*{'':10}*ZZ*{sender:<15}*ZZ*{receiver:<15}*261102*1020*^*00501*{number:09d}*0*T*:~")


def x12_999(gs06: int, verdicts: list[tuple[int, str]], group_code: str, number: int) -> bytes:
    """A 999 answering group ``gs06``: (ST02, "A") accepts a set, (ST02, "R") rejects it with IK5 5."""
    body = ["ST*999*0001*005010X231A1", f"AK1*HC*{gs06}*005010X222A1"]
    for st02, verdict in verdicts:
        body.append(f"AK2*837*{st02:04d}")
        if verdict == "R":
            body += ["IK3*NM1*17**8", "IK5*R*5"]
        else:
            body.append("IK5*A")
    accepted = sum(v == "A" for _, v in verdicts)
    body.append(f"AK9*{group_code}*{len(verdicts)}*{len(verdicts)}*{accepted}")
    body.append(f"SE*{len(body) + 1}*0001")
    text = (_isa("ACME", "EDIENGINE", number) + f"GS*FA*ACME*EDIENGINE*20261102*1020*{number}*X*005010X231A1~"
            + "".join(s + "~" for s in body) + f"GE*1*{number}~IEA*1*{number:09d}~")
    return text.encode()


def _answer_999(seed: Seeded, name: str, raw: bytes) -> None:
    repo = seed.pipeline.repository
    inbound_id, _ = repo.record_inbound("acme", name, seed.pipeline.payloads.put(raw), document_type="999")
    assert process_inbound(seed.pipeline, inbound_id) == "matched"


def _eligibility(seed: Seeded, name: str, member: str, partner: str, created: datetime, *, answer: str | None,
                 after: float, submitter: str = "clinic-a", inline: bool = True) -> None:
    pipeline, clock = seed.pipeline, seed.clock
    clock.at(created)
    record, created_new = accept(pipeline, submitter_id=submitter, request_kind="eligibility",
                                 data=eligibility_request(member, "DOE", "19800115").to_json(), route=False)
    assert created_new
    repo = pipeline.repository
    repo.transition(record.id, State.QUEUED, actor="translate", partner_id=partner, expected=State.VALIDATED)
    clock.at(created + timedelta(seconds=1))
    sent = repo.transition(record.id, State.SENT, actor="transport", detail_code="core:sending")
    seed.ids[name] = record.id
    if answer is not None:
        clock.at(created + timedelta(seconds=after))
        realtime_answered(pipeline, RealtimeSend(sent, pipeline.partners.partner(partner), ""), answer,
                          delivered_inline=inline)


def _claim(seed: Seeded, name: str, member: str, created: datetime, isa13: int, st02: int,
           sent_after: float = 0.0) -> None:
    pipeline, clock = seed.pipeline, seed.clock
    clock.at(created)
    record, _ = accept(pipeline, submitter_id="clinic-a", request_kind="professional",
                       data=claim(name, member).to_json(), route=False)
    repo = pipeline.repository
    repo.transition(record.id, State.QUEUED, actor="batching", partner_id="acme",
                    correlation=Correlation(isa13=isa13, gs06=isa13, st02=st02))
    clock.at(created + timedelta(seconds=sent_after))
    repo.transition(record.id, State.SENT, actor="transport", detail_code="sftp:uploaded")
    seed.ids[name] = record.id


def _delivery(seed: Seeded, name: str, at: datetime, attempt: int, outcome: DeliveryOutcome, target: str,
              status: int | None = None, error: str | None = None) -> None:
    seed.clock.at(at)
    seed.pipeline.repository.record_delivery(DeliveryAttempt(
        seed.ids[name], f"wh-{name}", target, attempt, outcome, status_code=status, error_code=error))


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    tmp = tmp_path_factory.mktemp("reports")
    settings = Settings.from_env({"EDI_DATA_DIR": str(tmp / "data")})
    base = open_pipeline(settings, partners=load_partners(HERE / "fixtures" / "partners.yaml"), create_key=True)
    clock = Clock()
    pipeline = Pipeline(Repository(base.repository.engine, clock=clock, lookup_key=base.repository.lookup_key),
                        base.payloads, base.partners,
                        base.sequences, clock=clock)
    seed = Seeded(pipeline, clock, {}, settings)
    repo = pipeline.repository

    # outside the window, before and after: never counted
    _eligibility(seed, "BEFORE", "SIM00001", "bluepeak", D1 - timedelta(minutes=1), answer=OK_271, after=2)
    _claim(seed, "AFTER", "SIM00001", D3 + timedelta(hours=1), isa13=900, st02=1)

    # day 1, eligibility at bluepeak (real time)
    _eligibility(seed, "E1", "SIM00001", "bluepeak", D1 + timedelta(hours=9), answer=OK_271, after=2)
    _eligibility(seed, "E2", "SIM00002", "bluepeak", D1 + timedelta(hours=9, minutes=10), answer=OK_271, after=4)
    _eligibility(seed, "E3", "NOBODY01", "bluepeak", D1 + timedelta(hours=9, minutes=20), answer=AAA_271, after=3,
                 inline=False)
    _eligibility(seed, "E4", "SIM00003", "bluepeak", D1 + timedelta(hours=9, minutes=30), answer=None, after=0)
    _eligibility(seed, "E5", "SIM00001", "bluepeak", D1 + timedelta(hours=9, minutes=40), answer=None, after=0)
    clock.at(D1 + timedelta(hours=9, minutes=40, seconds=26))
    fail(pipeline, [repo.require(seed.ids["E5"], submitter_id=ALL_SUBMITTERS)], "core:no-response",
         "the payer did not answer within the CORE time limit", expected=frozenset({State.SENT}))

    # day 1, claims at acme: one batch (ISA13 = GS06 = 101), four sets; the 999 answers three
    for n, (name, member) in enumerate([("C1", "SIM00001"), ("C2", "SIM00002"), ("C3", "SIM00002"),
                                        ("C4", "SIM00003")]):
        _claim(seed, name, member, D1 + timedelta(hours=10, minutes=5 * n), isa13=101, st02=n + 1)
    clock.at(D1 + timedelta(hours=10, minutes=20))
    _answer_999(seed, "999-101", x12_999(101, [(1, "A"), (2, "A"), (3, "R")], "P", 501))
    clock.at(D1 + timedelta(hours=10, minutes=50))
    repo.apply([Move(seed.ids["C1"], State.RESPONDED, "277CA:A1"), Move(seed.ids["C2"], State.RESPONDED, "277CA:A3")],
               actor="responses")
    clock.at(D1 + timedelta(hours=11))
    rejected = reject(pipeline, submitter_id="clinic-a", request_kind="professional",
                      data=claim("C6", "SIM00001").to_json(),
                      problems=[Problem("claimInformation.claimChargeAmount", "must be positive")])
    seed.ids["C6"] = rejected.id

    # day 2
    _eligibility(seed, "E6", "SIM00002", "acme", D2 + timedelta(hours=8), answer=OK_271, after=10,
                 submitter="clinic-b")
    _claim(seed, "C7", "SIM00002", D2 + timedelta(hours=9), isa13=103, st02=1)
    clock.at(D2 + timedelta(hours=9, minutes=30))
    _answer_999(seed, "999-103", x12_999(103, [(1, "A")], "A", 503))
    clock.at(D2 + timedelta(hours=12))
    repo.apply([Move(seed.ids["C7"], State.RESPONDED, "835:1")], actor="responses")
    _claim(seed, "C5", "SIM00003", D2 + timedelta(hours=23, minutes=30), isa13=102, st02=1, sent_after=600)

    # callbacks
    _delivery(seed, "E1", D1 + timedelta(hours=9, seconds=3), 1, DeliveryOutcome.SUCCEEDED, HOOK_A, 204)
    _delivery(seed, "C2", D1 + timedelta(hours=10, minutes=51), 1, DeliveryOutcome.FAILED, HOOK_A, 503)
    _delivery(seed, "C2", D1 + timedelta(hours=10, minutes=52), 2, DeliveryOutcome.FAILED, HOOK_A, None, "http:timeout")
    _delivery(seed, "C2", D1 + timedelta(hours=10, minutes=55), 3, DeliveryOutcome.DEAD_LETTERED, HOOK_A, 500)
    _delivery(seed, "E6", D2 + timedelta(hours=8, seconds=11), 1, DeliveryOutcome.FAILED, HOOK_B, 404)
    _delivery(seed, "E6", D2 + timedelta(hours=8, minutes=1), 2, DeliveryOutcome.SUCCEEDED, HOOK_B, 200)
    _delivery(seed, "C7", D3 + timedelta(hours=2), 1, DeliveryOutcome.FAILED, HOOK_A, 502)  # after the window

    # PHI reads (and one event entry, which is not a read)
    ids = seed.ids
    for at, entry in [
        (D1 + timedelta(hours=12), phi_read("alice", ids["E1"], submitter_id="clinic-a")),
        (D1 + timedelta(hours=12, minutes=1), phi_read("alice", ids["C1"], submitter_id="clinic-a")),
        (D1 + timedelta(hours=12, minutes=2), phi_read("bob", ids["E1"])),
        (D1 + timedelta(hours=12, minutes=3), AuditRecord(AuditAction.SENT, "transport", transaction_id=ids["C1"])),
        (D2 + timedelta(hours=13), phi_read("bob", ids["E3"], outcome="denied")),
        (D3 + timedelta(hours=5), phi_read("alice", ids["E2"])),  # after the window
    ]:
        clock.at(at)
        AuditLog(seed.engine, clock=clock).record(entry)
    yield seed
    seed.engine.dispose()


def _rows(report: Report, table: str) -> list[list[object]]:
    return report.table(table).rows


# ------------------------------------------------------------------------------------- figures


def test_the_seeded_history_carries_the_reason_codes(seeded: Seeded) -> None:
    """The response stages record reasons as codes: the report needs no payload for them."""
    repo, ids = seeded.pipeline.repository, seeded.ids

    def details(name: str) -> list[str | None]:
        return [e.detail_code for e in repo.history(ids[name], submitter_id=ALL_SUBMITTERS)]

    assert "271:AAA-50" in details("E3")
    assert "271" in details("E1")
    assert "999:R:AK9-P:IK5-5" in details("C3")
    assert "999:A" in details("C1")


def test_volume(seeded: Seeded) -> None:
    report = generate("volume", seeded.engine, WINDOW, now=NOW)
    assert _rows(report, "by_partner") == [
        ["(none)", "837P", 1], ["acme", "270", 1], ["acme", "837P", 6], ["bluepeak", "270", 5], ["all", "all", 13],
    ]
    assert _rows(report, "by_day") == [
        ["2026-11-02", "(none)", "837P", 1], ["2026-11-02", "acme", "837P", 4], ["2026-11-02", "bluepeak", "270", 5],
        ["2026-11-03", "acme", "270", 1], ["2026-11-03", "acme", "837P", 2],
    ]
    assert _rows(report, "by_state") == [
        ["270", "delivered", 3], ["270", "failed", 1], ["270", "responded", 1], ["270", "sent", 1],
        ["837P", "acknowledged", 1], ["837P", "rejected", 1], ["837P", "responded", 3], ["837P", "sent", 2],
    ]
    assert [(p.day.isoformat(), p.volume, p.rejected) for p in report.daily or []] == [
        ("2026-11-02", 10, 4), ("2026-11-03", 3, 0)]


def test_acceptance_with_reasons(seeded: Seeded) -> None:
    report = generate("acceptance", seeded.engine, WINDOW, now=NOW)
    assert _rows(report, "rates") == [
        ["270", 6, 3, 1, 1, 1, 0.5, 0.1667],
        ["837P", 7, 2, 3, 0, 2, 0.2857, 0.4286],
        ["all", 13, 5, 4, 1, 3, 0.3846, 0.3077],
    ]
    reasons = {tuple(row[:3]): (row[3], row[4]) for row in _rows(report, "reasons")}
    assert reasons == {
        ("271", "AAA", "50"): ("Provider Ineligible for Inquiries", 1),
        ("277CA", "STC", "A3"): (reasons[("277CA", "STC", "A3")][0], 1),
        ("999", "IK501", "R"): (reasons[("999", "IK501", "R")][0], 1),
        ("999", "AK9", "P"): ("Partially Accepted, At Least One Transaction Set Was Rejected", 1),
        ("999", "IK5", "5"): ("One or More Segments in Error", 1),
        ("edi", "edi", "check:invalid"): ("", 1),
        ("edi", "edi", "core:no-response"): ("", 1),
    }
    assert reasons[("277CA", "STC", "A3")][0].startswith("Acknowledgement/Returned as unprocessable")
    assert reasons[("999", "IK501", "R")][0]


def test_overdue_at_the_end_of_the_window(seeded: Seeded) -> None:
    report = generate("overdue", seeded.engine, WINDOW, now=NOW)
    ids = seeded.ids
    as_of = WINDOW.end
    e4_deadline = D1 + timedelta(hours=9, minutes=30, seconds=21)
    c4_deadline = D1 + timedelta(hours=11, minutes=15)
    assert _rows(report, "overdue") == [
        [ids["E4"], "bluepeak", "270", "271", (e4_deadline - timedelta(seconds=20)).isoformat(),
         e4_deadline.isoformat(), (as_of - e4_deadline).total_seconds()],
        [ids["C4"], "acme", "837P", "999", (c4_deadline - timedelta(hours=1)).isoformat(),
         c4_deadline.isoformat(), (as_of - c4_deadline).total_seconds()],
    ]
    assert _rows(report, "summary") == [["acme", "837P", 1], ["bluepeak", "270", 1]]
    assert report.parameters["as_of"] == as_of.isoformat()


def test_overdue_judged_as_of_now_inside_the_window(seeded: Seeded) -> None:
    """At 11:10 on day 1 the 999 of 10:20 had come and C4's hour had not yet passed."""
    now = D1 + timedelta(hours=11, minutes=10)
    report = generate("overdue", seeded.engine, WINDOW, now=now)
    assert [row[0] for row in _rows(report, "overdue")] == [seeded.ids["E4"]]
    earlier = generate("overdue", seeded.engine, WINDOW, now=D1 + timedelta(hours=10, minutes=19))
    assert [row[0] for row in _rows(earlier, "overdue")] == [seeded.ids["E4"]]  # C1's deadline is 11:00
    later = generate("overdue", seeded.engine, WINDOW, now=D1 + timedelta(hours=11, minutes=16))
    assert [row[0] for row in _rows(later, "overdue")] == [seeded.ids["E4"], seeded.ids["C4"]]


def test_turnaround_percentiles(seeded: Seeded) -> None:
    report = generate("turnaround", seeded.engine, WINDOW, now=NOW)
    assert _rows(report, "percentiles") == [
        # nearest rank over [2, 3, 4, 10] s, [2, 4, 10] s, [600, 900, 1200, 1800] s, [2700, 3000] s, [10800] s
        ["received to 271", "270", 4, 3.0, 10.0, 10.0, 10.0, 10.0],
        ["received to delivered", "270", 3, 4.0, 10.0, 10.0, 10.0, 10.0],
        ["sent to 277CA", "837P", 2, 2700.0, 3000.0, 3000.0, 3000.0, 3000.0],
        ["sent to 835", "837P", 1, 10800.0, 10800.0, 10800.0, 10800.0, 10800.0],
        ["sent to 999", "837P", 4, 900.0, 1800.0, 1800.0, 1800.0, 1800.0],
    ]


def test_callback_delivery_failures(seeded: Seeded) -> None:
    report = generate("deliveries", seeded.engine, WINDOW, now=NOW)
    assert _rows(report, "attempts") == [["succeeded", 2, 0.3333], ["failed", 3, 0.5], ["dead_lettered", 1, 0.1667]]
    assert _rows(report, "failures") == [
        ["clinic-a", "https://clinic-a.example", "", "http:timeout", 1],
        ["clinic-a", "https://clinic-a.example", "500", "", 1],
        ["clinic-a", "https://clinic-a.example", "503", "", 1],
        ["clinic-b", "https://clinic-b.example:8443", "404", "", 1],
    ]
    assert _rows(report, "dead_lettered") == [[
        seeded.ids["C2"], "wh-C2", "clinic-a", "https://clinic-a.example", 3, 500, None,
        (D1 + timedelta(hours=10, minutes=55)).isoformat(),
    ]]
    assert "s3cret" not in to_csv(report).decode() + to_html(report).decode()


def test_phi_access_for_a_user(seeded: Seeded) -> None:
    ids = seeded.ids
    alice = generate("phi-access", seeded.engine, WINDOW, now=NOW, user="alice")
    assert [row[1:4] for row in _rows(alice, "reads")] == [["alice", ids["E1"], "ok"], ["alice", ids["C1"], "ok"]]
    assert _rows(alice, "by_actor") == [["alice", "ok", 2]]
    bob = generate("phi-access", seeded.engine, WINDOW, now=NOW, user="bob")
    assert [row[1:4] for row in _rows(bob, "reads")] == [["bob", ids["E1"], "ok"], ["bob", ids["E3"], "denied"]]
    assert _rows(bob, "by_actor") == [["bob", "denied", 1], ["bob", "ok", 1]]
    assert _rows(bob, "reads")[0][0] == (D1 + timedelta(hours=12, minutes=2)).isoformat()


def test_phi_access_for_a_member_decrypts_requests_and_audits_the_lookup(seeded: Seeded) -> None:
    ids, engine = seeded.ids, seeded.engine
    report = generate("phi-access", engine, WINDOW, now=NOW, member="SIM00001", payloads=seeded.pipeline.payloads,
                      officer="officer-1")
    assert [row[1:3] for row in _rows(report, "reads")] == [["alice", ids["E1"]], ["alice", ids["C1"]],
                                                           ["bob", ids["E1"]]]
    assert _rows(report, "by_actor") == [["alice", "ok", 2], ["bob", "ok", 1]]
    assert "SIM00001" not in to_json(report).decode() + to_html(report).decode()
    with engine.connect() as connection:
        lookups = connection.execute(
            select(AuditEntry.actor, AuditEntry.transaction_id, AuditEntry.kind)
            .where(AuditEntry.outcome == LOOKUP_OUTCOME).order_by(AuditEntry.id)).all()
    assert sorted(lookups) == sorted([("officer-1", ids["E1"], "access"), ("officer-1", ids["C1"], "access")])
    nobody = generate("phi-access", engine, WINDOW, now=NOW, member="NOBODY01", payloads=seeded.pipeline.payloads,
                      officer="officer-1")
    assert [row[1:4] for row in _rows(nobody, "reads")] == [["bob", ids["E3"], "denied"]]
    with pytest.raises(ReportError, match="key ring"):
        generate("phi-access", engine, WINDOW, now=NOW, member="SIM00001")
    with pytest.raises(ReportError, match="one user"):
        generate("phi-access", engine, WINDOW, now=NOW, user="alice", member="SIM00001",
                 payloads=seeded.pipeline.payloads, officer="o")


def test_bad_requests_are_refused_with_what_to_change(seeded: Seeded) -> None:
    with pytest.raises(ReportError, match="choose one of"):
        generate("nope", seeded.engine, WINDOW)
    with pytest.raises(ReportError, match="takes no user"):
        generate("volume", seeded.engine, WINDOW, user="alice")
    with pytest.raises(ReportError, match="after"):
        Window.parse("2026-11-03", "2026-11-01")
    with pytest.raises(ReportError, match="ISO date"):
        Window.parse("yesterday", "2026-11-01")


# ------------------------------------------------------------------------------------ renderers


def test_csv_and_json_carry_the_same_figures(seeded: Seeded) -> None:
    report = generate("acceptance", seeded.engine, WINDOW, now=NOW)
    assert Report.model_validate_json(to_json(report)) == report
    rows = list(csv.reader(io.StringIO(to_csv(report).decode())))
    rates = [r[1:] for r in rows if r[0] == "rates"]
    assert rates == [[str(c) for c in row] for row in _rows(report, "rates")]
    assert ["table", *report.table("reasons").columns] in rows
    assert [r[1:4] for r in rows if r[0] == "daily"] == [["2026-11-02", "10", "4"], ["2026-11-03", "3", "0"]]


def _open_in_chromium(page: Path, tmp: Path) -> tuple[str, str]:
    command = [*chromium_command(), f"--user-data-dir={tmp / 'profile'}", "--enable-logging=stderr", "--v=0",
               "--dump-dom", page.as_uri()]
    done = subprocess.run(command, capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    return done.stdout.decode(), done.stderr.decode(errors="replace")


@pytest.mark.parametrize("kind", ["volume", "acceptance", "overdue", "turnaround", "phi-access", "deliveries"])
def test_html_opens_in_headless_chromium(seeded: Seeded, tmp_path: Path, kind: str) -> None:
    options = {"user": "alice"} if kind == "phi-access" else {}
    report = generate(kind, seeded.engine, WINDOW, now=NOW, **options)
    page = tmp_path / f"{kind}.html"
    page.write_bytes(to_html(report))
    dom, log = _open_in_chromium(page, tmp_path)
    console = [line for line in log.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert console == []
    assert f"<h1>{report.title}</h1>" in dom
    for table in report.tables:
        assert f'<table id="{table.name}">' in dom
    if report.daily is not None:
        assert '<svg id="daily-chart"' in dom
        assert dom.count('class="volume"') == len(report.daily) == 2
        assert 'class="rejection-rate"' in dom
    else:
        assert "daily-chart" not in dom


def test_pdf_is_printed_with_pages(seeded: Seeded) -> None:
    report = generate("acceptance", seeded.engine, WINDOW, now=NOW)
    data = to_pdf(report)
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) >= 1
    text = " ".join(page.extract_text() for page in reader.pages)
    assert "Acceptance and rejection" in text
    assert "Provider Ineligible for Inquiries" in text


# ----------------------------------------------------------------------------------------- CLI


def test_cli_report_writes_each_format(seeded: Seeded, tmp_path: Path) -> None:
    env = {**os.environ, "EDI_DATA_DIR": str(seeded.settings.data_dir)}
    env.pop("EDI_DATABASE_URL", None)
    out = tmp_path / "report.json"
    done = subprocess.run([sys.executable, "-m", "edi", "report", "turnaround", "--from", "2026-11-02", "--to",
                           "2026-11-03", "--format", "json", "-o", str(out)], env=env, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    data = json.loads(out.read_text())
    assert data["kind"] == "turnaround"
    assert data["tables"][0]["rows"][4] == ["sent to 999", "837P", 4, 900.0, 1800.0, 1800.0, 1800.0, 1800.0]
    csv_run = subprocess.run([sys.executable, "-m", "edi", "report", "volume", "--from", "2026-11-02", "--to",
                              "2026-11-03", "--format", "csv"], env=env, capture_output=True, timeout=120)
    assert csv_run.returncode == 0, csv_run.stderr.decode()
    assert ["by_partner", "all", "all", "13"] in list(csv.reader(io.StringIO(csv_run.stdout.decode())))
    member = subprocess.run([sys.executable, "-m", "edi", "report", "phi-access", "--from", "2026-11-02", "--to",
                             "2026-11-03", "--format", "csv", "--member", "-", "--officer", "officer-2"],
                            env=env, input=b"NOBODY01\n", capture_output=True, timeout=120)
    assert member.returncode == 0, member.stderr.decode()
    reads = [r for r in csv.reader(io.StringIO(member.stdout.decode())) if r[0] == "reads"]
    assert [r[2:5] for r in reads] == [["bob", seeded.ids["E3"], "denied"]]
    bad = subprocess.run([sys.executable, "-m", "edi", "report", "nope", "--from", "2026-11-02", "--to",
                          "2026-11-03"], env=env, capture_output=True, timeout=120)
    assert bad.returncode == 2
    assert b"choose one of" in bad.stderr
