"""Entity identifier codes (X12 code list 98) that appear in 271, 277 and 835 names and statuses.

A 277 status such as "Entity not found" names the entity with one of these codes
(STC01-3); the reports add the description so the reader knows whether the payer
means the billing provider, the subscriber or the patient.
"""

from __future__ import annotations

from edi.codes._table import CodeTable, freeze

__all__ = ["ENTITY_IDENTIFIER_CODES"]

ENTITY_IDENTIFIER_CODES: CodeTable = freeze(
    {
        "03": "Dependent",
        "1P": "Provider",
        "1Z": "Home Health Care",
        "2B": "Third-Party Administrator",
        "36": "Employer",
        "40": "Receiver",
        "41": "Submitter",
        "71": "Attending Physician",
        "72": "Operating Physician",
        "73": "Other Physician",
        "77": "Service Location",
        "80": "Hospital",
        "82": "Rendering Provider",
        "85": "Billing Provider",
        "87": "Pay-to Provider",
        "BLT": "Billing Type",
        "DK": "Ordering Physician",
        "DN": "Referring Provider",
        "DQ": "Supervising Physician",
        "FA": "Facility",
        "GB": "Other Insured",
        "HK": "Subscriber",
        "IL": "Insured or Subscriber",
        "LI": "Independent Lab",
        "P3": "Primary Care Provider",
        "PE": "Payee",
        "PR": "Payer",
        "PRP": "Primary Payer",
        "QC": "Patient",
        "SEP": "Secondary Payer",
        "TTP": "Tertiary Payer",
        "TU": "Third Party Repricing Organization",
        "VN": "Vendor",
        "X3": "Utilization Management Organization",
    }
)
