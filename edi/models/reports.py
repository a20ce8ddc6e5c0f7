"""Claim responses and reports as JSON: 277CA acknowledgments, 835 remittances and 277 claim status.

The engine reads these X12 transactions from payers and hands them to
requesters in the layout of the Optum (Change Healthcare) "claims responses and
reports" JSON (``/reports/v2/{file}/277`` and ``/835``) and of the claim status v2
API, so existing clients can parse them unchanged. Every status, adjustment
group and payment code carries its plain-language description, filled in from
``edi.codes`` when the mapper leaves it out.

* 277CA (005010X214): transactions > payers (information source) >
  claimStatusTransactions (information receiver) > claimStatusDetails (billing
  provider) > patientClaimStatusDetails (patient) > claims.
* 835 (005010X221A1): transactions > detailInfo > paymentInfo (one per claim,
  CLP) > serviceLines (SVC); provider-level adjustments (PLB) per transaction.
* 277 (005010X212): claims, each with its claimStatus and serviceDetails.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from edi.codes import (
    ADJUSTMENT_GROUP_CODES,
    CLAIM_PAYMENT_STATUS_CODES,
    CLAIM_STATUS_CATEGORY_CODES,
    CLAIM_STATUS_CODES,
    ENTITY_IDENTIFIER_CODES,
    PAYMENT_METHOD_CODES,
    TRANSACTION_HANDLING_CODES,
    describe,
)
from edi.models.common import (
    ResponseAddress,
    ResponseContactInformation,
    ResponseError,
    ResponseMeta,
    ResponseModel,
)

__all__ = [
    "Ack277Claim",
    "Ack277ClaimStatus",
    "Ack277Payer",
    "Ack277ServiceLine",
    "Ack277Transaction",
    "CasAdjustment",
    "ClaimAcknowledgmentReport",
    "ClaimPaymentInfo",
    "ClaimStatusDetail",
    "ClaimStatusResponse",
    "ClaimStatusResponseClaim",
    "ClaimStatusServiceDetail",
    "ClaimStatusTransaction",
    "DetailInfo",
    "FinancialInformation",
    "HealthCareCheckRemarkCode",
    "InformationClaimStatus",
    "InformationStatus",
    "PatientClaimStatusDetail",
    "PaymentAndRemitReassociationDetails",
    "PaymentInfo",
    "PaymentReport",
    "PaymentTransaction",
    "ProviderAdjustment",
    "ProviderAdjustmentDetail",
    "ProviderClaimStatus",
    "RemittanceParty",
    "RemittancePerson",
    "RemittanceServiceLine",
    "ReportParty",
    "ServiceClaimStatus",
    "ServicePaymentInformation",
    "ServiceProviderClaimStatus",
    "StatusX212",
]


# ==================================================================== 277CA


class InformationStatus(ResponseModel):
    """One STC01 (or STC10/STC11) composite: category, status and entity, each with its description."""

    health_care_claim_status_category_code: str | None = None
    health_care_claim_status_category_code_value: str | None = None
    status_code: str | None = None
    status_code_value: str | None = None
    entity_identifier_code: str | None = None
    entity_identifier_code_value: str | None = None

    @model_validator(mode="after")
    def _describe(self) -> InformationStatus:
        if self.health_care_claim_status_category_code_value is None:
            self.health_care_claim_status_category_code_value = describe(
                CLAIM_STATUS_CATEGORY_CODES, self.health_care_claim_status_category_code
            )
        if self.status_code_value is None:
            self.status_code_value = describe(CLAIM_STATUS_CODES, self.status_code)
        if self.entity_identifier_code_value is None:
            self.entity_identifier_code_value = describe(ENTITY_IDENTIFIER_CODES, self.entity_identifier_code)
        return self


class InformationClaimStatus(ResponseModel):
    """One STC segment at claim level: its statuses, effective date and amounts."""

    status_information_effective_date: str | None = Field(default=None, description="STC02, YYYYMMDD.")
    status_information_action_code: str | None = Field(default=None, description="STC03: WQ accepted, U rejected.")
    total_claim_charge_amount: str | None = Field(default=None, description="STC04.")
    claim_payment_amount: str | None = Field(default=None, description="STC05.")
    adjudicated_finalized_date: str | None = None
    remittance_date: str | None = None
    status_message: str | None = Field(default=None, description="STC12: free-form message.")
    information_statuses: list[InformationStatus] = Field(default_factory=list)


class ProviderClaimStatus(ResponseModel):
    """An STC segment at information receiver (2200B) level."""

    status_information_effective_date: str | None = None
    total_claim_charge_amount: str | None = None
    provider_statuses: list[InformationStatus] = Field(default_factory=list)


class ServiceProviderClaimStatus(ResponseModel):
    """An STC segment at billing provider (2200C) level."""

    status_information_effective_date: str | None = None
    total_claim_charge_amount: str | None = None
    service_provider_statuses: list[InformationStatus] = Field(default_factory=list)


class ReportParty(ResponseModel):
    """A named party of a 277 (NM1): receiver, provider or subscriber."""

    organization_name: str | None = None
    last_name: str | None = None
    first_name: str | None = None
    middle_name: str | None = None
    suffix: str | None = None
    npi: str | None = None
    tax_id: str | None = None
    etin: str | None = None
    member_id: str | None = None


class Ack277ClaimStatus(ResponseModel):
    """Claim-level identifiers (TRN, REF, DTP) and statuses (STC) of one acknowledged claim."""

    referenced_transaction_trace_number: str | None = Field(
        default=None, description="TRN02: the patient control number (CLM01) of the submitted claim."
    )
    patient_account_number: str | None = None
    clearinghouse_trace_number: str | None = Field(default=None, description="REF*D9.")
    trading_partner_claim_number: str | None = Field(
        default=None, description="REF*1K: the payer claim control number."
    )
    bill_type_identifier: str | None = Field(default=None, description="REF*BLT: institutional type of bill.")
    medical_record_identification: str | None = Field(default=None, description="REF*EA.")
    claim_service_date: str | None = None
    claim_service_begin_date: str | None = None
    claim_service_end_date: str | None = None
    information_claim_statuses: list[InformationClaimStatus] = Field(default_factory=list)


class ServiceClaimStatus(ResponseModel):
    """An STC segment at service line level."""

    status_information_effective_date: str | None = None
    service_statuses: list[InformationStatus] = Field(default_factory=list)


class Ack277ServiceLine(ResponseModel):
    """A rejected or acknowledged service line (loop 2220D)."""

    line_item_control_number: str | None = None
    service_line_date: str | None = None
    begin_service_line_date: str | None = None
    end_service_line_date: str | None = None
    service: dict[str, str | list[str]] | None = None
    service_claim_statuses: list[ServiceClaimStatus] = Field(default_factory=list)


class Ack277Claim(ResponseModel):
    """One claim of a 277CA with its statuses and line statuses."""

    claim_status: Ack277ClaimStatus
    service_lines: list[Ack277ServiceLine] = Field(default_factory=list)


class PatientClaimStatusDetail(ResponseModel):
    """A patient (loop 2000D) and their acknowledged claims."""

    subscriber: ReportParty | None = None
    claims: list[Ack277Claim] = Field(default_factory=list)


class ClaimStatusDetail(ResponseModel):
    """A billing provider (loop 2000C), its statuses and its patients."""

    service_provider: ReportParty | None = None
    provider_of_service_information_trace_identifier: str | None = None
    service_provider_claim_statuses: list[ServiceProviderClaimStatus] = Field(default_factory=list)
    total_accepted_quantity: str | None = None
    total_rejected_quantity: str | None = None
    total_accepted_amount: str | None = None
    total_rejected_amount: str | None = None
    patient_claim_status_details: list[PatientClaimStatusDetail] = Field(default_factory=list)


class ClaimStatusTransaction(ResponseModel):
    """An information receiver (loop 2000B): the submitter, its batch statuses and providers."""

    receiver: ReportParty | None = None
    claim_transaction_batch_number: str | None = Field(default=None, description="TRN02 of loop 2200B.")
    provider_claim_statuses: list[ProviderClaimStatus] = Field(default_factory=list)
    total_accepted_quantity: str | None = None
    total_rejected_quantity: str | None = None
    total_accepted_amount: str | None = None
    total_rejected_amount: str | None = None
    claim_status_details: list[ClaimStatusDetail] = Field(default_factory=list)


class Ack277Payer(ResponseModel):
    """The information source (loop 2000A): payer or clearinghouse that acknowledges."""

    organization_name: str | None = None
    payer_identification: str | None = None
    entity_identifier_code: str | None = None
    entity_identifier_code_value: str | None = None
    contact_information: ResponseContactInformation | None = None
    claim_status_transactions: list[ClaimStatusTransaction] = Field(default_factory=list)

    @model_validator(mode="after")
    def _describe(self) -> Ack277Payer:
        if self.entity_identifier_code_value is None:
            self.entity_identifier_code_value = describe(ENTITY_IDENTIFIER_CODES, self.entity_identifier_code)
        return self


class Ack277Transaction(ResponseModel):
    """One 277CA transaction set (ST/SE)."""

    control_number: str | None = None
    reference_identification: str | None = Field(default=None, description="BHT03.")
    transaction_set_creation_date: str | None = Field(default=None, description="BHT04, YYYYMMDD.")
    transaction_set_creation_time: str | None = Field(default=None, description="BHT05.")
    payers: list[Ack277Payer] = Field(default_factory=list)


class ClaimAcknowledgmentReport(ResponseModel):
    """A 277CA claim acknowledgment file as JSON."""

    meta: ResponseMeta | None = None
    file_name: str | None = None
    transactions: list[Ack277Transaction] = Field(default_factory=list)


# ====================================================================== 835


class FinancialInformation(ResponseModel):
    """BPR segment: the payment itself."""

    transaction_handling_code: str | None = None
    transaction_handling_code_value: str | None = None
    total_actual_provider_payment_amount: str | None = None
    credit_or_debit_flag_code: str | None = None
    payment_method_code: str | None = None
    payment_method_code_value: str | None = None
    payment_format_code: str | None = None
    payer_identifier: str | None = None
    originating_company_supplemental_code: str | None = None
    check_issue_or_eft_effective_date: str | None = Field(
        default=None, alias="checkIssueOrEFTEffectiveDate", description="BPR16, YYYYMMDD."
    )

    @model_validator(mode="after")
    def _describe(self) -> FinancialInformation:
        if self.transaction_handling_code_value is None:
            self.transaction_handling_code_value = describe(
                TRANSACTION_HANDLING_CODES, self.transaction_handling_code
            )
        if self.payment_method_code_value is None:
            self.payment_method_code_value = describe(PAYMENT_METHOD_CODES, self.payment_method_code)
        return self


class PaymentAndRemitReassociationDetails(ResponseModel):
    """TRN segment: the check or EFT trace number that ties the payment to the remittance."""

    trace_type_code: str | None = None
    check_or_eft_trace_number: str | None = Field(default=None, alias="checkOrEFTTraceNumber")
    originating_company_identifier: str | None = None
    originating_company_supplemental_code: str | None = None


class RemittanceParty(ResponseModel):
    """Payer (loop 1000A) or payee (loop 1000B) of an 835."""

    name: str | None = None
    payer_identification_number: str | None = None
    centers_for_medicare_and_medicaid_services_plan_id: str | None = None
    npi: str | None = None
    tax_id: str | None = None
    address: ResponseAddress | None = None
    business_contact_information: ResponseContactInformation | None = None
    technical_contact_information: list[ResponseContactInformation] | None = None


class RemittancePerson(ResponseModel):
    """A person or provider named on a claim payment (patient, insured, rendering provider)."""

    last_name: str | None = None
    first_name: str | None = None
    middle_name: str | None = None
    suffix: str | None = None
    organization_name: str | None = None
    member_id: str | None = None
    npi: str | None = None


class CasAdjustment(ResponseModel):
    """One CAS segment: a group code and up to six reason/amount/quantity triplets."""

    claim_adjustment_group_code: str | None = None
    claim_adjustment_group_code_value: str | None = None
    adjustment_reason_code1: str | None = None
    adjustment_amount1: str | None = None
    adjustment_quantity1: str | None = None
    adjustment_reason_code2: str | None = None
    adjustment_amount2: str | None = None
    adjustment_quantity2: str | None = None
    adjustment_reason_code3: str | None = None
    adjustment_amount3: str | None = None
    adjustment_quantity3: str | None = None
    adjustment_reason_code4: str | None = None
    adjustment_amount4: str | None = None
    adjustment_quantity4: str | None = None
    adjustment_reason_code5: str | None = None
    adjustment_amount5: str | None = None
    adjustment_quantity5: str | None = None
    adjustment_reason_code6: str | None = None
    adjustment_amount6: str | None = None
    adjustment_quantity6: str | None = None

    @model_validator(mode="after")
    def _describe(self) -> CasAdjustment:
        if self.claim_adjustment_group_code_value is None:
            self.claim_adjustment_group_code_value = describe(
                ADJUSTMENT_GROUP_CODES, self.claim_adjustment_group_code
            )
        return self


class HealthCareCheckRemarkCode(ResponseModel):
    """An LQ segment: a remittance advice remark code (RARC)."""

    code_list_qualifier_code: str | None = None
    code_list_qualifier_code_value: str | None = None
    remark_code: str | None = None


class ServicePaymentInformation(ResponseModel):
    """SVC segment: what was billed and what was paid for one line."""

    product_or_service_id_qualifier: str | None = Field(default=None, alias="productOrServiceIDQualifier")
    product_or_service_id_qualifier_value: str | None = Field(
        default=None, alias="productOrServiceIDQualifierValue"
    )
    adjudicated_procedure_code: str | None = None
    adjudicated_procedure_modifier_codes: list[str] | None = None
    line_item_charge_amount: str | None = None
    line_item_provider_payment_amount: str | None = None
    national_uniform_billing_committee_revenue_code: str | None = None
    units_of_service_paid_count: str | None = None
    submitted_product_or_service_id_qualifier: str | None = Field(
        default=None, alias="submittedProductOrServiceIDQualifier"
    )
    submitted_adjudicated_procedure_code: str | None = None
    submitted_adjudicated_procedure_modifier_codes: list[str] | None = None
    original_units_of_service_count: str | None = None


class RemittanceServiceLine(ResponseModel):
    """One paid service line (loop 2110)."""

    service_date: str | None = None
    service_start_date: str | None = None
    service_end_date: str | None = None
    service_payment_information: ServicePaymentInformation | None = None
    service_adjustments: list[CasAdjustment] = Field(default_factory=list)
    line_item_control_number: str | None = Field(default=None, description="REF*6R: the submitted line control number.")
    service_identification: dict[str, str] | None = None
    service_supplemental_amounts: dict[str, str] | None = None
    health_care_check_remark_codes: list[HealthCareCheckRemarkCode] = Field(default_factory=list)


class ClaimPaymentInfo(ResponseModel):
    """CLP segment: the claim-level result."""

    patient_control_number: str | None = Field(default=None, description="CLP01: CLM01 of the claim.")
    claim_status_code: str | None = Field(default=None, description="CLP02.")
    claim_status_code_value: str | None = None
    total_claim_charge_amount: str | None = None
    claim_payment_amount: str | None = None
    patient_responsibility_amount: str | None = None
    claim_filing_indicator_code: str | None = None
    payer_claim_control_number: str | None = Field(default=None, description="CLP07.")
    facility_type_code: str | None = None
    claim_frequency_code: str | None = None
    diagnosis_related_group_code: str | None = None
    diagnosis_related_group_weight: str | None = None
    discharge_fraction: str | None = None

    @model_validator(mode="after")
    def _describe(self) -> ClaimPaymentInfo:
        if self.claim_status_code_value is None:
            self.claim_status_code_value = describe(CLAIM_PAYMENT_STATUS_CODES, self.claim_status_code)
        return self


class PaymentInfo(ResponseModel):
    """One claim payment (loop 2100) with its adjustments, people and service lines."""

    claim_payment_info: ClaimPaymentInfo
    claim_adjustments: list[CasAdjustment] = Field(default_factory=list)
    patient_name: RemittancePerson | None = None
    subscriber: RemittancePerson | None = None
    corrected_patient_or_insured_name: RemittancePerson | None = None
    rendering_provider: RemittancePerson | None = None
    crossover_carrier: RemittancePerson | None = None
    corrected_priority_payer: RemittancePerson | None = None
    other_claim_related_identification: dict[str, str] | None = None
    rendering_provider_identification: dict[str, str] | None = None
    claim_statement_period_start: str | None = None
    claim_statement_period_end: str | None = None
    coverage_expiration_date: str | None = None
    claim_received_date: str | None = None
    claim_contact_information: ResponseContactInformation | None = None
    claim_supplemental_information: dict[str, str] | None = None
    claim_supplemental_information_quantities: dict[str, str] | None = None
    inpatient_adjudication: dict[str, str] | None = None
    outpatient_adjudication: dict[str, str] | None = None
    service_lines: list[RemittanceServiceLine] = Field(default_factory=list)


class DetailInfo(ResponseModel):
    """A header number group (loop 2000, LX) of claim payments."""

    assigned_number: str | None = None
    provider_summary_information: dict[str, str] | None = None
    provider_supplemental_summary_information: dict[str, str] | None = None
    payment_info: list[PaymentInfo] = Field(default_factory=list)


class ProviderAdjustmentDetail(ResponseModel):
    """One adjustment of a PLB segment."""

    adjustment_reason_code: str | None = None
    adjustment_reason_code_value: str | None = None
    provider_adjustment_identifier: str | None = None
    provider_adjustment_amount: str | None = None


class ProviderAdjustment(ResponseModel):
    """A PLB segment: adjustments to the provider not tied to one claim."""

    provider_identifier: str | None = None
    fiscal_period_date: str | None = None
    adjustments: list[ProviderAdjustmentDetail] = Field(default_factory=list)


class PaymentTransaction(ResponseModel):
    """One 835 transaction set: one payment to one payee."""

    control_number: str | None = None
    production_date: str | None = None
    receiver_identifier: str | None = None
    version_identification: str | None = None
    financial_information: FinancialInformation | None = None
    payment_and_remit_reassociation_details: PaymentAndRemitReassociationDetails | None = None
    payer: RemittanceParty | None = None
    payee: RemittanceParty | None = None
    detail_info: list[DetailInfo] = Field(default_factory=list)
    provider_adjustments: list[ProviderAdjustment] = Field(default_factory=list)


class PaymentReport(ResponseModel):
    """An 835 remittance file as JSON."""

    meta: ResponseMeta | None = None
    file_name: str | None = None
    transactions: list[PaymentTransaction] = Field(default_factory=list)


# ============================================================ 277 (X212)


class StatusX212(ResponseModel):
    """One status of a claim status response (STC01 composite and STC02-STC05)."""

    status_category_code: str | None = None
    status_category_code_value: str | None = None
    status_code: str | None = None
    status_code_value: str | None = None
    entity_code: str | None = None
    entity: str | None = None
    effective_date: str | None = None
    submitted_amount: str | None = None
    amount_paid: str | None = None
    paid_date: str | None = None
    check_issue_date: str | None = None
    check_number: str | None = None
    tracking_number: str | None = None
    claim_service_date: str | None = None
    claim_service_begin_date: str | None = None
    claim_service_end_date: str | None = None
    trading_partner_claim_number: str | None = Field(default=None, description="REF*1K: payer claim control number.")
    patient_account_number: str | None = Field(default=None, description="REF*EJ: patient control number.")
    voucher_identifier: str | None = None
    bill_type_identifier: str | None = None

    @model_validator(mode="after")
    def _describe(self) -> StatusX212:
        if self.status_category_code_value is None:
            self.status_category_code_value = describe(CLAIM_STATUS_CATEGORY_CODES, self.status_category_code)
        if self.status_code_value is None:
            self.status_code_value = describe(CLAIM_STATUS_CODES, self.status_code)
        if self.entity is None:
            self.entity = describe(ENTITY_IDENTIFIER_CODES, self.entity_code)
        return self


class ClaimStatusServiceDetail(ResponseModel):
    """Status of one service line (loop 2220D/E)."""

    service_id_qualifier_code: str | None = None
    procedure_code: str | None = None
    procedure_modifiers: list[str] | None = None
    revenue_code: str | None = None
    line_item_control_number: str | None = None
    submitted_amount: str | None = None
    amount_paid: str | None = None
    submitted_units: str | None = None
    begin_service_date: str | None = None
    end_service_date: str | None = None
    status: list[StatusX212] = Field(default_factory=list)


class ClaimStatusResponseClaim(ResponseModel):
    """One claim found by the payer (loop 2200D/E)."""

    claim_status: StatusX212
    service_details: list[ClaimStatusServiceDetail] = Field(default_factory=list)


class ClaimStatusResponse(ResponseModel):
    """The payer's answer to a claim status request (read from a 277, 005010X212)."""

    meta: ResponseMeta | None = None
    control_number: str | None = None
    trading_partner_service_id: str | None = None
    payer: ReportParty | None = None
    provider: ReportParty | None = None
    subscriber: ReportParty | None = None
    dependent: ReportParty | None = None
    claims: list[ClaimStatusResponseClaim] = Field(default_factory=list)
    errors: list[ResponseError] | None = None
    x12: str | None = None
