"""The payer-side writers: EligibilityResponse -> 271, claim verdicts -> 277CA, claim payments -> 835.

Each output must pass the project's own validator with zero error findings, and read back through
the engine's readers (`x12_271_to_responses`, `x12_277ca_to_reports`, `x12_835_to_reports`) to the
values written: member ids, EB codes, amounts and service types, AAA codes; patient control numbers,
status categories and codes, payer claim control numbers; payment amounts, per-claim charge, paid and
patient responsibility, CAS groups, reasons and amounts, service line procedure codes.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from edi.mappers.claim_acknowledgment import x12_277ca_to_reports
from edi.mappers.claim_acknowledgment_writer import (
    ACCEPTED,
    REJECTED,
    ClaimStatus,
    ClaimVerdict,
    claims_to_277ca,
)
from edi.mappers.eligibility import NotRepresentable, request_to_270, x12_271_to_responses
from edi.mappers.eligibility_response import echoes_from_270, response_to_271
from edi.mappers.envelope import Envelope
from edi.mappers.institutional import x12_837i_to_claims
from edi.mappers.professional import x12_837p_to_claims
from edi.mappers.remittance import x12_835_to_reports
from edi.mappers.remittance_writer import (
    Adjustment,
    ClaimPayment,
    LinePayment,
    Payer,
    PaymentMethod,
    ProviderAdjustment,
    Unbalanced,
    payments_to_835,
)
from edi.models.claims import ProfessionalClaimRequest
from edi.models.eligibility import (
    AaaError,
    AdditionalInformation,
    BenefitsDateInformation,
    BenefitsInformation,
    BenefitsRelatedEntity,
    EligibilityRequest,
    EligibilityResponse,
    EligibilityResponseDependent,
    EligibilityResponsePayer,
    EligibilityResponseSubscriber,
    PlanDateInformation,
    PlanInformation,
)
from edi.x12.validator import validate

FIXTURES = Path(__file__).parent / "fixtures" / "x12"
SAMPLE_270 = FIXTURES / "270_005010X279A1" / "subscriber-health-benefit-check.270"
SAMPLE_271 = FIXTURES / "271_005010X279A1" / "subscriber-health-benefit-check.271"
EXAMPLE_837P = FIXTURES / "837_005010X222A2" / "demo.example1.837"
TWO_837I = FIXTURES / "837_005010X223A3" / "two-claims-single-provider.837i"
NOW = datetime(2024, 5, 1, 9, 30)


def envelope(**overrides: Any) -> Envelope:
    values: dict[str, Any] = dict(
        sender_id="SIMPLAN01",
        receiver_id="ENGINE01",
        interchange_control_number=11,
        group_control_number=12,
        transaction_control_number=13,
        now=NOW,
    )
    values.update(overrides)
    return Envelope(**values)


def assert_valid(text: str) -> None:
    """Zero error findings in our validator, and every transaction set accepted."""
    report = validate(text.encode())
    errors = [(f.code, f.segment_id, f.message) for f in report.all_findings() if f.severity == "error"]
    assert errors == []
    assert report.accepted


def segments(text: str) -> list[str]:
    return [s.strip() for s in text.split("~") if s.strip()]


# ================================================================================ 271


def eligibility_request(**subscriber: Any) -> EligibilityRequest:
    data = {
        "controlNumber": "123456789",
        "tradingPartnerServiceId": "SIMPLAN01",
        "provider": {"organizationName": "HAPPY CLINIC", "npi": "1234567893", "taxId": "123456789"},
        "subscriber": {
            "memberId": "SIM00001",
            "firstName": "JOHN",
            "lastName": "DOE",
            "dateOfBirth": "19800115",
            **subscriber,
        },
        "encounter": {"serviceTypeCodes": ["30"], "dateOfService": "20240501"},
    }
    return EligibilityRequest.model_validate(data)


def active_response() -> EligibilityResponse:
    return EligibilityResponse(
        control_number="123456789",
        payer=EligibilityResponsePayer(name="SIMULATED HEALTH PLAN", payor_identification="SIMPLAN01"),
        subscriber=EligibilityResponseSubscriber(
            member_id="SIM00001",
            first_name="JOHN",
            last_name="DOE",
            date_of_birth="19800115",
            gender="M",
        ),
        plan_information=PlanInformation(
            group_number="GRP100", group_description="GOLD PPO", plan_number="P1"
        ),
        plan_date_information=PlanDateInformation(plan_begin="20240101", plan_end="20241231"),
        benefits_information=[
            BenefitsInformation(
                code="1",
                coverage_level_code="IND",
                service_type_codes=["30", "1", "33", "98"],
                insurance_type_code="PR",
                plan_coverage="GOLD PPO",
                additional_information=[AdditionalInformation(description="PRIOR AUTH FOR IMAGING")],
                benefits_related_entities=[
                    BenefitsRelatedEntity(
                        entity_identifier="Primary Care Provider",
                        entity_type="Person",
                        entity_name="JONES",
                        entity_firstname="MARCUS",
                        entity_identification="XX",
                        entity_identification_value="1234567893",
                    )
                ],
            ),
            BenefitsInformation(
                code="B",
                coverage_level_code="IND",
                service_type_codes=["98", "UC"],
                time_qualifier_code="27",
                benefit_amount="25.00",
                in_plan_network_indicator_code="Y",
            ),
            BenefitsInformation(
                code="A", coverage_level_code="IND", service_type_codes=["30"], benefit_percent="0.2"
            ),
            BenefitsInformation(
                code="C",
                coverage_level_code="IND",
                service_type_codes=["30"],
                time_qualifier_code="23",
                benefit_amount="1500.00",
                benefits_date_information=BenefitsDateInformation(benefit_begin="20240101"),
            ),
            BenefitsInformation(
                code="C",
                coverage_level_code="IND",
                service_type_codes=["30"],
                time_qualifier_code="29",
                benefit_amount="750.00",
            ),
        ],
    )


def test_271_active_coverage_round_trips_through_the_reader() -> None:
    request = eligibility_request()
    text = response_to_271(active_response(), request, envelope())
    assert_valid(text)
    segs = segments(text)
    assert "BHT*0022*11*123456789*20240501*0930" in segs
    assert "TRN*2*123456789*1123456789" in segs  # the 270's TRN*1 (trace and originator) echoed
    assert "EB*1*IND*30^1^33^98*PR*GOLD PPO" in segs
    assert "EB*B*IND*98^UC***27*25.00*****Y" in segs
    assert "EB*A*IND*30*****0.2" in segs
    assert "LS*2120" in segs and "LE*2120" in segs

    (back,) = x12_271_to_responses(text.encode())
    assert back.control_number == "123456789"
    assert back.subscriber is not None and back.subscriber.member_id == "SIM00001"
    assert (back.subscriber.last_name, back.subscriber.date_of_birth, back.subscriber.gender) == (
        "DOE",
        "19800115",
        "M",
    )
    assert back.payer is not None and back.payer.payor_identification == "SIMPLAN01"
    assert back.provider is not None and back.provider.npi == "1234567893"
    assert back.plan_information is not None
    assert (back.plan_information.group_number, back.plan_information.group_description) == (
        "GRP100",
        "GOLD PPO",
    )
    assert back.plan_information.plan_number == "P1"
    assert back.plan_date_information == PlanDateInformation(plan_begin="20240101", plan_end="20241231")
    rows = [
        (
            b.code,
            b.coverage_level_code,
            b.service_type_codes,
            b.time_qualifier_code,
            b.benefit_amount,
            b.benefit_percent,
        )
        for b in back.benefits_information or []
    ]
    assert rows == [
        ("1", "IND", ["30", "1", "33", "98"], None, None, None),
        ("B", "IND", ["98", "UC"], "27", "25.00", None),
        ("A", "IND", ["30"], None, None, "0.2"),
        ("C", "IND", ["30"], "23", "1500.00", None),
        ("C", "IND", ["30"], "29", "750.00", None),
    ]
    active = back.benefits_information[0]  # type: ignore[index]
    assert active.plan_coverage == "GOLD PPO" and active.insurance_type_code == "PR"
    assert [m.description for m in active.additional_information or []] == ["PRIOR AUTH FOR IMAGING"]
    (pcp,) = active.benefits_related_entities or []
    assert (pcp.entity_identifier, pcp.entity_name, pcp.entity_identification_value) == (
        "Primary Care Provider",
        "JONES",
        "1234567893",
    )
    assert back.benefits_information[1].in_plan_network_indicator_code == "Y"  # type: ignore[index]
    assert back.benefits_information[3].benefits_date_information.benefit_begin == "20240101"  # type: ignore[index,union-attr]
    assert [s.status_code for s in back.plan_status or []] == ["1"]
    assert back.errors is None


def test_271_round_trip_of_the_sample_answers_the_sample_270() -> None:
    """A response read from a payer's 271, written back against the 270 it answers: same answer."""
    (original,) = x12_271_to_responses(SAMPLE_271.read_bytes())
    text = response_to_271(original, SAMPLE_270.read_text(), envelope())
    assert_valid(text)
    (back,) = x12_271_to_responses(text.encode())
    for name in ("subscriber", "payer", "plan_date_information", "benefits_information", "plan_status"):
        assert getattr(back, name) == getattr(original, name), name
    assert back.subscriber_trace_numbers == original.subscriber_trace_numbers
    assert back.control_number == original.control_number == "93175-012547"


