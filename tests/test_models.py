"""The JSON contract models: valid Optum-layout examples parse, round-trip and describe their codes."""

from __future__ import annotations

import importlib
import pkgutil
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

import edi.codes
import edi.models
from edi.codes import (
    PLACE_OF_SERVICE_CODES,
    SERVICE_TYPE_CODES,
    STATE_CODES,
    TA1_NOTE_CODES,
    describe,
)
from edi.models import (
    ClaimAcknowledgmentReport,
    ClaimStatusResponse,
    EligibilityRequest,
    EligibilityResponse,
    FunctionalAcknowledgment,
    InstitutionalClaimRequest,
    InterchangeAcknowledgment,
    PaymentReport,
    ProfessionalClaimRequest,
)
from edi.models.claims import ProfessionalService
from edi.models.eligibility import EligibilitySubscriber


def eligibility_request() -> dict[str, Any]:
    return {
        "controlNumber": "123456789",
        "tradingPartnerServiceId": "87726",
        "provider": {"organizationName": "Clinic", "npi": "1234567893", "servicesPlanID": "X1"},
        "subscriber": {
            "memberId": "0000000001",
            "firstName": "JOHN",
            "lastName": "DOE",
            "gender": "M",
            "dateOfBirth": "19800102",
            "address": {"address1": "1 Main St", "city": "Springfield", "state": "IL", "postalCode": "62701"},
        },
        "dependents": [{"firstName": "JANE", "lastName": "DOE", "dateOfBirth": "20100101", "individualRelationshipCode": "19"}],
        "encounter": {
            "serviceTypeCodes": ["30", "98"],
            "beginningDateOfService": "20240101",
            "endDateOfService": "20240131",
            "productOrServiceIDQualifier": "HC",
            "procedureCode": "99213",
        },
    }


def professional_claim() -> dict[str, Any]:
    address = {"address1": "2 Oak St", "city": "Springfield", "state": "IL", "postalCode": "627011234"}
    return {
        "controlNumber": "000000001",
        "tradingPartnerServiceId": "9496",
        "usageIndicator": "T",
        "submitter": {"organizationName": "Billing Service", "contactInformation": {"name": "Help", "phoneNumber": "5555551234"}},
        "receiver": {"organizationName": "Example Payer"},
        "subscriber": {
            "memberId": "0000000001",
            "paymentResponsibilityLevelCode": "P",
            "lastName": "DOE",
            "firstName": "JOHN",
            "gender": "M",
            "dateOfBirth": "19800102",
            "address": address,
        },
        "providers": [
            {"providerType": "BillingProvider", "npi": "1234567893", "employerId": "123456789", "organizationName": "Clinic", "address": address},
            {"providerType": "RenderingProvider", "npi": "1999999984", "lastName": "SMITH", "firstName": "ANN", "taxonomyCode": "207Q00000X"},
        ],
        "claimInformation": {
            "claimFilingCode": "CI",
            "patientControlNumber": "PCN-1",
            "claimChargeAmount": "150.00",
            "placeOfServiceCode": "11",
            "claimFrequencyCode": "1",
            "signatureIndicator": "Y",
            "planParticipationCode": "A",
            "benefitsAssignmentCertificationIndicator": "Y",
            "releaseInformationCode": "Y",
            "claimDateInformation": {"lastXRayDate": "20231201"},
            "healthCareCodeInformation": [{"diagnosisTypeCode": "ABK", "diagnosisCode": "E119"}],
            "serviceLines": [
                {
                    "serviceDate": "20240105",
                    "providerControlNumber": "LINE-1",
                    "professionalService": {
                        "procedureIdentifier": "HC",
                        "procedureCode": "99213",
                        "procedureModifiers": ["25"],
                        "lineItemChargeAmount": "150.00",
                        "measurementUnit": "UN",
                        "serviceUnitCount": "1",
                        "compositeDiagnosisCodePointers": {"diagnosisCodePointers": ["1"]},
                    },
                }
            ],
        },
    }


