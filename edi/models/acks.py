"""Interchange (TA1) and implementation (999, 005010X231A1) acknowledgments as JSON.

Payers and clearinghouses answer every file with a TA1 for its envelope and a
999 for its syntax. Both only carry codes; these models hold each code next to
its plain-language description (filled in from ``edi.codes`` when the mapper
leaves it out) so a requester can see at once what was accepted or rejected and why.
A 999 may quote the rejected value (``badValue``), which can be PHI: never log it.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from edi.codes import (
    ELEMENT_ERROR_CODES,
    FUNCTIONAL_GROUP_ACK_CODES,
    FUNCTIONAL_GROUP_SYNTAX_ERROR_CODES,
    SEGMENT_ERROR_CODES,
    TA1_ACKNOWLEDGMENT_CODES,
    TA1_NOTE_CODES,
    TRANSACTION_SET_ACK_CODES,
    TRANSACTION_SET_SYNTAX_ERROR_CODES,
    describe,
)
from edi.models.common import ResponseMeta, ResponseModel

__all__ = [
    "ElementError",
    "FunctionalAcknowledgment",
    "InterchangeAcknowledgment",
    "SegmentError",
    "TransactionSetAcknowledgment",
]

_ACCEPTED = frozenset({"A", "E"})


class InterchangeAcknowledgment(ResponseModel):
    """A TA1: the receiver's verdict on one interchange envelope (ISA/IEA)."""

    interchange_control_number: str = Field(description="TA101: ISA13 of the acknowledged interchange.")
    interchange_date: str | None = Field(default=None, description="TA102: ISA09, YYMMDD.")
    interchange_time: str | None = Field(default=None, description="TA103: ISA10, HHMM.")
    acknowledgment_code: str = Field(description="TA104: A accepted, E accepted with errors, R rejected.")
    acknowledgment_description: str | None = None
    note_code: str | None = Field(default=None, description="TA105: interchange note code (000-031).")
    note_description: str | None = None
    accepted: bool | None = None

    @model_validator(mode="after")
    def _describe(self) -> InterchangeAcknowledgment:
        if self.acknowledgment_description is None:
            self.acknowledgment_description = describe(TA1_ACKNOWLEDGMENT_CODES, self.acknowledgment_code)
        if self.note_description is None:
            self.note_description = describe(TA1_NOTE_CODES, self.note_code)
        if self.accepted is None:
            self.accepted = self.acknowledgment_code in _ACCEPTED
        return self


class ElementError(ResponseModel):
    """An IK4 segment: one data element in error."""

    position: int | None = Field(default=None, description="IK401-1: element position in the segment.")
    component_position: int | None = Field(default=None, description="IK401-2: component position.")
    repeat_position: int | None = Field(default=None, description="IK401-3: repetition position.")
    data_element_reference: str | None = Field(default=None, description="IK402: data element number.")
    error_code: str = Field(description="IK403: implementation data element syntax error code.")
    error_description: str | None = None
    bad_value: str | None = Field(default=None, description="IK404: copy of the bad value (may be PHI).")

    @model_validator(mode="after")
    def _describe(self) -> ElementError:
        if self.error_description is None:
            self.error_description = describe(ELEMENT_ERROR_CODES, self.error_code)
        return self


class SegmentError(ResponseModel):
    """An IK3 segment and its IK4 element errors: one segment in error."""

    segment_id: str = Field(description="IK301: segment ID code.")
    position: int | None = Field(default=None, description="IK302: segment position in the transaction set.")
    loop_id: str | None = Field(default=None, description="IK303: loop identifier.")
    error_code: str | None = Field(default=None, description="IK304: implementation segment syntax error code.")
    error_description: str | None = None
    element_errors: list[ElementError] = Field(default_factory=list)

    @model_validator(mode="after")
    def _describe(self) -> SegmentError:
        if self.error_description is None:
            self.error_description = describe(SEGMENT_ERROR_CODES, self.error_code)
        return self


class TransactionSetAcknowledgment(ResponseModel):
    """An AK2/IK5 pair: the verdict on one transaction set (for example one 837 ST/SE)."""

    transaction_set_identifier_code: str = Field(description="AK201: 837, 270, 276...")
    control_number: str = Field(description="AK202: ST02 of the acknowledged transaction set.")
    implementation_convention_reference: str | None = Field(default=None, description="AK203: ST03.")
    acknowledgment_code: str = Field(description="IK501: A, E, M, R, W or X.")
    acknowledgment_description: str | None = None
    accepted: bool | None = None
    syntax_error_codes: list[str] = Field(default_factory=list, description="IK502-IK506.")
    syntax_error_descriptions: list[str] = Field(default_factory=list)
    segment_errors: list[SegmentError] = Field(default_factory=list)

    @model_validator(mode="after")
    def _describe(self) -> TransactionSetAcknowledgment:
        if self.acknowledgment_description is None:
            self.acknowledgment_description = describe(TRANSACTION_SET_ACK_CODES, self.acknowledgment_code)
        if self.accepted is None:
            self.accepted = self.acknowledgment_code in _ACCEPTED
        if not self.syntax_error_descriptions and self.syntax_error_codes:
            self.syntax_error_descriptions = [
                describe(TRANSACTION_SET_SYNTAX_ERROR_CODES, code) or "" for code in self.syntax_error_codes
            ]
        return self


class FunctionalAcknowledgment(ResponseModel):
    """A 999: the verdict on one functional group (GS/GE) and each of its transaction sets."""

    meta: ResponseMeta | None = None
    control_number: str | None = Field(default=None, description="ST02 of the 999 itself.")
    functional_identifier_code: str | None = Field(default=None, description="AK101: HC, HS, HR...")
    group_control_number: str | None = Field(default=None, description="AK102: GS06 of the acknowledged group.")
    version_identifier_code: str | None = Field(default=None, description="AK103: GS08, e.g. 005010X222A1.")
    functional_group_acknowledge_code: str = Field(description="AK901: A, E, P, R, M, W or X.")
    functional_group_acknowledge_description: str | None = None
    accepted: bool | None = None
    number_of_transaction_sets_included: int | None = Field(default=None, description="AK902.")
    number_of_received_transaction_sets: int | None = Field(default=None, description="AK903.")
    number_of_accepted_transaction_sets: int | None = Field(default=None, description="AK904.")
    syntax_error_codes: list[str] = Field(default_factory=list, description="AK905-AK909.")
    syntax_error_descriptions: list[str] = Field(default_factory=list)
    transaction_sets: list[TransactionSetAcknowledgment] = Field(default_factory=list)

    @model_validator(mode="after")
    def _describe(self) -> FunctionalAcknowledgment:
        if self.functional_group_acknowledge_description is None:
            self.functional_group_acknowledge_description = describe(
                FUNCTIONAL_GROUP_ACK_CODES, self.functional_group_acknowledge_code
            )
        if self.accepted is None:
            self.accepted = self.functional_group_acknowledge_code in _ACCEPTED
        if not self.syntax_error_descriptions and self.syntax_error_codes:
            self.syntax_error_descriptions = [
                describe(FUNCTIONAL_GROUP_SYNTAX_ERROR_CODES, code) or "" for code in self.syntax_error_codes
            ]
        return self
