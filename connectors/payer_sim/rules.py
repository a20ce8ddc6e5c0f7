"""What the payer simulator answers: 271s from the roster, 999 + 277CA verdicts, 835 payments.

The simulator plays a trading partner for the pipeline's end-to-end tests and demos, so every
answer must be predictable from two small files: the member roster (`roster.py`) and the decision
rules loaded here. The transports (SOAP for 270/271, the SFTP mailbox for 837s) only move text;
all decisions are in this module and all X12 is written by the domain writers in `edi.mappers`.

* `answer_270(text_270, roster, envelope)`: one 271 set per patient asked about. A member found
  and covered on the date of service gets EB*1 (active coverage, the service types asked, the
  insurance type and plan name) and the plan's co-payment (EB*B), co-insurance (EB*A), deductible
  (EB*C, calendar year and remaining) and out-of-pocket maximum (EB*G); a member inactive, or not
  covered on that date, gets EB*6. Otherwise AAA at 2100C and no EB: 72 (no member id), 75 (not
  found), 73 (last name does not match), 71 (birth date does not match), all with follow-up C.
* `acknowledge_837(text_837, rules, roster, envelope)`: the claims of every transaction set the
  999 accepts, each judged by the reject rules (all that match are reported; no match means
  accepted with a payer claim control number), and the 277CA acknowledging them.
  `acknowledge_batch` also returns the 999 (`edi.x12.ack.acknowledge`).
* `pay_claims(verdicts, rules, envelope, roster=None)`: an 835 paying the accepted claims. Each
  line is allowed ``allowed_percent`` of its charge (the rest CO-45), then the member's deductible
  (PR-1, used up across the claims of one run), co-payment once per claim (PR-3) and co-insurance
  (PR-2) are the patient's share. Totals balance by construction.

Rules file layout::

    payer:                            # the 277CA's 2100A and the 835's 1000A, BPR10, TRN03
      name: SIMULATED HEALTH PLAN
      payer_id: SIMPLAN01
      tax_id: "123456789"
      address: {address1: 100 PAYER WAY, city: AUSTIN, state: TX, postal_code: "78701"}
      contact: {name: EDI SUPPORT, phone: "8005550100"}
    acknowledgment:
      accepted_status: "A1:20"        # STC01 of accepted claims
      claim_number_prefix: SIM        # payer claim control numbers: prefix + ISA13 + claim number
    reject:                           # every matching rule adds its status (CATEGORY:CODE[:ENTITY])
      - {rule: unknown_member, status: "A3:33:IL"}
      - {rule: inactive_member, status: "A3:109:IL"}   # inactive or not covered on the dates
      - {rule: charge_over, amount: 5000, status: "A3:178"}
      - {rule: procedure_codes, codes: ["99499"], status: "A3:454"}
      - {rule: missing_billing_npi, status: "A7:562:85"}
    payment:
      allowed_percent: 80
      contractual_reason: "45"
      copay: 0                        # defaults for members without cost sharing of their own
      coinsurance_percent: 0
      deductible: 0
      claim_filing_code: null         # CLP06; default: the claim's when the 835 allows it, else ZZ
      method: ACH                     # ACH needs the four bank numbers below; CHK does not
      sender_routing: "111000025"
      sender_account: "5550001"
      receiver_routing: "222000111"
      receiver_account: "7770001"
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from edi.mappers.claim_acknowledgment_writer import (
    Claim,
    ClaimStatus,
    ClaimVerdict,
    billing_provider,
    claim_service_dates,
    claims_to_277ca,
    line_charge,
    procedure_composite,
)
from edi.mappers.eligibility import IMPLEMENTATION_270_271
from edi.mappers.eligibility_response import Echo270, body_271, echoes_from_270
from edi.mappers.envelope import Envelope, wrap
from edi.mappers.institutional import x12_837i_to_claims
from edi.mappers.professional import x12_837p_to_claims
from edi.mappers.remittance_writer import (
    Adjustment,
    ClaimPayment,
    LinePayment,
    Payer,
    PaymentMethod,
    payments_to_835,
)
from edi.models.common import ResponseError
from edi.models.eligibility import (
    AaaError,
    AdditionalInformation,
    BenefitsInformation,
    EligibilityResponse,
    EligibilityResponsePayer,
    EligibilityResponseSubscriber,
    PlanDateInformation,
    PlanInformation,
)
from edi.x12.ack import AckNumbers, acknowledge
from edi.x12.delimiters import Delimiters
from edi.x12.findings import ValidationReport
from edi.x12.reader import Source, X12Reader
from edi.x12.validator import validate

from .roster import Member, Roster, RosterError, amount, is_null, read_yaml

__all__ = [
    "AnswerMemo",
    "BatchAnswer",
    "PaymentTerms",
    "RejectRule",
    "Rules",
    "RulesError",
    "acknowledge_837",
    "acknowledge_batch",
    "adjudicate",
    "answer_270",
    "eligibility_answer",
    "judge_claim",
    "load_rules",
    "pay_claims",
    "reply_envelope",
]

_RULE_KINDS = {
    "unknown_member": "A3:33:IL",
    "inactive_member": "A3:109:IL",
    "charge_over": "A3:178",
    "procedure_codes": "A3:454",
    "missing_billing_npi": "A7:562:85",
}
_CENTS = Decimal("0.01")
_ZERO = Decimal("0")
_HUNDRED = Decimal("100")


class RulesError(ValueError):
    """A rules file the simulator cannot use; the message names the entry and field."""


@dataclass(frozen=True, slots=True)
class RejectRule:
    """One reason to reject a claim at acknowledgment, and the 277CA status that says so."""

    rule: str
    status: ClaimStatus
    amount: Decimal | None = None  # charge_over: reject claims charging more than this
    codes: frozenset[str] = frozenset()  # procedure_codes: reject lines with these codes
    message: str | None = None  # STC12


@dataclass(slots=True)
class PaymentTerms:
    """How accepted claims are priced and paid."""

    allowed_percent: Decimal = Decimal(80)
    contractual_reason: str = "45"
    copay: Decimal = _ZERO
    coinsurance_percent: Decimal = _ZERO
    deductible: Decimal = _ZERO
    claim_filing_code: str | None = None
    method: PaymentMethod = field(default_factory=PaymentMethod)


@dataclass(slots=True)
class Rules:
    """The simulator's decision rules and its identity as a payer."""

    payer: Payer
    reject: list[RejectRule] = field(default_factory=list)
    accepted_status: ClaimStatus = ClaimStatus("A1", "20")
    claim_number_prefix: str = "SIM"
    payment: PaymentTerms = field(default_factory=PaymentTerms)


