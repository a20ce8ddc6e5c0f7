"""Matching keys and per-claim narrowing of batch responses (edi.responses).

The batch is what the pipeline really sends: claims of several submitters and patients written
by the engine's own 837P writer, answered by the payer simulator's rules (999 with a TA1, 277CA
accepting some claims and rejecting others, 835 paying the accepted ones) and read back with the
engine's own mappers. Each narrowed part must name its own claim and nothing of the others:
the check is a plain string search over the JSON a submitter would receive.
"""

from __future__ import annotations

import copy
import json
import re
import time
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from connectors.payer_sim import (
    acknowledge_837,
    acknowledge_batch,
    adjudicate,
    answer_270,
    load_roster,
    load_rules,
    pay_claims,
)
from connectors.payer_sim import reply_envelope as sim_reply_envelope
from connectors.payer_sim.roster import Roster
from connectors.payer_sim.rules import BatchAnswer, Rules
from edi.mappers.acknowledgments import x12_999_to_acks, x12_to_ta1
from edi.mappers.claim_acknowledgment import x12_277ca_to_reports
from edi.mappers.eligibility import request_to_270, x12_271_to_responses
from edi.mappers.envelope import Envelope
from edi.mappers.professional import claims_to_837p, x12_837p_to_claims
from edi.mappers.remittance import x12_835_to_reports
from edi.mappers.remittance_writer import ProviderAdjustment, payments_to_835
from edi.models.acks import FunctionalAcknowledgment
from edi.models.claims import ProfessionalClaimRequest
from edi.models.eligibility import EligibilityRequest
from edi.models.reports import ClaimAcknowledgmentReport, PaymentReport
from edi.responses import (
    ClaimPart,
    ClaimPaymentKey,
    ClaimStatusKey,
    EligibilityTraceKey,
    SetAckKey,
    Ta1Key,
    claim_payments_835,
    claim_statuses_277ca,
    eligibility_keys_271,
    narrow_277ca,
    narrow_835,
    narrow_999,
    set_acknowledgments_999,
    split_277ca,
    split_835,
    split_999,
    ta1_key,
)
from edi.x12.ack import AckNumbers

HERE = Path(__file__).parent
X12 = HERE / "fixtures" / "x12"
ROSTER = HERE / "fixtures" / "payer_sim" / "roster.yaml"
RULES = HERE / "fixtures" / "payer_sim" / "rules.yaml"
EXAMPLE_837P = X12 / "837_005010X222A2" / "demo.example1.837"
NOW = datetime(2024, 5, 1, 10, 15)


@dataclass(frozen=True)
class Case:
    pcn: str  # CLM01
    member_id: str
    first: str
    last: str
    submitter: str  # a submitter of its own: one transaction set per claim, one AK2 each
    charges: tuple[str, ...]
    outcome: str  # accepted / rejected (by the 277CA rules) / set-rejected (by the 999)
    statuses: tuple[str, ...] = ()
    billing: tuple[str, str] | None = None  # (NPI, name) of a payee of its own


CASES = [
    Case("PCN-ALPHA-01", "SIM00001", "AMARA", "ALDERWOOD", "ALPHA BILLING", ("100.00", "50.00"), "accepted",
         ("A1:20",)),
    Case("PCN-BRAVO-02", "SIM00002", "BRONWYN", "BIRCHFIELD", "BRAVO BILLING", ("200.00",), "accepted",
         ("A1:20",), ("1234567893", "BRAVO FAMILY CLINIC")),
    Case("PCN-CHARLIE-03", "NOBODY01", "CASPIAN", "CEDARHOLM", "CHARLIE BILLING", ("100.00",), "rejected",
         ("A3:33:IL",)),
    Case("PCN-DELTA-04", "SIM00003", "DELPHINE", "DOVETAIL", "DELTA BILLING", ("90.00",), "rejected",
         ("A3:109:IL",)),
    Case("PCN-ECHO-05", "ECHO0005", "EZEKIEL", "ELMSWORTH", "ECHO BILLING", ("70.00",), "set-rejected"),
]  # fmt: skip
BY_PCN = {c.pcn: c for c in CASES}
REPORTED = [c for c in CASES if c.outcome != "set-rejected"]  # in the 277CA
PAID = [c for c in CASES if c.outcome == "accepted"]  # in the 835


