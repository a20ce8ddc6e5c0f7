"""`EligibilityResponse` -> 271 (005010X279A1): the payer's side of the eligibility exchange.

The engine reads 271s from payers (`edi.mappers.eligibility.x12_271_to_responses`); a payer, or the
payer simulator that stands in for one in tests and demos, has to write them. A 271 answers one
270, so besides the response it needs the 270 itself: BHT03, the payer (2100A) and the information
receiver (2100B) are echoed, and each TRN*1 trace of the patient's level comes back as a TRN*2 so
that the requester can match the answer (the engine matches on that trace and on BHT03).

``response_to_271(response, request, envelope)`` writes one interchange (GS01 ``HB``, one 271 set).
``request`` is the 270 it answers: its X12 text (the patient whose trace equals
``response.controlNumber`` is answered, else the first), an `EligibilityRequest` (the 270 the engine
would write for it is rebuilt, with the 271's envelope reversed, to echo it exactly) or an `Echo270`
from `echoes_from_270`. `body_271` gives the segments between ST and SE for callers that put several
answers in one interchange.

Where the response goes in the 271:

========================================  =====================================================
response field                            271
========================================  =====================================================
(270 BHT03)                               BHT*0022*11*BHT03
payer (name, payorIdentification, npi,    2100A NM1 (else the 270's NM1), PER*IC
federalTaxpayersIdNumber, naic),
contactInformation
provider                                  2100B: the 270's NM1 and REF, N3/N4 from ``address``
subscriber names, memberId                2100C NM1*IL (each name part, else the 270's), MI
planInformation, subscriber group/plan    2100C REF (18, 6P, 1L, 1W, ...), REF*SY ssn
subscriber.address                        2100C N3/N4
subscriber.aaaErrors (and errors at       2100C AAA*indicator**reason*follow-up
Loop 2100C or without a location)
dateOfBirth, gender                       DMG*D8 (else the 270's)
insuredIndicator, maintenance codes       INS*Y*18*001*25
planDateInformation                       2100C DTP (D8, or RD8 for ``begin-end`` values)
benefitsInformation[i]                    one 2110C loop: EB01-EB14 (EB03 repeated), HSD, REF,
                                          DTP, MSG, 2115C III, LS/2120C/LE
planStatus rows without a benefit row     EB*statusCode**serviceTypeCodes**planDetails
of their code
dependents[0]                             2000D/2100D (NM1*03, INS*N), benefits in 2110D
payer/provider aaaErrors                  AAA of 2100A / 2100B (2000A for location Loop 2000A);
                                          the 271 then stops at that level, as the guide asks
========================================  =====================================================

AAA01 (valid request indicator) has no model field: an error's extra ``validRequestIndicator``
gives it, else it is ``N`` for reason 42 (unable to respond now) and ``Y`` otherwise. AAA04 is
the ``followupAction`` code or its description, ``C`` when absent. Codes given only by their
description (``name`` of a benefit, ``serviceTypes``, ``coverageLevel``...) are looked up.

Refused (`NotRepresentable`, naming the JSON field) rather than written invalid: an AAA reason the
guide does not allow at its loop, a REF or DTP qualifier with no place at its loop (e.g.
``planDateInformation.periodStart``), a benefit without an EB01 code, and more than the guide's
repeats of a segment (9 REF, 10 MSG, 9 AAA...).
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from edi.codes import (
    AAA_FOLLOW_UP_ACTION_CODES,
    COVERAGE_LEVEL_CODES,
    ELIGIBILITY_BENEFIT_CODES,
    ENTITY_IDENTIFIER_CODES,
    INSURANCE_TYPE_CODES,
    SERVICE_TYPE_CODES,
    TIME_PERIOD_QUALIFIERS,
)
from edi.mappers.eligibility import IMPLEMENTATION_270_271, NotRepresentable, request_to_270
from edi.mappers.envelope import Envelope, wrap
from edi.mappers.x12tree import Loop, Seg, read_transactions
from edi.models.common import ResponseAddress, ResponseContactInformation, ResponseError
from edi.models.eligibility import (
    AaaError,
    BenefitsInformation,
    BenefitsRelatedEntity,
    EligibilityRequest,
    EligibilityResponse,
)
from edi.x12.delimiters import Delimiters
from edi.x12.grammar import external_codes
from edi.x12.reader import Source
from edi.x12.writer import Segment

__all__ = ["Echo270", "body_271", "echoes_from_270", "response_to_271"]

# ------------------------------------------------------------------ what the guide allows where


def _codes(text: str) -> frozenset[str]:
    return frozenset(text.split())


# AAA03 reject reasons by loop (005010X279A1)
_AAA_CODES: dict[str, frozenset[str]] = {
    "2000A": frozenset({"04", "41", "42", "79"}),
    "2100A": frozenset({"04", "41", "42", "79", "80", "T4"}),
    "2100B": frozenset({"15", "41", "43", "44", "45", "46", "47", "48", "50", "51", "79", "97", "T4"}),
    "2100C": _codes(
        "15 33 35 42 43 45 47 48 49 51 52 56 57 58 60 61 62 63 64 65 66 67 68 71 72 73 74 75 76 77 78"
    ),
    "2110C": _codes("15 33 52 53 54 55 56 57 60 61 62 63 69 70 98 AA AE AF AG AO CI E8 IA MA"),
}
_AAA_CODES["2100D"] = _AAA_CODES["2100C"]
_AAA_CODES["2110D"] = _AAA_CODES["2110C"]
_AAA_FOLLOW_UPS = frozenset(AAA_FOLLOW_UP_ACTION_CODES)
_MAX_AAA = 9

# DTP qualifier by model field (PlanDateInformation / BenefitsDateInformation), and where they may go
_DATE_QUALIFIERS = {
    "discharge": "096",
    "issue": "102",
    "period_start": "193",
    "period_end": "194",
    "coordination_of_benefits": "290",
    "plan": "291",
    "benefit": "292",
    "latest_visit_or_consultation": "304",
    "eligibility": "307",
    "added": "318",
    "premium_paid_to_date_begin": "342",
    "premium_paid_to_date_end": "343",
    "plan_begin": "346",
    "plan_end": "347",
    "benefit_begin": "348",
    "benefit_end": "349",
    "eligibility_begin": "356",
    "eligibility_end": "357",
    "admission": "435",
    "service": "472",
    "policy_effective": "539",
    "policy_expiration": "540",
}
_PERSON_DATES = _codes(
    "096 102 152 291 307 318 340 341 342 343 346 347 356 357 382 435 442 458 472 539 540 636 771"
)
_BENEFIT_DATES = _codes("096 193 194 198 290 291 292 295 304 307 318 346 347 348 349 356 357 435 472 636 771")

# REF qualifier by PlanInformation field (2100C/D) and by benefitsAdditionalInformation key (2110C/D)
_PLAN_REFS = {
    "plan_number": "18",
    "group_number": "6P",
    "policy_number": "1L",
    "member_id": "1W",
    "case_number": "3H",
    "family_unit_number": "49",
    "medicaid_recipient_id_number": "NQ",
    "alternative_list_id": "ALS",
    "coverage_list_id": "CLI",
    "insurance_policy_number": "IG",
    "hic_number": "F6",
    "prior_id_number": "Q4",
    "id_card_serial_number": "GH",
    "id_card_number": "HJ",
    "eligibility_category": "MRC",
    "plan_network_id_number": "N6",
}
_PLAN_REF_DESCRIPTIONS = {
    "18": "plan_description",
    "6P": "group_description",
    "N6": "plan_network_id_description",
}
_PERSON_REFS = _codes("18 1L 1W 3H 49 6P A6 CE CT EA EJ F6 GH HJ IF IG ML N6 NQ Q4 SY Y4")
_BENEFIT_REFS = {
    "planNumber": "18",
    "groupOrPolicyNumber": "1L",
    "memberId": "1W",
    "familyUnitNumber": "49",
    "groupNumber": "6P",
    "referralNumber": "9F",
    "alternativeListId": "ALS",
    "coverageListId": "CLI",
    "originalReferenceNumber": "F8",
    "drugFormularyNumber": "FO",
    "priorAuthorizationNumber": "G1",
    "insurancePolicyNumber": "IG",
    "planNetworkIdNumber": "N6",
    "medicaidRecipientIdNumber": "NQ",
}

_SERVICE_TYPES = external_codes().get("service_type") or frozenset(SERVICE_TYPE_CODES)
_EB01 = _codes("1 2 3 4 5 6 7 8 A B C CB D E F G H I J K L M MC N O P Q R S T U V W X Y")
_ENTITY_TYPES = {"Person": "1", "Non-Person Entity": "2"}
# 2120C/D NM101 codes `edi.codes` does not describe (the 271 reader's names for them)
_ENTITY_EXTRA = {
    "Contracted Service Provider": "13",
    "Preferred Provider Organization (PPO)": "1I",
    "Gateway Provider": "GP",
    "Group": "GW",
    "Independent Physicians Association (IPA)": "I3",
    "Legal Representative": "LR",
    "Origin Carrier": "OC",
    "Prior Insurance Carrier": "P4",
    "Plan Sponsor": "P5",
    "Party Performing Verification": "VER",
    "Organization Completing Configuration Change": "VY",
    "Managed Care Organization": "Y2",
}
_ENTITY_RELATIONSHIPS = {
    "Parent": "01",
    "Child": "02",
    "Domestic Partner": "27",
    "Spouse": "41",
    "Employee": "48",
    "Other": "65",
    "Unknown": "72",
}
_COMMUNICATION_MODES = {
    "EDI Access Number": "ED",
    "Electronic Mail": "EM",
    "Email": "EM",
    "Telephone Extension": "EX",
    "Extension": "EX",
    "Facsimile": "FX",
    "Fax": "FX",
    "Telephone": "TE",
    "Uniform Resource Locator (URL)": "UR",
    "URL": "UR",
    "Work Phone Number": "WP",
}
_PRODUCT_QUALIFIERS = {
    "American Dental Association Codes": "AD",
    "Current Procedural Terminology (CPT) Codes": "CJ",
    "Health Care Financing Administration Common Procedural Coding System (HCPCS) Codes": "HC",
    "International Classification of Diseases, 9th Revision, Clinical Modification (ICD-9-CM) - Procedure": "ID",
    "Home Infusion EDI Coalition (HIEC) Product/Service Code": "IV",
    "National Drug Code in 5-4-2 Format": "N4",
    "Mutually Defined": "ZZ",
}
_QUANTITY_QUALIFIERS = {
    "Minimum": "8H",
    "Quantity Used": "99",
    "Covered - Actual": "CA",
    "Covered - Estimated": "CE",
    "Number of Co-insurance Days": "D3",
    "Deductible Blood Units": "DB",
    "Days": "DY",
    "Hours": "HS",
    "Life-time Reserve - Actual": "LA",
    "Life-time Reserve - Estimated": "LE",
    "Maximum": "M2",
    "Month": "MN",
    "Number of Services or Procedures": "P6",
    "Quantity Approved": "QA",
    "Age, High Value": "S7",
    "Age, Low Value": "S8",
    "Visits": "VS",
    "Years": "YY",
}
_IN_NETWORK = {"No": "N", "Unknown": "U", "Not Applicable": "W", "Yes": "Y"}
_HSD_KEYS = (
    "quantityQualifierCode",
    "quantity",
    "unitForMeasurementCode",
    "sampleSelectionModulus",
    "timePeriodQualifierCode",
    "numOfPeriods",
    "deliveryFrequencyCode",
    "deliveryPatternTimeCode",
)
_III_KEYS = ("codeListQualifierCode", "industryCode", "codeCategory", "injuredBodyPartName")
_NUMBER = re.compile(r"^-?(\d+(\.\d*)?|\.\d+)$")
_RANGE = re.compile(r"^\d{8}-\d{8}$")


# ------------------------------------------------------------------ what a 271 echoes of its 270


@dataclass(slots=True)
class Echo270:
    """What a 271 repeats from the 270 it answers, for one patient (elements after the segment id)."""

    reference: str = ""  # BHT03
    payer: list[str] = field(default_factory=list)  # 2100A NM1
    provider: list[str] = field(default_factory=list)  # 2100B NM1
    provider_refs: list[list[str]] = field(default_factory=list)  # 2100B REF
    subscriber: list[str] = field(default_factory=list)  # 2100C NM1
    subscriber_dmg: list[str] = field(default_factory=list)
    dependent: list[str] | None = None  # 2100D NM1 when the 270 asked about a dependent
    dependent_dmg: list[str] = field(default_factory=list)
    traces: list[list[str]] = field(default_factory=list)  # the patient's TRN*1 segments
    service_types: list[str] = field(default_factory=list)  # EQ01 codes asked about
    service_date: str = ""  # DTP*291 value (YYYYMMDD or YYYYMMDD-YYYYMMDD)

    @property
    def trace_numbers(self) -> list[str]:
        return [t[1] for t in self.traces if len(t) > 1]


def _elements(seg: Seg | None) -> list[str]:
    if seg is None:
        return []
    return [v if isinstance(v, str) else "" for v in seg.elements]


def echoes_from_270(source: Source) -> list[Echo270]:
    """One `Echo270` per patient (subscriber, or each dependent) of every 270 set in `source`."""
    if isinstance(source, str) and source.lstrip().startswith("ISA"):
        source = source.encode("utf-8", "surrogateescape")
    out: list[Echo270] = []
    for tx in read_transactions(source):
        if tx.transaction_set_id != "270":
            continue
        bht = tx.body.first("BHT")
        reference = bht.get(3) if bht is not None else ""
        for a in tx.body.walk("2000A"):
            payer = _elements((a.loop("2100A") or Loop("", [])).first("NM1"))
            for b in a.loops("2000B"):
                b_name = b.loop("2100B") or Loop("", [])
                provider = _elements(b_name.first("NM1"))
                refs = [_elements(r) for r in b_name.segments("REF")]
                for c in b.loops("2000C"):
                    c_name = c.loop("2100C") or Loop("", [])
                    base = Echo270(
                        reference=reference,
                        payer=payer,
                        provider=provider,
                        provider_refs=refs,
                        subscriber=_elements(c_name.first("NM1")),
                        subscriber_dmg=_elements(c_name.first("DMG")),
                        traces=[_elements(t) for t in c.segments("TRN", "1")],
                        service_types=_asked(c_name, "2110C"),
                        service_date=_service_date(c_name, "2110C"),
                    )
                    dependents = c.loops("2000D")
                    if not dependents:
                        out.append(base)
                    for d in dependents:
                        d_name = d.loop("2100D") or Loop("", [])
                        out.append(
                            dataclasses.replace(
                                base,
                                dependent=_elements(d_name.first("NM1")),
                                dependent_dmg=_elements(d_name.first("DMG")),
                                traces=[_elements(t) for t in d.segments("TRN", "1")] or base.traces,
                                service_types=_asked(d_name, "2110D") or base.service_types,
                                service_date=_service_date(d_name, "2110D") or base.service_date,
                            )
                        )
    return out


def _asked(name_loop: Loop, inquiry: str) -> list[str]:
    """The EQ01 service type codes of a patient's inquiry loops, in order, once each."""
    codes: list[str] = []
    for q in name_loop.loops(inquiry):
        eq = q.first("EQ")
        for r in eq.repeats(1) if eq is not None else []:
            if r and r[0] and r[0] not in codes:
                codes.append(r[0])
    return codes


