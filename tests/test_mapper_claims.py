"""Claims in both directions: canonical JSON <-> 837P (005010X222A1) and 837I (005010X223A2).

* every 837P and 837I sample reads into claim requests, asserted field by field;
* generated valid requests (hypothesis) pass the request checks, become X12 our validator accepts
  with no error finding, and read back equal to the original up to the normalisations X12 forces
  (listed in `normalised` below, and in the mapper modules' docstrings);
* 5,001 claims give two transaction sets (5,000 + 1) with ST02 counting up;
* what the 837 cannot carry is refused with the JSON path of the field, never written invalid.
"""

from __future__ import annotations

import copy
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edi.checks import npi_is_valid, validate_request
from edi.codes import STATE_CODES
from edi.mappers._claim_common import ClaimMappingError, fmt_amount, fmt_quantity
from edi.mappers.envelope import Envelope
from edi.mappers.institutional import claims_to_837i, x12_837i_to_claims
from edi.mappers.professional import claims_to_837p, x12_837p_to_claims
from edi.mappers.x12tree import read_transactions
from edi.models.claims import InstitutionalClaimRequest, ProfessionalClaimRequest
from edi.x12.delimiters import Delimiters
from edi.x12.validator import validate

_ROOT = Path(__file__).resolve().parents[1]
if str(_ROOT) not in sys.path:  # `benchmarks/` is not an installed package
    sys.path.insert(0, str(_ROOT))

FIXTURES = _ROOT / "tests" / "fixtures" / "x12"
P837 = FIXTURES / "837_005010X222A2"
I837 = FIXTURES / "837_005010X223A3"
NOW = datetime(2024, 6, 1, 9, 30)


def envelope(usage: str = "P", transaction: int = 1) -> Envelope:
    return Envelope(sender_id="SUBMITTER01", receiver_id="RECEIVER01", interchange_control_number=123,
                    group_control_number=45, transaction_control_number=transaction, usage=usage, now=NOW)  # fmt: skip


def errors(text: str) -> list[tuple]:
    report = validate(text.encode())
    found = [(f.segment_id, f.segment_position, f.element_position, f.code, f.message)
             for f in report.all_findings() if f.severity == "error"]  # fmt: skip
    assert report.accepted, found
    return found


def make_npi(base: int) -> str:
    digits = "80840" + f"{base:09d}"
    total = 0
    for position, char in enumerate(reversed(digits)):
        d = int(char)
        if position % 2 == 0:
            d *= 2
            d -= 9 if d > 9 else 0
        total += d
    npi = f"{base:09d}{(10 - total % 10) % 10}"
    assert npi_is_valid(npi)
    return npi


# ============================================================================== samples (837P)


def read_p(name: str) -> list[ProfessionalClaimRequest]:
    return x12_837p_to_claims((P837 / name).read_bytes())


def test_ambulance_sample() -> None:
    (claim,) = read_p("demo.ambulance.example5.837")
    assert claim.control_number == "000017712"  # BHT03, nine digits
    assert claim.usage_indicator == "T"
    assert claim.trading_partner_service_id == "123245"
    assert claim.trading_partner_name == "MEDICARE PART B"
    assert claim.submitter.organization_name == "AAA AMBULANCE SERVICE"
    assert claim.submitter.contact_information.phone_number == "3037752536"
    assert claim.receiver.organization_name == "MEDICARE B"
    assert claim.billing.npi == "2366554859"
    assert claim.billing.employer_id == "376985369"
    assert claim.billing.taxonomy_code == "3416L0300X"
    assert claim.billing.address.postal_code == "800210021"
    s = claim.subscriber
    assert (s.member_id, s.last_name, s.first_name, s.middle_name) == ("012345678A", "JONES", "SARAH", "A")
    assert (s.gender, s.date_of_birth, s.payment_responsibility_level_code) == ("F", "19630729", "P")
    assert claim.dependent is None
    assert claim.payer_address.address1 == "PO BOX 3543"
    info = claim.claim_information
    assert info.patient_control_number == "051068"
    assert info.claim_charge_amount == "766.50"
    assert (info.place_of_service_code, info.claim_frequency_code) == ("41", "1")
    assert info.claim_filing_code == "MB"
    assert info.patient_signature_source_code == "P"
    assert info.related_causes_code == ["OA"]
    assert info.claim_date_information.accident_date == "20050208"
    amb = info.ambulance_transport_information
    assert (amb.patient_weight_in_pounds, amb.ambulance_transport_reason_code, amb.transport_distance_in_miles) == (
        "275", "A", "21")  # fmt: skip
    assert amb.stretcher_purpose_description == "PATIENT IMOBILIZED"
    assert info.ambulance_pick_up_location.city == "CARR"
    assert info.ambulance_drop_off_location.state == "WY"
    assert [(d.diagnosis_type_code, d.diagnosis_code) for d in info.health_care_code_information] == [
        ("BK", "8628"), ("BF", "E8888"), ("BF", "9592"), ("BF", "8540")]  # fmt: skip
    lines = info.service_lines
    assert [ln.professional_service.procedure_code for ln in lines] == ["A0427", "A0425", "A0422", "A0382"]
    assert all(ln.professional_service.procedure_modifiers == ["RH"] for ln in lines)
    assert [ln.professional_service.line_item_charge_amount for ln in lines] == [
        "700.00",
        "8.20",
        "46.00",
        "12.30",
    ]
    assert [ln.professional_service.service_unit_count for ln in lines] == ["1", "21", "1", "1"]
    assert [ln.provider_control_number for ln in lines] == ["1001", "1002", "1003", "1004"]
    assert lines[0].additional_notes == "CARDIAC EMERGENCY"
    assert lines[0].professional_service.composite_diagnosis_code_pointers.diagnosis_code_pointers == [
        "1",
        "2",
        "3",
        "4",
    ]
    assert lines[0].professional_service.emergency_indicator == "Y"
    assert all(ln.service_date == "20050208" and ln.service_date_end is None for ln in lines)


def test_auto_accident_sample_with_dependent() -> None:
    (claim,) = read_p("demo.autoaccident.837")
    assert claim.control_number == "000000021"  # BHT03 "0125" is not nine digits: ST02 padded
    assert claim.trading_partner_service_id == "999888777"
    s = claim.subscriber
    assert (s.member_id, s.last_name, s.first_name) == ("B99977791G", "HOWLING", "HAL")
    d = claim.dependent
    assert (d.last_name, d.first_name, d.gender, d.date_of_birth) == ("DIMPSON", "DJ", "M", "19480601")
    assert d.relationship_to_subscriber_code == "21"
    assert d.address.city == "ROCKING HORSE"
    assert d.contact_information.phone_number == "8157665902"
    info = claim.claim_information
    assert info.property_casualty_claim_number == "32323232"
    assert (info.patient_control_number, info.claim_charge_amount) == ("900000032", "185.00")
    assert info.claim_filing_code == "AM"
    assert info.related_causes_code == ["AA"] and info.auto_accident_state_code == "CA"
    assert info.claim_date_information.accident_date == "20051031"
    assert info.claim_date_information.first_contact_date == "20051031"
    assert claim.rendering.npi == "2366552595"
    assert (claim.rendering.last_name, claim.rendering.taxonomy_code) == ("MOGLIE", "208D00000X")
    facility = info.service_facility_location
    assert (facility.organization_name, facility.npi, facility.phone_number) == (
        "ASSOCIATED MEDICAL GROUP", "1235767887", "3425557987")  # fmt: skip
    assert [(ln.professional_service.procedure_code, ln.professional_service.line_item_charge_amount)
            for ln in info.service_lines] == [("99201", "150.00"), ("26010", "35.00")]  # fmt: skip


def test_cob_sample() -> None:
    (claim,) = read_p("demo.cob.example3.A.837")
    assert claim.billing.last_name == "KILDARE" and claim.billing.npi == "1999996666"
    assert claim.billing.contact_information.name == "CONNIE"
    assert claim.pay_to_address.address1 == "2345 OCEAN BLVD"
    assert claim.subscriber.member_id == "111223333"
    assert claim.dependent.first_name == "TED" and claim.dependent.relationship_to_subscriber_code == "19"
    assert claim.rendering.commercial_number == "KA6663"
    info = claim.claim_information
    assert (info.patient_control_number, info.claim_charge_amount, info.release_information_code) == (
        "26407789", "79.04", "I")  # fmt: skip
    assert [d.diagnosis_code for d in info.health_care_code_information] == ["4779", "2724", "2780", "53081"]
    assert [ln.professional_service.composite_diagnosis_code_pointers.diagnosis_code_pointers
            for ln in info.service_lines] == [["1", "2", "3", "4"], ["1", "2"], ["1", "2"]]  # fmt: skip
    # its 2320 has no 2330B (invalid X12): an OtherSubscriberInformation needs one, so it is left out
    assert info.other_subscriber_information is None


