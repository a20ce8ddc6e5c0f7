"""The most common claim adjustment reason codes (CARC, X12 code list 139, CAS02 of the 835).

The full list is maintained by X12 and revised several times a year; this table
holds the reasons seen on most remittances so the JSON can explain an adjustment
in words. Codes missing here are passed through without a description.
"""

from __future__ import annotations

from edi.codes._table import CodeTable, freeze

__all__ = ["CLAIM_ADJUSTMENT_REASON_CODES"]

CLAIM_ADJUSTMENT_REASON_CODES: CodeTable = freeze(
    {
        "1": "Deductible Amount",
        "2": "Coinsurance Amount",
        "3": "Co-payment Amount",
        "4": "The procedure code is inconsistent with the modifier used.",
        "5": "The procedure code/type of bill is inconsistent with the place of service.",
        "6": "The procedure/revenue code is inconsistent with the patient's age.",
        "7": "The procedure/revenue code is inconsistent with the patient's gender.",
        "8": "The procedure code is inconsistent with the provider type/specialty (taxonomy).",
        "9": "The diagnosis is inconsistent with the patient's age.",
        "10": "The diagnosis is inconsistent with the patient's gender.",
        "11": "The diagnosis is inconsistent with the procedure.",
        "12": "The diagnosis is inconsistent with the provider type.",
        "13": "The date of death precedes the date of service.",
        "14": "The date of birth follows the date of service.",
        "16": "Claim/service lacks information or has submission/billing error(s).",
        "18": "Exact duplicate claim/service.",
        "19": "This is a work-related injury/illness and thus the liability of the Worker's "
        "Compensation Carrier.",
        "20": "This injury/illness is covered by the liability carrier.",
        "21": "This injury/illness is the liability of the no-fault carrier.",
        "22": "This care may be covered by another payer per coordination of benefits.",
        "23": "The impact of prior payer(s) adjudication including payments and/or adjustments.",
        "24": "Charges are covered under a capitation agreement/managed care plan.",
        "26": "Expenses incurred prior to coverage.",
        "27": "Expenses incurred after coverage terminated.",
        "29": "The time limit for filing has expired.",
        "31": "Patient cannot be identified as our insured.",
        "32": "Our records indicate the patient is not an eligible dependent.",
        "33": "Insured has no dependent coverage.",
        "34": "Insured has no coverage for newborns.",
        "35": "Lifetime benefit maximum has been reached.",
        "39": "Services denied at the time authorization/pre-certification was requested.",
        "40": "Charges do not meet qualifications for emergent/urgent care.",
        "45": "Charge exceeds fee schedule/maximum allowable or contracted/legislated fee arrangement.",
        "49": "This is a non-covered service because it is a routine/preventive exam or a "
        "diagnostic/screening procedure done in conjunction with a routine/preventive exam.",
        "50": "These are non-covered services because this is not deemed a 'medical necessity' by the payer.",
        "51": "These are non-covered services because this is a pre-existing condition.",
        "55": "Procedure/treatment/drug is deemed experimental/investigational by the payer.",
        "58": "Treatment was deemed by the payer to have been rendered in an inappropriate or invalid "
        "place of service.",
        "59": "Processed based on multiple or concurrent procedure rules.",
        "89": "Professional fees removed from charges.",
        "94": "Processed in Excess of charges.",
        "96": "Non-covered charge(s).",
        "97": "The benefit for this service is included in the payment/allowance for another "
        "service/procedure that has already been adjudicated.",
        "100": "Payment made to patient/insured/responsible party.",
        "101": "Predetermination: anticipated payment upon completion of services or claim adjudication.",
        "104": "Managed care withholding.",
        "109": "Claim/service not covered by this payer/contractor. You must send the claim/service to "
        "the correct payer/contractor.",
        "119": "Benefit maximum for this time period or occurrence has been met.",
        "129": "Prior processing information appears incorrect.",
        "140": "Patient/Insured health identification number and name do not match.",
        "146": "Diagnosis was invalid for the date(s) of service reported.",
        "151": "Payment adjusted because the payer deems the information submitted does not support "
        "this many/frequency of services.",
        "167": "This (these) diagnosis(es) is (are) not covered.",
        "170": "Payment is denied when performed/billed by this type of provider.",
        "181": "Procedure code was invalid on the date of service.",
        "182": "Procedure modifier was invalid on the date of service.",
        "183": "The referring provider is not eligible to refer the service billed.",
        "185": "The rendering provider is not eligible to perform the service billed.",
        "187": "Consumer Spending Account payments.",
        "190": "Payment is included in the allowance for a Skilled Nursing Facility (SNF) qualified stay.",
        "192": "Non standard adjustment code from paper remittance.",
        "197": "Precertification/notification/authorization/pre-treatment absent.",
        "198": "Precertification/notification/authorization/pre-treatment exceeded.",
        "199": "Revenue code and Procedure code do not match.",
        "200": "Expenses incurred during lapse in coverage.",
        "204": "This service/equipment/drug is not covered under the patient's current benefit plan.",
        "208": "National Provider Identifier - not matched.",
        "226": "Information requested from the Billing/Rendering Provider was not provided or not "
        "provided timely or was insufficient/incomplete.",
        "227": "Information requested from the patient/insured/responsible party was not provided or "
        "was insufficient/incomplete.",
        "234": "This procedure is not paid separately.",
        "236": "This procedure or procedure/modifier combination is not compatible with another "
        "procedure or procedure/modifier combination provided on the same day according to the "
        "National Correct Coding Initiative or workers compensation state regulations/fee schedule "
        "requirements.",
        "242": "Services not provided by network/primary care providers.",
        "243": "Services not authorized by network/primary care providers.",
        "252": "An attachment/other documentation is required to adjudicate this claim/service.",
        "253": "Sequestration - reduction in federal payment.",
        "261": "The procedure or service is inconsistent with the patient's history.",
    }
)
