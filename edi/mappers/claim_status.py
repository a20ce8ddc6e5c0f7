"""277 claim status responses (005010X212) read into the canonical JSON model.

A 277 answers 276 requests for many patients at once: payer (2000A) > information receiver (2000B)
> provider (2000C) > subscriber (2000D) > dependent (2000E), with the claims found (2200D/E) under
the subscriber or the dependent they belong to. `ClaimStatusResponse` is the answer for one
patient, so each subscriber with claims of their own, and each dependent, gives one response that
carries the payer, receiver, provider and subscriber above it.

Each claim's first status (STC01 of its first STC) fills `claimStatus` with the claim's trace number,
payer claim control number, patient control number and dates; any further status (STC10, STC11, or a
second STC) is kept in `additionalStatuses` so none is lost.
"""

from __future__ import annotations

from typing import Any

from edi.models.reports import (
    ClaimStatusResponse,
    ClaimStatusResponseClaim,
    ClaimStatusServiceDetail,
    ReportParty,
    StatusX212,
)
from edi.x12.reader import Source

from .acknowledgments import interchange_meta
from .claim_acknowledgment import (
    clean,
    contact,
    dates,
    opt,
    ref,
    report_party,
    stc_composites,
    stc_extras,
    trace,
)
from .x12tree import Loop, Seg, Transaction, read_transactions

__all__ = ["x12_277_to_claim_status"]


def x12_277_to_claim_status(source: Source) -> list[ClaimStatusResponse]:
    """One response per patient (subscriber with claims, or dependent) in every 277 of `source`."""
    out: list[ClaimStatusResponse] = []
    for t in read_transactions(source):
        if t.transaction_set_id == "277":
            out.extend(_responses(t))
    return out


def _statuses(stc: Seg) -> list[dict[str, Any]]:
    """The fields of one StatusX212 per status composite of an STC, each with the STC's dates and amounts."""
    common = {
        "effective_date": opt(stc.get(2)),
        "submitted_amount": opt(stc.get(4)),
        "amount_paid": opt(stc.get(5)),
        "paid_date": opt(stc.get(6)),
        "check_issue_date": opt(stc.get(8)),
        "check_number": opt(stc.get(9)),
    }
    extra = {**stc_extras(stc), **clean({"paymentMethodCode": stc.get(7)})}
    out = []
    for category, status, entity, qualifier in stc_composites(stc):
        out.append(
            {
                "status_category_code": opt(category),
                "status_code": opt(status),
                "entity_code": opt(entity),
                **common,
                **extra,
                **clean({"codeListQualifierCode": qualifier}),
            }
        )
    return out


def _party(loop: Loop, name_loop_id: str) -> ReportParty | None:
    name_loop = loop.loop(name_loop_id)
    return report_party(name_loop.first("NM1") if name_loop else None)


def _level_statuses(loop: Loop, status_loop_id: str) -> dict[str, Any]:
    """TRN and STC of a receiver (2200B) or provider (2200C) level, when the 277 carries them."""
    status_loop = loop.loop(status_loop_id)
    if status_loop is None:
        return {}
    return clean(
        {
            "traceNumber": trace(status_loop),
            "statuses": [StatusX212(**s) for stc in status_loop.segments("STC") for s in _statuses(stc)],
        }
    )


def _with_level(party: ReportParty | None, loop: Loop, status_loop_id: str) -> ReportParty | None:
    extra = _level_statuses(loop, status_loop_id)
    if party is None or not extra:
        return party
    return party.model_copy(update=extra)


def _responses(t: Transaction) -> list[ClaimStatusResponse]:
    meta = interchange_meta(t.isa)
    out = []
    for payer_loop in t.body.walk("2000A"):
        payer_name = payer_loop.loop("2100A")
        payer_nm1 = payer_name.first("NM1") if payer_name else None
        payer = report_party(payer_nm1)
        payer_contact = payer_name.first("PER") if payer_name else None
        if payer is not None and payer_contact is not None:
            payer = payer.model_copy(update={"contactInformation": contact(payer_contact)})
        for receiver_loop in payer_loop.loops("2000B"):
            receiver = _with_level(_party(receiver_loop, "2100B"), receiver_loop, "2200B")
            for provider_loop in receiver_loop.loops("2000C"):
                provider = _with_level(_party(provider_loop, "2100C"), provider_loop, "2200C")
                common = {
                    "meta": meta,
                    "control_number": opt(t.control_number),
                    "trading_partner_service_id": opt(payer_nm1.get(9)) if payer_nm1 else None,
                    "payer": payer,
                    "provider": provider,
                    "receiver": receiver,
                }
                for subscriber_loop in provider_loop.loops("2000D"):
                    subscriber = _party(subscriber_loop, "2100D")
                    own_claims = subscriber_loop.loops("2200D")
                    dependents = subscriber_loop.loops("2000E")
                    if own_claims or not dependents:
                        out.append(
                            ClaimStatusResponse(
                                **common,
                                subscriber=subscriber,
                                claims=[_claim(c, "2220D") for c in own_claims],
                            )
                        )
                    for dependent_loop in dependents:
                        out.append(
                            ClaimStatusResponse(
                                **common,
                                subscriber=subscriber,
                                dependent=_party(dependent_loop, "2100E"),
                                claims=[_claim(c, "2220E") for c in dependent_loop.loops("2200E")],
                            )
                        )
    return out


def _claim(loop: Loop, line_loop_id: str) -> ClaimStatusResponseClaim:
    statuses = [s for stc in loop.segments("STC") for s in _statuses(stc)]
    single, begin, end = dates(loop.first("DTP", "472"))
    identifiers = {
        "tracking_number": trace(loop),
        "claim_service_date": single,
        "claim_service_begin_date": begin,
        "claim_service_end_date": end,
        "trading_partner_claim_number": ref(loop, "1K"),
        "patient_account_number": ref(loop, "EJ"),
        "voucher_identifier": ref(loop, "VV"),
        "bill_type_identifier": ref(loop, "BLT"),
    }
    extra = clean(
        {
            "clearinghouseTraceNumber": ref(loop, "D9"),
            "pharmacyPrescriptionNumber": ref(loop, "XZ"),
            "additionalStatuses": [StatusX212(**s) for s in statuses[1:]],
        }
    )
    first = statuses[0] if statuses else {}
    claim_status = StatusX212(**{**first, **{k: v for k, v in identifiers.items() if v is not None}, **extra})
    return ClaimStatusResponseClaim(
        claim_status=claim_status,
        service_details=[_service(s) for s in loop.loops(line_loop_id)],
    )


def _service(loop: Loop) -> ClaimStatusServiceDetail:
    svc = loop.first("SVC") or Seg("SVC", [])
    comps = svc.components(1) + [""] * 7
    single, begin, end = dates(loop.first("DTP", "472"))
    return ClaimStatusServiceDetail(
        service_id_qualifier_code=opt(comps[0]),
        procedure_code=opt(comps[1]),
        procedure_modifiers=[m for m in comps[2:6] if m] or None,
        revenue_code=opt(svc.get(4)),
        line_item_control_number=ref(loop, "FJ"),
        submitted_amount=opt(svc.get(2)),
        amount_paid=opt(svc.get(3)),
        submitted_units=opt(svc.get(7)),
        begin_service_date=single or begin,
        end_service_date=end,
        status=[StatusX212(**s) for stc in loop.segments("STC") for s in _statuses(stc)],
        **clean({"description": comps[6]}),
    )