def institutional_claim() -> dict[str, Any]:
    claim = professional_claim()
    claim["attending"] = {"providerType": "AttendingProvider", "npi": "1999999984", "lastName": "SMITH", "firstName": "ANN"}
    claim["claimInformation"] = {
        "claimFilingCode": "MA",
        "patientControlNumber": "PCN-2",
        "claimChargeAmount": "300.00",
        "placeOfServiceCode": "11",
        "claimFrequencyCode": "1",
        "planParticipationCode": "A",
        "benefitsAssignmentCertificationIndicator": "Y",
        "releaseInformationCode": "Y",
        "claimCodeInformation": {"admissionTypeCode": "1", "admissionSourceCode": "7", "patientStatusCode": "01"},
        "claimDateInformation": {
            "statementBeginDate": "20240105",
            "statementEndDate": "20240107",
            "admissionDateAndHour": "202401050830",
            "dischargeHour": "1400",
        },
        "principalDiagnosis": {"qualifierCode": "ABK", "principalDiagnosisCode": "J189", "presentOnAdmissionIndicator": "Y"},
        "admittingDiagnosis": {"qualifierCode": "ABJ", "admittingDiagnosisCode": "R509"},
        "otherDiagnosisInformationList": [{"qualifierCode": "ABF", "otherDiagnosisCode": "E119"}],
        "valueInformationList": [{"valueCode": "80", "valueCodeAmount": "2"}],
        "serviceLines": [
            {
                "assignedNumber": "1",
                "serviceDate": "20240105",
                "institutionalService": {
                    "serviceLineRevenueCode": "0120",
                    "lineItemChargeAmount": "300.00",
                    "measurementUnit": "DA",
                    "serviceUnitCount": "2",
                },
            }
        ],
    }
    return claim


# ---------------------------------------------------------------- requests


@pytest.mark.parametrize(
    ("model", "example"),
    [
        (EligibilityRequest, eligibility_request),
        (ProfessionalClaimRequest, professional_claim),
        (InstitutionalClaimRequest, institutional_claim),
    ],
)
def test_valid_requests_parse_and_round_trip(model: type, example: Any) -> None:
    data = example()
    parsed = model.model_validate(data)
    assert parsed.to_json() == data


def test_python_names_and_json_names_both_populate() -> None:
    subscriber = EligibilitySubscriber(member_id="A1", date_of_birth="19800102")
    assert subscriber.to_json() == {"memberId": "A1", "dateOfBirth": "19800102"}
    assert EligibilitySubscriber.model_validate({"memberId": "A1"}).member_id == "A1"


def test_irregular_optum_names_are_kept() -> None:
    parsed = ProfessionalClaimRequest.model_validate(professional_claim())
    assert parsed.claim_information.claim_date_information is not None
    assert parsed.claim_information.claim_date_information.last_x_ray_date == "20231201"
    request = EligibilityRequest.model_validate(eligibility_request())
    assert request.provider.services_plan_id == "X1"
    assert request.encounter is not None
    assert request.encounter.product_or_service_id_qualifier == "HC"


@pytest.mark.parametrize(("given_amount", "kept"), [(50, "50"), (150.5, "150.5"), ("150.00", "150.00"), (Decimal("1.10"), "1.10")])
def test_amounts_accept_numbers_and_stay_strings(given_amount: object, kept: str) -> None:
    data = professional_claim()
    data["claimInformation"]["claimChargeAmount"] = given_amount
    parsed = ProfessionalClaimRequest.model_validate(data)
    assert parsed.claim_information.claim_charge_amount == kept


@pytest.mark.parametrize("bad", ["-1.00", "1.001", "1,000.00", "abc", True, ""])
def test_malformed_amounts_are_rejected(bad: object) -> None:
    data = professional_claim()
    data["claimInformation"]["claimChargeAmount"] = bad
    with pytest.raises(ValidationError) as caught:
        ProfessionalClaimRequest.model_validate(data)
    assert [error["loc"] for error in caught.value.errors()] == [("claimInformation", "claimChargeAmount")]


