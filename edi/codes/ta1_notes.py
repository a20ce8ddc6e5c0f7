"""Interchange acknowledgment (TA1) codes: TA104 acknowledgment codes and TA105 note codes.

A TA1 answers for a whole ISA/IEA envelope with a three-digit note code; these
descriptions let the JSON form of a TA1 say why an interchange was refused.
"""

from __future__ import annotations

from edi.codes._table import CodeTable, freeze

__all__ = ["TA1_ACKNOWLEDGMENT_CODES", "TA1_NOTE_CODES"]

# TA104: Interchange Acknowledgment Code (I17).
TA1_ACKNOWLEDGMENT_CODES: CodeTable = freeze(
    {
        "A": "The Transmitted Interchange Control Structure Header and Trailer Have Been Received and "
        "Have No Errors.",
        "E": "The Transmitted Interchange Control Structure Header and Trailer Have Been Received and "
        "Are Accepted But Errors Are Noted. This Means the Sender Must Not Resend This Data.",
        "R": "The Transmitted Interchange Control Structure Header and Trailer are Rejected Because of "
        "Errors.",
    }
)

# TA105: Interchange Note Code (I18).
TA1_NOTE_CODES: CodeTable = freeze(
    {
        "000": "No error",
        "001": "The Interchange Control Number in the Header and Trailer Do Not Match. The Value From "
        "the Header is Used in the Acknowledgment.",
        "002": "This Standard as Noted in the Control Standards Identifier is Not Supported.",
        "003": "This Version of the Controls is Not Supported",
        "004": "The Segment Terminator is Invalid",
        "005": "Invalid Interchange ID Qualifier for Sender",
        "006": "Invalid Interchange Sender ID",
        "007": "Invalid Interchange ID Qualifier for Receiver",
        "008": "Invalid Interchange Receiver ID",
        "009": "Unknown Interchange Receiver ID",
        "010": "Invalid Authorization Information Qualifier Value",
        "011": "Invalid Authorization Information Value",
        "012": "Invalid Security Information Qualifier Value",
        "013": "Invalid Security Information Value",
        "014": "Invalid Interchange Date Value",
        "015": "Invalid Interchange Time Value",
        "016": "Invalid Interchange Standards Identifier Value",
        "017": "Invalid Interchange Version ID Value",
        "018": "Invalid Interchange Control Number Value",
        "019": "Invalid Acknowledgment Requested Value",
        "020": "Invalid Test Indicator Value",
        "021": "Invalid Number of Included Groups Value",
        "022": "Invalid Control Structure",
        "023": "Improper (Premature) End-of-File (Transmission)",
        "024": "Invalid Interchange Content (e.g., Invalid GS Segment)",
        "025": "Duplicate Interchange Control Number",
        "026": "Invalid Data Element Separator",
        "027": "Invalid Component Element Separator",
        "028": "Invalid Delivery Date in Deferred Delivery Request",
        "029": "Invalid Delivery Time in Deferred Delivery Request",
        "030": "Invalid Delivery Time Code in Deferred Delivery Request",
        "031": "Invalid Grade of Service Code",
    }
)