# ------------------------------------------------------------------------------------ loading


def load_rules(source: str | os.PathLike[str] | Mapping[str, Any]) -> Rules:
    """Rules from a YAML file path, YAML text or already parsed data."""
    data = read_yaml(source)
    if not isinstance(data, Mapping):
        raise RulesError("rules are a mapping with payer, acknowledgment, reject and payment")
    try:
        return Rules(
            payer=_payer(data.get("payer")),
            reject=[_reject(r, f"reject[{i}]") for i, r in enumerate(_list(data, "reject"))],
            accepted_status=_status(
                _section(data, "acknowledgment").get("accepted_status", "A1:20"),
                "acknowledgment.accepted_status",
            ),
            claim_number_prefix=str(_section(data, "acknowledgment").get("claim_number_prefix", "SIM")),
            payment=_terms(_section(data, "payment")),
        )
    except RosterError as error:  # amounts and dates share the roster's parsers
        raise RulesError(str(error)) from None


def _payer(data: Any) -> Payer:
    if not isinstance(data, Mapping):
        raise RulesError("payer: required (name, payer_id, tax_id, address, contact)")
    address = _section(data, "address", "payer.")
    contact = _section(data, "contact", "payer.")
    missing = [k for k in ("name", "tax_id") if is_null(data.get(k))]
    missing += [
        f"address.{k}" for k in ("address1", "city", "state", "postal_code") if is_null(address.get(k))
    ]
    if missing:
        raise RulesError(f"payer: missing {', '.join(missing)}")
    tax_id = str(data["tax_id"])
    if len(tax_id) != 9 or not tax_id.isdigit():
        raise RulesError("payer.tax_id: nine digits")
    if all(is_null(contact.get(k)) for k in ("phone", "email", "url")):
        raise RulesError("payer.contact: a phone, email or url (the 835's PER*BL)")
    return Payer(
        name=str(data["name"]),
        tax_id=tax_id,
        address1=str(address["address1"]),
        address2=_opt(address.get("address2")),
        city=str(address["city"]),
        state=str(address["state"]),
        postal_code=str(address["postal_code"]),
        payer_id=_opt(data.get("payer_id")),
        contact_name=_opt(contact.get("name")),
        contact_phone=_opt(contact.get("phone")),
        contact_email=_opt(contact.get("email")),
        contact_url=_opt(contact.get("url")),
    )


