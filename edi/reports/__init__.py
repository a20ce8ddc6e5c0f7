"""Compliance and operations reports over the store and the audit trail.

Each report kind is a pure function from a database and a time window to a ``Report`` (tables
of figures and, where it means something, a daily series of volume and rejection rate); the
renderers in ``edi.reports.render`` turn any report into CSV, JSON, HTML or PDF. Imports are
lazy so the pipeline can use ``edi.reports.reasons`` without loading the report queries.
"""

from __future__ import annotations

from typing import Any

__all__ = ["KINDS", "Report", "ReportError", "Window", "generate"]


def __getattr__(name: str) -> Any:
    if name in ("KINDS", "generate"):
        from edi.reports import registry

        return getattr(registry, name)
    if name in ("Report", "ReportError", "Window"):
        from edi.reports import model

        return getattr(model, name)
    raise AttributeError(name)
