"""Match payer responses to the claims they answer, and cut each response down to one submitter's part.

The pipeline sends the claims of many submitters to a payer in one 837 batch, and the payer answers
the batch as a whole: one 999 per functional group, one 277CA and one 835 covering every claim. Those
files hold the names, member ids and claim numbers of every submitter's patients, so they cannot be
handed to any one submitter as they are. This module does the two things the pipeline needs in
between, on the canonical JSON models (pure functions, no I/O, inputs never modified):

* **keys** (`claim_statuses_277ca`, `claim_payments_835`, `set_acknowledgments_999`, `ta1_key`,
  `eligibility_keys_271`): the few values the payer echoes back from what was sent (CLM01, ST02,
  ISA13, the 270's TRN02) plus the verdict, as small frozen dataclasses holding codes only (no
  names, no member ids), so they can be stored and logged to find the claim a response answers;
* **narrowing** (`narrow_277ca`, `narrow_835`, `narrow_999`): a new report of the same model that
  keeps only what concerns one claim (or one transaction set), so it validates and serialises like
  any other report and a submitter's client parses it unchanged;
* **splitting** (`split_277ca`, `split_835`, `split_999`): every claim's (or set's) narrowed JSON at
  once, each exactly what narrowing gives, in one pass over the report instead of one per claim.

Matching is by exact value: the payer echoes CLM01 in the 277CA (TRN02 of loop 2200D) and the 835
(CLP01) as sent. CLM01 is chosen by each submitter, so two submitters may send the same one: the
batch builder must keep CLM01 unique within a batch (or narrow with the payer claim control number
too), because a rejected claim in a 277CA carries nothing else that tells two such claims apart.
Every narrowing keeps all the claims matching the key, never guesses between them.

What narrowing drops besides other claims, and why:

* 277CA: the counts and amounts of the information receiver (2200B QTY/AMT, STC04) and billing
  provider (2200C QTY/AMT, STC04) levels. They summarise every claim of the batch or provider,
  and recomputing them for one claim would put numbers in the payer's mouth it never sent.
  Their status codes stay: a rejection at those levels is the reason the claim got no further.
* 835: the payment itself stays as sent (BPR and the TRN reassociation trace: they describe the
  check or EFT the payee receives, needed to reconcile the bank deposit, and are no patient's
  data), as do payer and payee; so BPR02 no longer balances against the claims kept. Provider
  summaries (TS3 totals, TS2) are dropped for the same reason as the 277CA totals (the TS3 provider
  identifier, facility type and fiscal period stay). A provider adjustment (PLB) is kept only when
  its identifier (PLB03-2) is the kept claim's CLP01 or CLP07: the others are about other claims
  (a recovery quotes their claim number) or about the payee as a whole.
* 999: only the AK2 loop of the transaction set asked for (the others' IK4 may quote their data
  and their CTX their CLM01); AK1 and AK9 stay as sent, counts included.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from edi.mappers.claim_acknowledgment import claim_accepted
from edi.models.acks import FunctionalAcknowledgment, InterchangeAcknowledgment
from edi.models.eligibility import EligibilityResponse
from edi.models.reports import (
    Ack277Claim,
    Ack277Payer,
    Ack277Transaction,
    ClaimAcknowledgmentReport,
    ClaimPaymentInfo,
    ClaimStatusDetail,
    ClaimStatusTransaction,
    DetailInfo,
    PatientClaimStatusDetail,
    PaymentInfo,
    PaymentReport,
    PaymentTransaction,
    ProviderAdjustment,
    ProviderAdjustmentDetail,
    ProviderClaimStatus,
)

__all__ = [
    "ClaimPart",
    "ClaimPaymentKey",
    "ClaimStatusKey",
    "EligibilityTraceKey",
    "SetAckKey",
    "SetPart",
    "Ta1Key",
    "claim_payments_835",
    "claim_statuses_277ca",
    "eligibility_keys_271",
    "narrow_277ca",
    "narrow_835",
    "narrow_999",
    "set_acknowledgments_999",
    "split_277ca",
    "split_835",
    "split_999",
    "ta1_key",
]

_ACCEPTED_ACK_CODES = frozenset({"A", "E"})
_DUPLICATE_INTERCHANGE_NOTE = "025"
_REFERENCED_TRACE = "2"  # TRN01: a trace the submitter sent, echoed by the payer
# TS3 elements that identify the provider group rather than summarise its claims.
_TS3_IDENTIFYING_KEYS = frozenset({"providerIdentifier", "facilityTypeCode", "fiscalPeriodDate"})


# ================================================================================== keys


@dataclass(frozen=True, slots=True)
class ClaimStatusKey:
    """One claim of a 277CA: what matches it to the claim sent, and the payer's verdict."""

    patient_control_number: str | None  # 2200D TRN02: CLM01 echoed
    payer_claim_control_number: str | None  # REF*1K, given to accepted claims
    accepted: bool | None  # None when the categories say neither (e.g. pended)
    status_codes: tuple[str, ...]  # "category:status:entity" of every claim-level STC composite


