"""Eligibility in both directions: `EligibilityRequest` <-> 270 and 271 -> `EligibilityResponse` (005010X279A1).

Public functions:

* `request_to_270(request, envelope)`: one 270 interchange for one request. Envelope values and
  control numbers come from the caller (`edi.mappers.envelope`); the request's ``controlNumber``
  is the subscriber (or dependent) trace number TRN02, so the payer's 271 TRN*2 matches it back.
* `x12_270_to_requests(source)`: the reverse, one request per patient, for submitters sending X12.
* `x12_271_to_responses(source)`: one response per subscriber or dependent of every 271 set
  (one response carrying only payer/provider errors when the payer answered before loop 2000C).

Where the request goes in the 270:

========================================  =====================================================
request field                             270
========================================  =====================================================
submitterTransactionIdentifier            BHT03 (``controlNumber`` when absent)
tradingPartnerServiceId                   2100A NM109 (qualifier PI)
payer.name (else tradingPartnerName)      2100A NM103
provider names                            2100B NM1 (NM102 2 with organizationName, else 1)
first provider id found, in the order     2100B NM108/NM109
npi XX, serviceProviderNumber SV,
payorId PI, taxId FI, pharmacyProcessor-
Number PP, servicesPlanID XV,
employersId 24, ssn 34,
federalTaxpayersIdNumber FI
taxId, ssn not in NM1                     2100B REF*TJ, REF*SY
informationReceiverName ids               2100B REF 0B 1C 1D 1J CT(contactNumber) 4A(pinNumber)
                                          EO HPI N5 N7 Q4
provider.address (else informationRe-    2100B N3/N4
ceiverName.address)
provider.providerCode + reference-        2100B PRV*code*PXC*taxonomy
Identification
controlNumber                             TRN*1*controlNumber*originator at the patient's level
subscriber / dependents[0] names,         2100C / 2100D NM1 (MI memberId, subscriber only)
memberId
planNumber, groupNumber, idCard, ssn,     REF 18, 6P, HJ, SY, F6, NQ
healthInsuranceClaimNumber,
medicaidRecipientIdentificationNumber
address                                   N3/N4
dateOfBirth, gender                       DMG*D8*dob*gender
birthSequenceNumber, relationship         INS*Y*18 / INS*N*code, INS17
cardIssueDate                             DTP*102
encounter.dateOfService or                DTP*291 D8 / RD8 in the patient's 2100 loop
beginning/endDateOfService
encounter.serviceTypeCodes                one 2110 loop per code: EQ*code (EQ*30 when the
                                          encounter names neither service types nor procedures)
encounter procedure, medicalProcedures    one 2110 loop each: EQ02 composite, EQ05 pointers
encounter.industryCode                    III*ZZ*code in every 2110 loop
priorAuthorizationOrReferralNumber        REF*G1 (or the given qualifier) in every 2110 loop
========================================  =====================================================

The patient is ``dependents[0]`` when given, else the subscriber: the trace number, the service
dates and the EQ loops go to the patient's level, as the guide asks.

What the 270 cannot carry (left out, never guessed): a dependent's ``memberId`` (the guide has no
dependent id; a dependent with an id of its own is asked about as the subscriber, so this raises
`NotRepresentable`), ``gender`` without ``dateOfBirth`` (DMG02 is required), ``birthSequenceNumber``
of a dependent without ``individualRelationshipCode`` (INS02 is required), ``providerCode``
without ``referenceIdentification`` (PRV03 is required), a second NM1-only provider identifier
(SV, PI, PP, XV, 24 when NM109 already holds another), and the fields with no X12 place at all:
``tradingPartnerId``, ``portalUsername``, ``portalPassword``, ``partnerId``, ``provider.providerType``,
``subscriber.providerCode``/``referenceIdentificationQualifier``, ``encounter.diagnosisCodePointer``
beyond the EQ05 of a procedure. Values with characters outside the X12 extended character set or
equal to a separator raise `NotRepresentable` naming the JSON field.

Reading back (`x12_270_to_requests`): ``controlNumber`` is TRN02 of the patient's trace when it
is nine digits, else ISA13; ``submitterTransactionIdentifier`` is BHT03 unless it equals the
control number; the first EQ02 fills the encounter's procedure fields, later ones
``medicalProcedures``. TRN03 (originator) and TRN04 have no request field and are not read. So a
request reads back changed only where the 270 could not tell: no service type and no procedure ->
``serviceTypeCodes ["30"]`` (in a new encounter when there was none); only one of beginning/end
date -> ``dateOfService``; a procedure without qualifier -> ``HC``; a prior authorization without
qualifier -> ``G1``; ``tradingPartnerName`` -> ``payer.name``; ``federalTaxpayersIdNumber`` ->
``taxId``; ``informationReceiverName.address`` -> ``provider.address``; a submitter id equal to the
control number -> none; plus the values left out above.

The 271 side fills every `EligibilityResponse` field listed in `x12_271_to_responses`; ``meta``,
``reassociationKey``, ``warnings`` and ``x12`` are left to the caller.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from edi.codes import (
    AAA_FOLLOW_UP_ACTION_CODES,
    AAA_REJECT_REASON_CODES,
    COVERAGE_LEVEL_CODES,
    ELIGIBILITY_BENEFIT_CODES,
    ENTITY_IDENTIFIER_CODES,
    INSURANCE_TYPE_CODES,
    RELATIONSHIP_CODES,
    SERVICE_TYPE_CODES,
    TIME_PERIOD_QUALIFIERS,
)
from edi.mappers.envelope import Envelope, wrap
from edi.mappers.x12tree import Loop, Seg, Transaction, read_transactions
from edi.models.common import ResponseAddress, ResponseContact, ResponseContactInformation, ResponseError
from edi.models.eligibility import (
    AaaError,
    AdditionalInformation,
    BenefitsDateInformation,
    BenefitsInformation,
    BenefitsRelatedEntity,
    CompositeMedicalProcedureIdentifier,
    EligibilityRequest,
    EligibilityResponse,
    EligibilityResponseDependent,
    EligibilityResponsePayer,
    EligibilityResponseProvider,
    EligibilityResponseSubscriber,
    PlanDateInformation,
    PlanInformation,
    PlanStatus,
    SubscriberTraceNumber,
)
from edi.x12.delimiters import Delimiters
from edi.x12.reader import Source
from edi.x12.writer import Segment

__all__ = [
    "IMPLEMENTATION_270_271",
    "NotRepresentable",
    "request_to_270",
    "x12_270_to_requests",
    "x12_271_to_responses",
]

IMPLEMENTATION_270_271 = "005010X279A1"
DEFAULT_SERVICE_TYPE = "30"  # Health Benefit Plan Coverage


class NotRepresentable(ValueError):
    """A request value the 270 cannot carry faithfully; ``field`` is its JSON path."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


