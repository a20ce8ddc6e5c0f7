"""Professional (837P, 005010X222A1) and institutional (837I, 005010X223A2) claim request models.

Requesters submit claims in the layout of the Optum (Change Healthcare) Medical
Network professional claims v3 and institutional claims v3 APIs; the engine
writes the 837 from these models. Parts both claim types share (submitter,
receiver, subscriber, providers, coordination of benefits) come first, then the
professional parts, then the institutional ones.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from edi.models.common import (
    Address,
    Amount,
    ContactInformation,
    Date8,
    EmployerId,
    Gender,
    Npi,
    Phone,
    Quantity,
    RequestModel,
    Ssn,
    TaxonomyCode,
    Text,
    Text10,
    Text25,
    Text30,
    Text35,
    Text38,
    Text50,
    Text60,
    Text80,
    YesNo,
)

__all__ = [
    "AdjustmentDetail",
    "AdmittingDiagnosis",
    "AmbulanceTransportInformation",
    "BillingPayToAddressName",
    "ClaimCodeInformation",
    "ClaimContractInformation",
    "ClaimDependent",
    "ClaimFilingCode",
    "ClaimLevelAdjustment",
    "ClaimProvider",
    "ClaimSubscriber",
    "ClaimSupplementalInformation",
    "CompositeDiagnosisCodePointers",
    "ConditionCode",
    "DiagnosisRelatedGroupInformation",
    "DrugIdentification",
    "ExternalCauseOfInjury",
    "HealthCareCodeInformation",
    "InstitutionalClaimDateInformation",
    "InstitutionalClaimInformation",
    "InstitutionalClaimNotes",
    "InstitutionalClaimRequest",
    "InstitutionalService",
    "InstitutionalServiceFacilityLocation",
    "InstitutionalServiceLine",
    "MAX_INSTITUTIONAL_SERVICE_LINES",
    "MAX_PROFESSIONAL_SERVICE_LINES",
    "OccurrenceInformation",
    "OccurrenceSpanInformation",
    "OperatingPhysician",
    "OtherDiagnosisInformation",
    "OtherPayerName",
    "OtherProcedureInformation",
    "OtherSubscriberInformation",
    "OtherSubscriberName",
    "PatientReasonForVisit",
    "PayToPlan",
    "PrincipalDiagnosis",
    "PrincipalProcedureInformation",
    "ProfessionalClaimDateInformation",
    "ProfessionalClaimInformation",
    "ProfessionalClaimNote",
    "ProfessionalClaimRequest",
    "ProfessionalService",
    "ProfessionalServiceLine",
    "Receiver",
    "ReferenceIdentification",
    "ReportInformation",
    "ServiceFacilityLocation",
    "Submitter",
    "TreatmentCodeInformation",
    "ValueInformation",
]

MAX_PROFESSIONAL_SERVICE_LINES = 50
MAX_INSTITUTIONAL_SERVICE_LINES = 999

ControlNumber = Annotated[str, Field(pattern=r"^\d{9}$", description="Nine digits (ST02 and BHT03).")]
DiagnosisCode = Annotated[
    str, Field(pattern=r"^[0-9A-Z.]{3,8}$", description="ICD-10-CM code; the dot is optional and dropped in X12.")
]
ProcedureCode = Annotated[str, Field(pattern=r"^[0-9A-Z]{1,48}$")]
ProcedureModifier = Annotated[str, Field(pattern=r"^[0-9A-Z]{2}$")]
DiagnosisPointer = Annotated[str, Field(pattern=r"^\d{1,2}$", description="1-based index into the diagnoses.")]
PlaceOfService = Annotated[str, Field(pattern=r"^\d{2}$", description="CMS place of service code.")]
ClaimFilingCode = Literal[
    "11", "12", "13", "14", "15", "16", "17", "AM", "BL", "CH", "CI", "DS", "FI", "HM", "LM", "MA", "MB",
    "MC", "OF", "TV", "VA", "WC", "ZZ",
]  # fmt: skip
PaymentResponsibilityLevel = Literal["A", "B", "C", "D", "E", "F", "G", "H", "P", "S", "T", "U"]
PatientRelationship = Literal["01", "19", "20", "21", "39", "40", "53", "G8"]
PresentOnAdmission = Literal["Y", "N", "U", "W"]
AdjustmentGroupCode = Literal["CO", "OA", "PI", "PR"]

# ================================================================== shared parts


class ReferenceIdentification(RequestModel):
    """A secondary identifier (REF segment): qualifier and value."""

    qualifier: Annotated[str, Field(pattern=r"^[0-9A-Z]{2,3}$")]
    identifier: Text50
    other_identifier: Text50 | None = None


class Submitter(RequestModel):
    """The party sending the claim (loop 1000A)."""

    organization_name: Text60 | None = None
    last_name: Text60 | None = None
    first_name: Text35 | None = None
    middle_name: Text25 | None = None
    tax_id: EmployerId | None = None
    contact_information: ContactInformation


class Receiver(RequestModel):
    """The party receiving the claim file (loop 1000B)."""

    organization_name: Text60
    tax_id: EmployerId | None = None


class ClaimSubscriber(RequestModel):
    """The insured (loop 2000B/2010BA): SBR, NM1*IL, N3/N4, DMG."""

    member_id: Text80
    ssn: Ssn | None = None
    payment_responsibility_level_code: PaymentResponsibilityLevel
    organization_name: Text60 | None = None
    insurance_type_code: Annotated[str, Field(pattern=r"^[0-9A-Z]{1,3}$")] | None = None
    subscriber_group_name: Text60 | None = None
    first_name: Text35 | None = None
    last_name: Text60 | None = None
    middle_name: Text25 | None = None
    suffix: Text10 | None = None
    gender: Gender | None = None
    date_of_birth: Date8 | None = None
    policy_number: Text50 | None = None
    group_number: Text50 | None = None
    standard_health_id: Text50 | None = None
    address: Address | None = None
    contact_information: ContactInformation | None = None


class ClaimDependent(RequestModel):
    """The patient when not the subscriber (loop 2000C/2010CA): PAT, NM1*QC, N3/N4, DMG."""

    first_name: Text35 | None = None
    last_name: Text60
    middle_name: Text25 | None = None
    suffix: Text10 | None = None
    gender: Gender
    date_of_birth: Date8
    ssn: Ssn | None = None
    member_id: Text80 | None = None
    relationship_to_subscriber_code: PatientRelationship
    address: Address | None = None
    contact_information: ContactInformation | None = None


class ClaimProvider(RequestModel):
    """A provider named on the claim (billing, rendering, referring... ) or on a service line."""

    provider_type: Text50 | None = None
    npi: Npi | None = None
    ssn: Ssn | None = None
    employer_id: EmployerId | None = None
    tax_id: EmployerId | None = None
    etin: Text80 | None = None
    commercial_number: Text50 | None = None
    location_number: Text50 | None = None
    payer_identification_number: Text50 | None = None
    claim_office_number: Text50 | None = None
    naic: Text50 | None = None
    state_license_number: Text50 | None = None
    provider_upin_number: Text50 | None = None
    secondary_identification_qualifier_code: Text | None = None
    secondary_identifier: Text50 | None = None
    taxonomy_code: TaxonomyCode | None = None
    first_name: Text35 | None = None
    last_name: Text60 | None = None
    middle_name: Text25 | None = None
    suffix: Text10 | None = None
    organization_name: Text60 | None = None
    address: Address | None = None
    contact_information: ContactInformation | None = None


class BillingPayToAddressName(RequestModel):
    """Pay-to address when payments go elsewhere than the billing provider's address (loop 2010AB)."""

    entity_type_qualifier: Literal["1", "2"] | None = None
    address: Address