@dataclass(frozen=True, slots=True)
class ClaimPaymentKey:
    """One claim payment (CLP) of an 835."""

    patient_control_number: str | None  # CLP01: CLM01 echoed
    payer_claim_control_number: str | None  # CLP07
    status_code: str | None  # CLP02 (1 primary, 4 denied, 22 reversal...)
    charge: str | None  # CLP03
    paid: str | None  # CLP04


@dataclass(frozen=True, slots=True)
class SetAckKey:
    """The 999 verdict on one transaction set, with the verdict on its group."""

    group_control_number: str | None  # AK102: GS06 of the group sent
    transaction_set_control_number: str  # AK202: ST02 of the set sent
    transaction_set_identifier_code: str  # AK201: 837, 270...
    accepted: bool  # IK501 is A or E
    code: str  # IK501
    group_code: str  # AK901
    syntax_error_codes: tuple[str, ...] = ()  # IK502-IK506


@dataclass(frozen=True, slots=True)
class Ta1Key:
    """The TA1 verdict on one interchange envelope."""

    interchange_control_number: str  # TA101: ISA13 of the interchange sent
    accepted: bool  # TA104 is A or E
    code: str  # TA104
    note_code: str | None  # TA105
    duplicate: bool  # TA105 025: the payer already had an interchange with this ISA13


@dataclass(frozen=True, slots=True)
class EligibilityTraceKey:
    """A trace number of a 270 echoed in the 271 (TRN01 = 2 at loop 2000C/2000D)."""

    trace_number: str  # TRN02 as the submitter sent it
    originating_company_identifier: str | None  # TRN03
    secondary_reference_identification: str | None  # TRN04


def _status_code(category: str | None, status: str | None, entity: str | None) -> str:
    return ":".join(v or "" for v in (category, status, entity)).rstrip(":")


def _claim_statuses(claim: Ack277Claim) -> list[tuple[str | None, str]]:
    return [
        (
            s.health_care_claim_status_category_code,
            _status_code(s.health_care_claim_status_category_code, s.status_code, s.entity_identifier_code),
        )
        for stc in claim.claim_status.information_claim_statuses
        for s in stc.information_statuses
    ]


def _pcn_277(claim: Ack277Claim) -> str | None:
    status = claim.claim_status
    return status.referenced_transaction_trace_number or status.patient_account_number


def _claims_277(report: ClaimAcknowledgmentReport) -> Iterator[Ack277Claim]:
    for t in report.transactions:
        for payer in t.payers:
            for receiver in payer.claim_status_transactions:
                for provider in receiver.claim_status_details:
                    for patient in provider.patient_claim_status_details:
                        yield from patient.claims


def claim_statuses_277ca(report: ClaimAcknowledgmentReport) -> list[ClaimStatusKey]:
    """Every claim of a 277CA, in file order."""
    out = []
    for claim in _claims_277(report):
        statuses = _claim_statuses(claim)
        out.append(
            ClaimStatusKey(
                patient_control_number=_pcn_277(claim),
                payer_claim_control_number=claim.claim_status.trading_partner_claim_number,
                accepted=claim_accepted(category or "" for category, _ in statuses),
                status_codes=tuple(code for _, code in statuses if code),
            )
        )
    return out


def _payments_835(report: PaymentReport) -> Iterator[PaymentInfo]:
    for t in report.transactions:
        for detail in t.detail_info:
            yield from detail.payment_info