# ============================================================================ code lists
# Small X12 code lists the 271 needs and `edi.codes` does not (yet) hold.

_ENTITY_EXTRA = {
    "13": "Contracted Service Provider",
    "1I": "Preferred Provider Organization (PPO)",
    "GP": "Gateway Provider",
    "GW": "Group",
    "I3": "Independent Physicians Association (IPA)",
    "LR": "Legal Representative",
    "OC": "Origin Carrier",
    "P4": "Prior Insurance Carrier",
    "P5": "Plan Sponsor",
    "VER": "Party Performing Verification",
    "VY": "Organization Completing Configuration Change",
    "Y2": "Managed Care Organization",
}
_AAA_EXTRA = {"33": "Input Errors", "35": "Out of Network", "98": "Experimental Service or Procedure"}
_ENTITY_TYPES = {"1": "Person", "2": "Non-Person Entity"}
_QUANTITY_QUALIFIERS = {
    "8H": "Minimum",
    "99": "Quantity Used",
    "CA": "Covered - Actual",
    "CE": "Covered - Estimated",
    "D3": "Number of Co-insurance Days",
    "DB": "Deductible Blood Units",
    "DY": "Days",
    "HS": "Hours",
    "LA": "Life-time Reserve - Actual",
    "LE": "Life-time Reserve - Estimated",
    "M2": "Maximum",
    "MN": "Month",
    "P6": "Number of Services or Procedures",
    "QA": "Quantity Approved",
    "S7": "Age, High Value",
    "S8": "Age, Low Value",
    "VS": "Visits",
    "YY": "Years",
}
_IN_NETWORK = {"N": "No", "U": "Unknown", "W": "Not Applicable", "Y": "Yes"}
_COMMUNICATION_MODES = {
    "ED": "EDI Access Number",
    "EM": "Electronic Mail",
    "EX": "Telephone Extension",
    "FX": "Facsimile",
    "TE": "Telephone",
    "UR": "Uniform Resource Locator (URL)",
    "WP": "Work Phone Number",
}
_PRODUCT_QUALIFIERS = {
    "AD": "American Dental Association Codes",
    "CJ": "Current Procedural Terminology (CPT) Codes",
    "HC": "Health Care Financing Administration Common Procedural Coding System (HCPCS) Codes",
    "ID": "International Classification of Diseases, 9th Revision, Clinical Modification (ICD-9-CM) - Procedure",
    "IV": "Home Infusion EDI Coalition (HIEC) Product/Service Code",
    "N4": "National Drug Code in 5-4-2 Format",
    "ZZ": "Mutually Defined",
}
_ENTITY_RELATIONSHIPS = {
    "01": "Parent",
    "02": "Child",
    "27": "Domestic Partner",
    "41": "Spouse",
    "48": "Employee",
    "65": "Other",
    "72": "Unknown",
}
_TRACE_TYPES = {"1": "Current Transaction Trace Numbers", "2": "Referenced Transaction Trace Numbers"}


def _entity(code: str) -> str | None:
    return (ENTITY_IDENTIFIER_CODES.get(code) or _ENTITY_EXTRA.get(code)) if code else None


# ============================================================================ request -> 270

# 2100B NM1 identifier: first one present wins (request field, NM108)
_PROVIDER_NM1_IDS = (
    ("npi", "XX"),
    ("service_provider_number", "SV"),
    ("payor_id", "PI"),
    ("tax_id", "FI"),
    ("pharmacy_processor_number", "PP"),
    ("services_plan_id", "XV"),
    ("employers_id", "24"),
    ("ssn", "34"),
    ("federal_taxpayers_id_number", "FI"),
)
_NM108_TO_PROVIDER = {
    "XX": "npi",
    "SV": "service_provider_number",
    "PI": "payor_id",
    "FI": "tax_id",
    "PP": "pharmacy_processor_number",
    "XV": "services_plan_id",
    "24": "employers_id",
    "34": "ssn",
}
# 2100B REF: InformationReceiverName field <-> REF01
_RECEIVER_REFS = (
    ("state_license_number", "0B"),
    ("medicare_provider_number", "1C"),
    ("medicaid_provider_number", "1D"),
    ("facility_id_number", "1J"),
    ("contact_number", "CT"),
    ("pin_number", "4A"),
    ("submitter_id_number", "EO"),
    ("national_provider_identifier", "HPI"),
    ("provider_plan_network_id_number", "N5"),
    ("facility_network_id_number", "N7"),
    ("prior_identifier_number", "Q4"),
)
# 2100C/2100D REF: person field <-> REF01
_PERSON_REFS = (
    ("plan_number", "18"),
    ("group_number", "6P"),
    ("id_card", "HJ"),
    ("ssn", "SY"),
    ("health_insurance_claim_number", "F6"),
    ("medicaid_recipient_identification_number", "NQ"),
)
# the request's free-text fields that never reach the 270 and so need no character check
_NOT_WRITTEN = frozenset(
    ("portalUsername", "portalPassword", "partnerId", "tradingPartnerId", "providerType")
)
_X12_TEXT = re.compile(r"""[A-Za-z0-9!"&'()*+,\-./:;?= %~@\[\]_{}\\|<>^`#$]*""")


