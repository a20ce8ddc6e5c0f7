"""Pieces the 837P and 837I mappers share, in both directions.

Writing (JSON -> X12): an `Out` collects the segments of one transaction set and every problem
found on the way; `write_claims` splits a batch into transaction sets (at most 5,000 claims each,
and a new set whenever the submitter or receiver changes), lays out the hierarchy (2000A billing
provider, 2000B subscriber, 2000C patient, with consecutive claims of the same provider, subscriber
and patient sharing their HL loops), writes the header (BHT, 1000A, 1000B) and wraps the sets with
`edi.mappers.envelope.wrap`. The claim loops themselves (2300 and below) come from the mapper.

Nothing invalid is written: a value the 837 cannot carry (too long for its element, a 5-digit ZIP
where the guide wants 9 digits, a missing required part) becomes a `Problem` with the JSON path of
the field, and `ClaimMappingError` lists them all at once instead of returning X12 a payer would
reject. Text is made fit for X12 on the way: letters with accents lose them (NFKD), control
characters and the interchange's own separators become spaces, and trailing spaces are dropped.

Reading (X12 -> JSON): `claim_hierarchies` yields every 2300 claim with the loops above it; the
readers below turn NM1/N3/N4/PER/DMG/REF back into model data. Amounts come back with two decimals
(``"100.00"``), quantities without trailing zeros (``"1"``), diagnosis codes without a dot.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from edi.checks import MAX_CLAIMS_PER_TRANSACTION, Problem
from edi.models.claims import (
    ClaimDependent,
    ClaimProvider,
    ClaimSubscriber,
    InstitutionalClaimRequest,
    OtherSubscriberInformation,
    ProfessionalClaimRequest,
)
from edi.models.common import Address, ContactInformation
from edi.x12.delimiters import Delimiters
from edi.x12.grammar import external_codes

from .envelope import Envelope, wrap
from .translate import TranslationError
from .x12tree import Loop, Seg, Transaction, read_transactions

__all__ = [
    "ClaimMappingError",
    "ClaimContext",
    "Out",
    "Dialect",
    "write_claims",
    "find_provider",
    "icd",
    "fmt_amount",
    "fmt_quantity",
    "read_claim_transactions",
    "claim_hierarchies",
    "ClaimHierarchy",
    "x12_amount",
    "x12_quantity",
    "components",
    "read_name",
    "read_address",
    "read_contact",
    "read_provider",
    "read_refs",
    "read_other_subscriber",
    "drop_none",
]

Claim = ProfessionalClaimRequest | InstitutionalClaimRequest

# ------------------------------------------------------------------------------------------ errors


class ClaimMappingError(TranslationError):
    """The claims cannot be written as a valid 837 (or an 837 read as claims); `problems` says where."""


# ---------------------------------------------------------------------------------- value formats

_TWO_PLACES = Decimal("0.01")
_THREE_PLACES = Decimal("0.001")


def fmt_amount(value: str) -> str:
    """A money amount with exactly two decimals ("100" -> "100.00"); X12 R type, sign kept."""
    return str(Decimal(value).quantize(_TWO_PLACES, rounding=ROUND_HALF_UP))


def fmt_quantity(value: str) -> str:
    """A quantity without trailing zeros ("1.50" -> "1.5", "2.000" -> "2")."""
    number = Decimal(value)
    if number == number.to_integral_value():
        return str(number.quantize(Decimal(1)))
    return format(number.normalize(), "f")


def _digits(value: str) -> int:
    """Digits of a formatted number (X12 R and N lengths leave out the sign and the point)."""
    return len(value) - ("." in value) - value.startswith("-")


def icd(code: str) -> str:
    """An ICD-10 code as X12 carries it: without the dot (``E11.9`` -> ``E119``)."""
    return code.replace(".", "")


_COUNTRIES = external_codes().get("country", frozenset())
_STATES = external_codes().get("states", frozenset())
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


# -------------------------------------------------------------------------------------- the writer


class Out:
    """Segments of one transaction set being written, and every problem met on the way."""

    __slots__ = ("segs", "problems", "_bad", "_table")

    def __init__(self, delimiters: Delimiters, problems: list[Problem] | None = None) -> None:
        self.segs: list[Sequence[Any]] = []  # tuples as added; the HL segments are lists (HL04 is set later)
        self.problems: list[Problem] = problems if problems is not None else []
        chars = delimiters.characters()
        self._bad = (
            re.compile("[" + re.escape("".join(sorted(chars))) + r"\x00-\x1f\x7f]") if chars else _CONTROL
        )
        self._table = {ord(c): " " for c in chars}

    def add(self, *elements: Any) -> None:
        self.segs.append(elements)  # the argument tuple itself: no list copy per segment

    def problem(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def text(self, value: str | None, path: str, hi: int, lo: int = 1) -> str:
        """`value` fit for an AN element of `lo`..`hi` characters ("" when absent or unfit)."""
        if value is None:
            return ""
        if not value.isascii() or self._bad.search(value):
            value = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii")
            value = _CONTROL.sub(" ", value.translate(self._table))
        value = value.rstrip()
        if not value:
            self.problem(path, "has no characters an X12 837 can carry")
            return ""
        if len(value) > hi:
            self.problem(path, f"is longer than {hi} characters, the most its 837 element holds")
            return ""
        if len(value) < lo:
            self.problem(path, f"is shorter than {lo} characters, the least its 837 element holds")
            return ""
        return value

    def amount(self, value: str | None, path: str) -> str:
        if value is None:
            return ""
        out = fmt_amount(value)
        if _digits(out) > 18:
            self.problem(path, "has more than 18 digits")
            return ""
        return out

    def quantity(self, value: str | None, path: str, max_digits: int = 15) -> str:
        if value is None:
            return ""
        out = fmt_quantity(value)
        if _digits(out) > max_digits:
            self.problem(path, f"has more than {max_digits} digits, the most its 837 element holds")
            return ""
        return out

    def code(self, value: str | None, path: str, allowed: frozenset[str] | Sequence[str]) -> str:
        """A code the guide lists for this element ("" and a problem when it is not one of them)."""
        if value is None:
            return ""
        if value not in allowed:
            self.problem(path, "is not a code the 837 implementation guide allows here")
            return ""
        return value


# ------------------------------------------------------------------------------ shared segment parts


def _person_or_org(who: Any) -> tuple[str | None, str | None]:
    return getattr(who, "last_name", None), getattr(who, "organization_name", None)


def nm1(
    out: Out,
    code: str,
    who: Any,
    path: str,
    *,
    person: bool = True,
    org: bool = True,
    id_qualifier: str = "XX",
    identifier: str | None = None,
    id_path: str | None = None,
    names: bool = True,
) -> None:
    """NM1 for a person (NM102 1) or an organization (NM102 2), with an optional identifier."""
    last, organization = _person_or_org(who)
    ident = out.text(identifier, id_path or f"{path}.npi", 80, lo=2) if identifier else ""
    if person and last:
        out.add(
            "NM1", code, "1",
            out.text(last, f"{path}.lastName", 60) if names else "",
            out.text(who.first_name, f"{path}.firstName", 35) if names else "",
            out.text(who.middle_name, f"{path}.middleName", 25) if names else "",
            "",
            out.text(who.suffix, f"{path}.suffix", 10) if names else "",
            id_qualifier if ident else "", ident,
        )  # fmt: skip
    elif org and (organization or not names):  # without names (2420B) an unnamed party is an organization
        out.add(
            "NM1", code, "2", out.text(organization, f"{path}.organizationName", 60) if names else "",
            "", "", "", "", id_qualifier if ident else "", ident,
        )  # fmt: skip
    elif not person:
        out.problem(f"{path}.organizationName", "is required: the 837 names this party as an organization")
    elif not org:
        out.problem(f"{path}.lastName", "is required: the 837 names this party as a person")
    else:
        out.problem(path, "needs organizationName, or lastName for a person")


def n3n4(out: Out, address: Address | None, path: str, *, zip9: bool = False, required: bool = True) -> None:
    """N3 and N4 of an address; `zip9` where the guide wants the full nine-digit ZIP code."""
    if address is None:
        if required:
            out.problem(path, "is required here by the 837 implementation guide")
        return
    out.add(
        "N3",
        out.text(address.address1, f"{path}.address1", 55),
        out.text(address.address2, f"{path}.address2", 55),
    )
    postal = address.postal_code or ""
    if zip9 and not (len(postal) == 9 and postal.isdigit()):
        out.problem(f"{path}.postalCode", "must be the full nine-digit ZIP code here (837 guide)")
        postal = ""
    country = address.country_code or ""
    if country and country not in _COUNTRIES:
        out.problem(f"{path}.countryCode", "is not an ISO 3166 country code")
        country = ""
    state = address.state or ""
    if state and _STATES and state not in _STATES:
        out.problem(f"{path}.state", "is not a state or province code the 837 accepts")
        state = ""
    sub = out.text(address.country_sub_division_code, f"{path}.countrySubDivisionCode", 3)
    if sub and not country:
        out.problem(f"{path}.countrySubDivisionCode", "needs countryCode")
    if sub and address.state:
        out.problem(f"{path}.countrySubDivisionCode", "give state or countrySubDivisionCode, not both")
    out.add("N4", out.text(address.city, f"{path}.city", 30, lo=2), state, postal, country, "", "", sub)


def per(
    out: Out,
    contact: ContactInformation | None,
    path: str,
    *,
    allowed: tuple[str, ...] = ("TE", "EX", "FX", "EM"),
    max_segments: int = 1,
    required: bool = False,
) -> None:
    """PER*IC segments: name, then phone (with extension), fax and email, three numbers a segment."""
    pairs: list[tuple[str, str]] = []
    if contact is not None:
        if contact.phone_number and "TE" in allowed:
            pairs.append(("TE", contact.phone_number))
            if contact.phone_extension and "EX" in allowed:
                pairs.append(("EX", contact.phone_extension))
        if contact.fax_number and "FX" in allowed:
            pairs.append(("FX", contact.fax_number))
        if contact.email and "EM" in allowed:
            email = out.text(contact.email, f"{path}.email", 256)
            if email:
                pairs.append(("EM", email))
    if not pairs:
        if required:
            out.problem(path, "needs a phone number, fax number or email (PER)")
        return
    if len(pairs) > 3 * max_segments:
        out.problem(path, f"has more numbers than {max_segments} PER segment(s) hold here")
        pairs = pairs[: 3 * max_segments]
    for i in range(0, len(pairs), 3):
        name = out.text(contact.name, f"{path}.name", 60) if i == 0 and contact is not None else ""
        elements: list[str] = ["PER", "IC", name]
        for qualifier, number in pairs[i : i + 3]:
            elements += [qualifier, number]
        out.add(*elements)


def dmg(
    out: Out, date_of_birth: str | None, gender: str | None, path: str, *, required: bool = False
) -> None:
    if not date_of_birth:
        if required:
            out.problem(f"{path}.dateOfBirth", "is required here by the 837 implementation guide")
        return
    if not gender:
        out.problem(f"{path}.gender", "is required with dateOfBirth (DMG03)")
        return
    out.add("DMG", "D8", date_of_birth, gender)


_PROVIDER_REFS = (
    ("0B", "state_license_number", "stateLicenseNumber"),
    ("1G", "provider_upin_number", "providerUpinNumber"),
    ("G2", "commercial_number", "commercialNumber"),
    ("LU", "location_number", "locationNumber"),
)


def provider_refs(out: Out, provider: Any, path: str, allowed: tuple[str, ...]) -> None:
    """Secondary identifiers of a provider (REF 0B, 1G, G2, LU), those the loop allows."""
    used: set[str] = set()
    for qualifier, field, name in _PROVIDER_REFS:
        value = getattr(provider, field, None)
        if value and qualifier in allowed:
            out.add("REF", qualifier, out.text(value, f"{path}.{name}", 50))
            used.add(qualifier)
    qualifier = getattr(provider, "secondary_identification_qualifier_code", None) or getattr(
        provider, "identification_qualifier_code", None
    )
    value = getattr(provider, "secondary_identifier", None)
    if qualifier and value and qualifier in allowed and qualifier not in used:
        out.add("REF", qualifier, out.text(value, f"{path}.secondaryIdentifier", 50))


def find_provider(request: Claim, role: str) -> tuple[ClaimProvider | None, str]:
    """The provider in `role` (billing, rendering...): its own field, else a `providers` entry."""
    own = getattr(request, role, None)
    if own is not None:
        return own, role
    wanted = {role.lower(), f"{role.lower()}provider"}
    for index, provider in enumerate(request.providers or ()):
        if (provider.provider_type or "").lower().replace(" ", "") in wanted:
            return provider, f"providers[{index}]"
    return None, role


def hi_segments(
    out: Out, composites: list[list[str]], per_segment: int, max_segments: int, path: str
) -> None:
    """HI segments of up to `per_segment` composites each."""
    if not composites:
        return
    if len(composites) > per_segment * max_segments:
        out.problem(path, f"has more than {per_segment * max_segments} codes, the most the 837 carries")
        composites = composites[: per_segment * max_segments]
    for i in range(0, len(composites), per_segment):
        out.add("HI", *composites[i : i + per_segment])


# ---------------------------------------------------------------------------------- the hierarchy


@dataclass(frozen=True, slots=True)
class Dialect:
    """What differs between the 837P and the 837I in the loops they share."""

    professional: bool
    version: str  # GS08 / ST03
    claim_loop: Callable[[Out, Any, str], None]  # writes 2300 and below


_SBR05 = frozenset(("12", "13", "14", "15", "16", "41", "42", "43", "47"))
_PWK01 = frozenset((
    "03", "04", "05", "06", "07", "08", "09", "10", "11", "13", "15", "21", "A3", "A4", "AM", "AS", "B2", "B3",
    "B4", "BR", "BS", "BT", "CB", "CK", "CT", "D2", "DA", "DB", "DG", "DJ", "DS", "EB", "HC", "HR", "I5", "IR",
    "LA", "M1", "MT", "NN", "OB", "OC", "OD", "OE", "OX", "OZ", "P4", "P5", "PE", "PN", "PO", "PQ", "PY", "PZ",
    "RB", "RR", "RT", "RX", "SG", "V5", "XP",
))  # fmt: skip


class ClaimContext:
    """Per-claim facts the shared loops need: the request, its JSON path, the dialect."""

    __slots__ = ("request", "path", "dialect")

    def __init__(self, request: Claim, path: str, dialect: Dialect) -> None:
        self.request = request
        self.path = path
        self.dialect = dialect


def _billing_key(r: Claim) -> tuple:
    billing, _ = find_provider(r, "billing")
    if isinstance(r, ProfessionalClaimRequest):
        return (billing, r.pay_to_address, r.pay_to_plan)
    return (billing, r.billing_pay_to_address_name, r.pay_to_plan)


def _patient_extras(r: Claim) -> tuple:
    info = r.claim_information
    if isinstance(r, ProfessionalClaimRequest):
        return (
            info.death_date,
            info.patient_weight,
            info.pregnancy_indicator,
            info.property_casualty_claim_number,
        )
    return (info.property_casualty_claim_number,)


def _subscriber_key(r: Claim) -> tuple:
    own = _patient_extras(r) if r.dependent is None else None
    return (
        r.subscriber, r.claim_information.claim_filing_code, r.trading_partner_service_id,
        _payer_name(r), r.payer_address, own,
    )  # fmt: skip


def _patient_key(r: Claim) -> tuple:
    return (r.dependent, _patient_extras(r))


def _payer_name(r: Claim) -> str:
    return r.trading_partner_name or r.receiver.organization_name


def write_billing(out: Out, ctx: ClaimContext) -> None:
    """2000A (after its HL): PRV*BI, 2010AA, 2010AB, 2010AC."""
    r, prof = ctx.request, ctx.dialect.professional
    billing, where = find_provider(r, "billing")
    path = f"{ctx.path}{where}"
    if billing is None:
        out.problem(f"{ctx.path}billing", "is required: the billing provider (loop 2010AA)")
        return
    if billing.taxonomy_code:
        out.add("PRV", "BI", "PXC", billing.taxonomy_code)
    if not billing.npi:
        out.problem(f"{path}.npi", "is required for the billing provider")
    nm1(out, "85", billing, path, person=prof, identifier=billing.npi)
    n3n4(out, billing.address, f"{path}.address", zip9=True)
    if billing.employer_id or billing.tax_id:
        out.add("REF", "EI", billing.employer_id or billing.tax_id)
    elif billing.ssn and prof:
        out.add("REF", "SY", billing.ssn)
    else:
        out.problem(
            f"{path}.employerId", "the billing provider needs employerId" + (" (or ssn)" if prof else "")
        )
    if prof:
        provider_refs(out, billing, path, ("0B", "1G"))
    per(
        out,
        billing.contact_information,
        f"{path}.contactInformation",
        allowed=("TE", "EX", "FX", "EM"),
        max_segments=2,
    )

    if isinstance(r, ProfessionalClaimRequest):
        if r.pay_to_address is not None:
            out.add("NM1", "87", "2")
            n3n4(out, r.pay_to_address, f"{ctx.path}payToAddress")
    elif r.billing_pay_to_address_name is not None:
        pay_to = r.billing_pay_to_address_name
        if pay_to.entity_type_qualifier not in (None, "2"):
            out.problem(f"{ctx.path}billingPayToAddressName.entityTypeQualifier", "must be 2 in an 837I")
        out.add("NM1", "87", "2")
        n3n4(out, pay_to.address, f"{ctx.path}billingPayToAddressName.address")
    plan = r.pay_to_plan
    if plan is not None:
        ppath = f"{ctx.path}payToPlan"
        out.add(
            "NM1", "PE", "2", out.text(plan.organization_name, f"{ppath}.organizationName", 60), "", "", "", "",
            plan.primary_identifier_type_code, out.text(plan.primary_identifier, f"{ppath}.primaryIdentifier", 80, lo=2),
        )  # fmt: skip
        n3n4(out, plan.address, f"{ppath}.address")
        if plan.secondary_identifier_type_code and plan.secondary_identifier:
            out.add(
                "REF",
                out.code(
                    plan.secondary_identifier_type_code,
                    f"{ppath}.secondaryIdentifierTypeCode",
                    ("2U", "FY", "NF"),
                ),
                out.text(plan.secondary_identifier, f"{ppath}.secondaryIdentifier", 50),
            )
        out.add("REF", "EI", plan.tax_identification_number)


def _pat_extras(out: Out, r: Claim) -> list[str]:
    """PAT05-PAT09 (death date, weight, pregnancy) of a professional claim's patient."""
    if not isinstance(r, ProfessionalClaimRequest):
        return []
    info = r.claim_information
    if not (info.death_date or info.patient_weight or info.pregnancy_indicator):
        return []
    weight = out.quantity(info.patient_weight, "claimInformation.patientWeight", 10)
    return [
        "D8" if info.death_date else "", info.death_date or "", "01" if weight else "", weight,
        info.pregnancy_indicator or "",
    ]  # fmt: skip