def _service_date(name_loop: Loop, inquiry: str) -> str:
    dtp = name_loop.first("DTP", "291") or next(
        (d for q in name_loop.loops(inquiry) for d in q.segments("DTP", "291")), None
    )
    return dtp.get(3) if dtp is not None else ""


def _echo_for(
    response: EligibilityResponse,
    request: str | bytes | EligibilityRequest | Echo270,
    envelope: Envelope,
    originator_id: str | None,
) -> Echo270:
    if isinstance(request, Echo270):
        return request
    if isinstance(request, EligibilityRequest):
        # the 270 the engine writes for this request, as its sender (our receiver) made it
        asked = Envelope(
            sender_id=envelope.receiver_id,
            receiver_id=envelope.sender_id,
            interchange_control_number=1,
            group_control_number=1,
            sender_qualifier=envelope.receiver_qualifier,
            receiver_qualifier=envelope.sender_qualifier,
            application_sender=envelope.application_receiver,
            application_receiver=envelope.application_sender,
            usage=envelope.usage,
            delimiters=envelope.delimiters,
            now=envelope.now or datetime.now(),
        )
        request = request_to_270(request, asked, originator_id=originator_id)
    echoes = echoes_from_270(request)
    if not echoes:
        raise ValueError("the 270 to answer holds no patient (no 2000C loop)")
    wanted = response.control_number
    return next((e for e in echoes if wanted and wanted in e.trace_numbers), echoes[0])


