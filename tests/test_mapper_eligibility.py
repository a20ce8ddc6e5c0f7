"""Tests for edi/mappers/eligibility.py: EligibilityRequest <-> 270 and 271 -> EligibilityResponse.

Every 270 the mapper writes must pass the project's own validator without a single finding, and read
back (`x12_270_to_requests`) to the request it came from. The only normalisations are those the 270
cannot carry (see `x12_form`). The 271 samples are converted and asserted field by field.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edi.checks import check_eligibility_request, npi_is_valid
from edi.codes import SERVICE_TYPE_CODES, STATE_CODES
from edi.mappers import eligibility
from edi.mappers.eligibility import (
    NotRepresentable,
    request_to_270,
    x12_270_to_requests,
    x12_271_to_responses,
)
from edi.mappers.envelope import Envelope
from edi.mappers.x12tree import read_transactions
from edi.models.eligibility import EligibilityRequest, EligibilityResponse
from edi.x12.validator import validate

FIXTURES = Path(__file__).parent / "fixtures" / "x12"
SAMPLE_270 = FIXTURES / "270_005010X279A1" / "subscriber-health-benefit-check.270"
SAMPLE_271 = FIXTURES / "271_005010X279A1" / "subscriber-health-benefit-check.271"
SAMPLE_271_ERROR = FIXTURES / "271_005010X279A1" / "subscriber-health-benefit-check-error.271"

EB_SERVICE_TYPES = ["1", "33", "35", "47", "86", "88", "98", "AL", "MH", "UC"]
EB_SERVICE_TYPE_NAMES = [
    "Medical Care",
    "Chiropractic",
    "Dental Care",
    "Hospital",
    "Emergency Services",
    "Pharmacy",
    "Professional (Physician) Visit - Office",
    "Vision (Optometry)",
    "Mental Health",
    "Urgent Care",
]
NOW = datetime(2024, 3, 5, 14, 7)


def envelope(**overrides) -> Envelope:
    values = dict(
        sender_id="SUBMITTER01",
        receiver_id="PAYER01",
        interchange_control_number=123456789,
        group_control_number=4711,
        transaction_control_number=42,
        now=NOW,
    )
    values.update(overrides)
    return Envelope(**values)


def errors_of(text: str) -> list:
    report = validate(text.encode())
    return [f for f in report.all_findings() if f.severity == "error"], report


def assert_clean(text: str) -> None:
    errors, report = errors_of(text)
    assert errors == [], [str(e) for e in errors]
    assert report.accepted
    assert list(report.all_findings()) == []


def segments(text: str) -> list[list[str]]:
    return [s.strip().split("*") for s in text.split("~") if s.strip()]


def body_of(text: str) -> list[str]:
    """The transaction-set segments between ST and SE, as text."""
    lines = [s.strip() for s in text.split("~") if s.strip()]
    start = next(i for i, s in enumerate(lines) if s.startswith("ST*"))
    end = next(i for i, s in enumerate(lines) if s.startswith("SE*"))
    return lines[start + 1 : end]


def x12_271(body: str, control: str = "0001") -> bytes:
    seg = [s for s in body.strip().split("\n") if s]
    return (
        "ISA*00*          *00*          *ZZ*ACME           *ZZ*SUBMITTER      *240102*0304*^*00501*000000031*0*P*:~\n"
        "GS*HB*ACME*SUBMITTER*20240102*0304*31*X*005010X279A1~\n"
        f"ST*271*{control}*005010X279A1~\n" + "~\n".join(seg) + f"~\nSE*{len(seg) + 2}*{control}~\n"
        "GE*1*31~\nIEA*1*000000031~\n"
    ).encode()


# ============================================================================ 271 samples


def test_271_sample_one_response_per_subscriber():
    responses = x12_271_to_responses(SAMPLE_271)
    assert len(responses) == 1
    r = responses[0]
    assert isinstance(r, EligibilityResponse)
    # TRN*2*93175-012547*9877281234: the trace the 270 sent comes back as the control number
    assert r.control_number == "93175-012547"
    assert r.trading_partner_service_id == "841610001"
    assert r.errors is None
    [trace] = r.subscriber_trace_numbers
    assert trace.trace_type_code == "2"
    assert trace.trace_type == "Referenced Transaction Trace Numbers"
    assert trace.reference_identification == "93175-012547"
    assert trace.originating_company_identifier == "9877281234"


def test_271_sample_payer_and_provider():
    r = x12_271_to_responses(SAMPLE_271)[0]
    assert r.payer.name == "ABC COMPANY"
    assert r.payer.payor_identification == "841610001"
    assert r.payer.entity_identifier == "Payer"
    assert r.payer.entity_type == "Non-Person Entity"
    assert r.payer.aaa_errors is None
    p = r.provider
    assert p.provider_name == "BONE AND JOIN CLINIC"
    assert p.provider_org_name == "BONE AND JOIN CLINIC"
    assert p.provider_first_name is None
    assert p.entity_identifier == "Provider"
    assert p.entity_type == "Non-Person Entity"
    assert p.service_provider_number == "2000035"
    assert p.npi is None  # NM108 SV: the sample names the provider by service provider number


def test_271_sample_subscriber():
    s = x12_271_to_responses(SAMPLE_271)[0].subscriber
    assert s.member_id == "123456789"
    assert s.last_name == "SMITH"
    assert s.first_name == "JOHN"
    assert s.middle_name is None
    assert s.date_of_birth == "19630519"
    assert s.gender == "M"
    assert s.entity_identifier == "Insured or Subscriber"
    assert s.entity_type == "Person"
    assert s.address.address1 == "15197 BROADWAY AVENUE"
    assert s.address.address2 == "APT 215"
    assert s.address.city == "KANSAS CITY"
    assert s.address.state == "MO"
    assert s.address.postal_code == "64108"
    assert s.aaa_errors is None


def test_271_sample_plan_dates_and_status():
    r = x12_271_to_responses(SAMPLE_271)[0]
    assert r.plan_date_information.to_json() == {"planBegin": "20060101"}  # DTP*346
    assert r.plan_information is None  # no REF in 2100C
    assert r.dependents is None
    assert [s.to_json() for s in r.plan_status] == [
        {
            "statusCode": "1",
            "status": "Active Coverage",
            "planDetails": "GOLD 123 PLAN",
            "serviceTypeCodes": ["30"],
        },
        {"statusCode": "1", "status": "Active Coverage", "serviceTypeCodes": EB_SERVICE_TYPES},
    ]


def test_271_sample_benefits():
    benefits = x12_271_to_responses(SAMPLE_271)[0].benefits_information
    assert len(benefits) == 5

    # EB*1**30**GOLD 123 PLAN
    b = benefits[0]
    assert (b.code, b.name) == ("1", "Active Coverage")
    assert b.service_type_codes == ["30"]
    assert b.service_types == ["Health Benefit Plan Coverage"]
    assert b.plan_coverage == "GOLD 123 PLAN"
    assert b.coverage_level_code is None and b.insurance_type_code is None

    # EB*L + LS/NM1*P3/LE: primary care provider
    b = benefits[1]
    assert (b.code, b.name) == ("L", "Primary Care Provider")
    assert b.service_type_codes is None
    assert b.header_loop_identifier_code == "2120"
    assert b.trailer_loop_identifier_code == "2120"
    [pcp] = b.benefits_related_entities
    assert pcp.entity_identifier == "Primary Care Provider"
    assert pcp.entity_type == "Person"
    assert pcp.entity_name == "JONES"
    assert pcp.entity_firstname == "MARCUS"
    assert pcp.entity_identification == "SV"
    assert pcp.entity_identification_value == "0202034"

    # EB*1**1^33^35^47^86^88^98^AL^MH^UC: all ten repetitions of EB03
    b = benefits[2]
    assert (b.code, b.name) == ("1", "Active Coverage")
    assert b.service_type_codes == EB_SERVICE_TYPES
    assert b.service_types == EB_SERVICE_TYPE_NAMES

    # EB*B**...*HM*GOLD 123 PLAN*27*10.00*****Y and the out-of-network 30.00 (N)
    for b, amount, network, network_name in (
        (benefits[3], "10.00", "Y", "Yes"),
        (benefits[4], "30.00", "N", "No"),
    ):
        assert (b.code, b.name) == ("B", "Co-Payment")
        assert b.service_type_codes == EB_SERVICE_TYPES
        assert b.service_types == EB_SERVICE_TYPE_NAMES
        assert b.insurance_type_code == "HM"
        assert b.insurance_type == "Health Maintenance Organization (HMO)"
        assert b.plan_coverage == "GOLD 123 PLAN"
        assert b.time_qualifier_code == "27"
        assert b.time_qualifier == "Visit"
        assert b.benefit_amount == amount
        assert b.benefit_percent is None
        assert b.in_plan_network_indicator_code == network
        assert b.in_plan_network_indicator == network_name
        assert b.auth_or_cert_indicator is None
        assert b.additional_information is None


def test_271_error_sample_aaa():
    [r] = x12_271_to_responses(SAMPLE_271_ERROR)
    assert r.control_number == "10001234"  # no TRN (no subscriber level): BHT03
    assert r.trading_partner_service_id == "842610001"
    assert r.payer.name == "ABC COMPANY"
    assert r.payer.payor_identification == "842610001"
    assert r.provider.provider_org_name == "BONE AND JOIN CLINIC"
    assert r.provider.service_provider_number == "2000035"
    assert r.subscriber is None
    assert r.benefits_information is None
    expected = {
        "field": "AAA",
        "code": "50",
        "description": "Provider Ineligible for Inquiries",
        "followupAction": "Resubmission Not Allowed",  # AAA04 N
        "location": "Loop 2100B",
    }
    assert [e.to_json() for e in r.errors] == [expected]
    assert [e.to_json() for e in r.provider.aaa_errors] == [expected]
    assert r.payer.aaa_errors is None


def test_271_json_is_camel_case():
    data = x12_271_to_responses(SAMPLE_271)[0].to_json()
    assert data["subscriber"]["memberId"] == "123456789"
    assert data["benefitsInformation"][3]["inPlanNetworkIndicatorCode"] == "Y"
    assert data["planDateInformation"] == {"planBegin": "20060101"}
    assert EligibilityResponse.model_validate(data) == x12_271_to_responses(SAMPLE_271)[0]


# ============================================================================ 271, richer answer

RICH_271 = """
BHT*0022*11*SUBMIT77*20240102*0304
HL*1**20*1
NM1*PR*2*ACME HEALTH*****PI*ACME01
PER*IC*PROVIDER SERVICES*TE*8005551212*UR*WWW.ACME.EXAMPLE
HL*2*1*21*1
NM1*1P*1*WELBY*MARCUS****XX*1234567893
REF*TJ*123456789
HL*3*2*22*1
NM1*IL*1*DOE*JOHN*Q***MI*W123456789
REF*6P*GRP0001*ACME GOLD GROUP
REF*18*PLAN77*GOLD PPO
N3*1 MAIN ST
N4*SPRINGFIELD*IL*62701
DMG*D8*19700101*M
INS*Y*18*001*25
DTP*346*D8*20240101
HL*4*3*23*0
TRN*2*123456789*9SUBMITTER
TRN*1*PAYERTRACE*1999999999
NM1*03*1*DOE*JANE*A
REF*1L*POL555
REF*SY*987654321
N3*1 MAIN ST*UNIT 2
N4*SPRINGFIELD*IL*627011234
DMG*D8*20100202*F
INS*N*19
DTP*291*RD8*20240101-20241231
DTP*356*D8*20240101
EB*1*FAM*30^1^33*PR*ACME GOLD PPO
DTP*291*RD8*20240101-20241231
EB*C*IND*30*PR**23*500.00*****Y
MSG*DEDUCTIBLE APPLIES TO IN-NETWORK SERVICES
MSG*RESETS EACH CALENDAR YEAR
EB*A*IND*30*PR**27**0.2****N
EB*F*IND*AD*PR**22***VS*20*Y*Y*HC:97110:GP
HSD*VS*20***22
REF*G1*AUTH123
DTP*348*D8*20240101
AAA*Y**AG*C
MSG*PHYSICAL THERAPY LIMIT
III*ZZ*11
EB*L
LS*2120
NM1*P3*1*JONES*MARCUS****XX*1234567893*72
N3*10 CLINIC RD
N4*SPRINGFIELD*IL*62702
PER*IC**TE*2175550000*EX*12
PRV*PE*PXC*207Q00000X
LE*2120
HL*5*2*22*0
TRN*2*000000042*9SUBMITTER
NM1*IL*1*ROE*RICHARD****MI*X999
AAA*Y**72*C
DMG*D8*19800303
"""


@pytest.fixture(scope="module")
def rich() -> list[EligibilityResponse]:
    return x12_271_to_responses(x12_271(RICH_271))


def test_rich_271_is_valid_x12():
    assert_clean(x12_271(RICH_271).decode())


def test_rich_271_one_response_per_patient(rich):
    # subscriber DOE has a dependent and no benefits of its own: the dependent is the patient;
    # subscriber ROE has no dependent: one response for it
    assert len(rich) == 2
    assert [r.control_number for r in rich] == ["123456789", "000000042"]
    assert rich[0].subscriber.member_id == "W123456789"
    assert rich[1].subscriber.member_id == "X999"


def test_rich_271_dependent_response(rich):
    r = rich[0]
    assert r.trading_partner_service_id == "ACME01"
    contact = r.payer.contact_information
    assert contact.name == "PROVIDER SERVICES"
    assert [(c.communication_mode, c.communication_number) for c in contact.contacts] == [
        ("Telephone", "8005551212"),
        ("Uniform Resource Locator (URL)", "WWW.ACME.EXAMPLE"),
    ]
    assert r.provider.provider_name == "WELBY"
    assert r.provider.provider_first_name == "MARCUS"
    assert r.provider.provider_org_name is None
    assert r.provider.entity_type == "Person"
    assert r.provider.npi == "1234567893"
    assert r.provider.tax_id == "123456789"

    s = r.subscriber
    assert (s.last_name, s.first_name, s.middle_name) == ("DOE", "JOHN", "Q")
    assert (s.group_number, s.group_description) == ("GRP0001", "ACME GOLD GROUP")
    assert (s.plan_number, s.plan_description) == ("PLAN77", "GOLD PPO")
    assert (s.insured_indicator, s.relation_to_subscriber_code, s.relation_to_subscriber) == (
        "Y",
        "18",
        "Self",
    )
    assert (s.maintenance_type_code, s.maintenance_reason_code) == ("001", "25")

    [d] = r.dependents
    assert (d.last_name, d.first_name, d.middle_name) == ("DOE", "JANE", "A")
    assert d.member_id is None
    assert (d.date_of_birth, d.gender) == ("20100202", "F")
    assert d.ssn == "987654321"
    assert d.entity_identifier == "Dependent"
    assert (d.insured_indicator, d.relation_to_subscriber_code, d.relation_to_subscriber) == (
        "N",
        "19",
        "Child",
    )
    assert d.address.to_json() == {
        "address1": "1 MAIN ST",
        "address2": "UNIT 2",
        "city": "SPRINGFIELD",
        "state": "IL",
        "postalCode": "627011234",
    }
    assert [(t.trace_type_code, t.reference_identification) for t in r.subscriber_trace_numbers] == [
        ("2", "123456789"),
        ("1", "PAYERTRACE"),
    ]
    # plan identifiers and dates of the patient (2100D)
    assert r.plan_information.policy_number == "POL555"
    assert r.plan_information.group_number == "POL555"  # 1L "group or policy number", no 6P
    assert r.plan_date_information.to_json() == {"plan": "20240101-20241231", "eligibilityBegin": "20240101"}


def test_rich_271_dependent_benefits(rich):
    r = rich[0]
    active, deductible, coinsurance, limitation, pcp = r.benefits_information
    assert [s.to_json() for s in r.plan_status] == [
        {
            "statusCode": "1",
            "status": "Active Coverage",
            "planDetails": "ACME GOLD PPO",
            "serviceTypeCodes": ["30", "1", "33"],
        },
    ]
    assert active.coverage_level_code == "FAM" and active.coverage_level == "Family"
    assert active.service_types == ["Health Benefit Plan Coverage", "Medical Care", "Chiropractic"]
    assert active.insurance_type == "Preferred Provider Organization (PPO)"
    assert active.benefits_date_information.plan == "20240101-20241231"

    assert (deductible.code, deductible.name) == ("C", "Deductible")
    assert deductible.time_qualifier == "Calendar Year"
    assert deductible.benefit_amount == "500.00"
    assert [m.description for m in deductible.additional_information] == [
        "DEDUCTIBLE APPLIES TO IN-NETWORK SERVICES",
        "RESETS EACH CALENDAR YEAR",
    ]

    assert (coinsurance.code, coinsurance.benefit_percent) == ("A", "0.2")
    assert coinsurance.in_plan_network_indicator == "No"

    assert limitation.service_types == ["Occupational Therapy"]
    assert (limitation.quantity_qualifier_code, limitation.quantity_qualifier) == ("VS", "Visits")
    assert limitation.benefit_quantity == "20"
    assert limitation.auth_or_cert_indicator == "Y"
    proc = limitation.composite_medical_procedure_identifier
    assert (proc.product_or_service_id_qualifier_code, proc.procedure_code, proc.procedure_modifiers) == (
        "HC",
        "97110",
        ["GP"],
    )
    assert limitation.benefits_additional_information == {"priorAuthorizationNumber": "AUTH123"}
    assert limitation.benefits_date_information.benefit_begin == "20240101"
    assert limitation.benefits_service_delivery == [
        {"quantityQualifierCode": "VS", "quantity": "20", "timePeriodQualifierCode": "22"}
    ]
    assert [m.description for m in limitation.additional_information] == ["PHYSICAL THERAPY LIMIT"]
    assert limitation.eligibility_additional_information_list == [
        {"codeListQualifierCode": "ZZ", "industryCode": "11"}
    ]

    [entity] = pcp.benefits_related_entities
    assert entity.entity_identifier == "Primary Care Provider"
    assert (entity.entity_identification, entity.entity_identification_value) == ("XX", "1234567893")
    assert entity.entity_relationship == "Unknown"
    assert entity.address.city == "SPRINGFIELD" and entity.address.postal_code == "62702"
    assert [(c.communication_mode, c.communication_number) for c in entity.contact_information.contacts] == [
        ("Telephone", "2175550000"),
        ("Telephone Extension", "12"),
    ]
    assert entity.provider_information == {"providerCode": "PE", "referenceIdentification": "207Q00000X"}

    # the AAA of a benefit row is reported with its loop
    assert [(e.code, e.description, e.followup_action, e.location) for e in r.errors] == [
        ("AG", "Invalid/Missing Procedure Code(s)", "Please Correct and Resubmit", "Loop 2110D"),
    ]


def test_rich_271_subscriber_rejected(rich):
    r = rich[1]
    assert r.dependents is None and r.benefits_information is None and r.plan_status is None
    expected = ("72", "Invalid/Missing Subscriber/Insured ID", "Please Correct and Resubmit", "Loop 2100C")
    assert [(e.code, e.description, e.followup_action, e.location) for e in r.subscriber.aaa_errors] == [
        expected
    ]
    assert [(e.code, e.description, e.followup_action, e.location) for e in r.errors] == [expected]


def test_271_payer_level_rejection():
    body = """