def test_drug_sample() -> None:
    (claim,) = read_p("demo.drug.example10.1.837")
    assert claim.trading_partner_service_id == "PLANID12345"  # NM108 XV
    assert claim.subscriber.group_number == "GRP01020102"
    info = claim.claim_information
    assert (info.patient_control_number, info.claim_charge_amount) == ("CLMNO12345", "103.37")
    line = info.service_lines[1]
    assert line.professional_service.place_of_service_code == "11"
    assert line.sales_tax_amount == "3.37"
    drug = line.drug_identification
    assert (drug.service_id_qualifier, drug.national_drug_code, drug.national_drug_unit_count,
            drug.measurement_unit_code) == ("N4", "00026063512", "10", "ML")  # fmt: skip


@pytest.mark.parametrize(
    ("name", "payer", "pointers", "extra"),
    [
        (
            "demo.example1.837",
            "999996666",
            [["1"], ["1"], ["2"], ["2"]],
            {"claim_number": "17312345600006351"},
        ),
        ("demo.example2.837", "741234", [["1"], ["1"], ["2"], ["2"]], {"claim_number": "17312345600006351"}),
    ],
)
def test_example_1_and_2_samples(name: str, payer: str, pointers: list, extra: dict) -> None:
    (claim,) = read_p(name)
    info = claim.claim_information
    assert claim.trading_partner_service_id == payer
    assert claim.billing.organization_name == "BEN KILDARE SERVICE"
    assert claim.submitter.contact_information.phone_extension == "231"
    assert info.claim_charge_amount == "100.00"
    assert [(d.diagnosis_type_code, d.diagnosis_code) for d in info.health_care_code_information] == [
        ("BK", "0340"), ("BF", "V7389")]  # fmt: skip
    assert [ln.professional_service.composite_diagnosis_code_pointers.diagnosis_code_pointers
            for ln in info.service_lines] == pointers  # fmt: skip
    assert [ln.service_date for ln in info.service_lines] == ["20061003", "20061003", "20061010", "20061010"]
    assert info.claim_supplemental_information.claim_number == extra["claim_number"]
    # PRV*BI 203BF0100Y (the guide's example) is not a NUCC code of the model's [0-9A-Z]{9}X form
    assert claim.billing.taxonomy_code is None


def test_example1_dependent_and_example2_subscriber_patient() -> None:
    (one,) = read_p("demo.example1.837")
    (two,) = read_p("demo.example2.837")
    assert one.dependent.last_name == "SMITH" and one.subscriber.group_number == "2222-SJ"
    assert two.dependent is None and two.subscriber.address.city == "MIAMI"
    assert two.claim_information.claim_date_information.symptom_date == "19981003"
    assert two.claim_information.service_facility_location.npi == "5812345679"


def test_example6_sample_with_stray_component_separator() -> None:
    # the sample writes composites with '>' while its ISA16 says ':'; the reader tolerates it
    (claim,) = read_p("demo.example6.837")
    info = claim.claim_information
    assert (info.place_of_service_code, info.claim_frequency_code) == ("11", "1")
    assert info.health_care_code_information[0].diagnosis_code == "7215"
    assert info.service_lines[0].professional_service.procedure_code == "98940"
    dates = info.claim_date_information
    assert (dates.initial_treatment_date, dates.acute_manifestation_date, dates.last_x_ray_date) == (
        "20050115", "20050110", "20050113")  # fmt: skip
    assert claim.billing.last_name == "GREENE" and claim.billing.middle_name == "M"


def test_example7_sample_rd8_and_ordering_provider() -> None:
    (claim,) = read_p("demo.example7.837")
    info = claim.claim_information
    assert info.patient_control_number == "R03996273 #01"
    assert claim.submitter.contact_information.email == "HELPDESK@OXYGEN.COM"
    line = info.service_lines[0]
    assert (line.service_date, line.service_date_end) == ("20050321", "20050321")
    assert line.professional_service.procedure_modifiers == ["RR"]
    ordering = line.ordering_provider
    assert (ordering.last_name, ordering.npi, ordering.provider_upin_number) == (
        "WILSON",
        "5555511111",
        "X99999",
    )
    assert ordering.address.city == "RICHMOND" and ordering.contact_information.phone_number == "5554446666"


# ============================================================================== samples (837I)


def test_institutional_sample() -> None:
    (claim,) = x12_837i_to_claims((I837 / "institutional-claim.837i").read_bytes())
    assert claim.control_number == "000987654"
    assert claim.trading_partner_service_id == "00435"
    assert claim.billing.npi == "9876540809" and claim.billing.employer_id == "567891234"
    s = claim.subscriber
    assert (s.member_id, s.last_name, s.first_name, s.date_of_birth) == (
        "030005074A",
        "DOE",
        "JON",
        "19261111",
    )
    info = claim.claim_information
    assert (info.patient_control_number, info.claim_charge_amount) == ("756048Q", "89.93")
    assert (info.place_of_service_code, info.claim_frequency_code) == ("14", "1")
    assert (info.claim_date_information.statement_begin_date, info.claim_date_information.statement_end_date) == (
        "19960911", "19960911")  # D8 statement date: begin and end the same  # fmt: skip
    codes = info.claim_code_information
    assert (codes.admission_type_code, codes.admission_source_code, codes.patient_status_code) == (
        "3",
        None,
        "01",
    )
    assert (info.principal_diagnosis.qualifier_code, info.principal_diagnosis.principal_diagnosis_code) == (
        "BK",
        "3669",
    )
    assert [d.other_diagnosis_code for d in info.other_diagnosis_information_list] == ["4019", "79431"]
    assert [(o.occurrence_span_code, o.occurrence_span_code_date) for o in info.occurrence_information_list] == [
        ("A1", "19261111"), ("A2", "19911101"), ("B1", "19261111"), ("B2", "19870101")]  # fmt: skip
    assert [(v.value_code, v.value_code_amount) for v in info.value_information_list] == [("A2", "15.31")]
    assert [c.condition_code for c in info.condition_codes_list] == ["09"]
    assert (claim.attending.last_name, claim.attending.provider_upin_number) == ("JONES", "B99937")
    cob = info.other_subscriber_information
    assert (cob.payment_responsibility_level_code, cob.individual_relationship_code) == ("S", "01")
    assert (
        cob.insurance_group_or_policy_number == "351630" and cob.other_insured_group_name == "STATE TEACHERS"
    )
    assert cob.other_subscriber_name.other_insured_identifier == "222004433"
    assert cob.other_payer_name.other_payer_identifier == "1135"
    lines = info.service_lines
    assert [ln.institutional_service.service_line_revenue_code for ln in lines] == ["0305", "0730"]
    assert [ln.institutional_service.procedure_code for ln in lines] == ["85025", "93005"]
    assert [ln.institutional_service.line_item_charge_amount for ln in lines] == ["13.39", "76.54"]
    assert [ln.institutional_service.service_unit_count for ln in lines] == ["1", "3"]
    assert [ln.service_date for ln in lines] == ["19960911", "19960911"]


def test_institutional_two_claims_sample() -> None:
    first, second = x12_837i_to_claims((I837 / "two-claims-single-provider.837i").read_text())
    assert first.billing == second.billing  # both carry their (shared) billing provider
    assert first.billing.taxonomy_code == "282N00000X"
    assert (first.subscriber.member_id, second.subscriber.member_id) == ("030005074", "123405074")
    assert (first.claim_information.patient_control_number, second.claim_information.patient_control_number) == (
        "756048Q", "756049Q")  # fmt: skip
    assert second.claim_information.claim_charge_amount == "50.00"
    assert second.claim_information.claim_date_information.statement_begin_date == "20050401"
    assert second.claim_information.principal_diagnosis.principal_diagnosis_code == "30000"
    assert second.attending.npi == "9999999999"
    assert first.claim_information.claim_filing_code == "CH"
    assert second.claim_information.service_lines[0].institutional_service.service_line_revenue_code == "0300"


# ====================================================================== generated requests

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
STATES = sorted(set(STATE_CODES) - {"PW", "UM"})  # accepted by the request checks, not by the 837 (see below)
ICD10 = (
    "E119",
    "E11.9",
    "J45909",
    "Z0000",
    "Z00.00",
    "I10",
    "J069",
    "M5450",
    "R0602",
    "S93401A",
    "F329",
    "K219",
)
CPT = ("99213", "99214", "36415", "85025", "80053", "93000", "G0008", "J3301", "A0427")
REVENUE = ("0450", "0300", "0250", "0120", "0636", "0730", "0305")

