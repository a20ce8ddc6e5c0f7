"""The payer simulator's decisions: 271s from the roster, 999 + 277CA per the rules, 835s for accepted claims.

The inputs are what the engine itself sends (270s from `request_to_270`, 837s from `claims_to_837p`)
and the outputs are read back with the engine's own readers, so these tests are the simulator's
half of the end-to-end exchange. Every output validates with zero error findings.
"""

from __future__ import annotations

import copy
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from connectors.payer_sim import (
    RosterError,
    RulesError,
    acknowledge_837,
    acknowledge_batch,
    answer_270,
    load_roster,
    load_rules,
    pay_claims,
    reply_envelope,
)
from connectors.payer_sim.roster import Roster
from connectors.payer_sim.rules import Rules
from edi.mappers.acknowledgments import x12_999_to_acks
from edi.mappers.claim_acknowledgment import x12_277ca_to_reports
from edi.mappers.claim_acknowledgment_writer import ClaimVerdict
from edi.mappers.eligibility import request_to_270, x12_271_to_responses
from edi.mappers.envelope import Envelope
from edi.mappers.professional import claims_to_837p, x12_837p_to_claims
from edi.mappers.remittance import x12_835_to_reports
from edi.models.claims import ProfessionalClaimRequest
from edi.models.eligibility import EligibilityRequest, EligibilityResponse
from edi.x12.ack import AckNumbers
from edi.x12.validator import validate

HERE = Path(__file__).parent
ROSTER = HERE / "fixtures" / "payer_sim" / "roster.yaml"
RULES = HERE / "fixtures" / "payer_sim" / "rules.yaml"
EXAMPLE_837P = HERE / "fixtures" / "x12" / "837_005010X222A2" / "demo.example1.837"
SAMPLE_270 = HERE / "fixtures" / "x12" / "270_005010X279A1" / "subscriber-health-benefit-check.270"
NOW = datetime(2024, 5, 1, 10, 15)
D = Decimal


@pytest.fixture(scope="module")
def roster() -> Roster:
    return load_roster(ROSTER)


@pytest.fixture(scope="module")
def rules() -> Rules:
    return load_rules(RULES)


def engine_envelope(number: int = 500) -> Envelope:
    """The engine's side: it sends to the simulator's payer id."""
    return Envelope(
        sender_id="ENGINE01",
        receiver_id="SIMPLAN01",
        interchange_control_number=number,
        group_control_number=number,
        usage="T",
        now=NOW,
    )


def assert_valid(text: str) -> None:
    report = validate(text.encode())
    errors = [(f.code, f.segment_id, f.message) for f in report.all_findings() if f.severity == "error"]
    assert errors == []
    assert report.accepted


def segments(text: str) -> list[str]:
    return [s.strip() for s in text.split("~") if s.strip()]


# ================================================================================ loading


def test_roster_and_rules_load(roster: Roster, rules: Rules) -> None:
    member = roster.find("sim00001")
    assert member is not None and member.active and member.copay == D("25.00")
    assert member.copay_service_types == ("98", "UC") and member.coinsurance_percent == D("20")
    assert roster.find("SIM00002").date_of_birth == "19750630"  # type: ignore[union-attr]
    assert not roster.find("SIM00003").active  # type: ignore[union-attr]
    assert roster.find("NOBODY") is None
    assert (rules.payer.name, rules.payer.company_id) == ("SIMULATED HEALTH PLAN", "1123456789")
    assert [r.rule for r in rules.reject] == [
        "unknown_member",
        "inactive_member",
        "charge_over",
        "procedure_codes",
        "missing_billing_npi",
    ]
    assert str(rules.accepted_status) == "A1:20" and rules.payment.method.method == "ACH"