@pytest.mark.parametrize(
    ("error", "segment"),
    [
        (AaaError(code="75", followup_action="C"), "AAA*Y**75*C"),  # subscriber not found
        (
            AaaError(code="72", followup_action="Please Correct and Resubmit"),
            "AAA*Y**72*C",
        ),  # invalid member id
        (AaaError(code="42", followup_action="R"), "AAA*N**42*R"),  # unable to respond now
        (AaaError(code="73", followup_action="C", validRequestIndicator="N"), "AAA*N**73*C"),
    ],
)
def test_271_subscriber_aaa_errors_without_benefits(error: AaaError, segment: str) -> None:
    response = EligibilityResponse(
        control_number="123456789", subscriber=EligibilityResponseSubscriber(aaa_errors=[error])
    )
    text = response_to_271(response, eligibility_request(memberId="NOPE01"), envelope())
    assert_valid(text)
    segs = segments(text)
    assert segment in segs
    assert not any(s.startswith("EB*") for s in segs)
    assert "NM1*IL*1*DOE*JOHN****MI*NOPE01" in segs  # the 270's subscriber echoed
    (back,) = x12_271_to_responses(text.encode())
    assert [(e.code, e.location) for e in back.errors or []] == [(error.code, "Loop 2100C")]
    assert [e.code for e in back.subscriber.aaa_errors or []] == [error.code]  # type: ignore[union-attr]
    assert back.benefits_information is None
    assert back.control_number == "123456789"