class PayToPlan(RequestModel):
    """The health plan to be paid instead of the provider (loop 2010AC)."""

    organization_name: Text60
    primary_identifier_type_code: Literal["PI", "XV"]
    primary_identifier: Text80
    address: Address
    secondary_identifier_type_code: Text | None = None
    secondary_identifier: Text50 | None = None
    tax_identification_number: EmployerId


class AdjustmentDetail(RequestModel):
    """One reason, amount and quantity of a CAS segment."""

    adjustment_reason_code: Annotated[str, Field(pattern=r"^[0-9A-Z]{1,5}$")]
    adjustment_amount: Annotated[str, Field(pattern=r"^-?\d{1,10}(\.\d{1,2})?$")]
    adjustment_quantity: Quantity | None = None


class ClaimLevelAdjustment(RequestModel):
    """Adjustments a prior payer made to the whole claim (CAS in loop 2320)."""

    adjustment_group_code: AdjustmentGroupCode
    adjustment_details: list[AdjustmentDetail] | None = Field(default=None, min_length=1, max_length=6)
    claim_adjustment_details: list[AdjustmentDetail] | None = Field(default=None, min_length=1, max_length=6)


class OtherSubscriberName(RequestModel):
    """The other insured (loop 2330A)."""

    other_insured_qualifier: Literal["1", "2"]
    other_insured_last_name: Text60
    other_insured_first_name: Text35 | None = None
    other_insured_middle_name: Text25 | None = None
    other_insured_suffix: Text10 | None = None
    other_insured_identifier_type_code: Literal["II", "MI"]
    other_insured_identifier: Text80
    other_insured_address: Address | None = None
    other_insured_additional_identifier: Text50 | None = None