def request_to_270(
    request: EligibilityRequest,
    envelope: Envelope,
    *,
    originator_id: str | None = None,
    clearinghouse_trace: str | None = None,
) -> str:
    """One 270 interchange (GS01 HS, one transaction set) asking `request`.

    `originator_id` is TRN03, ten characters: by default "1" + the provider's taxId, else "9" +
    nine characters of the envelope's application sender (digits and letters, zero-padded).
    `clearinghouse_trace` adds the second patient-level TRN the guide allows for a clearinghouse
    (TRN03 "9" + the application sender): a trace number of our own that the 271 echoes, so a
    response is matched even when submitters reuse their control numbers.
    """
    _check_characters(request.to_json(), envelope.delimiters)
    if request.dependents and len(request.dependents) > 1:
        raise NotRepresentable(
            "dependents", "a real-time 270 asks about one patient; send one request per dependent"
        )
    now = envelope.now or datetime.now()
    env = dataclasses.replace(envelope, now=now)
    originator = originator_id or _originator(request, env)
    if len(originator) != 10:
        raise ValueError("originator_id (TRN03) must be 10 characters")
    ours = None
    if clearinghouse_trace is not None:
        if not 1 <= len(clearinghouse_trace) <= 50 or not clearinghouse_trace.isalnum():
            raise ValueError("clearinghouse_trace (TRN02) must be 1-50 letters and digits")
        ours = ["TRN", "1", clearinghouse_trace, _sender_originator(env)]
    body = _body_270(request, now, originator, ours)
    return wrap(env, "HS", IMPLEMENTATION_270_271, "270", [body])


def _check_characters(data: Any, d: Delimiters, path: str = "") -> None:
    separators = d.characters()
    if isinstance(data, Mapping):
        for key, value in data.items():
            if key not in _NOT_WRITTEN:
                _check_characters(value, d, f"{path}.{key}" if path else key)
    elif isinstance(data, list):
        for i, value in enumerate(data):
            _check_characters(value, d, f"{path}[{i}]")
    elif isinstance(data, str):
        if not _X12_TEXT.fullmatch(data):
            raise NotRepresentable(path, "has characters outside the X12 extended character set")
        if any(c in data for c in separators):
            raise NotRepresentable(path, "holds an X12 separator character")


def _originator(request: EligibilityRequest, env: Envelope) -> str:
    if request.provider.tax_id:
        return "1" + request.provider.tax_id
    return _sender_originator(env)


def _sender_originator(env: Envelope) -> str:
    raw = re.sub(r"[^0-9A-Z]", "", (env.application_sender or env.sender_id).upper())
    return "9" + raw[-9:].rjust(9, "0")


def _v(value: str | None) -> str:
    return value or ""


def _address(address: Any) -> list[Segment]:
    if address is None:
        return []
    return [
        ["N3", address.address1, _v(address.address2)],
        [
            "N4",
            address.city,
            _v(address.state),
            _v(address.postal_code),
            _v(address.country_code),
            "",
            "",
            _v(address.country_sub_division_code),
        ],
    ]


def _body_270(
    request: EligibilityRequest, now: datetime, originator: str, clearinghouse: Segment | None = None
) -> list[Segment]:
    segs: list[Segment] = [
        [
            "BHT",
            "0022",
            "13",
            request.submitter_transaction_identifier or request.control_number,
            now.strftime("%Y%m%d"),
            now.strftime("%H%M"),
        ],
    ]
    # 2000A / 2100A information source (payer)
    payer_name = (request.payer.name if request.payer else None) or request.trading_partner_name
    segs.append(["HL", "1", "", "20", "1"])
    segs.append(["NM1", "PR", "2", _v(payer_name), "", "", "", "", "PI", request.trading_partner_service_id])
    # 2000B / 2100B information receiver (provider)
    segs.append(["HL", "2", "1", "21", "1"])
    segs.extend(_provider_270(request))
    # 2000C / 2100C subscriber
    dependent = request.dependents[0] if request.dependents else None
    if dependent is not None and dependent.member_id:
        raise NotRepresentable(
            "dependents[0].memberId",
            "the 270 has no identifier for a dependent; a patient with an id of their own is the subscriber",
        )
    trace = ["TRN", "1", request.control_number, originator]
    traces = [trace] if clearinghouse is None else [trace, clearinghouse]
    segs.append(["HL", "3", "2", "22", "1" if dependent is not None else "0"])
    if dependent is None:
        segs.extend(traces)
    sub = request.subscriber
    segs.append(
        [
            "NM1",
            "IL",
            "1",
            _v(sub.last_name),
            _v(sub.first_name),
            _v(sub.middle_name),
            "",
            _v(sub.suffix),
            "MI" if sub.member_id else "",
            _v(sub.member_id),
        ]
    )
    segs.extend(
        _person_270(sub, "Y", "18" if sub.birth_sequence_number else None, request, dependent is None)
    )
    if dependent is not None:
        # 2000D / 2100D dependent (the patient)
        segs.append(["HL", "4", "3", "23", "0"])
        segs.extend(traces)
        segs.append(
            [
                "NM1",
                "03",
                "1",
                _v(dependent.last_name),
                _v(dependent.first_name),
                _v(dependent.middle_name),
                "",
                _v(dependent.suffix),
            ]
        )
        segs.extend(_person_270(dependent, "N", dependent.individual_relationship_code, request, True))
    return segs


def _provider_270(request: EligibilityRequest) -> list[Segment]:
    p = request.provider
    if p.organization_name:
        nm1: list[Any] = ["NM1", "1P", "2", p.organization_name, "", "", "", ""]
    else:
        nm1 = ["NM1", "1P", "1", _v(p.last_name), _v(p.first_name), _v(p.middle_name), "", _v(p.suffix)]
    in_nm1 = None
    for name, qualifier in _PROVIDER_NM1_IDS:
        value = getattr(p, name)
        if value:
            nm1 += [qualifier, value]
            in_nm1 = name
            break
    segs: list[Segment] = [nm1]
    tax_id = p.tax_id or p.federal_taxpayers_id_number
    if tax_id and in_nm1 not in ("tax_id", "federal_taxpayers_id_number"):
        segs.append(["REF", "TJ", tax_id])
    if p.ssn and in_nm1 != "ssn":
        segs.append(["REF", "SY", p.ssn])
    receiver = request.information_receiver_name
    if receiver is not None:
        for name, qualifier in _RECEIVER_REFS:
            value = getattr(receiver, name)
            if value:
                segs.append(["REF", qualifier, value])
    segs.extend(_address(p.address or (receiver.address if receiver else None)))
    if p.provider_code and p.reference_identification:
        segs.append(["PRV", p.provider_code, "PXC", p.reference_identification])
    return segs