@given(st.decimals(min_value=0, max_value=Decimal("9999999999.99"), places=2, allow_nan=False))
def test_any_two_place_amount_is_kept_exactly(amount: Decimal) -> None:
    text = format(amount, "f")
    service = ProfessionalService.model_validate(
        {
            "procedureIdentifier": "HC",
            "procedureCode": "99213",
            "lineItemChargeAmount": text,
            "measurementUnit": "UN",
            "serviceUnitCount": "1",
            "compositeDiagnosisCodePointers": {"diagnosisCodePointers": ["1"]},
        }
    )
    assert service.line_item_charge_amount == text
    assert Decimal(service.line_item_charge_amount) == amount


def test_unknown_request_fields_are_rejected_everywhere() -> None:
    data = professional_claim()
    data["claimInformation"]["serviceLines"][0]["professionalService"]["lineItemChargeAmnt"] = "1"
    data["subscriber"]["middle"] = "Q"
    with pytest.raises(ValidationError) as caught:
        ProfessionalClaimRequest.model_validate(data)
    assert sorted(error["loc"] for error in caught.value.errors()) == [
        ("claimInformation", "serviceLines", 0, "professionalService", "lineItemChargeAmnt"),
        ("subscriber", "middle"),
    ]
    assert {error["type"] for error in caught.value.errors()} == {"extra_forbidden"}


def test_required_fields_and_closed_code_lists() -> None:
    data = professional_claim()
    del data["receiver"]
    data["subscriber"]["gender"] = "X"
    data["claimInformation"]["serviceLines"][0]["professionalService"]["measurementUnit"] = "DA"
    data["claimInformation"]["healthCareCodeInformation"] = []
    with pytest.raises(ValidationError) as caught:
        ProfessionalClaimRequest.model_validate(data)
    assert {(error["loc"], error["type"]) for error in caught.value.errors()} == {
        (("receiver",), "missing"),
        (("subscriber", "gender"), "literal_error"),
        (("claimInformation", "serviceLines", 0, "professionalService", "measurementUnit"), "literal_error"),
        (("claimInformation", "healthCareCodeInformation"), "too_short"),
    }


# --------------------------------------------------------------- responses


def test_eligibility_response_parses_optum_shape_and_keeps_unknown_fields() -> None:
    response = EligibilityResponse.model_validate(
        {
            "meta": {"traceId": "t-1", "applicationMode": "sandbox"},
            "controlNumber": "123456789",
            "tradingPartnerServiceId": "87726",
            "subscriber": {
                "memberId": "0000000001",
                "lastName": "DOE",
                "aaaErrors": [
                    {"code": "72", "description": "Invalid/Missing Subscriber/Insured ID", "followupAction": "Please Correct and Resubmit"}
                ],
            },
            "planStatus": [{"statusCode": "1", "status": "Active Coverage", "serviceTypeCodes": ["30"]}],
            "benefitsInformation": [
                {
                    "code": "B",
                    "name": "Co-Payment",
                    "serviceTypeCodes": ["98"],
                    "serviceTypes": ["Professional (Physician) Visit - Office"],
                    "timeQualifierCode": "27",
                    "timeQualifier": "Visit",
                    "benefitAmount": "25",
                    "inPlanNetworkIndicatorCode": "Y",
                    "additionalInformation": [{"description": "PRIMARY CARE"}],
                    "compositeMedicalProcedureIdentifier": {"productOrServiceIdQualifierCode": "HC", "procedureCode": "99213"},
                    "payerSpecificField": "kept",
                }
            ],
        }
    )
    assert response.subscriber is not None and response.subscriber.aaa_errors is not None
    assert response.subscriber.aaa_errors[0].code == "72"
    assert response.benefits_information is not None
    benefit = response.benefits_information[0]
    assert benefit.benefit_amount == "25"
    assert benefit.composite_medical_procedure_identifier is not None
    assert benefit.composite_medical_procedure_identifier.procedure_code == "99213"
    assert response.to_json()["benefitsInformation"][0]["payerSpecificField"] == "kept"