names = st.from_regex(r"[A-Z][A-Z'-]{0,14}( [A-Z]{1,10})?", fullmatch=True)
short_names = st.text(alphabet=LETTERS, min_size=1, max_size=20)
identifiers = st.from_regex(r"[A-Z0-9]{2,20}", fullmatch=True)
npis = st.integers(100_000_000, 299_999_999).map(make_npi)
eins = st.from_regex(r"[0-9]{9}", fullmatch=True)
zip9 = st.from_regex(r"[0-9]{9}", fullmatch=True)
zips = st.one_of(st.from_regex(r"[0-9]{5}", fullmatch=True), zip9)
phones = st.from_regex(r"[2-9][0-9]{9}", fullmatch=True)
births = st.dates(date(1930, 1, 1), date(1999, 12, 31)).map(lambda d: d.strftime("%Y%m%d"))
services = st.dates(date(2023, 1, 1), date(2024, 5, 1))


def amount_text(cents: int, style: int) -> str:
    """The same amount written three ways a requester may send it (X12 gives back "x.yy")."""
    whole, part = divmod(cents, 100)
    if style == 0 or part % 10:
        return f"{whole}.{part:02d}"
    return f"{whole}" if style == 1 and part == 0 else f"{whole}.{part // 10}"


@st.composite
def addresses(draw: st.DrawFn, zip_codes: st.SearchStrategy[str] = zips) -> dict[str, Any]:
    out = {
        "address1": f"{draw(st.integers(1, 99999))} {draw(short_names)} ST",
        "city": draw(st.from_regex(r"[A-Z]{2,12}( [A-Z]{2,12})?", fullmatch=True)),
        "state": draw(st.sampled_from(STATES)),
        "postalCode": draw(zip_codes),
    }
    if draw(st.booleans()):
        out["address2"] = f"SUITE {draw(st.integers(1, 999))}"
    return out


@st.composite
def people(draw: st.DrawFn) -> dict[str, Any]:
    out = {"lastName": draw(names), "firstName": draw(names)}
    if draw(st.booleans()):
        out["middleName"] = draw(st.sampled_from(LETTERS))
    if draw(st.integers(0, 5)) == 0:
        out["suffix"] = draw(st.sampled_from(("JR", "SR", "III")))
    return out


@st.composite
def providers(
    draw: st.DrawFn, kind: str, org: bool = True, person: bool = True, taxonomy: bool = True
) -> dict[str, Any]:
    out: dict[str, Any] = {"providerType": kind}
    if org and (not person or draw(st.booleans())):
        out["organizationName"] = f"{draw(names)} CLINIC"
    else:
        out.update(draw(people()))
    if draw(st.booleans()):
        out["npi"] = draw(npis)
    if taxonomy and draw(st.booleans()):
        out["taxonomyCode"] = draw(st.sampled_from(("207Q00000X", "208D00000X", "363LP0200X", "282N00000X")))
    return out


@st.composite
def parties(draw: st.DrawFn, usage: str, institutional: bool) -> dict[str, Any]:
    billing: dict[str, Any] = {
        "providerType": "BillingProvider", "npi": draw(npis), "employerId": draw(eins),
        "address": draw(addresses(zip9)),
    }  # fmt: skip
    if institutional or draw(st.booleans()):
        billing["organizationName"] = f"{draw(names)} MEDICAL"
    else:
        billing.update(draw(people()))
    if draw(st.booleans()):
        billing["taxonomyCode"] = "207Q00000X"
    if draw(st.booleans()):
        billing["contactInformation"] = {"name": draw(names), "phoneNumber": draw(phones)}
    contact = {"name": draw(names), "phoneNumber": draw(phones)}
    if draw(st.booleans()):
        contact["phoneExtension"] = str(draw(st.integers(1, 9999)))
    if draw(st.booleans()):
        contact["email"] = f"{draw(short_names).lower()}@example.com"
    subscriber = {
        "memberId": draw(identifiers), "paymentResponsibilityLevelCode": draw(st.sampled_from("PST")),
        **draw(people()), "gender": draw(st.sampled_from("FMU")), "dateOfBirth": draw(births),
        "address": draw(addresses()),
    }  # fmt: skip
    if draw(st.booleans()):
        subscriber["groupNumber"] = draw(identifiers)
    if draw(st.booleans()):
        subscriber["ssn"] = draw(eins)
    request: dict[str, Any] = {
        "controlNumber": f"{draw(st.integers(1, 999_999_999)):09d}",
        "tradingPartnerServiceId": draw(identifiers),
        "tradingPartnerName": f"{draw(names)} HEALTH",
        "usageIndicator": usage,
        "submitter": {"organizationName": f"{draw(names)} BILLING", "contactInformation": contact},
        "receiver": {"organizationName": f"{draw(names)} CLEARINGHOUSE"},
        "subscriber": subscriber,
        "billing": billing,
    }
    if draw(st.booleans()):
        request["dependent"] = {
            **draw(people()), "gender": draw(st.sampled_from("FM")), "dateOfBirth": draw(births),
            "relationshipToSubscriberCode": draw(st.sampled_from(("01", "19", "20", "21", "39", "40", "53", "G8"))),
            "address": draw(addresses()),
        }  # fmt: skip
    if draw(st.booleans()):
        request["payerAddress"] = draw(addresses())
    return request


@st.composite
def charges(draw: st.DrawFn) -> tuple[str, list[str]]:
    """1-6 line charges and the claim charge that is exactly their sum."""
    cents = draw(st.lists(st.integers(1, 5_000_000), min_size=1, max_size=6))
    style = draw(st.integers(0, 2))
    return amount_text(sum(cents), style), [amount_text(c, draw(st.integers(0, 2))) for c in cents]


@st.composite
def professional_claims(draw: st.DrawFn, usage: str = "P") -> dict[str, Any]:
    request = draw(parties(usage, institutional=False))
    total, line_charges = draw(charges())
    diagnoses = draw(
        st.lists(st.sampled_from(ICD10), min_size=1, max_size=12, unique_by=lambda c: c.replace(".", ""))
    )
    day = draw(services)
    lines = []
    for charge in line_charges:
        pointers = draw(st.lists(st.integers(1, len(diagnoses)), min_size=1, max_size=4, unique=True))
        service: dict[str, Any] = {
            "procedureIdentifier": "HC", "procedureCode": draw(st.sampled_from(CPT)), "lineItemChargeAmount": charge,
            "measurementUnit": draw(st.sampled_from(("UN", "MJ"))),
            "serviceUnitCount": draw(st.sampled_from(("1", "2", "1.5", "10", "1.0"))),
            "compositeDiagnosisCodePointers": {"diagnosisCodePointers": [
                f"{p:02d}" if draw(st.integers(0, 9)) == 0 else str(p) for p in pointers]},
        }  # fmt: skip
        if draw(st.booleans()):
            service["procedureModifiers"] = draw(st.lists(st.sampled_from(("25", "59", "RT", "LT", "GT")),
                                                          min_size=1, max_size=4))  # fmt: skip
        if draw(st.booleans()):
            service["placeOfServiceCode"] = draw(st.sampled_from(("11", "22", "23")))
        line: dict[str, Any] = {"serviceDate": day.strftime("%Y%m%d"), "professionalService": service}
        if draw(st.booleans()):
            line["serviceDateEnd"] = day.strftime("%Y%m%d")
        if draw(st.booleans()):
            line["providerControlNumber"] = draw(identifiers)
        if draw(st.integers(0, 3)) == 0:
            line["renderingProvider"] = draw(providers("RenderingProvider"))
        lines.append(line)
    info: dict[str, Any] = {
        "claimFilingCode": draw(st.sampled_from(("CI", "MB", "MC", "BL", "HM", "12"))),
        "patientControlNumber": draw(identifiers),
        "claimChargeAmount": total,
        "placeOfServiceCode": draw(st.sampled_from(("11", "12", "21", "22", "23", "81"))),
        "claimFrequencyCode": "1",
        "signatureIndicator": draw(st.sampled_from("YN")),
        "planParticipationCode": draw(st.sampled_from("ABC")),
        "benefitsAssignmentCertificationIndicator": draw(st.sampled_from("NWY")),
        "releaseInformationCode": draw(st.sampled_from("IY")),
        "healthCareCodeInformation": [
            {"diagnosisTypeCode": "ABK" if i == 0 else "ABF", "diagnosisCode": code}
            for i, code in enumerate(diagnoses)
        ],
        "serviceLines": lines,
    }
    if draw(st.booleans()):
        info["claimDateInformation"] = {"symptomDate": day.strftime("%Y%m%d")}
    if draw(st.booleans()):
        info["claimSupplementalInformation"] = {"priorAuthorizationNumber": draw(identifiers),
                                                "medicalRecordNumber": draw(identifiers)}  # fmt: skip
    request["claimInformation"] = info
    for role in ("rendering", "referring"):
        if draw(st.booleans()):
            # a referring provider's taxonomy has no place in the 837P (2310A has no PRV)
            request[role] = draw(
                providers(
                    f"{role.capitalize()}Provider", org=role == "rendering", taxonomy=role == "rendering"
                )
            )
    if draw(st.booleans()):
        info["serviceFacilityLocation"] = {"organizationName": f"{draw(names)} SITE", "npi": draw(npis),
                                           "address": draw(addresses(zip9))}  # fmt: skip
    return request