def _status(value: Any, where: str) -> ClaimStatus:
    try:
        return ClaimStatus.parse(str(value))
    except ValueError as error:
        raise RulesError(f"{where}: {error}") from None


def _reject(data: Any, where: str) -> RejectRule:
    if not isinstance(data, Mapping) or data.get("rule") not in _RULE_KINDS:
        raise RulesError(f"{where}.rule: one of {', '.join(_RULE_KINDS)}")
    kind = str(data["rule"])
    status = _status(data.get("status", _RULE_KINDS[kind]), f"{where}.status")
    limit = amount(data.get("amount"), f"{where}.amount")
    codes = frozenset(str(c).strip().upper() for c in _list(data, "codes", f"{where}."))
    if kind == "charge_over" and limit is None:
        raise RulesError(f"{where}.amount: required for charge_over")
    if kind == "procedure_codes" and not codes:
        raise RulesError(f"{where}.codes: required for procedure_codes")
    return RejectRule(kind, status, limit, codes, _opt(data.get("message")))


def _terms(data: Mapping[str, Any]) -> PaymentTerms:
    percent = amount(data.get("allowed_percent", 80), "payment.allowed_percent")
    if percent is None or percent > _HUNDRED:
        raise RulesError("payment.allowed_percent: a percentage from 0 to 100")
    coinsurance = amount(data.get("coinsurance_percent"), "payment.coinsurance_percent") or _ZERO
    if coinsurance > _HUNDRED:
        raise RulesError("payment.coinsurance_percent: a percentage from 0 to 100")
    method = PaymentMethod(
        method=str(data.get("method", "CHK")),
        handling=str(data.get("handling", "I")),
        sender_routing=_opt(data.get("sender_routing")),
        sender_account=_opt(data.get("sender_account")),
        receiver_routing=_opt(data.get("receiver_routing")),
        receiver_account=_opt(data.get("receiver_account")),
    )
    if method.method == "ACH" and not all(
        (method.sender_routing, method.sender_account, method.receiver_routing, method.receiver_account)
    ):
        raise RulesError(
            "payment: ACH needs sender_routing, sender_account, receiver_routing, receiver_account"
        )
    return PaymentTerms(
        allowed_percent=percent,
        contractual_reason=str(data.get("contractual_reason", "45")),
        copay=amount(data.get("copay"), "payment.copay") or _ZERO,
        coinsurance_percent=coinsurance,
        deductible=amount(data.get("deductible"), "payment.deductible") or _ZERO,
        claim_filing_code=_opt(data.get("claim_filing_code")),
        method=method,
    )


def _section(data: Mapping[str, Any], key: str, where: str = "") -> Mapping[str, Any]:
    value = data.get(key)
    if is_null(value):
        return {}
    if not isinstance(value, Mapping):
        raise RulesError(f"{where}{key}: expected a mapping")
    return value


def _list(data: Mapping[str, Any], key: str, where: str = "") -> list[Any]:
    value = data.get(key)
    if is_null(value):
        return []
    if not isinstance(value, list):
        raise RulesError(f"{where}{key}: expected a list")
    return value


def _opt(value: Any) -> str | None:
    return None if is_null(value) else str(value)


# ------------------------------------------------------------------------------------ envelopes


