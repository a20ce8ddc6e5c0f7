"""835 remittance advice (005010X221A1) read into the canonical JSON model (Optum payment report layout).

One `PaymentReport` per interchange; one `PaymentTransaction` per 835 (one payment to one payee):
BPR payment and TRN trace, payer (1000A) and payee (1000B), header number groups (2000: LX, TS3,
TS2) of claim payments (2100: CLP, CAS, NM1, MIA, MOA, REF, DTM, PER, AMT, QTY) and their service
lines (2110: SVC, DTM, CAS, REF, AMT, QTY, LQ), then provider adjustments (PLB).

Values are kept as the payer sent them, even when wrong: an impossible check or EFT date stays in
`checkIssueOrEFTEffectiveDate` and an entry in the transaction's `errors` says so. Each CAS reason
code carries its CARC description (`adjustmentReasonCode{n}Value`) where `edi.codes` knows it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from edi.codes import CLAIM_ADJUSTMENT_REASON_CODES, describe
from edi.models.common import ResponseError
from edi.models.reports import (
    CasAdjustment,
    ClaimPaymentInfo,
    DetailInfo,
    FinancialInformation,
    HealthCareCheckRemarkCode,
    PaymentAndRemitReassociationDetails,
    PaymentInfo,
    PaymentReport,
    PaymentTransaction,
    ProviderAdjustment,
    ProviderAdjustmentDetail,
    RemittanceParty,
    RemittancePerson,
    RemittanceServiceLine,
    ServicePaymentInformation,
)
from edi.x12.reader import Source

from .claim_acknowledgment import (
    address,
    by_interchange,
    clean,
    contact,
    opt,
    party_names,
    report_meta,
    source_file_name,
)
from .x12tree import Loop, Seg, Transaction, read_transactions

__all__ = ["x12_835_to_reports"]

# SVC01-1 / SVC06-1: Product/Service ID Qualifier (235) as used in 005010X221A1.
PRODUCT_SERVICE_ID_QUALIFIERS = {
    "AD": "American Dental Association Codes",
    "ER": "Jurisdiction Specific Procedure and Supply Codes",
    "HC": "Health Care Financing Administration Common Procedural Coding System (HCPCS) Codes",
    "HP": "Health Insurance Prospective Payment System (HIPPS) Skilled Nursing Facility Rate Code",
    "IV": "Home Infusion EDI Coalition (HIEC) Product/Service Code",
    "N4": "National Drug Code in 5-4-2 Format",
    "NU": "National Uniform Billing Committee (NUBC) UB92 Codes",
    "WK": "Advanced Billing Concepts (ABC) Codes",
}

# LQ01: Code List Qualifier Code (1270) as used in 005010X221A1.
REMARK_CODE_LIST_QUALIFIERS = {
    "HE": "Claim Payment Remark Codes",
    "RX": "National Council for Prescription Drug Programs Reject/Payment Codes",
}

# PLB03-1: Adjustment Reason Code (426) as used in 005010X221A1.
PROVIDER_ADJUSTMENT_REASON_CODES = {
    "50": "Late Charge",
    "51": "Interest Penalty Charge",
    "72": "Authorized Return",
    "90": "Early Payment Allowance",
    "AH": "Origination Fee",
    "AM": "Applied to Borrower's Account",
    "AP": "Acceleration of Benefits",
    "B2": "Rebate",
    "B3": "Recovery Allowance",
    "BD": "Bad Debt Adjustment",
    "BN": "Bonus",
    "C5": "Temporary Allowance",
    "CR": "Capitation Interest",
    "CS": "Adjustment",
    "CT": "Capitation Payment",
    "CV": "Capital Passthru",
    "CW": "Certified Registered Nurse Anesthetist Passthru",
    "DM": "Direct Medical Education Passthru",
    "E3": "Withholding",
    "FB": "Forwarding Balance",
    "FC": "Fund Allocation",
    "GO": "Graduate Medical Education Passthru",
    "HM": "Hemophilia Clotting Factor Supplement",
    "IP": "Incentive Premium Payment",
    "IR": "Internal Revenue Service Withholding",
    "IS": "Interim Settlement",
    "J1": "Nonreimbursable",
    "L3": "Penalty",
    "L6": "Interest Owed",
    "LE": "Levy",
    "LS": "Lump Sum",
    "OA": "Organ Acquisition Passthru",
    "OB": "Offset for Affiliated Providers",
    "PI": "Periodic Interim Payment",
    "PL": "Payment Final",
    "RA": "Retro-activity Adjustment",
    "RE": "Return on Equity",
    "SL": "Student Loan Repayment",
    "TL": "Third Party Liability",
    "WO": "Overpayment Recovery",
    "WU": "Unspecified Recovery",
}

# Names of the positional elements of TS3, TS2, MIA and MOA (the JSON keys of their dicts).
_TS3 = {
    1: "providerIdentifier",
    2: "facilityTypeCode",
    3: "fiscalPeriodDate",
    4: "totalClaimCount",
    5: "totalClaimChargeAmount",
    13: "totalMSPPayerAmount",
    15: "totalNonLabChargeAmount",
    17: "totalHCPCSReportedChargeAmount",
    18: "totalHCPCSPayableAmount",
    20: "totalProfessionalComponentAmount",
    21: "totalMSPPatientLiabilityMetAmount",
    22: "totalPatientReimbursementAmount",
    23: "totalPIPClaimCount",
    24: "totalPIPAdjustmentAmount",
}
_TS2 = {
    1: "totalDRGAmount",
    2: "totalFederalSpecificAmount",
    3: "totalHospitalSpecificAmount",
    4: "totalDisproportionateShareAmount",
    5: "totalCapitalAmount",
    6: "totalIndirectMedicalEducationAmount",
    7: "totalOutlierDayCount",
    8: "totalDayOutlierAmount",
    9: "totalCostOutlierAmount",
    10: "averageDRGLengthOfStay",
    11: "totalDischargeCount",
    12: "totalCostReportDayCount",
    13: "totalCoveredDayCount",
    14: "totalNoncoveredDayCount",
    15: "totalMSPPassThroughAmount",
    16: "averageDRGWeight",
    17: "totalPPSCapitalFSPDRGAmount",
    18: "totalPPSCapitalHSPDRGAmount",
    19: "totalPPSDSHDRGAmount",
}
_MIA = {
    1: "coveredDaysOrVisitsCount",
    2: "ppsOperatingOutlierAmount",
    3: "lifetimePsychiatricDaysCount",
    4: "claimDRGAmount",
    5: "claimPaymentRemarkCode1",
    6: "claimDisproportionateShareAmount",
    7: "claimMSPPassThroughAmount",
    8: "claimPPSCapitalAmount",
    9: "ppsCapitalFSPDRGAmount",
    10: "ppsCapitalHSPDRGAmount",
    11: "ppsCapitalDSHDRGAmount",
    12: "oldCapitalAmount",
    13: "ppsCapitalIMEAmount",
    14: "ppsOperatingHospitalSpecificDRGAmount",
    15: "costReportDayCount",
    16: "ppsOperatingFederalSpecificDRGAmount",
    17: "claimPPSCapitalOutlierAmount",
    18: "claimIndirectTeachingAmount",
    19: "nonpayableProfessionalComponentAmount",
    20: "claimPaymentRemarkCode2",
    21: "claimPaymentRemarkCode3",
    22: "claimPaymentRemarkCode4",
    23: "claimPaymentRemarkCode5",
    24: "ppsCapitalExceptionAmount",
}
_MOA = {
    1: "reimbursementRate",
    2: "claimHCPCSPayableAmount",
    3: "claimPaymentRemarkCode1",
    4: "claimPaymentRemarkCode2",
    5: "claimPaymentRemarkCode3",
    6: "claimPaymentRemarkCode4",
    7: "claimPaymentRemarkCode5",
    8: "claimESRDPaymentAmount",
    9: "nonpayableProfessionalComponentAmount",
}

# REF, AMT and QTY qualifiers of loops 2100 and 2110, by the JSON key they are shown under.
_REF_NAMES = {
    # 2100 other claim related identification
    "1L": "groupOrPolicyNumber",
    "1W": "memberIdentificationNumber",
    "28": "employeeIdentificationNumber",
    "6P": "groupNumber",
    "9A": "repricedClaimReferenceNumber",
    "9C": "adjustedRepricedClaimReferenceNumber",
    "BB": "authorizationNumber",
    "CE": "classOfContractCode",
    "EA": "medicalRecordNumber",
    "F8": "originalReferenceNumber",
    "G1": "priorAuthorizationNumber",
    "G3": "predeterminationOfBenefitsIdentificationNumber",
    "IG": "insurancePolicyNumber",
    "SY": "ssn",
    # 2100 and 2110 rendering provider identification
    "0B": "stateLicenseNumber",
    "1A": "blueCrossProviderNumber",
    "1B": "blueShieldProviderNumber",
    "1C": "medicareProviderNumber",
    "1D": "medicaidProviderNumber",
    "1G": "providerUPINNumber",
    "1H": "champusIdentificationNumber",
    "1J": "facilityIdNumber",
    "D3": "nationalCouncilForPrescriptionDrugProgramPharmacyNumber",
    "G2": "providerCommercialNumber",
    "HPI": "npi",
    "LU": "locationNumber",
    "TJ": "federalTaxpayersIdentificationNumber",
    # 2110 service identification
    "1S": "ambulatoryPatientGroupNumber",
    "APC": "ambulatoryPaymentClassification",
    "E9": "attachmentCode",
    "RB": "rateCodeNumber",
}
_CLAIM_PROVIDER_REFS = frozenset({"0B", "1A", "1B", "1C", "1D", "1G", "1H", "1J", "D3", "G2", "LU"})
_LINE_PROVIDER_REFS = frozenset(
    {"0B", "1A", "1B", "1C", "1D", "1G", "1H", "1J", "D3", "G2", "HPI", "SY", "TJ"}
)
_CLAIM_AMOUNTS = {
    "AU": "coverageAmount",
    "D8": "discountAmount",
    "DY": "perDayLimit",
    "F5": "patientAmountPaid",
    "I": "interest",
    "NL": "negativeLedgerBalance",
    "T": "tax",
    "T2": "totalClaimBeforeTaxes",
    "ZK": "federalMedicareOrMedicaidPaymentMandateCategory1",
    "ZL": "federalMedicareOrMedicaidPaymentMandateCategory2",
    "ZM": "federalMedicareOrMedicaidPaymentMandateCategory3",
    "ZN": "federalMedicareOrMedicaidPaymentMandateCategory4",
    "ZO": "federalMedicareOrMedicaidPaymentMandateCategory5",
}
_CLAIM_QUANTITIES = {
    "CA": "coveredActual",
    "CD": "coInsuredActual",
    "LA": "lifeTimeReserveActual",
    "LE": "lifeTimeReserveEstimated",
    "NE": "nonCoveredEstimated",
    "NR": "notReplacedBloodUnits",
    "OU": "outlierDays",
    "PS": "prescription",
    "VS": "visits",
    "ZK": "federalMedicareOrMedicaidPaymentMandateCategory1",
    "ZL": "federalMedicareOrMedicaidPaymentMandateCategory2",
    "ZM": "federalMedicareOrMedicaidPaymentMandateCategory3",
    "ZN": "federalMedicareOrMedicaidPaymentMandateCategory4",
    "ZO": "federalMedicareOrMedicaidPaymentMandateCategory5",
}
_SERVICE_AMOUNTS = {
    "B6": "allowedActual",
    "KH": "deductionAmount",
    "T": "tax",
    "T2": "totalClaimBeforeTaxes",
    "ZK": "federalMedicareOrMedicaidPaymentMandateCategory1",
    "ZL": "federalMedicareOrMedicaidPaymentMandateCategory2",
    "ZM": "federalMedicareOrMedicaidPaymentMandateCategory3",
    "ZN": "federalMedicareOrMedicaidPaymentMandateCategory4",
    "ZO": "federalMedicareOrMedicaidPaymentMandateCategory5",
}
_PERSON_ENTITIES = frozenset({"QC", "IL", "74", "GB"})


# ------------------------------------------------------------------ helpers


def _valid_date(value: str) -> bool:
    try:
        datetime.strptime(value, "%Y%m%d")
    except ValueError:
        return False
    return len(value) == 8


def _positional(seg: Seg | None, names: dict[int, str]) -> dict[str, str] | None:
    """A segment's elements as a dict keyed by name; a position the guide leaves unnamed keeps its id."""
    if seg is None:
        return None
    out = {}
    for pos in range(1, len(seg.elements) + 1):
        value = seg.get(pos)
        if value:
            out[names.get(pos, f"{seg.id}{pos:02d}")] = value
    return out or None