def engine_envelope() -> Envelope:
    return Envelope(
        sender_id="ENGINE01",
        receiver_id="SIMPLAN01",
        interchange_control_number=500,
        group_control_number=500,
        usage="T",
        ack_requested="1",  # the payer answers with a TA1 too
        now=NOW,
    )


def make_claim(case: Case) -> ProfessionalClaimRequest:
    (template,) = x12_837p_to_claims(EXAMPLE_837P.read_bytes())
    data = copy.deepcopy(template.to_json())
    data.pop("dependent")
    data["submitter"]["organizationName"] = case.submitter
    data["subscriber"].update(
        memberId=case.member_id,
        firstName=case.first,
        lastName=case.last,
        gender="F",
        dateOfBirth="19750630",
        address={"address1": "1 MAIN ST", "city": "MIAMI", "state": "FL", "postalCode": "33111"},
    )
    if case.billing is not None:
        data["billing"].update(npi=case.billing[0], organizationName=case.billing[1])
    info = data["claimInformation"]
    info["patientControlNumber"] = case.pcn
    first_line = info["serviceLines"][0]
    info["serviceLines"] = []
    for i, charge in enumerate(case.charges):
        line = copy.deepcopy(first_line)
        line["serviceDate"] = "20240415"
        line["professionalService"].update(
            lineItemChargeAmount=charge, procedureCode="99213" if i == 0 else "87070"
        )
        info["serviceLines"].append(line)
    info["claimChargeAmount"] = str(sum(Decimal(c) for c in case.charges))
    return ProfessionalClaimRequest.model_validate(data)


def set_of_each_claim(text_837: str) -> dict[str, str]:
    """CLM01 -> ST02 of the transaction set holding it (what the pipeline records when it sends)."""
    out, st02 = {}, ""
    for seg in (s.strip().split("*") for s in text_837.split("~")):
        if seg[0] == "ST":
            st02 = seg[2]
        elif seg[0] == "CLM":
            out[seg[1]] = st02
    return out


def reject_set(text_837: str, st02: str) -> str:
    """Break one transaction set (SBR01 P -> Q) so the 999 rejects it and no other."""
    start = text_837.index(f"ST*837*{st02}*")
    end = text_837.index("SE*", start)
    return text_837[:start] + text_837[start:end].replace("SBR*P*", "SBR*Q*", 1) + text_837[end:]


@dataclass
class Batch:
    text_837: str
    sets: dict[str, str]
    answer: BatchAnswer
    text_835: str


@pytest.fixture(scope="module")
def roster() -> Roster:
    return load_roster(ROSTER)


@pytest.fixture(scope="module")
def rules() -> Rules:
    return load_rules(RULES)


@pytest.fixture(scope="module")
def batch(roster: Roster, rules: Rules) -> Batch:
    text = claims_to_837p([make_claim(c) for c in CASES], engine_envelope())
    sets = set_of_each_claim(text)
    assert sorted(sets) == sorted(BY_PCN) and len(set(sets.values())) == len(CASES)
    text = reject_set(text, sets["PCN-ECHO-05"])
    answer = acknowledge_batch(
        text,
        rules,
        roster,
        AckNumbers(interchange=601, group=601),
        sim_reply_envelope(text, 602, 602, now=NOW),
    )
    assert answer.ack_999 is not None and answer.ack_277ca is not None
    text_835 = pay_claims(answer.verdicts, rules, sim_reply_envelope(text, 603, 603, now=NOW), roster)
    assert text_835 is not None
    return Batch(text, sets, answer, text_835)


def dump(model: Any) -> str:
    return json.dumps(model.model_dump(by_alias=True, exclude_none=True))


def others_data(case: Case) -> list[str]:
    """What the part of `case` must not show: every other claim's CLM01, patient names and member id."""
    return [v for c in CASES if c is not case for v in (c.pcn, c.first, c.last, c.member_id)]


def assert_only(text: str, case: Case) -> None:
    assert case.pcn in text
    leaked = [v for v in others_data(case) if v in text]
    assert leaked == []


# ================================================================================ 999 and TA1


