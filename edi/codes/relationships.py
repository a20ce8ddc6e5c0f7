"""Individual relationship codes (X12 code list 1069: INS02 of the 270/271, SBR02 and PAT01 of the 837).

They say how the patient relates to the subscriber. The 270 accepts only 01, 19
and 34 for a dependent; the 837 accepts the others except 34. Codes dropped in
005010 (such as 17 or 32) are rejected by payers.
"""

from __future__ import annotations

from edi.codes._table import CodeTable, freeze

__all__ = ["RELATIONSHIP_CODES"]

RELATIONSHIP_CODES: CodeTable = freeze(
    {
        "01": "Spouse",
        "18": "Self",
        "19": "Child",
        "20": "Employee",
        "21": "Unknown",
        "34": "Other Adult",
        "39": "Organ Donor",
        "40": "Cadaver Donor",
        "53": "Life Partner",
        "G8": "Other Relationship",
    }
)