def _by_qualifier(segments: list[Seg], names: dict[str, str]) -> dict[str, str] | None:
    """REF/AMT/QTY segments as {name: value}; an unexpected qualifier is kept under its own code."""
    out = {names.get(s.get(1), s.get(1)): s.get(2) for s in segments if s.get(1) and s.get(2)}
    return out or None


# (reason, amount, quantity, description) keys of the six CAS triplets, in element order.
_CAS_KEYS = tuple(
    (f"adjustment_reason_code{n}", f"adjustment_amount{n}", f"adjustment_quantity{n}", f"adjustmentReasonCode{n}Value")
    for n in range(1, 7)
)


def _cas(seg: Seg) -> CasAdjustment:
    """One CAS segment: group code and up to six reason/amount/quantity triplets, each reason described.

    Only the values present are passed (the others default to None, as if passed): a CAS is
    mostly empty triplets, and each keyword costs validation."""
    fields: dict[str, Any] = {}
    group = seg.get(1)
    if group:
        fields["claim_adjustment_group_code"] = group
    count = len(seg.elements)
    for n, (reason_key, amount_key, quantity_key, description_key) in enumerate(_CAS_KEYS):
        base = 2 + n * 3
        if base > count:
            break
        reason, amount, quantity = seg.get(base), seg.get(base + 1), seg.get(base + 2)
        if reason:
            fields[reason_key] = reason
        if amount:
            fields[amount_key] = amount
        if quantity:
            fields[quantity_key] = quantity
        description = describe(CLAIM_ADJUSTMENT_REASON_CODES, reason) if reason else None
        if description:
            fields[description_key] = description
    return CasAdjustment(**fields)