def test_999_keys_and_narrowing(batch: Batch) -> None:
    (ack,) = x12_999_to_acks(batch.answer.ack_999.encode())  # type: ignore[union-attr]
    keys = set_acknowledgments_999(ack)
    assert keys == [
        SetAckKey(
            group_control_number="500",
            transaction_set_control_number=batch.sets[c.pcn],
            transaction_set_identifier_code="837",
            accepted=c.outcome != "set-rejected",
            code="R" if c.outcome == "set-rejected" else "A",
            group_code="P",  # partially accepted
            syntax_error_codes=("5",) if c.outcome == "set-rejected" else (),
        )
        for c in CASES
    ]
    before = dump(ack)
    for case in CASES:
        part = narrow_999(ack, batch.sets[case.pcn])
        assert part is not None
        assert [t.control_number for t in part.transaction_sets] == [batch.sets[case.pcn]]
        assert (part.group_control_number, part.functional_group_acknowledge_code) == ("500", "P")
        assert (part.number_of_transaction_sets_included, part.number_of_accepted_transaction_sets) == (5, 4)
        # the IK3 errors (which may quote the set's data) go only to the set's own submitter
        (errors,) = [len(t.segment_errors) for t in part.transaction_sets]
        assert (errors > 0) == (case.outcome == "set-rejected")
        text = dump(part)
        assert [v for v in others_data(case) if v in text] == []
        assert FunctionalAcknowledgment.model_validate(json.loads(text)).model_dump() == part.model_dump()
        assert set_acknowledgments_999(part) == [
            k for k in keys if k.transaction_set_control_number == batch.sets[case.pcn]
        ]
    assert narrow_999(ack, "9999") is None
    assert narrow_999(ack, "") is None
    assert dump(ack) == before  # the input is untouched


def test_ta1_key(batch: Batch) -> None:
    (ta1,) = x12_to_ta1(batch.answer.ack_999.encode())  # type: ignore[union-attr]
    assert ta1_key(ta1) == Ta1Key(
        interchange_control_number="000000500", accepted=True, code="A", note_code="000", duplicate=False
    )


def test_ta1_key_flags_a_duplicate_interchange() -> None:
    text = (
        "ISA*00*          *00*          *ZZ*SIMPLAN01      *ZZ*ENGINE01       *240501*1015*^*00501*"
        "000000777*0*T*:~TA1*000000500*240501*1015*R*025~IEA*0*000000777~"
    )
    (ta1,) = x12_to_ta1(text.encode())
    assert ta1_key(ta1) == Ta1Key("000000500", False, "R", "025", True)


# ================================================================================ 277CA


def test_277ca_keys_match_the_batch(batch: Batch) -> None:
    (report,) = x12_277ca_to_reports(batch.answer.ack_277ca.encode())  # type: ignore[union-attr]
    numbers = {v.patient_control_number: v.payer_claim_control_number for v in batch.answer.verdicts}
    keys = claim_statuses_277ca(report)
    assert sorted(keys, key=lambda k: k.patient_control_number or "") == [
        ClaimStatusKey(
            patient_control_number=c.pcn,
            payer_claim_control_number=numbers[c.pcn],
            accepted=c.outcome == "accepted",
            status_codes=c.statuses,
        )
        for c in sorted(REPORTED, key=lambda c: c.pcn)
    ]
    assert all((k.payer_claim_control_number is not None) == k.accepted for k in keys)


@pytest.mark.parametrize("pcn", [c.pcn for c in REPORTED])
def test_277ca_narrowed_to_each_claim(batch: Batch, pcn: str) -> None:
    case = BY_PCN[pcn]
    (report,) = x12_277ca_to_reports(batch.answer.ack_277ca.encode())  # type: ignore[union-attr]
    before = dump(report)
    (key,) = [k for k in claim_statuses_277ca(report) if k.patient_control_number == pcn]
    part = narrow_277ca(report, pcn)
    assert part is not None
    assert claim_statuses_277ca(part) == [key]
    text = dump(part)
    assert_only(text, case)
    assert ClaimAcknowledgmentReport.model_validate(json.loads(text)).model_dump() == part.model_dump()
    # the branch keeps its payer, receiver and provider, without the batch's counts and amounts
    (tx,) = part.transactions
    (payer,) = tx.payers
    assert payer.payer_identification == "SIMPLAN01"
    (receiver,) = payer.claim_status_transactions
    (provider,) = receiver.claim_status_details
    (patient,) = provider.patient_claim_status_details
    assert patient.subscriber is not None and patient.subscriber.last_name == case.last
    for level in (receiver, provider):
        assert (level.total_accepted_quantity, level.total_rejected_quantity) == (None, None)
        assert (level.total_accepted_amount, level.total_rejected_amount) == (None, None)
    assert all(s.total_claim_charge_amount is None for s in receiver.provider_claim_statuses)
    assert all(s.total_claim_charge_amount is None for s in provider.service_provider_claim_statuses)
    assert [
        s.provider_statuses[0].health_care_claim_status_category_code
        for s in receiver.provider_claim_statuses
    ] == ["A1"]
    (claim,) = patient.claims
    assert claim.model_extra is not None and claim.model_extra["accepted"] is (case.outcome == "accepted")
    # the payer claim control number narrows the same way; a wrong one finds nothing
    if key.payer_claim_control_number is not None:
        assert narrow_277ca(report, pcn, key.payer_claim_control_number) == part
    assert narrow_277ca(report, pcn, "NOT-OURS") is None
    assert dump(report) == before


