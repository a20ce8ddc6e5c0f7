"""Request checks beyond the JSON schema, reporting every problem at once with a JSON path.

The schema (the Pydantic models) says what a request may look like; these checks
say whether it makes sense: NPI check digits, real calendar dates in order,
charges that balance (SNIP level 3), diagnosis pointers that point somewhere,
code formats and code lists, and the size limits of the implementation guides.
Each finding is a ``Problem`` whose ``path`` points into the request in the
``claimInformation.serviceLines[2].professionalService.lineItemChargeAmount``
style, so a requester can fix everything in one round trip.

The checks read the raw JSON (a dict), not a validated model, so they still run
when the schema rejects other parts of the request; ``validate_request`` runs the
schema and the checks together. Messages never repeat names, identifiers or
dates from the request (they are PHI); only amounts appear, in balancing messages.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, overload

from pydantic import ValidationError

from edi.codes import PLACE_OF_SERVICE_CODES, SERVICE_TYPE_CODES, STATE_CODES
from edi.models.claims import (
    MAX_INSTITUTIONAL_SERVICE_LINES,
    MAX_PROFESSIONAL_SERVICE_LINES,
    InstitutionalClaimRequest,
    ProfessionalClaimRequest,
)
from edi.models.common import AMOUNT_PATTERN, RequestModel, ResponseError
from edi.models.eligibility import EligibilityRequest

__all__ = [
    "CPT_PATTERN",
    "HCPCS_PATTERN",
    "ICD10_CM_PATTERN",
    "MAX_CLAIMS_PER_TRANSACTION",
    "MAX_PROFESSIONAL_DIAGNOSIS_POINTER",
    "REQUEST_MODELS",
    "Problem",
    "RequestKind",
    "check_claim_batch",
    "check_eligibility_request",
    "check_institutional_claim",
    "check_professional_claim",
    "check_request",
    "npi_is_valid",
    "problems_from_validation_error",
    "validate_request",
]

RequestKind = Literal["eligibility", "professional", "institutional"]

MAX_CLAIMS_PER_TRANSACTION = 5000
MAX_PROFESSIONAL_DIAGNOSIS_POINTER = 12

# ICD-10-CM: letter, digit, alphanumeric, then up to four more after an optional dot (the dot is not sent in X12).
ICD10_CM_PATTERN = re.compile(r"^[A-Z][0-9][0-9A-Z](\.?[0-9A-Z]{1,4})?$")
CPT_PATTERN = re.compile(r"^\d{4}[0-9A-Z]$")
HCPCS_PATTERN = re.compile(r"^[A-V]\d{4}$")

_DATE_KEY = re.compile(r"^(dateOf[A-Z]\w*|\w*Date|\w*DateEnd|\w*DateOfService)$")
_NPI_KEYS = frozenset({"npi", "nationalProviderIdentifier"})
_STATE_KEYS = frozenset({"state", "autoAccidentStateCode", "autoAccidentState"})
_PRINCIPAL_DIAGNOSIS = frozenset({"ABK", "BK"})
_ICD10_QUALIFIERS = frozenset({"ABK", "ABF", "ABJ", "ABN", "APR"})
_REPLACEMENT_FREQUENCIES = frozenset({"7", "8"})


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a request: where (a JSON path; empty for the whole request) and what."""

    path: str
    message: str

    def to_response_error(self) -> ResponseError:
        """The problem in the Optum error layout (``field``, ``description``, ``followupAction``)."""
        return ResponseError(
            field=self.path or None,
            description=self.message,
            followup_action="Please Correct and Resubmit",
        )


# ------------------------------------------------------------------ helpers