def test_271_errors_without_location_go_to_the_patient_and_are_not_repeated() -> None:
    aaa = AaaError(field="AAA", code="75", followup_action="C", location="Loop 2100C")
    response = EligibilityResponse(
        subscriber=EligibilityResponseSubscriber(aaa_errors=[aaa]),
        errors=[{"field": "AAA", "code": "75", "followupAction": "C", "location": "Loop 2100C"}],  # type: ignore[list-item]
    )
    text = response_to_271(response, eligibility_request(), envelope())
    assert [s for s in segments(text) if s.startswith("AAA")] == ["AAA*Y**75*C"]
    only_errors = EligibilityResponse(errors=[{"code": "72", "followupAction": "C"}])  # type: ignore[list-item]
    text = response_to_271(only_errors, eligibility_request(), envelope())
    assert_valid(text)
    assert "AAA*Y**72*C" in segments(text)


def test_271_payer_level_error_stops_at_the_payer() -> None:
    response = EligibilityResponse(
        payer=EligibilityResponsePayer(
            aaa_errors=[AaaError(code="42", followup_action="R", location="Loop 2000A")]
        )
    )
    text = response_to_271(response, eligibility_request(), envelope())
    assert_valid(text)
    segs = segments(text)
    assert "HL*1**20*0" in segs and "AAA*N**42*R" in segs
    assert not any(s.startswith("HL*2") for s in segs)
    (back,) = x12_271_to_responses(text.encode())
    assert [e.code for e in back.errors or []] == ["42"]
    assert back.payer is not None and back.payer.payor_identification == "SIMPLAN01"  # the 270's payer


