"""Gender codes (X12 code list 1068, DMG03) used for subscribers, dependents and patients."""

from __future__ import annotations

from edi.codes._table import CodeTable, freeze

__all__ = ["GENDER_CODES"]

GENDER_CODES: CodeTable = freeze(
    {
        "F": "Female",
        "M": "Male",
        "U": "Unknown",
    }
)
