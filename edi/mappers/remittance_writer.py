"""Claim payments -> 835 (005010X221A1): a payer's remittance advice for adjudicated claims.

The engine reads 835s (`edi.mappers.remittance`); the payer simulator writes them, so the pipeline
receives payments exactly as a payer sends them. The payer's adjudication is the input: for each
claim a `ClaimPayment` with what was paid per service line and why the rest was not (CAS group
codes CO/PR/OA/PI with CARC reasons). Totals are computed, never trusted, and checked to balance
the way the X221 guide requires:

* per line: SVC02 (charge) - SVC03 (paid) = the line's CAS amounts;
* per claim: CLP03 (charge) - CLP04 (paid) = claim and line CAS amounts; CLP04 = the lines' SVC03;
  CLP05 (patient responsibility) = the PR adjustments;
* per payment: BPR02 = the CLP04 amounts - the PLB amounts (a PLB amount reduces the payment).

``payments_to_835(payments, envelope, payer=...)`` writes one interchange (GS01 ``HP``) with one
835 per payee (the claims' billing provider), ST02 counting up from the envelope's:

* BPR: ``I`` (remittance with payment) and the amount, ``C``, the method (ACH: CCP with the sender's
  and receiver's routing and account numbers; CHK) and BPR16 the payment date; ``H`` with ``NON``
  when nothing is paid. BPR10 and TRN03 are ``1`` + the payer's tax id;
* TRN*1 check or EFT trace number (the one given, else ISA13 + ST02), DTM*405 production date;
* 1000A N1*PR, N3, N4, REF*2U payer id, PER*BL technical contact (required); 1000B N1*PE with the
  billing provider's NPI (XX; FI when it has none), N3/N4, REF*TJ tax id;
* LX*1, then per claim 2100: CLP (CLM01, status, charge, paid, patient responsibility, filing
  indicator, payer claim control number, facility type, frequency), CAS, NM1*QC patient (and NM1*IL
  the insured when the patient is a dependent), NM1*82 rendering provider, DTM*232/233 statement
  period, DTM*050 received date; per line 2110: SVC, DTM*472 (or 150/151 for a period), CAS,
  REF*6R line control number, AMT*B6 allowed amount, LQ*HE remark codes;
* PLB provider adjustments.

CLP06 is the claim's filing indicator when the 835 lists it (12-17, AM, CH, DS, HM, LM, MA, MB, MC,
OF, TV, VA, WC, ZZ), else ``ZZ`` (mutually defined) unless the payment names one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from edi.mappers.claim_acknowledgment_writer import (
    Claim,
    Text,
    billing_provider,
    claim_charge,
    line_charge,
    line_control_number,
    line_dates,
    line_units,
    money,
    procedure_composite,
)
from edi.mappers.envelope import Envelope, wrap
from edi.mappers.remittance import PROVIDER_ADJUSTMENT_REASON_CODES
from edi.models.claims import ClaimProvider, InstitutionalClaimRequest
from edi.x12.writer import Segment

__all__ = [
    "IMPLEMENTATION_835",
    "Adjustment",
    "ClaimPayment",
    "LinePayment",
    "Payer",
    "PaymentMethod",
    "ProviderAdjustment",
    "Unbalanced",
    "payments_to_835",
]

IMPLEMENTATION_835 = "005010X221A1"
_FILING_CODES = frozenset(
    [
        "12",
        "13",
        "14",
        "15",
        "16",
        "17",
        "AM",
        "CH",
        "DS",
        "HM",
        "LM",
        "MA",
        "MB",
        "MC",
        "OF",
        "TV",
        "VA",
        "WC",
        "ZZ",
    ]
)
_GROUPS = ("CO", "PR", "OA", "PI")
_CLAIM_STATUSES = frozenset(["1", "2", "3", "4", "19", "20", "21", "22", "23", "25"])
_PLB_REASONS = frozenset(PROVIDER_ADJUSTMENT_REASON_CODES)
_ZERO = Decimal("0")


class Unbalanced(ValueError):
    """Amounts that do not add up the way the 835 must (the payer's adjudication is inconsistent)."""


@dataclass(frozen=True, slots=True)
class Adjustment:
    """One CAS reason: group code (CO, PR, OA, PI), CARC reason code, amount, optional quantity."""

    group: str
    reason: str
    amount: Decimal
    quantity: Decimal | None = None


@dataclass(slots=True)
class LinePayment:
    """What the payer paid for one service line, its allowed amount and the adjustments."""

    paid: Decimal
    allowed: Decimal | None = None  # AMT*B6
    adjustments: list[Adjustment] = field(default_factory=list)
    remarks: list[str] = field(default_factory=list)  # RARCs, LQ*HE


@dataclass(slots=True)
class ClaimPayment:
    """The adjudication of one claim: one `LinePayment` per service line, in the claim's order.

    ``status`` is CLP02: 1 processed as primary, 2 as secondary, 3 as tertiary, 4 denied, 22
    reversal. ``paid`` is only for a payment without line detail (``lines`` empty).
    """

    claim: Claim
    payer_claim_control_number: str
    lines: list[LinePayment] = field(default_factory=list)
    status: str = "1"
    claim_adjustments: list[Adjustment] = field(default_factory=list)
    paid: Decimal | None = None
    claim_filing_code: str | None = None
    received: str | None = None  # DTM*050, YYYYMMDD

    @property
    def patient_control_number(self) -> str:
        return self.claim.claim_information.patient_control_number

    @property
    def charge(self) -> Decimal:
        return claim_charge(self.claim)

    @property
    def total_paid(self) -> Decimal:
        if self.lines:
            return sum((line.paid for line in self.lines), _ZERO)
        return self.paid or _ZERO

    @property
    def adjustments(self) -> list[Adjustment]:
        """Claim-level and line-level adjustments together."""
        return [*self.claim_adjustments, *(a for line in self.lines for a in line.adjustments)]

    @property
    def patient_responsibility(self) -> Decimal:
        return sum((a.amount for a in self.adjustments if a.group == "PR"), _ZERO)

    def check(self) -> None:
        """Raise `Unbalanced` (or ValueError) unless the payment can be written as a valid 835 claim."""
        where = f"claim {self.patient_control_number}"
        if self.status not in _CLAIM_STATUSES:
            raise ValueError(f"{where}: CLP02 {self.status!r} is not a claim status code of the 835")
        service_lines = self.claim.claim_information.service_lines
        if self.lines and len(self.lines) != len(service_lines):
            raise ValueError(
                f"{where}: {len(self.lines)} line payments for {len(service_lines)} service lines"
            )
        if self.lines and self.paid is not None and self.paid != self.total_paid:
            raise Unbalanced(f"{where}: paid {self.paid} is not the sum of the lines paid {self.total_paid}")
        for a in self.adjustments:
            if a.group not in _GROUPS:
                raise ValueError(f"{where}: adjustment group {a.group!r} is not CO, PR, OA or PI")
        for i, (line, payment) in enumerate(zip(service_lines, self.lines, strict=False)):
            adjusted = sum((a.amount for a in payment.adjustments), _ZERO)
            if line_charge(line) - payment.paid != adjusted:
                raise Unbalanced(
                    f"{where} line {i + 1}: charge {money(line_charge(line))} - paid {money(payment.paid)}"
                    f" != adjustments {money(adjusted)}"
                )
        adjusted = sum((a.amount for a in self.adjustments), _ZERO)
        if self.charge - self.total_paid != adjusted:
            raise Unbalanced(
                f"{where}: charge {money(self.charge)} - paid {money(self.total_paid)} != adjustments {money(adjusted)}"
            )


@dataclass(slots=True)
class Payer:
    """The paying payer as loop 1000A and the BPR/TRN name it."""

    name: str
    tax_id: str  # nine digits; BPR10/TRN03 are "1" + tax id
    address1: str
    city: str
    state: str
    postal_code: str
    address2: str | None = None
    payer_id: str | None = None  # REF*2U
    contact_name: str | None = None  # PER*BL
    contact_phone: str | None = None
    contact_email: str | None = None
    contact_url: str | None = None

    @property
    def company_id(self) -> str:
        return "1" + self.tax_id


@dataclass(slots=True)
class PaymentMethod:
    """How the money moves (BPR04) and when (BPR16); ACH needs both sides' bank numbers."""

    method: str = "CHK"  # ACH, CHK, BOP, FWT
    handling: str = "I"  # BPR01: I remittance information only, C payment accompanies remittance
    date: str | None = None  # YYYYMMDD, default the creation date
    trace_number: str | None = None  # TRN02 check or EFT number; default ISA13 + ST02
    sender_routing: str | None = None  # BPR07
    sender_account: str | None = None  # BPR09
    receiver_routing: str | None = None  # BPR13
    receiver_account: str | None = None  # BPR15


@dataclass(frozen=True, slots=True)
class ProviderAdjustment:
    """One PLB adjustment: reason (e.g. WO overpayment recovery, L6 interest), amount, reference.

    A positive amount reduces the payment. ``provider_npi`` picks the payee (default: the first).
    """

    reason: str
    amount: Decimal
    identifier: str | None = None
    provider_npi: str | None = None
    fiscal_period_date: str | None = None  # PLB02, default 31 December of the payment year


def payments_to_835(
    payments: Sequence[ClaimPayment],
    envelope: Envelope,
    *,
    payer: Payer,
    method: PaymentMethod | None = None,
    provider_adjustments: Sequence[ProviderAdjustment] = (),
    production_date: str | None = None,
) -> str:
    """One 835 interchange paying `payments`, one transaction set per payee (billing provider)."""
    if not payments:
        raise ValueError("an 835 pays at least one claim")
    for p in payments:
        p.check()
    now = envelope.now or datetime.now()
    env = dataclasses.replace(envelope, now=now)
    method = method or PaymentMethod()
    text = Text(env.delimiters)
    groups: dict[tuple, tuple[ClaimProvider, list[ClaimPayment]]] = {}
    for p in payments:
        provider = billing_provider(p.claim)
        if provider is None:
            raise ValueError(f"claim {p.patient_control_number}: no billing provider to pay")
        key = (
            provider.npi,
            provider.employer_id or provider.tax_id,
            provider.organization_name,
            provider.last_name,
        )
        groups.setdefault(key, (provider, []))[1].append(p)
    payees = list(groups.values())
    adjustments_of: list[list[ProviderAdjustment]] = [[] for _ in payees]
    for adj in provider_adjustments:
        if adj.reason not in _PLB_REASONS:
            raise ValueError(f"PLB reason {adj.reason!r} is not one the 835 allows")
        index = next((i for i, (pv, _) in enumerate(payees) if adj.provider_npi in (None, pv.npi)), None)
        if index is None:
            raise ValueError(f"PLB for NPI {adj.provider_npi}: no claim of that payee in this payment")
        adjustments_of[index].append(adj)
    bodies = []
    for n, ((provider, claims), plb) in enumerate(zip(payees, adjustments_of, strict=True)):
        st02 = env.transaction_control_number + n
        trace = method.trace_number
        if trace is None:
            trace = f"{env.interchange_control_number:09d}{st02:04d}"
        elif n:
            trace = f"{trace}-{n + 1}"
        bodies.append(_body(claims, provider, plb, payer, method, trace, production_date, now, text))
    return wrap(env, "HP", IMPLEMENTATION_835, "835", bodies)


def _body(
    claims: list[ClaimPayment],
    provider: ClaimProvider,
    plb: list[ProviderAdjustment],
    payer: Payer,
    method: PaymentMethod,
    trace: str,
    production_date: str | None,
    now: datetime,
    text: Text,
) -> list[Segment]:
    total = sum((c.total_paid for c in claims), _ZERO) - sum((a.amount for a in plb), _ZERO)
    if total < 0:
        raise Unbalanced(f"the provider adjustments exceed the payment ({money(total)})")
    date = method.date or now.strftime("%Y%m%d")
    if len(payer.tax_id) != 9 or not payer.tax_id.isdigit():
        raise ValueError("payer.tax_id must be nine digits (BPR10 and TRN03 are '1' + tax id)")
    segs: list[Segment] = [_bpr(total, method, payer, date)]
    segs.append(["TRN", "1", text(trace, 50), payer.company_id])
    segs.append(["DTM", "405", production_date or now.strftime("%Y%m%d")])
    # 1000A payer
    segs.append(["N1", "PR", text(payer.name, 60)])
    segs.append(["N3", text(payer.address1, 55), text(payer.address2, 55)])
    segs.append(["N4", text(payer.city, 30), payer.state, payer.postal_code])
    if payer.payer_id:
        segs.append(["REF", "2U", text(payer.payer_id, 50)])
    numbers = [
        (q, v)
        for q, v in (("TE", payer.contact_phone), ("EM", payer.contact_email), ("UR", payer.contact_url))
        if v
    ]
    per: list[Any] = ["PER", "BL", text(payer.contact_name, 60)]
    for q, v in numbers[:3]:
        per += [q, text(v, 256)]
    segs.append(per)
    # 1000B payee
    tax_id = provider.employer_id or provider.tax_id
    name = provider.organization_name or " ".join(p for p in (provider.first_name, provider.last_name) if p)
    if provider.npi:
        segs.append(["N1", "PE", text(name or "UNKNOWN", 60), "XX", provider.npi])
    elif tax_id:
        segs.append(["N1", "PE", text(name or "UNKNOWN", 60), "FI", tax_id])
    else:
        raise ValueError("the billing provider has neither NPI nor tax id to pay")
    if provider.address is not None:
        a = provider.address
        segs.append(["N3", text(a.address1, 55), text(a.address2, 55)])
        segs.append(["N4", text(a.city, 30), a.state or "", a.postal_code or "", a.country_code or ""])
    if provider.npi and tax_id:
        segs.append(["REF", "TJ", tax_id])
    # 2000 / 2100 / 2110
    segs.append(["LX", "1"])
    for c in claims:
        segs.extend(_claim(c, text))
    # PLB
    fiscal = f"{date[:4]}1231"
    for i in range(0, len(plb), 6):
        row: list[Any] = ["PLB", provider.npi or tax_id or "", plb[i].fiscal_period_date or fiscal]
        for a in plb[i : i + 6]:
            row += [[a.reason, text(a.identifier, 50)] if a.identifier else [a.reason], money(a.amount)]
        segs.append(row)
    return segs


def _bpr(total: Decimal, method: PaymentMethod, payer: Payer, date: str) -> list[Any]:
    if total == 0:
        return ["BPR", "H", money(total), "C", "NON", *[""] * 11, date]
    if method.method == "ACH":
        banks = (
            method.sender_routing,
            method.sender_account,
            method.receiver_routing,
            method.receiver_account,
        )
        if not all(banks):
            raise ValueError("an ACH payment needs the sender's and receiver's routing and account numbers")
        return [
            "BPR",
            method.handling,
            money(total),
            "C",
            "ACH",
            "CCP",
            "01",
            method.sender_routing,
            "DA",
            method.sender_account,
            payer.company_id,
            "",
            "01",
            method.receiver_routing,
            "DA",
            method.receiver_account,
            date,
        ]
    if method.handling not in ("C", "D", "I", "P", "U", "X"):
        raise ValueError(f"BPR01 {method.handling!r} is not a transaction handling code of the 835")
    if method.method not in ("CHK", "BOP", "FWT"):
        raise ValueError(f"payment method {method.method!r} is not ACH, CHK, BOP or FWT")
    return ["BPR", method.handling, money(total), "C", method.method, *[""] * 11, date]


def _cas(adjustments: Sequence[Adjustment]) -> list[Segment]:
    """CAS segments: one per group code (in CO, PR, OA, PI order), six reasons each at most."""
    out: list[Segment] = []
    for group in _GROUPS:
        found = [a for a in adjustments if a.group == group]
        for i in range(0, len(found), 6):
            row: list[Any] = ["CAS", group]
            for a in found[i : i + 6]:
                row += [a.reason, money(a.amount), _quantity(a.quantity)]
            out.append(row)
    return out


def _quantity(value: Decimal | None) -> str:
    if value is None:
        return ""
    return format(value.normalize(), "f") if value != value.to_integral_value() else str(int(value))


def _claim(c: ClaimPayment, text: Text) -> list[Segment]:
    claim = c.claim
    info = claim.claim_information
    filing = c.claim_filing_code or (
        info.claim_filing_code if info.claim_filing_code in _FILING_CODES else "ZZ"
    )
    out: list[Segment] = [
        [
            "CLP",
            c.patient_control_number,
            c.status,
            money(c.charge),
            money(c.total_paid),
            money(c.patient_responsibility) if c.patient_responsibility else "",
            filing,
            text(c.payer_claim_control_number, 50),
            info.place_of_service_code,
            info.claim_frequency_code,
        ]
    ]
    out.extend(_cas(c.claim_adjustments))
    sub, dep = claim.subscriber, claim.dependent
    patient: Any = dep if dep is not None else sub
    patient_id = dep.member_id if dep is not None else sub.member_id
    nm1: list[Any] = [
        "NM1",
        "QC",
        "1",
        text(patient.last_name or getattr(patient, "organization_name", None), 60),
        text(patient.first_name, 35),
        text(patient.middle_name, 25),
        "",
        text(patient.suffix, 10),
    ]
    if patient_id:
        nm1 += ["MI", text(patient_id, 80)]
    out.append(nm1)
    if dep is not None:
        kind = "2" if sub.organization_name and not sub.last_name else "1"
        out.append(
            [
                "NM1",
                "IL",
                kind,
                text(sub.last_name or sub.organization_name, 60),
                text(sub.first_name, 35),
                text(sub.middle_name, 25),
                "",
                text(sub.suffix, 10),
                "MI",
                text(sub.member_id, 80),
            ]
        )
    rendering = claim.rendering
    if rendering is not None and rendering.npi:
        person = bool(rendering.last_name) and not rendering.organization_name
        out.append(
            [
                "NM1",
                "82",
                "1" if person else "2",
                text(rendering.last_name if person else rendering.organization_name, 60),
                text(rendering.first_name, 35) if person else "",
                text(rendering.middle_name, 25) if person else "",
                "",
                text(rendering.suffix, 10) if person else "",
                "XX",
                rendering.npi,
            ]
        )
    if isinstance(claim, InstitutionalClaimRequest):
        dates = claim.claim_information.claim_date_information
        out.append(["DTM", "232", dates.statement_begin_date])
        out.append(["DTM", "233", dates.statement_end_date])
    if c.received:
        out.append(["DTM", "050", c.received])
    for line, payment in zip(info.service_lines, c.lines, strict=False):
        composite, revenue = procedure_composite(line)
        units = line_units(line)
        out.append(
            [
                "SVC",
                composite,
                money(line_charge(line)),
                money(payment.paid),
                revenue,
                units if units != "1" else "",
            ]
        )
        begin, end = line_dates(claim, line)
        if begin and end and begin != end:
            out += [["DTM", "150", begin], ["DTM", "151", end]]
        elif begin:
            out.append(["DTM", "472", begin])
        out.extend(_cas(payment.adjustments))
        control = line_control_number(line)
        if control:
            out.append(["REF", "6R", text(control, 50)])
        if payment.allowed is not None:
            out.append(["AMT", "B6", money(payment.allowed)])
        for remark in payment.remarks:
            out.append(["LQ", "HE", remark])
    return out