@st.composite
def institutional_claims(draw: st.DrawFn, usage: str = "P") -> dict[str, Any]:
    request = draw(parties(usage, institutional=True))
    total, line_charges = draw(charges())
    begin = draw(services)
    lines = []
    for charge in line_charges:
        service: dict[str, Any] = {
            "serviceLineRevenueCode": draw(st.sampled_from(REVENUE)), "lineItemChargeAmount": charge,
            "measurementUnit": draw(st.sampled_from(("UN", "DA"))),
            "serviceUnitCount": draw(st.sampled_from(("1", "3", "2.5"))),
        }  # fmt: skip
        if draw(st.booleans()):
            service.update({"procedureIdentifier": "HC", "procedureCode": draw(st.sampled_from(CPT))})
        line: dict[str, Any] = {"institutionalService": service}
        if draw(st.booleans()):
            line["serviceDate"] = begin.strftime("%Y%m%d")
        if draw(st.booleans()):
            line["lineItemControlNumber"] = draw(identifiers)
        lines.append(line)
    diagnoses = draw(
        st.lists(st.sampled_from(ICD10), min_size=1, max_size=14, unique_by=lambda c: c.replace(".", ""))
    )
    info: dict[str, Any] = {
        "claimFilingCode": draw(st.sampled_from(("MA", "MB", "CI", "MC"))),
        "patientControlNumber": draw(identifiers),
        "claimChargeAmount": total,
        "placeOfServiceCode": draw(st.sampled_from(("11", "13", "14", "83"))),
        "claimFrequencyCode": "1",
        "planParticipationCode": draw(st.sampled_from("ABC")),
        "benefitsAssignmentCertificationIndicator": draw(st.sampled_from("NWY")),
        "releaseInformationCode": draw(st.sampled_from("IY")),
        "claimCodeInformation": {
            "admissionTypeCode": draw(st.sampled_from("12345")),
            "admissionSourceCode": draw(st.sampled_from("1247")),
            "patientStatusCode": draw(st.sampled_from(("01", "02", "20"))),
        },  # fmt: skip
        "claimDateInformation": {
            "statementBeginDate": begin.strftime("%Y%m%d"),
            "statementEndDate": begin.strftime("%Y%m%d"),
        },  # fmt: skip
        "principalDiagnosis": {"qualifierCode": "ABK", "principalDiagnosisCode": diagnoses[0]},
        "serviceLines": lines,
    }
    if len(diagnoses) > 1:
        info["otherDiagnosisInformationList"] = [
            {"qualifierCode": "ABF", "otherDiagnosisCode": c} for c in diagnoses[1:]
        ]
    if draw(st.booleans()):
        info["principalDiagnosis"]["presentOnAdmissionIndicator"] = draw(st.sampled_from("YNUW"))
        info["claimDateInformation"]["admissionDateAndHour"] = begin.strftime("%Y%m%d") + "0830"
    if draw(st.booleans()):
        info["admittingDiagnosis"] = {
            "qualifierCode": "ABJ",
            "admittingDiagnosisCode": draw(st.sampled_from(ICD10)),
        }
    if draw(st.booleans()):
        info["valueInformationList"] = [{"valueCode": "80", "valueCodeAmount": "3"}]
        info["occurrenceInformationList"] = [
            {"occurrenceSpanCode": "11", "occurrenceSpanCodeDate": begin.strftime("%Y%m%d")}
        ]
        info["conditionCodesList"] = [{"conditionCode": "09"}]
    if draw(st.booleans()):
        info["billingNote"] = f"NOTE {draw(names)}"
    request["claimInformation"] = info
    if draw(st.booleans()):
        request["attending"] = draw(providers("AttendingProvider", org=False))
    return request


# ----------------------------------------------------------------------- normalisations

AMOUNT_KEYS = {
    "claimChargeAmount", "lineItemChargeAmount", "patientAmountPaid", "salesTaxAmount", "postageTaxAmount",
    "payerPaidAmount", "nonCoveredChargeAmount", "remainingPatientLiability", "adjustmentAmount", "contractAmount",
    "patientEstimatedAmountDue", "serviceTaxAmount", "facilityTaxAmount", "valueCodeAmount",
}  # fmt: skip
QUANTITY_KEYS = {
    "serviceUnitCount", "patientWeight", "patientWeightInPounds", "transportDistanceInMiles",
    "nationalDrugUnitCount", "adjustmentQuantity", "contractPercentage", "termsDiscountPercentage",
}  # fmt: skip
DIAGNOSIS_KEYS = {
    "diagnosisCode", "principalDiagnosisCode", "admittingDiagnosisCode", "otherDiagnosisCode",
    "patientReasonForVisitCode", "externalCauseOfInjury",
}  # fmt: skip


def _walk(value: Any) -> Any:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key in AMOUNT_KEYS:
                out[key] = fmt_amount(item)  # amounts: two decimals ("100" -> "100.00")
            elif key in QUANTITY_KEYS:
                out[key] = fmt_quantity(item)  # quantities: no trailing zeros ("1.0" -> "1")
            elif key in DIAGNOSIS_KEYS:
                out[key] = item.replace(".", "")  # ICD-10 codes travel without their dot
            elif key == "diagnosisCodePointers":
                out[key] = [str(int(p)) for p in item]  # pointers: "01" -> "1"
            else:
                out[key] = _walk(item)
        return out
    if isinstance(value, list):
        return [_walk(v) for v in value]
    return value


def normalised(
    request: ProfessionalClaimRequest | InstitutionalClaimRequest, env: Envelope
) -> dict[str, Any]:
    """The request as a JSON -> 837 -> JSON round trip gives it back."""
    data = _walk(copy.deepcopy(request.to_json()))
    data["usageIndicator"] = env.usage  # ISA15
    for n, line in enumerate(data["claimInformation"]["serviceLines"], start=1):
        line["assignedNumber"] = str(n)  # LX01 numbers the lines 1, 2, 3...
    return data


def validated(kind: str, data: dict[str, Any]) -> Any:
    model, problems = validate_request(kind, data, today=date(2024, 6, 1))  # type: ignore[call-overload]
    assert problems == [], problems
    return model


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=professional_claims(), usage=st.sampled_from("PT"))
def test_professional_round_trip(data: dict[str, Any], usage: str) -> None:
    data["usageIndicator"] = usage
    request = validated("professional", data)
    env = envelope(usage)
    text = claims_to_837p([request], env)
    assert errors(text) == []
    (back,) = x12_837p_to_claims(text)
    assert back.to_json() == normalised(request, env)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=institutional_claims(), usage=st.sampled_from("PT"))
def test_institutional_round_trip(data: dict[str, Any], usage: str) -> None:
    data["usageIndicator"] = usage
    request = validated("institutional", data)
    env = envelope(usage)
    text = claims_to_837i([request], env)
    assert errors(text) == []
    (back,) = x12_837i_to_claims(text)
    assert back.to_json() == normalised(request, env)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items=st.lists(professional_claims(), min_size=2, max_size=5))
def test_professional_batches_keep_every_claim(items: list[dict[str, Any]]) -> None:
    # claims of different submitters go into different transaction sets; each claim comes back whole
    requests = [validated("professional", item) for item in items]
    requests = [r.model_copy(update={"control_number": requests[0].control_number}) for r in requests]
    env = envelope("P", transaction=7)
    text = claims_to_837p(requests, env)
    assert errors(text) == []
    back = x12_837p_to_claims(text)
    assert [b.to_json() for b in back] == [normalised(r, env) for r in requests]
    sets = read_transactions(text.encode())
    assert [t.control_number for t in sets] == [f"{7 + i:04d}" for i in range(len(sets))]


# ================================================================== hand-built claims