# ------------------------------------------------------------------ writing


def response_to_271(
    response: EligibilityResponse,
    request: str | bytes | EligibilityRequest | Echo270,
    envelope: Envelope,
    *,
    originator_id: str | None = None,
) -> str:
    """One 271 interchange (GS01 HB, one transaction set) answering `request` with `response`.

    `originator_id` is the TRN03 the requester used, needed only when `request` is an
    `EligibilityRequest` whose 270 was not written with the engine's default originator.
    """
    now = envelope.now or datetime.now()
    env = dataclasses.replace(envelope, now=now)
    echo = _echo_for(response, request, env, originator_id)
    return wrap(env, "HB", IMPLEMENTATION_270_271, "271", [body_271(response, echo, now, env.delimiters)])


def body_271(
    response: EligibilityResponse, echo: Echo270, now: datetime, delimiters: Delimiters | None = None
) -> list[Segment]:
    """The segments of one 271 transaction set between ST and SE."""
    w = _Writer(delimiters or Delimiters())
    errors = _errors_by_loop(response)
    w.add("BHT", "0022", "11", echo.reference, now.strftime("%Y%m%d"), now.strftime("%H%M"))
    stop_at_payer = bool(errors["2000A"] or errors["2100A"])
    stop_at_provider = stop_at_payer or bool(errors["2100B"])
    # 2000A / 2100A information source
    w.add("HL", "1", "", "20", "0" if stop_at_payer else "1")
    w.aaa(errors["2000A"], "2000A", "payer.aaaErrors")
    w.add(*_payer_nm1(response, echo))
    payer = response.payer
    if payer is not None and payer.contact_information is not None:
        w.per(payer.contact_information)
    w.aaa(errors["2100A"], "2100A", "payer.aaaErrors")
    if stop_at_payer:
        return w.segs
    # 2000B / 2100B information receiver
    w.add("HL", "2", "1", "21", "0" if stop_at_provider else "1")
    w.add(*_provider_nm1(response, echo))
    for ref in echo.provider_refs[:9]:
        w.add("REF", *ref)
    provider = response.provider
    w.address(provider.address if provider is not None else None)
    w.aaa(errors["2100B"], "2100B", "provider.aaaErrors")
    if stop_at_provider:
        return w.segs
    # 2000C / 2100C subscriber, 2000D / 2100D dependent
    dependent = response.dependents[0] if response.dependents else None
    traces = _traces(response, echo)
    w.add("HL", "3", "2", "22", "1" if dependent is not None else "0")
    if dependent is None:
        for trn in traces:
            w.add(*trn)
    _person(w, response, echo, dependent=False, patient=dependent is None, errors=errors["2100C"])
    if dependent is not None:
        w.add("HL", "4", "3", "23", "0")
        for trn in traces:
            w.add(*trn)
        _person(w, response, echo, dependent=True, patient=True, errors=errors["2100D"])
    _benefits(w, response, errors["2110"], "2110D" if dependent is not None else "2110C")
    return w.segs


