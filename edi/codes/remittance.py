"""835 remittance code lists: claim status (CLP02), payment method (BPR04) and transaction handling (BPR01).

The 835 says how a claim was processed and how money moved with these short
codes; the payment report JSON shows the description beside each code.
"""

from __future__ import annotations

from edi.codes._table import CodeTable, freeze

__all__ = ["CLAIM_PAYMENT_STATUS_CODES", "PAYMENT_METHOD_CODES", "TRANSACTION_HANDLING_CODES"]

# CLP02: Claim Status Code (1029) as used in 005010X221A1.
CLAIM_PAYMENT_STATUS_CODES: CodeTable = freeze(
    {
        "1": "Processed as Primary",
        "2": "Processed as Secondary",
        "3": "Processed as Tertiary",
        "4": "Denied",
        "19": "Processed as Primary, Forwarded to Additional Payer(s)",
        "20": "Processed as Secondary, Forwarded to Additional Payer(s)",
        "21": "Processed as Tertiary, Forwarded to Additional Payer(s)",
        "22": "Reversal of Previous Payment",
        "23": "Not Our Claim, Forwarded to Additional Payer(s)",
        "25": "Predetermination Pricing Only - No Payment",
    }
)

# BPR04: Payment Method Code (591).
PAYMENT_METHOD_CODES: CodeTable = freeze(
    {
        "ACH": "Automated Clearing House (ACH)",
        "BOP": "Financial Institution Option",
        "CHK": "Check",
        "FWT": "Federal Reserve Funds/Wire Transfer - Nonrepetitive",
        "NON": "Non-Payment Data",
    }
)

# BPR01: Transaction Handling Code (305).
TRANSACTION_HANDLING_CODES: CodeTable = freeze(
    {
        "C": "Payment Accompanies Remittance Advice",
        "D": "Make Payment Only",
        "H": "Notification Only",
        "I": "Remittance Information Only",
        "P": "Prenotification of Future Transfers",
        "U": "Split Payment and Remittance",
        "X": "Handling Party's Option to Split Payment and Remittance",
    }
)