def write_subscriber(out: Out, ctx: ClaimContext) -> None:
    """2000B (after its HL): SBR, PAT, 2010BA, 2010BB."""
    r, prof = ctx.request, ctx.dialect.professional
    s: ClaimSubscriber = r.subscriber
    sp = f"{ctx.path}subscriber"
    patient = r.dependent is None
    sbr05 = out.code(s.insurance_type_code, f"{sp}.insuranceTypeCode", _SBR05) if prof else ""
    out.add(
        "SBR", s.payment_responsibility_level_code, "18" if patient else "",
        out.text(s.group_number or s.policy_number, f"{sp}.groupNumber", 50),
        out.text(s.subscriber_group_name, f"{sp}.subscriberGroupName", 60),
        sbr05, "", "", "", r.claim_information.claim_filing_code,
    )  # fmt: skip
    if patient and prof:
        extras = _pat_extras(out, r)
        if extras:
            out.add("PAT", "", "", "", "", *extras)
    nm1(out, "IL", s, sp, identifier=s.member_id, id_qualifier="MI", id_path=f"{sp}.memberId")
    n3n4(out, s.address, f"{sp}.address", required=False)
    dmg(out, s.date_of_birth, s.gender, sp, required=False)
    if s.ssn:
        out.add("REF", "SY", s.ssn)
    if patient and r.claim_information.property_casualty_claim_number:
        out.add(
            "REF",
            "Y4",
            out.text(
                r.claim_information.property_casualty_claim_number,
                f"{ctx.path}claimInformation.propertyCasualtyClaimNumber",
                50,
            ),
        )
    if prof:
        per(out, s.contact_information, f"{sp}.contactInformation", allowed=("TE", "EX"))
    payer_id = out.text(r.trading_partner_service_id, f"{ctx.path}tradingPartnerServiceId", 80, lo=2)
    name_path = (
        f"{ctx.path}tradingPartnerName" if r.trading_partner_name else f"{ctx.path}receiver.organizationName"
    )
    out.add("NM1", "PR", "2", out.text(_payer_name(r), name_path, 60), "", "", "", "", "PI", payer_id)
    n3n4(out, r.payer_address, f"{ctx.path}payerAddress", required=False)