class _Writer:
    """Segments of one 271 being written, with text made safe for the interchange's separators."""

    def __init__(self, delimiters: Delimiters) -> None:
        self.segs: list[Segment] = []
        self._table = {ord(c): " " for c in delimiters.characters()}

    def text(self, value: str | None, limit: int | None = None) -> str:
        if not value:
            return ""
        if not value.isascii():
            value = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii")
        value = re.sub(r"[\x00-\x1f\x7f]", " ", value.translate(self._table)).strip()
        return value[:limit] if limit else value

    def add(self, *elements: Any) -> None:
        self.segs.append(list(elements))

    def address(self, address: ResponseAddress | None) -> None:
        if address is None or not (address.address1 or address.city):
            return
        if address.address1:
            self.add("N3", self.text(address.address1, 55), self.text(address.address2, 55))
        if address.city:
            self.add(
                "N4",
                self.text(address.city, 30),
                address.state or "",
                address.postal_code or "",
                address.country_code or "",
                "",
                "",
                address.country_sub_division_code or "",
            )

    def per(self, contact: ResponseContactInformation) -> None:
        numbers: list[str] = []
        for c in contact.contacts[:3]:
            mode = _code(c.communication_mode, _COMMUNICATION_MODES)
            if mode and c.communication_number:
                numbers += [mode, self.text(c.communication_number, 256)]
        if numbers:
            self.add("PER", "IC", self.text(contact.name, 60), *numbers)

    def aaa(self, errors: list[AaaError], loop: str, path: str) -> None:
        if len(errors) > _MAX_AAA:
            raise NotRepresentable(path, f"the 271 holds at most {_MAX_AAA} AAA segments in loop {loop}")
        allowed = _AAA_CODES[loop]
        for e in errors:
            if e.code not in allowed:
                raise NotRepresentable(path, f"AAA reason {e.code!r} is not allowed in loop {loop}")
            self.add("AAA", _valid_indicator(e), "", e.code, _follow_up(e))

    def dates(self, dates: Any, allowed: frozenset[str], path: str) -> None:
        if dates is None:
            return
        for name, value in dates:
            if not value or name not in _DATE_QUALIFIERS:
                continue
            qualifier = _DATE_QUALIFIERS[name]
            if qualifier not in allowed:
                raise NotRepresentable(f"{path}.{_camel(name)}", "has no DTP qualifier allowed at this loop")
            self.add("DTP", qualifier, "RD8" if _RANGE.match(value) else "D8", value)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.capitalize() for p in rest)