def _person_270(
    person: Any, insured: str, relationship: str | None, request: EligibilityRequest, patient: bool
) -> list[Segment]:
    segs: list[Segment] = []
    for name, qualifier in _PERSON_REFS:
        value = getattr(person, name)
        if value:
            segs.append(["REF", qualifier, value])
    segs.extend(_address(person.address))
    if person.date_of_birth:
        segs.append(["DMG", "D8", person.date_of_birth, _v(person.gender)])
    if relationship:
        segs.append(["INS", insured, relationship] + [""] * 14 + [_v(person.birth_sequence_number)])
    if person.card_issue_date:
        segs.append(["DTP", "102", "D8", person.card_issue_date])
    if patient:
        encounter = request.encounter
        date = _service_date(encounter)
        if date is not None:
            segs.append(["DTP", "291", *date])
        segs.extend(_inquiries(encounter))
    return segs


def _service_date(encounter: Any) -> tuple[str, str] | None:
    if encounter is None:
        return None
    if encounter.date_of_service:
        return "D8", encounter.date_of_service
    begin, end = encounter.beginning_date_of_service, encounter.end_date_of_service
    if begin and end:
        return "RD8", f"{begin}-{end}"
    if begin or end:
        return "D8", begin or end
    return None


def _inquiries(encounter: Any) -> list[Segment]:
    """The 2110C/D loops: one EQ per service type code and one per procedure."""
    eqs: list[list[Any]] = []
    if encounter is not None:
        for code in encounter.service_type_codes or ():
            eqs.append(["EQ", code])
        if encounter.procedure_code:
            eqs.append(
                _procedure_eq(
                    encounter.product_or_service_id_qualifier or "HC",
                    encounter.procedure_code,
                    encounter.procedure_modifiers,
                    encounter.diagnosis_code_pointer,
                )
            )
        for proc in encounter.medical_procedures or ():
            eqs.append(
                _procedure_eq(
                    proc.product_or_service_id_qualifier,
                    proc.procedure_code,
                    proc.procedure_modifiers,
                    proc.diagnosis_code_pointer,
                )
            )
    if not eqs:
        eqs.append(["EQ", DEFAULT_SERVICE_TYPE])
    segs: list[Segment] = []
    for eq in eqs:
        segs.append(eq)
        if encounter is not None and encounter.industry_code:
            segs.append(["III", "ZZ", encounter.industry_code])
        if encounter is not None and encounter.prior_authorization_or_referral_number:
            segs.append(
                [
                    "REF",
                    encounter.reference_identification_qualifier or "G1",
                    encounter.prior_authorization_or_referral_number,
                ]
            )
    return segs


def _procedure_eq(
    qualifier: str, code: str, modifiers: list[str] | None, pointers: list[str] | None
) -> list[Any]:
    eq: list[Any] = ["EQ", "", [qualifier, code, *(modifiers or [])]]
    if pointers:
        eq += ["", "", list(pointers)]
    return eq


# ============================================================================ 270 -> requests


def x12_270_to_requests(source: Source) -> list[EligibilityRequest]:
    """Every patient of every 270 set in `source` as an `EligibilityRequest` (one dependent each).

    Raises `pydantic.ValidationError` (a ValueError) when a value does not fit the request model.
    """
    out: list[EligibilityRequest] = []
    for tx in read_transactions(source):
        if tx.transaction_set_id != "270":
            continue
        bht = tx.body.first("BHT")
        for source_level in tx.body.walk("2000A"):
            for receiver in source_level.loops("2000B"):
                for sub in receiver.loops("2000C"):
                    dependents = sub.loops("2000D")
                    sub_name = sub.loop("2100C") or Loop("2100C", [])
                    if not dependents or sub_name.loops("2110C"):
                        out.append(_request(tx, bht, source_level, receiver, sub, None))
                    for dep in dependents:
                        out.append(_request(tx, bht, source_level, receiver, sub, dep))
    return out


def _compact(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v not in (None, "", [], {})}


def _read_address(loop: Loop) -> dict[str, Any] | None:
    n3, n4 = loop.first("N3"), loop.first("N4")
    if n3 is None and n4 is None:
        return None
    return _compact(
        {
            "address1": n3.get(1) if n3 else None,
            "address2": n3.get(2) if n3 else None,
            "city": n4.get(1) if n4 else None,
            "state": n4.get(2) if n4 else None,
            "postal_code": n4.get(3) if n4 else None,
            "country_code": n4.get(4) if n4 else None,
            "country_sub_division_code": n4.get(7) if n4 else None,
        }
    )


def _trace(level: Loop, trace_type: str) -> Seg | None:
    """The trace of `trace_type` at this HL level, preferring a nine-digit (engine-made) number."""
    traces = level.segments("TRN", trace_type)
    for t in traces:
        if re.fullmatch(r"\d{9}", t.get(2)):
            return t
    return traces[0] if traces else None