def _join(parent: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else key


def _get(data: object, key: str) -> Any:
    return data.get(key) if isinstance(data, Mapping) else None


def _indexed(value: object) -> Iterator[tuple[int, Any]]:
    if isinstance(value, list):
        yield from enumerate(value)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _walk(data: object, path: str = "") -> Iterator[tuple[str, str, Any]]:
    """Every (path, key, value) of every object in ``data``, depth first."""
    if isinstance(data, Mapping):
        for key, value in data.items():
            if not isinstance(key, str):
                continue
            child = _join(path, key)
            yield child, key, value
            yield from _walk(value, child)
    elif isinstance(data, list):
        for index, item in enumerate(data):
            yield from _walk(item, _join(path, index))


def _parse_date(value: object) -> date | None:
    if not isinstance(value, str) or not re.fullmatch(r"\d{8}", value):
        return None
    try:
        return datetime.strptime(value, "%Y%m%d").date()
    except ValueError:
        return None


def _amount(value: object) -> Decimal | None:
    """The amount as an exact decimal when it is well formed (a schema problem otherwise), else None."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    text = value if isinstance(value, str) else str(value)
    if isinstance(value, str) and not re.fullmatch(AMOUNT_PATTERN, value):
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def npi_is_valid(npi: str) -> bool:
    """True when ``npi`` is ten digits whose last one is the Luhn check digit over 80840 + the first nine."""
    if not re.fullmatch(r"\d{10}", npi):
        return False
    total = 0
    for position, char in enumerate(reversed("80840" + npi)):
        digit = int(char)
        if position % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


# ---------------------------------------------------------- generic checks


def _check_npis(data: object) -> list[Problem]:
    problems = []
    for path, key, value in _walk(data):
        if key in _NPI_KEYS and isinstance(value, str) and not npi_is_valid(value):
            problems.append(Problem(path, "is not a valid NPI: 10 digits whose check digit must match (Luhn)"))
    return problems


def _check_states(data: object) -> list[Problem]:
    problems = []
    for path, key, value in _walk(data):
        if key in _STATE_KEYS and isinstance(value, str) and value not in STATE_CODES:
            problems.append(Problem(path, "is not a US state, territory or military state code"))
    return problems


def _check_dates(data: object) -> list[Problem]:
    problems = []
    for path, key, value in _walk(data):
        if _DATE_KEY.match(key) and isinstance(value, str) and _parse_date(value) is None:
            problems.append(Problem(path, "is not a real calendar date in YYYYMMDD form"))
    return problems


def _check_birth_date(person: object, path: str, first_service: date | None, today: date) -> list[Problem]:
    born = _parse_date(_get(person, "dateOfBirth"))
    if born is None:
        return []
    where = _join(path, "dateOfBirth")
    if born > today:
        return [Problem(where, "is in the future")]
    if first_service is not None and born > first_service:
        return [Problem(where, "is after the date of service")]
    return []


def _check_date_order(begin: object, end: object, end_path: str, begin_name: str) -> list[Problem]:
    first, last = _parse_date(begin), _parse_date(end)
    if first is not None and last is not None and last < first:
        return [Problem(end_path, f"is before {begin_name}")]
    return []


def _check_icd10(code: object, path: str) -> list[Problem]:
    if isinstance(code, str) and not ICD10_CM_PATTERN.match(code):
        return [Problem(path, "is not an ICD-10-CM diagnosis code (for example E119 or E11.9)")]
    return []


def _check_procedure_code(service: object, path: str) -> list[Problem]:
    code = _get(service, "procedureCode")
    if _get(service, "procedureIdentifier") != "HC" or not isinstance(code, str):
        return []
    if CPT_PATTERN.match(code) or HCPCS_PATTERN.match(code):
        return []
    return [Problem(_join(path, "procedureCode"), "is not a CPT (5 characters) or HCPCS (letter and 4 digits) code")]


def _check_place_of_service(code: object, path: str) -> list[Problem]:
    if isinstance(code, str) and code not in PLACE_OF_SERVICE_CODES:
        return [Problem(path, "is not a CMS place of service code")]
    return []


# -------------------------------------------------------------- eligibility

_PROVIDER_IDENTIFIERS = (
    "npi",
    "taxId",
    "serviceProviderNumber",
    "ssn",
    "payorId",
    "pharmacyProcessorNumber",
    "servicesPlanID",
    "employersId",
    "federalTaxpayersIdNumber",
)


def check_eligibility_request(data: Mapping[str, Any], *, today: date | None = None) -> list[Problem]:
    """All problems of an eligibility request (270) beyond its schema."""
    today = today or date.today()
    problems: list[Problem] = []
    provider = _get(data, "provider")
    if isinstance(provider, Mapping):
        if not (_text(provider.get("organizationName")) or _text(provider.get("lastName"))):
            problems.append(Problem("provider", "needs organizationName, or lastName for a person"))
        if not any(_text(provider.get(key)) for key in _PROVIDER_IDENTIFIERS):
            problems.append(Problem("provider", "needs an identifier: npi, or taxId, serviceProviderNumber..."))

    subscriber = _get(data, "subscriber")
    if isinstance(subscriber, Mapping) and not _text(subscriber.get("memberId")):
        missing = [key for key in ("firstName", "lastName", "dateOfBirth") if not _text(subscriber.get(key))]
        if missing:
            problems.append(
                Problem("subscriber.memberId", "is required unless firstName, lastName and dateOfBirth are given")
            )

    dependents = _get(data, "dependents")
    if isinstance(dependents, list) and len(dependents) > 1:
        problems.append(
            Problem(
                "dependents",
                f"a real-time 270 asks about one patient: send one request per dependent (got {len(dependents)})",
            )
        )
    for index, dependent in _indexed(dependents):
        for key in ("firstName", "lastName", "dateOfBirth"):
            if isinstance(dependent, Mapping) and not _text(dependent.get(key)):
                problems.append(Problem(f"dependents[{index}].{key}", "is required for a dependent"))

    problems.extend(_check_dates(data))
    encounter = _get(data, "encounter")
    service = _parse_date(_get(encounter, "dateOfService")) or _parse_date(_get(encounter, "beginningDateOfService"))
    problems.extend(_check_birth_date(subscriber, "subscriber", service, today))
    for index, dependent in _indexed(dependents):
        problems.extend(_check_birth_date(dependent, f"dependents[{index}]", service, today))

    if isinstance(encounter, Mapping):
        if encounter.get("dateOfService") and (
            encounter.get("beginningDateOfService") or encounter.get("endDateOfService")
        ):
            problems.append(
                Problem("encounter", "give dateOfService or beginningDateOfService/endDateOfService, not both")
            )
        problems.extend(
            _check_date_order(
                encounter.get("beginningDateOfService"),
                encounter.get("endDateOfService"),
                "encounter.endDateOfService",
                "beginningDateOfService",
            )
        )
        for index, code in _indexed(encounter.get("serviceTypeCodes")):
            if isinstance(code, str) and code not in SERVICE_TYPE_CODES:
                problems.append(
                    Problem(f"encounter.serviceTypeCodes[{index}]", "is not a service type code (X12 list 1365)")
                )

    problems.extend(_check_npis(data))
    problems.extend(_check_states(data))
    return problems


# ------------------------------------------------------------ claim, shared


def _billing_provider(data: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]] | None:
    billing = _get(data, "billing")
    if isinstance(billing, Mapping):
        return "billing", billing
    for index, provider in _indexed(_get(data, "providers")):
        if isinstance(provider, Mapping) and str(provider.get("providerType", "")).lower() == "billingprovider":
            return f"providers[{index}]", provider
    return None


def _check_claim_parties(data: Mapping[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    submitter = _get(data, "submitter")
    if isinstance(submitter, Mapping) and not (
        _text(submitter.get("organizationName")) or _text(submitter.get("lastName"))
    ):
        problems.append(Problem("submitter", "needs organizationName, or lastName for a person"))

    found = _billing_provider(data)
    if found is None:
        problems.append(
            Problem("billing", "is required: send billing, or a providers[] entry with providerType BillingProvider")
        )
    else:
        path, billing = found
        if not (_text(billing.get("organizationName")) or _text(billing.get("lastName"))):
            problems.append(Problem(path, "needs organizationName, or lastName for a person"))
        if not _text(billing.get("npi")):
            problems.append(Problem(f"{path}.npi", "is required for the billing provider"))
        if not (_text(billing.get("employerId")) or _text(billing.get("ssn"))):
            problems.append(Problem(f"{path}.employerId", "the billing provider needs employerId (or ssn)"))
        if not isinstance(billing.get("address"), Mapping):
            problems.append(Problem(f"{path}.address", "is required for the billing provider"))

    subscriber = _get(data, "subscriber")
    if isinstance(subscriber, Mapping) and not isinstance(_get(data, "dependent"), Mapping):
        for key in ("dateOfBirth", "gender", "address"):
            if not subscriber.get(key):
                problems.append(Problem(f"subscriber.{key}", "is required when the subscriber is the patient"))
    return problems


def _check_balance(claim: Mapping[str, Any], lines: list[Any], service_key: str) -> list[Problem]:
    total = _amount(claim.get("claimChargeAmount"))
    if total is None or not lines:
        return []
    line_sum = Decimal(0)
    for line in lines:
        amount = _amount(_get(_get(line, service_key), "lineItemChargeAmount"))
        if amount is None:
            return []
        line_sum += amount
    if total != line_sum:
        return [
            Problem(
                "claimInformation.claimChargeAmount",
                f"is {total} but the service line charges add up to {line_sum} (they must be equal)",
            )
        ]
    return []


def _check_line_count(lines: list[Any], limit: int, kind: str) -> list[Problem]:
    if len(lines) > limit:
        return [
            Problem(
                "claimInformation.serviceLines",
                f"an {kind} claim may have at most {limit} service lines (got {len(lines)}): split the claim",
            )
        ]
    return []


def _check_replacement(claim: Mapping[str, Any]) -> list[Problem]:
    if claim.get("claimFrequencyCode") in _REPLACEMENT_FREQUENCIES and not _text(
        _get(claim.get("claimSupplementalInformation"), "claimControlNumber")
    ):
        return [
            Problem(
                "claimInformation.claimSupplementalInformation.claimControlNumber",
                "is required to replace (frequency 7) or void (frequency 8) a claim: "
                "give the payer claim control number of the original",
            )
        ]
    return []


def _patient(data: Mapping[str, Any]) -> tuple[str, object]:
    dependent = _get(data, "dependent")
    if isinstance(dependent, Mapping):
        return "dependent", dependent
    return "subscriber", _get(data, "subscriber")


def _earliest(dates: Sequence[object]) -> date | None:
    parsed = [day for day in (_parse_date(value) for value in dates) if day is not None]
    return min(parsed) if parsed else None


# ------------------------------------------------------------- professional


def check_professional_claim(data: Mapping[str, Any], *, today: date | None = None) -> list[Problem]:
    """All problems of a professional claim request (837P) beyond its schema."""
    today = today or date.today()
    problems = _check_claim_parties(data)
    problems.extend(_check_dates(data))
    claim = _get(data, "claimInformation")
    if not isinstance(claim, Mapping):
        return problems + _check_npis(data) + _check_states(data)
    lines = claim.get("serviceLines") if isinstance(claim.get("serviceLines"), list) else []
    diagnoses = claim.get("healthCareCodeInformation")
    diagnosis_count = len(diagnoses) if isinstance(diagnoses, list) else 0

    problems.extend(_check_balance(claim, lines, "professionalService"))
    problems.extend(_check_line_count(lines, MAX_PROFESSIONAL_SERVICE_LINES, "837P"))
    problems.extend(_check_replacement(claim))
    problems.extend(_check_place_of_service(claim.get("placeOfServiceCode"), "claimInformation.placeOfServiceCode"))

    for index, diagnosis in _indexed(diagnoses):
        path = f"claimInformation.healthCareCodeInformation[{index}]"
        kind = _get(diagnosis, "diagnosisTypeCode")
        if index == 0 and isinstance(kind, str) and kind not in _PRINCIPAL_DIAGNOSIS:
            problems.append(Problem(f"{path}.diagnosisTypeCode", "the first diagnosis must be the principal one (ABK)"))
        if index > 0 and kind in _PRINCIPAL_DIAGNOSIS:
            problems.append(Problem(f"{path}.diagnosisTypeCode", "only the first diagnosis may be principal: use ABF"))
        if kind in _ICD10_QUALIFIERS:
            problems.extend(_check_icd10(_get(diagnosis, "diagnosisCode"), f"{path}.diagnosisCode"))

    related = claim.get("relatedCausesCode")
    if isinstance(related, list) and "AA" in related and not _text(claim.get("autoAccidentStateCode")):
        problems.append(
            Problem("claimInformation.autoAccidentStateCode", "is required when relatedCausesCode includes AA")
        )

    for index, line in _indexed(lines):
        path = f"claimInformation.serviceLines[{index}]"
        problems.extend(
            _check_date_order(
                _get(line, "serviceDate"), _get(line, "serviceDateEnd"), f"{path}.serviceDateEnd", "serviceDate"
            )
        )
        service = _get(line, "professionalService")
        service_path = f"{path}.professionalService"
        problems.extend(_check_procedure_code(service, service_path))
        problems.extend(
            _check_place_of_service(_get(service, "placeOfServiceCode"), f"{service_path}.placeOfServiceCode")
        )
        pointers = _get(_get(service, "compositeDiagnosisCodePointers"), "diagnosisCodePointers")
        for position, pointer in _indexed(pointers):
            pointer_path = f"{service_path}.compositeDiagnosisCodePointers.diagnosisCodePointers[{position}]"
            problems.extend(_check_pointer(pointer, pointer_path, diagnosis_count))

    patient_path, patient = _patient(data)
    first_service = _earliest([_get(line, "serviceDate") for _, line in _indexed(lines)])
    problems.extend(_check_birth_date(patient, patient_path, first_service, today))
    if patient_path == "dependent":
        problems.extend(_check_birth_date(_get(data, "subscriber"), "subscriber", None, today))
    problems.extend(_check_npis(data))
    problems.extend(_check_states(data))
    return problems


def _check_pointer(pointer: object, path: str, diagnosis_count: int) -> list[Problem]:
    if not isinstance(pointer, str) or not pointer.isdigit():
        return []
    number = int(pointer)
    if not 1 <= number <= MAX_PROFESSIONAL_DIAGNOSIS_POINTER:
        return [Problem(path, f"must be between 1 and {MAX_PROFESSIONAL_DIAGNOSIS_POINTER}")]
    if number > diagnosis_count:
        return [Problem(path, f"points at diagnosis {number} but the claim has {diagnosis_count}")]
    return []


# ------------------------------------------------------------ institutional


def check_institutional_claim(data: Mapping[str, Any], *, today: date | None = None) -> list[Problem]:
    """All problems of an institutional claim request (837I) beyond its schema."""
    today = today or date.today()
    problems = _check_claim_parties(data)
    problems.extend(_check_dates(data))
    claim = _get(data, "claimInformation")
    if not isinstance(claim, Mapping):
        return problems + _check_npis(data) + _check_states(data)
    lines = claim.get("serviceLines") if isinstance(claim.get("serviceLines"), list) else []

    problems.extend(_check_balance(claim, lines, "institutionalService"))
    problems.extend(_check_line_count(lines, MAX_INSTITUTIONAL_SERVICE_LINES, "837I"))
    problems.extend(_check_replacement(claim))

    dates = claim.get("claimDateInformation")
    problems.extend(
        _check_date_order(
            _get(dates, "statementBeginDate"),
            _get(dates, "statementEndDate"),
            "claimInformation.claimDateInformation.statementEndDate",
            "statementBeginDate",
        )
    )
    admission = _get(dates, "admissionDateAndHour")
    if isinstance(admission, str) and not _is_date_and_hour(admission):
        problems.append(
            Problem(
                "claimInformation.claimDateInformation.admissionDateAndHour",
                "is not a real date and time in YYYYMMDDHHMM form",
            )
        )

    diagnosis_fields = (
        ("principalDiagnosis", "principalDiagnosisCode"),
        ("admittingDiagnosis", "admittingDiagnosisCode"),
    )
    for parent, key in diagnosis_fields:
        item = claim.get(parent)
        if _get(item, "qualifierCode") in _ICD10_QUALIFIERS:
            problems.extend(_check_icd10(_get(item, key), f"claimInformation.{parent}.{key}"))
    diagnosis_lists = (
        ("otherDiagnosisInformationList", "otherDiagnosisCode"),
        ("patientReasonForVisits", "patientReasonForVisitCode"),
        ("externalCauseOfInjuries", "externalCauseOfInjury"),
    )
    for parent, key in diagnosis_lists:
        for index, item in _indexed(claim.get(parent)):
            if _get(item, "qualifierCode") in _ICD10_QUALIFIERS:
                problems.extend(_check_icd10(_get(item, key), f"claimInformation.{parent}[{index}].{key}"))

    for index, line in _indexed(lines):
        path = f"claimInformation.serviceLines[{index}]"
        problems.extend(
            _check_date_order(
                _get(line, "serviceDate"), _get(line, "serviceDateEnd"), f"{path}.serviceDateEnd", "serviceDate"
            )
        )
        problems.extend(_check_procedure_code(_get(line, "institutionalService"), f"{path}.institutionalService"))

    facility = claim.get("serviceFacilityLocation")
    code = _get(facility, "identificationCode")
    if isinstance(code, str) and not npi_is_valid(code):
        problems.append(
            Problem(
                "claimInformation.serviceFacilityLocation.identificationCode",
                "is not a valid NPI: 10 digits whose check digit must match (Luhn)",
            )
        )

    patient_path, patient = _patient(data)
    first_service = _parse_date(_get(dates, "statementBeginDate"))
    problems.extend(_check_birth_date(patient, patient_path, first_service, today))
    if patient_path == "dependent":
        problems.extend(_check_birth_date(_get(data, "subscriber"), "subscriber", None, today))
    problems.extend(_check_npis(data))
    problems.extend(_check_states(data))
    return problems


def _is_date_and_hour(value: str) -> bool:
    if not re.fullmatch(r"\d{12}", value):
        return False
    try:
        datetime.strptime(value, "%Y%m%d%H%M")
    except ValueError:
        return False
    return True


# ------------------------------------------------------------------ entry

REQUEST_MODELS: Mapping[RequestKind, type[RequestModel]] = {
    "eligibility": EligibilityRequest,
    "professional": ProfessionalClaimRequest,
    "institutional": InstitutionalClaimRequest,
}

_CHECKS: Mapping[RequestKind, Callable[..., list[Problem]]] = {
    "eligibility": check_eligibility_request,
    "professional": check_professional_claim,
    "institutional": check_institutional_claim,
}


def check_request(kind: RequestKind, data: Mapping[str, Any], *, today: date | None = None) -> list[Problem]:
    """The checks beyond the schema for one request of ``kind``."""
    return _CHECKS[kind](data, today=today)


def check_claim_batch(
    claims: Sequence[Mapping[str, Any]],
    kind: Literal["professional", "institutional"],
    *,
    today: date | None = None,
) -> list[Problem]:
    """Problems of a batch of claims bound for one transaction set; paths start with the claim's index."""
    problems: list[Problem] = []
    if len(claims) > MAX_CLAIMS_PER_TRANSACTION:
        problems.append(
            Problem(
                "",
                f"a transaction set may carry at most {MAX_CLAIMS_PER_TRANSACTION} claims "
                f"(got {len(claims)}): split the batch",
            )
        )
    for index, claim in enumerate(claims):
        for problem in check_request(kind, claim, today=today):
            suffix = f".{problem.path}" if problem.path else ""
            problems.append(Problem(f"[{index}]{suffix}", problem.message))
    return problems


_MESSAGES: Mapping[str, Callable[[Mapping[str, Any]], str]] = {
    "missing": lambda ctx: "is required",
    "extra_forbidden": lambda ctx: "is not a field of this request (check the spelling)",
    "string_type": lambda ctx: "must be a string",
    "string_pattern_mismatch": lambda ctx: f"does not have the expected format {ctx.get('pattern', '')}".rstrip(),
    "string_too_short": lambda ctx: "must not be empty",
    "string_too_long": lambda ctx: f"must be at most {ctx.get('max_length')} characters long",
    "literal_error": lambda ctx: f"must be one of {ctx.get('expected', '')}",
    "too_short": lambda ctx: f"must have at least {ctx.get('min_length')} item(s)",
    "too_long": lambda ctx: f"must have at most {ctx.get('max_length')} item(s)",
    "model_type": lambda ctx: "must be an object",
    "model_attributes_type": lambda ctx: "must be an object",
    "dict_type": lambda ctx: "must be an object",
    "list_type": lambda ctx: "must be an array",
    "bool_type": lambda ctx: "must be true or false",
    "bool_parsing": lambda ctx: "must be true or false",
}

_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def problems_from_validation_error(error: ValidationError) -> list[Problem]:
    """Every Pydantic error as a ``Problem`` with an ``a.b[2].c`` path and a message free of input values."""
    problems = []
    for item in error.errors(include_url=False, include_input=False):
        path = ""
        for part in item["loc"]:
            if isinstance(part, int) or _FIELD_NAME.match(part):
                path = _join(path, part)
        render = _MESSAGES.get(item["type"])
        message = render(item.get("ctx") or {}) if render else item["msg"]
        problems.append(Problem(path, message))
    return problems


def _covered(path: str, schema_paths: set[str]) -> bool:
    if path in schema_paths:
        return True
    return any(path.startswith(f"{covered}.") or path.startswith(f"{covered}[") for covered in schema_paths if covered)


@overload
def validate_request(
    kind: Literal["eligibility"], data: object, *, today: date | None = None
) -> tuple[EligibilityRequest | None, list[Problem]]: ...


@overload
def validate_request(
    kind: Literal["professional"], data: object, *, today: date | None = None
) -> tuple[ProfessionalClaimRequest | None, list[Problem]]: ...


@overload
def validate_request(
    kind: Literal["institutional"], data: object, *, today: date | None = None
) -> tuple[InstitutionalClaimRequest | None, list[Problem]]: ...


def validate_request(
    kind: RequestKind, data: object, *, today: date | None = None
) -> tuple[RequestModel | None, list[Problem]]:
    """Validate a request against its schema and the checks; return the model only when nothing is wrong.

    All problems come back at once: schema problems first, then check problems,
    leaving out check problems on a path the schema already reported.
    """
    if kind not in REQUEST_MODELS:
        raise ValueError(f"unknown request kind {kind!r}; expected one of {sorted(REQUEST_MODELS)}")
    model_class = REQUEST_MODELS[kind]
    model: RequestModel | None = None
    schema_problems: list[Problem] = []
    try:
        model = model_class.model_validate(data)
    except ValidationError as error:
        schema_problems = problems_from_validation_error(error)
    check_problems = check_request(kind, data, today=today) if isinstance(data, Mapping) else []
    schema_paths = {problem.path for problem in schema_problems}
    problems = schema_problems + [p for p in check_problems if not _covered(p.path, schema_paths)]
    return (model if not problems else None), problems