def reply_envelope(
    source: Source,
    interchange_control_number: int,
    group_control_number: int,
    transaction_control_number: int = 1,
    *,
    now: datetime | None = None,
) -> Envelope:
    """The envelope answering `source`'s first interchange: its sender and receiver swapped, its
    usage indicator and separators kept; control numbers come from the caller's sequences."""
    if isinstance(source, str) and source.lstrip().startswith("ISA"):
        source = source.encode("utf-8", "surrogateescape")
    reader = X12Reader(source)
    isa: list[str] | None = None
    gs: list[str] | None = None
    for seg in reader:
        if seg[0] == "ISA":
            isa = seg
        elif seg[0] == "GS":
            gs = seg
            break
    if isa is None or len(isa) < 17:
        raise ValueError("no interchange (ISA) to answer")
    d = reader.delimiters
    return Envelope(
        sender_id=isa[8].strip(),
        receiver_id=isa[6].strip(),
        interchange_control_number=interchange_control_number,
        group_control_number=group_control_number,
        transaction_control_number=transaction_control_number,
        sender_qualifier=isa[7],
        receiver_qualifier=isa[5],
        application_sender=gs[3] if gs is not None and len(gs) > 3 else None,
        application_receiver=gs[2] if gs is not None and len(gs) > 2 else None,
        usage=isa[15] if isa[15] in ("P", "T") else "P",
        delimiters=Delimiters(d.element, d.component, d.repetition or "^", d.segment, d.line_break or "\n"),
        now=now,
    )


# ------------------------------------------------------------------------------------ 270 -> 271


def _aaa(code: str) -> AaaError:
    return AaaError(field="AAA", code=code, followup_action="C", location="Loop 2100C")


def eligibility_answer(echo: Echo270, roster: Roster) -> EligibilityResponse:
    """The response the simulator gives to one patient of a 270 (before it is written as a 271)."""
    nm1 = echo.subscriber + [""] * 9
    dmg = echo.subscriber_dmg + ["", "", ""]
    member_id, last_name, birth_date = nm1[8], nm1[2], dmg[1]
    payer = None
    if roster.payer_name or roster.payer_id:
        payer = EligibilityResponsePayer(name=roster.payer_name, payor_identification=roster.payer_id)
    control = echo.trace_numbers[0] if echo.trace_numbers else None
    member = roster.find(member_id)
    error = None
    if not member_id:
        error = "72"  # Invalid/Missing Subscriber/Insured ID
    elif member is None:
        error = "75"  # Subscriber/Insured Not Found
    elif last_name and member.last_name and last_name.upper() != member.last_name.upper():
        error = "73"  # Invalid/Missing Subscriber/Insured Name
    elif birth_date and member.date_of_birth and birth_date != member.date_of_birth:
        error = "71"  # Patient Birth Date Does Not Match That for the Patient on the Database
    if error is not None or member is None:
        aaa = _aaa(error or "75")
        return EligibilityResponse(
            control_number=control,
            payer=payer,
            subscriber=EligibilityResponseSubscriber(aaa_errors=[aaa]),
            errors=[ResponseError(**aaa.model_dump())],
        )
    asked = echo.service_types or list(member.service_types)
    subscriber = EligibilityResponseSubscriber(
        member_id=member.member_id,
        first_name=member.first_name,
        last_name=member.last_name,
        date_of_birth=member.date_of_birth,
        gender=member.gender,
        group_number=member.group_number,
        group_description=member.plan if member.group_number else None,
    )
    covered = member.covered_on(echo.service_date or None)
    benefits = (
        _benefits(member, asked)
        if covered
        else [
            BenefitsInformation(code="6", coverage_level_code=member.coverage_level, service_type_codes=asked)
        ]
    )
    dates = PlanDateInformation(plan_begin=member.coverage_begin, plan_end=member.coverage_end)
    return EligibilityResponse(
        control_number=control,
        payer=payer,
        subscriber=subscriber,
        plan_information=PlanInformation(group_number=member.group_number, group_description=member.plan)
        if member.group_number
        else None,
        plan_date_information=dates if (member.coverage_begin or member.coverage_end) else None,
        benefits_information=benefits,
    )


def _fraction(percent: Decimal) -> str:
    """A percentage as the 271's EB08 decimal fraction (20 -> 0.2)."""
    value = (percent / _HUNDRED).normalize()
    return format(value, "f")


def _money(value: Decimal) -> str:
    return str(value.quantize(_CENTS, rounding=ROUND_HALF_UP))