def _request(
    tx: Transaction, bht: Seg | None, source_level: Loop, receiver: Loop, sub: Loop, dep: Loop | None
) -> EligibilityRequest:
    patient_level = dep if dep is not None else sub
    trace = _trace(patient_level, "1") or _trace(sub, "1")
    control = trace.get(2) if trace is not None and re.fullmatch(r"\d{9}", trace.get(2)) else None
    control = control or tx.interchange_control_number
    bht03 = bht.get(3) if bht is not None else ""
    payer_nm1 = (source_level.loop("2100A") or Loop("", [])).first("NM1") or Seg("NM1", [])
    provider, receiver_name = _provider_from_270(receiver.loop("2100B") or Loop("2100B", []))
    sub_name = sub.loop("2100C") or Loop("2100C", [])
    data: dict[str, Any] = {
        "control_number": control,
        "trading_partner_service_id": payer_nm1.get(9),
        "submitter_transaction_identifier": bht03 if bht03 != control else None,
        "payer": _compact({"name": payer_nm1.get(3)}),
        "provider": provider,
        "information_receiver_name": receiver_name,
        "subscriber": _person_from_270(sub_name),
    }
    if dep is not None:
        dep_name = dep.loop("2100D") or Loop("2100D", [])
        data["dependents"] = [_person_from_270(dep_name)]
        data["encounter"] = _encounter_from_270(dep_name, "2110D") or _encounter_from_270(sub_name, "2110C")
    else:
        data["encounter"] = _encounter_from_270(sub_name, "2110C")
    return EligibilityRequest.model_validate(_compact(data))


def _provider_from_270(loop: Loop) -> tuple[dict[str, Any], dict[str, Any] | None]:
    nm1 = loop.first("NM1") or Seg("NM1", [])
    provider: dict[str, Any] = {}
    if nm1.get(2) == "2":
        provider["organization_name"] = nm1.get(3)
    else:
        provider.update(
            last_name=nm1.get(3), first_name=nm1.get(4), middle_name=nm1.get(5), suffix=nm1.get(7)
        )
    field = _NM108_TO_PROVIDER.get(nm1.get(8))
    if field:
        provider[field] = nm1.get(9).replace("-", "") if field == "tax_id" else nm1.get(9)
    receiver: dict[str, Any] = {}
    ref_fields = {q: f for f, q in _RECEIVER_REFS}
    for ref in loop.segments("REF"):
        q, value = ref.get(1), ref.get(2)
        if q == "TJ" and not provider.get("tax_id"):
            provider["tax_id"] = value.replace("-", "")
        elif q == "SY" and not provider.get("ssn"):
            provider["ssn"] = value
        elif q in ref_fields and ref_fields[q] not in receiver:
            receiver[ref_fields[q]] = value
    provider["address"] = _read_address(loop)
    prv = loop.first("PRV")
    if prv is not None:
        provider["provider_code"] = prv.get(1)
        provider["reference_identification"] = prv.get(3)
    return _compact(provider), _compact(receiver) or None


def _person_from_270(loop: Loop) -> dict[str, Any]:
    nm1 = loop.first("NM1") or Seg("NM1", [])
    person: dict[str, Any] = {
        "last_name": nm1.get(3),
        "first_name": nm1.get(4),
        "middle_name": nm1.get(5),
        "suffix": nm1.get(7),
        "member_id": nm1.get(9) if nm1.get(1) == "IL" else None,
    }
    ref_fields = {q: f for f, q in _PERSON_REFS}
    for ref in loop.segments("REF"):
        field = ref_fields.get(ref.get(1))
        if field and field not in person:
            person[field] = ref.get(2)
    person["address"] = _read_address(loop)
    dmg = loop.first("DMG")
    if dmg is not None:
        person["date_of_birth"] = dmg.get(2)
        person["gender"] = dmg.get(3)
    ins = loop.first("INS")
    if ins is not None:
        person["birth_sequence_number"] = ins.get(17)
        if nm1.get(1) == "03":
            person["individual_relationship_code"] = ins.get(2)
    issue = loop.first("DTP", "102")
    if issue is not None:
        person["card_issue_date"] = issue.get(3)
    return _compact(person)


def _encounter_from_270(name_loop: Loop, inquiry_id: str) -> dict[str, Any] | None:
    inquiries = name_loop.loops(inquiry_id)
    encounter: dict[str, Any] = {}
    dtp = name_loop.first("DTP", "291")
    if dtp is None:
        dtp = next((d for q in inquiries for d in q.segments("DTP", "291")), None)
    if dtp is not None:
        if dtp.get(2) == "RD8" and "-" in dtp.get(3):
            encounter["beginning_date_of_service"], encounter["end_date_of_service"] = dtp.get(3).split(
                "-", 1
            )
        else:
            encounter["date_of_service"] = dtp.get(3)
    codes: list[str] = []
    procedures: list[dict[str, Any]] = []
    for q in inquiries:
        eq = q.first("EQ")
        if eq is None:
            continue
        codes.extend(r[0] for r in eq.repeats(1) if r and r[0])
        composite = eq.components(2)
        if composite:
            procedures.append(
                _compact(
                    {
                        "product_or_service_id_qualifier": composite[0],
                        "procedure_code": composite[1] if len(composite) > 1 else None,
                        "procedure_modifiers": [m for m in composite[2:6] if m],
                        "diagnosis_code_pointer": [p for p in eq.components(5) if p],
                    }
                )
            )
        iii = q.first("III", "ZZ")
        if iii is not None and "industry_code" not in encounter:
            encounter["industry_code"] = iii.get(2)
        ref = q.first("REF")
        if ref is not None and "prior_authorization_or_referral_number" not in encounter:
            encounter["reference_identification_qualifier"] = ref.get(1)
            encounter["prior_authorization_or_referral_number"] = ref.get(2)
    encounter["service_type_codes"] = codes
    if procedures:
        encounter.update(procedures[0])
        encounter["medical_procedures"] = procedures[1:]
    return _compact(encounter) or None


# ============================================================================ 271 -> responses