def _person(nm1: Seg | None) -> RemittancePerson | None:
    """An NM1 of loop 2100 (patient, insured, corrected name, provider, crossover or priority payer)."""
    if nm1 is None:
        return None
    fields: dict[str, Any] = party_names(nm1)
    qualifier, value = nm1.get(8), nm1.get(9)
    if value and qualifier == "XX":
        fields["npi"] = value
    elif value and nm1.get(1) in _PERSON_ENTITIES:
        fields["member_id"] = value
        fields["identificationCodeQualifier"] = qualifier
    elif value:
        fields["identificationCodeQualifier"] = qualifier
        fields["identificationCode"] = value
    return RemittancePerson(**fields)


def _procedure(comps: list[str]) -> tuple[str | None, str | None, list[str] | None, str | None]:
    """An SVC composite as (qualifier, code, modifiers, description)."""
    comps = comps + [""] * (7 - len(comps))
    modifiers = [m for m in comps[2:6] if m]
    return opt(comps[0]), opt(comps[1]), modifiers or None, opt(comps[6])


# ------------------------------------------------------------------ mapping


def x12_835_to_reports(source: Source, *, file_name: str | None = None) -> list[PaymentReport]:
    """One payment report per interchange of 835 transaction sets in `source`."""
    transactions = [t for t in read_transactions(source) if t.transaction_set_id == "835"]
    name = source_file_name(source, file_name)
    return [
        PaymentReport(meta=report_meta(group), file_name=name, transactions=[_transaction(t) for t in group])
        for group in by_interchange(transactions)
    ]