class OtherPayerName(RequestModel):
    """The other payer (loop 2330B)."""

    other_payer_organization_name: Text60
    other_payer_identifier_type_code: Literal["PI", "XV"]
    other_payer_identifier: Text80
    other_payer_address: Address | None = None
    other_payer_adjudication_or_payment_date: Date8 | None = None
    other_payer_secondary_identifier: list[ReferenceIdentification] | None = Field(default=None, max_length=2)
    other_payer_prior_authorization_number: Text50 | None = None
    other_payer_prior_authorization_or_referral_number: Text50 | None = None
    other_payer_claim_adjustment_indicator: bool | None = None
    other_payer_claim_control_number: Text50 | None = None


class OtherSubscriberInformation(RequestModel):
    """Coordination of benefits with another payer (loop 2320 and its 2330 loops)."""

    payment_responsibility_level_code: PaymentResponsibilityLevel
    individual_relationship_code: Literal["01", "18", "19", "20", "21", "39", "40", "53", "G8"]
    insurance_group_or_policy_number: Text50 | None = None
    group_number: Text50 | None = None
    policy_number: Text50 | None = None
    other_insured_group_name: Text60 | None = None
    insurance_type_code: Annotated[str, Field(pattern=r"^[0-9A-Z]{1,3}$")] | None = None
    claim_filing_indicator_code: ClaimFilingCode
    benefits_assignment_certification_indicator: Literal["N", "W", "Y"]
    patient_signature_generated_for_patient: bool | None = None
    release_of_information_code: Literal["I", "Y"]
    payer_paid_amount: Amount | None = None
    non_covered_charge_amount: Amount | None = None
    remaining_patient_liability: Amount | None = None
    claim_level_adjustments: list[ClaimLevelAdjustment] | None = Field(default=None, max_length=5)
    other_subscriber_name: OtherSubscriberName
    other_payer_name: OtherPayerName


class ClaimContractInformation(RequestModel):
    """Contract information (CN1 segment)."""

    contract_type_code: Literal["01", "02", "03", "04", "05", "06", "09"]
    contract_amount: Amount | None = None
    contract_percentage: Quantity | None = None
    contract_code: Text50 | None = None
    terms_discount_percentage: Quantity | None = None
    contract_version_identifier: Text30 | None = None


class ReportInformation(RequestModel):
    """An attachment sent separately (PWK segment)."""

    attachment_report_type_code: Annotated[str, Field(pattern=r"^[0-9A-Z]{2}$")]
    attachment_transmission_code: Literal["AA", "BM", "EL", "EM", "FT", "FX"]
    attachment_control_number: Text80 | None = None