def write_patient(out: Out, ctx: ClaimContext) -> None:
    """2000C (after its HL): PAT, 2010CA."""
    r, prof = ctx.request, ctx.dialect.professional
    d: ClaimDependent = r.dependent  # type: ignore[assignment]
    dp = f"{ctx.path}dependent"
    extras = _pat_extras(out, r) if prof else []
    out.add("PAT", d.relationship_to_subscriber_code, *(["", "", ""] + extras if extras else []))
    nm1(out, "QC", d, dp, org=False)
    n3n4(out, d.address, f"{dp}.address")
    dmg(out, d.date_of_birth, d.gender, dp, required=True)
    if r.claim_information.property_casualty_claim_number:
        out.add(
            "REF",
            "Y4",
            out.text(
                r.claim_information.property_casualty_claim_number,
                f"{ctx.path}claimInformation.propertyCasualtyClaimNumber",
                50,
            ),
        )
    if d.member_id:
        out.add("REF", "1W", out.text(d.member_id, f"{dp}.memberId", 50))
    elif d.ssn:
        out.add("REF", "SY", d.ssn)
    if prof:
        per(out, d.contact_information, f"{dp}.contactInformation", allowed=("TE", "EX"))


def write_other_subscriber(out: Out, o: OtherSubscriberInformation, path: str, prof: bool) -> None:
    """Loop 2320 with its 2330A and 2330B."""
    out.add(
        "SBR", o.payment_responsibility_level_code, o.individual_relationship_code,
        out.text(o.insurance_group_or_policy_number or o.group_number or o.policy_number,
                 f"{path}.insuranceGroupOrPolicyNumber", 50),
        out.text(o.other_insured_group_name, f"{path}.otherInsuredGroupName", 60),
        out.code(o.insurance_type_code, f"{path}.insuranceTypeCode", _SBR05) if prof else "",
        "", "", "", o.claim_filing_indicator_code,
    )  # fmt: skip
    for i, adj in enumerate(o.claim_level_adjustments or ()):
        details = adj.adjustment_details or adj.claim_adjustment_details or []
        elements: list[str] = ["CAS", adj.adjustment_group_code]
        for j, det in enumerate(details):
            elements += [
                det.adjustment_reason_code,
                out.amount(
                    det.adjustment_amount, f"{path}.claimLevelAdjustments[{i}].adjustmentDetails[{j}]"
                ),
                out.quantity(
                    det.adjustment_quantity, f"{path}.claimLevelAdjustments[{i}].adjustmentDetails[{j}]"
                ),
            ]
        if not details:
            out.problem(
                f"{path}.claimLevelAdjustments[{i}].adjustmentDetails", "needs at least one adjustment"
            )
            continue
        out.add(*elements)
    amounts = [("D", o.payer_paid_amount, "payerPaidAmount"), ("A8", o.non_covered_charge_amount, "nonCoveredChargeAmount"),
               ("EAF", o.remaining_patient_liability, "remainingPatientLiability")]  # fmt: skip
    if not prof:
        amounts = [amounts[0], amounts[2], amounts[1]]
    for qualifier, value, name in amounts:
        if value is not None:
            out.add("AMT", qualifier, out.amount(value, f"{path}.{name}"))
    out.add(
        "OI", "", "", o.benefits_assignment_certification_indicator,
        "P" if prof and o.patient_signature_generated_for_patient else "", "", o.release_of_information_code,
    )  # fmt: skip
    n = o.other_subscriber_name
    np = f"{path}.otherSubscriberName"
    person = n.other_insured_qualifier == "1"
    out.add(
        "NM1", "IL", n.other_insured_qualifier, out.text(n.other_insured_last_name, f"{np}.otherInsuredLastName", 60),
        out.text(n.other_insured_first_name, f"{np}.otherInsuredFirstName", 35) if person else "",
        out.text(n.other_insured_middle_name, f"{np}.otherInsuredMiddleName", 25) if person else "",
        "", out.text(n.other_insured_suffix, f"{np}.otherInsuredSuffix", 10) if person else "",
        n.other_insured_identifier_type_code, out.text(n.other_insured_identifier, f"{np}.otherInsuredIdentifier", 80, lo=2),
    )  # fmt: skip
    n3n4(out, n.other_insured_address, f"{np}.otherInsuredAddress", required=False)
    if n.other_insured_additional_identifier:
        extra = out.text(n.other_insured_additional_identifier, f"{np}.otherInsuredAdditionalIdentifier", 50)
        if prof and not (len(extra) == 9 and extra.isdigit()):
            out.problem(
                f"{np}.otherInsuredAdditionalIdentifier", "must be a nine-digit SSN in an 837P (REF*SY)"
            )
        else:
            out.add("REF", "SY", extra)
    p = o.other_payer_name
    pp = f"{path}.otherPayerName"
    out.add(
        "NM1", "PR", "2", out.text(p.other_payer_organization_name, f"{pp}.otherPayerOrganizationName", 60),
        "", "", "", "", p.other_payer_identifier_type_code,
        out.text(p.other_payer_identifier, f"{pp}.otherPayerIdentifier", 80, lo=2),
    )  # fmt: skip
    n3n4(out, p.other_payer_address, f"{pp}.otherPayerAddress", required=False)
    if p.other_payer_adjudication_or_payment_date:
        out.add("DTP", "573", "D8", p.other_payer_adjudication_or_payment_date)
    for i, ref in enumerate(p.other_payer_secondary_identifier or ()):
        out.add(
            "REF", out.code(ref.qualifier, f"{pp}.otherPayerSecondaryIdentifier[{i}].qualifier", ("2U", "EI", "FY", "NF")),
            out.text(ref.identifier, f"{pp}.otherPayerSecondaryIdentifier[{i}].identifier", 50),
        )  # fmt: skip
    for qualifier, value, name in (
        ("G1", p.other_payer_prior_authorization_number, "otherPayerPriorAuthorizationNumber"),
        (
            "9F",
            p.other_payer_prior_authorization_or_referral_number,
            "otherPayerPriorAuthorizationOrReferralNumber",
        ),
        (
            "T4",
            "Y" if p.other_payer_claim_adjustment_indicator else None,
            "otherPayerClaimAdjustmentIndicator",
        ),
        ("F8", p.other_payer_claim_control_number, "otherPayerClaimControlNumber"),
    ):
        if value:
            out.add("REF", qualifier, out.text(value, f"{pp}.{name}", 50))