def _code(value: str | None, by_name: Mapping[str, str]) -> str:
    """`value` when it is a code, else the code it describes (unknown values pass unchanged)."""
    if not value:
        return ""
    if value in by_name.values():
        return value
    return by_name.get(value, value)


def _reverse(table: Mapping[str, str]) -> dict[str, str]:
    return {v: k for k, v in table.items()}


_BENEFIT_NAMES = _reverse(ELIGIBILITY_BENEFIT_CODES)
_COVERAGE_NAMES = _reverse(COVERAGE_LEVEL_CODES)
_SERVICE_NAMES = _reverse(SERVICE_TYPE_CODES)
_INSURANCE_NAMES = _reverse(INSURANCE_TYPE_CODES)
_TIME_NAMES = _reverse(TIME_PERIOD_QUALIFIERS)
_FOLLOW_UP_NAMES = _reverse(AAA_FOLLOW_UP_ACTION_CODES)
_ENTITY_NAMES = {**_reverse(ENTITY_IDENTIFIER_CODES), **_ENTITY_EXTRA}


def _valid_indicator(e: AaaError) -> str:
    extra = e.model_extra or {}
    value = extra.get("validRequestIndicator") or extra.get("valid_request_indicator")
    if value in ("Y", "N"):
        return value
    return "N" if e.code == "42" else "Y"


def _follow_up(e: AaaError) -> str:
    value = e.followup_action
    if value in _AAA_FOLLOW_UPS:
        return value
    return _FOLLOW_UP_NAMES.get(value or "", "C")


def _aaa_from(error: ResponseError | AaaError) -> AaaError:
    return error if isinstance(error, AaaError) else AaaError(**error.model_dump())


def _errors_by_loop(response: EligibilityResponse) -> dict[str, list[AaaError]]:
    """Every AAA of the response in the loop it belongs to, once each (payer, provider and person
    ``aaaErrors`` repeat what ``errors`` holds with its location)."""
    placed: dict[str, list[AaaError]] = {k: [] for k in ("2000A", "2100A", "2100B", "2100C", "2100D", "2110")}
    seen: set[tuple[str, str | None, str]] = set()
    dependent = response.dependents[0] if response.dependents else None
    patient = "2100D" if dependent is not None else "2100C"

    def put(loop: str, error: AaaError) -> None:
        key = (loop, error.code, _follow_up(error))
        if key not in seen:
            seen.add(key)
            placed[loop].append(error)

    def where(error: AaaError, default: str) -> str:
        match = re.search(r"(2000A|2100A|2100B|2100C|2100D|2110C|2110D)", error.location or "")
        if match is None:
            return default
        loop = match.group(1)
        return "2110" if loop.startswith("2110") else loop

    if response.payer is not None:
        for e in response.payer.aaa_errors or []:
            put(where(e, "2100A"), e)
    if response.provider is not None:
        for e in response.provider.aaa_errors or []:
            put("2100B", e)
    if response.subscriber is not None:
        for e in response.subscriber.aaa_errors or []:
            put("2100C", e)
    if dependent is not None:
        for e in dependent.aaa_errors or []:
            put("2100D", e)
    for error in response.errors or []:
        if not error.code or not re.fullmatch(r"[0-9A-Z]{2}", error.code):
            continue  # a request validation problem, not a payer AAA
        if error.field not in (None, "AAA") and not error.location:
            continue
        e = _aaa_from(error)
        loop = where(e, patient)
        put("2100C" if loop == "2100D" and dependent is None else loop, e)
    if placed["2110"] and not (response.benefits_information or response.plan_status):
        benefit_errors, placed["2110"] = placed["2110"], []
        for e in benefit_errors:  # no benefit loop to carry them: the patient's loop does
            put(patient, e)
    return placed