def _benefits(member: Member, asked: list[str]) -> list[BenefitsInformation]:
    level = member.coverage_level
    rows = [
        BenefitsInformation(
            code="1",
            coverage_level_code=level,
            service_type_codes=asked,
            insurance_type_code=member.insurance_type,
            plan_coverage=member.plan,
            additional_information=[AdditionalInformation(description=member.message)]
            if member.message
            else None,
        )
    ]
    if member.copay is not None:
        rows.append(
            BenefitsInformation(
                code="B",
                coverage_level_code=level,
                service_type_codes=list(member.copay_service_types),
                insurance_type_code=member.insurance_type,
                time_qualifier_code="27",  # visit
                benefit_amount=_money(member.copay),
                in_plan_network_indicator_code="Y",
            )
        )
    if member.coinsurance_percent is not None:
        rows.append(
            BenefitsInformation(
                code="A",
                coverage_level_code=level,
                service_type_codes=asked,
                insurance_type_code=member.insurance_type,
                benefit_percent=_fraction(member.coinsurance_percent),
                in_plan_network_indicator_code="Y",
            )
        )
    for code, value, period in (
        ("C", member.deductible, "23"),  # calendar year
        ("C", member.deductible_remaining, "29"),  # remaining
        ("G", member.out_of_pocket, "23"),
    ):
        if value is not None:
            rows.append(
                BenefitsInformation(
                    code=code,
                    coverage_level_code=level,
                    service_type_codes=asked,
                    insurance_type_code=member.insurance_type,
                    time_qualifier_code=period,
                    benefit_amount=_money(value),
                    in_plan_network_indicator_code="Y",
                )
            )
    return rows


#: Most answers an `answers` memo of `answer_270` holds before it starts again.
ANSWER_MEMO_SIZE = 4096

AnswerMemo = MutableMapping[tuple[Any, ...], EligibilityResponse]


def _remembered_answer(echo: Echo270, roster: Roster, answers: AnswerMemo) -> EligibilityResponse:
    """`eligibility_answer`, reused for a patient asked about the same way before: it depends only
    on the 2100C NM1 and DMG, the service types and the date asked about (the control number aside),
    and building its models is a tenth of a 271's CPU. The answers are shared and never changed."""
    key = (tuple(echo.subscriber), tuple(echo.subscriber_dmg), tuple(echo.service_types), echo.service_date)
    answer = answers.get(key)
    if answer is None:
        answer = eligibility_answer(echo, roster)
        if len(answers) >= ANSWER_MEMO_SIZE:
            answers.clear()
        answers[key] = answer
    control = echo.trace_numbers[0] if echo.trace_numbers else None
    return answer if answer.control_number == control else answer.model_copy(update={"control_number": control})


def answer_270(
    text_270: Source, roster: Roster, envelope: Envelope, *, answers: AnswerMemo | None = None
) -> str:
    """One 271 interchange answering every patient of the 270 (one transaction set each).

    A dependent asked about is answered at the subscriber's level (the roster lists subscribers):
    the trace of the dependent's 270 loop comes back in loop 2000C, so the answer still matches.
    `answers` (an empty dict kept by the caller, for one roster that is not changed meanwhile)
    remembers each patient's answer for the next 270 asking the same.
    """
    echoes = echoes_from_270(text_270)
    if not echoes:
        raise ValueError("the 270 holds no patient to answer")
    now = envelope.now or datetime.now()
    env = dataclasses.replace(envelope, now=now)
    bodies = [
        body_271(
            eligibility_answer(e, roster) if answers is None else _remembered_answer(e, roster, answers),
            e,
            now,
            env.delimiters,
        )
        for e in echoes
    ]
    return wrap(env, "HB", IMPLEMENTATION_270_271, "271", bodies)


# ------------------------------------------------------------------------------------ 837 -> 277CA


def judge_claim(claim: Claim, rules: Rules, roster: Roster) -> ClaimVerdict:
    """Apply every reject rule to one claim: all matching statuses, or accepted."""
    statuses: list[ClaimStatus] = []
    messages: list[str] = []
    line_statuses: dict[int, list[ClaimStatus]] = {}
    member = roster.find(claim.subscriber.member_id)
    lines = claim.claim_information.service_lines
    for rule in rules.reject:
        hit = False
        if rule.rule == "unknown_member":
            hit = member is None
        elif rule.rule == "inactive_member":
            begin, end = claim_service_dates(claim)
            hit = member is not None and not member.covered_on(f"{begin}-{end}")
        elif rule.rule == "charge_over":
            hit = (
                rule.amount is not None and Decimal(claim.claim_information.claim_charge_amount) > rule.amount
            )
        elif rule.rule == "procedure_codes":
            for i, line in enumerate(lines):
                if procedure_composite(line)[0][1].upper() in rule.codes:
                    hit = True
                    line_statuses.setdefault(i, []).append(rule.status)
        elif rule.rule == "missing_billing_npi":
            provider = billing_provider(claim)
            hit = provider is None or not provider.npi
        if hit:
            if rule.status not in statuses:
                statuses.append(rule.status)
            if rule.message:
                messages.append(rule.message)
    if statuses:
        return ClaimVerdict(
            claim, False, statuses, message="; ".join(messages)[:264] or None, line_statuses=line_statuses
        )
    return ClaimVerdict(claim, True, [rules.accepted_status])


