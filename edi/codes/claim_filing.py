"""Claim filing indicator codes (X12 code list 1032, SBR09 of the 837 and CLP06 of the 835).

They tell the payer which kind of plan the claim is billed to (Medicare Part B,
commercial, HMO...). Professional and institutional claim requests must use one.
"""

from __future__ import annotations

from edi.codes._table import CodeTable, freeze

__all__ = ["CLAIM_FILING_CODES"]

CLAIM_FILING_CODES: CodeTable = freeze(
    {
        "11": "Other Non-Federal Programs",
        "12": "Preferred Provider Organization (PPO)",
        "13": "Point of Service (POS)",
        "14": "Exclusive Provider Organization (EPO)",
        "15": "Indemnity Insurance",
        "16": "Health Maintenance Organization (HMO) Medicare Risk",
        "17": "Dental Maintenance Organization",
        "AM": "Automobile Medical",
        "BL": "Blue Cross/Blue Shield",
        "CH": "Champus",
        "CI": "Commercial Insurance Co.",
        "DS": "Disability",
        "FI": "Federal Employees Program",
        "HM": "Health Maintenance Organization",
        "LM": "Liability Medical",
        "MA": "Medicare Part A",
        "MB": "Medicare Part B",
        "MC": "Medicaid",
        "OF": "Other Federal Program",
        "TV": "Title V",
        "VA": "Veterans Affairs Plan",
        "WC": "Workers' Compensation Health Claim",
        "ZZ": "Mutually Defined",
    }
)