class ClaimSupplementalInformation(RequestModel):
    """Claim-level reference numbers (REF segments of loop 2300) and attachments."""

    prior_authorization_number: Text50 | None = None
    referral_number: Text50 | None = None
    claim_control_number: Text50 | None = Field(
        default=None, description="Payer claim control number of the claim being corrected or voided (REF*F8)."
    )
    claim_number: Text50 | None = None
    repriced_claim_number: Text50 | None = None
    adjusted_repriced_claim_number: Text50 | None = None
    adjusted_repriced_claim_ref_number: Text50 | None = None
    investigational_device_exemption_number: Text50 | None = None
    clia_number: Text50 | None = None
    medical_record_number: Text50 | None = None
    demo_project_identifier: Text50 | None = None
    care_plan_oversight_number: Text50 | None = None
    mammography_certification_number: Text50 | None = None
    medicare_crossover_reference_id: Text50 | None = None
    peer_review_authorization_number: Text50 | None = None
    service_authorization_exception_code: Annotated[str, Field(pattern=r"^[1-7]$")] | None = None
    auto_accident_state: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None = None
    report_information: ReportInformation | None = None
    report_informations: list[ReportInformation] | None = Field(default=None, max_length=10)


class DrugIdentification(RequestModel):
    """A drug billed on a service line (LIN/CTP/REF in loop 2410)."""

    service_id_qualifier: Literal["EN", "EO", "HI", "N4", "ON", "UK", "UP"]
    national_drug_code: Annotated[str, Field(pattern=r"^[0-9A-Z]{1,48}$")]
    national_drug_unit_count: Quantity
    measurement_unit_code: Literal["F2", "GR", "ME", "ML", "UN"]
    link_sequence_number: Text50 | None = None
    pharmacy_prescription_number: Text50 | None = None


# ============================================================ professional (837P)


class HealthCareCodeInformation(RequestModel):
    """One diagnosis of a professional claim (HI segment): ABK principal, ABF other."""

    diagnosis_type_code: Literal["ABK", "ABF", "BK", "BF"]
    diagnosis_code: DiagnosisCode


class CompositeDiagnosisCodePointers(RequestModel):
    """Which claim diagnoses a service line treats (SV107), 1 to 4 pointers, first is primary."""

    diagnosis_code_pointers: list[DiagnosisPointer] = Field(min_length=1, max_length=4)


class ProfessionalService(RequestModel):
    """The professional service of a line (SV1 segment)."""

    procedure_identifier: Literal["HC", "ER", "IV", "WK"]
    procedure_code: ProcedureCode
    procedure_modifiers: list[ProcedureModifier] | None = Field(default=None, max_length=4)
    description: Text80 | None = None
    line_item_charge_amount: Amount
    measurement_unit: Literal["UN", "MJ"]
    service_unit_count: Quantity
    place_of_service_code: PlaceOfService | None = None
    composite_diagnosis_code_pointers: CompositeDiagnosisCodePointers
    emergency_indicator: Literal["Y"] | None = None
    epsdt_indicator: Literal["Y"] | None = None
    family_planning_indicator: Literal["Y"] | None = None
    copay_status_code: Literal["0"] | None = None


class ServiceFacilityLocation(RequestModel):
    """Where a professional service was rendered (loop 2310C or 2420C)."""

    organization_name: Text60
    npi: Npi | None = None
    address: Address
    phone_name: Text60 | None = None
    phone_number: Phone | None = None
    phone_extension: Annotated[str, Field(pattern=r"^\d{1,10}$")] | None = None
    secondary_identifier: list[ReferenceIdentification] | None = Field(default=None, max_length=3)


class AmbulanceTransportInformation(RequestModel):
    """Ambulance transport (CR1 segment)."""

    patient_weight_in_pounds: Quantity | None = None
    ambulance_transport_reason_code: Literal["A", "B", "C", "D", "E"]
    transport_distance_in_miles: Quantity
    round_trip_purpose_description: Text80 | None = None
    stretcher_purpose_description: Text80 | None = None


class ProfessionalServiceLine(RequestModel):
    """One professional service line (loop 2400)."""

    assigned_number: Annotated[str, Field(pattern=r"^\d{1,6}$")] | None = None
    service_date: Date8
    service_date_end: Date8 | None = None
    provider_control_number: Text50 | None = Field(
        default=None, description="Line item control number (REF*6R), echoed on the 835."
    )
    professional_service: ProfessionalService
    drug_identification: DrugIdentification | None = None
    rendering_provider: ClaimProvider | None = None
    referring_provider: ClaimProvider | None = None
    ordering_provider: ClaimProvider | None = None
    supervising_provider: ClaimProvider | None = None
    purchased_service_provider: ClaimProvider | None = None
    service_facility_location: ServiceFacilityLocation | None = None
    ambulance_transport_information: AmbulanceTransportInformation | None = None
    ambulance_pick_up_location: Address | None = None
    ambulance_drop_off_location: Address | None = None
    sales_tax_amount: Amount | None = None
    postage_tax_amount: Amount | None = None
    additional_notes: Text80 | None = None
    goal_rehab_or_discharge_plans: Text80 | None = None
    third_party_organization_notes: Text80 | None = None


