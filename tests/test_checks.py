"""Request checks: every problem of a bad request comes back at once, each at its exact JSON path."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edi.checks import (
    CPT_PATTERN,
    HCPCS_PATTERN,
    ICD10_CM_PATTERN,
    MAX_CLAIMS_PER_TRANSACTION,
    Problem,
    check_claim_batch,
    check_eligibility_request,
    check_institutional_claim,
    check_professional_claim,
    npi_is_valid,
    validate_request,
)
from edi.models import EligibilityRequest, InstitutionalClaimRequest, ProfessionalClaimRequest

TODAY = date(2024, 6, 1)


def address() -> dict[str, Any]:
    return {"address1": "2 Oak St", "city": "Springfield", "state": "IL", "postalCode": "627011234"}


def professional_line(charge: str = "100.00", pointers: list[str] | None = None) -> dict[str, Any]:
    return {
        "serviceDate": "20240105",
        "professionalService": {
            "procedureIdentifier": "HC",
            "procedureCode": "99213",
            "lineItemChargeAmount": charge,
            "measurementUnit": "UN",
            "serviceUnitCount": "1",
            "compositeDiagnosisCodePointers": {"diagnosisCodePointers": pointers or ["1"]},
        },
    }


def professional_claim() -> dict[str, Any]:
    return {
        "controlNumber": "000000001",
        "tradingPartnerServiceId": "9496",
        "submitter": {
            "organizationName": "Billing Service",
            "contactInformation": {"name": "Help Desk", "phoneNumber": "5555551234"},
        },
        "receiver": {"organizationName": "Example Payer"},
        "subscriber": {
            "memberId": "0000000001",
            "paymentResponsibilityLevelCode": "P",
            "firstName": "JOHN",
            "lastName": "DOE",
            "gender": "M",
            "dateOfBirth": "19800102",
            "address": address(),
        },
        "billing": {
            "providerType": "BillingProvider",
            "npi": "1234567893",
            "employerId": "123456789",
            "organizationName": "Clinic",
            "address": address(),
        },
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
            "healthCareCodeInformation": [
                {"diagnosisTypeCode": "ABK", "diagnosisCode": "E119"},
                {"diagnosisTypeCode": "ABF", "diagnosisCode": "I10"},
            ],
            "serviceLines": [professional_line("100.00", ["1", "2"]), professional_line("50", ["1"])],
        },
    }


def institutional_claim() -> dict[str, Any]:
    claim = professional_claim()
    claim["claimInformation"] = {
        "claimFilingCode": "MA",
        "patientControlNumber": "PCN-2",
        "claimChargeAmount": "300.00",
        "placeOfServiceCode": "13",
        "claimFrequencyCode": "1",
        "planParticipationCode": "A",
        "benefitsAssignmentCertificationIndicator": "Y",
        "releaseInformationCode": "Y",
        "claimCodeInformation": {"admissionTypeCode": "3", "admissionSourceCode": "1", "patientStatusCode": "01"},
        "claimDateInformation": {"statementBeginDate": "20240105", "statementEndDate": "20240106"},
        "principalDiagnosis": {"qualifierCode": "ABK", "principalDiagnosisCode": "J189"},
        "otherDiagnosisInformationList": [{"qualifierCode": "ABF", "otherDiagnosisCode": "E11.9"}],
        "serviceLines": [
            {
                "serviceDate": "20240105",
                "institutionalService": {
                    "serviceLineRevenueCode": "0450",
                    "procedureIdentifier": "HC",
                    "procedureCode": "99284",
                    "lineItemChargeAmount": "200.00",
                    "measurementUnit": "UN",
                    "serviceUnitCount": "1",
                },
            },
            {
                "institutionalService": {
                    "serviceLineRevenueCode": "0300",
                    "lineItemChargeAmount": "100",
                    "measurementUnit": "UN",
                    "serviceUnitCount": "2",
                },
            },
        ],
    }
    return claim


def eligibility_request() -> dict[str, Any]:
    return {
        "controlNumber": "123456789",
        "tradingPartnerServiceId": "87726",
        "provider": {"organizationName": "Clinic", "npi": "1234567893"},
        "subscriber": {"memberId": "0000000001", "firstName": "JOHN", "lastName": "DOE", "dateOfBirth": "19800102"},
        "encounter": {"serviceTypeCodes": ["30"], "dateOfService": "20240105"},
    }


def paths(problems: list[Problem]) -> list[str]:
    return [problem.path for problem in problems]


# ------------------------------------------------------------------- NPI


@pytest.mark.parametrize("npi", ["1234567893", "1999999984", "1760854442"])
def test_valid_npis(npi: str) -> None:
    assert npi_is_valid(npi)


@pytest.mark.parametrize("npi", ["1234567890", "1234567894", "123456789", "12345678931", "12345678A3", ""])
def test_invalid_npis(npi: str) -> None:
    assert not npi_is_valid(npi)


@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_exactly_one_check_digit_makes_an_npi_valid(stem: str) -> None:
    valid = [digit for digit in "0123456789" if npi_is_valid(stem + digit)]
    assert len(valid) == 1


# --------------------------------------------------------------- formats


@pytest.mark.parametrize("code", ["E119", "E11.9", "I10", "S72001A", "S72.001A", "Z3A01", "U071"])
def test_icd10_accepts(code: str) -> None:
    assert ICD10_CM_PATTERN.match(code)


@pytest.mark.parametrize("code", ["E1", "119", "E11.", "E11..9", "e119", "E1190000", "EE19"])
def test_icd10_rejects(code: str) -> None:
    assert not ICD10_CM_PATTERN.match(code)


def test_procedure_code_patterns() -> None:
    assert CPT_PATTERN.match("99213") and CPT_PATTERN.match("0001U") and CPT_PATTERN.match("1234F")
    assert HCPCS_PATTERN.match("G0439") and HCPCS_PATTERN.match("J1100")
    assert not CPT_PATTERN.match("9921") and not HCPCS_PATTERN.match("W1234") and not HCPCS_PATTERN.match("G043")


# ------------------------------------------------------------ valid input


def test_valid_professional_claim_has_no_problems() -> None:
    model, problems = validate_request("professional", professional_claim(), today=TODAY)
    assert problems == []
    assert isinstance(model, ProfessionalClaimRequest)
    assert model.claim_information.service_lines[1].professional_service.line_item_charge_amount == "50"


def test_valid_institutional_claim_has_no_problems() -> None:
    model, problems = validate_request("institutional", institutional_claim(), today=TODAY)
    assert problems == []
    assert isinstance(model, InstitutionalClaimRequest)


def test_valid_eligibility_request_has_no_problems() -> None:
    model, problems = validate_request("eligibility", eligibility_request(), today=TODAY)
    assert problems == []
    assert isinstance(model, EligibilityRequest)


def test_billing_provider_may_come_from_providers_list() -> None:
    claim = professional_claim()
    claim["providers"] = [claim.pop("billing")]
    claim["providers"][0]["npi"] = "1234567890"
    assert paths(check_professional_claim(claim, today=TODAY)) == ["providers[0].npi"]


# --------------------------------------------------- everything at once


def test_bad_professional_claim_reports_every_problem_at_once() -> None:
    claim = professional_claim()
    claim["subscriber"]["memberId"] = 12345  # wrong type
    del claim["claimInformation"]["claimFilingCode"]  # missing required field
    claim["billing"]["npi"] = "1234567890"  # bad check digit
    claim["submitter"]["contactInfo"] = {}  # unknown field (typo)
    lines = [professional_line("10.00") for _ in range(51)]  # 51 lines adding up to 510.00, not 150.00
    lines[2]["professionalService"]["compositeDiagnosisCodePointers"]["diagnosisCodePointers"] = ["1", "3"]
    lines[4]["serviceDateEnd"] = "20240101"  # before serviceDate 20240105
    lines[5]["professionalService"]["serviceUnitCount"] = "one"  # not a number
    lines[6]["serviceDate"] = "20240230"  # no such day
    claim["claimInformation"]["serviceLines"] = lines

    model, problems = validate_request("professional", claim, today=TODAY)

    assert model is None
    assert [(p.path, p.message) for p in problems] == [
        ("submitter.contactInfo", "is not a field of this request (check the spelling)"),
        ("subscriber.memberId", "must be a string"),
        ("claimInformation.claimFilingCode", "is required"),
        (
            "claimInformation.serviceLines[5].professionalService.serviceUnitCount",
            "does not have the expected format ^\\d{1,10}(\\.\\d{1,3})?$",
        ),
        ("claimInformation.serviceLines[6].serviceDate", "is not a real calendar date in YYYYMMDD form"),
        (
            "claimInformation.claimChargeAmount",
            "is 150.00 but the service line charges add up to 510.00 (they must be equal)",
        ),
        (
            "claimInformation.serviceLines",
            "an 837P claim may have at most 50 service lines (got 51): split the claim",
        ),
        (
            "claimInformation.serviceLines[2].professionalService.compositeDiagnosisCodePointers"
            ".diagnosisCodePointers[1]",
            "points at diagnosis 3 but the claim has 2",
        ),
        ("claimInformation.serviceLines[4].serviceDateEnd", "is before serviceDate"),
        ("billing.npi", "is not a valid NPI: 10 digits whose check digit must match (Luhn)"),
    ]


def test_unbalanced_charges_are_reported_with_both_amounts() -> None:
    claim = professional_claim()
    claim["claimInformation"]["claimChargeAmount"] = "150.01"
    problems = check_professional_claim(claim, today=TODAY)
    assert problems == [
        Problem(
            "claimInformation.claimChargeAmount",
            "is 150.01 but the service line charges add up to 150.00 (they must be equal)",
        )
    ]


def test_balancing_uses_exact_decimals() -> None:
    claim = professional_claim()
    claim["claimInformation"]["claimChargeAmount"] = "0.30"
    claim["claimInformation"]["serviceLines"] = [professional_line("0.10"), professional_line("0.20")]
    assert check_professional_claim(claim, today=TODAY) == []


def test_bad_eligibility_request_reports_every_problem_at_once() -> None:
    request = eligibility_request()
    request["controlNumber"] = "12345"  # not nine digits
    request["provider"] = {"npi": "1234567890"}  # no name, bad NPI
    request["subscriber"]["dateOfBirth"] = "20250101"  # in the future
    request["dependents"] = [
        {"firstName": "JANE", "lastName": "DOE", "dateOfBirth": "20100101", "individualRelationshipCode": "19"},
        {"firstName": "JIM", "lastName": "DOE", "dateOfBirth": "20120101", "gender": "X"},
    ]
    request["encounter"] = {
        "serviceTypeCodes": ["30", "ZZ"],
        "beginningDateOfService": "20240110",
        "endDateOfService": "20240101",
    }

    model, problems = validate_request("eligibility", request, today=TODAY)

    assert model is None
    assert [(p.path, p.message) for p in problems] == [
        ("controlNumber", "does not have the expected format ^\\d{9}$"),
        ("dependents[1].gender", "must be one of 'M', 'F' or 'U'"),
        ("provider", "needs organizationName, or lastName for a person"),
        ("dependents", "a real-time 270 asks about one patient: send one request per dependent (got 2)"),
        ("subscriber.dateOfBirth", "is in the future"),
        ("encounter.endDateOfService", "is before beginningDateOfService"),
        ("encounter.serviceTypeCodes[1]", "is not a service type code (X12 list 1365)"),
        ("provider.npi", "is not a valid NPI: 10 digits whose check digit must match (Luhn)"),
    ]


def test_birth_date_after_service_date() -> None:
    request = eligibility_request()
    request["subscriber"]["dateOfBirth"] = "20240106"
    assert check_eligibility_request(request, today=TODAY) == [
        Problem("subscriber.dateOfBirth", "is after the date of service")
    ]


def test_eligibility_subscriber_needs_member_id_or_name_and_birth_date() -> None:
    request = eligibility_request()
    del request["subscriber"]["memberId"]
    assert check_eligibility_request(request, today=TODAY) == []
    del request["subscriber"]["dateOfBirth"]
    assert paths(check_eligibility_request(request, today=TODAY)) == ["subscriber.memberId"]


def test_bad_institutional_claim_reports_every_problem_at_once() -> None:
    claim = institutional_claim()
    information = claim["claimInformation"]
    information["claimDateInformation"] = {
        "statementBeginDate": "20240110",
        "statementEndDate": "20240105",
        "admissionDateAndHour": "202401102500",
    }
    information["principalDiagnosis"]["principalDiagnosisCode"] = "1189"
    information["serviceLines"][0]["institutionalService"]["procedureCode"] = "X1234"
    information["claimFrequencyCode"] = "7"
    claim["dependent"] = {
        "lastName": "DOE",
        "gender": "F",
        "dateOfBirth": "20240111",
        "relationshipToSubscriberCode": "19",
    }

    model, problems = validate_request("institutional", claim, today=TODAY)

    assert model is None
    assert [(p.path, p.message) for p in problems] == [
        (
            "claimInformation.claimSupplementalInformation.claimControlNumber",
            "is required to replace (frequency 7) or void (frequency 8) a claim: "
            "give the payer claim control number of the original",
        ),
        ("claimInformation.claimDateInformation.statementEndDate", "is before statementBeginDate"),
        (
            "claimInformation.claimDateInformation.admissionDateAndHour",
            "is not a real date and time in YYYYMMDDHHMM form",
        ),
        (
            "claimInformation.principalDiagnosis.principalDiagnosisCode",
            "is not an ICD-10-CM diagnosis code (for example E119 or E11.9)",
        ),
        (
            "claimInformation.serviceLines[0].institutionalService.procedureCode",
            "is not a CPT (5 characters) or HCPCS (letter and 4 digits) code",
        ),
        ("dependent.dateOfBirth", "is after the date of service"),
    ]


def test_institutional_allows_999_lines_not_1000() -> None:
    claim = institutional_claim()
    line = claim["claimInformation"]["serviceLines"][1]
    claim["claimInformation"]["serviceLines"] = [copy.deepcopy(line) for _ in range(999)]
    claim["claimInformation"]["claimChargeAmount"] = "99900"
    assert check_institutional_claim(claim, today=TODAY) == []
    claim["claimInformation"]["serviceLines"].append(copy.deepcopy(line))
    claim["claimInformation"]["claimChargeAmount"] = "100000"
    assert paths(check_institutional_claim(claim, today=TODAY)) == ["claimInformation.serviceLines"]


def test_missing_billing_provider_and_patient_demographics() -> None:
    claim = professional_claim()
    del claim["billing"]
    del claim["subscriber"]["gender"]
    assert paths(check_professional_claim(claim, today=TODAY)) == ["billing", "subscriber.gender"]


def test_principal_diagnosis_must_come_first_and_codes_must_be_icd10() -> None:
    claim = professional_claim()
    claim["claimInformation"]["healthCareCodeInformation"] = [
        {"diagnosisTypeCode": "ABF", "diagnosisCode": "I10"},
        {"diagnosisTypeCode": "ABK", "diagnosisCode": "25000"},
    ]
    assert check_professional_claim(claim, today=TODAY) == [
        Problem(
            "claimInformation.healthCareCodeInformation[0].diagnosisTypeCode",
            "the first diagnosis must be the principal one (ABK)",
        ),
        Problem(
            "claimInformation.healthCareCodeInformation[1].diagnosisTypeCode",
            "only the first diagnosis may be principal: use ABF",
        ),
        Problem(
            "claimInformation.healthCareCodeInformation[1].diagnosisCode",
            "is not an ICD-10-CM diagnosis code (for example E119 or E11.9)",
        ),
    ]


def test_place_of_service_state_and_auto_accident() -> None:
    claim = professional_claim()
    claim["claimInformation"]["placeOfServiceCode"] = "28"  # not assigned by CMS
    claim["claimInformation"]["relatedCausesCode"] = ["AA"]
    claim["subscriber"]["address"]["state"] = "XX"
    claim["claimInformation"]["serviceLines"][0]["professionalService"]["placeOfServiceCode"] = "00"
    assert paths(check_professional_claim(claim, today=TODAY)) == [
        "claimInformation.placeOfServiceCode",
        "claimInformation.autoAccidentStateCode",
        "claimInformation.serviceLines[0].professionalService.placeOfServiceCode",
        "subscriber.address.state",
    ]


@pytest.mark.parametrize("state", ["DC", "PR", "GU", "VI", "AA", "AE", "AP"])
def test_territories_and_military_states_are_accepted(state: str) -> None:
    claim = professional_claim()
    claim["subscriber"]["address"]["state"] = state
    assert check_professional_claim(claim, today=TODAY) == []


def test_schema_problem_hides_the_same_check_problem() -> None:
    claim = professional_claim()
    claim["claimInformation"]["serviceLines"][0]["serviceDate"] = "2024-01-05"
    _, problems = validate_request("professional", claim, today=TODAY)
    assert [(p.path, p.message) for p in problems] == [
        (
            "claimInformation.serviceLines[0].serviceDate",
            "does not have the expected format ^\\d{4}(0[1-9]|1[0-2])(0[1-9]|[12]\\d|3[01])$",
        )
    ]


def test_messages_do_not_repeat_request_values() -> None:
    claim = professional_claim()
    claim["subscriber"]["memberId"] = ["SECRET-ID"]
    claim["subscriber"]["dateOfBirth"] = "20990101"
    claim["subscriber"]["lastName"] = "X" * 61
    _, problems = validate_request("professional", claim, today=TODAY)
    assert problems
    for problem in problems:
        assert "SECRET" not in problem.message and "2099" not in problem.message and "XXX" not in problem.message


def test_validate_request_handles_non_objects() -> None:
    model, problems = validate_request("eligibility", ["not", "an", "object"], today=TODAY)
    assert model is None
    assert problems == [Problem("", "must be an object")]


def test_problem_as_response_error() -> None:
    error = Problem("provider.npi", "is not valid").to_response_error()
    assert error.to_json() == {
        "field": "provider.npi",
        "description": "is not valid",
        "followupAction": "Please Correct and Resubmit",
    }


# ----------------------------------------------------------------- batches


def test_batch_over_5000_claims_is_a_problem() -> None:
    claim = professional_claim()
    claims = [claim] * (MAX_CLAIMS_PER_TRANSACTION + 1)
    problems = check_claim_batch(claims, "professional", today=TODAY)
    assert problems == [
        Problem("", "a transaction set may carry at most 5000 claims (got 5001): split the batch"),
    ]


def test_batch_prefixes_claim_problems_with_their_index() -> None:
    bad = professional_claim()
    bad["billing"]["npi"] = "1234567890"
    problems = check_claim_batch([professional_claim(), bad], "professional", today=TODAY)
    assert problems == [
        Problem("[1].billing.npi", "is not a valid NPI: 10 digits whose check digit must match (Luhn)")
    ]


def test_unknown_request_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown request kind 'dental'"):
        validate_request("dental", {}, today=TODAY)  # type: ignore[call-overload]