@dataclass(slots=True)
class BatchAnswer:
    """Everything the simulator puts in the submitter's mailbox for one 837 file."""

    ack_999: str | None  # None only when nothing is owed (an acknowledgment file itself)
    verdicts: list[ClaimVerdict]
    ack_277ca: str | None  # None when no claim passed the 999


def _split_sets(data: bytes) -> list[tuple[tuple[str, str, str], str, bytes]]:
    """Each transaction set of `data` as a standalone interchange: ((ISA13, GS06, ST02), GS08, text)."""
    reader = X12Reader(data)
    out: list[tuple[tuple[str, str, str], str, bytes]] = []
    isa: list[str] = []
    gs: list[str] = []
    body: list[list[str]] | None = None
    for seg in reader:
        seg_id = seg[0]
        if seg_id == "ISA":
            isa = seg
        elif seg_id == "GS":
            gs = seg
        elif seg_id == "ST":
            body = [seg]
        elif body is not None:
            body.append(seg)
            if seg_id == "SE" and len(isa) > 13 and len(gs) > 8:
                d = reader.delimiters
                end = d.segment + "\n"
                text = d.element.join(isa) + end + d.element.join(gs) + end
                text += "".join(d.element.join(s) + end for s in body)
                text += f"GE{d.element}1{d.element}{gs[6]}{end}IEA{d.element}1{d.element}{isa[13]}{end}"
                st02 = body[0][2] if len(body[0]) > 2 else ""
                out.append(((isa[13], gs[6], st02), gs[8], text.encode("utf-8", "surrogateescape")))
                body = None
    return out


def _accepted_sets(report: ValidationReport) -> set[tuple[str, str, str]]:
    keys = set()
    for isa in report.interchanges:
        if isa.envelope_errors:
            continue
        for g in isa.groups:
            if any(f.severity == "error" for f in g.findings):
                continue
            for t in g.transactions:
                if t.transaction_set_id == "837" and t.ack_code in ("A", "E"):
                    keys.add((isa.control_number, g.control_number, t.control_number))
    return keys


def _accepted_claims(data: bytes, report: ValidationReport) -> list[Claim]:
    accepted = _accepted_sets(report)
    claims: list[Claim] = []
    for key, version, text in _split_sets(data):
        if key not in accepted:
            continue
        if "X222" in version:
            claims.extend(x12_837p_to_claims(text))
        elif "X223" in version:
            claims.extend(x12_837i_to_claims(text))
    return claims


def _as_bytes(source: Source) -> bytes:
    if isinstance(source, bytes | bytearray):
        return bytes(source)
    if isinstance(source, str) and source.lstrip().startswith("ISA"):
        return source.encode("utf-8", "surrogateescape")
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as f:
            return f.read()
    return source.read()


def acknowledge_837(
    text_837: Source,
    rules: Rules,
    roster: Roster,
    envelope: Envelope,
    *,
    report: ValidationReport | None = None,
) -> tuple[list[ClaimVerdict], str | None]:
    """The verdicts on the claims of every transaction set the 999 accepts, and their 277CA
    (None when no claim got that far). `report` reuses a validation already run on the file."""
    data = _as_bytes(text_837)
    report = report or validate(data)
    claims = _accepted_claims(data, report)
    verdicts = [judge_claim(c, rules, roster) for c in claims]
    for number, v in enumerate(verdicts, 1):
        if v.accepted:
            v.payer_claim_control_number = (
                f"{rules.claim_number_prefix}{envelope.interchange_control_number:09d}{number:05d}"
            )
    if not verdicts:
        return [], None
    ack = claims_to_277ca(verdicts, envelope, payer_name=rules.payer.name, payer_id=rules.payer.payer_id)
    return verdicts, ack