class ProfessionalClaimDateInformation(RequestModel):
    """Claim-level dates of a professional claim (DTP segments of loop 2300)."""

    symptom_date: Date8 | None = None
    initial_treatment_date: Date8 | None = None
    last_seen_date: Date8 | None = None
    acute_manifestation_date: Date8 | None = None
    accident_date: Date8 | None = None
    last_menstrual_period_date: Date8 | None = None
    last_x_ray_date: Date8 | None = Field(default=None, alias="lastXRayDate")
    hearing_and_vision_prescription_date: Date8 | None = None
    disability_begin_date: Date8 | None = None
    disability_end_date: Date8 | None = None
    last_worked_date: Date8 | None = None
    authorized_return_to_work_date: Date8 | None = None
    admission_date: Date8 | None = None
    discharge_date: Date8 | None = None
    assumed_and_relinquished_care_begin_date: Date8 | None = None
    assumed_and_relinquished_care_end_date: Date8 | None = None
    repricer_received_date: Date8 | None = None
    first_contact_date: Date8 | None = None


class ProfessionalClaimNote(RequestModel):
    """Claim note (NTE segment of loop 2300); one of the fields is used."""

    additional_information: Text80 | None = None
    certification_narrative: Text80 | None = None
    goal_rehab_or_discharge_plans: Text80 | None = None
    diagnosis_description: Text80 | None = None
    third_part_org_notes: Text80 | None = None


class ConditionCode(RequestModel):
    """A condition code (HI*BG)."""

    condition_code: Annotated[str, Field(pattern=r"^[0-9A-Z]{2}$")]


class ProfessionalClaimInformation(RequestModel):
    """The professional claim itself (loop 2300: CLM, DTP, REF, NTE, HI) and its service lines."""

    claim_filing_code: ClaimFilingCode
    property_casualty_claim_number: Text50 | None = None
    death_date: Date8 | None = None
    patient_weight: Quantity | None = None
    pregnancy_indicator: Literal["Y"] | None = None
    patient_control_number: Text38
    claim_charge_amount: Amount
    place_of_service_code: PlaceOfService
    claim_frequency_code: Literal["1", "6", "7", "8"]
    signature_indicator: YesNo
    plan_participation_code: Literal["A", "B", "C"]
    benefits_assignment_certification_indicator: Literal["N", "W", "Y"]
    release_information_code: Literal["I", "Y"]
    patient_signature_source_code: Literal["P"] | None = None
    related_causes_code: list[Literal["AA", "EM", "OA"]] | None = Field(default=None, max_length=2)
    auto_accident_state_code: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None = None
    auto_accident_country_code: Annotated[str, Field(pattern=r"^[A-Z]{2,3}$")] | None = None
    special_program_code: Literal["02", "03", "05", "09"] | None = None
    delay_reason_code: Annotated[str, Field(pattern=r"^(1|2|3|4|5|6|7|8|9|10|11|15)$")] | None = None
    patient_amount_paid: Amount | None = None
    homebound_indicator: bool | None = None
    claim_date_information: ProfessionalClaimDateInformation | None = None
    claim_contract_information: ClaimContractInformation | None = None
    claim_supplemental_information: ClaimSupplementalInformation | None = None
    claim_note: ProfessionalClaimNote | None = None
    ambulance_transport_information: AmbulanceTransportInformation | None = None
    ambulance_pick_up_location: Address | None = None
    ambulance_drop_off_location: Address | None = None
    condition_information: list[ConditionCode] | None = Field(default=None, max_length=12)
    health_care_code_information: list[HealthCareCodeInformation] = Field(min_length=1, max_length=12)
    service_facility_location: ServiceFacilityLocation | None = None
    other_subscriber_information: list[OtherSubscriberInformation] | None = Field(default=None, max_length=10)
    service_lines: list[ProfessionalServiceLine] = Field(
        min_length=1,
        json_schema_extra={"maxItems": MAX_PROFESSIONAL_SERVICE_LINES},
        description="Service lines (loop 2400); at most 50, enforced by the request checks.",
    )