def claim_payments_835(report: PaymentReport) -> list[ClaimPaymentKey]:
    """Every claim payment of an 835, in file order (a reversal and its correction are two)."""
    return [
        ClaimPaymentKey(
            patient_control_number=info.patient_control_number,
            payer_claim_control_number=info.payer_claim_control_number,
            status_code=info.claim_status_code,
            charge=info.total_claim_charge_amount,
            paid=info.claim_payment_amount,
        )
        for info in (p.claim_payment_info for p in _payments_835(report))
    ]


def set_acknowledgments_999(ack: FunctionalAcknowledgment) -> list[SetAckKey]:
    """One key per AK2 loop; a 999 that rejects its group without AK2 loops gives none."""
    return [
        SetAckKey(
            group_control_number=ack.group_control_number,
            transaction_set_control_number=ts.control_number,
            transaction_set_identifier_code=ts.transaction_set_identifier_code,
            accepted=ts.acknowledgment_code in _ACCEPTED_ACK_CODES,
            code=ts.acknowledgment_code,
            group_code=ack.functional_group_acknowledge_code,
            syntax_error_codes=tuple(ts.syntax_error_codes),
        )
        for ts in ack.transaction_sets
    ]


def ta1_key(ta1: InterchangeAcknowledgment) -> Ta1Key:
    """The key of one TA1 (a TA105 of 025 says the payer saw this ISA13 before)."""
    return Ta1Key(
        interchange_control_number=ta1.interchange_control_number,
        accepted=ta1.acknowledgment_code in _ACCEPTED_ACK_CODES,
        code=ta1.acknowledgment_code,
        note_code=ta1.note_code,
        duplicate=ta1.note_code == _DUPLICATE_INTERCHANGE_NOTE,
    )


def eligibility_keys_271(response: EligibilityResponse) -> list[EligibilityTraceKey]:
    """The submitter's trace numbers the payer echoed for this patient (empty when the payer
    answered above the subscriber level, e.g. an AAA at 2100A/2100B).

    TRN01 = 1 traces are left out: those are numbers the payer or a clearinghouse added, and match
    nothing the submitter sent. The 271's BHT03 is not available separately: the mapper puts the
    echoed TRN02 in ``controlNumber`` when there is one, and BHT03 only when there is none.
    """
    return [
        EligibilityTraceKey(
            trace_number=t.reference_identification,
            originating_company_identifier=t.originating_company_identifier,
            secondary_reference_identification=t.secondary_reference_identification,
        )
        for t in response.subscriber_trace_numbers or []
        if t.trace_type_code == _REFERENCED_TRACE and t.reference_identification
    ]


# ============================================================================= narrowing


def _fresh(model_type: Any, narrowed: Any) -> Any:
    """A deep, validated copy: the narrowed report shares nothing with the input and is checked
    against its model exactly as a report read from X12 is.

    Unset fields are left out of the copy, as from the JSON a submitter gets: dumped with them,
    a model kept among a report's extra fields (the 835's ``errors``) would come back as a plain
    dict full of nulls, which `to_json` then keeps."""
    return model_type.model_validate(narrowed.model_dump(by_alias=True, exclude_none=True))


def _kept(items: Iterable[Any]) -> list[Any]:
    return [i for i in items if i is not None]


# ------------------------------------------------------------------------------- 277CA

# The 2200B/2200C counts and amounts, which summarise other claims.
_NO_TOTALS: dict[str, Any] = {
    "total_accepted_quantity": None,
    "total_rejected_quantity": None,
    "total_accepted_amount": None,
    "total_rejected_amount": None,
}


