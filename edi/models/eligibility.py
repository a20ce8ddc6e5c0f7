"""Eligibility request and response models (270/271, 005010X279A1) in the Optum eligibility v3 layout.

A requester sends an ``EligibilityRequest`` exactly as it would to the Optum
(Change Healthcare) Medical Network eligibility v3 API; the engine writes a 270
from it and answers with an ``EligibilityResponse`` read from the payer's 271.
Field names and nesting match that API so existing clients need only a new base URL.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from edi.models.common import (
    Address,
    Date8,
    EmployerId,
    Gender,
    Npi,
    RequestModel,
    ResponseAddress,
    ResponseContactInformation,
    ResponseError,
    ResponseMeta,
    ResponseModel,
    Ssn,
    Text,
    Text10,
    Text25,
    Text35,
    Text50,
    Text60,
    Text80,
)

__all__ = [
    "AaaError",
    "AdditionalInformation",
    "BenefitsDateInformation",
    "BenefitsInformation",
    "BenefitsRelatedEntity",
    "CompositeMedicalProcedureIdentifier",
    "EligibilityDependent",
    "EligibilityPayer",
    "EligibilityProvider",
    "EligibilityRequest",
    "EligibilityResponse",
    "EligibilityResponseDependent",
    "EligibilityResponsePayer",
    "EligibilityResponseProvider",
    "EligibilityResponseSubscriber",
    "EligibilitySubscriber",
    "Encounter",
    "InformationReceiverName",
    "MedicalProcedure",
    "PlanDateInformation",
    "PlanInformation",
    "PlanStatus",
    "SubscriberTraceNumber",
]

ServiceTypeCode = Annotated[str, Field(pattern=r"^[0-9A-Z]{1,2}$")]
ProcedureModifier = Annotated[str, Field(pattern=r"^[0-9A-Z]{2}$")]

# ======================================================================== request


class EligibilityProvider(RequestModel):
    """The information receiver asking the question (loop 2100B: NM1, REF, N3/N4, PRV)."""

    organization_name: Text60 | None = None
    first_name: Text35 | None = None
    last_name: Text60 | None = None
    middle_name: Text25 | None = None
    suffix: Text10 | None = None
    npi: Npi | None = None
    service_provider_number: Text80 | None = None
    payor_id: Text80 | None = None
    tax_id: EmployerId | None = None
    ssn: Ssn | None = None
    pharmacy_processor_number: Text80 | None = None
    services_plan_id: Text80 | None = Field(default=None, alias="servicesPlanID")
    employers_id: Text80 | None = None
    federal_taxpayers_id_number: Text80 | None = None
    provider_code: Annotated[str, Field(pattern=r"^(AD|AT|BI|CO|CV|H|HH|LA|OT|P1|P2|PC|PE|R|RF|SB|SK|SU)$")] | None = (
        None
    )
    reference_identification: Text50 | None = None
    provider_type: Text | None = None
    address: Address | None = None


class _Person(RequestModel):
    """Fields shared by the subscriber (loop 2100C) and a dependent (loop 2100D)."""

    member_id: Text80 | None = None
    first_name: Text35 | None = None
    last_name: Text60 | None = None
    middle_name: Text25 | None = None
    suffix: Text10 | None = None
    gender: Gender | None = None
    date_of_birth: Date8 | None = None
    ssn: Ssn | None = None
    group_number: Text50 | None = None
    id_card: Text50 | None = None
    provider_code: Text | None = None
    reference_identification_qualifier: Text | None = None
    plan_number: Text50 | None = None
    birth_sequence_number: Text | None = None
    health_insurance_claim_number: Text50 | None = None
    medicaid_recipient_identification_number: Text50 | None = None
    card_issue_date: Date8 | None = None
    address: Address | None = None


class EligibilitySubscriber(_Person):
    """The insured person (loop 2100C)."""


class EligibilityDependent(_Person):
    """A dependent patient of the subscriber (loop 2100D); a real-time 270 may carry only one."""

    individual_relationship_code: Literal["01", "19", "34"] | None = None


class MedicalProcedure(RequestModel):
    """A procedure asked about instead of a service type (EQ02 composite)."""

    product_or_service_id_qualifier: Literal["AD", "CJ", "HC", "ID", "IV", "N4", "ZZ"] = Field(
        alias="productOrServiceIDQualifier"
    )
    procedure_code: Text50
    procedure_modifiers: list[ProcedureModifier] | None = Field(default=None, max_length=4)
    diagnosis_code_pointer: list[Annotated[str, Field(pattern=r"^[1-8]$")]] | None = Field(
        default=None, max_length=4
    )


class Encounter(RequestModel):
    """What is asked about and when (loop 2110C/D: EQ and DTP segments)."""

    date_of_service: Date8 | None = None
    beginning_date_of_service: Date8 | None = None
    end_date_of_service: Date8 | None = None
    service_type_codes: list[ServiceTypeCode] | None = Field(default=None, min_length=1, max_length=99)
    prior_authorization_or_referral_number: Text50 | None = None
    reference_identification_qualifier: Text | None = None
    industry_code: Text | None = None
    product_or_service_id_qualifier: Literal["AD", "CJ", "HC", "ID", "IV", "N4", "ZZ"] | None = Field(
        default=None, alias="productOrServiceIDQualifier"
    )
    procedure_code: Text50 | None = None
    procedure_modifiers: list[ProcedureModifier] | None = Field(default=None, max_length=4)
    diagnosis_code_pointer: list[Annotated[str, Field(pattern=r"^[1-8]$")]] | None = Field(
        default=None, max_length=4
    )
    medical_procedures: list[MedicalProcedure] | None = None


class InformationReceiverName(RequestModel):
    """Extra information about the information receiver (loop 2100B), used by a few payers."""

    state_license_number: Text50 | None = None
    medicare_provider_number: Text50 | None = None
    medicaid_provider_number: Text50 | None = None
    facility_id_number: Text50 | None = None
    contact_number: Text50 | None = None
    pin_number: Text50 | None = None
    submitter_id_number: Text50 | None = None
    national_provider_identifier: Npi | None = None
    provider_plan_network_id_number: Text50 | None = None
    facility_network_id_number: Text50 | None = None
    prior_identifier_number: Text50 | None = None
    address: Address | None = None


class EligibilityPayer(RequestModel):
    """The payer asked (loop 2100A); normally named by ``tradingPartnerServiceId`` alone."""

    name: Text60 | None = None


class EligibilityRequest(RequestModel):
    """A real-time eligibility and benefit inquiry for one patient (becomes a 270)."""

    control_number: Annotated[str, Field(pattern=r"^\d{9}$", description="Nine digits (ISA13/ST02).")]
    trading_partner_service_id: Annotated[str, Field(min_length=1, max_length=80, description="Payer ID.")]
    trading_partner_id: Text80 | None = None
    trading_partner_name: Text60 | None = None
    submitter_transaction_identifier: Text50 | None = None
    portal_username: Text50 | None = None
    portal_password: Text50 | None = None
    partner_id: Text80 | None = None
    provider: EligibilityProvider
    information_receiver_name: InformationReceiverName | None = None
    subscriber: EligibilitySubscriber
    dependents: list[EligibilityDependent] | None = None
    encounter: Encounter | None = None
    payer: EligibilityPayer | None = None


# ======================================================================= response


class AaaError(ResponseModel):
    """A request validation (AAA) segment of the 271, with plain-language reason and follow-up."""

    field: str | None = None
    code: str | None = None
    description: str | None = None
    followup_action: str | None = None
    location: str | None = None
    possible_resolutions: str | None = None


class EligibilityResponseProvider(ResponseModel):
    """The information receiver as echoed by the payer (loop 2100B)."""

    provider_name: str | None = None
    provider_first_name: str | None = None
    provider_org_name: str | None = None
    entity_identifier: str | None = None
    entity_type: str | None = None
    npi: str | None = None
    service_provider_number: str | None = None
    tax_id: str | None = None
    address: ResponseAddress | None = None
    aaa_errors: list[AaaError] | None = None


class _ResponsePerson(ResponseModel):
    member_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    middle_name: str | None = None
    suffix: str | None = None
    gender: str | None = None
    date_of_birth: str | None = None
    ssn: str | None = None
    group_number: str | None = None
    group_description: str | None = None
    plan_number: str | None = None
    plan_description: str | None = None
    entity_identifier: str | None = None
    entity_type: str | None = None
    insured_indicator: str | None = None
    maintenance_type_code: str | None = None
    maintenance_reason_code: str | None = None
    relation_to_subscriber: str | None = None
    relation_to_subscriber_code: str | None = None
    address: ResponseAddress | None = None
    aaa_errors: list[AaaError] | None = None


class EligibilityResponseSubscriber(_ResponsePerson):
    """The subscriber as known to the payer (loop 2100C)."""


class EligibilityResponseDependent(_ResponsePerson):
    """A dependent as known to the payer (loop 2100D)."""


class EligibilityResponsePayer(ResponseModel):
    """The payer that answered (loop 2100A)."""

    entity_identifier: str | None = None
    entity_type: str | None = None
    name: str | None = None
    last_name: str | None = None
    first_name: str | None = None
    payor_identification: str | None = None
    federal_taxpayers_id_number: str | None = None
    naic: str | None = None
    npi: str | None = None
    contact_information: ResponseContactInformation | None = None
    aaa_errors: list[AaaError] | None = None


class SubscriberTraceNumber(ResponseModel):
    """A TRN segment echoed or added by the payer or a clearinghouse."""

    trace_type_code: str | None = None
    trace_type: str | None = None
    reference_identification: str | None = None
    originating_company_identifier: str | None = None
    secondary_reference_identification: str | None = None


class PlanInformation(ResponseModel):
    """Plan identifiers of the subscriber or dependent (REF segments of loop 2100C/D)."""

    group_number: str | None = None
    group_description: str | None = None
    plan_number: str | None = None
    plan_description: str | None = None
    policy_number: str | None = None
    member_id: str | None = None
    case_number: str | None = None
    family_unit_number: str | None = None
    medicaid_recipient_id_number: str | None = None
    alternative_list_id: str | None = None
    coverage_list_id: str | None = None
    insurance_policy_number: str | None = None
    hic_number: str | None = None
    prior_id_number: str | None = None
    id_card_serial_number: str | None = None
    id_card_number: str | None = None
    eligibility_category: str | None = None
    plan_network_id_number: str | None = None
    plan_network_id_description: str | None = None


class PlanDateInformation(ResponseModel):
    """Plan-level dates (DTP segments of loop 2100C/D), YYYYMMDD or YYYYMMDD-YYYYMMDD."""

    plan: str | None = None
    plan_begin: str | None = None
    plan_end: str | None = None
    eligibility: str | None = None
    eligibility_begin: str | None = None
    eligibility_end: str | None = None
    service: str | None = None
    policy_effective: str | None = None
    policy_expiration: str | None = None
    premium_paid_to_date_begin: str | None = None
    premium_paid_to_date_end: str | None = None
    added: str | None = None
    discharge: str | None = None
    admission: str | None = None
    issue: str | None = None
    period_start: str | None = None
    period_end: str | None = None


class PlanStatus(ResponseModel):
    """Summary of the coverage status (taken from the EB01 active/inactive rows)."""

    status_code: str | None = None
    status: str | None = None
    plan_details: str | None = None
    service_type_codes: list[str] | None = None


class AdditionalInformation(ResponseModel):
    """A free-text message (MSG segment) attached to a benefit."""

    description: str | None = None


class CompositeMedicalProcedureIdentifier(ResponseModel):
    """A procedure a benefit row applies to (EB13 composite)."""

    product_or_service_id_qualifier_code: str | None = Field(default=None, alias="productOrServiceIdQualifierCode")
    product_or_service_id_qualifier: str | None = Field(default=None, alias="productOrServiceIdQualifier")
    procedure_code: str | None = None
    procedure_modifiers: list[str] | None = None
    diagnosis_code_pointer: list[str] | None = None


class BenefitsDateInformation(ResponseModel):
    """Dates of one benefit row (DTP segments of loop 2110C/D)."""

    discharge: str | None = None
    issue: str | None = None
    latest_visit_or_consultation: str | None = None
    period_start: str | None = None
    period_end: str | None = None
    plan: str | None = None
    plan_begin: str | None = None
    plan_end: str | None = None
    eligibility: str | None = None
    eligibility_begin: str | None = None
    eligibility_end: str | None = None
    service: str | None = None
    added: str | None = None
    admission: str | None = None
    benefit: str | None = None
    benefit_begin: str | None = None
    benefit_end: str | None = None
    coordination_of_benefits: str | None = None
    policy_effective: str | None = None
    policy_expiration: str | None = None


class BenefitsRelatedEntity(ResponseModel):
    """Another party named on a benefit row (loop 2120C/D), such as a primary care provider or other payer."""

    entity_identifier: str | None = None
    entity_type: str | None = None
    entity_name: str | None = None
    entity_firstname: str | None = None
    entity_middlename: str | None = None
    entity_suffix: str | None = None
    entity_identification: str | None = None
    entity_identification_value: str | None = None
    entity_relationship: str | None = None
    address: ResponseAddress | None = None
    contact_information: ResponseContactInformation | None = None
    provider_information: dict[str, str] | None = None


class BenefitsInformation(ResponseModel):
    """One benefit row of the 271 (EB segment and its loop 2110C/D), codes with descriptions."""

    code: str | None = None
    name: str | None = None
    coverage_level_code: str | None = None
    coverage_level: str | None = None
    service_type_codes: list[str] | None = None
    service_types: list[str] | None = None
    insurance_type_code: str | None = None
    insurance_type: str | None = None
    plan_coverage: str | None = None
    time_qualifier_code: str | None = None
    time_qualifier: str | None = None
    benefit_amount: str | None = None
    benefit_percent: str | None = None
    quantity_qualifier_code: str | None = None
    quantity_qualifier: str | None = None
    benefit_quantity: str | None = None
    auth_or_cert_indicator: str | None = None
    in_plan_network_indicator_code: str | None = None
    in_plan_network_indicator: str | None = None
    header_loop_identifier_code: str | None = None
    trailer_loop_identifier_code: str | None = None
    composite_medical_procedure_identifier: CompositeMedicalProcedureIdentifier | None = None
    benefits_additional_information: dict[str, str] | None = None
    benefits_date_information: BenefitsDateInformation | None = None
    benefits_related_entities: list[BenefitsRelatedEntity] | None = None
    benefits_service_delivery: list[dict[str, str]] | None = None
    additional_information: list[AdditionalInformation] | None = None
    eligibility_additional_information_list: list[dict[str, str]] | None = None


class EligibilityResponse(ResponseModel):
    """The payer's answer to an eligibility request (read from a 271)."""

    meta: ResponseMeta | None = None
    control_number: str | None = None
    reassociation_key: str | None = None
    trading_partner_service_id: str | None = None
    provider: EligibilityResponseProvider | None = None
    subscriber: EligibilityResponseSubscriber | None = None
    subscriber_trace_numbers: list[SubscriberTraceNumber] | None = None
    dependents: list[EligibilityResponseDependent] | None = None
    payer: EligibilityResponsePayer | None = None
    plan_information: PlanInformation | None = None
    plan_date_information: PlanDateInformation | None = None
    plan_status: list[PlanStatus] | None = None
    benefits_information: list[BenefitsInformation] | None = None
    errors: list[ResponseError] | None = None
    warnings: list[ResponseError] | None = None
    x12: str | None = None