class _ClaimRequestHeader(RequestModel):
    """What every claim submission starts with, professional or institutional (loops 1000A-2010BB)."""

    control_number: ControlNumber
    trading_partner_service_id: Annotated[str, Field(min_length=1, max_length=80, description="Payer ID.")]
    trading_partner_id: Text80 | None = None
    trading_partner_name: Text60 | None = None
    usage_indicator: Literal["P", "T"] | None = None
    submitter: Submitter
    receiver: Receiver
    subscriber: ClaimSubscriber
    dependent: ClaimDependent | None = None
    providers: list[ClaimProvider] | None = None
    billing: ClaimProvider | None = None


class ProfessionalClaimRequest(_ClaimRequestHeader):
    """A professional claim submission (becomes an 837P)."""

    rendering: ClaimProvider | None = None
    referring: ClaimProvider | None = None
    ordering: ClaimProvider | None = None
    supervising: ClaimProvider | None = None
    pay_to_address: Address | None = None
    pay_to_plan: PayToPlan | None = None
    payer_address: Address | None = None
    claim_information: ProfessionalClaimInformation


# =========================================================== institutional (837I)


class ClaimCodeInformation(RequestModel):
    """Admission type and source and patient status (CL1 segment)."""

    admission_type_code: Annotated[str, Field(pattern=r"^\d$")] | None = None
    admission_source_code: Annotated[str, Field(pattern=r"^[0-9A-Z]$")] | None = None
    patient_status_code: Annotated[str, Field(pattern=r"^\d{2}$")]


class InstitutionalClaimDateInformation(RequestModel):
    """Statement period and admission/discharge times (DTP segments of loop 2300)."""

    statement_begin_date: Date8
    statement_end_date: Date8
    admission_date_and_hour: Annotated[str, Field(pattern=r"^\d{12}$", description="YYYYMMDDHHMM.")] | None = None
    discharge_hour: Annotated[str, Field(pattern=r"^([01]\d|2[0-3])[0-5]\d$", description="HHMM.")] | None = None
    repricer_received_date: Date8 | None = None


class PrincipalDiagnosis(RequestModel):
    """Principal diagnosis (HI*ABK)."""

    qualifier_code: Literal["ABK", "BK"]
    principal_diagnosis_code: DiagnosisCode
    present_on_admission_indicator: PresentOnAdmission | None = None


class AdmittingDiagnosis(RequestModel):
    """Admitting diagnosis (HI*ABJ)."""

    qualifier_code: Literal["ABJ", "BJ"]
    admitting_diagnosis_code: DiagnosisCode


class PatientReasonForVisit(RequestModel):
    """Patient's reason for visit (HI*APR), for unscheduled outpatient visits."""

    qualifier_code: Literal["APR", "PR"]
    patient_reason_for_visit_code: DiagnosisCode


class ExternalCauseOfInjury(RequestModel):
    """External cause of injury (HI*ABN)."""

    qualifier_code: Literal["ABN", "BN"]
    external_cause_of_injury: DiagnosisCode
    present_on_admission_indicator: PresentOnAdmission | None = None


class OtherDiagnosisInformation(RequestModel):
    """Another diagnosis (HI*ABF)."""

    qualifier_code: Literal["ABF", "BF"]
    other_diagnosis_code: DiagnosisCode
    present_on_admission_indicator: PresentOnAdmission | None = None


class DiagnosisRelatedGroupInformation(RequestModel):
    """Diagnosis related group (HI*DR); the field name is the Optum API's own."""

    drug_related_group_code: Annotated[str, Field(pattern=r"^[0-9A-Z]{1,4}$")]


class PrincipalProcedureInformation(RequestModel):
    """Principal ICD-10-PCS procedure (HI*BBR)."""

    qualifier_code: Literal["BBR", "BR", "CAH"]
    principal_procedure_code: Annotated[str, Field(pattern=r"^[0-9A-Z]{1,7}$")]
    principal_procedure_date: Date8 | None = None