def x12_271_to_responses(source: Source) -> list[EligibilityResponse]:
    """One `EligibilityResponse` per subscriber or dependent answered in every 271 set of `source`.

    A subscriber gets a response of its own when it has no dependents below it or carries benefit
    rows or AAA errors itself; each dependent gets one (``dependents`` holds it, ``subscriber`` the
    insured). A payer answer that stops at the payer or provider level (AAA at 2000A/2100A/2100B)
    gives one response with ``payer``, ``provider`` and ``errors``. Every AAA is in ``errors`` with
    its loop as ``location``; those of 2000A/2100A, 2100B, 2100C and 2100D also in the ``aaaErrors``
    of the payer, provider, subscriber or dependent.
    """
    out: list[EligibilityResponse] = []
    for tx in read_transactions(source):
        if tx.transaction_set_id != "271":
            continue
        bht = tx.body.first("BHT")
        bht03 = bht.get(3) if bht is not None else ""
        for source_level in tx.body.walk("2000A"):
            payer, payer_errors, service_id = _payer_271(source_level)
            receivers = source_level.loops("2000B")
            if not receivers:
                out.append(_response(bht03, service_id, payer, None, payer_errors))
            for receiver in receivers:
                provider, provider_errors = _provider_271(receiver.loop("2100B") or Loop("2100B", []))
                errors = payer_errors + provider_errors
                subscribers = receiver.loops("2000C")
                if not subscribers:
                    out.append(_response(bht03, service_id, payer, provider, errors))
                for sub in subscribers:
                    out.extend(_patients(bht03, service_id, payer, provider, errors, sub))
    return out


def _response(
    bht03: str,
    service_id: str | None,
    payer: EligibilityResponsePayer,
    provider: Any,
    errors: list[AaaError],
    **fields: Any,
) -> EligibilityResponse:
    return EligibilityResponse(
        control_number=bht03 or None,
        trading_partner_service_id=service_id,
        payer=payer,
        provider=provider,
        errors=[ResponseError(**e.model_dump()) for e in errors] or None,
        **fields,
    )


def _aaa(loop: Loop, location: str) -> list[AaaError]:
    out = []
    for seg in loop.segments("AAA"):
        code, follow = seg.get(3), seg.get(4)
        out.append(
            AaaError(
                field="AAA",
                code=code or None,
                description=AAA_REJECT_REASON_CODES.get(code) or _AAA_EXTRA.get(code),
                followup_action=AAA_FOLLOW_UP_ACTION_CODES.get(follow) or follow or None,
                location=f"Loop {location}",
            )
        )
    return out


def _n(value: str) -> str | None:
    return value or None


def _response_address(loop: Loop) -> ResponseAddress | None:
    data = _read_address(loop)
    return ResponseAddress(**data) if data else None


def _contact(per: Seg) -> ResponseContactInformation:
    contacts = [
        ResponseContact(
            communication_mode=_COMMUNICATION_MODES.get(per.get(i), per.get(i)),
            communication_number=per.get(i + 1),
        )
        for i in (3, 5, 7)
        if per.get(i)
    ]
    return ResponseContactInformation(name=_n(per.get(2)), contacts=contacts)


def _payer_271(level: Loop) -> tuple[EligibilityResponsePayer, list[AaaError], str | None]:
    name_loop = level.loop("2100A") or Loop("2100A", [])
    nm1 = name_loop.first("NM1") or Seg("NM1", [])
    errors = _aaa(level, "2000A") + _aaa(name_loop, "2100A")
    ids = {nm1.get(8): nm1.get(9)} if nm1.get(8) else {}
    per = name_loop.first("PER")
    person = nm1.get(2) == "1"
    payer = EligibilityResponsePayer(
        entity_identifier=_entity(nm1.get(1)),
        entity_type=_ENTITY_TYPES.get(nm1.get(2)),
        name=_n(nm1.get(3)) if not person else None,
        last_name=_n(nm1.get(3)) if person else None,
        first_name=_n(nm1.get(4)) if person else None,
        payor_identification=ids.get("PI"),
        federal_taxpayers_id_number=ids.get("FI"),
        naic=ids.get("NI"),
        npi=ids.get("XX"),
        contact_information=_contact(per) if per is not None else None,
        aaa_errors=errors or None,
    )
    return payer, errors, _n(nm1.get(9))


def _provider_271(loop: Loop) -> tuple[EligibilityResponseProvider, list[AaaError]]:
    nm1 = loop.first("NM1") or Seg("NM1", [])
    errors = _aaa(loop, "2100B")
    ids = {nm1.get(8): nm1.get(9)} if nm1.get(8) else {}
    tax_ref = loop.first("REF", "TJ")
    org = nm1.get(2) == "2"
    provider = EligibilityResponseProvider(
        provider_name=_n(nm1.get(3)),
        provider_first_name=_n(nm1.get(4)) if not org else None,
        provider_org_name=_n(nm1.get(3)) if org else None,
        entity_identifier=_entity(nm1.get(1)),
        entity_type=_ENTITY_TYPES.get(nm1.get(2)),
        npi=ids.get("XX") or (loop.first("REF", "HPI") or Seg("REF", [])).get(2) or None,
        service_provider_number=ids.get("SV"),
        tax_id=ids.get("FI") or (tax_ref.get(2) if tax_ref else None),
        address=_response_address(loop),
        aaa_errors=errors or None,
    )
    return provider, errors