def narrow_277ca(
    report: ClaimAcknowledgmentReport,
    patient_control_number: str,
    payer_claim_control_number: str | None = None,
) -> ClaimAcknowledgmentReport | None:
    """The 277CA cut down to the branches (payer > receiver > provider > patient > claim) leading to
    the claim(s) with this CLM01 (and REF*1K when given); None when the report has none."""

    def matches(claim: Ack277Claim) -> bool:
        if _pcn_277(claim) != patient_control_number:
            return False
        return payer_claim_control_number is None or (
            claim.claim_status.trading_partner_claim_number == payer_claim_control_number
        )

    def patient(p: PatientClaimStatusDetail) -> PatientClaimStatusDetail | None:
        claims = [c for c in p.claims if matches(c)]
        return p.model_copy(update={"claims": claims}) if claims else None

    def provider(d: ClaimStatusDetail) -> ClaimStatusDetail | None:
        patients = _kept(patient(p) for p in d.patient_claim_status_details)
        if not patients:
            return None
        return d.model_copy(
            update={
                "patient_claim_status_details": patients,
                "service_provider_claim_statuses": [
                    s.model_copy(update={"total_claim_charge_amount": None})
                    for s in d.service_provider_claim_statuses
                ],
                **_NO_TOTALS,
            }
        )

    def receiver(r: ClaimStatusTransaction) -> ClaimStatusTransaction | None:
        providers = _kept(provider(d) for d in r.claim_status_details)
        if not providers:
            return None
        return r.model_copy(
            update={
                "claim_status_details": providers,
                "provider_claim_statuses": [
                    s.model_copy(update={"total_claim_charge_amount": None})
                    for s in r.provider_claim_statuses
                ],
                **_NO_TOTALS,
            }
        )

    def payer(p: Ack277Payer) -> Ack277Payer | None:
        receivers = _kept(receiver(r) for r in p.claim_status_transactions)
        return p.model_copy(update={"claim_status_transactions": receivers}) if receivers else None

    def transaction(t: Ack277Transaction) -> Ack277Transaction | None:
        payers = _kept(payer(p) for p in t.payers)
        return t.model_copy(update={"payers": payers}) if payers else None

    if not patient_control_number:
        return None
    transactions = _kept(transaction(t) for t in report.transactions)
    if not transactions:
        return None
    return _fresh(ClaimAcknowledgmentReport, report.model_copy(update={"transactions": transactions}))


# --------------------------------------------------------------------------------- 835


def narrow_835(
    report: PaymentReport,
    patient_control_number: str,
    payer_claim_control_number: str | None = None,
) -> PaymentReport | None:
    """The 835 cut down to the claim payment(s) with this CLP01 (and CLP07 when given), with the
    payment (BPR, TRN), payer and payee they belong to; None when the report has none."""

    def matches(p: PaymentInfo) -> bool:
        info = p.claim_payment_info
        if info.patient_control_number != patient_control_number:
            return False
        return (
            payer_claim_control_number is None
            or info.payer_claim_control_number == payer_claim_control_number
        )

    def detail(d: DetailInfo) -> DetailInfo | None:
        payments = [p for p in d.payment_info if matches(p)]
        if not payments:
            return None
        summary = {
            k: v for k, v in (d.provider_summary_information or {}).items() if k in _TS3_IDENTIFYING_KEYS
        }
        return d.model_copy(
            update={
                "payment_info": payments,
                "provider_summary_information": summary or None,
                "provider_supplemental_summary_information": None,
            }
        )

    def adjustments(plb: list[ProviderAdjustment], claim_ids: set[str]) -> list[ProviderAdjustment]:
        out = []
        for a in plb:
            ours = [x for x in a.adjustments if (x.provider_adjustment_identifier or "").strip() in claim_ids]
            if ours:
                out.append(a.model_copy(update={"adjustments": ours}))
        return out

    def transaction(t: PaymentTransaction) -> PaymentTransaction | None:
        details = _kept(detail(d) for d in t.detail_info)
        if not details:
            return None
        claim_ids = {patient_control_number}
        claim_ids |= {
            p.claim_payment_info.payer_claim_control_number
            for d in details
            for p in d.payment_info
            if p.claim_payment_info.payer_claim_control_number
        }
        return t.model_copy(
            update={
                "detail_info": details,
                "provider_adjustments": adjustments(t.provider_adjustments, claim_ids),
            }
        )

    if not patient_control_number:
        return None
    transactions = _kept(transaction(t) for t in report.transactions)
    if not transactions:
        return None
    return _fresh(PaymentReport, report.model_copy(update={"transactions": transactions}))


# --------------------------------------------------------------------------------- 999