# ------------------------------------------------------------------------------ batch and envelope


def _header_key(r: Claim) -> tuple:
    return (r.submitter, r.receiver)


def _write_header(out: Out, r: Claim, env: Envelope, bht03: str, now: datetime, path: str) -> None:
    out.add(
        "BHT",
        "0019",
        "00",
        out.text(bht03, "batchId", 50),
        now.strftime("%Y%m%d"),
        now.strftime("%H%M"),
        "CH",
    )
    sub = r.submitter
    nm1(
        out,
        "41",
        sub,
        f"{path}submitter",
        id_qualifier="46",
        identifier=env.application_sender or env.sender_id,
        id_path="envelope.applicationSender",
    )
    per(
        out,
        sub.contact_information,
        f"{path}submitter.contactInformation",
        allowed=("TE", "EX", "FX", "EM"),
        max_segments=2,
        required=True,
    )
    out.add(
        "NM1",
        "40",
        "2",
        out.text(r.receiver.organization_name, f"{path}receiver.organizationName", 60),
        "",
        "",
        "",
        "",
        "46",
        env.application_receiver or env.receiver_id,
    )


def transaction_set_indexes(
    claims: Sequence[Claim], max_per_set: int = MAX_CLAIMS_PER_TRANSACTION
) -> list[int]:
    """Which transaction set (0, 1, ...) of the interchange each claim is written into.

    A set holds at most ``max_per_set`` claims (5,000 per the guides) of one submitter and
    receiver (loops 1000A/1000B are per set). The pipeline numbers ST02 from this and matches
    999 AK2 loops by it, so `write_claims` splits by this very function.
    """
    if not 1 <= max_per_set <= MAX_CLAIMS_PER_TRANSACTION:
        raise ValueError(f"a transaction set holds 1 to {MAX_CLAIMS_PER_TRANSACTION} claims")
    indexes: list[int] = []
    header: tuple | None = None
    in_set = 0
    for request in claims:
        key = _header_key(request)
        if not indexes or in_set >= max_per_set or key != header:
            indexes.append(indexes[-1] + 1 if indexes else 0)
            header, in_set = key, 0
        else:
            indexes.append(indexes[-1])
        in_set += 1
    return indexes