def professional_request(**changes: Any) -> dict[str, Any]:
    data = {
        "controlNumber": "000000101",
        "tradingPartnerServiceId": "87726",
        "tradingPartnerName": "UNITED HEALTHCARE",
        "submitter": {"organizationName": "ACME BILLING", "contactInformation": {"name": "DESK", "phoneNumber": "3125550100"}},
        "receiver": {"organizationName": "CLEARINGHOUSE"},
        "subscriber": {
            "memberId": "W123456789", "paymentResponsibilityLevelCode": "P", "firstName": "JANE", "lastName": "DOE",
            "gender": "F", "dateOfBirth": "19800115",
            "address": {"address1": "1 MAIN ST", "city": "CHICAGO", "state": "IL", "postalCode": "60601"},
        },
        "billing": {
            "providerType": "BillingProvider", "npi": make_npi(123456789), "employerId": "361234567",
            "organizationName": "LAKESIDE CLINIC",
            "address": {"address1": "2 LAKE ST", "city": "CHICAGO", "state": "IL", "postalCode": "606011234"},
        },
        "claimInformation": {
            "claimFilingCode": "CI", "patientControlNumber": "PCN0001", "claimChargeAmount": "150",
            "placeOfServiceCode": "11", "claimFrequencyCode": "1", "signatureIndicator": "Y",
            "planParticipationCode": "A", "benefitsAssignmentCertificationIndicator": "Y",
            "releaseInformationCode": "Y",
            "healthCareCodeInformation": [{"diagnosisTypeCode": "ABK", "diagnosisCode": "E11.9"},
                                          {"diagnosisTypeCode": "ABF", "diagnosisCode": "I10"}],
            "serviceLines": [
                {"serviceDate": "20240105", "professionalService": {
                    "procedureIdentifier": "HC", "procedureCode": "99213", "procedureModifiers": ["25"],
                    "lineItemChargeAmount": "110", "measurementUnit": "UN", "serviceUnitCount": "1",
                    "compositeDiagnosisCodePointers": {"diagnosisCodePointers": ["1", "2"]}}},
                {"serviceDate": "20240105", "serviceDateEnd": "20240106", "professionalService": {
                    "procedureIdentifier": "HC", "procedureCode": "36415", "lineItemChargeAmount": "40.00",
                    "measurementUnit": "UN", "serviceUnitCount": "1",
                    "compositeDiagnosisCodePointers": {"diagnosisCodePointers": ["1"]}}},
            ],
        },
    }  # fmt: skip
    for path, value in changes.items():
        target = data
        *parents, last = path.split("__")
        for part in parents:
            target = target[part]
        if value is None:
            target.pop(last, None)
        else:
            target[last] = value
    return data


def test_837p_layout_segment_by_segment() -> None:
    request = validated("professional", professional_request())
    text = claims_to_837p([request], envelope(), batch_id="BATCH42")
    assert errors(text) == []
    segments = [s.strip("\n") for s in text.split("~") if s.strip()]
    body = segments[segments.index("ST*837*0001*005010X222A1") : segments.index("GE*1*45")]
    assert body[:6] == [
        "ST*837*0001*005010X222A1",
        "BHT*0019*00*BATCH42*20240601*0930*CH",
        "NM1*41*2*ACME BILLING*****46*SUBMITTER01",
        "PER*IC*DESK*TE*3125550100",
        "NM1*40*2*CLEARINGHOUSE*****46*RECEIVER01",
        "HL*1**20*1",
    ]
    for expected in (
        "HL*2*1*22*0", "SBR*P*18*******CI", "NM1*IL*1*DOE*JANE****MI*W123456789", "DMG*D8*19800115*F",
        "NM1*PR*2*UNITED HEALTHCARE*****PI*87726", "N4*CHICAGO*IL*606011234", "REF*EI*361234567",
        "NM1*85*2*LAKESIDE CLINIC*****XX*" + request.billing.npi,
    ):  # fmt: skip
        assert expected in body, expected
    assert body[body.index("CLM*PCN0001*150.00***11:B:1*Y*A*Y*Y") + 1] == "HI*ABK:E119*ABF:I10"
    assert body[-7:-1] == [
        "LX*1", "SV1*HC:99213:25*110.00*UN*1***1:2", "DTP*472*D8*20240105",
        "LX*2", "SV1*HC:36415*40.00*UN*1***1", "DTP*472*RD8*20240105-20240106",
    ]  # fmt: skip
    assert body[-1] == f"SE*{len(body)}*0001"


def test_837i_envelope_and_claim_segments() -> None:
    data = {
        **{k: v for k, v in professional_request().items() if k != "claimInformation"},
        "claimInformation": {
            "claimFilingCode": "MA", "patientControlNumber": "H1", "claimChargeAmount": "300.00",
            "placeOfServiceCode": "13", "claimFrequencyCode": "1", "planParticipationCode": "A",
            "benefitsAssignmentCertificationIndicator": "Y", "releaseInformationCode": "Y",
            "claimCodeInformation": {"admissionTypeCode": "1", "admissionSourceCode": "7", "patientStatusCode": "01"},
            "claimDateInformation": {"statementBeginDate": "20240101", "statementEndDate": "20240103",
                                     "admissionDateAndHour": "202401010815", "dischargeHour": "1130"},
            "principalDiagnosis": {"qualifierCode": "ABK", "principalDiagnosisCode": "J45.909",
                                   "presentOnAdmissionIndicator": "Y"},
            "admittingDiagnosis": {"qualifierCode": "ABJ", "admittingDiagnosisCode": "R0602"},
            "otherDiagnosisInformationList": [{"qualifierCode": "ABF", "otherDiagnosisCode": "I10"}],
            "valueInformationList": [{"valueCode": "80", "valueCodeAmount": "2"}],
            "serviceLines": [{"serviceDate": "20240101", "institutionalService": {
                "serviceLineRevenueCode": "0450", "procedureIdentifier": "HC", "procedureCode": "99284",
                "lineItemChargeAmount": "300", "measurementUnit": "UN", "serviceUnitCount": "1"}}],
        },
    }  # fmt: skip
    request = validated("institutional", data)
    text = claims_to_837i([request], envelope())
    assert errors(text) == []
    for expected in (
        "GS*HC*SUBMITTER01*RECEIVER01*20240601*0930*45*X*005010X223A2", "ST*837*0001*005010X223A2",
        "CLM*H1*300.00***13:A:1**A*Y*Y", "DTP*096*TM*1130", "DTP*434*RD8*20240101-20240103",
        "DTP*435*DT*202401010815", "CL1*1*7*01", "HI*ABK:J45909:::::::Y", "HI*ABJ:R0602", "HI*ABF:I10",
        "HI*BE:80:::2.00", "LX*1", "SV2*0450*HC:99284*300.00*UN*1", "DTP*472*D8*20240101",
    ):  # fmt: skip
        assert f"{expected}~" in text, expected


def test_claims_share_hierarchy_loops_and_new_header_starts_a_new_set() -> None:
    one = validated("professional", professional_request())
    two = validated("professional", professional_request(claimInformation__patientControlNumber="PCN0002"))
    other = validated("professional", professional_request(submitter={
        "organizationName": "OTHER BILLING", "contactInformation": {"phoneNumber": "3125550199"}}))  # fmt: skip
    text = claims_to_837p([one, two, other], envelope(transaction=30))
    assert errors(text) == []
    sets = read_transactions(text.encode())
    assert [t.control_number for t in sets] == ["0030", "0031"]
    first = sets[0].body
    assert (
        len(list(first.walk("2000A"))) == 1 and len(list(first.walk("2000B"))) == 1
    )  # one billing, one subscriber
    assert [c.first("CLM").get(1) for c in first.walk("2300")] == ["PCN0001", "PCN0002"]
    back = x12_837p_to_claims(text)
    assert [b.submitter.organization_name for b in back] == ["ACME BILLING", "ACME BILLING", "OTHER BILLING"]


def test_five_thousand_and_one_claims_make_two_transaction_sets() -> None:
    base = validated("professional", professional_request())
    dependent = validated("professional", professional_request(dependent={
        "firstName": "TOM", "lastName": "DOE", "gender": "M", "dateOfBirth": "20100203",
        "relationshipToSubscriberCode": "19",
        "address": {"address1": "1 MAIN ST", "city": "CHICAGO", "state": "IL", "postalCode": "60601"}}))  # fmt: skip
    claims = []
    for i in range(5001):
        template = dependent if i >= 4950 else base
        info = template.claim_information.model_copy(update={"patient_control_number": f"PCN{i:06d}"})
        claims.append(template.model_copy(update={"claim_information": info}))
    env = envelope(transaction=41)
    text = claims_to_837p(claims, env)
    report = validate(text.encode())
    assert report.accepted, [f.message for f in report.all_findings() if f.severity == "error"][:5]
    assert not [f for f in report.all_findings() if f.severity == "error"]
    (interchange,) = report.interchanges
    assert interchange.control_number.lstrip("0") == "123"  # ISA13 as handed in
    (group,) = interchange.groups
    assert group.control_number == "45"  # GS06 as handed in
    assert [t.control_number for t in group.transactions] == ["0041", "0042"]  # ST02 counting up
    sets = read_transactions(text.encode())
    assert [len(list(t.body.walk("2300"))) for t in sets] == [5000, 1]
    # no HL holds more than 100 claims, as the guide allows
    assert (
        max(
            len(loop.loops("2300")) for t in sets for name in ("2000B", "2000C") for loop in t.body.walk(name)
        )
        == 100
    )
    back = x12_837p_to_claims(text)
    assert [b.claim_information.patient_control_number for b in back] == [f"PCN{i:06d}" for i in range(5001)]
    assert (
        back[4949].dependent is None and back[4950].dependent is not None and back[5000].dependent is not None
    )


