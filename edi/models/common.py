"""Shared building blocks of the JSON contract: base classes, value types, addresses, contacts, errors.

The JSON contract follows the field layout of the Optum (Change Healthcare)
Medical Network APIs, so every request and response model uses the same
conventions: camelCase names on the wire (snake_case in Python), dates as
``YYYYMMDD`` strings, money as decimal strings such as ``"150.00"``.
Requests reject unknown fields so a typo never silently drops data; responses
are built by the engine itself and keep unknown fields instead of failing.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, WithJsonSchema
from pydantic.alias_generators import to_camel

__all__ = [
    "AMOUNT_PATTERN",
    "DATE_PATTERN",
    "Address",
    "Amount",
    "ContactInformation",
    "Date8",
    "EmployerId",
    "Gender",
    "Npi",
    "Phone",
    "PostalCode",
    "Quantity",
    "RequestModel",
    "ResponseAddress",
    "ResponseContact",
    "ResponseContactInformation",
    "ResponseError",
    "ResponseMeta",
    "ResponseModel",
    "Ssn",
    "StateCode",
    "TaxonomyCode",
    "Text",
    "Text30",
    "Text10",
    "Text25",
    "City",
    "Text35",
    "Text38",
    "Text50",
    "Text55",
    "Text60",
    "Text80",
    "Text256",
    "YesNo",
]


def _field_title(name: str, _info: object) -> str:
    """Readable schema titles: ``line_item_charge_amount`` becomes "Line item charge amount"."""
    return name.replace("_", " ").capitalize()


class RequestModel(BaseModel):
    """Base of every request part: camelCase aliases, unknown fields rejected."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        field_title_generator=_field_title,
    )

    def to_json(self) -> dict[str, Any]:
        """The model as JSON-ready data with camelCase names and unset fields left out."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class ResponseModel(BaseModel):
    """Base of every response part: camelCase aliases, unknown fields kept rather than refused."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="allow",
        field_title_generator=_field_title,
    )

    def to_json(self) -> dict[str, Any]:
        """The model as JSON-ready data with camelCase names and unset fields left out."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


# ---------------------------------------------------------------- value types

DATE_PATTERN = r"^\d{4}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])$"
AMOUNT_PATTERN = r"^\d{1,10}(\.\d{1,2})?$"
_QUANTITY_PATTERN = r"^\d{1,10}(\.\d{1,3})?$"


def _number_to_text(value: object) -> object:
    """Let JSON numbers through as decimal strings; the Optum API sends amounts as strings."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format(Decimal(repr(value)), "f")
    if isinstance(value, Decimal):
        return format(value, "f")
    return value


def _decimal_text(pattern: str, description: str) -> Any:
    return Annotated[
        str,
        BeforeValidator(_number_to_text),
        Field(pattern=pattern),
        WithJsonSchema({"type": ["string", "number"], "pattern": pattern, "description": description}),
    ]


Amount = _decimal_text(AMOUNT_PATTERN, 'Non-negative decimal amount such as "150.00" (a JSON number is accepted).')
Quantity = _decimal_text(_QUANTITY_PATTERN, 'Non-negative decimal quantity such as "1" or "1.5".')

Date8 = Annotated[str, Field(pattern=DATE_PATTERN, description="Date as YYYYMMDD.")]
Npi = Annotated[str, Field(pattern=r"^\d{10}$", description="National Provider Identifier (10 digits).")]
EmployerId = Annotated[str, Field(pattern=r"^\d{9}$", description="Employer identification number, 9 digits.")]
Ssn = Annotated[str, Field(pattern=r"^\d{9}$", description="Social security number, 9 digits.")]
StateCode = Annotated[str, Field(pattern=r"^[A-Z]{2}$", description="Two-letter USPS state code.")]
PostalCode = Annotated[str, Field(pattern=r"^[0-9A-Z]{3,15}$", description="ZIP code (5 or 9 digits in the US).")]
Phone = Annotated[str, Field(pattern=r"^\d{1,20}$", description="Phone number, digits only.")]
TaxonomyCode = Annotated[str, Field(pattern=r"^[0-9A-Z]{10}$", description="Health care provider taxonomy code (NUCC, 10 characters).")]
Gender = Literal["M", "F", "U"]
YesNo = Literal["Y", "N"]

Text = Annotated[str, StringConstraints(min_length=1)]
Text30 = Annotated[str, StringConstraints(min_length=1, max_length=30)]
Text25 = Annotated[str, StringConstraints(min_length=1, max_length=25)]  # X12 NM105 middle name
Text10 = Annotated[str, StringConstraints(min_length=1, max_length=10)]  # X12 NM107 suffix
City = Annotated[str, StringConstraints(min_length=2, max_length=30)]  # X12 N401
Text35 = Annotated[str, StringConstraints(min_length=1, max_length=35)]
Text38 = Annotated[str, StringConstraints(min_length=1, max_length=38)]
Text50 = Annotated[str, StringConstraints(min_length=1, max_length=50)]
Text55 = Annotated[str, StringConstraints(min_length=1, max_length=55)]
Text60 = Annotated[str, StringConstraints(min_length=1, max_length=60)]
Text80 = Annotated[str, StringConstraints(min_length=1, max_length=80)]
Text256 = Annotated[str, StringConstraints(min_length=1, max_length=256)]


# ------------------------------------------------------------ request parts


class Address(RequestModel):
    """Postal address (N3/N4 segments)."""

    address1: Text55
    address2: Text55 | None = None
    city: City
    state: StateCode | None = None
    postal_code: PostalCode | None = None
    country_code: Annotated[str, Field(pattern=r"^[A-Z]{2,3}$")] | None = None
    country_sub_division_code: Text | None = None


class ContactInformation(RequestModel):
    """Contact person and numbers (PER segment)."""

    name: Text60 | None = None
    phone_number: Phone | None = None
    phone_extension: Annotated[str, Field(pattern=r"^\d{1,10}$")] | None = None
    fax_number: Phone | None = None
    email: Text256 | None = None


# ----------------------------------------------------------- response parts


class ResponseAddress(ResponseModel):
    """Postal address as returned by a payer (N3/N4 segments)."""

    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country_code: str | None = None
    country_sub_division_code: str | None = None


class ResponseContact(ResponseModel):
    """One communication number: mode (Telephone, Fax, Email, URL...) and the number itself."""

    communication_mode: str | None = None
    communication_number: str | None = None


class ResponseContactInformation(ResponseModel):
    """Contact details returned by a payer (PER segment): a name and its communication numbers."""

    name: str | None = None
    contacts: list[ResponseContact] = Field(default_factory=list)


class ResponseError(ResponseModel):
    """A problem reported to the requester, in the Optum error layout.

    Used for request validation problems (``field`` is the JSON path) and for
    payer rejections such as 271 AAA segments (``code`` is the AAA03 reason).
    """

    field: str | None = None
    code: str | None = None
    description: str | None = None
    followup_action: str | None = None
    location: str | None = None
    possible_resolutions: str | None = None


class ResponseMeta(ResponseModel):
    """Tracking data of a response, never PHI."""

    sender_id: str | None = None
    submitter_id: str | None = None
    biller_id: str | None = None
    application_mode: str | None = None
    trace_id: str | None = None
    outbound_trace_id: str | None = None