def write_claims(
    claims: Sequence[Claim], env: Envelope, batch_id: str | None, dialect: Dialect,
    max_per_set: int = MAX_CLAIMS_PER_TRANSACTION,
) -> str:
    """One interchange with one functional group holding the claims in as few transaction sets as allowed."""
    if not claims:
        raise ClaimMappingError("no claims to write", [Problem("", "a batch needs at least one claim")])
    now = env.now or datetime.now()
    problems: list[Problem] = []
    bodies: list[list[Sequence[Any]]] = []
    out: Out | None = None
    many = len(claims) > 1
    in_set = 0
    hl = 0
    hl_a = hl_b = hl_c = None  # current HL segments (lists), to reuse loops and set HL04
    key_a = key_b = key_c = None
    b_has_children = False
    count_under = 0  # claims under the current innermost HL (at most 100 per the guide)
    set_of = transaction_set_indexes(claims, max_per_set)
    for index, request in enumerate(claims):
        path = f"[{index}]." if many else ""
        ctx = ClaimContext(request, path, dialect)
        if out is None or set_of[index] != len(bodies) - 1:
            out = Out(env.delimiters, problems)
            bodies.append(out.segs)
            _write_header(out, request, env, batch_id or request.control_number, now, path)
            in_set, hl = 0, 0
            hl_a = hl_b = hl_c = None
            key_a = key_b = key_c = None
        in_set += 1
        ka = _billing_key(request)
        if hl_a is None or ka != key_a:
            hl += 1
            hl_a, key_a = ["HL", str(hl), "", "20", "1"], ka
            out.segs.append(hl_a)
            write_billing(out, ctx)
            hl_b = hl_c = None
        kb = _subscriber_key(request)
        patient = request.dependent is None
        # a subscriber's own claims must come before its 2000C loops
        if (
            hl_b is None
            or kb != key_b
            or (patient and b_has_children)
            or (patient and hl_c is None and count_under >= 100)
        ):
            hl += 1
            hl_b, key_b, b_has_children = ["HL", str(hl), hl_a[1], "22", "0"], kb, False
            out.segs.append(hl_b)
            write_subscriber(out, ctx)
            hl_c, count_under = None, 0
        if not patient:
            kc = _patient_key(request)
            if hl_c is None or kc != key_c or count_under >= 100:
                hl += 1
                hl_c, key_c = ["HL", str(hl), hl_b[1], "23", "0"], kc
                hl_b[4] = "1"
                b_has_children = True
                out.segs.append(hl_c)
                write_patient(out, ctx)
                count_under = 0
        count_under += 1
        dialect.claim_loop(out, request, path)
    if problems:
        raise ClaimMappingError(f"{len(problems)} problem(s) writing the 837", problems)
    return wrap(env, "HC", dialect.version, "837", bodies)