ADDRESS = {"address1": "1 MAIN ST", "city": "MIAMI", "state": "FL", "postalCode": "33111"}
ADDRESS9 = {**ADDRESS, "postalCode": "331110000"}


def full_professional() -> dict[str, Any]:
    """A professional claim using every part the 837P mapper writes."""
    data = professional_request()
    data["submitter"]["contactInformation"] = {"name": "JO", "phoneNumber": "5555551212", "phoneExtension": "12",
                                               "faxNumber": "5555551213", "email": "desk@example.com"}  # fmt: skip
    data["subscriber"].update({"groupNumber": "G1", "subscriberGroupName": "ACME INC", "insuranceTypeCode": "12",
                               "ssn": "123456789", "contactInformation": {"name": "JANE", "phoneNumber": "3125550101"},
                               "middleName": "Q", "suffix": "JR"})  # fmt: skip
    data["billing"].update({"taxonomyCode": "207Q00000X", "stateLicenseNumber": "L1", "providerUpinNumber": "U1",
                            "contactInformation": {"name": "B", "phoneNumber": "5555551212", "email": "b@example.com",
                                                   "faxNumber": "5555551214", "phoneExtension": "2"}})  # fmt: skip
    data["rendering"] = {"providerType": "RenderingProvider", "npi": make_npi(123456788), "lastName": "REN",
                         "firstName": "DR", "taxonomyCode": "207Q00000X", "commercialNumber": "C1",
                         "locationNumber": "LOC1"}  # fmt: skip
    data["referring"] = {"providerType": "ReferringProvider", "npi": make_npi(123456787), "lastName": "REFER",
                         "stateLicenseNumber": "S9"}  # fmt: skip
    data["supervising"] = {
        "providerType": "SupervisingProvider",
        "lastName": "SUPER",
        "providerUpinNumber": "U7",
    }
    data["payToAddress"] = {"address1": "2 PAY ST", "city": "MIAMI", "state": "FL", "postalCode": "33111"}
    data["payToPlan"] = {"organizationName": "PLAN", "primaryIdentifierTypeCode": "PI", "primaryIdentifier": "PL1",
                         "address": ADDRESS, "secondaryIdentifierTypeCode": "2U", "secondaryIdentifier": "S1",
                         "taxIdentificationNumber": "111111111"}  # fmt: skip
    data["payerAddress"] = {"address1": "PO BOX 1", "city": "ATLANTA", "state": "GA", "postalCode": "30303"}
    info = data["claimInformation"]
    info.update({
        "patientSignatureSourceCode": "P", "relatedCausesCode": ["AA", "EM"], "autoAccidentStateCode": "FL",
        "autoAccidentCountryCode": "US", "specialProgramCode": "02", "delayReasonCode": "1",
        "deathDate": "20240110", "patientWeight": "150.5", "pregnancyIndicator": "Y",
        "propertyCasualtyClaimNumber": "PC1", "patientAmountPaid": "5",
        "claimDateInformation": {
            "symptomDate": "20240101", "initialTreatmentDate": "20240101", "lastSeenDate": "20231201",
            "acuteManifestationDate": "20240101", "accidentDate": "20240101", "lastMenstrualPeriodDate": "20231215",
            "lastXRayDate": "20240102", "hearingAndVisionPrescriptionDate": "20240102",
            "disabilityBeginDate": "20240101", "disabilityEndDate": "20240105", "lastWorkedDate": "20231231",
            "authorizedReturnToWorkDate": "20240110", "admissionDate": "20240101", "dischargeDate": "20240102",
            "assumedAndRelinquishedCareBeginDate": "20240101", "assumedAndRelinquishedCareEndDate": "20240102",
            "firstContactDate": "20240101", "repricerReceivedDate": "20240103",
        },
        "claimContractInformation": {"contractTypeCode": "02", "contractAmount": "10", "contractPercentage": "5",
                                     "contractCode": "CC", "termsDiscountPercentage": "1",
                                     "contractVersionIdentifier": "V1"},
        "claimSupplementalInformation": {
            "priorAuthorizationNumber": "PA1", "referralNumber": "RF1", "claimNumber": "CN1",
            "medicalRecordNumber": "MR1", "cliaNumber": "CL1", "serviceAuthorizationExceptionCode": "1",
            "medicareCrossoverReferenceId": "Y", "mammographyCertificationNumber": "M1", "repricedClaimNumber": "R9",
            "adjustedRepricedClaimNumber": "R8", "investigationalDeviceExemptionNumber": "IDE",
            "demoProjectIdentifier": "D1", "carePlanOversightNumber": "CP",
            "reportInformations": [{"attachmentReportTypeCode": "03", "attachmentTransmissionCode": "BM",
                                    "attachmentControlNumber": "AC1"}, {"attachmentReportTypeCode": "OZ",
                                                                        "attachmentTransmissionCode": "AA"}],
        },
        "claimNote": {"certificationNarrative": "NOTE"},
        "ambulanceTransportInformation": {"patientWeightInPounds": "150", "ambulanceTransportReasonCode": "A",
                                          "transportDistanceInMiles": "10.5", "roundTripPurposeDescription": "RT",
                                          "stretcherPurposeDescription": "ST"},
        "ambulancePickUpLocation": ADDRESS, "ambulanceDropOffLocation": {**ADDRESS, "address2": "BAY 2"},
        "homeboundIndicator": True,
        "conditionInformation": [{"conditionCode": "01"}, {"conditionCode": "AB"}],
        "serviceFacilityLocation": {
            "organizationName": "FAC", "npi": make_npi(123456786), "address": ADDRESS9, "phoneName": "FN",
            "phoneNumber": "3125550102", "phoneExtension": "2", "secondaryIdentifier": [{"qualifier": "G2",
                                                                                        "identifier": "X"}],
        },
        "otherSubscriberInformation": [{
            "paymentResponsibilityLevelCode": "S", "individualRelationshipCode": "18",
            "insuranceGroupOrPolicyNumber": "G", "otherInsuredGroupName": "OTHER GROUP", "insuranceTypeCode": "47",
            "claimFilingIndicatorCode": "CI", "benefitsAssignmentCertificationIndicator": "Y",
            "patientSignatureGeneratedForPatient": True, "releaseOfInformationCode": "Y", "payerPaidAmount": "10",
            "nonCoveredChargeAmount": "1", "remainingPatientLiability": "2",
            "claimLevelAdjustments": [{"adjustmentGroupCode": "CO", "adjustmentDetails": [
                {"adjustmentReasonCode": "45", "adjustmentAmount": "5", "adjustmentQuantity": "1"},
                {"adjustmentReasonCode": "253", "adjustmentAmount": "0.5"}]}],
            "otherSubscriberName": {"otherInsuredQualifier": "1", "otherInsuredLastName": "DOE",
                                    "otherInsuredFirstName": "J", "otherInsuredMiddleName": "K",
                                    "otherInsuredSuffix": "SR", "otherInsuredIdentifierTypeCode": "MI",
                                    "otherInsuredIdentifier": "M2", "otherInsuredAdditionalIdentifier": "123456789",
                                    "otherInsuredAddress": ADDRESS},
            "otherPayerName": {"otherPayerOrganizationName": "OP", "otherPayerIdentifierTypeCode": "PI",
                               "otherPayerIdentifier": "OP1", "otherPayerAddress": ADDRESS,
                               "otherPayerAdjudicationOrPaymentDate": "20240201",
                               "otherPayerSecondaryIdentifier": [{"qualifier": "2U", "identifier": "Z"}],
                               "otherPayerPriorAuthorizationNumber": "P",
                               "otherPayerPriorAuthorizationOrReferralNumber": "R",
                               "otherPayerClaimAdjustmentIndicator": True, "otherPayerClaimControlNumber": "F8"},
        }],
    })  # fmt: skip
    first = info["serviceLines"][0]
    first["professionalService"].update({"description": "OFFICE VISIT", "placeOfServiceCode": "11",
                                         "emergencyIndicator": "Y", "epsdtIndicator": "Y",
                                         "familyPlanningIndicator": "Y", "copayStatusCode": "0",
                                         "procedureModifiers": ["25", "59", "RT", "LT"]})  # fmt: skip
    first.update({
        "providerControlNumber": "L1", "salesTaxAmount": "1", "postageTaxAmount": "2",
        "goalRehabOrDischargePlans": "GOAL", "thirdPartyOrganizationNotes": "T",
        "drugIdentification": {"serviceIdQualifier": "N4", "nationalDrugCode": "00026063512",
                               "nationalDrugUnitCount": "10.125", "measurementUnitCode": "ML",
                               "pharmacyPrescriptionNumber": "RX1"},
        "renderingProvider": {"providerType": "RenderingProvider", "npi": make_npi(123456785),
                              "organizationName": "LINE GROUP", "taxonomyCode": "207Q00000X",
                              "stateLicenseNumber": "S"},
        "purchasedServiceProvider": {"providerType": "PurchasedServiceProvider", "npi": make_npi(123456784),
                                     "commercialNumber": "PS1"},
        "serviceFacilityLocation": {"organizationName": "LF", "address": ADDRESS9,
                                    "secondaryIdentifier": [{"qualifier": "LU", "identifier": "LU1"}]},
        "supervisingProvider": {"providerType": "SupervisingProvider", "lastName": "LS", "locationNumber": "LX"},
        "orderingProvider": {"providerType": "OrderingProvider", "lastName": "LO", "firstName": "ORD",
                             "address": ADDRESS, "contactInformation": {"name": "ON", "phoneNumber": "3125550103",
                                                                        "email": "o@example.com"},
                             "providerUpinNumber": "U"},
        "referringProvider": {"providerType": "ReferringProvider", "lastName": "LRF", "npi": make_npi(123456783)},
        "ambulanceTransportInformation": {"ambulanceTransportReasonCode": "B", "transportDistanceInMiles": "3"},
        "ambulancePickUpLocation": ADDRESS, "ambulanceDropOffLocation": ADDRESS,
    })  # fmt: skip
    data["dependent"] = {"lastName": "DOE", "firstName": "KID", "middleName": "Z", "suffix": "II", "gender": "F",
                         "dateOfBirth": "20100101", "relationshipToSubscriberCode": "19", "memberId": "K1",
                         "address": ADDRESS, "contactInformation": {"phoneNumber": "3125550104",
                                                                    "phoneExtension": "9"}}  # fmt: skip
    return data


