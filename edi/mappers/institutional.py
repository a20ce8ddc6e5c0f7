"""Institutional claims: `InstitutionalClaimRequest` JSON <-> 837I 005010X223A2.

``claims_to_837i(claims, envelope, batch_id=None)`` writes one interchange with one functional
group (GS08 ``005010X223A2``), split into transaction sets exactly as the 837P writer does (see
`edi.mappers.professional` and `edi.mappers._claim_common`). This module writes loop 2300 and below:

* CLM: CLM01 patientControlNumber, CLM02 claimChargeAmount, CLM05 facility type
  (placeOfServiceCode):A:claimFrequencyCode, CLM07 planParticipationCode, CLM08 benefits assignment,
  CLM09 release of information, CLM20 delayReasonCode;
* DTP*096 TM dischargeHour, DTP*434 RD8 statement dates, DTP*435 DT admissionDateAndHour,
  DTP*050 repricer received date; CL1 admission type/source, patient status; PWK; CN1;
  AMT*F3 patientEstimatedAmountDue; REF (4N, 9F, G1, F8, 9A, 9C, LX, D9, LU, EA, P4, G4);
  NTE claim notes by kind (ALG, DGN, DME, RHB, DCP, MED, NTR, ODT, RLH, SFM, SPT, RNH, SET, UPI)
  and NTE*ADD billing note;
* HI: ABK principal (with present-on-admission), ABJ admitting, APR reasons for visit, ABN
  external causes, DR, ABF other diagnoses (two HI of 12), BBR principal procedure, BBQ other
  procedures, BI occurrence spans, BH occurrences, BE values, BG conditions, TC treatment codes;
* 2310A attending (NM1*71, PRV*AT), 2310B operating, 2310C other operating, 2310D rendering,
  2310E service facility, 2310F referring; 2320/2330A/2330B other subscriber information;
* 2400 per line: LX, SV2 (revenue code, HC procedure composite with modifiers and description,
  charge, UN/DA, units, non-covered amount), DTP*472 (D8, or RD8 with serviceDateEnd), REF 6R/9B/9D,
  AMT GT/N8, NTE*TPO, 2410 drug (N4), 2420A-D line physicians.

``x12_837i_to_claims(source)`` reads each 2300 claim back into an `InstitutionalClaimRequest`.

Not carried: what the 837P module lists for the shared parts, and ``signatureIndicator``
(CLM06 is not used in the 837I; it is read when a sender includes it), ``patientAmountPaid``,
``patientWeight``, ``subscriber.insuranceTypeCode`` and the other subscriber's
``insuranceTypeCode`` and ``patientSignatureGeneratedForPatient`` (SBR05 and OI04 are not used),
subscriber and dependent contacts, the billing provider's secondary identifiers,
``claimNotes.additionalInformation`` beyond the one billing note (NTE*ADD), service line
``description`` and ``lineNoteText``, operating physicians' ``organizationName``. An admission
DTP*435 read in D8 form (no hour) cannot be held by ``admissionDateAndHour`` and is left out.

Refused (`ClaimMappingError`) besides what the 837P refuses: a billing provider without
``organizationName`` (2010AA NM102 is 2 in the 837I), an attending, operating, rendering or
referring provider without ``lastName`` (they are persons), principal/other procedures without
their date, drug qualifiers other than N4, more than 10 claim notes, a line procedure code without
its qualifier.

Normalisations (round trip): those of the 837P; ``claimNotes.additionalInformation`` comes back as
``billingNote``; statement dates read from a D8 DTP*434 give the same begin and end date.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from edi.checks import MAX_CLAIMS_PER_TRANSACTION
from edi.models.claims import (
    InstitutionalClaimInformation,
    InstitutionalClaimRequest,
    InstitutionalServiceLine,
    OperatingPhysician,
)

from ._claim_common import (
    ClaimHierarchy,
    Dialect,
    Out,
    build_models,
    camel,
    claim_hierarchies,
    components,
    drop_none,
    find_provider,
    hi_segments,
    icd,
    n3n4,
    nm1,
    provider_refs,
    read_address,
    read_claim_transactions,
    read_name,
    read_other_subscriber,
    read_parties,
    read_provider,
    read_refs,
    write_attachments_and_contract,
    write_claim_refs,
    write_claims,
    write_other_subscriber,
    x12_amount,
    x12_quantity,
)
from .envelope import Envelope

__all__ = ["VERSION", "claims_to_837i", "x12_837i_to_claims"]

VERSION = "005010X223A2"

_CLAIM_REFS = (
    ("service_authorization_exception_code", "4N"), ("referral_number", "9F"), ("prior_authorization_number", "G1"),
    ("claim_control_number", "F8"), ("repriced_claim_number", "9A"), ("adjusted_repriced_claim_number", "9C"),
    ("investigational_device_exemption_number", "LX"), ("claim_number", "D9"), ("auto_accident_state", "LU"),
    ("medical_record_number", "EA"), ("demo_project_identifier", "P4"), ("peer_review_authorization_number", "G4"),
)  # fmt: skip
_REF_FIELDS = {qualifier: field for field, qualifier in _CLAIM_REFS}

_NOTES = (
    ("allergies", "ALG"), ("diagnosis_description", "DGN"), ("dme", "DME"),
    ("functional_limits_or_reason_homebound", "RHB"), ("goal_rehab_or_discharge_plans", "DCP"),
    ("medications", "MED"), ("nutritional_requirments", "NTR"), ("orders_for_discip_lines_and_treatments", "ODT"),
    ("reasons_patient_leaves_home", "RLH"), ("safety_measures", "SFM"), ("supplemental_plan_of_treatment", "SPT"),
    ("times_and_reasons_patient_not_at_home", "RNH"), ("unusual_home_or_social_env", "SET"),
    ("updated_information", "UPI"),
)  # fmt: skip
_NOTE_FIELDS = {code: field for field, code in _NOTES}




# ================================================================================== writing


def _physician(out: Out, code: str, p: OperatingPhysician | None, path: str) -> None:
    if p is None:
        return
    nm1(out, code, p, path, org=False, identifier=p.npi)
    provider_refs(out, p, path, ("0B", "1G", "G2", "LU"))


def _claim_loop(out: Out, r: InstitutionalClaimRequest, path: str) -> None:
    info: InstitutionalClaimInformation = r.claim_information
    cp = f"{path}claimInformation"
    out.add(
        "CLM", out.text(info.patient_control_number, f"{cp}.patientControlNumber", 38),
        out.amount(info.claim_charge_amount, f"{cp}.claimChargeAmount"), "", "",
        [info.place_of_service_code, "A", info.claim_frequency_code], "",
        info.plan_participation_code, info.benefits_assignment_certification_indicator, info.release_information_code,
        "", "", "", "", "", "", "", "", "", "", info.delay_reason_code or "",
    )  # fmt: skip
    dates = info.claim_date_information
    if dates.discharge_hour:
        out.add("DTP", "096", "TM", dates.discharge_hour)
    out.add("DTP", "434", "RD8", f"{dates.statement_begin_date}-{dates.statement_end_date}")
    if dates.admission_date_and_hour:
        out.add("DTP", "435", "DT", dates.admission_date_and_hour)
    if dates.repricer_received_date:
        out.add("DTP", "050", "D8", dates.repricer_received_date)
    codes = info.claim_code_information
    out.add(
        "CL1", codes.admission_type_code or "", codes.admission_source_code or "", codes.patient_status_code
    )

    write_attachments_and_contract(out, info, cp)
    if info.patient_estimated_amount_due is not None:
        out.add("AMT", "F3", out.amount(info.patient_estimated_amount_due, f"{cp}.patientEstimatedAmountDue"))
    write_claim_refs(out, info, cp, _CLAIM_REFS)
    notes = info.claim_notes
    billing_notes: list[tuple[str, str]] = []
    if info.billing_note:
        billing_notes.append((info.billing_note, f"{cp}.billingNote"))
    if notes is not None:
        written = 0
        for field, code in _NOTES:
            for i, text in enumerate(getattr(notes, field) or ()):
                written += 1
                if written > 10:
                    out.problem(f"{cp}.claimNotes", "an 837I claim carries at most 10 claim notes")
                    break
                out.add("NTE", code, out.text(text, f"{cp}.claimNotes.{camel(field)}[{i}]", 80))
        for i, text in enumerate(notes.additional_information or ()):
            billing_notes.append((text, f"{cp}.claimNotes.additionalInformation[{i}]"))
    if len(billing_notes) > 1:
        out.problem(
            f"{cp}.billingNote", "an 837I claim carries one billing note (NTE*ADD): give billingNote only"
        )
    for text, where in billing_notes[:1]:
        out.add("NTE", "ADD", out.text(text, where, 80))

    principal = info.principal_diagnosis
    out.add("HI", [principal.qualifier_code, icd(principal.principal_diagnosis_code), "", "", "", "", "", "",
                   principal.present_on_admission_indicator or ""])  # fmt: skip
    if info.admitting_diagnosis is not None:
        out.add(
            "HI",
            [info.admitting_diagnosis.qualifier_code, icd(info.admitting_diagnosis.admitting_diagnosis_code)],
        )
    hi_segments(out, [[v.qualifier_code, icd(v.patient_reason_for_visit_code)] for v in info.patient_reason_for_visits or ()],
                3, 1, f"{cp}.patientReasonForVisits")  # fmt: skip
    hi_segments(out, [[e.qualifier_code, icd(e.external_cause_of_injury), "", "", "", "", "", "",
                       e.present_on_admission_indicator or ""] for e in info.external_cause_of_injuries or ()],
                12, 1, f"{cp}.externalCauseOfInjuries")  # fmt: skip
    if info.diagnosis_related_group_information is not None:
        out.add("HI", ["DR", info.diagnosis_related_group_information.drug_related_group_code])
    hi_segments(out, [[d.qualifier_code, icd(d.other_diagnosis_code), "", "", "", "", "", "",
                       d.present_on_admission_indicator or ""] for d in info.other_diagnosis_information_list or ()],
                12, 2, f"{cp}.otherDiagnosisInformationList")  # fmt: skip
    procedure = info.principal_procedure_information
    if procedure is not None:
        if not procedure.principal_procedure_date:
            out.problem(
                f"{cp}.principalProcedureInformation.principalProcedureDate",
                "is required in an 837I (HI01-4)",
            )
        out.add("HI", [procedure.qualifier_code, procedure.principal_procedure_code, "D8",
                       procedure.principal_procedure_date or ""])  # fmt: skip
    others = info.other_procedure_information_list or ()
    for i, p in enumerate(others):
        if not p.other_procedure_date:
            out.problem(
                f"{cp}.otherProcedureInformationList[{i}].otherProcedureDate", "is required in an 837I"
            )
    hi_segments(out, [[p.qualifier_code, p.other_procedure_code, "D8", p.other_procedure_date or ""] for p in others],
                12, 2, f"{cp}.otherProcedureInformationList")  # fmt: skip
    hi_segments(out, [["BI", s.occurrence_span_code, "RD8",
                       f"{s.occurrence_span_code_start_date}-{s.occurrence_span_code_end_date}"]
                      for s in info.occurrence_span_informations or ()], 12, 2, f"{cp}.occurrenceSpanInformations")  # fmt: skip
    hi_segments(out, [["BH", o.occurrence_span_code, "D8", o.occurrence_span_code_date]
                      for o in info.occurrence_information_list or ()], 12, 2, f"{cp}.occurrenceInformationList")  # fmt: skip
    hi_segments(out, [["BE", v.value_code, "", "", out.amount(v.value_code_amount, f"{cp}.valueInformationList[{i}]")]
                      for i, v in enumerate(info.value_information_list or ())], 12, 2, f"{cp}.valueInformationList")  # fmt: skip
    hi_segments(out, [["BG", c.condition_code] for c in info.condition_codes_list or ()], 12, 2,
                f"{cp}.conditionCodesList")  # fmt: skip
    hi_segments(out, [["TC", t.treatment_code] for t in info.treatment_code_information_list or ()], 12, 2,
                f"{cp}.treatmentCodeInformationList")  # fmt: skip

    attending, where = find_provider(r, "attending")
    if attending is not None:
        ap = f"{path}{where}"
        nm1(out, "71", attending, ap, org=False, identifier=attending.npi)
        if attending.taxonomy_code:
            out.add("PRV", "AT", "PXC", attending.taxonomy_code)
        provider_refs(out, attending, ap, ("0B", "1G", "G2", "LU"))
    _physician(out, "72", r.operating_physician, f"{path}operatingPhysician")
    _physician(out, "ZZ", r.other_operating_physician, f"{path}otherOperatingPhysician")
    rendering, where = find_provider(r, "rendering")
    if rendering is not None:
        nm1(out, "82", rendering, f"{path}{where}", org=False, identifier=rendering.npi)
        provider_refs(out, rendering, f"{path}{where}", ("0B", "1G", "G2", "LU"))
    facility = info.service_facility_location
    if facility is not None:
        fp = f"{cp}.serviceFacilityLocation"
        npi = facility.identification_code or ""
        out.add("NM1", "77", "2", out.text(facility.organization_name, f"{fp}.organizationName", 60), "", "", "", "",
                "XX" if npi else "", npi)  # fmt: skip
        n3n4(out, facility.address, f"{fp}.address", zip9=True)
        if facility.secondary_identification_qualifier_code and facility.secondary_identifier:
            out.add("REF", out.code(facility.secondary_identification_qualifier_code,
                                    f"{fp}.secondaryIdentificationQualifierCode", ("0B", "G2", "LU")),
                    out.text(facility.secondary_identifier, f"{fp}.secondaryIdentifier", 50))  # fmt: skip
    referring, where = find_provider(r, "referring")
    if referring is not None:
        nm1(out, "DN", referring, f"{path}{where}", org=False, identifier=referring.npi)
        provider_refs(out, referring, f"{path}{where}", ("0B", "1G", "G2"))
    if info.other_subscriber_information is not None:
        write_other_subscriber(
            out, info.other_subscriber_information, f"{cp}.otherSubscriberInformation", False
        )

    for n, line in enumerate(info.service_lines, start=1):
        _service_line(out, line, n, f"{cp}.serviceLines[{n - 1}]")


def _service_line(out: Out, line: InstitutionalServiceLine, number: int, lp: str) -> None:
    s = line.institutional_service
    spath = f"{lp}.institutionalService"
    out.add("LX", str(number))
    procedure: list[str] | str = ""
    if s.procedure_code:
        if not s.procedure_identifier:
            out.problem(f"{spath}.procedureIdentifier", "is required with procedureCode")
        procedure = [s.procedure_identifier or "", s.procedure_code, *(s.procedure_modifiers or [])]
        if s.description:
            procedure += [""] * (6 - len(procedure)) + [out.text(s.description, f"{spath}.description", 80)]
    elif s.procedure_identifier or s.procedure_modifiers:
        out.problem(f"{spath}.procedureCode", "is required with procedureIdentifier or procedureModifiers")
    out.add(
        "SV2", s.service_line_revenue_code, procedure, out.amount(s.line_item_charge_amount, f"{spath}.lineItemChargeAmount"),
        s.measurement_unit, out.quantity(s.service_unit_count, f"{spath}.serviceUnitCount"), "",
        out.amount(s.non_covered_charge_amount, f"{spath}.nonCoveredChargeAmount"),
    )  # fmt: skip
    if line.service_date:
        if line.service_date_end:
            out.add("DTP", "472", "RD8", f"{line.service_date}-{line.service_date_end}")
        else:
            out.add("DTP", "472", "D8", line.service_date)
    elif line.service_date_end:
        out.problem(f"{lp}.serviceDate", "is required with serviceDateEnd")
    for qualifier, value, name in (
        ("6R", line.line_item_control_number, "lineItemControlNumber"),
        ("9B", line.repriced_line_item_reference_number, "repricedLineItemReferenceNumber"),
        ("9D", line.adjusted_repriced_line_item_reference_number, "adjustedRepricedLineItemReferenceNumber"),
    ):
        if value:
            out.add("REF", qualifier, out.text(value, f"{lp}.{name}", 50))
    if line.service_tax_amount is not None:
        out.add("AMT", "GT", out.amount(line.service_tax_amount, f"{lp}.serviceTaxAmount"))
    if line.facility_tax_amount is not None:
        out.add("AMT", "N8", out.amount(line.facility_tax_amount, f"{lp}.facilityTaxAmount"))
    if line.third_party_organization_notes:
        out.add(
            "NTE",
            "TPO",
            out.text(line.third_party_organization_notes, f"{lp}.thirdPartyOrganizationNotes", 80),
        )
    drug = line.drug_identification
    if drug is not None:
        dp = f"{lp}.drugIdentification"
        out.add(
            "LIN",
            "",
            out.code(drug.service_id_qualifier, f"{dp}.serviceIdQualifier", ("N4",)),
            drug.national_drug_code,
        )
        out.add("CTP", "", "", "", out.quantity(drug.national_drug_unit_count, f"{dp}.nationalDrugUnitCount"),
                [drug.measurement_unit_code])  # fmt: skip
        if drug.pharmacy_prescription_number and drug.link_sequence_number:
            out.problem(
                dp, "give pharmacyPrescriptionNumber or linkSequenceNumber: the 837 has one REF for them"
            )
        elif drug.pharmacy_prescription_number:
            out.add(
                "REF",
                "XZ",
                out.text(drug.pharmacy_prescription_number, f"{dp}.pharmacyPrescriptionNumber", 50),
            )
        elif drug.link_sequence_number:
            out.add("REF", "VY", out.text(drug.link_sequence_number, f"{dp}.linkSequenceNumber", 50))
    _physician(out, "72", line.operating_physician, f"{lp}.operatingPhysician")
    _physician(out, "ZZ", line.other_operating_physician, f"{lp}.otherOperatingPhysician")
    for code, provider, name, refs in (
        ("82", line.rendering_provider, "renderingProvider", ("0B", "1G", "G2", "LU")),
        ("DN", line.referring_provider, "referringProvider", ("0B", "1G", "G2")),
    ):
        if provider is not None:
            nm1(out, code, provider, f"{lp}.{name}", org=False, identifier=provider.npi)
            provider_refs(out, provider, f"{lp}.{name}", refs)


_DIALECT = Dialect(professional=False, version=VERSION, claim_loop=_claim_loop)


def claims_to_837i(
    claims: Sequence[InstitutionalClaimRequest], envelope: Envelope, batch_id: str | None = None,
    *, max_per_set: int = MAX_CLAIMS_PER_TRANSACTION,
) -> str:
    """One 837I 005010X223A2 interchange holding `claims` (raises `ClaimMappingError` listing what
    the 837I cannot carry, never returns X12 the guide rejects)."""
    return write_claims(claims, envelope, batch_id, _DIALECT, max_per_set)


# ================================================================================== reading


def _read_physician(loop: Any) -> dict[str, Any] | None:
    if loop is None:
        return None
    nm = loop.first("NM1")
    data = {**read_name(nm), "npi": nm.get(9) or None if nm is not None and nm.get(8) == "XX" else None}
    ref = next(iter(loop.segments("REF", ("0B", "1G", "G2", "LU"))), None)
    if ref is not None:
        data["identification_qualifier_code"] = ref.get(1)
        data["secondary_identifier"] = ref.get(2) or None
    return drop_none(data)


def _read_line(loop: Any) -> dict[str, Any]:
    lx, sv2 = loop.first("LX"), loop.first("SV2")
    procedure = components(sv2, 2)
    service = {
        "service_line_revenue_code": sv2.get(1) or None if sv2 else None,
        "procedure_identifier": procedure[0] if procedure and procedure[0] else None,
        "procedure_code": procedure[1] if len(procedure) > 1 and procedure[1] else None,
        "procedure_modifiers": [m for m in procedure[2:6] if m] or None,
        "description": procedure[6] if len(procedure) > 6 and procedure[6] else None,
        "line_item_charge_amount": x12_amount(sv2.get(3)) if sv2 else None,
        "measurement_unit": sv2.get(4) or None if sv2 else None,
        "service_unit_count": x12_quantity(sv2.get(5)) if sv2 else None,
        "non_covered_charge_amount": x12_amount(sv2.get(7)) if sv2 else None,
    }
    line: dict[str, Any] = {"assigned_number": lx.get(1) or None if lx else None,
                            "institutional_service": drop_none(service)}  # fmt: skip
    dtp = loop.first("DTP", "472")
    if dtp is not None:
        value = dtp.get(3)
        if dtp.get(2) == "RD8" and "-" in value:
            line["service_date"], line["service_date_end"] = value.split("-", 1)
        else:
            line["service_date"] = value or None
    line.update(read_refs(loop, {"6R": "line_item_control_number", "9B": "repriced_line_item_reference_number",
                                 "9D": "adjusted_repriced_line_item_reference_number"}))  # fmt: skip
    for amt in loop.segments("AMT"):
        field = {"GT": "service_tax_amount", "N8": "facility_tax_amount"}.get(amt.get(1))
        if field:
            line[field] = x12_amount(amt.get(2))
    tpo = loop.first("NTE", "TPO")
    if tpo is not None:
        line["third_party_organization_notes"] = tpo.get(2) or None
    drug = loop.loop("2410")
    if drug is not None:
        lin, ctp = drug.first("LIN"), drug.first("CTP")
        line["drug_identification"] = drop_none({
            "service_id_qualifier": lin.get(2) or None if lin else None,
            "national_drug_code": lin.get(3) or None if lin else None,
            "national_drug_unit_count": x12_quantity(ctp.get(4)) if ctp else None,
            "measurement_unit_code": ctp.get(5, 1) or None if ctp else None,
            **read_refs(drug, {"XZ": "pharmacy_prescription_number", "VY": "link_sequence_number"}),
        })  # fmt: skip
    line["operating_physician"] = _read_physician(loop.loop("2420A"))
    line["other_operating_physician"] = _read_physician(loop.loop("2420B"))
    line["rendering_provider"] = read_provider(loop.loop("2420C"), "RenderingProvider")
    line["referring_provider"] = read_provider(loop.loop("2420D"), "ReferringProvider")
    return drop_none(line)


def _read_claim(h: ClaimHierarchy) -> dict[str, Any]:
    data = read_parties(h, prof=False)
    c = h.claim
    clm = c.first("CLM")
    clm05 = components(clm, 5)
    extras = data.pop("_claim", {})
    info: dict[str, Any] = {
        "claim_filing_code": extras.get("claim_filing_code"),
        "property_casualty_claim_number": extras.get("property_casualty_claim_number"),
        "patient_control_number": clm.get(1) or None if clm else None,
        "claim_charge_amount": x12_amount(clm.get(2)) if clm else None,
        "place_of_service_code": clm05[0] if clm05 and clm05[0] else None,
        "claim_frequency_code": clm05[2] if len(clm05) > 2 and clm05[2] else None,
        "signature_indicator": clm.get(6) or None if clm else None,
        "plan_participation_code": clm.get(7) or None if clm else None,
        "benefits_assignment_certification_indicator": clm.get(8) or None if clm else None,
        "release_information_code": clm.get(9) or None if clm else None,
        "delay_reason_code": clm.get(20) or None if clm else None,
    }
    dates: dict[str, Any] = {}
    for dtp in c.segments("DTP"):
        qualifier, form, value = dtp.get(1), dtp.get(2), dtp.get(3)
        if qualifier == "434":
            begin, _, end = value.partition("-")
            dates["statement_begin_date"], dates["statement_end_date"] = begin, end or begin
        elif qualifier == "435" and form == "DT" and len(value) == 12:
            dates["admission_date_and_hour"] = value
        elif qualifier == "096" and form == "TM":
            dates["discharge_hour"] = value[:4]
        elif qualifier == "050":
            dates["repricer_received_date"] = value
    info["claim_date_information"] = dates
    cl1 = c.first("CL1")
    info["claim_code_information"] = drop_none({
        "admission_type_code": cl1.get(1) or None if cl1 else None,
        "admission_source_code": cl1.get(2) or None if cl1 else None,
        "patient_status_code": cl1.get(3) or None if cl1 else None,
    })  # fmt: skip
    sup = read_refs(c, _REF_FIELDS)
    reports = [drop_none({"attachment_report_type_code": p.get(1), "attachment_transmission_code": p.get(2),
                          "attachment_control_number": p.get(6) or None}) for p in c.segments("PWK")]  # fmt: skip
    if reports:
        sup["report_informations"] = reports
    info["claim_supplemental_information"] = sup or None
    cn1 = c.first("CN1")
    if cn1 is not None:
        info["claim_contract_information"] = drop_none({
            "contract_type_code": cn1.get(1) or None, "contract_amount": x12_amount(cn1.get(2)),
            "contract_percentage": x12_quantity(cn1.get(3)), "contract_code": cn1.get(4) or None,
            "terms_discount_percentage": x12_quantity(cn1.get(5)), "contract_version_identifier": cn1.get(6) or None,
        })  # fmt: skip
    amt = c.first("AMT", "F3")
    info["patient_estimated_amount_due"] = x12_amount(amt.get(2)) if amt else None
    notes: dict[str, list[str]] = {}
    for nte in c.segments("NTE"):
        code, text = nte.get(1), nte.get(2)
        if code == "ADD" and text and "billing_note" not in info:
            info["billing_note"] = text
        elif code in _NOTE_FIELDS and text:
            notes.setdefault(_NOTE_FIELDS[code], []).append(text)
    info["claim_notes"] = notes or None

    lists: dict[str, list[Any]] = {}
    for hi in c.segments("HI"):
        for pos in range(1, 13):
            comp = components(hi, pos)
            if len(comp) < 2 or not comp[1]:
                continue
            q, code = comp[0], comp[1]
            poa = comp[8] if len(comp) > 8 and comp[8] else None
            fmt, value = (comp[2] if len(comp) > 2 else ""), (comp[3] if len(comp) > 3 else "")
            if q in ("ABK", "BK"):
                info["principal_diagnosis"] = drop_none(
                    {
                        "qualifier_code": q,
                        "principal_diagnosis_code": code,
                        "present_on_admission_indicator": poa,
                    }
                )
            elif q in ("ABJ", "BJ"):
                info["admitting_diagnosis"] = {"qualifier_code": q, "admitting_diagnosis_code": code}
            elif q in ("APR", "PR"):
                lists.setdefault("patient_reason_for_visits", []).append(
                    {"qualifier_code": q, "patient_reason_for_visit_code": code}
                )
            elif q in ("ABN", "BN"):
                lists.setdefault("external_cause_of_injuries", []).append(
                    drop_none(
                        {
                            "qualifier_code": q,
                            "external_cause_of_injury": code,
                            "present_on_admission_indicator": poa,
                        }
                    )
                )
            elif q == "DR":
                info["diagnosis_related_group_information"] = {"drug_related_group_code": code}
            elif q in ("ABF", "BF"):
                lists.setdefault("other_diagnosis_information_list", []).append(
                    drop_none(
                        {
                            "qualifier_code": q,
                            "other_diagnosis_code": code,
                            "present_on_admission_indicator": poa,
                        }
                    )
                )
            elif q in ("BBR", "BR", "CAH"):
                info["principal_procedure_information"] = drop_none(
                    {
                        "qualifier_code": q,
                        "principal_procedure_code": code,
                        "principal_procedure_date": value if fmt == "D8" and value else None,
                    }
                )
            elif q in ("BBQ", "BQ"):
                lists.setdefault("other_procedure_information_list", []).append(
                    drop_none(
                        {
                            "qualifier_code": q,
                            "other_procedure_code": code,
                            "other_procedure_date": value if fmt == "D8" and value else None,
                        }
                    )
                )
            elif q == "BI" and fmt == "RD8" and "-" in value:
                start, end = value.split("-", 1)
                lists.setdefault("occurrence_span_informations", []).append(
                    {
                        "occurrence_span_code": code,
                        "occurrence_span_code_start_date": start,
                        "occurrence_span_code_end_date": end,
                    }
                )
            elif q == "BH" and value:
                lists.setdefault("occurrence_information_list", []).append(
                    {"occurrence_span_code": code, "occurrence_span_code_date": value}
                )
            elif q == "BE":
                amount = comp[4] if len(comp) > 4 else ""
                if amount:
                    lists.setdefault("value_information_list", []).append(
                        {"value_code": code, "value_code_amount": x12_amount(amount)}
                    )
            elif q == "BG":
                lists.setdefault("condition_codes_list", []).append({"condition_code": code})
            elif q == "TC":
                lists.setdefault("treatment_code_information_list", []).append({"treatment_code": code})  # fmt: skip
    info.update(lists)
    attending = c.loop("2310A")
    data["attending"] = read_provider(attending, "AttendingProvider")
    data["operating_physician"] = _read_physician(c.loop("2310B"))
    data["other_operating_physician"] = _read_physician(c.loop("2310C"))
    data["rendering"] = read_provider(c.loop("2310D"), "RenderingProvider")
    facility = c.loop("2310E")
    if facility is not None:
        nm = facility.first("NM1")
        ref = next(iter(facility.segments("REF", ("0B", "G2", "LU"))), None)
        info["service_facility_location"] = drop_none({
            "organization_name": nm.get(3) or None if nm else None,
            "identification_code": nm.get(9) or None if nm and nm.get(8) == "XX" else None,
            "address": read_address(facility),
            "secondary_identification_qualifier_code": ref.get(1) if ref else None,
            "secondary_identifier": ref.get(2) or None if ref else None,
        })  # fmt: skip
    data["referring"] = read_provider(c.loop("2310F"), "ReferringProvider")
    others = [o for o in (read_other_subscriber(loop, False) for loop in c.loops("2320")) if o]
    info["other_subscriber_information"] = others[0] if others else None
    info["service_lines"] = [_read_line(loop) for loop in c.loops("2400")]
    data["claim_information"] = drop_none(info)
    return drop_none(data)


def x12_837i_to_claims(source: Any) -> list[InstitutionalClaimRequest]:
    """One `InstitutionalClaimRequest` per 2300 claim of every 837I transaction set in `source`
    (bytes, X12 text, a path or a binary stream)."""
    items = []
    for t in read_claim_transactions(source):
        for n, h in enumerate(claim_hierarchies(t)):
            items.append((f"ST {t.control_number} claim {n + 1}", _read_claim(h)))
    return build_models(InstitutionalClaimRequest, items)