# ============================================================================ reading (X12 -> JSON)


def read_claim_transactions(source: Any) -> list[Transaction]:
    """Transaction sets of `source`: bytes, X12 text (a str starting with ISA), a path or a stream."""
    if isinstance(source, str) and source.lstrip().startswith("ISA"):
        source = source.encode("latin-1")
    return [t for t in read_transactions(source) if t.transaction_set_id == "837"]


@dataclass(slots=True)
class ClaimHierarchy:
    transaction: Transaction
    billing: Loop  # 2000A
    subscriber: Loop  # 2000B
    patient: Loop | None  # 2000C
    claim: Loop  # 2300


def claim_hierarchies(t: Transaction) -> Iterator[ClaimHierarchy]:
    for a in t.body.walk("2000A"):
        for b in a.loops("2000B"):
            for claim in b.loops("2300"):
                yield ClaimHierarchy(t, a, b, None, claim)
            for c in b.loops("2000C"):
                for claim in c.loops("2300"):
                    yield ClaimHierarchy(t, a, b, c, claim)


def x12_amount(value: str) -> str | None:
    if not value:
        return None
    try:
        return fmt_amount(value)
    except InvalidOperation:
        return value


def x12_quantity(value: str) -> str | None:
    if not value:
        return None
    try:
        number = Decimal(value)
        if number != number.quantize(_THREE_PLACES):
            number = number.quantize(_THREE_PLACES, rounding=ROUND_HALF_UP)
        return fmt_quantity(str(number))
    except InvalidOperation:
        return value


def components(seg: Seg | None, pos: int) -> list[str]:
    """Components of a composite element; tolerates senders that use '>' whatever ISA16 says."""
    if seg is None:
        return []
    parts = seg.components(pos)
    if len(parts) == 1 and ">" in parts[0]:
        return parts[0].split(">")
    return parts


def _v(value: str) -> str | None:
    return value or None


def read_name(nm1_seg: Seg | None) -> dict[str, Any]:
    """Name fields of an NM1: lastName/firstName/middleName/suffix, or organizationName."""
    if nm1_seg is None:
        return {}
    if nm1_seg.get(2) == "1":
        return drop_none({
            "last_name": _v(nm1_seg.get(3)), "first_name": _v(nm1_seg.get(4)),
            "middle_name": _v(nm1_seg.get(5)), "suffix": _v(nm1_seg.get(7)),
        })  # fmt: skip
    return drop_none({"organization_name": _v(nm1_seg.get(3))})


def read_address(loop: Loop | None) -> dict[str, Any] | None:
    if loop is None:
        return None
    n3, n4 = loop.first("N3"), loop.first("N4")
    if n3 is None and n4 is None:
        return None
    address = {
        "address1": _v(n3.get(1)) if n3 else None,
        "address2": _v(n3.get(2)) if n3 else None,
        "city": _v(n4.get(1)) if n4 else None,
        "state": _v(n4.get(2)) if n4 else None,
        "postal_code": _v(n4.get(3)) if n4 else None,
        "country_code": _v(n4.get(4)) if n4 else None,
        "country_sub_division_code": _v(n4.get(7)) if n4 else None,
    }
    return drop_none(address)


def read_contact(loop: Loop | None) -> dict[str, Any] | None:
    if loop is None:
        return None
    pers = loop.segments("PER")
    if not pers:
        return None
    contact: dict[str, Any] = {"name": _v(pers[0].get(2))}
    keys = {"TE": "phone_number", "EX": "phone_extension", "FX": "fax_number", "EM": "email"}
    for p in pers:
        for pos in (3, 5, 7):
            key = keys.get(p.get(pos))
            if key and key not in contact and p.get(pos + 1):
                contact[key] = p.get(pos + 1)
    return drop_none(contact)


_TAXONOMY = re.compile(r"[0-9A-Z]{9}X")
_REF_FIELDS = {"0B": "state_license_number", "1G": "provider_upin_number", "G2": "commercial_number",
               "LU": "location_number"}  # fmt: skip


def read_refs(loop: Loop, mapping: dict[str, str]) -> dict[str, Any]:
    """REF values by qualifier into the fields `mapping` names (the first of each qualifier)."""
    out: dict[str, Any] = {}
    for ref in loop.segments("REF"):
        field = mapping.get(ref.get(1))
        if field and field not in out and ref.get(2):
            out[field] = ref.get(2)
    return out


def read_provider(
    loop: Loop | None, provider_type: str, *, taxonomy: str | None = None
) -> dict[str, Any] | None:
    """A ClaimProvider from an NM1 loop: name, NPI, taxonomy (PRV), secondary ids, address, contact."""
    if loop is None:
        return None
    name = loop.first("NM1")
    data: dict[str, Any] = {"provider_type": provider_type, **read_name(name)}
    if name is not None and name.get(8) == "XX" and name.get(9):
        data["npi"] = name.get(9)
    prv = loop.first("PRV")
    code = prv.get(3) if prv is not None and prv.get(3) else taxonomy
    if code and _TAXONOMY.fullmatch(code):  # the model wants NUCC's [0-9A-Z]{9}X form
        data["taxonomy_code"] = code
    data.update(read_refs(loop, _REF_FIELDS))
    address = read_address(loop)
    if address:
        data["address"] = address
    contact = read_contact(loop)
    if contact:
        data["contact_information"] = contact
    return data