def narrow_999(
    ack: FunctionalAcknowledgment, transaction_set_control_number: str
) -> FunctionalAcknowledgment | None:
    """The 999 with only the AK2 loop of this ST02 (AK1 and AK9 as sent); None when it has none."""
    sets = [ts for ts in ack.transaction_sets if ts.control_number == transaction_set_control_number]
    if not transaction_set_control_number or not sets:
        return None
    return _fresh(FunctionalAcknowledgment, ack.model_copy(update={"transaction_sets": sets}))


# ============================================================================= splitting
#
# The pipeline cuts a 277CA or 835 of N claims into N documents. Calling narrow_* once per claim
# walks and dumps the whole report each time (O(N^2): minutes for a file of 5,000 claims), so the
# split_* functions dump the report once, index where each claim sits, and build each part by
# copying only the nodes on the path from the root to its claim(s), with the same trimming rules
# as narrow_*. Each part's document is exactly `narrow_*(report, pcn, pccn).to_json()`.


@dataclass(frozen=True, slots=True)
class ClaimPart:
    """One claim's part of a 277CA or 835, as the JSON a submitter receives.

    `document` equals ``narrow_277ca(report, patient_control_number,
    payer_claim_control_number).to_json()`` (``narrow_835`` for an 835): every claim with these keys
    is in it, so a key given twice gives one part holding both claims, and a part whose payer claim
    control number is None (a rejected claim) also holds any claim with the same CLM01 that has
    one, as narrowing with no payer claim control number does. `keys` are the keys of the claims in
    the document, in file order: one, unless the payer repeated the claim.
    """

    patient_control_number: str | None
    payer_claim_control_number: str | None
    document: dict[str, Any] = field(hash=False)
    keys: tuple[ClaimStatusKey, ...] | tuple[ClaimPaymentKey, ...] = ()


@dataclass(frozen=True, slots=True)
class SetPart:
    """One transaction set's part of a 999: `document` equals ``narrow_999(ack, ST02).to_json()``.

    `accepted` is True when every AK2 loop of this ST02 accepts it (there is one, unless the 999
    repeats the ST02), `code` the IK501 of the first that rejects it, else of the first.
    """

    group_control_number: str | None
    transaction_set_control_number: str
    accepted: bool
    code: str
    document: dict[str, Any] = field(hash=False)
    keys: tuple[SetAckKey, ...] = ()


_IndexPath = tuple[int, ...]  # indices of a claim's branch, one per level of the report


def _alias(model: Any, name: str) -> str:
    return model.model_fields[name].alias or name


def _copy_json(value: Any) -> Any:
    """A deep copy of JSON data (dicts, lists, scalars): several times faster than copy.deepcopy."""
    if type(value) is dict:
        return {k: _copy_json(v) for k, v in value.items()}
    if type(value) is list:
        return [_copy_json(v) for v in value]
    return value


def _as_is(value: Any) -> Any:
    return value


@dataclass(frozen=True, slots=True)
class _Level:
    children: str  # the key of the list leading to the next level
    drop: frozenset[str] = frozenset()  # keys the part leaves out
    special: frozenset[str] = frozenset()  # keys `shape` sets (or removes) itself
    shape: Any = None  # shape(original node, copied node) -> None, after the children are built
    skip: frozenset[str] = field(init=False)  # keys whose value the copy does not take from the node

    def __post_init__(self) -> None:
        object.__setattr__(self, "skip", self.special | {self.children})


def _branch(
    node: dict[str, Any], levels: list[_Level], paths: list[_IndexPath], depth: int = 0, copy: Any = _copy_json
) -> dict[str, Any]:
    """A copy of `node` keeping, at each level, only the children on `paths` (sorted, file order).

    Keys keep their order, so the part serialises exactly as the narrowed report's dump does.
    `copy` is applied to what is kept as it is (`_as_is` shares it with the input)."""
    if depth == len(levels):
        return copy(node)
    level = levels[depth]
    skip, drop = level.skip, level.drop
    out = {k: (None if k in skip else copy(v)) for k, v in node.items() if k not in drop}
    children = node[level.children]
    if len(paths) == 1:  # one claim: most parts
        out[level.children] = [_branch(children[paths[0][0]], levels, [paths[0][1:]], depth + 1, copy)]
    else:
        out[level.children] = [
            _branch(children[i], levels, [p[1:] for p in group], depth + 1, copy)
            for i, group in groupby(paths, key=lambda p: p[0])
        ]
    if level.shape is not None:
        level.shape(node, out)
    return out