def test_277ca_unknown_claims_give_none(batch: Batch) -> None:
    (report,) = x12_277ca_to_reports(batch.answer.ack_277ca.encode())  # type: ignore[union-attr]
    assert narrow_277ca(report, "PCN-ECHO-05") is None  # its set was rejected by the 999
    assert narrow_277ca(report, "NO-SUCH-CLAIM") is None
    assert narrow_277ca(report, "") is None


# ================================================================================ 835


def test_835_keys_match_the_batch(batch: Batch) -> None:
    (remit,) = x12_835_to_reports(batch.text_835.encode())
    numbers = {v.patient_control_number: v.payer_claim_control_number for v in batch.answer.verdicts}
    assert len(remit.transactions) == 2  # BRAVO has a payee of its own
    assert claim_payments_835(remit) == [
        ClaimPaymentKey("PCN-ALPHA-01", numbers["PCN-ALPHA-01"], "1", "150.00", "36.00"),
        ClaimPaymentKey("PCN-BRAVO-02", numbers["PCN-BRAVO-02"], "1", "200.00", "135.00"),
    ]


@pytest.mark.parametrize("pcn", [c.pcn for c in PAID])
def test_835_narrowed_to_each_claim(batch: Batch, pcn: str) -> None:
    case = BY_PCN[pcn]
    (remit,) = x12_835_to_reports(batch.text_835.encode())
    before = dump(remit)
    (key,) = [k for k in claim_payments_835(remit) if k.patient_control_number == pcn]
    part = narrow_835(remit, pcn)
    assert part is not None
    assert claim_payments_835(part) == [key]
    text = dump(part)
    assert_only(text, case)
    assert PaymentReport.model_validate(json.loads(text)).model_dump() == part.model_dump()
    (tx,) = part.transactions
    (original,) = [t for t in remit.transactions if any(
        p.claim_payment_info.patient_control_number == pcn for d in t.detail_info for p in d.payment_info)]  # fmt: skip
    # the payment to the payee is kept as sent
    assert tx.financial_information == original.financial_information
    assert tx.payment_and_remit_reassociation_details == original.payment_and_remit_reassociation_details
    assert (tx.payer, tx.payee, tx.control_number) == (
        original.payer,
        original.payee,
        original.control_number,
    )
    (payment,) = [p for d in tx.detail_info for p in d.payment_info]
    assert payment.patient_name is not None and payment.patient_name.last_name == case.last
    assert narrow_835(remit, pcn, key.payer_claim_control_number) == part
    assert narrow_835(remit, pcn, "NOT-OURS") is None
    assert dump(remit) == before


def test_835_unpaid_or_unknown_claims_give_none(batch: Batch) -> None:
    (remit,) = x12_835_to_reports(batch.text_835.encode())
    for case in CASES:
        if case.outcome != "accepted":
            assert narrow_835(remit, case.pcn) is None
    assert narrow_835(remit, "NO-SUCH-CLAIM") is None
    assert narrow_835(remit, "") is None