def _transaction(t: Transaction) -> PaymentTransaction:
    body = t.body
    errors: list[ResponseError] = []
    production = body.first("DTM", "405")
    production_date = opt(production.get(2)) if production else None
    if production_date and not _valid_date(production_date):
        errors.append(_date_error("productionDate", "DTM02 (production date)"))
    financial = _financial(body.first("BPR"), errors)
    trn = body.first("TRN")
    extra: dict[str, Any] = {}
    cur = body.first("CUR")
    if cur is not None:
        extra["foreignCurrency"] = clean({"entityIdentifierCode": cur.get(1), "currencyCode": cur.get(2)})
    if errors:
        extra["errors"] = errors
    receiver = body.first("REF", "EV")
    version = body.first("REF", "F2")
    return PaymentTransaction(
        control_number=opt(t.control_number),
        production_date=production_date,
        receiver_identifier=opt(receiver.get(2)) if receiver else None,
        version_identification=opt(version.get(2)) if version else None,
        financial_information=financial,
        payment_and_remit_reassociation_details=PaymentAndRemitReassociationDetails(
            trace_type_code=opt(trn.get(1)),
            check_or_eft_trace_number=opt(trn.get(2)),
            originating_company_identifier=opt(trn.get(3)),
            originating_company_supplemental_code=opt(trn.get(4)),
        )
        if trn
        else None,
        payer=_payer(body.loop("1000A")),
        payee=_payee(body.loop("1000B")),
        detail_info=[_detail(loop) for loop in body.walk("2000")],
        provider_adjustments=[_plb(seg) for seg in body.segments("PLB")],
        **extra,
    )


