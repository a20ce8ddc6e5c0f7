"""Claim adjustment group codes (X12 code list 1033, CAS01 of the 835 and 837 COB loops).

The group says who bears an adjustment: CO means the provider writes it off,
PR means the patient owes it. Remittance JSON shows the description next to the code.
CR is kept for reading older remittances: 005010X221A1 itself allows only CO, OA, PI and PR.
"""

from __future__ import annotations

from edi.codes._table import CodeTable, freeze

__all__ = ["ADJUSTMENT_GROUP_CODES"]

ADJUSTMENT_GROUP_CODES: CodeTable = freeze(
    {
        "CO": "Contractual Obligations",
        "CR": "Correction and Reversals",
        "OA": "Other adjustments",
        "PI": "Payor Initiated Reductions",
        "PR": "Patient Responsibility",
    }
)