def test_ta1_fills_in_descriptions() -> None:
    ack = InterchangeAcknowledgment(
        interchange_control_number="000000905", interchange_date="240105", interchange_time="1230",
        acknowledgment_code="R", note_code="006",
    )  # fmt: skip
    assert ack.to_json() == {
        "interchangeControlNumber": "000000905",
        "interchangeDate": "240105",
        "interchangeTime": "1230",
        "acknowledgmentCode": "R",
        "acknowledgmentDescription": "The Transmitted Interchange Control Structure Header and Trailer are "
        "Rejected Because of Errors.",
        "noteCode": "006",
        "noteDescription": "Invalid Interchange Sender ID",
        "accepted": False,
    }


def test_999_fills_in_descriptions_at_every_level() -> None:
    ack = FunctionalAcknowledgment.model_validate(
        {
            "functionalIdentifierCode": "HC",
            "groupControlNumber": "1",
            "versionIdentifierCode": "005010X222A1",
            "functionalGroupAcknowledgeCode": "P",
            "numberOfTransactionSetsIncluded": 2,
            "numberOfReceivedTransactionSets": 2,
            "numberOfAcceptedTransactionSets": 1,
            "transactionSets": [
                {"transactionSetIdentifierCode": "837", "controlNumber": "0001", "acknowledgmentCode": "A"},
                {
                    "transactionSetIdentifierCode": "837",
                    "controlNumber": "0002",
                    "implementationConventionReference": "005010X222A1",
                    "acknowledgmentCode": "R",
                    "syntaxErrorCodes": ["5"],
                    "segmentErrors": [
                        {
                            "segmentId": "NM1",
                            "position": 21,
                            "loopId": "2010BA",
                            "errorCode": "8",
                            "elementErrors": [
                                {"position": 9, "dataElementReference": "67", "errorCode": "I12", "badValue": "x"}
                            ],
                        }
                    ],
                },
            ],
        }
    )
    assert ack.functional_group_acknowledge_description == "Partially Accepted, At Least One Transaction Set Was Rejected"
    assert ack.accepted is False
    accepted, rejected = ack.transaction_sets
    assert (accepted.accepted, accepted.acknowledgment_description) == (True, "Accepted")
    assert (rejected.accepted, rejected.syntax_error_descriptions) == (False, ["One or More Segments in Error"])
    segment = rejected.segment_errors[0]
    assert segment.error_description == "Segment Has Data Element Errors"
    assert segment.element_errors[0].error_description == "Implementation Pattern Match Failure"


def test_277ca_report_nesting_and_status_descriptions() -> None:
    report = ClaimAcknowledgmentReport.model_validate(
        {
            "transactions": [
                {
                    "controlNumber": "0001",
                    "transactionSetCreationDate": "20240106",
                    "payers": [
                        {
                            "organizationName": "EXAMPLE PAYER",
                            "claimStatusTransactions": [
                                {
                                    "claimStatusDetails": [
                                        {
                                            "serviceProvider": {"organizationName": "Clinic", "npi": "1234567893"},
                                            "patientClaimStatusDetails": [
                                                {
                                                    "subscriber": {"lastName": "DOE", "memberId": "0000000001"},
                                                    "claims": [
                                                        {
                                                            "claimStatus": {
                                                                "referencedTransactionTraceNumber": "PCN-1",
                                                                "tradingPartnerClaimNumber": "PAYER-CCN-1",
                                                                "informationClaimStatuses": [
                                                                    {
                                                                        "statusInformationEffectiveDate": "20240106",
                                                                        "totalClaimChargeAmount": "150",
                                                                        "informationStatuses": [
                                                                            {
                                                                                "healthCareClaimStatusCategoryCode": "A7",
                                                                                "statusCode": "562",
                                                                                "entityIdentifierCode": "85",
                                                                            }
                                                                        ],
                                                                    }
                                                                ],
                                                            }
                                                        }
                                                    ],
                                                }
                                            ],
                                        }
                                    ]
                                }
                            ],
                        }
                    ],
                }
            ]
        }
    )
    detail = report.transactions[0].payers[0].claim_status_transactions[0].claim_status_details[0]
    claim = detail.patient_claim_status_details[0].claims[0].claim_status
    status = claim.information_claim_statuses[0].information_statuses[0]
    assert claim.trading_partner_claim_number == "PAYER-CCN-1"
    assert status.health_care_claim_status_category_code_value is not None
    assert status.health_care_claim_status_category_code_value.startswith("Acknowledgement/Rejected for Invalid")
    assert status.status_code_value == "Entity's National Provider Identifier (NPI)"
    assert status.entity_identifier_code_value == "Billing Provider"