def test_835_keeps_only_the_provider_adjustments_of_the_claim(
    batch: Batch, rules: Rules, roster: Roster
) -> None:
    """Two claims of one payee, with an interest payment (L6) on one and a recovery (WO) on the other."""
    accepted = [v for v in batch.answer.verdicts if v.accepted]
    first = accepted[0]
    second = copy.deepcopy(first)
    second.claim = make_claim(BY_PCN["PCN-CHARLIE-03"])  # same payee as ALPHA, a different patient
    second.payer_claim_control_number = "SIM-OTHER-77"
    payments = [adjudicate(v, rules)[0] for v in (first, second)]
    text = payments_to_835(
        payments,
        sim_reply_envelope(batch.text_837, 604, 604, now=NOW),
        payer=rules.payer,
        method=rules.payment.method,
        provider_adjustments=[
            ProviderAdjustment(reason="L6", amount=Decimal("-3.50"), identifier="PCN-ALPHA-01"),
            ProviderAdjustment(reason="WO", amount=Decimal("25.00"), identifier="SIM-OTHER-77"),
            ProviderAdjustment(reason="CS", amount=Decimal("1.00"), identifier="BATCH FEE"),
        ],
    )
    (remit,) = x12_835_to_reports(text.encode())
    assert len(remit.transactions) == 1
    assert {a.provider_adjustment_identifier for p in remit.transactions[0].provider_adjustments
            for a in p.adjustments} == {"PCN-ALPHA-01", "SIM-OTHER-77", "BATCH FEE"}  # fmt: skip

    part = narrow_835(remit, "PCN-ALPHA-01")
    assert part is not None
    assert_only(dump(part), BY_PCN["PCN-ALPHA-01"])
    assert [(a.adjustment_reason_code, a.provider_adjustment_identifier)
            for p in part.transactions[0].provider_adjustments for a in p.adjustments] == [("L6", "PCN-ALPHA-01")]  # fmt: skip

    other = narrow_835(remit, "PCN-CHARLIE-03")  # matched through CLP07 as well
    assert other is not None
    assert [(a.adjustment_reason_code, a.provider_adjustment_identifier)
            for p in other.transactions[0].provider_adjustments for a in p.adjustments] == [("WO", "SIM-OTHER-77")]  # fmt: skip
    assert "PCN-ALPHA-01" not in dump(other) and "ALDERWOOD" not in dump(other)


# ================================================================================ 271


def test_271_keys_are_the_echoed_trace(roster: Roster) -> None:
    request = EligibilityRequest.model_validate(
        {
            "controlNumber": "987654321",
            "tradingPartnerServiceId": "SIMPLAN01",
            "provider": {"organizationName": "HAPPY CLINIC", "npi": "1234567893"},
            "subscriber": {
                "memberId": "SIM00001",
                "firstName": "JOHN",
                "lastName": "DOE",
                "dateOfBirth": "19800115",
            },
            "encounter": {"serviceTypeCodes": ["30"], "dateOfService": "20240501"},
        }
    )
    env = Envelope(sender_id="ENGINE01", receiver_id="SIMPLAN01", interchange_control_number=500,
                   group_control_number=500, usage="T", now=NOW)  # fmt: skip
    text_270 = request_to_270(request, env)
    text_271 = answer_270(text_270, roster, sim_reply_envelope(text_270, 41, 41, now=NOW))
    (response,) = x12_271_to_responses(text_271.encode())
    keys = eligibility_keys_271(response)
    assert [k.trace_number for k in keys] == ["987654321"]
    assert all(isinstance(k, EligibilityTraceKey) for k in keys)


# ================================================================================ samples