class OtherProcedureInformation(RequestModel):
    """Another ICD-10-PCS procedure (HI*BBQ)."""

    qualifier_code: Literal["BBQ", "BQ"]
    other_procedure_code: Annotated[str, Field(pattern=r"^[0-9A-Z]{1,7}$")]
    other_procedure_date: Date8 | None = None


class OccurrenceSpanInformation(RequestModel):
    """Occurrence span code and dates (HI*BI)."""

    occurrence_span_code: Annotated[str, Field(pattern=r"^[0-9A-Z]{2}$")]
    occurrence_span_code_start_date: Date8
    occurrence_span_code_end_date: Date8


class OccurrenceInformation(RequestModel):
    """Occurrence code and date (HI*BH); the field names are the Optum API's own."""

    occurrence_span_code: Annotated[str, Field(pattern=r"^[0-9A-Z]{2}$")]
    occurrence_span_code_date: Date8


class ValueInformation(RequestModel):
    """Value code and amount (HI*BE)."""

    value_code: Annotated[str, Field(pattern=r"^[0-9A-Z]{2}$")]
    value_code_amount: Annotated[str, Field(pattern=r"^-?\d{1,10}(\.\d{1,2})?$")]


class TreatmentCodeInformation(RequestModel):
    """Treatment code (HI*TC)."""

    treatment_code: Annotated[str, Field(pattern=r"^[0-9A-Z]{1,30}$")]


class InstitutionalClaimNotes(RequestModel):
    """Claim notes (NTE segments of loop 2300), by kind of note."""

    additional_information: list[Text80] | None = None
    allergies: list[Text80] | None = None
    diagnosis_description: list[Text80] | None = None
    dme: list[Text80] | None = None
    functional_limits_or_reason_homebound: list[Text80] | None = None
    goal_rehab_or_discharge_plans: list[Text80] | None = None
    medications: list[Text80] | None = None
    nutritional_requirments: list[Text80] | None = None
    orders_for_discip_lines_and_treatments: list[Text80] | None = None
    reasons_patient_leaves_home: list[Text80] | None = None
    safety_measures: list[Text80] | None = None
    supplemental_plan_of_treatment: list[Text80] | None = None
    times_and_reasons_patient_not_at_home: list[Text80] | None = None
    unusual_home_or_social_env: list[Text80] | None = None
    updated_information: list[Text80] | None = None


class InstitutionalServiceFacilityLocation(RequestModel):
    """Where institutional services were rendered when not at the billing provider (loop 2310E)."""

    organization_name: Text60
    address: Address
    identification_code: Npi | None = Field(default=None, description="NPI of the service facility.")
    secondary_identification_qualifier_code: Text | None = None
    secondary_identifier: Text50 | None = None


class OperatingPhysician(RequestModel):
    """Operating or other operating physician (loops 2310B and 2310C)."""

    organization_name: Text60 | None = None
    last_name: Text60
    first_name: Text35 | None = None
    middle_name: Text25 | None = None
    suffix: Text10 | None = None
    npi: Npi | None = None
    identification_qualifier_code: Text | None = None
    secondary_identifier: Text50 | None = None


class InstitutionalService(RequestModel):
    """The institutional service of a line (SV2 segment)."""

    service_line_revenue_code: Annotated[str, Field(pattern=r"^\d{4}$")]
    procedure_identifier: Literal["ER", "HC", "HP", "IV", "WK"] | None = None
    procedure_code: ProcedureCode | None = None
    procedure_modifiers: list[ProcedureModifier] | None = Field(default=None, max_length=4)
    description: Text80 | None = None
    line_item_charge_amount: Amount
    measurement_unit: Literal["DA", "UN"]
    service_unit_count: Quantity
    non_covered_charge_amount: Amount | None = None