def _date_error(field: str, where: str) -> ResponseError:
    return ResponseError(
        field=field,
        code="invalid-date",
        description=f"{where} is not a valid YYYYMMDD calendar date; the value is kept as sent.",
    )


def _financial(bpr: Seg | None, errors: list[ResponseError]) -> FinancialInformation | None:
    if bpr is None:
        return None
    date = bpr.get(16)
    if date and not _valid_date(date):
        errors.append(
            _date_error(
                "financialInformation.checkIssueOrEFTEffectiveDate",
                "BPR16 (check issue or EFT effective date)",
            )
        )
    banks = clean(
        {
            "senderDfiIdNumberQualifier": bpr.get(6),
            "senderDfiIdentifier": bpr.get(7),
            "senderAccountNumberQualifier": bpr.get(8),
            "senderAccountNumber": bpr.get(9),
            "receiverDfiIdNumberQualifier": bpr.get(12),
            "receiverDfiIdentifier": bpr.get(13),
            "receiverAccountNumberQualifier": bpr.get(14),
            "receiverAccountNumber": bpr.get(15),
        }
    )
    return FinancialInformation(
        transaction_handling_code=opt(bpr.get(1)),
        total_actual_provider_payment_amount=opt(bpr.get(2)),
        credit_or_debit_flag_code=opt(bpr.get(3)),
        payment_method_code=opt(bpr.get(4)),
        payment_format_code=opt(bpr.get(5)),
        payer_identifier=opt(bpr.get(10)),
        originating_company_supplemental_code=opt(bpr.get(11)),
        check_issue_or_eft_effective_date=opt(date),
        **banks,
    )


def _party_contacts(loop: Loop) -> dict[str, Any]:
    technical = [contact(per) for per in loop.segments("PER", "BL")]
    website = loop.first("PER", "IC")
    return {
        "business_contact_information": contact(loop.first("PER", "CX")),
        "technical_contact_information": technical or None,
        **clean({"webSite": website.get(4) if website else None}),
    }


def _payer(loop: Loop | None) -> RemittanceParty | None:
    if loop is None:
        return None
    n1 = loop.first("N1") or Seg("N1", [])
    fields: dict[str, Any] = {"name": opt(n1.get(2))}
    if n1.get(3) == "XV":
        fields["centers_for_medicare_and_medicaid_services_plan_id"] = opt(n1.get(4))
    elif n1.get(4):
        fields["identificationCodeQualifier"] = n1.get(3)
        fields["identificationCode"] = n1.get(4)
    refs = {s.get(1): s.get(2) for s in loop.segments("REF") if s.get(2)}
    fields["payer_identification_number"] = refs.pop("2U", None)
    other = {
        {"EO": "submitterIdentificationNumber", "HI": "healthIndustryNumber", "NF": "naicCode"}.get(q, q): v
        for q, v in refs.items()
    }
    if other:
        fields["additionalIdentification"] = other
    return RemittanceParty(
        address=address(loop.first("N3"), loop.first("N4")),
        **fields,
        **_party_contacts(loop),
    )