# 2100C/D and 2110C/D REF -> PlanInformation field (description from REF03 where the model has one)
_PLAN_REFS = {
    "18": "plan_number",
    "6P": "group_number",
    "1L": "policy_number",
    "1W": "member_id",
    "3H": "case_number",
    "49": "family_unit_number",
    "NQ": "medicaid_recipient_id_number",
    "ALS": "alternative_list_id",
    "CLI": "coverage_list_id",
    "IG": "insurance_policy_number",
    "F6": "hic_number",
    "Q4": "prior_id_number",
    "GH": "id_card_serial_number",
    "HJ": "id_card_number",
    "MRC": "eligibility_category",
    "N6": "plan_network_id_number",
}
_PLAN_REF_DESCRIPTIONS = {
    "18": "plan_description",
    "6P": "group_description",
    "N6": "plan_network_id_description",
}
# DTP qualifier -> PlanDateInformation / BenefitsDateInformation field
_DATES = {
    "096": "discharge",
    "102": "issue",
    "193": "period_start",
    "194": "period_end",
    "290": "coordination_of_benefits",
    "291": "plan",
    "292": "benefit",
    "304": "latest_visit_or_consultation",
    "307": "eligibility",
    "318": "added",
    "342": "premium_paid_to_date_begin",
    "343": "premium_paid_to_date_end",
    "346": "plan_begin",
    "347": "plan_end",
    "348": "benefit_begin",
    "349": "benefit_end",
    "356": "eligibility_begin",
    "357": "eligibility_end",
    "435": "admission",
    "472": "service",
    "539": "policy_effective",
    "540": "policy_expiration",
}
# 2110C/D REF -> benefitsAdditionalInformation key
_BENEFIT_REFS = {
    "18": "planNumber",
    "1L": "groupOrPolicyNumber",
    "1W": "memberId",
    "49": "familyUnitNumber",
    "6P": "groupNumber",
    "9F": "referralNumber",
    "ALS": "alternativeListId",
    "CLI": "coverageListId",
    "F8": "originalReferenceNumber",
    "FO": "drugFormularyNumber",
    "G1": "priorAuthorizationNumber",
    "IG": "insurancePolicyNumber",
    "N6": "planNetworkIdNumber",
    "NQ": "medicaidRecipientIdNumber",
}


def _patients(
    bht03: str,
    service_id: str | None,
    payer: EligibilityResponsePayer,
    provider: Any,
    errors: list[AaaError],
    sub: Loop,
) -> Iterator[EligibilityResponse]:
    sub_name = sub.loop("2100C") or Loop("2100C", [])
    sub_errors = _aaa(sub_name, "2100C")
    subscriber = EligibilityResponseSubscriber(**_person_271(sub_name, sub_errors))
    sub_traces = sub.segments("TRN")
    dependents = sub.loops("2000D")
    if not dependents or sub_name.loops("2110C") or sub_errors:
        yield _answer(
            bht03,
            service_id,
            payer,
            provider,
            errors + sub_errors,
            subscriber,
            None,
            sub_traces,
            sub_name,
            "2110C",
        )
    for dep in dependents:
        dep_name = dep.loop("2100D") or Loop("2100D", [])
        dep_errors = _aaa(dep_name, "2100D")
        dependent = EligibilityResponseDependent(**_person_271(dep_name, dep_errors))
        yield _answer(
            bht03,
            service_id,
            payer,
            provider,
            errors + dep_errors,
            subscriber,
            dependent,
            dep.segments("TRN") or sub_traces,
            dep_name,
            "2110D",
        )


def _answer(
    bht03: str,
    service_id: str | None,
    payer: EligibilityResponsePayer,
    provider: Any,
    errors: list[AaaError],
    subscriber: EligibilityResponseSubscriber,
    dependent: EligibilityResponseDependent | None,
    traces: list[Seg],
    name_loop: Loop,
    benefit_loop_id: str,
) -> EligibilityResponse:
    benefit_loops = name_loop.loops(benefit_loop_id)
    for b in benefit_loops:
        errors = errors + _aaa(b, benefit_loop_id)
    ours = next((t for t in traces if t.get(1) == "2" and re.fullmatch(r"\d{9}", t.get(2))), None)
    ours = ours or next((t for t in traces if t.get(1) == "2"), None)
    benefits = [_benefit(b) for b in benefit_loops if b.first("EB") is not None]
    statuses = [
        PlanStatus(
            status_code=b.code,
            status=b.name,
            plan_details=b.plan_coverage,
            service_type_codes=b.service_type_codes,
        )
        for b in benefits
        if b.code in ("1", "2", "3", "4", "5", "6", "7", "8")
    ]
    response = _response(
        bht03,
        service_id,
        payer,
        provider,
        errors,
        subscriber=subscriber,
        dependents=[dependent] if dependent is not None else None,
        subscriber_trace_numbers=[_trace_number(t) for t in traces] or None,
        plan_information=_plan_information(name_loop),
        plan_date_information=_dates(name_loop, PlanDateInformation),
        plan_status=statuses or None,
        benefits_information=benefits or None,
    )
    if ours is not None and ours.get(2):
        response.control_number = ours.get(2)
    return response


def _trace_number(t: Seg) -> SubscriberTraceNumber:
    return SubscriberTraceNumber(
        trace_type_code=_n(t.get(1)),
        trace_type=_TRACE_TYPES.get(t.get(1)),
        reference_identification=_n(t.get(2)),
        originating_company_identifier=_n(t.get(3)),
        secondary_reference_identification=_n(t.get(4)),
    )


def _person_271(loop: Loop, errors: list[AaaError]) -> dict[str, Any]:
    nm1 = loop.first("NM1") or Seg("NM1", [])
    dmg = loop.first("DMG") or Seg("DMG", [])
    ins = loop.first("INS") or Seg("INS", [])
    refs = {r.get(1): r for r in reversed(loop.segments("REF"))}  # first of each qualifier wins
    group = refs.get("6P") or refs.get("1L")
    plan = refs.get("18")
    return {
        "member_id": _n(nm1.get(9)) if nm1.get(8) in ("MI", "II", "") else None,
        "first_name": _n(nm1.get(4)),
        "last_name": _n(nm1.get(3)),
        "middle_name": _n(nm1.get(5)),
        "suffix": _n(nm1.get(7)),
        "gender": _n(dmg.get(3)),
        "date_of_birth": _n(dmg.get(2)),
        "ssn": refs["SY"].get(2) if "SY" in refs else None,
        "group_number": _n(group.get(2)) if group else None,
        "group_description": _n(group.get(3)) if group else None,
        "plan_number": _n(plan.get(2)) if plan else None,
        "plan_description": _n(plan.get(3)) if plan else None,
        "entity_identifier": _entity(nm1.get(1)),
        "entity_type": _ENTITY_TYPES.get(nm1.get(2)),
        "insured_indicator": _n(ins.get(1)),
        "relation_to_subscriber_code": _n(ins.get(2)),
        "relation_to_subscriber": RELATIONSHIP_CODES.get(ins.get(2)),
        "maintenance_type_code": _n(ins.get(3)),
        "maintenance_reason_code": _n(ins.get(4)),
        "address": _response_address(loop),
        "aaa_errors": errors or None,
    }


