"""277CA claim acknowledgments (005010X214) read into the canonical JSON model.

The levels of the 277CA become the nesting of the Optum report layout: information source
(2000A, the payer or clearinghouse) > information receiver (2000B, the submitter) > billing
provider (2000C) > patient (2000D) > claim (2200D) > service line (2220D). Every STC keeps its
category, status and entity codes beside their descriptions, and each claim says whether it was
accepted into the adjudication system or rejected, read from its claim-level status categories as
the X214 guide defines them: A1/A2 (and A0/A5) acknowledge or accept the claim; A3, A4, A6, A7, A8
and the E0/E3/E4 request errors return it unprocessed.

The helpers that read names, contacts, dates and STC composites are shared with the 277 claim
status mapper (`edi.mappers.claim_status`) and the 835 mapper.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from edi.codes import REJECTED_CATEGORY_CODES
from edi.models.common import ResponseAddress, ResponseContact, ResponseContactInformation, ResponseMeta
from edi.models.reports import (
    Ack277Claim,
    Ack277ClaimStatus,
    Ack277Payer,
    Ack277ServiceLine,
    Ack277Transaction,
    ClaimAcknowledgmentReport,
    ClaimStatusDetail,
    ClaimStatusTransaction,
    InformationClaimStatus,
    InformationStatus,
    PatientClaimStatusDetail,
    ProviderClaimStatus,
    ReportParty,
    ServiceClaimStatus,
    ServiceProviderClaimStatus,
)
from edi.x12.reader import Source

from .acknowledgments import interchange_meta
from .x12tree import Loop, Seg, Transaction, read_transactions

__all__ = ["claim_accepted", "x12_277ca_to_reports"]

# Category codes that acknowledge a claim into (or towards) the payer's adjudication system.
ACCEPTED_CATEGORY_CODES = frozenset({"A0", "A1", "A2", "A5"})

_COMMUNICATION_MODES = {"TE": "Telephone", "EX": "Extension", "FX": "Fax", "EM": "Email", "UR": "URL"}
_MEMBER_ID_QUALIFIERS = frozenset({"MI", "II", "HN", "34"})
_TAX_ID_QUALIFIERS = frozenset({"FI", "24", "EI"})


# ============================================================ shared helpers


def opt(value: str) -> str | None:
    """The value, or None when it is empty (so unset fields stay out of the JSON)."""
    return value or None


def clean(values: dict[str, Any]) -> dict[str, Any]:
    """`values` without its empty entries."""
    return {k: v for k, v in values.items() if v not in (None, "", [], {})}


def source_file_name(source: Source, file_name: str | None) -> str | None:
    """The file name a report shows: the one given, else the name of the path read."""
    if file_name is not None:
        return file_name
    if isinstance(source, str | os.PathLike):
        return Path(source).name
    return None


def by_interchange(transactions: Iterable[Transaction]) -> list[list[Transaction]]:
    """Transaction sets grouped by the interchange (ISA) that carried them, in file order."""
    groups: list[list[Transaction]] = []
    for t in transactions:
        if groups and groups[-1][0].isa is t.isa:
            groups[-1].append(t)
        else:
            groups.append([t])
    return groups


def report_meta(group: list[Transaction]) -> ResponseMeta:
    return interchange_meta(group[0].isa)


def dates(
    dtp: Seg | None, value_pos: int = 3, format_pos: int = 2
) -> tuple[str | None, str | None, str | None]:
    """A DTP date as (single date, begin, end): D8 gives the first, RD8 the two others."""
    if dtp is None:
        return None, None, None
    value = dtp.get(value_pos)
    if dtp.get(format_pos) == "RD8" or "-" in value:
        begin, _, end = value.partition("-")
        return None, opt(begin), opt(end)
    return opt(value), None, None


def party_names(nm1: Seg) -> dict[str, Any]:
    """NM103-NM107 as organization or person name fields."""
    if nm1.get(2) == "1":
        return clean(
            {
                "last_name": nm1.get(3),
                "first_name": nm1.get(4),
                "middle_name": nm1.get(5),
                "suffix": nm1.get(7),
            }
        )
    return clean({"organization_name": nm1.get(3)})


def party_identifier(qualifier: str, value: str) -> dict[str, Any]:
    """NM108/NM109 as the ReportParty field it names (unknown qualifiers are kept with their code)."""
    if not value:
        return {}
    if qualifier == "XX":
        return {"npi": value}
    if qualifier in _TAX_ID_QUALIFIERS:
        return {"tax_id": value}
    if qualifier == "46":
        return {"etin": value}
    if qualifier in _MEMBER_ID_QUALIFIERS:
        return {"member_id": value}
    if qualifier in ("PI", "XV"):
        return {"payerIdentification": value}
    return {"identificationCodeQualifier": qualifier, "identificationCode": value}


def report_party(nm1: Seg | None, refs: Iterable[Seg] = ()) -> ReportParty | None:
    """A ReportParty from an NM1 and the REF segments that identify it further."""
    if nm1 is None:
        return None
    fields = {**party_names(nm1), **party_identifier(nm1.get(8), nm1.get(9))}
    secondary = {}
    for ref in refs:
        if ref.get(1) in ("TJ", "EI") and "tax_id" not in fields:
            fields["tax_id"] = ref.get(2)
        elif ref.get(2):
            secondary[ref.get(1)] = ref.get(2)
    if secondary:
        fields["secondaryIdentifiers"] = secondary
    return ReportParty(**fields)


def contact(per: Seg | None) -> ResponseContactInformation | None:
    """A PER segment: contact name and up to three communication numbers."""
    if per is None:
        return None
    contacts = [
        ResponseContact(
            communication_mode=_COMMUNICATION_MODES.get(per.get(q), opt(per.get(q))),
            communication_number=opt(per.get(q + 1)),
        )
        for q in (3, 5, 7)
        if per.get(q) or per.get(q + 1)
    ]
    return ResponseContactInformation(name=opt(per.get(2)), contacts=contacts)


def address(n3: Seg | None, n4: Seg | None) -> ResponseAddress | None:
    """N3/N4 as an address."""
    if n3 is None and n4 is None:
        return None
    n3 = n3 or Seg("N3", [])
    n4 = n4 or Seg("N4", [])
    return ResponseAddress(
        address1=opt(n3.get(1)),
        address2=opt(n3.get(2)),
        city=opt(n4.get(1)),
        state=opt(n4.get(2)),
        postal_code=opt(n4.get(3)),
        country_code=opt(n4.get(4)),
        country_sub_division_code=opt(n4.get(7)),
    )


def stc_composites(stc: Seg) -> list[list[str]]:
    """The status composites of one STC (STC01, STC10, STC11), each as [category, status, entity, qualifier]."""
    out = []
    for pos in (1, 10, 11):
        comps = stc.components(pos)
        if any(comps):
            out.append((comps + ["", "", "", ""])[:4])
    return out


def information_statuses(stc: Seg) -> list[InformationStatus]:
    out = []
    for category, status, entity, qualifier in stc_composites(stc):
        extra = {"codeListQualifierCode": qualifier} if qualifier else {}
        out.append(
            InformationStatus(
                health_care_claim_status_category_code=opt(category),
                status_code=opt(status),
                entity_identifier_code=opt(entity),
                **extra,
            )
        )
    return out


def stc_extras(stc: Seg) -> dict[str, Any]:
    """STC03 (action code) and STC12 (message) where the status model has no field for them."""
    return clean({"statusInformationActionCode": stc.get(3), "statusMessage": stc.get(12)})


def service_composite(svc: Seg) -> dict[str, Any]:
    """SVC01 (qualifier, procedure code, modifiers, description) and the SVC amounts of a 277."""
    comps = svc.components(1)
    comps = comps + [""] * (8 - len(comps))
    return clean(
        {
            "serviceIdQualifierCode": comps[0],
            "procedureCode": comps[1],
            "procedureModifiers": [m for m in comps[2:6] if m],
            "description": comps[6],
            "chargeAmount": svc.get(2),
            "amountPaid": svc.get(3),
            "revenueCode": svc.get(4),
            "submittedUnits": svc.get(7),
        }
    )


def claim_accepted(categories: Iterable[str]) -> bool | None:
    """Whether claim-level status categories mean accepted (True), rejected (False) or neither (None)."""
    found = [c for c in categories if c]
    if not found:
        return None
    if any(c in REJECTED_CATEGORY_CODES for c in found):
        return False
    if any(c in ACCEPTED_CATEGORY_CODES for c in found):
        return True
    return None


def quantity(loop: Loop | None, qualifier: str) -> str | None:
    seg = loop.first("QTY", qualifier) if loop else None
    return opt(seg.get(2)) if seg else None


def amount(loop: Loop | None, qualifier: str) -> str | None:
    seg = loop.first("AMT", qualifier) if loop else None
    return opt(seg.get(2)) if seg else None


def ref(loop: Loop | None, qualifier: str) -> str | None:
    seg = loop.first("REF", qualifier) if loop else None
    return opt(seg.get(2)) if seg else None


def trace(loop: Loop | None) -> str | None:
    seg = loop.first("TRN") if loop else None
    return opt(seg.get(2)) if seg else None


# ==================================================================== 277CA


def x12_277ca_to_reports(source: Source, *, file_name: str | None = None) -> list[ClaimAcknowledgmentReport]:
    """One report per interchange of 277CA transaction sets in `source`."""
    transactions = [t for t in read_transactions(source) if t.transaction_set_id == "277"]
    name = source_file_name(source, file_name)
    return [
        ClaimAcknowledgmentReport(
            meta=report_meta(group),
            file_name=name,
            transactions=[_transaction(t) for t in group],
        )
        for group in by_interchange(transactions)
    ]


def _transaction(t: Transaction) -> Ack277Transaction:
    bht = t.body.first("BHT") or Seg("BHT", [])
    return Ack277Transaction(
        control_number=opt(t.control_number),
        reference_identification=opt(bht.get(3)),
        transaction_set_creation_date=opt(bht.get(4)),
        transaction_set_creation_time=opt(bht.get(5)),
        payers=[_payer(loop) for loop in t.body.walk("2000A")],
    )


def _payer(loop: Loop) -> Ack277Payer:
    name_loop = loop.loop("2100A") or Loop("2100A", [])
    nm1 = name_loop.first("NM1") or Seg("NM1", [])
    receipt = loop.loop("2200A")
    extra = {}
    if receipt is not None:
        extra = clean(
            {
                "informationSourceApplicationTraceIdentifier": trace(receipt),
                "informationSourceReceiptDate": dates(receipt.first("DTP", "050"))[0],
                "informationSourceProcessDate": dates(receipt.first("DTP", "009"))[0],
            }
        )
    if nm1.get(8) and nm1.get(8) not in ("PI", "XV"):
        extra["identificationCodeQualifier"] = nm1.get(8)
    return Ack277Payer(
        organization_name=opt(nm1.get(3)),
        payer_identification=opt(nm1.get(9)),
        entity_identifier_code=opt(nm1.get(1)),
        contact_information=contact(name_loop.first("PER")),
        claim_status_transactions=[_receiver(r) for r in loop.loops("2000B")],
        **extra,
    )


def _receiver(loop: Loop) -> ClaimStatusTransaction:
    name_loop = loop.loop("2100B") or Loop("2100B", [])
    status_loop = loop.loop("2200B")
    statuses = [
        ProviderClaimStatus(
            status_information_effective_date=opt(stc.get(2)),
            total_claim_charge_amount=opt(stc.get(4)),
            provider_statuses=information_statuses(stc),
            **stc_extras(stc),
        )
        for stc in (status_loop.segments("STC") if status_loop else [])
    ]
    return ClaimStatusTransaction(
        receiver=report_party(name_loop.first("NM1")),
        claim_transaction_batch_number=trace(status_loop),
        provider_claim_statuses=statuses,
        total_accepted_quantity=quantity(status_loop, "90"),
        total_rejected_quantity=quantity(status_loop, "AA"),
        total_accepted_amount=amount(status_loop, "YU"),
        total_rejected_amount=amount(status_loop, "YY"),
        claim_status_details=[_provider(p) for p in loop.loops("2000C")],
    )


def _provider(loop: Loop) -> ClaimStatusDetail:
    name_loop = loop.loop("2100C") or Loop("2100C", [])
    status_loop = loop.loop("2200C")
    statuses = [
        ServiceProviderClaimStatus(
            status_information_effective_date=opt(stc.get(2)),
            total_claim_charge_amount=opt(stc.get(4)),
            service_provider_statuses=information_statuses(stc),
            **stc_extras(stc),
        )
        for stc in (status_loop.segments("STC") if status_loop else [])
    ]
    return ClaimStatusDetail(
        service_provider=report_party(
            name_loop.first("NM1"), status_loop.segments("REF") if status_loop else ()
        ),
        provider_of_service_information_trace_identifier=trace(status_loop),
        service_provider_claim_statuses=statuses,
        total_accepted_quantity=quantity(status_loop, "QA"),
        total_rejected_quantity=quantity(status_loop, "QC"),
        total_accepted_amount=amount(status_loop, "YU"),
        total_rejected_amount=amount(status_loop, "YY"),
        patient_claim_status_details=[_patient(p) for p in loop.loops("2000D")],
    )


def _patient(loop: Loop) -> PatientClaimStatusDetail:
    name_loop = loop.loop("2100D") or Loop("2100D", [])
    return PatientClaimStatusDetail(
        subscriber=report_party(name_loop.first("NM1")),
        claims=[_claim(c) for c in loop.loops("2200D")],
    )


def _claim(loop: Loop) -> Ack277Claim:
    single, begin, end = dates(loop.first("DTP", "472"))
    patient_control_number = trace(loop)
    claim_statuses = [
        InformationClaimStatus(
            status_information_effective_date=opt(stc.get(2)),
            status_information_action_code=opt(stc.get(3)),
            total_claim_charge_amount=opt(stc.get(4)),
            claim_payment_amount=opt(stc.get(5)),
            adjudicated_finalized_date=opt(stc.get(6)),
            remittance_date=opt(stc.get(8)),
            status_message=opt(stc.get(12)),
            information_statuses=information_statuses(stc),
        )
        for stc in loop.segments("STC")
    ]
    status = Ack277ClaimStatus(
        referenced_transaction_trace_number=patient_control_number,
        patient_account_number=patient_control_number,
        clearinghouse_trace_number=ref(loop, "D9"),
        trading_partner_claim_number=ref(loop, "1K"),
        bill_type_identifier=ref(loop, "BLT"),
        medical_record_identification=ref(loop, "EA"),
        claim_service_date=single,
        claim_service_begin_date=begin,
        claim_service_end_date=end,
        information_claim_statuses=claim_statuses,
    )
    categories = [c[0] for stc in loop.segments("STC") for c in stc_composites(stc)]
    verdict = claim_accepted(categories)
    extra: dict[str, Any] = {}
    if verdict is not None:
        extra = {"accepted": verdict, "claimStatusVerdict": "accepted" if verdict else "rejected"}
    return Ack277Claim(claim_status=status, service_lines=[_line(s) for s in loop.loops("2220D")], **extra)


def _line(loop: Loop) -> Ack277ServiceLine:
    svc = loop.first("SVC") or Seg("SVC", [])
    single, begin, end = dates(loop.first("DTP", "472"))
    statuses = [
        ServiceClaimStatus(
            status_information_effective_date=opt(stc.get(2)),
            service_statuses=information_statuses(stc),
            **stc_extras(stc),
            **clean({"lineItemChargeAmount": stc.get(4), "lineItemPaymentAmount": stc.get(5)}),
        )
        for stc in loop.segments("STC")
    ]
    return Ack277ServiceLine(
        line_item_control_number=ref(loop, "FJ"),
        service_line_date=single,
        begin_service_line_date=begin,
        end_service_line_date=end,
        service=service_composite(svc) or None,
        service_claim_statuses=statuses,
        **clean({"pharmacyPrescriptionNumber": ref(loop, "XZ")}),
    )