def _payee(loop: Loop | None) -> RemittanceParty | None:
    if loop is None:
        return None
    n1 = loop.first("N1") or Seg("N1", [])
    fields: dict[str, Any] = {"name": opt(n1.get(2))}
    qualifier, value = n1.get(3), n1.get(4)
    if value:
        key = {"XX": "npi", "FI": "tax_id", "XV": "centers_for_medicare_and_medicaid_services_plan_id"}.get(
            qualifier
        )
        if key:
            fields[key] = value
        else:
            fields["identificationCodeQualifier"] = qualifier
            fields["identificationCode"] = value
    other: dict[str, str] = {}
    for ref in loop.segments("REF"):
        if not ref.get(2):
            continue
        if ref.get(1) == "TJ" and "tax_id" not in fields:
            fields["tax_id"] = ref.get(2)
        else:
            name = {
                "0B": "stateLicenseNumber",
                "D3": "pharmacyNumber",
                "PQ": "payeeIdentification",
                "TJ": "federalTaxpayersIdentificationNumber",
            }.get(ref.get(1), ref.get(1))
            other[name] = ref.get(2)
    if other:
        fields["additionalIdentification"] = other
    rdm = loop.first("RDM")
    if rdm is not None:
        fields["remittanceDeliveryMethod"] = clean(
            {"reportTransmissionCode": rdm.get(1), "name": rdm.get(2), "communicationNumber": rdm.get(3)}
        )
    return RemittanceParty(address=address(loop.first("N3"), loop.first("N4")), **fields)


def _detail(loop: Loop) -> DetailInfo:
    lx = loop.first("LX")
    return DetailInfo(
        assigned_number=opt(lx.get(1)) if lx else None,
        provider_summary_information=_positional(loop.first("TS3"), _TS3),
        provider_supplemental_summary_information=_positional(loop.first("TS2"), _TS2),
        payment_info=[_claim(c) for c in loop.loops("2100")],
    )


def _claim(loop: Loop) -> PaymentInfo:
    clp = loop.first("CLP") or Seg("CLP", [])
    info = ClaimPaymentInfo(
        patient_control_number=opt(clp.get(1)),
        claim_status_code=opt(clp.get(2)),
        total_claim_charge_amount=opt(clp.get(3)),
        claim_payment_amount=opt(clp.get(4)),
        patient_responsibility_amount=opt(clp.get(5)),
        claim_filing_indicator_code=opt(clp.get(6)),
        payer_claim_control_number=opt(clp.get(7)),
        facility_type_code=opt(clp.get(8)),
        claim_frequency_code=opt(clp.get(9)),
        diagnosis_related_group_code=opt(clp.get(11)),
        diagnosis_related_group_weight=opt(clp.get(12)),
        discharge_fraction=opt(clp.get(13)),
    )
    refs = loop.segments("REF")
    dtm = {s.get(1): opt(s.get(2)) for s in loop.segments("DTM")}
    extra: dict[str, Any] = {}
    other_subscriber = _person(loop.first("NM1", "GB"))
    if other_subscriber is not None:
        extra["otherSubscriber"] = other_subscriber
    return PaymentInfo(
        claim_payment_info=info,
        claim_adjustments=[_cas(s) for s in loop.segments("CAS")],
        patient_name=_person(loop.first("NM1", "QC")),
        subscriber=_person(loop.first("NM1", "IL")),
        corrected_patient_or_insured_name=_person(loop.first("NM1", "74")),
        rendering_provider=_person(loop.first("NM1", "82")),
        crossover_carrier=_person(loop.first("NM1", "TT")),
        corrected_priority_payer=_person(loop.first("NM1", "PR")),
        other_claim_related_identification=_by_qualifier(
            [r for r in refs if r.get(1) not in _CLAIM_PROVIDER_REFS], _REF_NAMES
        ),
        rendering_provider_identification=_by_qualifier(
            [r for r in refs if r.get(1) in _CLAIM_PROVIDER_REFS], _REF_NAMES
        ),
        claim_statement_period_start=dtm.get("232"),
        claim_statement_period_end=dtm.get("233"),
        coverage_expiration_date=dtm.get("036"),
        claim_received_date=dtm.get("050"),
        claim_contact_information=contact(loop.first("PER")),
        claim_supplemental_information=_by_qualifier(loop.segments("AMT"), _CLAIM_AMOUNTS),
        claim_supplemental_information_quantities=_by_qualifier(loop.segments("QTY"), _CLAIM_QUANTITIES),
        inpatient_adjudication=_positional(loop.first("MIA"), _MIA),
        outpatient_adjudication=_positional(loop.first("MOA"), _MOA),
        service_lines=[_line(s) for s in loop.loops("2110")],
        **extra,
    )