BHT*0022*11*77*20240102*0304
HL*1**20*0
AAA*Y**42*R
NM1*PR*2*ACME HEALTH*****PI*ACME01
AAA*N**T4*C
"""
    assert_clean(x12_271(body).decode())
    [r] = x12_271_to_responses(x12_271(body))
    assert r.control_number == "77"
    assert r.provider is None
    assert [(e.code, e.description, e.followup_action, e.location) for e in r.errors] == [
        ("42", "Unable to Respond at Current Time", "Resubmission Allowed", "Loop 2000A"),
        ("T4", "Payer Name or Identifier Missing", "Please Correct and Resubmit", "Loop 2100A"),
    ]
    assert [e.code for e in r.payer.aaa_errors] == ["42", "T4"]


def test_271_aaa_codes_missing_from_edi_codes_are_still_described():
    body = """
BHT*0022*11*77*20240102*0304
HL*1**20*1
NM1*PR*2*ACME HEALTH*****PI*ACME01
HL*2*1*21*1
NM1*1P*2*CLINIC*****XX*1234567893
HL*3*2*22*0
NM1*IL*1*DOE*JOHN****MI*W1
AAA*N**33*C
AAA*Y**35*N
"""
    assert_clean(x12_271(body).decode())
    [r] = x12_271_to_responses(x12_271(body))
    assert r.control_number == "77"
    assert [(e.code, e.description, e.followup_action) for e in r.subscriber.aaa_errors] == [
        ("33", "Input Errors", "Please Correct and Resubmit"),
        ("35", "Out of Network", "Resubmission Not Allowed"),
    ]


def test_271_reader_ignores_other_transaction_sets():
    assert x12_271_to_responses(SAMPLE_270) == []
    assert x12_270_to_requests(SAMPLE_271) == []


# ============================================================================ 270 sample


def test_270_sample_to_request():
    [r] = x12_270_to_requests(SAMPLE_270)
    assert isinstance(r, EligibilityRequest)
    # TRN*1*93175-012547 is not a nine-digit control number: ISA13 is used instead
    assert r.control_number == "000000907"
    assert r.submitter_transaction_identifier == "10001234"  # BHT03
    assert r.trading_partner_service_id == "842610001"
    assert r.payer.name == "ABC COMPANY"
    assert r.provider.organization_name == "BONE AND JOINT CLINIC"
    assert r.provider.service_provider_number == "2000035"
    assert r.provider.npi is None
    assert r.information_receiver_name is None
    s = r.subscriber
    assert (s.member_id, s.last_name, s.first_name) == ("11122333301", "SMITH", "ROBERT")
    assert s.date_of_birth == "19430519"
    assert s.gender is None
    assert r.dependents is None
    assert r.encounter.date_of_service == "20060501"
    assert r.encounter.service_type_codes == ["30"]
    assert r.to_json() == {
        "controlNumber": "000000907",
        "tradingPartnerServiceId": "842610001",
        "submitterTransactionIdentifier": "10001234",
        "provider": {"organizationName": "BONE AND JOINT CLINIC", "serviceProviderNumber": "2000035"},
        "subscriber": {
            "memberId": "11122333301",
            "firstName": "ROBERT",
            "lastName": "SMITH",
            "dateOfBirth": "19430519",
        },
        "encounter": {"dateOfService": "20060501", "serviceTypeCodes": ["30"]},
        "payer": {"name": "ABC COMPANY"},
    }


def test_270_sample_round_trip():
    [r] = x12_270_to_requests(SAMPLE_270)
    text = request_to_270(r, envelope())
    assert_clean(text)
    assert x12_270_to_requests(text.encode()) == [r]
    # the same segments as the sample, except the trace number (now the control number) and BHT04/05
    sample = body_of(SAMPLE_270.read_text())
    ours = body_of(text)
    assert len(ours) == len(sample)
    assert ours[0] == "BHT*0022*13*10001234*20240305*1407"
    assert ours[6] == "TRN*1*000000907*9BMITTER01"
    assert [s for i, s in enumerate(ours) if i not in (0, 6)] == [
        s for i, s in enumerate(sample) if i not in (0, 6)
    ]


# ============================================================================ request -> 270


def request(**overrides) -> EligibilityRequest:
    data = {
        "controlNumber": "000012345",
        "tradingPartnerServiceId": "ACME01",
        "provider": {"organizationName": "HAPPY DOCTORS GROUP", "npi": "1234567893"},
        "subscriber": {
            "memberId": "W000000001",
            "firstName": "JOHN",
            "lastName": "DOE",
            "dateOfBirth": "19700101",
            "gender": "M",
        },
        "encounter": {"serviceTypeCodes": ["30"], "dateOfService": "20240102"},
    }
    data.update(overrides)
    return EligibilityRequest.model_validate(data)


def test_270_layout_and_envelope():
    text = request_to_270(request(), envelope())
    assert_clean(text)
    segs = segments(text)
    isa, gs, st = segs[0], segs[1], segs[2]
    assert isa[13] == "123456789" and isa[6].strip() == "SUBMITTER01" and isa[8].strip() == "PAYER01"
    assert gs[1] == "HS" and gs[6] == "4711" and gs[8] == "005010X279A1"
    assert st == ["ST", "270", "0042", "005010X279A1"]
    assert body_of(text) == [
        "BHT*0022*13*000012345*20240305*1407",
        "HL*1**20*1",
        "NM1*PR*2******PI*ACME01",
        "HL*2*1*21*1",
        "NM1*1P*2*HAPPY DOCTORS GROUP*****XX*1234567893",
        "HL*3*2*22*0",
        "TRN*1*000012345*9BMITTER01",
        "NM1*IL*1*DOE*JOHN****MI*W000000001",
        "DMG*D8*19700101*M",
        "DTP*291*D8*20240102",
        "EQ*30",
    ]
    assert segs[-3] == ["SE", "13", "0042"]
    assert segs[-2] == ["GE", "1", "4711"] and segs[-1] == ["IEA", "1", "123456789"]


def test_270_with_one_dependent_validates_and_carries_control_numbers():
    req = request(
        dependents=[
            {
                "firstName": "JANE",
                "lastName": "DOE",
                "dateOfBirth": "20100202",
                "gender": "F",
                "individualRelationshipCode": "19",
            }
        ],
        encounter={
            "serviceTypeCodes": ["30", "88"],
            "beginningDateOfService": "20240101",
            "endDateOfService": "20240131",
        },
    )
    env = envelope(interchange_control_number=987, group_control_number=654, transaction_control_number=321)
    text = request_to_270(req, env)
    assert_clean(text)
    report = validate(text.encode())
    [interchange] = report.interchanges
    assert interchange.control_number == "000000987"
    assert interchange.groups[0].control_number == "654"
    assert interchange.groups[0].transactions[0].control_number == "0321"
    [tx] = read_transactions(text.encode())
    assert (tx.interchange_control_number, tx.group_control_number, tx.control_number) == (
        "000000987",
        "654",
        "0321",
    )
    assert body_of(text)[5:] == [
        "HL*3*2*22*1",
        "NM1*IL*1*DOE*JOHN****MI*W000000001",
        "DMG*D8*19700101*M",
        "HL*4*3*23*0",
        "TRN*1*000012345*9BMITTER01",  # the trace goes with the patient
        "NM1*03*1*DOE*JANE",
        "DMG*D8*20100202*F",
        "INS*N*19",
        "DTP*291*RD8*20240101-20240131",
        "EQ*30",
        "EQ*88",
    ]
    assert x12_270_to_requests(text.encode()) == [req]


def test_270_default_service_type_and_procedure_inquiry():
    text = request_to_270(request(encounter=None), envelope())
    assert_clean(text)
    assert body_of(text)[-1] == "EQ*30"
    req = request(
        encounter={
            "dateOfService": "20240102",
            "productOrServiceIDQualifier": "HC",
            "procedureCode": "97110",
            "procedureModifiers": ["GP", "59"],
            "medicalProcedures": [{"productOrServiceIDQualifier": "CJ", "procedureCode": "99213"}],
            "industryCode": "11",
            "priorAuthorizationOrReferralNumber": "REF123",
            "referenceIdentificationQualifier": "9F",
        }
    )
    text = request_to_270(req, envelope())
    assert_clean(text)
    assert body_of(text)[-6:] == [
        "EQ**HC:97110:GP:59",
        "III*ZZ*11",
        "REF*9F*REF123",
        "EQ**CJ:99213",
        "III*ZZ*11",
        "REF*9F*REF123",
    ]
    assert x12_270_to_requests(text.encode()) == [req]


def test_270_person_provider_with_ids_address_and_taxonomy():
    req = request(
        provider={
            "firstName": "MARCUS",
            "lastName": "WELBY",
            "middleName": "J",
            "suffix": "MD",
            "npi": "1234567893",
            "taxId": "123456789",
            "providerCode": "AD",
            "referenceIdentification": "207Q00000X",
            "address": {
                "address1": "10 CLINIC RD",
                "city": "SPRINGFIELD",
                "state": "IL",
                "postalCode": "62702",
            },
        },
        informationReceiverName={
            "stateLicenseNumber": "LIC1",
            "medicaidProviderNumber": "MCD9",
            "contactNumber": "C77",
        },
        subscriber={
            "memberId": "W1",
            "firstName": "JOHN",
            "lastName": "DOE",
            "groupNumber": "GRP1",
            "ssn": "123456780",
            "planNumber": "P9",
            "cardIssueDate": "20230101",
            "birthSequenceNumber": "2",
        },
        payer={"name": "ACME HEALTH"},
        submitterTransactionIdentifier="BATCH-7",
    )
    text = request_to_270(req, envelope())
    assert_clean(text)
    body = body_of(text)
    assert body[0].startswith("BHT*0022*13*BATCH-7*")
    assert body[2] == "NM1*PR*2*ACME HEALTH*****PI*ACME01"
    assert body[4:11] == [
        "NM1*1P*1*WELBY*MARCUS*J**MD*XX*1234567893",
        "REF*TJ*123456789",
        "REF*0B*LIC1",
        "REF*1D*MCD9",
        "REF*CT*C77",
        "N3*10 CLINIC RD",
        "N4*SPRINGFIELD*IL*62702",
    ]
    assert body[11] == "PRV*AD*PXC*207Q00000X"
    assert "TRN*1*000012345*1123456789" in body  # originator "1" + the provider's EIN
    assert body[15:20] == [
        "REF*18*P9",
        "REF*6P*GRP1",
        "REF*SY*123456780",
        "INS*Y*18***************2",
        "DTP*102*D8*20230101",
    ]
    assert x12_270_to_requests(text.encode()) == [req]


def test_270_originator_can_be_given():
    text = request_to_270(request(), envelope(), originator_id="9ABCDEFGHI")
    assert "TRN*1*000012345*9ABCDEFGHI" in body_of(text)
    with pytest.raises(ValueError, match="10 characters"):
        request_to_270(request(), envelope(), originator_id="123")


def test_270_what_x12_cannot_carry():
    with pytest.raises(NotRepresentable) as info:
        request_to_270(
            request(
                dependents=[{"memberId": "D1", "firstName": "A", "lastName": "B", "dateOfBirth": "20100101"}]
            ),
            envelope(),
        )
    assert info.value.field == "dependents[0].memberId"
    with pytest.raises(NotRepresentable) as info:
        request_to_270(request(subscriber={"memberId": "W1", "lastName": "O*BRIEN"}), envelope())
    assert info.value.field == "subscriber.lastName"
    with pytest.raises(NotRepresentable) as info:
        request_to_270(request(subscriber={"memberId": "W1", "lastName": "MÜLLER"}), envelope())
    assert info.value.field == "subscriber.lastName"
    with pytest.raises(NotRepresentable, match="one patient"):
        request_to_270(
            request(dependents=[{"firstName": "A", "lastName": "B", "dateOfBirth": "20100101"}] * 2),
            envelope(),
        )
    # never written, so never refused
    text = request_to_270(request(portalPassword="p*ss~"), envelope())
    assert "p*ss" not in text
    # gender without a birth date has no DMG to go in
    text = request_to_270(
        request(subscriber={"memberId": "W1", "lastName": "DOE", "gender": "F"}), envelope()
    )
    assert_clean(text)
    assert not any(s.startswith("DMG") for s in body_of(text))


def test_270_reader_one_request_per_dependent():
    two = request(dependents=[{"firstName": "JANE", "lastName": "DOE", "dateOfBirth": "20100202"}])
    text = request_to_270(two, envelope())
    lines = text.split("~\n")
    # add a second dependent by hand: HL*5 under the same subscriber
    i = next(n for n, s in enumerate(lines) if s.startswith("SE*"))
    extra = ["HL*5*3*23*0", "TRN*1*000099999*9BMITTER01", "NM1*03*1*DOE*JIM", "DMG*D8*20120303", "EQ*1"]
    lines[i : i + 1] = extra + [f"SE*{int(lines[i].split('*')[1]) + len(extra)}*0042"]
    text2 = "~\n".join(lines)
    assert_clean(text2)
    first, second = x12_270_to_requests(text2.encode())
    assert first == two
    assert second.control_number == "000099999"
    assert second.dependents[0].first_name == "JIM"
    assert second.encounter.service_type_codes == ["1"]
    assert second.subscriber == two.subscriber


# ============================================================================ property-based round trip

NAME_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ ,.'-"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
SERVICE_TYPES = sorted(SERVICE_TYPE_CODES)
# UM (U.S. Minor Outlying Islands) is in edi.codes.STATE_CODES but not in the 270 map's N402 list
STATES = sorted(set(STATE_CODES) - {"UM"})


def luhn_npi(nine: str) -> str:
    total = 0
    for position, char in enumerate(reversed("80840" + nine + "0")):
        digit = int(char)
        if position % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return nine + str((10 - total % 10) % 10)


def names(max_size: int) -> st.SearchStrategy[str]:
    """A name from [A-Z ,.'-], starting and ending with a letter (X12 keeps spaces, JSON users trim)."""
    middle = st.text(NAME_ALPHABET, max_size=max(max_size - 2, 0))
    return st.one_of(
        st.sampled_from(LETTERS),
        st.builds(lambda a, m, b: a + m + b, st.sampled_from(LETTERS), middle, st.sampled_from(LETTERS)),
    )


def dates(start: date, end: date) -> st.SearchStrategy[str]:
    return st.dates(start, end).map(lambda d: d.strftime("%Y%m%d"))


ids = st.text("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", min_size=2, max_size=20)
nines = st.text("0123456789", min_size=9, max_size=9)
npis = nines.map(luhn_npi)
addresses = st.fixed_dictionaries(
    {
        "address1": st.builds(lambda n, s: f"{n} {s}", st.integers(1, 99999), names(30)),
        "city": names(30).filter(lambda c: len(c) >= 2),
        "state": st.sampled_from(STATES),
    },
    optional={
        "address2": st.builds(lambda n: f"APT {n}", st.integers(1, 999)),
        "postalCode": st.one_of(
            st.text("0123456789", min_size=5, max_size=5), st.text("0123456789", min_size=9, max_size=9)
        ),
    },
)


def person(dependent: bool) -> st.SearchStrategy[dict]:
    required = {
        "firstName": names(35),
        "lastName": names(60),
        "dateOfBirth": dates(date(1900, 1, 1), date(2010, 12, 31)),
    }
    optional = {
        "middleName": names(25),
        "suffix": st.sampled_from(["JR", "SR", "II", "III"]),
        "gender": st.sampled_from(["M", "F", "U"]),
        "groupNumber": ids,
        "ssn": nines,
        "address": addresses,
    }
    if dependent:
        optional["individualRelationshipCode"] = st.sampled_from(["01", "19", "34"])
        return st.fixed_dictionaries(required, optional=optional)
    optional.update(required)  # the subscriber is named by memberId; names and birth date are optional
    return st.fixed_dictionaries({"memberId": ids}, optional=optional)


providers = st.one_of(
    st.fixed_dictionaries({"organizationName": names(60), "npi": npis}),
    st.fixed_dictionaries({"lastName": names(60), "npi": npis}, optional={"firstName": names(35)}),
).flatmap(
    lambda p: st.fixed_dictionaries(
        {k: st.just(v) for k, v in p.items()},
        optional={"taxId": nines, "address": addresses},
    )
)


@st.composite
def encounters(draw) -> dict:
    encounter: dict = {}
    if draw(st.booleans()):
        encounter["serviceTypeCodes"] = draw(
            st.lists(st.sampled_from(SERVICE_TYPES), min_size=1, max_size=3, unique=True)
        )
    when = draw(st.sampled_from(["none", "day", "range"]))
    if when == "day":
        encounter["dateOfService"] = draw(dates(date(2011, 1, 1), date(2030, 12, 31)))
    elif when == "range":
        begin = draw(st.dates(date(2011, 1, 1), date(2030, 12, 31)))
        end = draw(st.dates(begin, date(2031, 12, 31)))
        encounter["beginningDateOfService"] = begin.strftime("%Y%m%d")
        encounter["endDateOfService"] = end.strftime("%Y%m%d")
    return encounter


@st.composite
def eligibility_requests(draw) -> EligibilityRequest:
    data = {
        "controlNumber": draw(nines),
        "tradingPartnerServiceId": draw(ids),
        "provider": draw(providers),
        "subscriber": draw(person(dependent=False)),
    }
    if draw(st.booleans()):
        data["dependents"] = [draw(person(dependent=True))]
    if draw(st.booleans()):
        data["encounter"] = draw(encounters())
    if draw(st.booleans()):
        data["payer"] = {"name": draw(names(60))}
    if draw(st.booleans()):
        data["submitterTransactionIdentifier"] = "T" + draw(ids)
    return EligibilityRequest.model_validate(data)


def x12_form(req: EligibilityRequest) -> EligibilityRequest:
    """What the 270 can carry of `req`, i.e. what reading it back must give. Each change:

    * no encounter, or one without service types: the 270 asks EQ*30, read back as serviceTypeCodes ["30"]
      (an encounter that was absent comes back holding only that);
    * gender without dateOfBirth: DMG needs the birth date, so the gender is not sent.
    Names are not upper-cased, identifiers and dates are unchanged.
    """
    data = req.model_dump(by_alias=True, exclude_none=True)
    encounter = data.setdefault("encounter", {})
    if not encounter.get("serviceTypeCodes"):
        encounter["serviceTypeCodes"] = ["30"]
    for p in [data["subscriber"], *data.get("dependents", [])]:
        if "dateOfBirth" not in p:
            p.pop("gender", None)
    return EligibilityRequest.model_validate(data)


@settings(max_examples=60, deadline=None)
@given(eligibility_requests())
def test_property_270_round_trip(req):
    assert npi_is_valid(req.provider.npi)
    assert check_eligibility_request(req.to_json(), today=date(2032, 1, 1)) == []
    text = request_to_270(req, envelope())
    report = validate(text.encode())
    errors = [f for f in report.all_findings() if f.severity == "error"]
    assert errors == [], [str(e) for e in errors]
    assert report.accepted
    assert list(report.all_findings()) == []
    assert x12_270_to_requests(text.encode()) == [x12_form(req)]


def test_public_names():
    assert set(eligibility.__all__) >= {"request_to_270", "x12_270_to_requests", "x12_271_to_responses"}