def test_yaml_keeps_ids_and_amounts_as_written() -> None:
    roster = load_roster(
        "members:\n  - member_id: 00012345\n    copay: 25.10\n    coverage_begin: 2024-01-01\n"
    )
    member = roster.find("00012345")
    assert member is not None and member.copay == D("25.10") and member.coverage_begin == "20240101"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("members:\n  - member_id: A1\n    status: gone\n", "members[0].status"),
        ("members:\n  - member_id: A1\n  - member_id: a1\n", "listed twice"),
        ("members:\n  - first_name: X\n", "members[0].member_id"),
        ("members:\n  - member_id: A1\n    coverage_begin: 20241301\n", "members[0].coverage_begin"),
    ],
)
def test_roster_errors_name_the_entry(text: str, message: str) -> None:
    with pytest.raises(RosterError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_roster(text)


def test_rules_errors_name_the_entry() -> None:
    base = RULES.read_text()
    with pytest.raises(RulesError, match=r"reject\[0\]\.rule"):
        load_rules(base.replace("rule: unknown_member", "rule: cosmic_rays"))
    with pytest.raises(RulesError, match="ACH needs"):
        load_rules(base.replace('  sender_routing: "111000025"\n', ""))
    with pytest.raises(RulesError, match=r"reject\[2\]\.amount"):
        load_rules(base.replace("amount: 5000.00, ", ""))
    with pytest.raises(RulesError, match="accepted_status"):
        load_rules(base.replace('accepted_status: "A1:20"', 'accepted_status: "A1"'))


def test_reply_envelope_swaps_the_parties() -> None:
    text = request_to_270(eligibility_request("SIM00001", "DOE", "19800115"), engine_envelope())
    env = reply_envelope(text, 7, 8, 9, now=NOW)
    assert (env.sender_id, env.receiver_id, env.application_sender, env.application_receiver) == (
        "SIMPLAN01",
        "ENGINE01",
        "SIMPLAN01",
        "ENGINE01",
    )
    assert (env.interchange_control_number, env.group_control_number, env.transaction_control_number) == (
        7,
        8,
        9,
    )
    assert env.usage == "T"


# ================================================================================ 270 -> 271


def eligibility_request(
    member_id: str | None, last: str, dob: str, date: str = "20240501"
) -> EligibilityRequest:
    subscriber: dict[str, Any] = {"firstName": "PAT", "lastName": last, "dateOfBirth": dob}
    if member_id:
        subscriber["memberId"] = member_id
    return EligibilityRequest.model_validate(
        {
            "controlNumber": "987654321",
            "tradingPartnerServiceId": "SIMPLAN01",
            "provider": {"organizationName": "HAPPY CLINIC", "npi": "1234567893"},
            "subscriber": subscriber,
            "encounter": {"serviceTypeCodes": ["30"], "dateOfService": date},
        }
    )


def ask(roster: Roster, request: EligibilityRequest) -> tuple[str, EligibilityResponse]:
    text_270 = request_to_270(request, engine_envelope())
    text_271 = answer_270(text_270, roster, reply_envelope(text_270, 41, 41, now=NOW))
    assert_valid(text_271)
    (response,) = x12_271_to_responses(text_271.encode())
    assert response.control_number == "987654321"  # matched back to the request by TRN
    return text_271, response


def test_active_member_gets_eb1_and_cost_sharing(roster: Roster) -> None:
    text, response = ask(roster, eligibility_request("SIM00001", "DOE", "19800115"))
    segs = segments(text)
    assert "EB*1*IND*30*PR*GOLD PPO" in segs
    assert "MSG*PRIOR AUTHORIZATION REQUIRED FOR IMAGING" in segs
    assert response.errors is None
    assert response.subscriber is not None
    assert (response.subscriber.member_id, response.subscriber.first_name, response.subscriber.last_name) == (
        "SIM00001",
        "JOHN",
        "DOE",
    )
    assert response.payer is not None and response.payer.name == "SIMULATED HEALTH PLAN"
    rows = [
        (b.code, b.service_type_codes, b.time_qualifier_code, b.benefit_amount, b.benefit_percent)
        for b in response.benefits_information or []
    ]
    assert rows == [
        ("1", ["30"], None, None, None),
        ("B", ["98", "UC"], "27", "25.00", None),
        ("A", ["30"], None, None, "0.2"),
        ("C", ["30"], "23", "1500.00", None),
        ("C", ["30"], "29", "50.00", None),
        ("G", ["30"], "23", "5000.00", None),
    ]
    assert [s.status_code for s in response.plan_status or []] == ["1"]
    assert (
        response.plan_date_information is not None and response.plan_date_information.plan_begin == "20000101"
    )
    assert response.plan_information is not None and response.plan_information.group_number == "GRP100"


def test_inactive_member_gets_eb6(roster: Roster) -> None:
    text, response = ask(roster, eligibility_request("SIM00003", "POE", "19600101"))
    assert [b.code for b in response.benefits_information or []] == ["6"]
    assert "EB*6*IND*30" in segments(text)
    assert (
        response.plan_date_information is not None and response.plan_date_information.plan_end == "20001231"
    )


def test_active_member_outside_the_coverage_dates_gets_eb6(roster: Roster) -> None:
    _, response = ask(roster, eligibility_request("SIM00001", "DOE", "19800115", date="19990101"))
    assert [b.code for b in response.benefits_information or []] == ["6"]


@pytest.mark.parametrize(
    ("member_id", "last", "dob", "code"),
    [
        ("NOBODY01", "DOE", "19800115", "75"),  # subscriber not found
        (None, "DOE", "19800115", "72"),  # no member id
        ("SIM00001", "SMITH", "19800115", "73"),  # name does not match
        ("SIM00001", "DOE", "19800116", "71"),  # birth date does not match
    ],
)
def test_unknown_or_mismatched_member_gets_aaa(
    roster: Roster, member_id: str | None, last: str, dob: str, code: str
) -> None:
    text, response = ask(roster, eligibility_request(member_id, last, dob))
    assert f"AAA*Y**{code}*C" in segments(text)
    assert not any(s.startswith("EB*") for s in segments(text))
    assert [(e.code, e.location) for e in response.errors or []] == [(code, "Loop 2100C")]
    assert response.benefits_information is None


def test_answers_a_270_from_elsewhere(roster: Roster) -> None:
    text = answer_270(SAMPLE_270.read_text(), roster, reply_envelope(SAMPLE_270.read_bytes(), 1, 1, now=NOW))
    assert_valid(text)
    (response,) = x12_271_to_responses(text.encode())
    assert [e.code for e in response.errors or []] == ["75"]
    assert response.control_number == "93175-012547"
    assert response.subscriber is not None and response.subscriber.member_id == "11122333301"


# ================================================================================ 837 -> 999, 277CA, 835


def template() -> dict[str, Any]:
    (claim,) = x12_837p_to_claims(EXAMPLE_837P.read_bytes())
    return claim.to_json()


def claim(
    pcn: str, member_id: str, charges: tuple[str, ...] = ("100.00",), code: str = "99213"
) -> ProfessionalClaimRequest:
    data = copy.deepcopy(template())
    data.pop("dependent")
    data["subscriber"].update(
        memberId=member_id,
        firstName="PAT",
        lastName="PATIENT",
        gender="F",
        dateOfBirth="19750630",
        address={"address1": "1 MAIN ST", "city": "MIAMI", "state": "FL", "postalCode": "33111"},
    )
    info = data["claimInformation"]
    info["patientControlNumber"] = pcn
    first_line = info["serviceLines"][0]
    info["serviceLines"] = []
    for i, charge in enumerate(charges):
        line = copy.deepcopy(first_line)
        line["serviceDate"] = "20240415"
        line["professionalService"].update(
            lineItemChargeAmount=charge, procedureCode=code if i == 0 else "87070"
        )
        info["serviceLines"].append(line)
    info["claimChargeAmount"] = str(sum(D(c) for c in charges))
    return ProfessionalClaimRequest.model_validate(data)


BATCH = [
    # (patient control number, member, charges, procedure code, accepted, statuses)
    ("ACCEPT-1", "SIM00001", ("100.00", "50.00"), "99213", True, ["A1:20"]),
    ("ACCEPT-2", "SIM00002", ("200.00",), "99213", True, ["A1:20"]),
    ("ACCEPT-3", "SIM00001", ("80.00",), "99214", True, ["A1:20"]),
    ("UNKNOWN", "NOBODY01", ("100.00",), "99213", False, ["A3:33:IL"]),
    ("INACTIVE", "SIM00003", ("100.00",), "99213", False, ["A3:109:IL"]),
    ("TOO-MUCH", "SIM00002", ("6000.00",), "99213", False, ["A3:178"]),
    ("BAD-CODE", "SIM00002", ("80.00", "20.00"), "99499", False, ["A3:454"]),
    ("TWO-RULES", "NOBODY02", ("7000.00",), "99213", False, ["A3:33:IL", "A3:178"]),
]


def batch_837() -> str:
    claims = [claim(pcn, member, charges, code) for pcn, member, charges, code, _, _ in BATCH]
    return claims_to_837p(claims, engine_envelope())


def test_837_batch_gets_999_277ca_and_835(roster: Roster, rules: Rules) -> None:
    text_837 = batch_837()
    answer = acknowledge_batch(
        text_837,
        rules,
        roster,
        AckNumbers(interchange=601, group=601),
        reply_envelope(text_837, 602, 602, now=NOW),
    )

    # 999: the transaction set is accepted
    assert answer.ack_999 is not None
    assert_valid(answer.ack_999)
    (ack,) = x12_999_to_acks(answer.ack_999.encode())
    assert "AK9*A*1*1*1" in segments(answer.ack_999) and "IK5*A" in segments(answer.ack_999)
    assert (ack.functional_group_acknowledge_code, ack.group_control_number) == ("A", "500")
    assert [(t.transaction_set_identifier_code, t.acknowledgment_code) for t in ack.transaction_sets] == [
        ("837", "A")
    ]

    # 277CA: A1 for the accepted claims, A3 with the rule's status for the rejected ones
    assert answer.ack_277ca is not None
    assert_valid(answer.ack_277ca)
    (report,) = x12_277ca_to_reports(answer.ack_277ca.encode())
    receiver = report.transactions[0].payers[0].claim_status_transactions[0]
    assert report.transactions[0].payers[0].payer_identification == "SIMPLAN01"
    assert receiver.receiver is not None and receiver.receiver.etin == "ENGINE01"
    assert (receiver.total_accepted_quantity, receiver.total_rejected_quantity) == ("3", "5")
    claims = [
        c for p in receiver.claim_status_details for d in p.patient_claim_status_details for c in d.claims
    ]
    got = {
        c.claim_status.patient_account_number: (
            c.model_extra["accepted"],  # type: ignore[index]
            [
                ":".join(
                    x
                    for x in (
                        s.health_care_claim_status_category_code,
                        s.status_code,
                        s.entity_identifier_code,
                    )
                    if x
                )
                for stc in c.claim_status.information_claim_statuses
                for s in stc.information_statuses
            ],
            c.claim_status.trading_partner_claim_number,
        )
        for c in claims
    }
    for pcn, _, _, _, accepted, statuses in BATCH:
        assert got[pcn][:2] == (accepted, statuses), pcn
        assert (got[pcn][2] is not None) == accepted, pcn
    bad_code = next(c for c in claims if c.claim_status.patient_account_number == "BAD-CODE")
    (line,) = bad_code.service_lines
    assert line.service is not None and line.service["procedureCode"] == "99499"
    accepted_numbers = {pcn: got[pcn][2] for pcn, *_, accepted, _ in BATCH if accepted}
    assert [v.payer_claim_control_number for v in answer.verdicts if v.accepted] == list(
        accepted_numbers.values()
    )

    # 835: exactly the accepted claims, balanced
    text_835 = pay_claims(answer.verdicts, rules, reply_envelope(text_837, 603, 603, now=NOW), roster)
    assert text_835 is not None
    assert_valid(text_835)
    (remit,) = x12_835_to_reports(text_835.encode())
    (tx,) = remit.transactions
    payments = [p for d in tx.detail_info for p in d.payment_info]
    assert {p.claim_payment_info.patient_control_number: p.claim_payment_info.payer_claim_control_number
            for p in payments} == accepted_numbers  # fmt: skip
    total = D(tx.financial_information.total_actual_provider_payment_amount)  # type: ignore[union-attr]
    assert total == sum(D(p.claim_payment_info.claim_payment_amount) for p in payments)  # no PLB
    for p in payments:
        info = p.claim_payment_info
        charge, paid = D(info.total_claim_charge_amount), D(info.claim_payment_amount)
        adjustments = [
            (
                a.claim_adjustment_group_code,
                getattr(a, f"adjustment_reason_code{n}"),
                D(getattr(a, f"adjustment_amount{n}")),
            )
            for line in p.service_lines
            for a in line.service_adjustments
            for n in range(1, 7)
            if getattr(a, f"adjustment_reason_code{n}")
        ]
        assert charge - paid == sum(amount for *_, amount in adjustments)
        assert D(info.patient_responsibility_amount or "0") == sum(a for g, _, a in adjustments if g == "PR")
        for line in p.service_lines:
            svc = line.service_payment_information
            assert svc is not None
            line_cas = sum(
                D(getattr(a, f"adjustment_amount{n}"))
                for a in line.service_adjustments
                for n in range(1, 7)
                if getattr(a, f"adjustment_amount{n}")
            )
            assert D(svc.line_item_charge_amount) - D(svc.line_item_provider_payment_amount) == line_cas  # type: ignore[arg-type]

    by_pcn = {p.claim_payment_info.patient_control_number: p for p in payments}
    # ACCEPT-1 (member SIM00001: 50.00 deductible left, 25.00 co-pay, 20 % co-insurance), 80 % allowed
    first = by_pcn["ACCEPT-1"]
    assert (
        first.claim_payment_info.claim_payment_amount,
        first.claim_payment_info.patient_responsibility_amount,
    ) == (
        "36.00",
        "84.00",
    )
    assert [(a.claim_adjustment_group_code, a.adjustment_reason_code1, a.adjustment_amount1)
            for a in first.service_lines[0].service_adjustments] == [("CO", "45", "20.00"), ("PR", "1", "50.00")]  # fmt: skip
    assert (first.service_lines[0].service_adjustments[1].adjustment_reason_code2,
            first.service_lines[0].service_adjustments[1].adjustment_reason_code3) == ("2", "3")  # fmt: skip
    # ACCEPT-3, same member: the deductible was used up by ACCEPT-1
    third = by_pcn["ACCEPT-3"]
    reasons = [a.adjustment_reason_code1 for a in third.service_lines[0].service_adjustments]
    reasons += [a.adjustment_reason_code2 for a in third.service_lines[0].service_adjustments]
    assert "1" not in reasons
    # ACCEPT-2 (SIM00002 has no cost sharing: the rules' 10.00 co-pay and 10 % co-insurance)
    second = by_pcn["ACCEPT-2"]
    assert (
        second.claim_payment_info.claim_payment_amount,
        second.claim_payment_info.patient_responsibility_amount,
    ) == (
        "135.00",
        "25.00",
    )
    assert [line.service_payment_information.adjudicated_procedure_code for line in first.service_lines] == [  # type: ignore[union-attr]
        "99213",
        "87070",
    ]


def test_verdicts_survive_a_store_between_277ca_and_835(roster: Roster, rules: Rules) -> None:
    text_837 = batch_837()
    env = reply_envelope(text_837, 700, 700, now=NOW)
    verdicts, text_277 = acknowledge_837(text_837, rules, roster, env)
    assert text_277 is not None
    stored = [ClaimVerdict.from_json(v.to_json()) for v in verdicts]
    pay_env = reply_envelope(text_837, 701, 701, now=NOW)
    assert pay_claims(stored, rules, pay_env, roster) == pay_claims(verdicts, rules, pay_env, roster)


def test_rejected_transaction_set_gets_a_rejecting_999_and_no_277ca(roster: Roster, rules: Rules) -> None:
    text_837 = batch_837().replace("SBR*P*", "SBR*Q*", 1)
    answer = acknowledge_batch(
        text_837,
        rules,
        roster,
        AckNumbers(interchange=801, group=801),
        reply_envelope(text_837, 802, 802, now=NOW),
    )
    assert answer.ack_999 is not None
    assert_valid(answer.ack_999)
    segs = segments(answer.ack_999)
    assert "IK5*R*5" in segs and any(s.startswith("AK9*R") for s in segs)
    assert answer.verdicts == [] and answer.ack_277ca is None


def test_nothing_accepted_means_no_835(roster: Roster, rules: Rules) -> None:
    text_837 = claims_to_837p([claim("UNKNOWN", "NOBODY01")], engine_envelope())
    verdicts, text_277 = acknowledge_837(text_837, rules, roster, reply_envelope(text_837, 900, 900, now=NOW))
    assert text_277 is not None
    assert_valid(text_277)
    assert [v.accepted for v in verdicts] == [False]
    assert pay_claims(verdicts, rules, reply_envelope(text_837, 901, 901, now=NOW), roster) is None