def test_271_dependent_answer_uses_loops_2000d_and_2110d() -> None:
    data = eligibility_request().to_json()
    data["dependents"] = [{"firstName": "JANE", "lastName": "DOE", "dateOfBirth": "20100304"}]
    request = EligibilityRequest.model_validate(data)
    response = active_response().model_copy(
        update={
            "dependents": [
                EligibilityResponseDependent(
                    first_name="JANE",
                    last_name="DOE",
                    date_of_birth="20100304",
                    gender="F",
                    relation_to_subscriber_code="19",
                )
            ]
        }
    )
    text = response_to_271(response, request, envelope())
    assert_valid(text)
    segs = segments(text)
    assert "HL*4*3*23*0" in segs and "NM1*03*1*DOE*JANE" in segs and "INS*N*19" in segs
    assert segs.index("TRN*2*123456789*1123456789") > segs.index("HL*4*3*23*0")
    (back,) = x12_271_to_responses(text.encode())
    assert back.dependents is not None and back.dependents[0].first_name == "JANE"
    assert back.subscriber is not None and back.subscriber.member_id == "SIM00001"
    assert [b.code for b in back.benefits_information or []] == ["1", "B", "A", "C", "C"]
    assert back.control_number == "123456789"


def test_271_plan_status_without_benefit_rows_becomes_an_eb() -> None:
    response = EligibilityResponse(
        subscriber=EligibilityResponseSubscriber(member_id="SIM00003"),
        plan_status=[{"statusCode": "6", "serviceTypeCodes": ["30"]}],  # type: ignore[list-item]
    )
    text = response_to_271(response, eligibility_request(memberId="SIM00003"), envelope())
    assert_valid(text)
    assert "EB*6**30" in segments(text)


def test_271_echo_of_a_270_text_and_of_a_request_agree() -> None:
    request = eligibility_request()
    from_request = response_to_271(active_response(), request, envelope())
    from_text = response_to_271(active_response(), request_to_270(request, reversed_envelope()), envelope())
    assert from_request == from_text
    (echo,) = echoes_from_270(request_to_270(request, reversed_envelope()))
    assert (echo.service_types, echo.service_date, echo.trace_numbers) == (["30"], "20240501", ["123456789"])


def reversed_envelope() -> Envelope:
    return Envelope(sender_id="ENGINE01", receiver_id="SIMPLAN01", interchange_control_number=1,
                    group_control_number=1, now=NOW)  # fmt: skip


