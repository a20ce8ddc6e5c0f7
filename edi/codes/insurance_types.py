"""Insurance type codes (X12 code list 1336, EB04 of the 271 and SBR05 of the 837).

The 271 names the kind of plan behind a benefit (HMO, PPO, Medicare Part B...);
secondary 837 claims use the same list for Medicare secondary payer reasons.
"""

from __future__ import annotations

from edi.codes._table import CodeTable, freeze

__all__ = ["INSURANCE_TYPE_CODES"]

INSURANCE_TYPE_CODES: CodeTable = freeze(
    {
        "12": "Medicare Secondary Working Aged Beneficiary or Spouse with Employer Group Health Plan",
        "13": "Medicare Secondary End-Stage Renal Disease Beneficiary in the Mandated Coordination Period "
        "with an Employer's Group Health Plan",
        "14": "Medicare Secondary, No-fault Insurance including Auto is Primary",
        "15": "Medicare Secondary Worker's Compensation",
        "16": "Medicare Secondary Public Health Service (PHS) or Other Federal Agency",
        "41": "Medicare Secondary Black Lung",
        "42": "Medicare Secondary Veteran's Administration",
        "43": "Medicare Secondary Disabled Beneficiary Under Age 65 with Large Group Health Plan (LGHP)",
        "47": "Medicare Secondary, Other Liability Insurance is Primary",
        "AP": "Auto Insurance Policy",
        "C1": "Commercial",
        "CO": "Consolidated Omnibus Budget Reconciliation Act (COBRA)",
        "CP": "Medicare Conditionally Primary",
        "D": "Disability",
        "DB": "Disability Benefits",
        "EP": "Exclusive Provider Organization",
        "FF": "Family or Friends",
        "GP": "Group Policy",
        "HM": "Health Maintenance Organization (HMO)",
        "HN": "Health Maintenance Organization (HMO) - Medicare Risk",
        "HS": "Special Low Income Medicare Beneficiary",
        "IN": "Indemnity",
        "IP": "Individual Policy",
        "LC": "Long Term Care",
        "LD": "Long Term Policy",
        "LI": "Life Insurance",
        "LT": "Litigation",
        "MA": "Medicare Part A",
        "MB": "Medicare Part B",
        "MC": "Medicaid",
        "MH": "Medigap Part A",
        "MI": "Medigap Part B",
        "MP": "Medicare Primary",
        "OT": "Other",
        "PE": "Property Insurance - Personal",
        "PL": "Personal",
        "PP": "Personal Payment (Cash - No Insurance)",
        "PR": "Preferred Provider Organization (PPO)",
        "PS": "Point of Service (POS)",
        "QM": "Qualified Medicare Beneficiary",
        "RP": "Property Insurance - Real",
        "SP": "Supplemental Policy",
        "TF": "Tax Equity Fiscal Responsibility Act (TEFRA)",
        "WC": "Workers Compensation",
        "WU": "Wrap Up Policy",
    }
)