def test_835_report_payment_claims_and_adjustments() -> None:
    report = PaymentReport.model_validate(
        {
            "transactions": [
                {
                    "controlNumber": "1001",
                    "financialInformation": {
                        "transactionHandlingCode": "I",
                        "totalActualProviderPaymentAmount": "120.00",
                        "creditOrDebitFlagCode": "C",
                        "paymentMethodCode": "CHK",
                        "checkIssueOrEFTEffectiveDate": "20240120",
                    },
                    "paymentAndRemitReassociationDetails": {"traceTypeCode": "1", "checkOrEFTTraceNumber": "CHK123"},
                    "payer": {"name": "EXAMPLE PAYER"},
                    "payee": {"name": "Clinic", "npi": "1234567893"},
                    "detailInfo": [
                        {
                            "assignedNumber": "1",
                            "paymentInfo": [
                                {
                                    "claimPaymentInfo": {
                                        "patientControlNumber": "PCN-1",
                                        "claimStatusCode": "1",
                                        "totalClaimChargeAmount": "150.00",
                                        "claimPaymentAmount": "120.00",
                                        "patientResponsibilityAmount": "25.00",
                                        "payerClaimControlNumber": "PAYER-CCN-1",
                                    },
                                    "claimAdjustments": [
                                        {"claimAdjustmentGroupCode": "PR", "adjustmentReasonCode1": "3", "adjustmentAmount1": "25.00"}
                                    ],
                                    "serviceLines": [
                                        {
                                            "serviceDate": "20240105",
                                            "servicePaymentInformation": {
                                                "productOrServiceIDQualifier": "HC",
                                                "adjudicatedProcedureCode": "99213",
                                                "lineItemChargeAmount": "150.00",
                                                "lineItemProviderPaymentAmount": "120.00",
                                            },
                                            "serviceAdjustments": [
                                                {"claimAdjustmentGroupCode": "CO", "adjustmentReasonCode1": "45", "adjustmentAmount1": "5.00"}
                                            ],
                                            "lineItemControlNumber": "LINE-1",
                                        }
                                    ],
                                }
                            ],
                        }
                    ],
                    "providerAdjustments": [
                        {"providerIdentifier": "1234567893", "fiscalPeriodDate": "20241231", "adjustments": [{"adjustmentReasonCode": "WO", "providerAdjustmentAmount": "-10.00"}]}
                    ],
                }
            ]
        }
    )
    transaction = report.transactions[0]
    assert transaction.financial_information is not None
    assert transaction.financial_information.payment_method_code_value == "Check"
    assert transaction.financial_information.check_issue_or_eft_effective_date == "20240120"
    assert transaction.payment_and_remit_reassociation_details is not None
    assert transaction.payment_and_remit_reassociation_details.check_or_eft_trace_number == "CHK123"
    payment = transaction.detail_info[0].payment_info[0]
    assert payment.claim_payment_info.claim_status_code_value == "Processed as Primary"
    assert payment.claim_adjustments[0].claim_adjustment_group_code_value == "Patient Responsibility"
    line_adjustment = payment.service_lines[0].service_adjustments[0]
    assert (line_adjustment.claim_adjustment_group_code_value, line_adjustment.adjustment_amount1) == (
        "Contractual Obligations",
        "5.00",
    )
    dumped = report.to_json()["transactions"][0]
    assert dumped["paymentAndRemitReassociationDetails"]["checkOrEFTTraceNumber"] == "CHK123"
    assert dumped["financialInformation"]["checkIssueOrEFTEffectiveDate"] == "20240120"
    assert transaction.provider_adjustments[0].adjustments[0].provider_adjustment_amount == "-10.00"