@pytest.mark.parametrize(
    ("response", "field"),
    [
        (
            EligibilityResponse(subscriber=EligibilityResponseSubscriber(aaa_errors=[AaaError(code="04")])),
            "subscriber.aaaErrors",
        ),
        (
            EligibilityResponse(plan_date_information=PlanDateInformation(period_start="20240101")),
            "planDateInformation.periodStart",
        ),
        (
            EligibilityResponse(benefits_information=[BenefitsInformation(code="ZZ")]),
            "benefitsInformation[0].code",
        ),
        (
            EligibilityResponse(
                benefits_information=[BenefitsInformation(code="1", coverage_level_code="XYZ")]
            ),
            "benefitsInformation[0].coverageLevelCode",
        ),
        (
            EligibilityResponse(
                benefits_information=[BenefitsInformation(code="1", service_type_codes=["30", "??"])]
            ),
            "benefitsInformation[0].serviceTypeCodes",
        ),
        (
            EligibilityResponse(plan_information=PlanInformation(alternative_list_id="A1")),
            "planInformation.alternativeListId",
        ),
    ],
)
def test_271_refuses_what_the_guide_does_not_allow(response: EligibilityResponse, field: str) -> None:
    with pytest.raises(NotRepresentable) as caught:
        response_to_271(response, eligibility_request(), envelope())
    assert caught.value.field == field


# ================================================================================ 277CA


def professional_claim() -> ProfessionalClaimRequest:
    (claim,) = x12_837p_to_claims(EXAMPLE_837P.read_bytes())
    return claim


def verdicts() -> list[ClaimVerdict]:
    institutional = x12_837i_to_claims(TWO_837I.read_bytes())
    return [
        ClaimVerdict(professional_claim(), True, [ACCEPTED], payer_claim_control_number="PCN0001"),
        ClaimVerdict(
            institutional[0],
            False,
            [
                ClaimStatus("A7", "562", "85"),
                ClaimStatus("A3", "21"),
                ClaimStatus("A3", "454"),
                ClaimStatus("A3", "187"),
            ],
            message="NPI NOT ON FILE",
            line_statuses={1: [ClaimStatus("A3", "454")]},
        ),
        ClaimVerdict(
            institutional[1], True, [ClaimStatus("A2", "20", "PR")], payer_claim_control_number="PCN0003"
        ),
    ]


def test_277ca_validates_and_round_trips_through_the_reader() -> None:
    text = claims_to_277ca(verdicts(), envelope(), receiver_id="ETIN0001")
    assert_valid(text)
    segs = segments(text)
    assert "ST*277*0013*005010X214" in segs
    assert "NM1*41*2*PREMIER BILLING SERVICE*****46*ETIN0001" in segs
    assert "STC*A7:562:85*20240501*U*89.95******A3:21*A3:454*NPI NOT ON FILE" in segs

    (report,) = x12_277ca_to_reports(text.encode())
    (transaction,) = report.transactions
    (payer,) = transaction.payers
    assert (payer.organization_name, payer.payer_identification) == ("KEY INSURANCE COMPANY", "999996666")
    (receiver,) = payer.claim_status_transactions
    assert receiver.receiver is not None and receiver.receiver.etin == "ETIN0001"
    assert receiver.claim_transaction_batch_number == "000000021"  # the 837's BHT03
    assert (receiver.total_accepted_quantity, receiver.total_rejected_quantity) == ("2", "1")
    assert (receiver.total_accepted_amount, receiver.total_rejected_amount) == ("150.00", "89.95")
    providers = receiver.claim_status_details
    assert [p.service_provider.npi for p in providers] == ["1912301953", "1234567890"]  # type: ignore[union-attr]
    claims = [c for p in providers for d in p.patient_claim_status_details for c in d.claims]
    got = [
        (
            c.claim_status.patient_account_number,
            c.model_extra["accepted"],  # type: ignore[index]
            [
                (s.health_care_claim_status_category_code, s.status_code, s.entity_identifier_code)
                for stc in c.claim_status.information_claim_statuses
                for s in stc.information_statuses
            ],
            [stc.status_information_action_code for stc in c.claim_status.information_claim_statuses],
            c.claim_status.trading_partner_claim_number,
        )
        for c in claims
    ]
    assert got == [
        ("26463774", True, [("A1", "20", None)], ["WQ"], "PCN0001"),
        (
            "756048Q",
            False,
            [("A7", "562", "85"), ("A3", "21", None), ("A3", "454", None), ("A3", "187", None)],
            ["U", "U"],
            None,
        ),
        ("756049Q", True, [("A2", "20", "PR")], ["WQ"], "PCN0003"),
    ]
    first, rejected, _ = claims
    assert (first.claim_status.claim_service_begin_date, first.claim_status.claim_service_end_date) == (
        "20061003",
        "20061010",
    )
    assert rejected.claim_status.bill_type_identifier == "131"
    assert rejected.claim_status.information_claim_statuses[0].status_message == "NPI NOT ON FILE"
    (line,) = rejected.service_lines
    assert line.service is not None and line.service["procedureCode"] == "93005"
    assert [
        (s.health_care_claim_status_category_code, s.status_code)
        for s in line.service_claim_statuses[0].service_statuses
    ] == [("A3", "454")]
    patient = providers[0].patient_claim_status_details[0].subscriber
    assert patient is not None and (patient.first_name, patient.member_id) == ("TED", "JS00111223333")