def acknowledge_batch(
    text_837: Source,
    rules: Rules,
    roster: Roster,
    ack_numbers: AckNumbers,
    envelope: Envelope,
) -> BatchAnswer:
    """The 999 (numbered by `ack_numbers`) and the 277CA (in `envelope`) for one 837 file.

    The 999 answers the file's first interchange (an SFTP drop carries one); a TA1 comes with it
    when ISA14 asks for one or replaces it when the envelope itself is rejected.
    """
    data = _as_bytes(text_837)
    report = validate(data)
    ack = None
    if report.interchanges:
        ack = acknowledge(report.interchanges[0], ack_numbers, envelope.delimiters, now=envelope.now)
    verdicts, ca = acknowledge_837(data, rules, roster, envelope, report=report)
    return BatchAnswer(ack_999=ack, verdicts=verdicts, ack_277ca=ca)


# ------------------------------------------------------------------------------------ 835


def _cents(value: Decimal) -> Decimal:
    return value.quantize(_CENTS, rounding=ROUND_HALF_UP)


def adjudicate(
    verdict: ClaimVerdict,
    rules: Rules,
    member: Member | None = None,
    deductible_left: Decimal | None = None,
) -> tuple[ClaimPayment, Decimal]:
    """Price one accepted claim; returns the payment and the deductible still left afterwards.

    Cost sharing comes from `member` where the roster gives it, else from the payment terms.
    """
    if not verdict.accepted or not verdict.payer_claim_control_number:
        raise ValueError(
            f"claim {verdict.patient_control_number}: only accepted claims with a number are paid"
        )
    terms = rules.payment
    copay = member.copay if member is not None and member.copay is not None else terms.copay
    coinsurance = (
        member.coinsurance_percent
        if member is not None and member.coinsurance_percent is not None
        else terms.coinsurance_percent
    )
    if deductible_left is None:
        if member is not None and member.deductible_remaining is not None:
            deductible_left = member.deductible_remaining
        elif member is not None and member.deductible is not None:
            deductible_left = member.deductible
        else:
            deductible_left = terms.deductible
    copay_left = copay
    lines: list[LinePayment] = []
    for line in verdict.claim.claim_information.service_lines:
        charge = line_charge(line)
        allowed = _cents(charge * terms.allowed_percent / _HUNDRED)
        deductible = min(deductible_left, allowed)
        deductible_left -= deductible
        copay_part = min(copay_left, allowed - deductible)
        copay_left -= copay_part
        coinsurance_part = _cents((allowed - deductible - copay_part) * coinsurance / _HUNDRED)
        paid = allowed - deductible - copay_part - coinsurance_part
        adjustments = [
            Adjustment(group, reason, value)
            for group, reason, value in (
                ("CO", terms.contractual_reason, charge - allowed),
                ("PR", "1", deductible),
                ("PR", "2", coinsurance_part),
                ("PR", "3", copay_part),
            )
            if value
        ]
        lines.append(LinePayment(paid=paid, allowed=allowed, adjustments=adjustments))
    payment = ClaimPayment(
        claim=verdict.claim,
        payer_claim_control_number=verdict.payer_claim_control_number,
        lines=lines,
        claim_filing_code=terms.claim_filing_code,
    )
    payment.check()
    return payment, deductible_left


def pay_claims(
    verdicts: Sequence[ClaimVerdict],
    rules: Rules,
    envelope: Envelope,
    roster: Roster | None = None,
) -> str | None:
    """An 835 paying exactly the accepted claims of `verdicts` (None when none was accepted)."""
    payments: list[ClaimPayment] = []
    deductibles: dict[str, Decimal] = {}
    for v in verdicts:
        if not v.accepted:
            continue
        member = roster.find(v.claim.subscriber.member_id) if roster is not None else None
        key = (member.member_id if member is not None else v.claim.subscriber.member_id).upper()
        payment, left = adjudicate(v, rules, member, deductibles.get(key))
        deductibles[key] = left
        payments.append(payment)
    if not payments:
        return None
    return payments_to_835(payments, envelope, payer=rules.payer, method=rules.payment.method)
