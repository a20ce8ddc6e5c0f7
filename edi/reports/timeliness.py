"""Timeliness: transmissions unanswered past their deadline, and turnaround percentiles.

Deadlines: a 999 within one hour of an 837's upload, and (CAQH CORE) a real-time 271 within 20
seconds of the 270 being sent. Whether something is "still" unanswered is judged at the end of
the window (or now, if earlier), so a report on last week gives last week's picture.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Engine

from edi.reports.facts import Event, TransactionFacts, load_transactions, reading
from edi.reports.model import Report, Table, Window
from edi.store.states import TERMINAL, Kind, State

__all__ = ["DEADLINES", "PERCENTILES", "overdue_report", "percentile", "turnaround_report"]

DEADLINES: dict[str, timedelta] = {Kind.CLAIM.value: timedelta(hours=1), Kind.ELIGIBILITY.value: timedelta(seconds=20)}
_ANSWER = {Kind.CLAIM.value: "999", Kind.ELIGIBILITY.value: "271"}
PERCENTILES = (50, 90, 95, 99)


def _sent(event: Event) -> bool:
    return event.to_state == State.SENT


def _answers(kind: str) -> Callable[[Event], bool]:
    """What counts as the awaited answer: a 999 (or a TA1 rejecting the interchange, after which
    no 999 comes) for a claim; the 271 for an eligibility request."""
    def answered(event: Event) -> bool:
        reason = event.reason
        if reason is None:
            return False
        if kind == Kind.CLAIM.value:
            return reason.source == "999" or (reason.source == "TA1" and reason.accepted is False)
        return reason.source == "271"
    return answered


def overdue_report(engine: Engine, window: Window, now: datetime) -> Report:
    as_of = min(window.end, now)
    with reading(engine) as connection:
        facts = load_transactions(connection, window)
    rows = []
    for fact in facts:
        deadline_after = DEADLINES.get(fact.kind)
        past = [e for e in fact.events if e.at <= as_of]
        sent = next((e for e in reversed(past) if _sent(e)), None)  # the latest send: a 270 may go twice
        if deadline_after is None or sent is None:
            continue
        if any(_answers(fact.kind)(e) for e in past) or past[-1].to_state in TERMINAL:
            continue
        deadline = sent.at + deadline_after
        if deadline < as_of:
            rows.append([fact.id, fact.partner, fact.type, _ANSWER[fact.kind], sent.at.isoformat(),
                         deadline.isoformat(), round((as_of - deadline).total_seconds(), 3)])
    rows.sort(key=lambda r: (r[5], r[0]))
    summary: dict[tuple[str, str], int] = {}
    for row in rows:
        summary[(row[1], row[2])] = summary.get((row[1], row[2]), 0) + 1
    return Report(
        kind="overdue", title="Transmissions unacknowledged past their deadline", window=window, generated_at=now,
        parameters={"as_of": as_of.isoformat()},
        notes=["Deadlines: 999 within 1 hour of an 837 upload; real-time 271 within 20 seconds of the 270 "
               "(CAQH CORE). Judged at as_of, the end of the window or now if earlier."],
        tables=[
            Table(name="summary", title="Overdue by partner and type", columns=["partner", "document_type", "overdue"],
                  rows=[[p, t, n] for (p, t), n in sorted(summary.items())]),
            Table(name="overdue", title="Overdue transmissions",
                  columns=["transaction_id", "partner", "document_type", "awaiting", "sent_at", "deadline",
                           "overdue_seconds"], rows=rows),
        ],
    )


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile: always a value that was observed, so figures can be checked by hand."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def _reason_from(source: str) -> Callable[[Event], bool]:
    return lambda e: (r := e.reason) is not None and r.source == source


# metric: (kinds it applies to, where the clock starts, where it stops)
_METRICS: list[tuple[str, str, Callable[[TransactionFacts], Event | None], Callable[[Event], bool]]] = [
    ("received to 271", Kind.ELIGIBILITY.value, lambda f: Event(f.created_at, State.RECEIVED, None), _reason_from("271")),
    ("sent to 999", Kind.CLAIM.value, lambda f: f.first(_sent), _reason_from("999")),
    ("sent to 277CA", Kind.CLAIM.value, lambda f: f.first(_sent), _reason_from("277CA")),
    ("sent to 835", Kind.CLAIM.value, lambda f: f.first(_sent), _reason_from("835")),
]


def turnaround_report(engine: Engine, window: Window, now: datetime) -> Report:
    with reading(engine) as connection:
        facts = load_transactions(connection, window)
    samples: dict[tuple[str, str], list[float]] = {}
    for fact in facts:
        for metric, kind, start_of, stops in _METRICS:
            if fact.kind != kind:
                continue
            start = start_of(fact)
            stop = fact.first(stops)
            if start is not None and stop is not None:
                samples.setdefault((metric, fact.type), []).append((stop.at - start.at).total_seconds())
        delivered = fact.first(lambda e: e.to_state == State.DELIVERED)
        if delivered is not None:
            samples.setdefault(("received to delivered", fact.type), []).append(
                (delivered.at - fact.created_at).total_seconds())
    rows = [
        [metric, kind, len(values), *(round(percentile(values, p), 3) for p in PERCENTILES), round(max(values), 3)]
        for (metric, kind), values in sorted(samples.items())
    ]
    return Report(
        kind="turnaround", title="Turnaround percentiles (seconds)", window=window, generated_at=now,
        notes=["Nearest-rank percentiles over transactions received in the window that got that far."],
        tables=[Table(name="percentiles", title="Turnaround (seconds)",
                      columns=["metric", "document_type", "count", *(f"p{p}" for p in PERCENTILES), "max"], rows=rows)],
    )
