"""Plain-language descriptions of the X12 and CMS code lists the engine reads and writes.

Requesters speak JSON and should never need an X12 code book: every coded field
the engine returns carries a description from these tables, and the request
checks use the same tables to reject unknown codes before a payer does.
One module holds one code list; this package re-exports them all.
"""

from __future__ import annotations

from edi.codes._table import CodeTable, describe
from edi.codes.aaa_reasons import AAA_FOLLOW_UP_ACTION_CODES, AAA_REJECT_REASON_CODES
from edi.codes.ack_999 import (
    ELEMENT_ERROR_CODES,
    FUNCTIONAL_GROUP_ACK_CODES,
    FUNCTIONAL_GROUP_SYNTAX_ERROR_CODES,
    SEGMENT_ERROR_CODES,
    TRANSACTION_SET_ACK_CODES,
    TRANSACTION_SET_SYNTAX_ERROR_CODES,
)
from edi.codes.adjustment_groups import ADJUSTMENT_GROUP_CODES
from edi.codes.carc import CLAIM_ADJUSTMENT_REASON_CODES
from edi.codes.claim_filing import CLAIM_FILING_CODES
from edi.codes.claim_status_categories import CLAIM_STATUS_CATEGORY_CODES, REJECTED_CATEGORY_CODES
from edi.codes.claim_status_codes import CLAIM_STATUS_CODES
from edi.codes.coverage_levels import COVERAGE_LEVEL_CODES
from edi.codes.eligibility_benefits import ELIGIBILITY_BENEFIT_CODES
from edi.codes.entity_identifiers import ENTITY_IDENTIFIER_CODES
from edi.codes.genders import GENDER_CODES
from edi.codes.insurance_types import INSURANCE_TYPE_CODES
from edi.codes.place_of_service import PLACE_OF_SERVICE_CODES
from edi.codes.relationships import RELATIONSHIP_CODES
from edi.codes.remittance import CLAIM_PAYMENT_STATUS_CODES, PAYMENT_METHOD_CODES, TRANSACTION_HANDLING_CODES
from edi.codes.service_types import SERVICE_TYPE_CODES
from edi.codes.states import STATE_CODES
from edi.codes.ta1_notes import TA1_ACKNOWLEDGMENT_CODES, TA1_NOTE_CODES
from edi.codes.time_periods import TIME_PERIOD_QUALIFIERS

__all__ = [
    "AAA_FOLLOW_UP_ACTION_CODES",
    "AAA_REJECT_REASON_CODES",
    "ADJUSTMENT_GROUP_CODES",
    "CLAIM_ADJUSTMENT_REASON_CODES",
    "CLAIM_FILING_CODES",
    "CLAIM_PAYMENT_STATUS_CODES",
    "CLAIM_STATUS_CATEGORY_CODES",
    "CLAIM_STATUS_CODES",
    "COVERAGE_LEVEL_CODES",
    "CodeTable",
    "ELEMENT_ERROR_CODES",
    "ELIGIBILITY_BENEFIT_CODES",
    "ENTITY_IDENTIFIER_CODES",
    "FUNCTIONAL_GROUP_ACK_CODES",
    "FUNCTIONAL_GROUP_SYNTAX_ERROR_CODES",
    "GENDER_CODES",
    "INSURANCE_TYPE_CODES",
    "PAYMENT_METHOD_CODES",
    "PLACE_OF_SERVICE_CODES",
    "REJECTED_CATEGORY_CODES",
    "RELATIONSHIP_CODES",
    "SEGMENT_ERROR_CODES",
    "SERVICE_TYPE_CODES",
    "STATE_CODES",
    "TA1_ACKNOWLEDGMENT_CODES",
    "TA1_NOTE_CODES",
    "TIME_PERIOD_QUALIFIERS",
    "TRANSACTION_HANDLING_CODES",
    "TRANSACTION_SET_ACK_CODES",
    "TRANSACTION_SET_SYNTAX_ERROR_CODES",
    "describe",
]
