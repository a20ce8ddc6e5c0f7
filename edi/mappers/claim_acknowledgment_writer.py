"""Claim verdicts -> 277CA (005010X214): a payer's acknowledgment of the claims of an 837.

The engine reads 277CAs (`edi.mappers.claim_acknowledgment`); the payer simulator writes them, so
that the pipeline's response intake meets the same files a real payer sends. A payer decides, for
each claim of an 837 that passed the 999, whether it enters adjudication; `ClaimVerdict` is that
decision and `claims_to_277ca` writes it.

``claims_to_277ca(verdicts, envelope)`` writes one interchange (GS01 ``HN``, one 277 set) with:

* 2000A/2100A the payer (information source): NM1*PR*2*name*****PI*payer id; 2200A TRN*1 (the
  payer's trace for this acknowledgment), DTP*050 receipt date, DTP*009 process date;
* 2000B/2100B the submitter (information receiver): NM1*41 with its ETIN (NM108 46); 2200B TRN*2
  with the 837's batch id (its BHT03), STC*A1:19:PR with the batch's total charge, accepted and
  rejected counts (QTY*90/AA) and amounts (AMT*YU/YY);
* 2000C/2100C one per billing provider: NM1*85 with its NPI (XX; FI with the tax id when there is
  no NPI); 2200C TRN*1*0, STC*A1:19:PR, QTY*QA/QC, AMT*YU/YY;
* 2000D/2100D one per claim: the patient NM1*QC (the dependent when there is one, with the
  subscriber's member id when the dependent has none); 2200D TRN*2 with CLM01, STC with the
  verdict's statuses (three composites per STC: STC01, STC10, STC11), action WQ (accepted) or U
  (rejected), the claim charge, STC12 message, REF*1K payer claim control number, REF*D9 (the
  claim's ``claimNumber``), REF*BLT (institutional type of bill), DTP*472 service dates (the lines'
  first to last date, or the statement period); 2220D for each line given a status of its own:
  SVC, STC (action U), REF*FJ line control number, DTP*472.

The default statuses are ``A1:20`` (received, accepted for processing) and ``A3:21`` (returned as
unprocessable: missing or invalid information). An accepted verdict must carry accepting
categories (A0, A1, A2, A5) and a rejected one rejecting categories (A3, A4, A6, A7, A8, E0, E3,
E4), so that the 277CA reader's verdict is the one written.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from edi.codes import REJECTED_CATEGORY_CODES
from edi.mappers.claim_acknowledgment import ACCEPTED_CATEGORY_CODES
from edi.mappers.envelope import Envelope, wrap
from edi.models.claims import (
    ClaimProvider,
    InstitutionalClaimRequest,
    InstitutionalServiceLine,
    ProfessionalClaimRequest,
    ProfessionalServiceLine,
)
from edi.x12.delimiters import Delimiters
from edi.x12.grammar import external_codes
from edi.x12.writer import Segment

__all__ = [
    "ACCEPTED",
    "IMPLEMENTATION_277CA",
    "REJECTED",
    "Claim",
    "ClaimStatus",
    "ClaimVerdict",
    "claims_to_277ca",
    # claim facts the 835 writer shares
    "Text",
    "billing_provider",
    "claim_charge",
    "claim_service_dates",
    "date_element",
    "line_charge",
    "line_control_number",
    "line_dates",
    "line_units",
    "money",
    "procedure_composite",
]

IMPLEMENTATION_277CA = "005010X214"
Claim = ProfessionalClaimRequest | InstitutionalClaimRequest

_CENTS = Decimal("0.01")
_MAX_STATUSES_PER_STC = 3
_CLAIM_ENTITIES = frozenset(
    [
        "03",
        "1P",
        "1Z",
        "40",
        "41",
        "71",
        "72",
        "73",
        "77",
        "82",
        "85",
        "87",
        "DK",
        "DN",
        "DQ",
        "FA",
        "GB",
        "HK",
    ]
    + ["IL", "LI", "MSC", "PR", "PRP", "QB", "QC", "QD", "SEP", "TL", "TTP", "TU"]
)


@dataclass(frozen=True, slots=True)
class ClaimStatus:
    """One STC composite: category (STC01-1), status code (STC01-2), optional entity (STC01-3)."""

    category: str
    code: str
    entity: str | None = None

    def composite(self) -> list[str]:
        return [self.category, self.code, self.entity or ""]

    @classmethod
    def parse(cls, text: str) -> ClaimStatus:
        """``"A3:21"`` or ``"A7:562:85"`` as a status."""
        parts = text.split(":")
        if len(parts) not in (2, 3) or not all(parts[:2]):
            raise ValueError(f"claim status {text!r} is not CATEGORY:CODE[:ENTITY]")
        return cls(parts[0], parts[1], parts[2] if len(parts) == 3 and parts[2] else None)

    def __str__(self) -> str:
        return ":".join(p for p in (self.category, self.code, self.entity) if p)


ACCEPTED = ClaimStatus("A1", "20")  # Acknowledgement/Receipt: accepted for processing
REJECTED = ClaimStatus("A3", "21")  # Returned as unprocessable claim: missing or invalid information


@dataclass(slots=True)
class ClaimVerdict:
    """A payer's decision on one claim: accepted into adjudication or rejected, and why.

    ``line_statuses`` maps a 0-based service line index to statuses reported for that line alone
    (loop 2220D), e.g. the procedure code a rejection is about.
    """

    claim: Claim
    accepted: bool
    statuses: list[ClaimStatus] = field(default_factory=list)
    payer_claim_control_number: str | None = None
    message: str | None = None
    line_statuses: dict[int, list[ClaimStatus]] = field(default_factory=dict)

    @property
    def patient_control_number(self) -> str:
        return self.claim.claim_information.patient_control_number

    @property
    def charge(self) -> Decimal:
        return claim_charge(self.claim)

    def effective_statuses(self) -> list[ClaimStatus]:
        """The statuses written: those given, else the default accepted or rejected one."""
        return list(self.statuses) or [ACCEPTED if self.accepted else REJECTED]

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data (for a store between the 277CA and the 835); `from_json` reverses it."""
        return {
            "claimType": "institutional"
            if isinstance(self.claim, InstitutionalClaimRequest)
            else "professional",
            "claim": self.claim.to_json(),
            "accepted": self.accepted,
            "statuses": [str(s) for s in self.statuses],
            "payerClaimControlNumber": self.payer_claim_control_number,
            "message": self.message,
            "lineStatuses": {str(i): [str(s) for s in v] for i, v in self.line_statuses.items()},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ClaimVerdict:
        model = (
            InstitutionalClaimRequest
            if data.get("claimType") == "institutional"
            else ProfessionalClaimRequest
        )
        return cls(
            claim=model.model_validate(data["claim"]),
            accepted=bool(data["accepted"]),
            statuses=[ClaimStatus.parse(s) for s in data.get("statuses") or []],
            payer_claim_control_number=data.get("payerClaimControlNumber"),
            message=data.get("message"),
            line_statuses={
                int(i): [ClaimStatus.parse(s) for s in v] for i, v in (data.get("lineStatuses") or {}).items()
            },
        )


# ------------------------------------------------------------------ claim facts shared with the 835


def money(value: Decimal | str | int) -> str:
    """An X12 amount with two decimals."""
    return str(Decimal(value).quantize(_CENTS, rounding=ROUND_HALF_UP))


def claim_charge(claim: Claim) -> Decimal:
    return Decimal(claim.claim_information.claim_charge_amount)


def line_charge(line: ProfessionalServiceLine | InstitutionalServiceLine) -> Decimal:
    if isinstance(line, ProfessionalServiceLine):
        return Decimal(line.professional_service.line_item_charge_amount)
    return Decimal(line.institutional_service.line_item_charge_amount)


def line_dates(
    claim: Claim, line: ProfessionalServiceLine | InstitutionalServiceLine
) -> tuple[str | None, str | None]:
    """A line's first and last date of service (the claim's statement period when it has none)."""
    if line.service_date:
        return line.service_date, line.service_date_end or line.service_date
    if isinstance(claim, InstitutionalClaimRequest):
        dates = claim.claim_information.claim_date_information
        return dates.statement_begin_date, dates.statement_end_date
    return None, None


def claim_service_dates(claim: Claim) -> tuple[str, str]:
    """The claim's first and last date of service: the statement period, else its lines' dates."""
    if isinstance(claim, InstitutionalClaimRequest):
        dates = claim.claim_information.claim_date_information
        return dates.statement_begin_date, dates.statement_end_date
    found = [d for line in claim.claim_information.service_lines for d in line_dates(claim, line) if d]
    return min(found), max(found)


def date_element(begin: str, end: str) -> tuple[str, str]:
    """DTP02/DTP03: D8 for one day, RD8 for a period."""
    return ("D8", begin) if begin == end else ("RD8", f"{begin}-{end}")


def billing_provider(claim: Claim) -> ClaimProvider | None:
    if claim.billing is not None:
        return claim.billing
    for p in claim.providers or []:
        if (p.provider_type or "").lower() in ("billingprovider", "billing"):
            return p
    return None


def procedure_composite(line: ProfessionalServiceLine | InstitutionalServiceLine) -> tuple[list[str], str]:
    """SVC01 (qualifier, code, modifiers) and SVC04 (revenue code) of a line, as 277 and 835 carry them."""
    if isinstance(line, ProfessionalServiceLine):
        s = line.professional_service
        return [s.procedure_identifier, s.procedure_code, *(s.procedure_modifiers or [])[:4]], ""
    i = line.institutional_service
    if i.procedure_code:
        return [i.procedure_identifier or "HC", i.procedure_code, *(i.procedure_modifiers or [])[:4]], (
            i.service_line_revenue_code
        )
    return ["NU", i.service_line_revenue_code], ""


def line_units(line: ProfessionalServiceLine | InstitutionalServiceLine) -> str:
    if isinstance(line, ProfessionalServiceLine):
        return line.professional_service.service_unit_count
    return line.institutional_service.service_unit_count


def line_control_number(line: ProfessionalServiceLine | InstitutionalServiceLine) -> str | None:
    if isinstance(line, ProfessionalServiceLine):
        return line.provider_control_number
    return line.line_item_control_number


class Text:
    """Free text made safe for an interchange: ASCII, no separators, no control characters."""

    def __init__(self, delimiters: Delimiters) -> None:
        self._table = {ord(c): " " for c in delimiters.characters()}

    def __call__(self, value: str | None, limit: int) -> str:
        if not value:
            return ""
        if not value.isascii():
            value = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii")
        return re.sub(r"[\x00-\x1f\x7f]", " ", value.translate(self._table)).strip()[:limit]


# ------------------------------------------------------------------ writing


def claims_to_277ca(
    verdicts: Sequence[ClaimVerdict],
    envelope: Envelope,
    *,
    payer_name: str | None = None,
    payer_id: str | None = None,
    receiver_name: str | None = None,
    receiver_id: str | None = None,
    batch_id: str | None = None,
    trace_id: str | None = None,
    received: datetime | None = None,
) -> str:
    """One 277CA interchange acknowledging `verdicts` (the claims of one 837, one submitter).

    Defaults: the payer is the first claim's ``tradingPartnerName``/``tradingPartnerServiceId``;
    the receiver is its submitter, with the envelope's receiver (GS03, else ISA08) as ETIN; the
    batch id (2200B TRN02) is its ``controlNumber``, the 837's BHT03 as read back; the payer's
    trace (BHT03 and 2200A TRN02) is the interchange control number; received is the creation time.
    """
    if not verdicts:
        raise ValueError("a 277CA acknowledges at least one claim")
    now = envelope.now or datetime.now()
    env = dataclasses.replace(envelope, now=now)
    first = verdicts[0].claim
    text = Text(env.delimiters)
    trace = trace_id or str(env.interchange_control_number)
    today = now.strftime("%Y%m%d")
    for i, v in enumerate(verdicts):
        _check_verdict(v, f"verdicts[{i}]")

    segs: list[Segment] = [["BHT", "0085", "08", trace, today, now.strftime("%H%M"), "TH"]]
    # 2000A information source
    payer = text(payer_name or first.trading_partner_name or first.receiver.organization_name, 60)
    segs += [
        ["HL", "1", "", "20", "1"],
        [
            "NM1",
            "PR",
            "2",
            payer,
            "",
            "",
            "",
            "",
            "PI",
            text(payer_id or first.trading_partner_service_id, 80),
        ],
        ["TRN", "1", trace],
        ["DTP", "050", "D8", (received or now).strftime("%Y%m%d")],
        ["DTP", "009", "D8", today],
    ]
    # 2000B information receiver
    submitter = first.submitter
    if receiver_name:
        receiver = ["2", text(receiver_name, 60), ""]
    elif submitter.organization_name or not submitter.last_name:
        receiver = ["2", text(submitter.organization_name or first.receiver.organization_name, 60), ""]
    else:
        receiver = ["1", text(submitter.last_name, 60), text(submitter.first_name, 35)]
    etin = receiver_id or env.application_receiver or env.receiver_id
    segs += [
        ["HL", "2", "1", "21", "1"],
        ["NM1", "41", receiver[0], receiver[1], receiver[2], "", "", "", "46", text(etin, 80)],
        ["TRN", "2", text(batch_id or first.control_number, 50)],
    ]
    any_accepted = any(v.accepted for v in verdicts)
    segs.append(
        [
            "STC",
            ["A1", "19", "PR"],
            today,
            "WQ" if any_accepted else "U",
            money(sum(v.charge for v in verdicts)),
        ]
    )
    segs += _totals(verdicts, "90", "AA")
    # 2000C billing providers, 2000D patients
    hl = 2
    for provider, group in _by_billing_provider(verdicts):
        hl += 1
        provider_hl = hl
        segs += [["HL", str(hl), "2", "19", "1"], _provider_nm1(provider, group[0], text), ["TRN", "1", "0"]]
        segs.append(
            [
                "STC",
                ["A1", "19", "PR"],
                "",
                "WQ" if any(v.accepted for v in group) else "U",
                money(sum(v.charge for v in group)),
            ]
        )
        segs += _totals(group, "QA", "QC")
        for v in group:
            hl += 1
            segs += [["HL", str(hl), str(provider_hl), "PT"], _patient_nm1(v.claim, text)]
            segs += _claim(v, today, text)
    return wrap(env, "HN", IMPLEMENTATION_277CA, "277", [segs])


def _check_verdict(v: ClaimVerdict, path: str) -> None:
    allowed = ACCEPTED_CATEGORY_CODES if v.accepted else REJECTED_CATEGORY_CODES
    for s in v.effective_statuses():
        if s.category not in allowed:
            verdict = "an accepted" if v.accepted else "a rejected"
            raise ValueError(f"{path}: category {s.category} does not say {verdict} claim")
        _check_status(s, path)
    lines = v.claim.claim_information.service_lines
    for i, statuses in v.line_statuses.items():
        if not 0 <= i < len(lines):
            raise ValueError(f"{path}.lineStatuses: the claim has no service line {i}")
        if not statuses:
            raise ValueError(f"{path}.lineStatuses[{i}]: no status")
        for s in statuses:
            _check_status(s, f"{path}.lineStatuses[{i}]")


def _check_status(s: ClaimStatus, path: str) -> None:
    """Codes from the external lists the X214 names (claim status categories and codes, entities)."""
    codes = external_codes()
    if s.category not in codes.get("claim_status_cat", frozenset({s.category})):
        raise ValueError(f"{path}: {s.category} is not a claim status category code")
    if s.code not in codes.get("claim_status", frozenset({s.code})):
        raise ValueError(f"{path}: {s.code} is not a claim status code")
    if s.entity and s.entity not in _CLAIM_ENTITIES:
        raise ValueError(f"{path}: entity {s.entity} is not allowed in a claim status")


def _totals(verdicts: Sequence[ClaimVerdict], accepted_q: str, rejected_q: str) -> list[Segment]:
    accepted = [v for v in verdicts if v.accepted]
    rejected = [v for v in verdicts if not v.accepted]
    out: list[Segment] = []
    if accepted:
        out.append(["QTY", accepted_q, str(len(accepted))])
    if rejected:
        out.append(["QTY", rejected_q, str(len(rejected))])
    if accepted:
        out.append(["AMT", "YU", money(sum(v.charge for v in accepted))])
    if rejected:
        out.append(["AMT", "YY", money(sum(v.charge for v in rejected))])
    return out


def _provider_key(p: ClaimProvider | None) -> tuple:
    if p is None:
        return (None,)
    return (p.npi, p.employer_id or p.tax_id, p.organization_name, p.last_name, p.first_name)


def _by_billing_provider(
    verdicts: Sequence[ClaimVerdict],
) -> list[tuple[ClaimProvider | None, list[ClaimVerdict]]]:
    groups: dict[tuple, tuple[ClaimProvider | None, list[ClaimVerdict]]] = {}
    for v in verdicts:
        p = billing_provider(v.claim)
        groups.setdefault(_provider_key(p), (p, []))[1].append(v)
    return list(groups.values())


def _provider_nm1(p: ClaimProvider | None, v: ClaimVerdict, text: Text) -> list[str]:
    if p is None:
        raise ValueError(f"claim {v.patient_control_number}: no billing provider to acknowledge it to")
    if p.npi:
        qualifier, value = "XX", p.npi
    elif p.employer_id or p.tax_id:
        qualifier, value = "FI", p.employer_id or p.tax_id or ""
    else:
        raise ValueError(f"claim {v.patient_control_number}: the billing provider has neither NPI nor tax id")
    if p.organization_name or not p.last_name:
        return [
            "NM1",
            "85",
            "2",
            text(p.organization_name or "UNKNOWN", 60),
            "",
            "",
            "",
            "",
            qualifier,
            value,
        ]
    return [
        "NM1",
        "85",
        "1",
        text(p.last_name, 60),
        text(p.first_name, 35),
        text(p.middle_name, 25),
        "",
        text(p.suffix, 10),
        qualifier,
        value,
    ]


def _patient_nm1(claim: Claim, text: Text) -> list[str]:
    sub, dep = claim.subscriber, claim.dependent
    person: Any = dep if dep is not None else sub
    member_id = (dep.member_id if dep is not None else None) or sub.member_id
    last = person.last_name or getattr(person, "organization_name", None) or "UNKNOWN"
    return [
        "NM1",
        "QC",
        "1",
        text(last, 60),
        text(person.first_name, 35),
        text(person.middle_name, 25),
        "",
        text(person.suffix, 10),
        "MI",
        text(member_id, 80),
    ]


def _stc_rows(statuses: list[ClaimStatus]) -> list[list[ClaimStatus]]:
    """Statuses three to an STC (STC01, STC10, STC11)."""
    step = _MAX_STATUSES_PER_STC
    return [statuses[i : i + step] for i in range(0, len(statuses), step)]


def _claim(v: ClaimVerdict, today: str, text: Text) -> list[Segment]:
    claim = v.claim
    action = "WQ" if v.accepted else "U"
    out: list[Segment] = [["TRN", "2", v.patient_control_number]]
    for n, group in enumerate(_stc_rows(v.effective_statuses())):
        stc: list[Any] = ["STC", group[0].composite(), today, action, money(v.charge)]
        extra = [s.composite() for s in group[1:]]
        message = text(v.message, 264) if n == 0 else ""
        if extra or message:
            stc += ["", "", "", "", ""]  # STC05-STC09 are not used in the X214
            stc += [extra[0] if extra else "", extra[1] if len(extra) > 1 else "", message]
        out.append(stc)
    if v.payer_claim_control_number:
        out.append(["REF", "1K", text(v.payer_claim_control_number, 50)])
    supplemental = claim.claim_information.claim_supplemental_information
    if supplemental is not None and supplemental.claim_number:
        out.append(["REF", "D9", text(supplemental.claim_number, 50)])
    if isinstance(claim, InstitutionalClaimRequest):
        info = claim.claim_information
        out.append(["REF", "BLT", f"{info.place_of_service_code}{info.claim_frequency_code}"])
    out.append(["DTP", "472", *date_element(*claim_service_dates(claim))])
    lines = claim.claim_information.service_lines
    for i in sorted(v.line_statuses):
        line = lines[i]
        composite, revenue = procedure_composite(line)
        out.append(["SVC", composite, money(line_charge(line)), "", revenue, "", "", line_units(line)])
        for group in _stc_rows(v.line_statuses[i]):
            stc = ["STC", group[0].composite(), today, "U"]
            extra = [s.composite() for s in group[1:]]
            if extra:
                stc += ["", "", "", "", "", "", extra[0], extra[1] if len(extra) > 1 else ""]
            out.append(stc)
        control = line_control_number(line)
        if control:
            out.append(["REF", "FJ", text(control, 50)])
        begin, end = line_dates(claim, line)
        if begin and end:
            out.append(["DTP", "472", *date_element(begin, end)])
    return out
