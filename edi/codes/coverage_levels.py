"""Coverage level codes (X12 code list 1207, EB02 of the 271).

They say who a benefit row covers (individual, family...); the eligibility
response shows the code and its description side by side.
"""

from __future__ import annotations

from edi.codes._table import CodeTable, freeze

__all__ = ["COVERAGE_LEVEL_CODES"]

COVERAGE_LEVEL_CODES: CodeTable = freeze(
    {
        "CHD": "Children Only",
        "DEP": "Dependents Only",
        "ECH": "Employee and Children",
        "EMP": "Employee Only",
        "ESP": "Employee and Spouse",
        "FAM": "Family",
        "IND": "Individual",
        "SPC": "Spouse and Children",
        "SPO": "Spouse Only",
    }
)