def test_samples_extract() -> None:
    (ca,) = x12_277ca_to_reports(X12 / "277_005010X214" / "accepted.277ca")
    assert claim_statuses_277ca(ca) == [ClaimStatusKey("5781", "1107000000014420", True, ("A2:20",))]
    part = narrow_277ca(ca, "5781", "1107000000014420")
    assert part is not None and claim_statuses_277ca(part) == claim_statuses_277ca(ca)

    (managed,) = x12_835_to_reports(X12 / "835_005010X221A1" / "managed-care.835")
    assert claim_payments_835(managed) == [
        ClaimPaymentKey("5554555444", "94060555410000", "1", "800.00", "450.00"),
        ClaimPaymentKey("8765432112", "94077799230000", "1", "1200.00", "495.00"),
    ]
    part_835 = narrow_835(managed, "5554555444")
    assert part_835 is not None
    text = dump(part_835)
    assert "BUDD" in text and not any(v in text for v in ("8765432112", "SETTLE", "44455666610"))
    assert part_835.transactions[0].financial_information.total_actual_provider_payment_amount == "945.00"  # type: ignore[union-attr]
    (medicare,) = x12_835_to_reports(X12 / "835_005010X221A1" / "medicare-part-a.835")
    keys = claim_payments_835(medicare)
    assert [(k.patient_control_number, k.status_code) for k in keys] == [("666123", "1"), ("777777", "1")]
    assert [len(t.provider_adjustments) for t in medicare.transactions] == [1]  # PLB CV:CP, no claim's
    for k in keys:
        narrowed = narrow_835(medicare, k.patient_control_number or "", k.payer_claim_control_number)
        assert narrowed is not None and claim_payments_835(narrowed) == [k]
        (tx,) = narrowed.transactions
        (detail,) = tx.detail_info
        # TS3 keeps who the group is for, not the totals of its claims; TS2 and the PLB go
        summary = detail.provider_summary_information or {}
        assert set(summary) == {"providerIdentifier", "facilityTypeCode", "fiscalPeriodDate"}
        assert detail.provider_supplemental_summary_information is None
        assert tx.provider_adjustments == []
        other = next(o for o in keys if o != k).patient_control_number
        assert other is not None and other not in dump(narrowed)

    (accepted,) = x12_999_to_acks(X12 / "999_005010X231A1" / "accepted.999")
    assert set_acknowledgments_999(accepted) == [SetAckKey("17456", "0001", "837", True, "A", "A")]
    (rejected,) = x12_999_to_acks(X12 / "999_005010X231A1" / "rejected.999")
    assert set_acknowledgments_999(rejected) == [SetAckKey("28", "0028", "837", False, "R", "R", ("5",))]
    assert narrow_999(rejected, "0028") == rejected

    (found,) = x12_271_to_responses(X12 / "271_005010X279A1" / "subscriber-health-benefit-check.271")
    assert eligibility_keys_271(found) == [EligibilityTraceKey("93175-012547", "9877281234", None)]
    for response in x12_271_to_responses(
        X12 / "271_005010X279A1" / "subscriber-health-benefit-check-error.271"
    ):
        assert all(k.trace_number for k in eligibility_keys_271(response))


# ================================================================================ splitting


def containers(value: Any) -> set[int]:
    """The ids of every dict and list in a JSON document (to check parts share none)."""
    if isinstance(value, dict):
        return {id(value)}.union(*(containers(v) for v in value.values()))
    if isinstance(value, list):
        return {id(value)}.union(*(containers(v) for v in value))
    return set()


def assert_split_is_narrowing(parts: list[Any], narrow: Any, keys_of: Any, report: Any) -> None:
    """Each part's document is the narrowed report's JSON (same keys, same order), its keys are
    those of the narrowed report, and no two parts share a dict or list."""
    seen: set[int] = set()
    for part in parts:
        narrowed = narrow(report, part.patient_control_number, part.payer_claim_control_number)
        assert narrowed is not None
        assert json.dumps(part.document) == json.dumps(narrowed.to_json())
        assert list(part.keys) == keys_of(narrowed)
        assert all(k.patient_control_number == part.patient_control_number for k in part.keys)
        ids = containers(part.document)
        assert not ids & seen
        seen |= ids


def test_split_277ca_is_narrow_277ca_per_claim(batch: Batch) -> None:
    (report,) = x12_277ca_to_reports(batch.answer.ack_277ca.encode())  # type: ignore[union-attr]
    before = dump(report)
    parts = split_277ca(report)
    keys = claim_statuses_277ca(report)
    assert [(p.patient_control_number, p.payer_claim_control_number) for p in parts] == [
        (k.patient_control_number, k.payer_claim_control_number) for k in keys
    ]
    assert [p.keys for p in parts] == [(k,) for k in keys]
    assert_split_is_narrowing(parts, narrow_277ca, claim_statuses_277ca, report)
    for part in parts:
        assert_only(json.dumps(part.document), BY_PCN[part.patient_control_number or ""])
        ClaimAcknowledgmentReport.model_validate(part.document)
    parts[0].document["transactions"][0]["payers"][0]["organizationName"] = "CHANGED"
    assert dump(report) == before  # the input is untouched, and the parts are the caller's
    assert all(p.document["transactions"][0]["payers"][0]["organizationName"] != "CHANGED" for p in parts[1:])