def test_277ca_default_statuses() -> None:
    claim = professional_claim()
    text = claims_to_277ca([ClaimVerdict(claim, True, payer_claim_control_number="X1")], envelope())
    assert_valid(text)
    assert "STC*A1:20*20240501*WQ*100.00" in segments(text)
    text = claims_to_277ca([ClaimVerdict(claim, False)], envelope())
    assert_valid(text)
    segs = segments(text)
    assert "STC*A3:21*20240501*U*100.00" in segs
    assert "QTY*AA*1" in segs and "QTY*QC*1" in segs and not any(s.startswith("REF*1K") for s in segs)
    assert "STC*A1:19:PR*20240501*U*100.00" in segs  # nothing of the batch accepted


def test_claim_verdict_must_say_what_it_means() -> None:
    claim = professional_claim()
    with pytest.raises(ValueError, match="does not say an accepted claim"):
        claims_to_277ca([ClaimVerdict(claim, True, [REJECTED])], envelope())
    with pytest.raises(ValueError, match="does not say a rejected claim"):
        claims_to_277ca([ClaimVerdict(claim, False, [ACCEPTED])], envelope())
    with pytest.raises(ValueError, match="not a claim status code"):
        claims_to_277ca([ClaimVerdict(claim, False, [ClaimStatus("A3", "99999")])], envelope())
    with pytest.raises(ValueError, match="entity XX"):
        claims_to_277ca([ClaimVerdict(claim, False, [ClaimStatus("A3", "21", "XX")])], envelope())
    with pytest.raises(ValueError, match="no service line 9"):
        claims_to_277ca([ClaimVerdict(claim, False, line_statuses={9: [REJECTED]})], envelope())


def test_claim_verdict_json_round_trip() -> None:
    for v in verdicts():
        again = ClaimVerdict.from_json(v.to_json())
        assert again == v


# ================================================================================ 835

PAYER = Payer(
    name="SIMULATED HEALTH PLAN",
    tax_id="123456789",
    address1="100 PAYER WAY",
    city="AUSTIN",
    state="TX",
    postal_code="78701",
    payer_id="SIMPLAN01",
    contact_name="EDI SUPPORT",
    contact_phone="8005550100",
)
ACH = PaymentMethod(
    "ACH",
    date="20240503",
    trace_number="EFT000123",
    sender_routing="111000025",
    sender_account="5550001",
    receiver_routing="222000111",
    receiver_account="7770001",
)
D = Decimal