def full_institutional() -> dict[str, Any]:
    """An institutional claim using every part the 837I mapper writes."""
    base = professional_request()
    data = {key: base[key] for key in ("controlNumber", "tradingPartnerServiceId", "tradingPartnerName", "submitter",
                                       "receiver", "subscriber", "billing")}  # fmt: skip
    data["subscriber"].update({"groupNumber": "G1", "subscriberGroupName": "ACME INC", "ssn": "123456789"})
    data["billing"].update({"taxonomyCode": "282N00000X",
                            "contactInformation": {"name": "B", "phoneNumber": "3125550105"}})  # fmt: skip
    data.update({
        "attending": {"providerType": "AttendingProvider", "npi": make_npi(123456788), "lastName": "ATT",
                      "firstName": "AL", "taxonomyCode": "207Q00000X", "stateLicenseNumber": "S1",
                      "commercialNumber": "C2"},
        "rendering": {"providerType": "RenderingProvider", "lastName": "REN", "locationNumber": "L5"},
        "referring": {"providerType": "ReferringProvider", "lastName": "REF", "npi": make_npi(123456787)},
        "operatingPhysician": {"lastName": "OP", "firstName": "OTTO", "npi": make_npi(123456786),
                               "identificationQualifierCode": "G2", "secondaryIdentifier": "X"},
        "otherOperatingPhysician": {"lastName": "OOP", "identificationQualifierCode": "0B",
                                    "secondaryIdentifier": "LIC"},
        "billingPayToAddressName": {"entityTypeQualifier": "2", "address": ADDRESS},
        "payToPlan": {"organizationName": "PLAN", "primaryIdentifierTypeCode": "XV", "primaryIdentifier": "PL1",
                      "address": ADDRESS, "taxIdentificationNumber": "111111111"},
        "payerAddress": ADDRESS,
        "dependent": {"lastName": "DOE", "firstName": "KID", "gender": "M", "dateOfBirth": "20100101",
                      "relationshipToSubscriberCode": "19", "ssn": "987654321", "address": ADDRESS},
    })  # fmt: skip
    data["claimInformation"] = {
        "claimFilingCode": "MA", "propertyCasualtyClaimNumber": "PC9", "patientControlNumber": "PCN1",
        "claimChargeAmount": "150.5", "placeOfServiceCode": "11", "claimFrequencyCode": "7",
        "planParticipationCode": "A", "benefitsAssignmentCertificationIndicator": "Y", "releaseInformationCode": "Y",
        "delayReasonCode": "3", "patientEstimatedAmountDue": "10", "billingNote": "BILL NOTE",
        "claimCodeInformation": {"admissionTypeCode": "1", "admissionSourceCode": "7", "patientStatusCode": "01"},
        "claimDateInformation": {"statementBeginDate": "20240101", "statementEndDate": "20240105",
                                 "admissionDateAndHour": "202401010830", "dischargeHour": "1400",
                                 "repricerReceivedDate": "20240110"},
        "claimContractInformation": {"contractTypeCode": "01", "contractAmount": "5"},
        "claimSupplementalInformation": {
            "priorAuthorizationNumber": "PA", "referralNumber": "RF", "autoAccidentState": "FL",
            "peerReviewAuthorizationNumber": "PR", "claimControlNumber": "F8", "repricedClaimNumber": "R1",
            "adjustedRepricedClaimNumber": "R2", "investigationalDeviceExemptionNumber": "IDE", "claimNumber": "D9",
            "medicalRecordNumber": "MR", "demoProjectIdentifier": "DP", "serviceAuthorizationExceptionCode": "4",
            "reportInformations": [{"attachmentReportTypeCode": "03", "attachmentTransmissionCode": "AA"}],
        },
        "claimNotes": {"allergies": ["PEANUTS"], "medications": ["A", "B"], "updatedInformation": ["U"],
                       "dme": ["WHEELCHAIR"], "safetyMeasures": ["RAILS"]},
        "principalDiagnosis": {"qualifierCode": "ABK", "principalDiagnosisCode": "E11.9",
                               "presentOnAdmissionIndicator": "Y"},
        "admittingDiagnosis": {"qualifierCode": "ABJ", "admittingDiagnosisCode": "R509"},
        "patientReasonForVisits": [{"qualifierCode": "APR", "patientReasonForVisitCode": "R05"},
                                   {"qualifierCode": "APR", "patientReasonForVisitCode": "R0602"}],
        "externalCauseOfInjuries": [{"qualifierCode": "ABN", "externalCauseOfInjury": "V0001XA",
                                     "presentOnAdmissionIndicator": "N"}],
        "diagnosisRelatedGroupInformation": {"drugRelatedGroupCode": "470"},
        "otherDiagnosisInformationList": [{"qualifierCode": "ABF", "otherDiagnosisCode": f"Z{i:02d}0"}
                                          for i in range(14)],
        "principalProcedureInformation": {"qualifierCode": "BBR", "principalProcedureCode": "0SR9019",
                                          "principalProcedureDate": "20240102"},
        "otherProcedureInformationList": [{"qualifierCode": "BBQ", "otherProcedureCode": "0SR9019",
                                           "otherProcedureDate": "20240103"}],
        "occurrenceSpanInformations": [{"occurrenceSpanCode": "70", "occurrenceSpanCodeStartDate": "20240101",
                                        "occurrenceSpanCodeEndDate": "20240102"}],
        "occurrenceInformationList": [{"occurrenceSpanCode": "11", "occurrenceSpanCodeDate": "20231231"}],
        "valueInformationList": [{"valueCode": "80", "valueCodeAmount": "4"},
                                 {"valueCode": "A1", "valueCodeAmount": "-12.5"}],
        "conditionCodesList": [{"conditionCode": "09"}],
        "treatmentCodeInformationList": [{"treatmentCode": "T1"}],
        "serviceFacilityLocation": {"organizationName": "FAC", "address": ADDRESS9,
                                    "identificationCode": make_npi(123456785),
                                    "secondaryIdentificationQualifierCode": "LU", "secondaryIdentifier": "L"},
        "otherSubscriberInformation": {
            "paymentResponsibilityLevelCode": "S", "individualRelationshipCode": "01", "claimFilingIndicatorCode": "CI",
            "benefitsAssignmentCertificationIndicator": "Y", "releaseOfInformationCode": "Y", "payerPaidAmount": "1",
            "nonCoveredChargeAmount": "2", "remainingPatientLiability": "3",
            "otherSubscriberName": {"otherInsuredQualifier": "2", "otherInsuredLastName": "ACME",
                                    "otherInsuredIdentifierTypeCode": "MI", "otherInsuredIdentifier": "M2",
                                    "otherInsuredAdditionalIdentifier": "ABC"},
            "otherPayerName": {"otherPayerOrganizationName": "OP", "otherPayerIdentifierTypeCode": "PI",
                               "otherPayerIdentifier": "OP1"},
        },
        "serviceLines": [
            {"serviceDate": "20240101", "lineItemControlNumber": "L1", "repricedLineItemReferenceNumber": "R",
             "adjustedRepricedLineItemReferenceNumber": "AR", "serviceTaxAmount": "1", "facilityTaxAmount": "2",
             "thirdPartyOrganizationNotes": "TPO",
             "institutionalService": {"serviceLineRevenueCode": "0450", "procedureIdentifier": "HC",
                                      "procedureCode": "99284", "procedureModifiers": ["25"], "description": "ER",
                                      "lineItemChargeAmount": "100.5", "measurementUnit": "UN",
                                      "serviceUnitCount": "1", "nonCoveredChargeAmount": "0"},
             "drugIdentification": {"serviceIdQualifier": "N4", "nationalDrugCode": "00026063512",
                                    "nationalDrugUnitCount": "1", "measurementUnitCode": "UN",
                                    "linkSequenceNumber": "1"},
             "operatingPhysician": {"lastName": "LOP"}, "otherOperatingPhysician": {"lastName": "LOOP"},
             "renderingProvider": {"providerType": "RenderingProvider", "lastName": "LREN"},
             "referringProvider": {"providerType": "ReferringProvider", "lastName": "LREF"}},
            {"serviceDate": "20240101", "serviceDateEnd": "20240105",
             "institutionalService": {"serviceLineRevenueCode": "0120", "lineItemChargeAmount": "50",
                                      "measurementUnit": "DA", "serviceUnitCount": "4"}},
        ],
    }  # fmt: skip
    return data