def test_split_835_is_narrow_835_per_claim(batch: Batch) -> None:
    (remit,) = x12_835_to_reports(batch.text_835.encode())
    before = dump(remit)
    parts = split_835(remit)
    assert [p.keys for p in parts] == [(k,) for k in claim_payments_835(remit)]
    assert [p.patient_control_number for p in parts] == [c.pcn for c in PAID]
    assert_split_is_narrowing(parts, narrow_835, claim_payments_835, remit)
    for part in parts:
        assert_only(json.dumps(part.document), BY_PCN[part.patient_control_number or ""])
    assert dump(remit) == before


def test_split_835_keeps_each_claims_provider_adjustments(batch: Batch, rules: Rules) -> None:
    accepted = [v for v in batch.answer.verdicts if v.accepted]
    second = copy.deepcopy(accepted[0])
    second.claim = make_claim(BY_PCN["PCN-CHARLIE-03"])
    second.payer_claim_control_number = "SIM-OTHER-77"
    text = payments_to_835(
        [adjudicate(v, rules)[0] for v in (accepted[0], second)],
        sim_reply_envelope(batch.text_837, 604, 604, now=NOW),
        payer=rules.payer,
        method=rules.payment.method,
        provider_adjustments=[
            ProviderAdjustment(reason="L6", amount=Decimal("-3.50"), identifier="PCN-ALPHA-01"),
            ProviderAdjustment(reason="WO", amount=Decimal("25.00"), identifier="SIM-OTHER-77"),
            ProviderAdjustment(reason="CS", amount=Decimal("1.00"), identifier="BATCH FEE"),
        ],
    )
    (remit,) = x12_835_to_reports(text.encode())
    parts = split_835(remit)
    assert [p.patient_control_number for p in parts] == ["PCN-ALPHA-01", "PCN-CHARLIE-03"]
    assert_split_is_narrowing(parts, narrow_835, claim_payments_835, remit)
    assert [
        [a["adjustmentReasonCode"] for plb in p.document["transactions"][0]["providerAdjustments"]
         for a in plb["adjustments"]]
        for p in parts
    ] == [["L6"], ["WO"]]  # fmt: skip


def test_split_samples() -> None:
    (ca,) = x12_277ca_to_reports(X12 / "277_005010X214" / "accepted.277ca")
    assert_split_is_narrowing(split_277ca(ca), narrow_277ca, claim_statuses_277ca, ca)
    for name in ("managed-care.835", "medicare-part-a.835"):
        (remit,) = x12_835_to_reports(X12 / "835_005010X221A1" / name)
        parts = split_835(remit)
        assert len(parts) == 2
        assert_split_is_narrowing(parts, narrow_835, claim_payments_835, remit)
    for name in ("accepted.999", "rejected.999"):
        (ack,) = x12_999_to_acks(X12 / "999_005010X231A1" / name)
        (part,) = split_999(ack)
        assert part.document == ack.to_json()


def test_split_999_is_narrow_999_per_set(batch: Batch) -> None:
    (ack,) = x12_999_to_acks(batch.answer.ack_999.encode())  # type: ignore[union-attr]
    before = dump(ack)
    parts = split_999(ack)
    keys = set_acknowledgments_999(ack)
    assert [p.keys for p in parts] == [(k,) for k in keys]
    assert [
        (p.group_control_number, p.transaction_set_control_number, p.accepted, p.code) for p in parts
    ] == [
        ("500", batch.sets[c.pcn], c.outcome != "set-rejected", "R" if c.outcome == "set-rejected" else "A")
        for c in CASES
    ]
    seen: set[int] = set()
    for part in parts:
        narrowed = narrow_999(ack, part.transaction_set_control_number)
        assert narrowed is not None
        assert json.dumps(part.document) == json.dumps(narrowed.to_json())
        assert not containers(part.document) & seen
        seen |= containers(part.document)
    assert dump(ack) == before