def paid_professional() -> ClaimPayment:
    """Charges 40 + 15 + 35 + 10: allowed 80 %, CO-45 for the rest, a 5.00 co-pay and 20 % co-insurance."""
    claim = professional_claim()
    lines = []
    copay_left = D("5.00")
    for line in claim.claim_information.service_lines:
        charge = D(line.professional_service.line_item_charge_amount)
        allowed = (charge * D("0.8")).quantize(D("0.01"))
        copay = min(copay_left, allowed)
        copay_left -= copay
        coinsurance = ((allowed - copay) * D("0.2")).quantize(D("0.01"))
        adjustments = [Adjustment("CO", "45", charge - allowed), Adjustment("PR", "2", coinsurance)]
        if copay:
            adjustments.append(Adjustment("PR", "3", copay))
        lines.append(
            LinePayment(
                allowed - copay - coinsurance, allowed, adjustments, remarks=["N130"] if copay else []
            )
        )
    return ClaimPayment(claim, "PCN0001", lines, received="20240420")


def denied_institutional() -> ClaimPayment:
    claim = x12_837i_to_claims(TWO_837I.read_bytes())[0]
    lines = [
        LinePayment(
            D(0), D(0), [Adjustment("CO", "96", D(line.institutional_service.line_item_charge_amount))]
        )
        for line in claim.claim_information.service_lines
    ]
    return ClaimPayment(claim, "PCN0002", lines, status="4")


def test_835_validates_balances_and_round_trips() -> None:
    payment = paid_professional()
    plb = [ProviderAdjustment("WO", D("10.00"), "OVERPAY123"), ProviderAdjustment("L6", D("-1.25"))]
    text = payments_to_835([payment], envelope(), payer=PAYER, method=ACH, provider_adjustments=plb)
    assert_valid(text)
    segs = segments(text)
    assert "ST*835*0013*005010X221A1" in segs
    assert (
        "BPR*I*51.25*C*ACH*CCP*01*111000025*DA*5550001*1123456789**01*222000111*DA*7770001*20240503" in segs
    )
    assert "TRN*1*EFT000123*1123456789" in segs
    assert "PER*BL*EDI SUPPORT*TE*8005550100" in segs
    assert "N1*PE*BEN KILDARE SERVICE*XX*1912301953" in segs

    (report,) = x12_835_to_reports(text.encode())
    (tx,) = report.transactions
    financial = tx.financial_information
    assert financial is not None
    assert (financial.transaction_handling_code, financial.total_actual_provider_payment_amount) == (
        "I",
        "51.25",
    )
    assert (financial.payment_method_code, financial.check_issue_or_eft_effective_date) == ("ACH", "20240503")
    assert tx.payment_and_remit_reassociation_details.check_or_eft_trace_number == "EFT000123"  # type: ignore[union-attr]
    assert tx.payer is not None and tx.payer.payer_identification_number == "SIMPLAN01"
    assert tx.payee is not None and (tx.payee.npi, tx.payee.tax_id) == ("1912301953", "587654321")
    (detail,) = tx.detail_info
    (info,) = detail.payment_info
    clp = info.claim_payment_info
    assert (
        clp.patient_control_number,
        clp.claim_status_code,
        clp.total_claim_charge_amount,
        clp.claim_payment_amount,
        clp.patient_responsibility_amount,
        clp.payer_claim_control_number,
    ) == ("26463774", "1", "100.00", "60.00", "20.00", "PCN0001")
    assert info.claim_received_date == "20240420"
    assert info.patient_name is not None and info.patient_name.first_name == "TED"
    assert info.subscriber is not None and info.subscriber.member_id == "JS00111223333"
    lines = [
        (
            line.service_payment_information.adjudicated_procedure_code,  # type: ignore[union-attr]
            line.service_payment_information.line_item_charge_amount,  # type: ignore[union-attr]
            line.service_payment_information.line_item_provider_payment_amount,  # type: ignore[union-attr]
            line.service_date,
            [
                (a.claim_adjustment_group_code, a.adjustment_reason_code1, a.adjustment_amount1,
                 a.adjustment_reason_code2, a.adjustment_amount2)
                for a in line.service_adjustments
            ],
            (line.service_supplemental_amounts or {}).get("allowedActual"),
        )
        for line in info.service_lines
    ]  # fmt: skip
    assert lines == [
        ("99213", "40.00", "21.60", "20061003", [("CO", "45", "8.00", None, None), ("PR", "2", "5.40", "3", "5.00")], "32.00"),
        ("87070", "15.00", "9.60", "20061003", [("CO", "45", "3.00", None, None), ("PR", "2", "2.40", None, None)], "12.00"),
        ("99214", "35.00", "22.40", "20061010", [("CO", "45", "7.00", None, None), ("PR", "2", "5.60", None, None)], "28.00"),
        ("86663", "10.00", "6.40", "20061010", [("CO", "45", "2.00", None, None), ("PR", "2", "1.60", None, None)], "8.00"),
    ]  # fmt: skip
    assert [r.remark_code for r in info.service_lines[0].health_care_check_remark_codes] == ["N130"]
    (adjustments,) = tx.provider_adjustments
    assert adjustments.provider_identifier == "1912301953"
    assert [(a.adjustment_reason_code, a.provider_adjustment_identifier, a.provider_adjustment_amount)
            for a in adjustments.adjustments] == [("WO", "OVERPAY123", "10.00"), ("L6", None, "-1.25")]  # fmt: skip
    # BPR02 = sum of CLP04 - sum of PLB amounts
    assert D("60.00") - D("10.00") - D("-1.25") == D("51.25")