def read_other_subscriber(loop: Loop, prof: bool) -> dict[str, Any] | None:
    """OtherSubscriberInformation from a 2320 loop (None when its required 2330A/2330B are missing)."""
    sbr, oi = loop.first("SBR"), loop.first("OI")
    a, b = loop.loop("2330A"), loop.loop("2330B")
    if sbr is None or oi is None or a is None or b is None:
        return None
    data: dict[str, Any] = {
        "payment_responsibility_level_code": sbr.get(1),
        "individual_relationship_code": sbr.get(2),
        "insurance_group_or_policy_number": _v(sbr.get(3)),
        "other_insured_group_name": _v(sbr.get(4)),
        "insurance_type_code": _v(sbr.get(5)) if prof else None,
        "claim_filing_indicator_code": sbr.get(9),
        "benefits_assignment_certification_indicator": oi.get(3),
        "patient_signature_generated_for_patient": True if prof and oi.get(4) == "P" else None,
        "release_of_information_code": oi.get(6),
    }
    adjustments = []
    for cas in loop.segments("CAS"):
        details = []
        for pos in range(2, 19, 3):
            if cas.get(pos):
                details.append(drop_none({
                    "adjustment_reason_code": cas.get(pos),
                    "adjustment_amount": x12_amount(cas.get(pos + 1)),
                    "adjustment_quantity": x12_quantity(cas.get(pos + 2)),
                }))  # fmt: skip
        adjustments.append({"adjustment_group_code": cas.get(1), "adjustment_details": details})
    if adjustments:
        data["claim_level_adjustments"] = adjustments
    for amt in loop.segments("AMT"):
        field = {
            "D": "payer_paid_amount",
            "A8": "non_covered_charge_amount",
            "EAF": "remaining_patient_liability",
        }.get(amt.get(1))
        if field:
            data[field] = x12_amount(amt.get(2))
    name = a.first("NM1")
    person = name is not None and name.get(2) == "1"
    sy = a.first("REF", "SY")
    data["other_subscriber_name"] = drop_none({
        "other_insured_qualifier": name.get(2) if name else None,
        "other_insured_last_name": _v(name.get(3)) if name else None,
        "other_insured_first_name": _v(name.get(4)) if name and person else None,
        "other_insured_middle_name": _v(name.get(5)) if name and person else None,
        "other_insured_suffix": _v(name.get(7)) if name and person else None,
        "other_insured_identifier_type_code": _v(name.get(8)) if name else None,
        "other_insured_identifier": _v(name.get(9)) if name else None,
        "other_insured_address": read_address(a),
        "other_insured_additional_identifier": _v(sy.get(2)) if sy else None,
    })  # fmt: skip
    payer = b.first("NM1")
    dtp = b.first("DTP", "573")
    secondary = [
        {"qualifier": ref.get(1), "identifier": ref.get(2)}
        for ref in b.segments("REF", ("2U", "EI", "FY", "NF"))
    ]
    t4 = b.first("REF", "T4")
    data["other_payer_name"] = drop_none({
        "other_payer_organization_name": _v(payer.get(3)) if payer else None,
        "other_payer_identifier_type_code": _v(payer.get(8)) if payer else None,
        "other_payer_identifier": _v(payer.get(9)) if payer else None,
        "other_payer_address": read_address(b),
        "other_payer_adjudication_or_payment_date": _v(dtp.get(3)) if dtp else None,
        "other_payer_secondary_identifier": secondary or None,
        "other_payer_claim_adjustment_indicator": True if t4 is not None and t4.get(2) == "Y" else None,
        **read_refs(b, {"G1": "other_payer_prior_authorization_number",
                        "9F": "other_payer_prior_authorization_or_referral_number",
                        "F8": "other_payer_claim_control_number"}),
    })  # fmt: skip
    return drop_none(data)


def drop_none(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None and v != [] and v != {}}