def _payer_nm1(response: EligibilityResponse, echo: Echo270) -> list[str]:
    p = response.payer
    ids = []
    if p is not None:
        ids = [
            (q, v)
            for q, v in (
                ("PI", p.payor_identification),
                ("XX", p.npi),
                ("FI", p.federal_taxpayers_id_number),
                ("NI", p.naic),
            )
            if v
        ]
    echoed = echo.payer + [""] * (9 - len(echo.payer))
    if p is None or not (p.name or p.last_name or ids):
        return ["NM1", *(echoed if echo.payer else ["PR", "2", "", "", "", "", "", "PI", "UNKNOWN"])]
    entity = _code(p.entity_identifier, _ENTITY_NAMES) or echoed[0] or "PR"
    if entity not in ("2B", "36", "GP", "P5", "PR"):
        entity = "PR"
    qualifier, value = ids[0] if ids else (echoed[7], echoed[8])
    if p.last_name and not p.name:
        return ["NM1", entity, "1", p.last_name, p.first_name or "", "", "", "", qualifier, value]
    return ["NM1", entity, "2", p.name or echoed[2], "", "", "", "", qualifier, value]


def _provider_nm1(response: EligibilityResponse, echo: Echo270) -> list[str]:
    """The 270's information receiver, else the response's provider."""
    if echo.provider:
        return ["NM1", *echo.provider]
    p = response.provider
    ids = (
        []
        if p is None
        else [(q, v) for q, v in (("XX", p.npi), ("SV", p.service_provider_number), ("FI", p.tax_id)) if v]
    )
    if p is None or not ids:
        raise NotRepresentable("provider", "the 271 must name the information receiver with an identifier")
    if p.provider_org_name or not p.provider_first_name:
        return ["NM1", "1P", "2", p.provider_org_name or p.provider_name or "", "", "", "", "", *ids[0]]
    return ["NM1", "1P", "1", p.provider_name or "", p.provider_first_name, "", "", "", *ids[0]]


def _traces(response: EligibilityResponse, echo: Echo270) -> list[list[str]]:
    """TRN*2 for each trace of the 270, then the payer's own TRN*1 traces from the response."""
    out = [["TRN", "2", *t[1:]] for t in echo.traces]
    for t in response.subscriber_trace_numbers or []:
        if not t.reference_identification:
            continue
        kind = t.trace_type_code or "2"
        row = ["TRN", kind, t.reference_identification, t.originating_company_identifier or ""]
        if t.secondary_reference_identification:
            row.append(t.secondary_reference_identification)
        if kind == "2" and echo.traces:
            continue  # the echo already carries the requester's traces
        if len(row[3]) != 10:
            raise NotRepresentable(
                "subscriberTraceNumbers", "TRN03 (originating company) must be 10 characters"
            )
        if row not in out:
            out.append(row)
    if len(out) > 3:
        raise NotRepresentable("subscriberTraceNumbers", "the 271 holds at most 3 TRN segments per patient")
    return out


def _person(
    w: _Writer,
    response: EligibilityResponse,
    echo: Echo270,
    *,
    dependent: bool,
    patient: bool,
    errors: list[AaaError],
) -> None:
    """2100C (NM1*IL) or 2100D (NM1*03) up to its benefit loops; plan REFs and dates go to the
    patient's loop (where the 271 reader takes them from)."""
    if dependent:
        person: Any = response.dependents[0] if response.dependents else None
        path, loop = "dependents[0]", "2100D"
        nm1 = (echo.dependent or []) + [""] * 9
        dmg = echo.dependent_dmg + ["", "", ""]
    else:
        person = response.subscriber
        path, loop = "subscriber", "2100C"
        nm1 = echo.subscriber + [""] * 9
        dmg = echo.subscriber_dmg + ["", "", ""]

    def pick(attr: str, pos: int, limit: int) -> str:
        value = getattr(person, attr, None) if person is not None else None
        return w.text(value, limit) if value else nm1[pos]

    row: list[str] = [
        "NM1",
        "03" if dependent else "IL",
        "1",
        pick("last_name", 2, 60),
        pick("first_name", 3, 35),
        pick("middle_name", 4, 25),
        "",
        pick("suffix", 6, 10),
    ]
    if not dependent:
        member_id = (person.member_id if person is not None else None) or nm1[8]
        if member_id:
            row += [nm1[7] if nm1[7] in ("MI", "II") else "MI", w.text(member_id, 80)]
    w.add(*row)
    refs = _person_refs(w, response, person, path, patient)
    if len(refs) > 9:
        raise NotRepresentable(path, "the 271 holds at most 9 REF segments per patient")
    for ref in refs:
        w.add("REF", *ref)
    w.address(person.address if person is not None else None)
    w.aaa(errors, loop, f"{path}.aaaErrors")
    dob = person.date_of_birth if person is not None else None
    gender = person.gender if person is not None else None
    if dob:
        w.add("DMG", "D8", dob, gender if gender in ("F", "M", "U") else "")
    elif dmg[1]:
        w.add("DMG", dmg[0] or "D8", dmg[1], gender if gender in ("F", "M", "U") else dmg[2])
    if person is not None:
        if dependent and person.relation_to_subscriber_code:
            w.add("INS", "N", person.relation_to_subscriber_code, *_maintenance(person))
        elif not dependent and (person.insured_indicator or person.maintenance_type_code):
            w.add("INS", "Y", "18", *_maintenance(person))
    if patient:
        w.dates(response.plan_date_information, _PERSON_DATES, "planDateInformation")