def test_835_denied_claim_and_one_transaction_set_per_payee() -> None:
    text = payments_to_835(
        [paid_professional(), denied_institutional()], envelope(), payer=PAYER, method=PaymentMethod("CHK")
    )
    assert_valid(text)
    segs = segments(text)
    assert [s for s in segs if s.startswith("ST*")] == [
        "ST*835*0013*005010X221A1",
        "ST*835*0014*005010X221A1",
    ]
    assert "BPR*I*60.00*C*CHK************20240501" in segs
    assert "BPR*H*0.00*C*NON************20240501" in segs  # nothing paid to the second payee
    assert "TRN*1*0000000110013*1123456789" in segs and "TRN*1*0000000110014*1123456789" in segs
    reports = x12_835_to_reports(text.encode())
    second = reports[0].transactions[1]
    (info,) = second.detail_info[0].payment_info
    clp = info.claim_payment_info
    assert (clp.claim_status_code, clp.claim_payment_amount, clp.patient_responsibility_amount) == (
        "4",
        "0.00",
        None,
    )
    assert (clp.claim_filing_indicator_code, clp.facility_type_code) == ("CH", "13")
    assert (info.claim_statement_period_start, info.claim_statement_period_end) == ("20050315", "20050315")
    codes = [
        (line.service_payment_information.adjudicated_procedure_code,  # type: ignore[union-attr]
         line.service_payment_information.national_uniform_billing_committee_revenue_code,  # type: ignore[union-attr]
         line.service_adjustments[0].adjustment_reason_code1)
        for line in info.service_lines
    ]  # fmt: skip
    assert codes == [("85025", "0305", "96"), ("93005", "0730", "96")]


def test_835_refuses_amounts_that_do_not_balance() -> None:
    payment = paid_professional()
    payment.lines[0].paid += D("1.00")
    with pytest.raises(Unbalanced, match="line 1"):
        payments_to_835([payment], envelope(), payer=PAYER)
    payment = paid_professional()
    payment.claim_adjustments.append(Adjustment("OA", "23", D("3.00")))
    with pytest.raises(Unbalanced, match="claim 26463774"):
        payments_to_835([payment], envelope(), payer=PAYER)
    with pytest.raises(Unbalanced, match="exceed the payment"):
        payments_to_835(
            [paid_professional()],
            envelope(),
            payer=PAYER,
            provider_adjustments=[ProviderAdjustment("WO", D("100.00"))],
        )
    with pytest.raises(ValueError, match="routing and account"):
        payments_to_835([paid_professional()], envelope(), payer=PAYER, method=PaymentMethod("ACH"))