def read_parties(h: ClaimHierarchy, prof: bool) -> dict[str, Any]:
    """Request fields shared by both claim types: control number, submitter, receiver, billing,
    subscriber, dependent, payer, pay-to; plus the patient facts the claim keeps (PAT, REF*Y4)."""
    t = h.transaction
    header = t.body
    bht = header.first("BHT")
    bht03 = bht.get(3) if bht is not None else ""
    if len(bht03) == 9 and bht03.isdigit():
        control = bht03
    elif t.control_number.isdigit() and len(t.control_number) <= 9:
        control = t.control_number.zfill(9)
    else:
        control = "000000001"
    sub_loop, rec_loop = header.loop("1000A"), header.loop("1000B")
    submitter = {**read_name(sub_loop.first("NM1") if sub_loop else None)}
    contact = read_contact(sub_loop)
    if contact:
        submitter["contact_information"] = contact
    receiver = {
        "organization_name": _v(rec_loop.first("NM1").get(3)) if rec_loop and rec_loop.first("NM1") else None
    }
    usage = t.isa[14] if len(t.isa) > 14 else ""

    a = h.billing
    aa = a.loop("2010AA")
    billing = read_provider(
        aa, "BillingProvider", taxonomy=(a.first("PRV").get(3) if a.first("PRV") else None)
    )
    if billing is not None and aa is not None:
        billing.update(read_refs(aa, {"EI": "employer_id", "SY": "ssn"}))
    data: dict[str, Any] = {
        "control_number": control,
        "usage_indicator": usage if usage in ("P", "T") else None,
        "submitter": drop_none(submitter),
        "receiver": drop_none(receiver),
        "billing": billing,
    }
    ab, ac = a.loop("2010AB"), a.loop("2010AC")
    if ab is not None:
        if prof:
            data["pay_to_address"] = read_address(ab)
        else:
            nm = ab.first("NM1")
            data["billing_pay_to_address_name"] = drop_none(
                {"entity_type_qualifier": _v(nm.get(2)) if nm else None, "address": read_address(ab)}
            )
    if ac is not None:
        nm = ac.first("NM1")
        secondary = next(iter(ac.segments("REF", ("2U", "FY", "NF"))), None)
        ei = ac.first("REF", "EI")
        data["pay_to_plan"] = drop_none({
            "organization_name": _v(nm.get(3)) if nm else None,
            "primary_identifier_type_code": _v(nm.get(8)) if nm else None,
            "primary_identifier": _v(nm.get(9)) if nm else None,
            "address": read_address(ac),
            "secondary_identifier_type_code": secondary.get(1) if secondary else None,
            "secondary_identifier": _v(secondary.get(2)) if secondary else None,
            "tax_identification_number": _v(ei.get(2)) if ei else None,
        })  # fmt: skip

    b = h.subscriber
    sbr = b.first("SBR")
    ba, bb = b.loop("2010BA"), b.loop("2010BB")
    name = ba.first("NM1") if ba else None
    demo = ba.first("DMG") if ba else None
    subscriber: dict[str, Any] = {
        "member_id": _v(name.get(9)) if name else None,
        "payment_responsibility_level_code": _v(sbr.get(1)) if sbr else None,
        "group_number": _v(sbr.get(3)) if sbr else None,
        "subscriber_group_name": _v(sbr.get(4)) if sbr else None,
        "insurance_type_code": _v(sbr.get(5)) if sbr and prof else None,
        **read_name(name),
        "gender": _v(demo.get(3)) if demo else None,
        "date_of_birth": _v(demo.get(2)) if demo else None,
        "address": read_address(ba),
        "contact_information": read_contact(ba) if prof else None,
    }
    if ba is not None:
        subscriber.update(read_refs(ba, {"SY": "ssn"}))
    data["subscriber"] = drop_none(subscriber)
    payer = bb.first("NM1") if bb else None
    data["trading_partner_service_id"] = _v(payer.get(9)) if payer else None
    data["trading_partner_name"] = _v(payer.get(3)) if payer else None
    data["payer_address"] = read_address(bb)
    claim_extras: dict[str, Any] = {"claim_filing_code": _v(sbr.get(9)) if sbr else None}
    pat_loop, name_loop = (b, ba) if h.patient is None else (h.patient, h.patient.loop("2010CA"))
    pat = pat_loop.first("PAT")
    if prof and pat is not None:
        claim_extras["death_date"] = _v(pat.get(6)) if pat.get(5) == "D8" else None
        claim_extras["patient_weight"] = x12_quantity(pat.get(8))
        claim_extras["pregnancy_indicator"] = _v(pat.get(9))
    if name_loop is not None:
        claim_extras.update(read_refs(name_loop, {"Y4": "property_casualty_claim_number"}))
    if h.patient is not None:
        ca = h.patient.loop("2010CA")
        pname = ca.first("NM1") if ca else None
        pdemo = ca.first("DMG") if ca else None
        dependent: dict[str, Any] = {
            **read_name(pname),
            "gender": _v(pdemo.get(3)) if pdemo else None,
            "date_of_birth": _v(pdemo.get(2)) if pdemo else None,
            "relationship_to_subscriber_code": _v(pat.get(1)) if pat else None,
            "address": read_address(ca),
            "contact_information": read_contact(ca) if prof else None,
        }
        if ca is not None:
            dependent.update(read_refs(ca, {"1W": "member_id", "SY": "ssn"}))
        data["dependent"] = drop_none(dependent)
    data["_claim"] = drop_none(claim_extras)
    return drop_none(data)


def build_models(model: type, items: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    """Validate each read claim into `model`; every failure becomes a problem naming the claim."""
    from pydantic import ValidationError

    from edi.checks import problems_from_validation_error

    out, problems = [], []
    for where, data in items:
        try:
            out.append(model.model_validate(data))
        except ValidationError as error:
            for p in problems_from_validation_error(error):
                path = re.sub(r"_([a-z])", lambda m: m.group(1).upper(), p.path)
                problems.append(Problem(f"{where}.{path}" if path else where, p.message))
    if problems:
        raise ClaimMappingError(f"{len(problems)} problem(s) reading the 837 as claims", problems)
    return out


@lru_cache(maxsize=512)  # model field names: a few hundred at most, met on every claim
def camel(name: str) -> str:
    """snake_case model field name to its camelCase JSON name (for problem paths)."""
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def write_attachments_and_contract(out, info, cp: str) -> None:  # noqa: ANN001 - the 837 writers' builder and claim
    """2300 PWK (at most 10 attachments) and CN1, the same in 837P and 837I."""
    sup = info.claim_supplemental_information
    if sup is not None:
        sp = f"{cp}.claimSupplementalInformation"
        reports = ([sup.report_information] if sup.report_information else []) + list(
            sup.report_informations or ()
        )
        if len(reports) > 10:
            out.problem(f"{sp}.reportInformations", "an 837 claim carries at most 10 attachments (PWK)")
        for i, rep in enumerate(reports[:10]):
            control = out.text(rep.attachment_control_number, f"{sp}.reportInformations[{i}].attachmentControlNumber",
                               80, lo=2)  # fmt: skip
            out.add("PWK", out.code(rep.attachment_report_type_code, f"{sp}.reportInformations[{i}].attachmentReportTypeCode",
                                    _PWK01),
                    rep.attachment_transmission_code, "", "", "AC" if control else "", control)  # fmt: skip
    contract = info.claim_contract_information
    if contract is not None:
        kp = f"{cp}.claimContractInformation"
        out.add(
            "CN1", contract.contract_type_code, out.amount(contract.contract_amount, f"{kp}.contractAmount"),
            out.quantity(contract.contract_percentage, f"{kp}.contractPercentage", 6),
            out.text(contract.contract_code, f"{kp}.contractCode", 50),
            out.quantity(contract.terms_discount_percentage, f"{kp}.termsDiscountPercentage", 6),
            out.text(contract.contract_version_identifier, f"{kp}.contractVersionIdentifier", 30),
        )  # fmt: skip


def write_claim_refs(out, info, cp: str, refs: tuple[tuple[str, str], ...]) -> None:  # noqa: ANN001
    """2300 REF segments from claimSupplementalInformation, in the guide's order for the 837 at hand."""
    sup = info.claim_supplemental_information
    if sup is None:
        return
    for field, qualifier in refs:
        value = getattr(sup, field)
        if value:
            out.add("REF", qualifier, out.text(value, f"{cp}.claimSupplementalInformation.{camel(field)}", 50))