def test_claim_status_response_fills_in_descriptions() -> None:
    response = ClaimStatusResponse.model_validate(
        {
            "controlNumber": "123456789",
            "claims": [
                {
                    "claimStatus": {
                        "statusCategoryCode": "F1",
                        "statusCode": "65",
                        "entityCode": "PR",
                        "amountPaid": "109.20",
                        "tradingPartnerClaimNumber": "PAYER-CCN-9",
                    },
                    "serviceDetails": [{"procedureCode": "90837", "status": [{"statusCategoryCode": "F2"}]}],
                }
            ],
        }
    )
    status = response.claims[0].claim_status
    assert status.status_category_code_value == "Finalized/Payment - The claim/line has been paid."
    assert status.status_code_value == "Claim/line has been paid."
    assert status.entity == "Payer"
    assert response.claims[0].service_details[0].status[0].status_category_code_value == (
        "Finalized/Denial - The claim/line has been denied."
    )


def test_mapper_supplied_descriptions_are_not_overwritten() -> None:
    ack = InterchangeAcknowledgment(
        interchange_control_number="1", acknowledgment_code="A", acknowledgment_description="custom"
    )
    assert ack.acknowledgment_description == "custom"
    assert ack.note_description is None


# ------------------------------------------------------------------ codes


def test_code_tables() -> None:
    assert len(SERVICE_TYPE_CODES) == 187
    assert SERVICE_TYPE_CODES["30"] == "Health Benefit Plan Coverage"
    assert "29" not in SERVICE_TYPE_CODES and "31" not in SERVICE_TYPE_CODES
    assert PLACE_OF_SERVICE_CODES["11"] == "Office"
    assert {"28", "29", "30", "00", "98"}.isdisjoint(PLACE_OF_SERVICE_CODES)
    assert len(STATE_CODES) == 61 and "PW" not in STATE_CODES and {"DC", "PR", "GU", "VI", "AS", "MP", "AA", "AE", "AP"} <= set(STATE_CODES)
    assert sorted(TA1_NOTE_CODES) == [f"{n:03d}" for n in range(32)]
    assert describe(SERVICE_TYPE_CODES, "UC") == "Urgent Care"
    assert describe(SERVICE_TYPE_CODES, "??") is None
    assert describe(SERVICE_TYPE_CODES, None) is None
    with pytest.raises(TypeError):
        SERVICE_TYPE_CODES["ZZ"] = "changed"  # type: ignore[index]


# ------------------------------------------------------------- public API


def _modules(package: Any) -> list[Any]:
    names = [f"{package.__name__}.{info.name}" for info in pkgutil.iter_modules(package.__path__)]
    return [package] + [importlib.import_module(name) for name in names]


@pytest.mark.parametrize("module", _modules(edi.models) + _modules(edi.codes), ids=lambda m: m.__name__)
def test_every_module_says_why_and_exports_explicitly(module: Any) -> None:
    assert module.__doc__ and len(module.__doc__.strip()) > 40
    assert isinstance(module.__all__, list) and module.__all__
    for name in module.__all__:
        assert hasattr(module, name), name


def test_top_level_models() -> None:
    assert set(edi.models.__all__) == {
        "ClaimAcknowledgmentReport",
        "ClaimStatusResponse",
        "EligibilityRequest",
        "EligibilityResponse",
        "FunctionalAcknowledgment",
        "InstitutionalClaimRequest",
        "InterchangeAcknowledgment",
        "PaymentReport",
        "ProfessionalClaimRequest",
        "RequestModel",
        "ResponseModel",
    }
