"""Traffic reports: volumes by partner, type and day; acceptance and rejection with reasons."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import Engine

from edi.reports.facts import TransactionFacts, load_transactions, reading
from edi.reports.model import DailyPoint, Report, Table, Window
from edi.reports.reasons import describe

__all__ = ["acceptance_report", "daily_series", "volume_report"]

_STATUSES = ("accepted", "rejected", "failed", "pending")


def daily_series(window: Window, facts: list[TransactionFacts]) -> list[DailyPoint]:
    volume = Counter(f.created_at.date() for f in facts)
    rejected = Counter(f.created_at.date() for f in facts if f.outcome().status == "rejected")
    return [DailyPoint(day=day, volume=volume[day], rejected=rejected[day]) for day in window.days()]


def volume_report(engine: Engine, window: Window, now: datetime) -> Report:
    with reading(engine) as connection:
        facts = load_transactions(connection, window)
    by_day = Counter((f.created_at.date().isoformat(), f.partner, f.type) for f in facts)
    by_partner = Counter((f.partner, f.type) for f in facts)
    by_state = Counter((f.type, f.state) for f in facts)
    return Report(
        kind="volume", title="Transaction volume", window=window, generated_at=now,
        tables=[
            Table(name="by_partner", title="Transactions by partner and type",
                  columns=["partner", "document_type", "transactions"],
                  rows=[[p, t, n] for (p, t), n in sorted(by_partner.items())]
                  + [["all", "all", len(facts)]]),
            Table(name="by_day", title="Transactions by day, partner and type",
                  columns=["day", "partner", "document_type", "transactions"],
                  rows=[[d, p, t, n] for (d, p, t), n in sorted(by_day.items())]),
            Table(name="by_state", title="Where the transactions are now",
                  columns=["document_type", "state", "transactions"],
                  rows=[[t, s, n] for (t, s), n in sorted(by_state.items())]),
        ],
        daily=daily_series(window, facts),
    )


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def acceptance_report(engine: Engine, window: Window, now: datetime) -> Report:
    with reading(engine) as connection:
        facts = load_transactions(connection, window)
    outcomes = [(f, f.outcome()) for f in facts]
    counts: dict[str, Counter[str]] = {}
    for fact, outcome in outcomes:
        counts.setdefault(fact.type, Counter())[outcome.status] += 1
        counts.setdefault("all", Counter())[outcome.status] += 1
    rates = []
    for kind in sorted(counts, key=lambda k: (k == "all", k)):
        c = counts[kind]
        total = sum(c.values())
        rates.append([kind, total, *(c[s] for s in _STATUSES), _rate(c["accepted"], total), _rate(c["rejected"], total)])
    reasons: Counter[tuple[str, str, str]] = Counter()
    for _, outcome in outcomes:
        if outcome.status in ("rejected", "failed"):
            for code_list, code in outcome.codes:
                reasons[(outcome.source or "", code_list, code)] += 1
    return Report(
        kind="acceptance", title="Acceptance and rejection", window=window, generated_at=now,
        notes=["Rates are of transactions received in the window; a claim rejected by its 277CA after a "
               "999 acceptance counts as rejected. Failed: no answer could be had (see the reasons)."],
        tables=[
            Table(name="rates", title="Outcomes by document type",
                  columns=["document_type", "transactions", *_STATUSES, "acceptance_rate", "rejection_rate"],
                  rows=rates),
            Table(name="reasons", title="Rejection and failure reasons",
                  columns=["source", "code_list", "code", "description", "transactions"],
                  rows=[[s, k, c, describe(k, c), n] for (s, k, c), n in
                        sorted(reasons.items(), key=lambda item: (-item[1], item[0]))]),
        ],
        daily=daily_series(window, facts),
    )