class InstitutionalServiceLine(RequestModel):
    """One institutional service line (loop 2400)."""

    assigned_number: Annotated[str, Field(pattern=r"^\d{1,6}$")] | None = None
    service_date: Date8 | None = None
    service_date_end: Date8 | None = None
    line_item_control_number: Text50 | None = Field(
        default=None, description="Line item control number (REF*6R), echoed on the 835."
    )
    institutional_service: InstitutionalService
    drug_identification: DrugIdentification | None = None
    rendering_provider: ClaimProvider | None = None
    referring_provider: ClaimProvider | None = None
    operating_physician: OperatingPhysician | None = None
    other_operating_physician: OperatingPhysician | None = None
    description: Text80 | None = None
    facility_tax_amount: Amount | None = None
    service_tax_amount: Amount | None = None
    third_party_organization_notes: Text80 | None = None
    line_note_text: Text80 | None = None
    repriced_line_item_reference_number: Text50 | None = None
    adjusted_repriced_line_item_reference_number: Text50 | None = None


class InstitutionalClaimInformation(RequestModel):
    """The institutional claim itself (loop 2300: CLM, DTP, CL1, REF, NTE, HI) and its service lines."""

    claim_filing_code: ClaimFilingCode
    property_casualty_claim_number: Text50 | None = None
    patient_control_number: Text38
    claim_charge_amount: Amount
    place_of_service_code: Annotated[
        str, Field(pattern=r"^\d{2}$", description="Facility type code: the first two digits of the type of bill.")
    ]
    claim_frequency_code: Annotated[str, Field(pattern=r"^[0-9A-Z]$")]
    signature_indicator: YesNo | None = None
    plan_participation_code: Literal["A", "B", "C"]
    benefits_assignment_certification_indicator: Literal["N", "W", "Y"]
    release_information_code: Literal["I", "Y"]
    delay_reason_code: Annotated[str, Field(pattern=r"^(1|2|3|4|5|6|7|8|9|10|11|15)$")] | None = None
    patient_estimated_amount_due: Amount | None = None
    patient_amount_paid: Amount | None = None
    patient_weight: Quantity | None = None
    billing_note: Text80 | None = None
    claim_code_information: ClaimCodeInformation
    claim_date_information: InstitutionalClaimDateInformation
    claim_contract_information: ClaimContractInformation | None = None
    claim_supplemental_information: ClaimSupplementalInformation | None = None
    claim_notes: InstitutionalClaimNotes | None = None
    principal_diagnosis: PrincipalDiagnosis
    admitting_diagnosis: AdmittingDiagnosis | None = None
    patient_reason_for_visits: list[PatientReasonForVisit] | None = Field(default=None, max_length=3)
    external_cause_of_injuries: list[ExternalCauseOfInjury] | None = Field(default=None, max_length=12)
    diagnosis_related_group_information: DiagnosisRelatedGroupInformation | None = None
    other_diagnosis_information_list: list[OtherDiagnosisInformation] | None = Field(default=None, max_length=24)
    principal_procedure_information: PrincipalProcedureInformation | None = None
    other_procedure_information_list: list[OtherProcedureInformation] | None = Field(default=None, max_length=24)
    occurrence_span_informations: list[OccurrenceSpanInformation] | None = Field(default=None, max_length=24)
    occurrence_information_list: list[OccurrenceInformation] | None = Field(default=None, max_length=24)
    value_information_list: list[ValueInformation] | None = Field(default=None, max_length=24)
    condition_codes_list: list[ConditionCode] | None = Field(default=None, max_length=24)
    treatment_code_information_list: list[TreatmentCodeInformation] | None = Field(default=None, max_length=24)
    service_facility_location: InstitutionalServiceFacilityLocation | None = None
    other_subscriber_information: OtherSubscriberInformation | None = None
    service_lines: list[InstitutionalServiceLine] = Field(
        min_length=1,
        json_schema_extra={"maxItems": MAX_INSTITUTIONAL_SERVICE_LINES},
        description="Service lines (loop 2400); at most 999, enforced by the request checks.",
    )


class InstitutionalClaimRequest(_ClaimRequestHeader):
    """An institutional claim submission (becomes an 837I)."""

    attending: ClaimProvider | None = None
    rendering: ClaimProvider | None = None
    referring: ClaimProvider | None = None
    operating_physician: OperatingPhysician | None = None
    other_operating_physician: OperatingPhysician | None = None
    billing_pay_to_address_name: BillingPayToAddressName | None = None
    pay_to_plan: PayToPlan | None = None
    payer_address: Address | None = None
    claim_information: InstitutionalClaimInformation