def _leaf_paths(node: dict[str, Any], keys: list[str], prefix: _IndexPath = ()) -> Iterator[_IndexPath]:
    """The index path of every leaf (claim) below `node`, in file order."""
    if not keys:
        yield prefix
        return
    for i, child in enumerate(node.get(keys[0]) or []):
        yield from _leaf_paths(child, keys[1:], (*prefix, i))


def _groups(keys: list[Any]) -> list[tuple[str, str | None, list[int]]]:
    """(CLM01, payer claim control number, indices of the claims narrow_* would keep for them), one
    per distinct pair in order of first appearance; claims without a CLM01 give none (narrow_*
    cannot select them)."""
    by_pcn: dict[str, list[int]] = {}
    by_key: dict[tuple[str, str | None], list[int]] = {}
    for i, k in enumerate(keys):
        pcn = k.patient_control_number
        if not pcn:
            continue
        by_pcn.setdefault(pcn, []).append(i)
        by_key.setdefault((pcn, k.payer_claim_control_number), []).append(i)
    return [(pcn, pccn, by_pcn[pcn] if pccn is None else indices) for (pcn, pccn), indices in by_key.items()]


def _without_charge(statuses: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """New dicts, never changed in place: a shared split's statuses are the report's own."""
    return [{k: v for k, v in s.items() if k != key} for s in statuses]


def split_277ca(report: ClaimAcknowledgmentReport, *, shared: bool = False) -> list[ClaimPart]:
    """Every claim's part of a 277CA (what `narrow_277ca` gives for its CLM01 and REF*1K), in one
    pass: one part per distinct (CLM01, REF*1K) pair, in file order.

    `shared`: the parts share the branches they have in common (payer, receiver, provider...)
    instead of each getting a deep copy of them; for a caller that only serialises the parts
    (the copies were most of the split's cost), never for one that changes them."""
    copy = _as_is if shared else _copy_json
    keys = claim_statuses_277ca(report)
    data = report.to_json()
    charge = _alias(ProviderClaimStatus, "total_claim_charge_amount")
    totals = frozenset(_alias(ClaimStatusDetail, name) for name in _NO_TOTALS)
    receiver_statuses = _alias(ClaimStatusTransaction, "provider_claim_statuses")
    provider_statuses = _alias(ClaimStatusDetail, "service_provider_claim_statuses")

    def receiver(_: Any, out: dict[str, Any]) -> None:
        if receiver_statuses in out:
            out[receiver_statuses] = _without_charge(out[receiver_statuses], charge)

    def provider(_: Any, out: dict[str, Any]) -> None:
        if provider_statuses in out:
            out[provider_statuses] = _without_charge(out[provider_statuses], charge)

    levels = [
        _Level(_alias(ClaimAcknowledgmentReport, "transactions")),
        _Level(_alias(Ack277Transaction, "payers")),
        _Level(_alias(Ack277Payer, "claim_status_transactions")),
        _Level(_alias(ClaimStatusTransaction, "claim_status_details"), drop=totals, shape=receiver),
        _Level(_alias(ClaimStatusDetail, "patient_claim_status_details"), drop=totals, shape=provider),
        _Level(_alias(PatientClaimStatusDetail, "claims")),
    ]
    paths = list(_leaf_paths(data, [level.children for level in levels]))
    if len(paths) != len(keys):  # the dump walks the same lists as the model
        raise AssertionError(f"277CA split: {len(paths)} claims in the JSON, {len(keys)} in the model")
    return [
        ClaimPart(
            pcn, pccn, _branch(data, levels, [paths[i] for i in indices], copy=copy),
            tuple(keys[i] for i in indices),
        )
        for pcn, pccn, indices in _groups(keys)
    ]


def split_835(report: PaymentReport, *, shared: bool = False) -> list[ClaimPart]:
    """Every claim payment's part of an 835 (what `narrow_835` gives for its CLP01 and CLP07), in
    one pass: one part per distinct (CLP01, CLP07) pair, in file order (a reversal and its
    correction share both, so they come in one part). `shared` as for `split_277ca`."""
    copy = _as_is if shared else _copy_json
    keys = claim_payments_835(report)
    data = report.to_json()
    summary = _alias(DetailInfo, "provider_summary_information")
    supplemental = _alias(DetailInfo, "provider_supplemental_summary_information")
    details = _alias(PaymentTransaction, "detail_info")
    payments = _alias(DetailInfo, "payment_info")
    info = _alias(PaymentInfo, "claim_payment_info")
    pccn_key = _alias(ClaimPaymentInfo, "payer_claim_control_number")
    plb_key = _alias(PaymentTransaction, "provider_adjustments")
    plb_items = _alias(ProviderAdjustment, "adjustments")
    plb_id = _alias(ProviderAdjustmentDetail, "provider_adjustment_identifier")

    def detail(_: Any, out: dict[str, Any]) -> None:
        kept = {k: v for k, v in (out.get(summary) or {}).items() if k in _TS3_IDENTIFYING_KEYS}
        if kept:
            out[summary] = kept
        else:
            out.pop(summary, None)

    # Per transaction (by id of its dict): PLB03-2 identifier -> (PLB index, adjustment index).
    plb_index: dict[int, dict[str, list[tuple[int, int]]]] = {}
    for t in data.get(_alias(PaymentReport, "transactions")) or []:
        found: dict[str, list[tuple[int, int]]] = {}
        for i, plb in enumerate(t.get(plb_key) or []):
            for j, a in enumerate(plb.get(plb_items) or []):
                found.setdefault((a.get(plb_id) or "").strip(), []).append((i, j))
        plb_index[id(t)] = found

    def transaction(pcn: str) -> Any:
        def shape(node: dict[str, Any], out: dict[str, Any]) -> None:
            claim_ids = {pcn} | {
                p[info][pccn_key] for d in out[details] for p in d[payments] if p[info].get(pccn_key)
            }
            found = plb_index[id(node)]
            hits = sorted({hit for claim_id in claim_ids for hit in found.get(claim_id, ())})
            plbs = node.get(plb_key) or []
            kept = []
            for i, group in groupby(hits, key=lambda h: h[0]):
                plb = {k: (None if k == plb_items else copy(v)) for k, v in plbs[i].items()}
                plb[plb_items] = [copy(plbs[i][plb_items][j]) for _, j in group]
                kept.append(plb)
            out[plb_key] = kept

        return shape

    def levels(pcn: str) -> list[_Level]:
        return [
            _Level(_alias(PaymentReport, "transactions")),
            _Level(details, special=frozenset({plb_key}), shape=transaction(pcn)),
            _Level(payments, drop=frozenset({supplemental}), shape=detail),
        ]

    paths = list(_leaf_paths(data, [level.children for level in levels("")]))
    if len(paths) != len(keys):
        raise AssertionError(f"835 split: {len(paths)} claims in the JSON, {len(keys)} in the model")
    return [
        ClaimPart(
            pcn,
            pccn,
            _branch(data, levels(pcn), [paths[i] for i in indices], copy=copy),
            tuple(keys[i] for i in indices),
        )
        for pcn, pccn, indices in _groups(keys)
    ]


def split_999(ack: FunctionalAcknowledgment) -> list[SetPart]:
    """Every transaction set's part of a 999 (what `narrow_999` gives for its ST02), in one pass:
    one part per distinct ST02 of its AK2 loops, in file order."""
    keys = set_acknowledgments_999(ack)
    data = ack.to_json()
    levels = [_Level(_alias(FunctionalAcknowledgment, "transaction_sets"))]
    by_set: dict[str, list[int]] = {}
    for i, k in enumerate(keys):
        if k.transaction_set_control_number:
            by_set.setdefault(k.transaction_set_control_number, []).append(i)
    parts = []
    for st02, indices in by_set.items():
        ours = tuple(keys[i] for i in indices)
        verdict = next((k for k in ours if not k.accepted), ours[0])
        parts.append(
            SetPart(
                group_control_number=ack.group_control_number,
                transaction_set_control_number=st02,
                accepted=all(k.accepted for k in ours),
                code=verdict.code,
                document=_branch(data, levels, [(i,) for i in indices]),
                keys=ours,
            )
        )
    return parts