def test_full_professional_claim_round_trip() -> None:
    request = validated("professional", full_professional())
    env = envelope()
    text = claims_to_837p([request, request], env)  # the second claim shares every hierarchy loop
    assert errors(text) == []
    assert text.count("HL*") == 3
    back = x12_837p_to_claims(text)
    assert [b.to_json() for b in back] == [normalised(request, env)] * 2


def test_full_institutional_claim_round_trip() -> None:
    request = validated("institutional", full_institutional())
    env = envelope("T")
    text = claims_to_837i([request], env)
    assert errors(text) == []
    assert "HI*ABF:Z000*ABF:Z010*ABF:Z020" in text and "\nHI*ABF:Z120*ABF:Z130~" in text  # 14 codes, two HI
    (back,) = x12_837i_to_claims(text)
    assert back.to_json() == normalised(request, env)


def test_what_the_837_drops_or_reshapes() -> None:
    data = full_professional()
    data["tradingPartnerId"] = "OPTUM-ID"  # no place in the 837
    data["ordering"] = {"providerType": "OrderingProvider", "lastName": "ORDERS"}  # 837P: line level only
    data["subscriber"]["policyNumber"] = "POLICY"  # SBR03 holds the group number
    line = data["claimInformation"]["serviceLines"][0]
    line["purchasedServiceProvider"]["organizationName"] = "NO NAME IN 2420B"
    info = data["claimInformation"]
    info["claimSupplementalInformation"]["reportInformation"] = {"attachmentReportTypeCode": "07",
                                                                 "attachmentTransmissionCode": "FX"}  # fmt: skip
    request = validated("professional", data)
    text = claims_to_837p([request], envelope())
    assert errors(text) == []
    (back,) = x12_837p_to_claims(text)
    assert back.trading_partner_id is None and back.ordering is None
    assert back.subscriber.group_number == "G1" and back.subscriber.policy_number is None
    assert back.claim_information.service_lines[0].purchased_service_provider.organization_name is None
    reports = back.claim_information.claim_supplemental_information.report_informations
    assert [r.attachment_report_type_code for r in reports] == ["07", "03", "OZ"]


# ======================================================== what the 837 cannot carry


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"billing__address__postalCode": "60601"}, "billing.address.postalCode"),  # 2010AA N403 needs 9 digits
        ({"subscriber__memberId": "7"}, "subscriber.memberId"),  # NM109 needs 2 characters
        ({"dependent": {"lastName": "DOE", "gender": "M", "dateOfBirth": "20100101",
                        "relationshipToSubscriberCode": "19"}}, "dependent"),  # 2010CA N3/N4 are required
        ({"submitter": {"organizationName": "ACME", "contactInformation": {"name": "NOBODY"}}},
         "submitter.contactInformation"),  # 1000A PER needs a number
        ({"claimInformation__claimNote": {"additionalInformation": "A", "diagnosisDescription": "B"}},
         "claimInformation.claimNote"),  # one NTE in 2300
    ],
)  # fmt: skip
def test_unwritable_values_are_refused_with_their_path(changes: dict[str, Any], path: str) -> None:
    data = professional_request(**changes)
    request = ProfessionalClaimRequest.model_validate(data)  # the schema allows them
    with pytest.raises(ClaimMappingError) as caught:
        claims_to_837p([request], envelope())
    paths = [p.path for p in caught.value.problems]
    assert any(p == path or p.startswith(f"{path}.") for p in paths), paths


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"subscriber__middleName": "M" * 30}, "subscriber.middleName"),  # NM105 holds 25
        ({"subscriber__address__city": "X"}, "subscriber.address.city"),  # N401 needs 2 characters
        ({"subscriber__address__state": "PW"}, "subscriber.address.state"),  # not in the X12 state list
        ({"subscriber__address__state": "UM"}, "subscriber.address.state"),
    ],
)  # fmt: skip
def test_values_the_837_cannot_carry_are_refused_by_the_request_checks(changes: dict[str, Any], path: str) -> None:
    _, problems = validate_request("professional", professional_request(**changes), today=date(2024, 6, 1))
    assert path in [p.path for p in problems]


def test_problem_paths_name_the_claim_in_a_batch() -> None:
    good = validated("professional", professional_request())
    bad = ProfessionalClaimRequest.model_validate(professional_request(billing__address__postalCode="60601"))
    with pytest.raises(ClaimMappingError) as caught:
        claims_to_837p([good, bad], envelope())
    assert [p.path for p in caught.value.problems] == ["[1].billing.address.postalCode"]


def test_text_is_made_fit_for_x12() -> None:
    data = professional_request(subscriber__lastName="NÚÑEZ*O'BRIEN~", subscriber__firstName="ANNE:MARIE^ ")
    request = validated("professional", data)
    text = claims_to_837p([request], envelope())
    assert errors(text) == []
    assert "NM1*IL*1*NUNEZ O'BRIEN*ANNE MARIE****MI*W123456789~" in text
    (back,) = x12_837p_to_claims(text)
    assert (back.subscriber.last_name, back.subscriber.first_name) == ("NUNEZ O'BRIEN", "ANNE MARIE")


def test_partner_delimiters() -> None:
    env = envelope()
    env.delimiters = Delimiters(element="|", component=">", repetition="!", segment="\n", line_break="")
    data = professional_request(subscriber__lastName="SMITH|JONES>X")
    request = validated("professional", data)
    text = claims_to_837p([request], env)
    assert errors(text) == []
    assert "\nNM1|IL|1|SMITH JONES X|JANE||||MI|W123456789\n" in text
    assert "\nSV1|HC>99213>25|110.00|UN|1|||1>2\n" in text
    (back,) = x12_837p_to_claims(text)
    assert back.claim_information.service_lines[0].professional_service.procedure_modifiers == ["25"]


def test_providers_list_gives_the_billing_provider() -> None:
    data = professional_request()
    data["providers"] = [data.pop("billing")]
    request = validated("professional", data)
    text = claims_to_837p([request], envelope())
    assert errors(text) == []
    (back,) = x12_837p_to_claims(text)
    assert (
        back.billing.organization_name == "LAKESIDE CLINIC"
        and back.billing.provider_type == "BillingProvider"
    )


def test_empty_batch_is_refused() -> None:
    with pytest.raises(ClaimMappingError):
        claims_to_837p([], envelope())


def test_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks.bench_translate import generate_claims, main, synthetic_835

    assert [c.claim_information.patient_control_number for c in generate_claims(3, seed=1)] == [
        c.claim_information.patient_control_number for c in generate_claims(3, seed=1)]  # fmt: skip
    assert b"ST*835*112233*005010X221A1~" in synthetic_835(5)
    assert main(["--claims", "25"]) == 0
    out = capsys.readouterr().out
    assert "JSON -> 837P" in out and "835 -> JSON" in out and "X12 validation" in out
