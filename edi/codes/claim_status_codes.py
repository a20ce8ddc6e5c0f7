"""The most common health care claim status codes (X12 code list 508, STC01-2 of the 277).

The full list has about a thousand entries and changes three times a year; this
table holds the ones payers send most often on 277CA rejections and claim status
responses. Codes missing here are passed through without a description.
"""

from __future__ import annotations

from edi.codes._table import CodeTable, freeze

__all__ = ["CLAIM_STATUS_CODES"]

CLAIM_STATUS_CODES: CodeTable = freeze(
    {
        "0": "Cannot provide further status electronically.",
        "1": "For more detailed information, see remittance advice.",
        "3": "Claim has been adjudicated and is awaiting payment cycle.",
        "15": "Justification for admission.",
        "16": "Claim/encounter has been forwarded to entity.",
        "19": "Entity acknowledges receipt of claim/encounter.",
        "20": "Accepted for processing.",
        "21": "Missing or invalid information.",
        "23": "Returned to Entity.",
        "24": "Entity not approved as an electronic submitter.",
        "25": "Entity not approved.",
        "26": "Entity not found.",
        "27": "Policy canceled.",
        "29": "Subscriber and policy number/contract number mismatched.",
        "30": "Subscriber and subscriber id mismatched.",
        "31": "Subscriber and policyholder name mismatched.",
        "32": "Subscriber and policy number/contract number not found.",
        "33": "Subscriber and subscriber id not found.",
        "34": "Subscriber and policyholder name not found.",
        "35": "Claim/encounter not found.",
        "65": "Claim/line has been paid.",
        "88": "Entity is not eligible for benefits for submitted dates of service.",
        "89": "Entity is not eligible for dependent benefits for submitted dates of service.",
        "90": "Entity not eligible for medical benefits for submitted dates of service.",
        "96": "No agreement with entity.",
        "97": "Patient eligibility not found with entity.",
        "145": "Entity's responsibility amount.",
        "158": "Entity's date of birth.",
        "164": "Entity's contract/member number.",
        "187": "Date(s) of service.",
        "188": "Statement from-through dates.",
        "247": "Line Item Control Number.",
        "254": "Principal diagnosis code.",
        "255": "Diagnosis code.",
        "400": "Claim is out of balance.",
        "454": "Procedure code for services rendered.",
        "455": "Revenue code for services rendered.",
        "476": "Missing or invalid provider identifier.",
        "478": "Claim submitted prematurely. Please resubmit after crossover/payer to payer COB "
        "allotted waiting period.",
        "484": "Business Application Currently Not Available",
        "496": "Submitter not approved for electronic claim submissions on behalf of this entity.",
        "507": "HCPCS",
        "510": "Future date.",
        "511": "Invalid character.",
        "512": "Length invalid for receiver's application system.",
        "513": "HIPPS Rate Code for services Rendered",
        "516": "Other Procedure Code for Service(s) Rendered",
        "519": "Invalid Value",
        "562": "Entity's National Provider Identifier (NPI)",
        "673": "Patient Reason for Visit",
        "732": "Information submitted inconsistent with billing guidelines.",
        "746": "Duplicate Submission",
        "747": "Diagnosis code pointer is missing or invalid.",
    }
)
