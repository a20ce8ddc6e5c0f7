"""Reports over a real pipeline run: the embedded stack (API, stage workers, payer simulator over
CORE and SFTP, a verifying callback receiver) takes eligibility requests and a claim batch the
simulator's rules accept in part, and each report kind is checked against those known inputs.

Timings cannot be known in advance in a live run: turnaround percentiles are checked against
the transaction histories read through the repository (another code path than the report's)."""

from __future__ import annotations

import csv
import io
import math
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from connectors.pipeline.sample import PARTNER_ID
from edi.audit import AuditEntry, verify_chain
from edi.audit.record import AuditLog, phi_read
from edi.reports import Window, generate
from edi.reports.render import to_csv, to_html
from edi.store import ALL_SUBMITTERS
from edi.store.models import utcnow
from tests.test_pipeline_e2e import (  # noqa: F401
    ACCEPTED,
    BATCH,
    EMBEDDED,
    REJECTED,
    Backend,
    Stack,
    eligibility,
    make_stack,
)


def _nearest_rank(values: list[float], p: int) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


@pytest.fixture
def backend(tmp_path: Path) -> Backend:
    """The embedded default only: the reports read the same store either way."""
    return Backend(EMBEDDED, f"sqla+sqlite:///{tmp_path / 'data' / 'broker.db'}")


def test_every_report_kind_over_a_pipeline_run(make_stack: Callable[..., Stack]) -> None:  # noqa: F811
    start = utcnow()
    stack = make_stack()
    answers = {member: eligibility(stack, member, last, "19800115")
               for member, last in [("SIM00001", "DOE"), ("NOBODY01", "DOE")]}
    assert all(a.status_code == 200 for a in answers.values()), [a.text for a in answers.values()]
    elig = {m: a.headers["Location"].removeprefix("/transactions/") for m, a in answers.items()}
    claims = stack.post_claims(BATCH)
    states = stack.wait_states(list(claims.values()), timeout=60)
    assert set(states.values()) == {"delivered"}, states
    assert stack.wait_states(list(elig.values()), timeout=10) == {t: "delivered" for t in elig.values()}
    engine = stack.pipeline.repository.engine
    AuditLog(engine).record(phi_read("alice", elig["SIM00001"]), phi_read("alice", claims["ACCEPT-1"]),
                            phi_read("bob", claims["UNKNOWN"]))
    window = Window(start=start - timedelta(seconds=1), end=utcnow() + timedelta(seconds=1))

    volume = generate("volume", engine, window)
    assert volume.table("by_partner").rows == [[PARTNER_ID, "270", 2], [PARTNER_ID, "837P", len(BATCH)],
                                               ["all", "all", len(BATCH) + 2]]
    assert sum(p.volume for p in volume.daily or []) == len(BATCH) + 2

    acceptance = generate("acceptance", engine, window)
    n = len(BATCH)
    assert acceptance.table("rates").rows == [
        ["270", 2, 1, 1, 0, 0, 0.5, 0.5],
        ["837P", n, len(ACCEPTED), len(REJECTED), 0, 0, round(len(ACCEPTED) / n, 4), round(len(REJECTED) / n, 4)],
        ["all", n + 2, len(ACCEPTED) + 1, len(REJECTED) + 1, 0, 0, round((len(ACCEPTED) + 1) / (n + 2), 4),
         round((len(REJECTED) + 1) / (n + 2), 4)],
    ]
    # The simulator answers an unknown member with AAA 75, and rejects claims with 277CA category A3.
    assert [(r[0], r[1], r[2], r[4]) for r in acceptance.table("reasons").rows] == [
        ("277CA", "STC", "A3", len(REJECTED)), ("271", "AAA", "75", 1)]
    assert sum(p.rejected for p in acceptance.daily or []) == len(REJECTED) + 1

    assert generate("overdue", engine, window).table("overdue").rows == []  # everything was answered

    turnaround = generate("turnaround", engine, window)
    repo = stack.pipeline.repository
    samples: dict[str, list[float]] = {"sent to 999": [], "sent to 277CA": [], "sent to 835": []}
    for tid in claims.values():
        history = repo.history(tid, submitter_id=ALL_SUBMITTERS)
        sent = next(e.at for e in history if e.to_state == "sent")
        for metric, prefix in [("sent to 999", "999:"), ("sent to 277CA", "277CA:"), ("sent to 835", "835")]:
            answered = next((e.at for e in history if (e.detail_code or "").startswith(prefix)), None)
            if answered is not None:
                samples[metric].append((answered - sent).total_seconds())
    assert len(samples["sent to 999"]) == len(samples["sent to 277CA"]) == n
    assert len(samples["sent to 835"]) == len(ACCEPTED)
    rows = {row[0]: row for row in turnaround.table("percentiles").rows if row[1] == "837P"}
    for metric, values in samples.items():
        assert rows[metric][2:] == [len(values), *(round(_nearest_rank(values, p), 3) for p in (50, 90, 95, 99)),
                                    round(max(values), 3)], metric
    assert [row[2] for row in turnaround.table("percentiles").rows if row[:2] == ["received to 271", "270"]] == [2]

    deliveries = generate("deliveries", engine, window)
    callbacks = len(stack.receiver.deliveries)
    assert callbacks == 2 * n + len(ACCEPTED)  # 999 and 277CA for each claim, 835 for the paid ones
    assert deliveries.table("attempts").rows[0] == ["succeeded", callbacks, 1.0]
    assert deliveries.table("failures").rows == [] and deliveries.table("dead_lettered").rows == []

    access = generate("phi-access", engine, window, member="SIM00001", payloads=stack.pipeline.payloads,
                      officer="officer-e2e")
    assert sorted(r[2] for r in access.table("reads").rows) == sorted([elig["SIM00001"], claims["ACCEPT-1"]])
    by_user = generate("phi-access", engine, window, user="bob")
    assert [r[2] for r in by_user.table("reads").rows] == [claims["UNKNOWN"]]

    for report in (volume, acceptance, turnaround, deliveries, access):
        assert report.tables[0].name in to_csv(report).decode()
        assert b"<svg" in to_html(report) or report.daily is None
    assert list(csv.reader(io.StringIO(to_csv(acceptance).decode())))[0][0] == "table"

    # The runner seals the trail as the pipeline goes: every move of this run is chained and verifies.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and _unsealed(engine):
        time.sleep(0.2)
    assert _unsealed(engine) == 0
    chain = verify_chain(engine)
    assert chain.ok and chain.sealed >= 3 * len(BATCH), chain
    with engine.connect() as connection:
        moves = connection.execute(select(AuditEntry.action).where(AuditEntry.transaction_id == claims["ACCEPT-1"])
                                   .order_by(AuditEntry.position)).scalars().all()
    assert moves[:2] == ["received", "validated"] and "sent" in moves and moves[-1] in ("delivered", "read")


def _unsealed(engine: Any) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(AuditEntry)
                                  .where(AuditEntry.position.is_(None))).scalar_one()