def _line(loop: Loop) -> RemittanceServiceLine:
    svc = loop.first("SVC") or Seg("SVC", [])
    qualifier, code, modifiers, description = _procedure(svc.components(1))
    submitted_qualifier, submitted_code, submitted_modifiers, submitted_description = _procedure(
        svc.components(6)
    )
    payment = ServicePaymentInformation(
        product_or_service_id_qualifier=qualifier,
        product_or_service_id_qualifier_value=PRODUCT_SERVICE_ID_QUALIFIERS.get(qualifier or ""),
        adjudicated_procedure_code=code,
        adjudicated_procedure_modifier_codes=modifiers,
        line_item_charge_amount=opt(svc.get(2)),
        line_item_provider_payment_amount=opt(svc.get(3)),
        national_uniform_billing_committee_revenue_code=opt(svc.get(4)),
        units_of_service_paid_count=opt(svc.get(5)),
        submitted_product_or_service_id_qualifier=submitted_qualifier,
        submitted_adjudicated_procedure_code=submitted_code,
        submitted_adjudicated_procedure_modifier_codes=submitted_modifiers,
        original_units_of_service_count=opt(svc.get(7)),
        **clean(
            {
                "procedureCodeDescription": description,
                "submittedProcedureCodeDescription": submitted_description,
            }
        ),
    )
    dtm = {s.get(1): opt(s.get(2)) for s in loop.segments("DTM")}
    refs = loop.segments("REF")
    line_control = next((r.get(2) for r in refs if r.get(1) == "6R"), None)
    extra = clean(
        {
            "renderingProviderInformation": _by_qualifier(
                [r for r in refs if r.get(1) in _LINE_PROVIDER_REFS], _REF_NAMES
            ),
            "healthcarePolicyIdentification": next((r.get(2) for r in refs if r.get(1) == "0K"), None),
            "serviceSupplementalQuantities": _by_qualifier(loop.segments("QTY"), _CLAIM_QUANTITIES),
        }
    )
    service_refs = [r for r in refs if r.get(1) not in _LINE_PROVIDER_REFS and r.get(1) not in ("0K", "6R")]
    return RemittanceServiceLine(
        service_date=dtm.get("472"),
        service_start_date=dtm.get("150"),
        service_end_date=dtm.get("151"),
        service_payment_information=payment,
        service_adjustments=[_cas(s) for s in loop.segments("CAS")],
        line_item_control_number=opt(line_control or ""),
        service_identification=_by_qualifier(service_refs, _REF_NAMES),
        service_supplemental_amounts=_by_qualifier(loop.segments("AMT"), _SERVICE_AMOUNTS),
        health_care_check_remark_codes=[
            HealthCareCheckRemarkCode(
                code_list_qualifier_code=opt(lq.get(1)),
                code_list_qualifier_code_value=REMARK_CODE_LIST_QUALIFIERS.get(lq.get(1)),
                remark_code=opt(lq.get(2)),
            )
            for lq in loop.segments("LQ")
        ],
        **extra,
    )


def _plb(seg: Seg) -> ProviderAdjustment:
    adjustments = []
    for pos in range(3, len(seg.elements) + 1, 2):
        reason, identifier = seg.get(pos, 1), seg.get(pos, 2)
        money = seg.get(pos + 1)
        if not (reason or identifier or money):
            continue
        adjustments.append(
            ProviderAdjustmentDetail(
                adjustment_reason_code=opt(reason),
                adjustment_reason_code_value=PROVIDER_ADJUSTMENT_REASON_CODES.get(reason),
                provider_adjustment_identifier=opt(identifier),
                provider_adjustment_amount=opt(money),
            )
        )
    return ProviderAdjustment(
        provider_identifier=opt(seg.get(1)),
        fiscal_period_date=opt(seg.get(2)),
        adjustments=adjustments,
    )
