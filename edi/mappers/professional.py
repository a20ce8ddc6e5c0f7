"""Professional claims: `ProfessionalClaimRequest` JSON <-> 837P 005010X222A1.

``claims_to_837p(claims, envelope, batch_id=None)`` writes one interchange with one functional
group (GS08 ``005010X222A1``). Claims share a transaction set while they share the submitter and
receiver, up to 5,000 claims a set; beyond that, further sets follow with ST02 counting up from the
envelope's transaction control number. BHT03 is ``batch_id`` when given, else the first claim's
``controlNumber``. The hierarchy, the header loops and the checks that keep the output valid are in
`edi.mappers._claim_common`; this module writes loop 2300 and below:

* CLM: CLM01 patientControlNumber, CLM02 claimChargeAmount, CLM05 placeOfServiceCode:B:claimFrequencyCode,
  CLM06 signatureIndicator, CLM07 planParticipationCode, CLM08 benefitsAssignmentCertificationIndicator,
  CLM09 releaseInformationCode, CLM10 patientSignatureSourceCode, CLM11 relatedCausesCode with the auto
  accident state/country, CLM12 specialProgramCode, CLM20 delayReasonCode;
* DTP for each claimDateInformation date (disability dates: 314 RD8 for both, 360/361 for one);
  PWK for reportInformation(s); CN1; AMT*F5 patientAmountPaid; REF for claimSupplementalInformation
  (4N, F5, EW, 9F, G1, F8, X4, 9A, 9C, LX, D9, EA, P4, 1J); NTE claimNote; CR1 ambulance;
  CRC*75 homebound; HI ABK then ABF (BK/BF for ICD-9), dots dropped; HI BG condition codes;
* 2310A referring (DN), 2310B rendering, 2310C service facility, 2310D supervising, 2310E/F ambulance
  pick-up/drop-off, 2320/2330A/2330B other subscriber information;
* 2400 per service line: LX (1, 2, 3...), SV1 (procedure composite with modifiers and description,
  charge, unit, count, place of service, diagnosis pointer composite, emergency/EPSDT/family
  planning/copay indicators), CR1, DTP*472 (D8, or RD8 when serviceDateEnd is given), REF*6R,
  AMT*T/F4, NTE ADD/DCP and TPO, 2410 drug, 2420A-H line providers and ambulance locations.

``x12_837p_to_claims(source)`` reads every 2300 claim of every 837P transaction set back into a
`ProfessionalClaimRequest` carrying its billing provider, subscriber, patient and payer.

Not carried (no place in the 837P, or nowhere to read it back from): ``tradingPartnerId``;
submitter/receiver ``taxId`` (1000A/1000B NM109 is the envelope's application sender/receiver id);
the request-level ``ordering`` provider (the 837P names ordering providers per line only);
addresses, contacts and taxonomy codes of referring/supervising providers, addresses and contacts of
rendering providers, the name of a purchased service provider (2420B has no NM103); a provider's
``etin``, ``naic``, ``claimOfficeNumber``, ``payerIdentificationNumber`` (and ``employerId``/``ssn``
of any provider but the billing one); fax and email of subscriber/patient contacts (TE/EX only);
``subscriber.policyNumber`` when ``groupNumber`` is also given (SBR03 holds one),
``subscriber.standardHealthId``; ``claimSupplementalInformation.adjustedRepricedClaimRefNumber``,
``peerReviewAuthorizationNumber`` and ``autoAccidentState`` (837I only: the 837P uses
``autoAccidentStateCode``); ``dependent.ssn`` when ``dependent.memberId`` is given (2010CA has one
patient identifier REF); the phone of a line-level service facility. ``tradingPartnerName`` falls
back to ``receiver.organizationName`` for the payer name (2010BB NM103 is required).

Refused (`ClaimMappingError`, with every problem's JSON path) rather than written invalid: values
longer or shorter than their element allows (e.g. ``middleName`` over 25 characters, a one-letter
city), a billing provider or service facility ZIP code that is not nine digits, a patient without
address, a contact without any number where PER is required, codes outside the guide's lists
(SBR05, PWK01, state and country codes), two notes where the loop holds one NTE, a referring,
supervising or ordering provider without ``lastName`` (the guide names them as persons), diagnosis
pointers that point at no diagnosis, claims without exactly one principal diagnosis (ABK/BK) first.

Normalisations X12 forces (what a JSON -> 837P -> JSON round trip gives back):
amounts with two decimals (``"100"`` -> ``"100.00"``); quantities without trailing zeros
(``"1.0"`` -> ``"1"``); diagnosis codes without the dot; diagnosis pointers without leading zeros;
``assignedNumber`` is the LX01 line number (1, 2, 3...); ``usageIndicator`` is ISA15;
``controlNumber`` is BHT03 when nine digits, else ST02 padded to nine digits; providers come back in
their own fields (``billing``, ``rendering``...) with ``providerType`` set (``BillingProvider``...)
and ``employerId`` for REF*EI, a provider's ``secondaryIdentifier`` in the field of its qualifier
(0B ``stateLicenseNumber``, 1G ``providerUpinNumber``, G2 ``commercialNumber``, LU
``locationNumber``); ``reportInformation`` comes back inside ``reportInformations``;
``claimAdjustmentDetails`` as ``adjustmentDetails``; other subscribers' group or policy number as
``insuranceGroupOrPolicyNumber``; ``homeboundIndicator: false`` and
``otherPayerClaimAdjustmentIndicator: false`` are not written; taxonomy codes read from X12 that are
not of the model's ``[0-9A-Z]{9}X`` form are left out; text loses accents, control characters and
the interchange's separators (replaced by spaces) and trailing spaces.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from edi.checks import MAX_CLAIMS_PER_TRANSACTION, MAX_PROFESSIONAL_DIAGNOSIS_POINTER
from edi.models.claims import (
    ClaimProvider,
    ProfessionalClaimInformation,
    ProfessionalClaimRequest,
    ProfessionalServiceLine,
    ServiceFacilityLocation,
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
    per,
    provider_refs,
    read_address,
    read_claim_transactions,
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

__all__ = ["VERSION", "claims_to_837p", "x12_837p_to_claims"]

VERSION = "005010X222A1"

# claimDateInformation field -> DTP01, in the guide's order (disability dates are handled apart)
_CLAIM_DATES = (
    ("symptom_date", "431"), ("initial_treatment_date", "454"), ("last_seen_date", "304"),
    ("acute_manifestation_date", "453"), ("accident_date", "439"), ("last_menstrual_period_date", "484"),
    ("last_x_ray_date", "455"), ("hearing_and_vision_prescription_date", "471"), ("disability", ""),
    ("last_worked_date", "297"), ("authorized_return_to_work_date", "296"), ("admission_date", "435"),
    ("discharge_date", "096"), ("assumed_and_relinquished_care_begin_date", "090"),
    ("assumed_and_relinquished_care_end_date", "091"), ("first_contact_date", "444"),
    ("repricer_received_date", "050"),
)  # fmt: skip
_DATE_FIELDS = {qualifier: field for field, qualifier in _CLAIM_DATES if qualifier}

# claimSupplementalInformation field -> REF01, in the guide's order
_CLAIM_REFS = (
    ("service_authorization_exception_code", "4N"), ("medicare_crossover_reference_id", "F5"),
    ("mammography_certification_number", "EW"), ("referral_number", "9F"), ("prior_authorization_number", "G1"),
    ("claim_control_number", "F8"), ("clia_number", "X4"), ("repriced_claim_number", "9A"),
    ("adjusted_repriced_claim_number", "9C"), ("investigational_device_exemption_number", "LX"),
    ("claim_number", "D9"), ("medical_record_number", "EA"), ("demo_project_identifier", "P4"),
    ("care_plan_oversight_number", "1J"),
)  # fmt: skip
_REF_FIELDS = {qualifier: field for field, qualifier in _CLAIM_REFS}

_CLAIM_NOTES = (
    ("additional_information", "ADD"), ("certification_narrative", "CER"), ("goal_rehab_or_discharge_plans", "DCP"),
    ("diagnosis_description", "DGN"), ("third_part_org_notes", "TPO"),
)  # fmt: skip




# ================================================================================== writing


def _provider(out: Out, code: str, p: ClaimProvider | None, path: str, *, org: bool, refs: tuple[str, ...],
              prv: str | None = None, names: bool = True) -> None:  # fmt: skip
    if p is None:
        return
    nm1(out, code, p, path, org=org, identifier=p.npi, names=names)
    if prv and p.taxonomy_code:
        out.add("PRV", prv, "PXC", p.taxonomy_code)
    provider_refs(out, p, path, refs)


def _facility(
    out: Out, f: ServiceFacilityLocation | None, path: str, refs: tuple[str, ...], *, phone: bool
) -> None:
    if f is None:
        return
    npi = f.npi or ""
    out.add("NM1", "77", "2", out.text(f.organization_name, f"{path}.organizationName", 60), "", "", "", "",
            "XX" if npi else "", npi)  # fmt: skip
    n3n4(out, f.address, f"{path}.address", zip9=True)
    for i, ref in enumerate(f.secondary_identifier or ()):
        out.add("REF", out.code(ref.qualifier, f"{path}.secondaryIdentifier[{i}].qualifier", refs),
                out.text(ref.identifier, f"{path}.secondaryIdentifier[{i}].identifier", 50))  # fmt: skip
    if phone and f.phone_number:
        ext = ["EX", f.phone_extension] if f.phone_extension else []
        out.add("PER", "IC", out.text(f.phone_name, f"{path}.phoneName", 60), "TE", f.phone_number, *ext)


def _location(out: Out, code: str, address: Any, path: str) -> None:
    if address is not None:
        out.add("NM1", code, "2")
        n3n4(out, address, path)


def _ambulance(out: Out, a: Any, path: str) -> None:
    if a is None:
        return
    weight = out.quantity(a.patient_weight_in_pounds, f"{path}.patientWeightInPounds", 10)
    out.add(
        "CR1", "LB" if weight else "", weight, "", a.ambulance_transport_reason_code, "DH",
        out.quantity(a.transport_distance_in_miles, f"{path}.transportDistanceInMiles", 15), "", "",
        out.text(a.round_trip_purpose_description, f"{path}.roundTripPurposeDescription", 80),
        out.text(a.stretcher_purpose_description, f"{path}.stretcherPurposeDescription", 80),
    )  # fmt: skip


def _claim_loop(out: Out, r: ProfessionalClaimRequest, path: str) -> None:
    info: ProfessionalClaimInformation = r.claim_information
    cp = f"{path}claimInformation"
    clm11: list[str] | str = ""
    causes = info.related_causes_code or []
    if causes:
        clm11 = [causes[0], causes[1] if len(causes) > 1 else "", "", info.auto_accident_state_code or "",
                 out.code(info.auto_accident_country_code, f"{cp}.autoAccidentCountryCode", _countries())]  # fmt: skip
    elif info.auto_accident_state_code or info.auto_accident_country_code:
        out.problem(
            f"{cp}.relatedCausesCode", "is required with autoAccidentStateCode/autoAccidentCountryCode"
        )
    out.add(
        "CLM", out.text(info.patient_control_number, f"{cp}.patientControlNumber", 38),
        out.amount(info.claim_charge_amount, f"{cp}.claimChargeAmount"), "", "",
        [info.place_of_service_code, "B", info.claim_frequency_code], info.signature_indicator,
        info.plan_participation_code, info.benefits_assignment_certification_indicator, info.release_information_code,
        info.patient_signature_source_code or "", clm11, info.special_program_code or "",
        "", "", "", "", "", "", "", info.delay_reason_code or "",
    )  # fmt: skip

    dates = info.claim_date_information
    if dates is not None:
        for field, qualifier in _CLAIM_DATES:
            if field == "disability":
                begin, end = dates.disability_begin_date, dates.disability_end_date
                if begin and end:
                    out.add("DTP", "314", "RD8", f"{begin}-{end}")
                elif begin or end:
                    out.add("DTP", "360" if begin else "361", "D8", begin or end)
                continue
            value = getattr(dates, field)
            if value:
                out.add("DTP", qualifier, "D8", value)

    write_attachments_and_contract(out, info, cp)
    if info.patient_amount_paid is not None:
        out.add("AMT", "F5", out.amount(info.patient_amount_paid, f"{cp}.patientAmountPaid"))
    write_claim_refs(out, info, cp, _CLAIM_REFS)
    note = info.claim_note
    if note is not None:
        given = [(code, getattr(note, field), field) for field, code in _CLAIM_NOTES if getattr(note, field)]
        if len(given) > 1:
            out.problem(f"{cp}.claimNote", "an 837P claim carries one note: give one of its fields")
        for code, text, field in given[:1]:
            out.add("NTE", code, out.text(text, f"{cp}.claimNote.{camel(field)}", 80))
    _ambulance(out, info.ambulance_transport_information, f"{cp}.ambulanceTransportInformation")
    if info.homebound_indicator:
        out.add("CRC", "75", "Y", "IH")

    diagnoses = info.health_care_code_information
    principal = [d for d in diagnoses if d.diagnosis_type_code in ("ABK", "BK")]
    others = [d for d in diagnoses if d.diagnosis_type_code not in ("ABK", "BK")]
    if len(principal) != 1:
        out.problem(f"{cp}.healthCareCodeInformation", "needs exactly one principal diagnosis (ABK)")
    elif diagnoses[0] is not principal[0]:
        out.problem(
            f"{cp}.healthCareCodeInformation[0].diagnosisTypeCode",
            "the first diagnosis must be the principal one (ABK)",
        )
    else:
        out.add("HI", *([d.diagnosis_type_code, icd(d.diagnosis_code)] for d in principal + others))
    hi_segments(out, [["BG", c.condition_code] for c in info.condition_information or ()], 12, 2,
                f"{cp}.conditionInformation")  # fmt: skip

    referring, where = find_provider(r, "referring")
    _provider(out, "DN", referring, f"{path}{where}", org=False, refs=("0B", "1G", "G2"))
    rendering, where = find_provider(r, "rendering")
    _provider(out, "82", rendering, f"{path}{where}", org=True, refs=("0B", "1G", "G2", "LU"), prv="PE")
    _facility(
        out, info.service_facility_location, f"{cp}.serviceFacilityLocation", ("0B", "G2", "LU"), phone=True
    )
    supervising, where = find_provider(r, "supervising")
    _provider(out, "DQ", supervising, f"{path}{where}", org=False, refs=("0B", "1G", "G2", "LU"))
    _location(out, "PW", info.ambulance_pick_up_location, f"{cp}.ambulancePickUpLocation")
    _location(out, "45", info.ambulance_drop_off_location, f"{cp}.ambulanceDropOffLocation")
    for i, other in enumerate(info.other_subscriber_information or ()):
        write_other_subscriber(out, other, f"{cp}.otherSubscriberInformation[{i}]", True)

    for n, line in enumerate(info.service_lines, start=1):
        _service_line(out, line, n, f"{cp}.serviceLines[{n - 1}]", len(diagnoses))


def _service_line(
    out: Out, line: ProfessionalServiceLine, number: int, lp: str, diagnosis_count: int
) -> None:
    s = line.professional_service
    spath = f"{lp}.professionalService"
    out.add("LX", str(number))
    procedure = [s.procedure_identifier, s.procedure_code, *(s.procedure_modifiers or [])]
    if s.description:
        procedure += [""] * (6 - len(procedure)) + [out.text(s.description, f"{spath}.description", 80)]
    pointers = []
    for i, pointer in enumerate(s.composite_diagnosis_code_pointers.diagnosis_code_pointers):
        value = int(pointer)
        if not 1 <= value <= min(diagnosis_count, MAX_PROFESSIONAL_DIAGNOSIS_POINTER):
            out.problem(f"{spath}.compositeDiagnosisCodePointers.diagnosisCodePointers[{i}]",
                        "does not point at one of the claim's diagnoses")  # fmt: skip
        pointers.append(str(value))
    out.add(
        "SV1", procedure, out.amount(s.line_item_charge_amount, f"{spath}.lineItemChargeAmount"), s.measurement_unit,
        out.quantity(s.service_unit_count, f"{spath}.serviceUnitCount"), s.place_of_service_code or "", "", pointers,
        "", s.emergency_indicator or "", "", s.epsdt_indicator or "", s.family_planning_indicator or "", "", "",
        s.copay_status_code or "",
    )  # fmt: skip
    _ambulance(out, line.ambulance_transport_information, f"{lp}.ambulanceTransportInformation")
    if line.service_date_end:
        out.add("DTP", "472", "RD8", f"{line.service_date}-{line.service_date_end}")
    else:
        out.add("DTP", "472", "D8", line.service_date)
    if line.provider_control_number:
        out.add("REF", "6R", out.text(line.provider_control_number, f"{lp}.providerControlNumber", 50))
    if line.sales_tax_amount is not None:
        out.add("AMT", "T", out.amount(line.sales_tax_amount, f"{lp}.salesTaxAmount"))
    if line.postage_tax_amount is not None:
        out.add("AMT", "F4", out.amount(line.postage_tax_amount, f"{lp}.postageTaxAmount"))
    notes = [("ADD", line.additional_notes, "additionalNotes"), ("DCP", line.goal_rehab_or_discharge_plans,
                                                                  "goalRehabOrDischargePlans")]  # fmt: skip
    notes = [n for n in notes if n[1]]
    if len(notes) > 1:
        out.problem(lp, "an 837P line carries one note: give additionalNotes or goalRehabOrDischargePlans")
    for code, text, name in notes[:1]:
        out.add("NTE", code, out.text(text, f"{lp}.{name}", 80))
    if line.third_party_organization_notes:
        out.add(
            "NTE",
            "TPO",
            out.text(line.third_party_organization_notes, f"{lp}.thirdPartyOrganizationNotes", 80),
        )
    drug = line.drug_identification
    if drug is not None:
        dp = f"{lp}.drugIdentification"
        out.add("LIN", "", drug.service_id_qualifier, drug.national_drug_code)
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
    _provider(out, "82", line.rendering_provider, f"{lp}.renderingProvider", org=True, refs=("0B", "1G", "G2", "LU"),
              prv="PE")  # fmt: skip
    _provider(out, "QB", line.purchased_service_provider, f"{lp}.purchasedServiceProvider", org=True,
              refs=("0B", "1G", "G2"), names=False)  # fmt: skip
    _facility(out, line.service_facility_location, f"{lp}.serviceFacilityLocation", ("G2", "LU"), phone=False)
    _provider(out, "DQ", line.supervising_provider, f"{lp}.supervisingProvider", org=False,
              refs=("0B", "1G", "G2", "LU"))  # fmt: skip
    ordering = line.ordering_provider
    if ordering is not None:
        op = f"{lp}.orderingProvider"
        _provider(out, "DK", ordering, op, org=False, refs=())
        n3n4(out, ordering.address, f"{op}.address", required=False)
        provider_refs(out, ordering, op, ("0B", "1G", "G2"))
        per(out, ordering.contact_information, f"{op}.contactInformation", allowed=("TE", "EX", "FX", "EM"))
    _provider(
        out, "DN", line.referring_provider, f"{lp}.referringProvider", org=False, refs=("0B", "1G", "G2")
    )
    _location(out, "PW", line.ambulance_pick_up_location, f"{lp}.ambulancePickUpLocation")
    _location(out, "45", line.ambulance_drop_off_location, f"{lp}.ambulanceDropOffLocation")


def _countries() -> frozenset[str]:
    from ._claim_common import _COUNTRIES

    return _COUNTRIES


_DIALECT = Dialect(professional=True, version=VERSION, claim_loop=_claim_loop)


def claims_to_837p(
    claims: Sequence[ProfessionalClaimRequest], envelope: Envelope, batch_id: str | None = None,
    *, max_per_set: int = MAX_CLAIMS_PER_TRANSACTION,
) -> str:
    """One 837P 005010X222A1 interchange holding `claims` (raises `ClaimMappingError` listing what
    the 837P cannot carry, never returns X12 the guide rejects)."""
    return write_claims(claims, envelope, batch_id, _DIALECT, max_per_set)


# ================================================================================== reading


def _read_ambulance(seg: Any) -> dict[str, Any] | None:
    if seg is None:
        return None
    return drop_none({
        "patient_weight_in_pounds": x12_quantity(seg.get(2)),
        "ambulance_transport_reason_code": seg.get(4) or None,
        "transport_distance_in_miles": x12_quantity(seg.get(6)),
        "round_trip_purpose_description": seg.get(9) or None,
        "stretcher_purpose_description": seg.get(10) or None,
    })  # fmt: skip


def _read_location(loop: Any) -> dict[str, Any] | None:
    return read_address(loop) if loop is not None else None


def _read_facility(loop: Any) -> dict[str, Any] | None:
    if loop is None:
        return None
    nm = loop.first("NM1")
    refs = [{"qualifier": r.get(1), "identifier": r.get(2)} for r in loop.segments("REF")]
    phone = loop.first("PER")
    data: dict[str, Any] = {
        "organization_name": nm.get(3) or None if nm else None,
        "npi": nm.get(9) or None if nm and nm.get(8) == "XX" else None,
        "address": read_address(loop),
        "secondary_identifier": refs or None,
    }
    if phone is not None:
        data["phone_name"] = phone.get(2) or None
        for pos in (3, 5, 7):
            if phone.get(pos) == "TE":
                data["phone_number"] = phone.get(pos + 1) or None
            elif phone.get(pos) == "EX":
                data["phone_extension"] = phone.get(pos + 1) or None
    return drop_none(data)


def _read_line(loop: Any) -> dict[str, Any]:
    lx, sv1 = loop.first("LX"), loop.first("SV1")
    procedure = components(sv1, 1)
    pointers = [p for p in components(sv1, 7) if p]
    service = {
        "procedure_identifier": procedure[0] if procedure else None,
        "procedure_code": procedure[1] if len(procedure) > 1 else None,
        "procedure_modifiers": [m for m in procedure[2:6] if m] or None,
        "description": procedure[6] if len(procedure) > 6 and procedure[6] else None,
        "line_item_charge_amount": x12_amount(sv1.get(2)) if sv1 else None,
        "measurement_unit": sv1.get(3) or None if sv1 else None,
        "service_unit_count": x12_quantity(sv1.get(4)) if sv1 else None,
        "place_of_service_code": sv1.get(5) or None if sv1 else None,
        "composite_diagnosis_code_pointers": {"diagnosis_code_pointers": [str(int(p)) if p.isdigit() else p
                                                                          for p in pointers]},
        "emergency_indicator": sv1.get(9) or None if sv1 else None,
        "epsdt_indicator": sv1.get(11) or None if sv1 else None,
        "family_planning_indicator": sv1.get(12) or None if sv1 else None,
        "copay_status_code": sv1.get(15) or None if sv1 else None,
    }  # fmt: skip
    line: dict[str, Any] = {"assigned_number": lx.get(1) or None if lx else None,
                            "professional_service": drop_none(service)}  # fmt: skip
    dtp = loop.first("DTP", "472")
    if dtp is not None:
        value = dtp.get(3)
        if dtp.get(2) == "RD8" and "-" in value:
            line["service_date"], line["service_date_end"] = value.split("-", 1)
        else:
            line["service_date"] = value or None
    line.update(read_refs(loop, {"6R": "provider_control_number"}))
    for amt in loop.segments("AMT"):
        field = {"T": "sales_tax_amount", "F4": "postage_tax_amount"}.get(amt.get(1))
        if field:
            line[field] = x12_amount(amt.get(2))
    for nte in loop.segments("NTE"):
        field = {"ADD": "additional_notes", "DCP": "goal_rehab_or_discharge_plans",
                 "TPO": "third_party_organization_notes"}.get(nte.get(1))  # fmt: skip
        if field:
            line[field] = nte.get(2) or None
    line["ambulance_transport_information"] = _read_ambulance(loop.first("CR1"))
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
    line["rendering_provider"] = read_provider(loop.loop("2420A"), "RenderingProvider")
    line["purchased_service_provider"] = read_provider(loop.loop("2420B"), "PurchasedServiceProvider")
    line["service_facility_location"] = _read_facility(loop.loop("2420C"))
    line["supervising_provider"] = read_provider(loop.loop("2420D"), "SupervisingProvider")
    line["ordering_provider"] = read_provider(loop.loop("2420E"), "OrderingProvider")
    line["referring_provider"] = read_provider(loop.loop("2420F"), "ReferringProvider")
    line["ambulance_pick_up_location"] = _read_location(loop.loop("2420G"))
    line["ambulance_drop_off_location"] = _read_location(loop.loop("2420H"))
    return drop_none(line)


def _read_claim(h: ClaimHierarchy) -> dict[str, Any]:
    data = read_parties(h, prof=True)
    c = h.claim
    clm = c.first("CLM")
    clm05 = components(clm, 5)
    clm11 = components(clm, 11)
    info: dict[str, Any] = dict(data.pop("_claim", {}))
    info.update({
        "patient_control_number": clm.get(1) or None if clm else None,
        "claim_charge_amount": x12_amount(clm.get(2)) if clm else None,
        "place_of_service_code": clm05[0] if clm05 and clm05[0] else None,
        "claim_frequency_code": clm05[2] if len(clm05) > 2 and clm05[2] else None,
        "signature_indicator": clm.get(6) or None if clm else None,
        "plan_participation_code": clm.get(7) or None if clm else None,
        "benefits_assignment_certification_indicator": clm.get(8) or None if clm else None,
        "release_information_code": clm.get(9) or None if clm else None,
        "patient_signature_source_code": clm.get(10) or None if clm else None,
        "related_causes_code": [x for x in clm11[:2] if x] or None,
        "auto_accident_state_code": clm11[3] if len(clm11) > 3 and clm11[3] else None,
        "auto_accident_country_code": clm11[4] if len(clm11) > 4 and clm11[4] else None,
        "special_program_code": clm.get(12) or None if clm else None,
        "delay_reason_code": clm.get(20) or None if clm else None,
    })  # fmt: skip
    dates: dict[str, Any] = {}
    for dtp in c.segments("DTP"):
        qualifier, value = dtp.get(1), dtp.get(3)
        if qualifier == "314" and "-" in value:
            dates["disability_begin_date"], dates["disability_end_date"] = value.split("-", 1)
        elif qualifier == "360":
            dates["disability_begin_date"] = value
        elif qualifier == "361":
            dates["disability_end_date"] = value
        elif qualifier in _DATE_FIELDS and value:
            dates[_DATE_FIELDS[qualifier]] = value.split("-", 1)[0]
    info["claim_date_information"] = dates or None
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
    amt = c.first("AMT", "F5")
    info["patient_amount_paid"] = x12_amount(amt.get(2)) if amt else None
    notes = {code: field for field, code in _CLAIM_NOTES}
    nte = c.first("NTE")
    if nte is not None and nte.get(1) in notes:
        info["claim_note"] = {notes[nte.get(1)]: nte.get(2)}
    info["ambulance_transport_information"] = _read_ambulance(c.first("CR1"))
    if c.first("CRC", "75") is not None:
        info["homebound_indicator"] = True
    diagnoses, conditions = [], []
    for hi in c.segments("HI"):
        for pos in range(1, 13):
            comp = components(hi, pos)
            if len(comp) < 2 or not comp[1]:
                continue
            if comp[0] in ("ABK", "ABF", "BK", "BF"):
                diagnoses.append({"diagnosis_type_code": comp[0], "diagnosis_code": comp[1]})
            elif comp[0] == "BG":
                conditions.append({"condition_code": comp[1]})
    info["health_care_code_information"] = diagnoses
    info["condition_information"] = conditions or None
    referring = c.loop("2310A")
    data["referring"] = read_provider(referring, "ReferringProvider")
    data["rendering"] = read_provider(c.loop("2310B"), "RenderingProvider")
    info["service_facility_location"] = _read_facility(c.loop("2310C"))
    data["supervising"] = read_provider(c.loop("2310D"), "SupervisingProvider")
    info["ambulance_pick_up_location"] = _read_location(c.loop("2310E"))
    info["ambulance_drop_off_location"] = _read_location(c.loop("2310F"))
    others = [o for o in (read_other_subscriber(loop, True) for loop in c.loops("2320")) if o]
    info["other_subscriber_information"] = others or None
    info["service_lines"] = [_read_line(loop) for loop in c.loops("2400")]
    data["claim_information"] = drop_none(info)
    return drop_none(data)


def x12_837p_to_claims(source: Any) -> list[ProfessionalClaimRequest]:
    """One `ProfessionalClaimRequest` per 2300 claim of every 837P transaction set in `source`
    (bytes, X12 text, a path or a binary stream)."""
    items = []
    for t in read_claim_transactions(source):
        for n, h in enumerate(claim_hierarchies(t)):
            items.append((f"ST {t.control_number} claim {n + 1}", _read_claim(h)))
    return build_models(ProfessionalClaimRequest, items)