def _maintenance(person: Any) -> list[str]:
    if person.maintenance_type_code != "001":
        return []
    return ["001", "25"]


def _person_refs(
    w: _Writer, response: EligibilityResponse, person: Any, path: str, patient: bool
) -> list[list[str]]:
    """REF rows of 2100C/D: planInformation (patient only), then the person's own group, plan, SSN."""
    refs: dict[str, list[str]] = {}
    plan = response.plan_information if patient else None
    if plan is not None:
        values = plan.model_dump()
        for name, qualifier in _PLAN_REFS.items():
            value = values.get(name)
            if not value:
                continue
            if qualifier not in _PERSON_REFS:
                raise NotRepresentable(
                    f"planInformation.{_camel(name)}", "has no REF allowed in loop 2100C/D"
                )
            if qualifier == "6P" and values.get("policy_number") == value:
                continue  # the reader fills groupNumber from a lone REF*1L
            description = values.get(_PLAN_REF_DESCRIPTIONS.get(qualifier, ""), None)
            refs.setdefault(qualifier, [qualifier, w.text(value, 50), w.text(description, 80)])
    if person is not None:
        if person.group_number and not ({"6P", "1L"} & refs.keys()):
            refs["6P"] = ["6P", w.text(person.group_number, 50), w.text(person.group_description, 80)]
        if person.plan_number and "18" not in refs:
            refs["18"] = ["18", w.text(person.plan_number, 50), w.text(person.plan_description, 80)]
        if person.ssn and "SY" not in refs:
            refs["SY"] = ["SY", person.ssn]
    return list(refs.values())


def _number(value: str | None, path: str) -> str:
    if value is None or value == "":
        return ""
    value = value.strip()
    if not _NUMBER.match(value):
        raise NotRepresentable(path, "is not a decimal number")
    return value


def _benefits(w: _Writer, response: EligibilityResponse, errors: list[AaaError], loop: str) -> None:
    """One 2110C/D loop per benefit row, plus an EB for each plan status no benefit row carries."""
    rows = list(response.benefits_information or [])
    codes = {_code(b.code or b.name, _BENEFIT_NAMES) for b in rows}
    for status in response.plan_status or []:
        code = _code(status.status_code or status.status, _BENEFIT_NAMES)
        if code and code not in codes:
            codes.add(code)
            rows.append(
                BenefitsInformation(
                    code=code, service_type_codes=status.service_type_codes, plan_coverage=status.plan_details
                )
            )
    if errors and not rows:
        raise NotRepresentable("errors", f"an AAA of loop {loop} needs a benefit row to stand in")
    for i, b in enumerate(rows):
        path = f"benefitsInformation[{i}]"
        w.add(*_eb(w, b, path))
        for d in (b.benefits_service_delivery or [])[:9]:
            w.add("HSD", *[str(d.get(k, "")) for k in _HSD_KEYS])
        extra = b.benefits_additional_information or {}
        if len(extra) > 9:
            raise NotRepresentable(
                f"{path}.benefitsAdditionalInformation", "the 271 holds at most 9 REF here"
            )
        for key, value in extra.items():
            qualifier = _BENEFIT_REFS.get(key, key)
            if qualifier not in _BENEFIT_REFS.values():
                raise NotRepresentable(
                    f"{path}.benefitsAdditionalInformation.{key}", "has no REF in loop 2110"
                )
            w.add("REF", qualifier, w.text(value, 50))
        w.dates(b.benefits_date_information, _BENEFIT_DATES, f"{path}.benefitsDateInformation")
        if i == 0:
            w.aaa(errors, loop, "errors")
        messages = [m.description for m in b.additional_information or [] if m.description]
        if len(messages) > 10:
            raise NotRepresentable(
                f"{path}.additionalInformation", "the 271 holds at most 10 MSG per benefit"
            )
        for message in messages:
            w.add("MSG", w.text(message, 264))
        for d in (b.eligibility_additional_information_list or [])[:10]:
            w.add("III", *[w.text(str(d.get(k, "")), 264) for k in _III_KEYS])
        entities = b.benefits_related_entities or []
        if len(entities) > 23:
            raise NotRepresentable(f"{path}.benefitsRelatedEntities", "the 271 holds at most 23 per benefit")
        if entities:
            w.add("LS", "2120")
            for j, e in enumerate(entities):
                _related(w, e, f"{path}.benefitsRelatedEntities[{j}]")
            w.add("LE", "2120")