def _plan_information(loop: Loop) -> PlanInformation | None:
    data: dict[str, str] = {}
    for ref in loop.segments("REF"):
        q = ref.get(1)
        field = _PLAN_REFS.get(q)
        if field and field not in data and ref.get(2):
            data[field] = ref.get(2)
            description = _PLAN_REF_DESCRIPTIONS.get(q)
            if description and ref.get(3):
                data[description] = ref.get(3)
    if "group_number" not in data and "policy_number" in data:  # 1L is the "group or policy number"
        data["group_number"] = data["policy_number"]
    return PlanInformation(**data) if data else None


def _dates(loop: Loop, model: Any) -> Any:
    fields = set(model.model_fields)
    data: dict[str, str] = {}
    for dtp in loop.segments("DTP"):
        field = _DATES.get(dtp.get(1))
        if field in fields and field not in data and dtp.get(3):
            data[field] = dtp.get(3)
    return model(**data) if data else None


def _described(codes: Iterable[str], table: Mapping[str, str]) -> list[str]:
    return [table.get(c, c) for c in codes]


def _benefit(loop: Loop) -> BenefitsInformation:
    eb = loop.first("EB") or Seg("EB", [])
    service_codes = [r[0] for r in eb.repeats(3) if r and r[0]]
    composite = eb.components(13)
    procedure = None
    if composite:
        procedure = CompositeMedicalProcedureIdentifier(
            product_or_service_id_qualifier_code=_n(composite[0]),
            product_or_service_id_qualifier=_PRODUCT_QUALIFIERS.get(composite[0]),
            procedure_code=composite[1] if len(composite) > 1 and composite[1] else None,
            procedure_modifiers=[m for m in composite[2:6] if m] or None,
            diagnosis_code_pointer=[p for p in eb.components(14) if p] or None,
        )
    ls, le = loop.first("LS"), loop.first("LE")
    extra = {
        _BENEFIT_REFS[r.get(1)]: r.get(2) for r in reversed(loop.segments("REF")) if r.get(1) in _BENEFIT_REFS
    }
    return BenefitsInformation(
        code=_n(eb.get(1)),
        name=ELIGIBILITY_BENEFIT_CODES.get(eb.get(1)),
        coverage_level_code=_n(eb.get(2)),
        coverage_level=COVERAGE_LEVEL_CODES.get(eb.get(2)),
        service_type_codes=service_codes or None,
        service_types=_described(service_codes, SERVICE_TYPE_CODES) or None,
        insurance_type_code=_n(eb.get(4)),
        insurance_type=INSURANCE_TYPE_CODES.get(eb.get(4)),
        plan_coverage=_n(eb.get(5)),
        time_qualifier_code=_n(eb.get(6)),
        time_qualifier=TIME_PERIOD_QUALIFIERS.get(eb.get(6)),
        benefit_amount=_n(eb.get(7)),
        benefit_percent=_n(eb.get(8)),
        quantity_qualifier_code=_n(eb.get(9)),
        quantity_qualifier=_QUANTITY_QUALIFIERS.get(eb.get(9)),
        benefit_quantity=_n(eb.get(10)),
        auth_or_cert_indicator=_n(eb.get(11)),
        in_plan_network_indicator_code=_n(eb.get(12)),
        in_plan_network_indicator=_IN_NETWORK.get(eb.get(12)),
        header_loop_identifier_code=_n(ls.get(1)) if ls else None,
        trailer_loop_identifier_code=_n(le.get(1)) if le else None,
        composite_medical_procedure_identifier=procedure,
        benefits_additional_information=extra or None,
        benefits_date_information=_dates(loop, BenefitsDateInformation),
        benefits_related_entities=[_related(e) for e in loop.loops() if e.id in ("2120C", "2120D")] or None,
        benefits_service_delivery=[_delivery(h) for h in loop.segments("HSD")] or None,
        additional_information=[
            AdditionalInformation(description=m.get(1)) for m in loop.segments("MSG") if m.get(1)
        ]
        or None,
        eligibility_additional_information_list=[
            _compact(
                {
                    "codeListQualifierCode": iii.get(1),
                    "industryCode": iii.get(2),
                    "codeCategory": iii.get(3),
                    "injuredBodyPartName": iii.get(4),
                }
            )
            for sub in loop.loops()
            if sub.id in ("2115C", "2115D")
            for iii in sub.segments("III")
        ]
        or None,
    )


def _delivery(hsd: Seg) -> dict[str, str]:
    return _compact(
        {
            "quantityQualifierCode": hsd.get(1),
            "quantity": hsd.get(2),
            "unitForMeasurementCode": hsd.get(3),
            "sampleSelectionModulus": hsd.get(4),
            "timePeriodQualifierCode": hsd.get(5),
            "numOfPeriods": hsd.get(6),
            "deliveryFrequencyCode": hsd.get(7),
            "deliveryPatternTimeCode": hsd.get(8),
        }
    )


def _related(loop: Loop) -> BenefitsRelatedEntity:
    nm1 = loop.first("NM1") or Seg("NM1", [])
    per = loop.first("PER")
    prv = loop.first("PRV")
    return BenefitsRelatedEntity(
        entity_identifier=_entity(nm1.get(1)),
        entity_type=_ENTITY_TYPES.get(nm1.get(2)),
        entity_name=_n(nm1.get(3)),
        entity_firstname=_n(nm1.get(4)),
        entity_middlename=_n(nm1.get(5)),
        entity_suffix=_n(nm1.get(7)),
        entity_identification=_n(nm1.get(8)),
        entity_identification_value=_n(nm1.get(9)),
        entity_relationship=_ENTITY_RELATIONSHIPS.get(nm1.get(10)),
        address=_response_address(loop),
        contact_information=_contact(per) if per is not None else None,
        provider_information=_compact({"providerCode": prv.get(1), "referenceIdentification": prv.get(3)})
        if prv is not None
        else None,
    )