def test_split_merges_a_repeated_claim_as_narrowing_does(batch: Batch) -> None:
    """The payer repeats ALPHA (once more with its REF*1K, once without, in another patient loop)
    and BRAVO's 835 payment comes twice (a reversal and its correction): narrowing keeps every
    match of the keys asked for, and so does the split."""
    (report,) = x12_277ca_to_reports(batch.answer.ack_277ca.encode())  # type: ignore[union-attr]
    data = report.to_json()
    patients = [
        pt
        for r in data["transactions"][0]["payers"][0]["claimStatusTransactions"]
        for d in r["claimStatusDetails"]
        for pt in d["patientClaimStatusDetails"]
    ]
    (alpha,) = [c for pt in patients for c in pt["claims"] if c["claimStatus"]["referencedTransactionTraceNumber"] == "PCN-ALPHA-01"]  # fmt: skip
    no_number = copy.deepcopy(alpha)
    del no_number["claimStatus"]["tradingPartnerClaimNumber"]
    patients[-1]["claims"].append(copy.deepcopy(alpha))
    patients[-1]["claims"].append(no_number)
    repeated = ClaimAcknowledgmentReport.model_validate(data)
    parts = split_277ca(repeated)
    assert len(parts) == len(REPORTED) + 1  # ALPHA with its number, and ALPHA without
    assert_split_is_narrowing(parts, narrow_277ca, claim_statuses_277ca, repeated)
    by_key = {(p.patient_control_number, p.payer_claim_control_number): p for p in parts}
    number = alpha["claimStatus"]["tradingPartnerClaimNumber"]
    assert len(by_key["PCN-ALPHA-01", number].keys) == 2
    assert len(by_key["PCN-ALPHA-01", None].keys) == 3  # no number asked: every ALPHA claim

    (remit,) = x12_835_to_reports(batch.text_835.encode())
    data = remit.to_json()
    details = data["transactions"][-1]["detailInfo"]
    details.append(copy.deepcopy(details[0]))
    doubled = PaymentReport.model_validate(data)
    parts = split_835(doubled)
    assert [len(p.keys) for p in parts] == [1, 2]
    assert_split_is_narrowing(parts, narrow_835, claim_payments_835, doubled)


def many_claims(n: int) -> list[ProfessionalClaimRequest]:
    """`n` claims cycling over ALPHA, BRAVO (accepted), CHARLIE, DELTA (rejected), each CLM01 unique."""
    templates = [make_claim(c).to_json() for c in CASES[:4]]
    claims = []
    for i in range(n):
        data = copy.deepcopy(templates[i % 4])
        data["claimInformation"]["patientControlNumber"] = f"PCN{i:06d}-{CASES[i % 4].pcn[4:9]}"
        claims.append(ProfessionalClaimRequest.model_validate(data))
    return claims


def test_split_2000_claims_in_one_pass(
    roster: Roster, rules: Rules, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    n = 2000
    text = claims_to_837p(many_claims(n), engine_envelope())
    verdicts, text_277 = acknowledge_837(text, rules, roster, sim_reply_envelope(text, 602, 602, now=NOW))
    text_835 = pay_claims(verdicts, rules, sim_reply_envelope(text, 603, 603, now=NOW), roster)
    assert text_277 is not None and text_835 is not None
    (report,) = x12_277ca_to_reports(text_277.encode())
    (remit,) = x12_835_to_reports(text_835.encode())

    dumps: list[str] = []
    for model in (ClaimAcknowledgmentReport, PaymentReport):
        original = model.model_dump

        def counted(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            dumps.append(type(self).__name__)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(model, "model_dump", counted)
    started = time.perf_counter()
    parts_277 = split_277ca(report)
    middle = time.perf_counter()
    parts_835 = split_835(remit)
    done = time.perf_counter()
    assert dumps == ["ClaimAcknowledgmentReport", "PaymentReport"]  # one dump each, not one per claim
    monkeypatch.undo()
    with capsys.disabled():
        print(
            f"\nsplit_277ca of {n} claims: {middle - started:.2f}s; split_835 of {len(parts_835)}: {done - middle:.2f}s"
        )

    assert len(parts_277) == n and sum(k.accepted is True for p in parts_277 for k in p.keys) == n // 2
    assert len(parts_835) == n // 2
    for parts, keys in ((parts_277, claim_statuses_277ca(report)), (parts_835, claim_payments_835(remit))):
        assert [p.keys for p in parts] == [(k,) for k in keys]
        for part in parts:
            assert isinstance(part, ClaimPart)
            text = json.dumps(part.document)
            assert part.patient_control_number is not None and part.patient_control_number in text
            assert set(re.findall(r"PCN\d{6}", text)) == {part.patient_control_number[:9]}  # no other claim
    for parts, narrow, keys_of, whole in (
        (parts_277, narrow_277ca, claim_statuses_277ca, report),
        (parts_835, narrow_835, claim_payments_835, remit),
    ):
        assert_split_is_narrowing(parts[:: len(parts) // 10], narrow, keys_of, whole)