_EB02 = frozenset(COVERAGE_LEVEL_CODES)
_EB04 = _codes(
    "12 13 14 15 16 41 42 43 47 AP C1 CO CP D DB EP FF GP HM HN HS IN IP LC LD LI LT MA MB MC MH MI MP OT PE PL "
    "PP PR PS QM RP SP TF WC WU"
)
_EB06 = _codes("6 7 13 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36")
_EB09 = frozenset(_QUANTITY_QUALIFIERS.values())
_EB11 = _codes("N U Y")
_EB12 = frozenset(_IN_NETWORK.values())


def _checked(value: str, allowed: frozenset[str], path: str) -> str:
    if value and value not in allowed:
        raise NotRepresentable(path, f"{value!r} is not a code the 271 allows here")
    return value


def _eb(w: _Writer, b: BenefitsInformation, path: str) -> list[Any]:
    code = _code(b.code or b.name, _BENEFIT_NAMES)
    if code not in _EB01:
        raise NotRepresentable(f"{path}.code", "is not an EB01 eligibility or benefit code")
    services = b.service_type_codes or [_SERVICE_NAMES.get(s, s) for s in b.service_types or []]
    if len(services) > 99:
        raise NotRepresentable(f"{path}.serviceTypeCodes", "EB03 repeats at most 99 times")
    for service in services:
        _checked(service, _SERVICE_TYPES, f"{path}.serviceTypeCodes")
    composite: list[str] | str = ""
    pointers: list[str] | str = ""
    procedure = b.composite_medical_procedure_identifier
    if procedure is not None and procedure.procedure_code:
        qualifier = procedure.product_or_service_id_qualifier_code or _PRODUCT_QUALIFIERS.get(
            procedure.product_or_service_id_qualifier or "", "HC"
        )
        composite = [qualifier, procedure.procedure_code, *(procedure.procedure_modifiers or [])[:4]]
        pointers = list((procedure.diagnosis_code_pointer or [])[:4]) or ""
    return [
        "EB",
        code,
        _checked(
            _code(b.coverage_level_code or b.coverage_level, _COVERAGE_NAMES),
            _EB02,
            f"{path}.coverageLevelCode",
        ),
        [[s] for s in services] or "",
        _checked(
            _code(b.insurance_type_code or b.insurance_type, _INSURANCE_NAMES),
            _EB04,
            f"{path}.insuranceTypeCode",
        ),
        w.text(b.plan_coverage, 50),
        _checked(
            _code(b.time_qualifier_code or b.time_qualifier, _TIME_NAMES), _EB06, f"{path}.timeQualifierCode"
        ),
        _number(b.benefit_amount, f"{path}.benefitAmount"),
        _number(b.benefit_percent, f"{path}.benefitPercent"),
        _checked(
            _code(b.quantity_qualifier_code or b.quantity_qualifier, _QUANTITY_QUALIFIERS),
            _EB09,
            f"{path}.quantityQualifierCode",
        ),
        _number(b.benefit_quantity, f"{path}.benefitQuantity"),
        _checked(b.auth_or_cert_indicator or "", _EB11, f"{path}.authOrCertIndicator"),
        _checked(
            _code(b.in_plan_network_indicator_code or b.in_plan_network_indicator, _IN_NETWORK),
            _EB12,
            f"{path}.inPlanNetworkIndicatorCode",
        ),
        composite,
        pointers,
    ]


_RELATED_ENTITIES = _codes("13 1I 1P 2B 36 73 FA GP GW I3 IL LR OC P3 P4 P5 PR PRP SEP TTP VER VN VY X3 Y2")


def _related(w: _Writer, e: BenefitsRelatedEntity, path: str) -> None:
    """One 2120C/D loop: NM1, N3/N4, PER, PRV."""
    entity = _code(e.entity_identifier, _ENTITY_NAMES)
    if entity not in _RELATED_ENTITIES:
        raise NotRepresentable(f"{path}.entityIdentifier", "is not an entity the 271 names in loop 2120")
    kind = _ENTITY_TYPES.get(e.entity_type or "", e.entity_type or ("1" if e.entity_firstname else "2"))
    w.add(
        "NM1",
        entity,
        kind,
        w.text(e.entity_name, 60),
        w.text(e.entity_firstname, 35),
        w.text(e.entity_middlename, 25),
        "",
        w.text(e.entity_suffix, 10),
        e.entity_identification or "" if e.entity_identification_value else "",
        w.text(e.entity_identification_value, 80),
        _code(e.entity_relationship, _ENTITY_RELATIONSHIPS),
    )
    w.address(e.address)
    if e.contact_information is not None:
        w.per(e.contact_information)
    info = e.provider_information or {}
    if info.get("providerCode") and info.get("referenceIdentification"):
        w.add(
            "PRV",
            info["providerCode"],
            info.get("referenceIdentificationQualifier", "PXC"),
            w.text(info["referenceIdentification"], 50),
        )
