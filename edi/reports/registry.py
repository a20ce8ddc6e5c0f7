"""The report kinds by name, for the CLI and the API alike."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from edi.reports.access import phi_access_report
from edi.reports.callbacks import delivery_report
from edi.reports.model import Report, ReportError, Window
from edi.reports.timeliness import overdue_report, turnaround_report
from edi.reports.traffic import acceptance_report, volume_report
from edi.store.models import utcnow

__all__ = ["KINDS", "generate"]

KINDS: dict[str, Callable[..., Report]] = {
    "volume": volume_report,
    "acceptance": acceptance_report,
    "overdue": overdue_report,
    "turnaround": turnaround_report,
    "phi-access": phi_access_report,
    "deliveries": delivery_report,
}


def generate(kind: str, engine: Engine, window: Window, *, now: datetime | None = None, **options: Any) -> Report:
    """Build one report; options (user, member, payloads, officer) are for the PHI access log only."""
    build = KINDS.get(kind)
    if build is None:
        raise ReportError(f"unknown report {kind!r}: choose one of {', '.join(KINDS)}")
    given = {k: v for k, v in options.items() if v is not None}
    if given and kind != "phi-access":
        raise ReportError(f"the {kind} report takes no {', '.join(sorted(given))}")
    return build(engine, window, now or utcnow(), **given)
