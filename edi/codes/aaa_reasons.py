"""AAA request validation codes of the 271 (005010X279A1): reject reasons and follow-up actions.

When a payer cannot answer an eligibility request it sends AAA segments with a
reject reason (AAA03, code list 901) and a follow-up action (AAA04, code list 889).
The eligibility response turns both into plain language in ``aaaErrors``.
"""

from __future__ import annotations

from edi.codes._table import CodeTable, freeze

__all__ = ["AAA_FOLLOW_UP_ACTION_CODES", "AAA_REJECT_REASON_CODES"]

AAA_REJECT_REASON_CODES: CodeTable = freeze(
    {
        "04": "Authorized Quantity Exceeded",
        "15": "Required application data missing",
        "41": "Authorization/Access Restrictions",
        "42": "Unable to Respond at Current Time",
        "43": "Invalid/Missing Provider Identification",
        "44": "Invalid/Missing Provider Name",
        "45": "Invalid/Missing Provider Specialty",
        "46": "Invalid/Missing Provider Phone Number",
        "47": "Invalid/Missing Provider State",
        "48": "Invalid/Missing Referring Provider Identification Number",
        "49": "Provider is Not Primary Care Physician",
        "50": "Provider Ineligible for Inquiries",
        "51": "Provider Not on File",
        "52": "Service Dates Not Within Provider Plan Enrollment",
        "53": "Inquired Benefit Inconsistent with Provider Type",
        "54": "Inappropriate Product/Service ID Qualifier",
        "55": "Inappropriate Product/Service ID",
        "56": "Inappropriate Date",
        "57": "Invalid/Missing Date(s) of Service",
        "58": "Invalid/Missing Date-of-Birth",
        "60": "Date of Birth Follows Date(s) of Service",
        "61": "Date of Death Precedes Date(s) of Service",
        "62": "Date of Service Not Within Allowable Inquiry Period",
        "63": "Date of Service in Future",
        "64": "Invalid/Missing Patient ID",
        "65": "Invalid/Missing Patient Name",
        "66": "Invalid/Missing Patient Gender Code",
        "67": "Patient Not Found",
        "68": "Duplicate Patient ID Number",
        "69": "Inconsistent with Patient's Age",
        "70": "Inconsistent with Patient's Gender",
        "71": "Patient Birth Date Does Not Match That for the Patient on the Database",
        "72": "Invalid/Missing Subscriber/Insured ID",
        "73": "Invalid/Missing Subscriber/Insured Name",
        "74": "Invalid/Missing Subscriber/Insured Gender Code",
        "75": "Subscriber/Insured Not Found",
        "76": "Duplicate Subscriber/Insured ID Number",
        "77": "Subscriber Found, Patient Not Found",
        "78": "Subscriber/Insured Not in Group/Plan Identified",
        "79": "Invalid Participant Identification",
        "80": "No Response received - Transaction Terminated",
        "97": "Invalid or Missing Provider Address",
        "AA": "Authorization Number Not Found",
        "AE": "Requires Primary Care Physician Authorization",
        "AF": "Invalid/Missing Diagnosis Code(s)",
        "AG": "Invalid/Missing Procedure Code(s)",
        "AO": "Additional Patient Condition Information Required",
        "CI": "Certification Information Does Not Match Patient",
        "E8": "Requires Medical Review",
        "IA": "Invalid Authorization Number Format",
        "MA": "Missing Authorization Number",
        "T4": "Payer Name or Identifier Missing",
    }
)

AAA_FOLLOW_UP_ACTION_CODES: CodeTable = freeze(
    {
        "C": "Please Correct and Resubmit",
        "N": "Resubmission Not Allowed",
        "P": "Please Resubmit Original Transaction",
        "R": "Resubmission Allowed",
        "S": "Do Not Resubmit; Inquiry Initiated to a Third Party",
        "W": "Please Wait 30 Days and Resubmit",
        "X": "Please Wait 10 Days and Resubmit",
        "Y": "Do Not Resubmit; We Will Hand Deliver",
    }
)
